"""Shared test setup: Hypothesis profiles, the `cuda` marker, and the exercise markers ex1, ex2, ...

MINAAE_HYPOTHESIS=thorough runs many more examples per property (minutes); the default "ci" profile
keeps the whole suite within a few minutes on 2 cores.
"""

import json
import os
import re

import pytest
from hypothesis import HealthCheck, Phase, settings

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile(  # for `python -m minaae.course grade`: no shrinking of failures it only counts
    "grade", max_examples=25, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("MINAAE_HYPOTHESIS", "ci"))


EXERCISES = {int(n): e for n, e in json.load(open(os.path.join(os.path.dirname(__file__), "exercises.json"))).items()}


def pytest_configure(config):
    for n, e in EXERCISES.items():
        config.addinivalue_line("markers", f"ex{n}: the tests of exercise {n}, {e['title']}")


def pytest_collection_modifyitems(config, items):
    from minaae.backend import cupy_available

    skip = pytest.mark.skip(reason="needs CuPy and an NVIDIA GPU; none here")
    for item in items:
        if "cuda" in item.keywords and not cupy_available():
            item.add_marker(skip)
        for n, e in EXERCISES.items():  # tests/exercises.json names each exercise's tests by node-id prefix
            if any(item.nodeid.startswith(prefix) for prefix in e["tests"]):
                item.add_marker(getattr(pytest.mark, f"ex{n}"))


def pytest_terminal_summary(terminalreporter):
    """Failures grouped by the exercise whose marker their test carries: not written yet (its
    NotImplementedError) or written but wrong, with the prerequisites of each."""
    by_exercise, other = {}, 0
    for report in terminalreporter.stats.get("failed", []) + terminalreporter.stats.get("error", []):
        numbers = [n for n in EXERCISES if f"ex{n}" in getattr(report, "keywords", {})]
        for n in numbers:
            by_exercise.setdefault(n, []).append(report)
        other += not numbers
    if not by_exercise:
        return
    terminalreporter.section("failures by exercise")
    for n, reports in sorted(by_exercise.items()):
        e, text = EXERCISES[n], str(reports[0].longrepr)
        blocked = sorted({int(k) for k in re.findall(r"Exercise (\d+):", text)} - {n})
        state = ("not written yet" if f"Exercise {n}:" in text else
                 f"waits for exercise {blocked[0]}, not written yet" if blocked else "runs but is wrong")
        needs = f"; needs exercise{'s' * (len(e['needs']) > 1)} {', '.join(map(str, e['needs']))} first" \
            if e["needs"] else ""
        count = f"{len(reports)} failing test{'s' if len(reports) > 1 else ''}"
        terminalreporter.write_line(f"Exercise {n} ({e['title']}{needs}): {state}, {count}, e.g. {reports[0].nodeid}")
        if state == "runs but is wrong":
            reason = next((line for line in text.splitlines() if line.startswith("E ")), "").strip("E ").strip()
            terminalreporter.write_line(f"    {reason[:200]}")
    if other:
        terminalreporter.write_line(f"{other} other failing test{'s' if other > 1 else ''} (no exercise's own)")
