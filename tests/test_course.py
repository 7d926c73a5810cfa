"""The course kit: the student copy imports, exactly the removed exercises' tests fail, and each failure
names its exercise; the full copy is this repository, whose suite passes."""

import os
import re
import subprocess
import sys

import pytest

from minaae import course

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST_TESTS = ["tests/test_autograd.py", "tests/test_functional.py", "tests/test_kernels.py", "tests/test_optim.py",
              "tests/test_priors.py", "tests/test_metrics.py", "tests/test_aae.py", "tests/test_nn.py"]


def test_every_exercise_is_listed_in_the_docs_in_order():
    exercises = course.find_exercises()
    assert list(exercises) == list(range(1, len(exercises) + 1)) and len(exercises) >= 8
    text = open(os.path.join(ROOT, "docs", "exercises.md")).read()
    for number, (title, path) in exercises.items():
        assert f"## Exercise {number}: {title}" in text and path in text


def test_strip_solutions_replaces_only_the_chosen_regions():
    text = "def f():\n    # BEGIN EXERCISE 1: one\n    return 1\n    # END EXERCISE\n" \
           "def g():\n    # BEGIN EXERCISE 2: two\n    return 2\n    # END EXERCISE\n"
    out = course.strip_solutions(text, {2})
    assert "return 1" in out and "return 2" not in out
    assert '    raise NotImplementedError("Exercise 2: two (docs/exercises.md)")\n' in out
    with pytest.raises(ValueError, match="no '# END EXERCISE'"):
        course.strip_solutions("# BEGIN EXERCISE 1: x\n", {1})


@pytest.mark.slow
def test_student_copy_imports_and_fails_exactly_the_removed_exercises(tmp_path):
    dest = str(tmp_path / "student")
    removed = course.student_copy(dest, [3, 6, 7, 9, 10])
    env = {**os.environ, "PYTHONPATH": dest, "OPENBLAS_NUM_THREADS": "1"}
    imported = subprocess.run([sys.executable, "-c", "import minaae, minaae.aae, minaae.semisupervised"], cwd=dest,
                              env=env, capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FAST_TESTS],
                            cwd=dest, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stdout[-3000:]
    named = {int(n) for n in re.findall(r"^Exercise (\d+) \(", result.stdout, re.M)}
    assert named == set(removed), result.stdout[-3000:]
    failed = re.findall(r"^FAILED (\S+)", result.stdout, re.M)
    reported = sum(int(n) for n in re.findall(r"^Exercise \d+ \(.*\): (\d+) failing tests", result.stdout, re.M))
    assert failed and reported == len(failed), result.stdout[-3000:]  # every failure belongs to an exercise


def test_student_copy_refuses_unknown_exercises_and_non_empty_folders(tmp_path):
    with pytest.raises(ValueError, match="no exercise \\[99\\]"):
        course.student_copy(str(tmp_path / "a"), [99])
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("")
    with pytest.raises(FileExistsError):
        course.student_copy(str(tmp_path / "b"))
