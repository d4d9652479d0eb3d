"""Run-time switches the labs read from the environment.

``CNN_COURSE_FULL=1``
    use the full datasets instead of the shipped subsets (see :func:`utils.data.prepare`).
    Only the student (or the instructor) sets it; the grader's kernel never does.

There is no grading mode: every lab trains the same number of epochs wherever it runs (the
student's own run, Validate, nbval, the grader, the mistake suite), so a check that passes at
Validate passes at grading: the labs write their epoch counts as literals.
``tests/test_one_setting.py`` keeps it that way.
"""
from __future__ import annotations

import os

FULL_ENV = "CNN_COURSE_FULL"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def full_data() -> bool:
    """True when the student (or the instructor) asked for the full datasets."""
    return _flag(FULL_ENV)
