"""Shared test setup: Hypothesis profiles and the `cuda` marker.

MINAAE_HYPOTHESIS=thorough runs many more examples per property (minutes); the default "ci" profile
keeps the whole suite within a few minutes on 2 cores.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("MINAAE_HYPOTHESIS", "ci"))


def pytest_collection_modifyitems(config, items):
    from minaae.backend import cupy_available

    if cupy_available():
        return
    skip = pytest.mark.skip(reason="needs CuPy and an NVIDIA GPU; none here")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    """In a student copy (python -m minaae.course student-copy), say which exercise each failure needs."""
    import re

    by_exercise = {}
    for report in terminalreporter.stats.get("failed", []):
        found = re.search(r"Exercise (\d+): ([^\"\n(]+)", str(report.longrepr))
        if found:
            key = (int(found.group(1)), found.group(2).strip())
            by_exercise.setdefault(key, []).append(report.nodeid)
    if by_exercise:
        terminalreporter.section("exercises still to do")
        for (number, title), tests in sorted(by_exercise.items()):
            terminalreporter.write_line(f"Exercise {number} ({title}): {len(tests)} failing tests, e.g. {tests[0]}")
