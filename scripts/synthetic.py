"""Synthetic lab submissions for the benchmarks, built from ``solutions/`` and ``notebooks/``.

``student_notebook(lab, {grade_id: code})`` is the generated student notebook with those
answer cells filled in; the others keep nbgrader's stub (``raise NotImplementedError()``).
``solved(lab)`` answers every question with the solution's own code. (The tests build their
classes with tests/synthetic_class.py, which also knows the mistake suite.)
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION\n?", re.S)
STUB = "# >>>填写<<<\nraise NotImplementedError()"


def solution_regions(lab: str) -> dict[str, str]:
    nb = nbformat.read(next((ROOT / "solutions" / lab).glob("*.ipynb")), as_version=4)
    regions = {}
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        found = REGION.search(cell.source)
        if gid and found and cell.cell_type == "code":
            regions[gid] = found.group(1)
    return regions


def student_notebook(lab: str, answers: dict[str, str]):
    """The released notebook of ``lab`` with ``answers`` (grade id -> code) filled in."""
    nb = nbformat.read(next((ROOT / "notebooks" / lab).glob("*.ipynb")), as_version=4)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in answers and cell.cell_type == "code":
            if STUB not in cell.source:
                raise ValueError(f"{lab} {gid}: no stub in the student notebook")
            cell.source = cell.source.replace(STUB, answers[gid].rstrip("\n"))
    return nb


def solved(lab: str, **overrides: str) -> dict[str, str]:
    answers = solution_regions(lab)
    answers.update(overrides)
    return answers


def mistaken(lab: str, i: int) -> dict[str, str]:
    """Everything solved but one question (the ``i``-th, cyclically), answered with ``pass``."""
    answers = solution_regions(lab)
    gid = sorted(answers)[i % len(answers)]
    return dict(answers, **{gid: "pass"})


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
