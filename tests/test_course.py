"""The course kit, as an instructor and a class use it (instructor-only: not in the student copy).

A student copy made from this repository leaks none of the answers, tests itself whatever else is
installed, goes green when solved, catches every planted mistake (tests/mutations.json) with the
exercise's own tests, and `grade` scores unsolved, half-solved and solved copies as it should."""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from minaae import course

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = course.exercises()
ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """An unsolved copy (every exercise removed) and a solved one (none removed: the real solutions)."""
    base = tmp_path_factory.mktemp("course")
    course.student_copy(str(base / "unsolved"))
    course.student_copy(str(base / "solved"), [])
    return base


def find_regions():
    """[(exercise number, title, path)] of every marked region under minaae/ and docs/, in file order."""
    found = []
    for folder in ("minaae", "docs"):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if name.endswith(course.STRIPPED) and name != "course.py":
                with open(os.path.join(ROOT, folder, name)) as f:
                    for line in f:
                        m = course.REGION.match(line)
                        if m and m.group(4):
                            found.append((int(m.group(4)), m.group(5), f"{folder}/{name}"))
    return found


def run(cmd, cwd, **env):
    return subprocess.run(cmd, cwd=cwd, env={**ENV, **env}, capture_output=True, text=True, timeout=600)


def test_every_exercise_is_declared_once_marked_in_its_file_and_handed_out_in_the_sheet():
    assert list(TABLE) == list(range(1, len(TABLE) + 1))
    regions = find_regions()
    sheet = open(os.path.join(ROOT, "docs", "exercises.md")).read()
    for n, e in TABLE.items():
        assert (n, e["title"], e["file"]) in regions, f"exercise {n} has no region in {e['file']}"
        assert all(t == e["title"] for k, t, _ in regions if k == n), f"exercise {n}: regions with another title"
        assert all(k < n for k in e["needs"]), f"exercise {n} needs a later exercise"
        section = sheet.split(f"## Exercise {n}: {e['title']}\n")[1].split("\n## ")[0]
        facts = (e["file"], *e["function"].split(", "), f"python -m minaae.course check {n}", f"{e['points']} points")
        for fact in (*facts, "Needs: " + (", ".join(f"exercise {k}" for k in e["needs"]) or "nothing")):
            assert fact in section, f"the sheet's exercise {n} does not say {fact!r}"


def test_strip_solutions_handles_python_cuda_markdown_instructor_regions_and_swaps():
    py = ("def f():\n    # BEGIN EXERCISE 1: one\n    return 1\n    # END EXERCISE\n"
          "def g():\n    # BEGIN EXERCISE 2: two\n    return 2\n    # END EXERCISE\n"
          "# BEGIN INSTRUCTOR\ndef reference(): ...\n# END INSTRUCTOR\nFUSED = True  # student copy: FUSED = False\n")
    out = course.strip_solutions(py, {2})
    assert "return 1" in out and "return 2" not in out and "reference" not in out and "FUSED = False\n" in out
    assert '    raise NotImplementedError("Exercise 2: two (docs/exercises.md)")\n' in out
    cu = "x; \\\n    /* BEGIN EXERCISE 4: bce */ \\\n    y = 1; \\\n    /* END EXERCISE */ \\\nz;\n"
    assert course.strip_solutions(cu, {4}, ".cu") == \
        "x; \\\n    /* Exercise 4: bce (docs/exercises.md): removed in the student copy */ \\\nz;\n"
    md = "a\n<!-- BEGIN EXERCISE 3: t -->\n$x = y$\n<!-- END EXERCISE -->\nb\n"
    assert course.strip_solutions(md, {3}, ".md") == \
        "a\n<!-- Exercise 3: t (docs/exercises.md): removed in the student copy -->\nb\n"
    with pytest.raises(ValueError, match="no END line"):
        course.strip_solutions("# BEGIN EXERCISE 1: x\n", {1})


def solution_lines():
    """{distinctive line: where} of every marked region and of the solution fragments that tests/mutations.json
    mutates, less the generic lines that the sources also hold outside any region."""
    lines, outside = {}, set()
    for folder in ("minaae", "docs", "tests"):
        for name in os.listdir(os.path.join(ROOT, folder)):
            if not name.endswith(course.STRIPPED) or name == "course.py":
                continue
            inside = False
            for line in open(os.path.join(ROOT, folder, name), encoding="utf-8"):
                text = line.strip().strip("\\").strip()
                if course.REGION.match(line):
                    inside = True
                elif course.END.match(line):
                    inside = False
                elif inside and len(text) >= 12:
                    lines[text] = f"{folder}/{name}"
                else:
                    outside.add(text)
    for m in json.load(open(os.path.join(ROOT, "tests", "mutations.json"))):
        for fragment in m["old"].split("\n"):
            if len(fragment.strip()) >= 12 and not course.REGION.match(fragment) and not course.END.match(fragment):
                lines.setdefault(fragment.strip(), f"{m['file']} (tests/mutations.json)")
    outside = "\n".join(outside)
    return {line: where for line, where in lines.items() if line not in outside}


def test_the_unsolved_copy_leaks_no_solution_line_and_no_instructor_file(copies):
    lines = solution_lines()
    assert len(lines) > 50 and set(TABLE) <= {n for n, _, _ in find_regions()}
    leaks = []
    for folder, _, names in os.walk(copies / "unsolved"):
        for name in names:
            text = open(os.path.join(folder, name), encoding="utf-8", errors="replace").read()
            leaks += [(name, line, where) for line, where in lines.items() if line in text]
    assert not leaks, f"{len(leaks)} solution lines in the copy, e.g. {leaks[:3]}"
    assert not (copies / "unsolved" / "tests" / "test_course.py").exists()
    assert not (copies / "unsolved" / "tests" / "mutations.json").exists()
    assert "\nFUSED = False\n" in (copies / "unsolved" / "minaae" / "kernels.py").read_text()


def test_a_bare_pytest_in_the_copy_tests_the_copy_even_with_the_instructors_minaae_on_the_path(copies):
    """PYTHONPATH=<this repository> stands in for `pip install -e` of it; the console script `pytest` does not
    put the working folder on sys.path, so only the copy's pyproject (pythonpath = ["."]) can make it win."""
    pytest_script = shutil.which("pytest", path=os.path.dirname(sys.executable)) or shutil.which("pytest")
    result = run([pytest_script, "-q", "-p", "no:cacheprovider", "-m", "ex6", "tests/test_exercises.py"],
                 copies / "unsolved", PYTHONPATH=ROOT)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "Exercise 6 (the Adam update): not written yet" in result.stdout, result.stdout[-2000:]


def test_check_runs_exactly_one_exercise_and_the_summary_attributes_failures_by_marker(copies):
    result = run([sys.executable, "-m", "minaae.course", "check", "8"], copies / "unsolved")
    assert result.returncode == 1
    assert result.stdout.startswith("Exercise 8: the discriminator step (needs exercises 1, 2, 4, 6, 7)")
    summary = result.stdout.split("failures by exercise")[1]
    assert re.findall(r"^Exercise (\d+) ", summary, re.M) == ["8"], summary  # not under 4 or 7, whose code it hit
    assert "needs exercises 1, 2, 4, 6, 7 first" in summary
    passed = run([sys.executable, "-m", "minaae.course", "check", "8"], copies / "solved")
    assert passed.returncode == 0 and "passed" in passed.stdout and "deselected" in passed.stdout


def test_the_solved_copy_is_green(copies):
    """Every exercise's tests, and the whole of the files whose references were replaced by stored values."""
    marked = " or ".join(f"ex{n}" for n in TABLE)
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marked, "tests"],
                 copies / "solved")
    assert result.returncode == 0, result.stdout[-3000:]
    files = ["tests/test_optim.py", "tests/test_kernels.py", "tests/test_metrics.py", "tests/test_exercises.py"]
    result = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files], copies / "solved")
    assert result.returncode == 0, result.stdout[-3000:]


def test_every_planted_mistake_fails_its_exercises_own_tests(tmp_path):
    """Each mistake of tests/mutations.json, applied to a solved copy, fails the exercise's tests in
    tests/test_exercises.py. Each run is a forked child that imports the mutated copy afresh (NumPy and
    pytest stay loaded: a fraction of a second per mistake)."""
    mutations = json.load(open(os.path.join(ROOT, "tests", "mutations.json")))
    counts = {n: sum(m["exercise"] == n for m in mutations) for n in TABLE}
    assert min(counts.values()) >= 3, counts
    folder = tmp_path / "solved"
    course.student_copy(str(folder), [])
    missed = []
    for m in mutations:
        path = folder / m["file"]
        text = path.read_text()
        assert text.count(m["old"]) == 1, f"mutation {m} does not apply"
        path.write_text(text.replace(m["old"], m["new"]))
        try:
            status = run_forked(folder, ["-q", "-p", "no:cacheprovider", "-m", f"ex{m['exercise']}",
                                         "tests/test_exercises.py"])
        finally:
            path.write_text(text)
        if status != pytest.ExitCode.TESTS_FAILED:
            missed.append((m["exercise"], m["why"], status))
    assert not missed, missed
    assert run_forked(folder, ["-q", "-p", "no:cacheprovider", "tests/test_exercises.py"]) == pytest.ExitCode.OK


def run_forked(folder, args):
    """pytest.main(args) in a forked child that imports minaae and the tests from folder; its exit code."""
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            sys.dont_write_bytecode = True  # a mutation and its undoing can share size and mtime: no stale .pyc
            for name in [n for n in sys.modules if n.split(".")[0] in ("minaae", "conftest") or n.startswith("test_")]:
                del sys.modules[name]
            sys.path.insert(0, str(folder))
            os.chdir(folder)
            code = int(pytest.main(args))
        finally:
            os._exit(code)
    return os.waitpid(pid, 0)[1] >> 8


def test_grade_scores_unsolved_half_solved_and_solved_copies_each_exercise_in_its_own_time(tmp_path):
    cls = tmp_path / "class"
    course.student_copy(str(cls / "ada"), [])
    course.student_copy(str(cls / "bob"))
    course.student_copy(str(cls / "cy"), [9])
    loop = cls / "cy" / "minaae" / "functional.py"  # cy's exercise 3 never returns
    loop.write_text(loop.read_text().replace("        # BEGIN EXERCISE 3: the backward of log-softmax\n",
                                             "        while True:\n            pass\n"))
    result = run([sys.executable, "-m", "minaae.course", "grade", str(cls), "--timeout", "20", "--jobs", "2"], ROOT)
    assert result.returncode == 0, result.stderr
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert set(rows) == {"ada", "bob", "cy"}
    total = sum(e["points"] for e in TABLE.values())
    assert rows["ada"]["points"] == str(total) and rows["ada"]["notes"] == ""
    assert rows["bob"]["points"] == "0" and rows["cy"]["notes"] == "exercise 3: stopped after 20.0 s"
    assert [rows["cy"][f"exercise {n}"] for n in TABLE] == ["0" if n in (3, 9) else "10" for n in TABLE]


def test_grade_of_one_copy_prints_json_per_exercise(tmp_path, monkeypatch, capsys):
    """The one-copy path of the command line, with the subprocess runs stood in for (the test above runs them)."""
    course.student_copy(str(tmp_path / "eve"), [6])
    monkeypatch.setattr(course, "run_exercise", lambda n, folder, timeout: (0, 3, "") if n == 6 else (2, 2, ""))
    course.main(["grade", str(tmp_path / "eve"), "--json"])
    report = {int(n): r for n, r in json.loads(capsys.readouterr().out).items()}
    assert report[6] == {"passed": 0, "total": 3, "of": 10, "note": "", "points": 0}
    assert all(report[n] == {"passed": 2, "total": 2, "of": 10, "note": "", "points": 10} for n in TABLE if n != 6)
    with pytest.raises(SystemExit, match="holds no student copy"):
        course.main(["grade", str(tmp_path / "eve" / "docs")])


def test_student_copy_errors_are_one_line_and_a_failed_copy_leaves_nothing(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    for dest, message in ((tmp_path / "file", "is a file"), (tmp_path / "file" / "sub" / "copy", "cannot create"),
                          (tmp_path, "exists and is not empty")):
        with pytest.raises(SystemExit) as e:
            course.main(["student-copy", str(dest)])
        assert message in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(SystemExit, match="no exercise \\[99\\]"):
        course.main(["student-copy", str(tmp_path / "new"), "--exercises", "99"])
    # a repository with a space in a tracked name, and a region left open: refused, nothing left behind
    repo = tmp_path / "repo"
    (repo / "minaae").mkdir(parents=True)
    (repo / "tests").mkdir()
    (repo / "docs").mkdir()
    shutil.copy(os.path.join(ROOT, "tests", "exercises.json"), repo / "tests")
    (repo / "docs" / "a page.md").write_text("text\n")
    (repo / "minaae" / "m.py").write_text("# BEGIN EXERCISE 1: x\nx = 1\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    with pytest.raises(ValueError, match="no END line"):
        course.student_copy(str(tmp_path / "out"), root=str(repo))
    assert sorted(os.listdir(tmp_path)) == ["file", "repo"]
    (repo / "minaae" / "m.py").write_text("# BEGIN EXERCISE 1: x\nx = 1\n# END EXERCISE\n")
    course.student_copy(str(tmp_path / "out"), root=str(repo))
    assert (tmp_path / "out" / "docs" / "a page.md").read_text() == "text\n"
    assert "NotImplementedError" in (tmp_path / "out" / "minaae" / "m.py").read_text()


def test_ci_runs_the_readmes_two_commands_in_a_fresh_virtual_environment():
    readme = open(os.path.join(ROOT, "README.md")).read()
    ci = open(os.path.join(ROOT, ".ci", "run")).read()
    commands = re.findall(r"^python -m pip install .*$", readme, re.M)
    assert len(commands) == 2, commands
    setup, tests = commands
    install, example = setup.rsplit(" && ", 1)
    assert example == "python examples/mnist_aae.py"
    ci_lines = ci.splitlines()
    assert install in ci_lines and tests in ci_lines
    assert any(line.startswith(example + " --epochs 1 ") for line in ci_lines)  # the example, shortened
    assert ci.index("-m venv") < ci.index(install) < ci.index(tests)
