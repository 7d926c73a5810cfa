"""The course kit: the student copy of the repository, a test run per exercise, and an autograder.

Solutions are marked in the source itself: in the copy, a region `# BEGIN EXERCISE 3: title` ... `# END
EXERCISE` becomes `raise NotImplementedError("Exercise 3: ...")` (in kernels.cu and docs/*.md, a comment);
`# BEGIN INSTRUCTOR` ... `# END INSTRUCTOR` (tests whose reference is a solution) is left out; a line ending
in `# student copy: <line>` reads <line>. tests/exercises.json declares each exercise once: title, file,
function, prerequisites, points and its tests, which carry the marker exN (tests/conftest.py).

    python -m minaae.course list
    python -m minaae.course student-copy ../minaae-student [--exercises 3 6]
    python -m minaae.course check 6                     # exactly exercise 6's tests
    python -m minaae.course grade STUDENT_DIR [--json]  # or a folder of copies: one CSV
"""

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGION = re.compile(r"^(\s*)(#|//|/\*|<!--) ?BEGIN (EXERCISE (\d+): (.+?)|INSTRUCTOR)\s*(\*/|-->)?\s*(\\?)\s*$")
END = re.compile(r"^\s*(#|//|/\*|<!--) ?END (EXERCISE|INSTRUCTOR)\b")
SWAP = re.compile(r"^(\s*).*?  # student copy: (.+)$")
INSTRUCTOR_ONLY = ("tests/test_course.py", "tests/mutations.json", ".ci/")
STRIPPED = (".py", ".cu", ".md")


def exercises(root=ROOT):
    """{number: {"title", "file", "function", "needs", "points", "tests"}} from tests/exercises.json."""
    with open(os.path.join(root, "tests", "exercises.json")) as f:
        return {int(n): e for n, e in json.load(f).items()}


def strip_solutions(text, chosen, suffix=".py"):
    """The text with the chosen exercises' regions replaced, instructor regions removed, swaps applied."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        m = REGION.match(line)
        if skipping:
            skipping = not END.match(line)
        elif m and (m.group(4) is None or int(m.group(4)) in chosen):
            skipping = True
            if m.group(4):
                indent, number, title = m.group(1), m.group(4), m.group(5)
                note = f"Exercise {number}: {title} (docs/exercises.md)"
                if suffix == ".py":
                    out.append(f'{indent}raise NotImplementedError("{note}")\n')
                else:  # keep the comment syntax, and a macro's line continuation
                    close = {"#": "", "//": "", "/*": " */", "<!--": " -->"}[m.group(2)]
                    out.append(f"{indent}{m.group(2)} {note}: removed in the student copy{close} {m.group(7)}".rstrip()
                               + "\n")
        elif m is None and SWAP.match(line):
            out.append(SWAP.sub(r"\1\2", line.rstrip("\n")) + "\n")
        else:
            out.append(line)
    if skipping:
        raise ValueError("a marked region has no END line")
    return "".join(out)


def tracked_files(root):
    """The repository's files (git ls-files), or every file but caches when git is unavailable."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=True)
        return [f for f in out.stdout.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for folder, dirs, names in os.walk(root):
            dirs[:] = [d for d in dirs if d not in {".git", "__pycache__", ".pytest_cache", ".hypothesis", "runs"}]
            files += [os.path.relpath(os.path.join(folder, n), root) for n in names]
        return files


def student_copy(dest, chosen=None, root=ROOT):
    """Write the student copy to dest (new or empty) with the chosen exercises (default: all) removed.

    Written into a temporary folder beside dest and renamed at the end, so a failure leaves nothing behind."""
    available = exercises(root)
    chosen = set(available) if chosen is None else set(chosen)
    if chosen - set(available):
        raise ValueError(f"no exercise {sorted(chosen - set(available))}; the exercises are {sorted(available)}")
    dest = os.path.abspath(dest)
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise ValueError(f"{dest} is a file; give a folder")
    if os.path.isdir(dest) and os.listdir(dest):
        raise ValueError(f"{dest} exists and is not empty; choose a new folder")
    parent = os.path.dirname(dest)
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot create {parent}: {e.strerror}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write in {parent}; choose a folder you can write to")
    work = tempfile.mkdtemp(prefix=".student-copy-", dir=parent)
    try:
        for rel in tracked_files(root):
            if rel.startswith(INSTRUCTOR_ONLY) or not os.path.isfile(os.path.join(root, rel)):
                continue
            src, dst = os.path.join(root, rel), os.path.join(work, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if rel.endswith(STRIPPED) and rel != "minaae/course.py":
                with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as g:
                    g.write(strip_solutions(f.read(), chosen, os.path.splitext(rel)[1]))
            else:
                shutil.copy2(src, dst)
        if os.path.isdir(dest):
            os.rmdir(dest)
        os.rename(work, dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return sorted(chosen)


def _pytest(number, table):
    """The pytest command line of exercise `number`: its marker, over the files that hold its tests."""
    files = sorted({t.split("::")[0] for t in table[number]["tests"]})
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", f"ex{number}", *files]


def _needs(number, table):
    needs = table[number]["needs"]
    return f" (needs exercise{'s' if len(needs) > 1 else ''} {', '.join(map(str, needs))})" if needs else ""


def run_exercise(number, folder, timeout=300):
    """(passed, total, note) of exercise `number`'s tests in folder, in a subprocess with a time limit."""
    report = os.path.join(folder, f".grade-{number}.xml")
    env = {**os.environ, "PYTHONPATH": folder, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "MINAAE_HYPOTHESIS": "grade"}  # tests/conftest.py: Hypothesis does not shrink failures it only counts
    try:
        subprocess.run([*_pytest(number, exercises(folder)), "--tb=no", f"--junitxml={report}"], cwd=folder,
                       env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 0, 1, f"stopped after {timeout} s"
    if not os.path.exists(report):
        return 0, 1, "the tests did not run"
    suite = ET.parse(report).getroot()
    os.remove(report)
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    total = int(suite.get("tests", 0)) - int(suite.get("skipped", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    return total - failed, max(total, 1), "" if total else "no tests found"


def grade(folders, timeout=300, root=ROOT, jobs=1):
    """{folder: {exercise: {"passed", "total", "points", "of", "note"}}} for student copies. Each is graded
    in a scratch copy with the instructor's tests (those of a fresh student copy), not the student's own."""
    table = exercises(root)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        pristine = os.path.join(tmp, "pristine")
        student_copy(pristine, root=root)
        for i, folder in enumerate(folders):
            work = os.path.join(tmp, str(i))
            shutil.copytree(folder, work, ignore=shutil.ignore_patterns(".*", "runs", "__pycache__", "tests", "*.png"))
            shutil.copytree(os.path.join(pristine, "tests"), os.path.join(work, "tests"))
            with ThreadPoolExecutor(jobs) as pool:  # each exercise is its own subprocess either way
                runs = dict(zip(table, pool.map(run_exercise, table, [work] * len(table), [timeout] * len(table))))
            results[folder] = {n: {"passed": passed, "total": total, "of": table[n]["points"], "note": note,
                                   "points": table[n]["points"] if passed == total else 0}
                               for n, (passed, total, note) in runs.items()}
    return results


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m minaae.course", description="minaae's course kit")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the exercises, their files and prerequisites")
    copy = sub.add_parser("student-copy", help="write the student copy of the repository")
    copy.add_argument("dest")
    copy.add_argument("--exercises", type=int, nargs="*", help="exercise numbers to remove (default: all)")
    check = sub.add_parser("check", help="run exactly one exercise's tests")
    check.add_argument("number", type=int)
    g = sub.add_parser("grade", help="score a student copy, or a folder of copies (CSV)")
    g.add_argument("folder")
    g.add_argument("--json", action="store_true", help="one student: JSON instead of a table")
    g.add_argument("--timeout", type=float, default=300, help="seconds per exercise (default: 300)")
    g.add_argument("--jobs", type=int, default=1, help="exercises graded at once (default: 1)")
    args = p.parse_args(argv)
    try:
        table = exercises()
        if args.command == "list":
            for n, e in table.items():
                print(f"{n:2d}. {e['title']}  [{e['file']}, {e['function']}]{_needs(n, table)}, {e['points']} points")
        elif args.command == "student-copy":
            removed = student_copy(args.dest, args.exercises)
            print(f"student copy in {args.dest} with exercises {removed} removed. Set it up and test it:\n"
                  f'  cd {args.dest} && python -m pip install -e ".[test]" && python -m pytest -q')
        elif args.command == "check":
            if args.number not in table:
                raise ValueError(f"no exercise {args.number}; the exercises are {sorted(table)}")
            print(f"Exercise {args.number}: {table[args.number]['title']}{_needs(args.number, table)}")
            sys.exit(subprocess.call(_pytest(args.number, table), cwd=ROOT))
        else:
            _grade_command(args, table)
    except (ValueError, OSError) as e:
        sys.exit(f"error: {e}")


def _grade_command(args, table):
    if not os.path.isdir(args.folder):
        raise ValueError(f"{args.folder} is not a folder")
    if os.path.isdir(os.path.join(args.folder, "minaae")):
        result = grade([args.folder], args.timeout, jobs=args.jobs)[args.folder]
        for n, r in result.items():
            if not args.json:
                print(f"Exercise {n:2d}: {r['passed']}/{r['total']} tests, {r['points']}/{r['of']} points {r['note']}")
        print(json.dumps(result, indent=1) if args.json else
              f"total: {sum(r['points'] for r in result.values())}/{sum(r['of'] for r in result.values())} points")
        return
    students = sorted(d for d in os.listdir(args.folder) if os.path.isdir(os.path.join(args.folder, d, "minaae")))
    if not students:
        raise ValueError(f"{args.folder} holds no student copy (a folder with minaae/ in it)")
    results = grade([os.path.join(args.folder, name) for name in students], args.timeout, jobs=args.jobs)
    out = csv.writer(sys.stdout)
    out.writerow(["student", *(f"exercise {n}" for n in table), "points", "of", "notes"])
    for name, result in zip(students, results.values()):
        notes = "; ".join(f"exercise {n}: {r['note']}" for n, r in result.items() if r["note"])
        out.writerow([name, *(r["points"] for r in result.values()), sum(r["points"] for r in result.values()),
                      sum(r["of"] for r in result.values()), notes])


if __name__ == "__main__":
    main()
