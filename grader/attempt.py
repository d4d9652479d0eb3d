"""Did the student answer? Status of each autograded test cell of an executed notebook.

A test cell is

* ``passed``: it ran without an error (nbgrader gives it full points);
* ``not attempted`` (还没作答): its question's solution cell (grade id ``X`` for the test
  ``X_tests``) is still the released stub, i.e. its first statement is
  ``raise NotImplementedError(...)`` so nothing the student wrote in it ran (comments aside;
  ``utils.hints.is_stub``; an emptied cell counts too). A test without such a cell is not
  attempted when it stopped with ``utils.hints.NotAttempted``. When the student's cell holds
  code but the test still says NotAttempted (the code defined none of the names), the test
  counts as an error if that cell raised one (a timeout, an exception), else as wrong;
* ``wrong``: it failed an ``assert`` (the answer ran and is not right);
* ``error``: any other exception (``NameError``, ``TypeError``, a timeout, a cell the
  integrity check could not trust, a file that could not be executed).

The stub rule reads only the student's own cell, so it does not depend on what the test prints;
it also covers questions whose names exist before the student answers (lab 1 normalises
``X_train`` in place: the untouched stub leaves the old ``X_train`` and the test fails with a
wrong-answer message, yet the question was not attempted).
"""
from __future__ import annotations

from utils.hints import is_stub

PASSED, WRONG, ERROR, NOT_ATTEMPTED = "passed", "wrong", "error", "not attempted"
STATUSES = (PASSED, WRONG, ERROR, NOT_ATTEMPTED)
LABELS_ZH = {PASSED: "通过", WRONG: "未通过", ERROR: "出错", NOT_ATTEMPTED: "还没作答"}


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _error(cell):
    return next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)


def statuses(nb) -> dict[str, str]:
    """grade id of every autograded test cell of the executed notebook ``nb`` -> its status."""
    answers = {_meta(c).get("grade_id"): c for c in nb.cells
               if c.get("cell_type") == "code" and _meta(c).get("solution")}
    found = {}
    for cell in nb.cells:
        meta = _meta(cell)
        gid = meta.get("grade_id")
        if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution") or not gid:
            continue
        error = _error(cell)
        answer = answers.get(gid[:-len("_tests")] if gid.endswith("_tests") else None)
        if error is None:
            found[gid] = PASSED
        elif answer is not None and is_stub(answer.get("source", "")):
            found[gid] = NOT_ATTEMPTED
        elif error.get("ename") == "NotAttempted":
            # the student's cell was written but defined none of the names: it failed (an error
            # output of its own, e.g. a timeout) or it answered something else
            found[gid] = ERROR if answer is not None and _error(answer) else (WRONG if answer is not None else NOT_ATTEMPTED)
        elif error.get("ename") == "AssertionError":
            found[gid] = WRONG
        else:
            found[gid] = ERROR
    return found
