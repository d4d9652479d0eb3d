"""Build synthetic student submissions of a lab from its solution and its mistake suite.

``student_notebook(lab, {grade_id: code})`` is the generated student notebook with the given
solution cells answered (the solution region replaced by ``code``); questions not given keep
nbgrader's stub (``raise NotImplementedError()``). ``solved(lab)`` answers everything with
the solution itself. Used by the grader's tests and by ``make bench-grade``.
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION\n?", re.S)


def variants(lab: str):
    import sys

    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    return importlib.import_module(f"mistakes.{lab}").VARIANTS


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
            stub = "# >>>填写<<<\nraise NotImplementedError()"
            assert stub in cell.source, f"{lab} {gid}: no stub in the student notebook"
            cell.source = cell.source.replace(stub, answers[gid].rstrip("\n"))
    return nb


def solved(lab: str, **overrides: str) -> dict[str, str]:
    answers = solution_regions(lab)
    answers.update(overrides)
    return answers


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
