"""The course kit: make the student copy of the repository, with chosen function bodies removed.

Solution regions are marked in the source itself, so there is one source for teachers and students:

    def backward(self, g):
        # BEGIN EXERCISE 3: the backward of log-softmax
        return g - ...
        # END EXERCISE

The student copy replaces each region by `raise NotImplementedError("Exercise 3: ...")`; the existing
tests then fail with that message, and the test report groups failures by exercise (tests/conftest.py).

    python -m minaae.course student-copy ../minaae-student             # every exercise removed
    python -m minaae.course student-copy ../minaae-student --exercises 1 2
    python -m minaae.course list
"""

import argparse
import os
import re
import shutil
import subprocess
import sys

BEGIN = re.compile(r"^(\s*)# BEGIN EXERCISE (\d+): (.+?)\s*$")
END = re.compile(r"^\s*# END EXERCISE\s*$")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_exercises(root=ROOT):
    """{number: (title, path relative to root)} of every marked region under root/minaae."""
    found = {}
    for name in sorted(os.listdir(os.path.join(root, "minaae"))):
        if name.endswith(".py") and name != "course.py":
            with open(os.path.join(root, "minaae", name)) as f:
                for line in f:
                    m = BEGIN.match(line)
                    if m:
                        found[int(m.group(2))] = (m.group(3), f"minaae/{name}")
    return dict(sorted(found.items()))


def strip_solutions(text, exercises):
    """The text with every marked region of the given exercise numbers replaced by a raise."""
    out, skipping = [], False
    for number_line in text.splitlines(keepends=True):
        m = BEGIN.match(number_line)
        if m and int(m.group(2)) in exercises:
            indent, number, title = m.groups()
            out.append(f'{indent}raise NotImplementedError("Exercise {number}: {title} (docs/exercises.md)")\n')
            skipping = True
        elif skipping and END.match(number_line):
            skipping = False
        elif not skipping:
            out.append(number_line)
    if skipping:
        raise ValueError("an exercise region has no '# END EXERCISE' line")
    return "".join(out)


def tracked_files(root):
    """The repository's files (git ls-files), or every file but caches when git is unavailable."""
    try:
        out = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True)
        return out.stdout.split()
    except (OSError, subprocess.CalledProcessError):
        files = []
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d not in {".git", "__pycache__", ".pytest_cache", ".hypothesis", "runs"}]
            files += [os.path.relpath(os.path.join(folder, n), root) for n in names]
        return files


def student_copy(dest, exercises=None, root=ROOT):
    """Copy the repository to dest with the chosen exercises (default: all) removed; returns their numbers."""
    available = find_exercises(root)
    chosen = set(available) if exercises is None else set(exercises)
    unknown = chosen - set(available)
    if unknown:
        raise ValueError(f"no exercise {sorted(unknown)}; the exercises are {sorted(available)}")
    if os.path.exists(dest) and os.listdir(dest):
        raise FileExistsError(f"{dest} exists and is not empty; choose a new folder")
    for rel in tracked_files(root):
        src, dst = os.path.join(root, rel), os.path.join(dest, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if rel.startswith("minaae/") and rel.endswith(".py"):
            with open(src) as f, open(dst, "w") as g:
                g.write(strip_solutions(f.read(), chosen))
        else:
            shutil.copy2(src, dst)
    return sorted(chosen)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m minaae.course", description="minaae's course kit")
    sub = p.add_subparsers(dest="command", required=True)
    copy = sub.add_parser("student-copy", help="write the student copy of the repository")
    copy.add_argument("dest")
    copy.add_argument("--exercises", type=int, nargs="*", help="exercise numbers to remove (default: all)")
    sub.add_parser("list", help="list the exercises")
    args = p.parse_args(argv)
    if args.command == "list":
        for number, (title, path) in find_exercises().items():
            print(f"{number:2d}. {title}  [{path}]")
        return
    try:
        removed = student_copy(args.dest, args.exercises)
    except (ValueError, FileExistsError) as e:
        sys.exit(f"error: {e}")
    print(f"student copy in {args.dest} with exercises {removed} removed; run its tests: python -m pytest -q")


if __name__ == "__main__":
    main()
