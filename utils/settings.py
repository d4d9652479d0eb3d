"""Run-time switches the labs read from the environment.

``CNN_COURSE_FULL=1``
    use the full datasets instead of the shipped subsets (see :func:`utils.data.prepare`).
``CNN_COURSE_FAST=1``
    grading mode: the labs train for fewer epochs (:func:`epochs`). Every graded check
    still holds for a correct solution in this mode.
"""
from __future__ import annotations

import os

FULL_ENV = "CNN_COURSE_FULL"
FAST_ENV = "CNN_COURSE_FAST"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def full_data() -> bool:
    """True when the student (or the instructor) asked for the full datasets."""
    return _flag(FULL_ENV)


def fast() -> bool:
    """True in grading mode (shorter training)."""
    return _flag(FAST_ENV)


def epochs(normal: int, fast_epochs: int | None = None) -> int:
    """Number of epochs to train: ``normal``, or ``fast_epochs`` in grading mode."""
    if fast() and fast_epochs is not None:
        return int(fast_epochs)
    return int(normal)
