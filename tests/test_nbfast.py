"""The owner's fast path (grader/nbfast.py, Owner._convert) records exactly what nbgrader records.

Two workspaces get the same "executed" submissions (some test cells with an error output, a locked
cell edited, a test cell deleted): one is recorded by nbgrader's own ``NbGraderAPI.autograde``
(one nbgrader application per notebook, ``Execute`` left out because the notebook is executed
already), the other by the owner (prepare, then finish with the executed notebook, inside
``nbfast.batch``). Grades, comments-free autograded notebooks and the gradebook's totals must be
the same. Cheap: no kernel runs.
"""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import synthetic as sy  # noqa: E402

from grader import nbfast  # noqa: E402
from grader.owner import Owner, Workspace, _preprocessor_lists  # noqa: E402
from grader.worker import Outcome  # noqa: E402

LAB = "lab01_data"


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def submissions() -> dict[str, tuple[nbformat.NotebookNode, set[str]]]:
    """Student id -> (the submitted notebook, the test cells whose execution fails)."""
    solved = sy.student_notebook(LAB, sy.solved(LAB))
    tests = [_meta(c)["grade_id"] for c in solved.cells if _meta(c).get("grade") and not _meta(c).get("solution")]
    tampered = copy.deepcopy(solved)
    locked = next(c for c in tampered.cells if _meta(c).get("locked") and c.cell_type == "code")
    locked.source += "\nprint('changed')"
    tampered.cells = [c for c in tampered.cells if _meta(c).get("grade_id") != tests[-1]]
    return {"s_all_pass": (solved, set()), "s_some_fail": (copy.deepcopy(solved), set(tests[::2])),
            "s_tampered": (tampered, set(tests[1::2])),
            "s_blank": (sy.student_notebook(LAB, {}), set(tests)),                  # not attempted
            "s_wrong": (answered(sy.student_notebook(LAB, sy.mistaken(LAB, 3))), {tests[3]})}


def answered(nb):
    """``nb`` with the written answer (the manually graded markdown cell) answered."""
    cell = next(c for c in nb.cells if _meta(c).get("grade") and _meta(c).get("solution") and c.cell_type == "markdown")
    cell.source = "因为每张图片是 28×28 像素，展平后是 784 个特征。"
    return nb


def executed(prepared: Path, failing: set[str]) -> nbformat.NotebookNode:
    """The prepared notebook as a worker returns it: the ``failing`` test cells end in an error."""
    nb = nbformat.read(prepared, as_version=4)
    for cell in nb.cells:
        if _meta(cell).get("grade_id") in failing:
            cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="不对",
                                                   traceback=["AssertionError: 不对"])]
    return nb


def nbgrader_apis(ws: Workspace):
    """nbgrader's own autograde split in two, as the owner used it before the fast path: the
    sanitising pass on ``submitted/``, and the recording pass (no ``Execute``) on ``executed/``."""
    _, record = _preprocessor_lists()
    prepare = ws.api(Autograde={"autograde_preprocessors": []})
    finish = ws.api(Autograde={"sanitize_preprocessors": [], "autograde_preprocessors": record},
                    CourseDirectory={"submitted_directory": "executed"})
    return prepare, finish


def grades(ws: Workspace) -> dict:
    from nbgrader.api import Gradebook

    table = {}
    with Gradebook(ws.url) as gb:
        for sub in gb.find_assignment(LAB).submissions:
            nb = sub.notebooks[0]
            table[sub.student.id] = {
                "score": nb.score, "max": nb.max_score,
                "grades": sorted((g.name, g.auto_score, g.manual_score, g.needs_manual_grade) for g in nb.grades)}
    return table


def autograded_cells(ws: Workspace, student: str) -> list:
    nb = nbformat.read(ws.autograded / student / LAB / f"{LAB}.ipynb", as_version=4)
    return [(c.cell_type, c.source, json.dumps(c.get("outputs", []), sort_keys=True),
             json.dumps(_meta(c), sort_keys=True)) for c in nb.cells]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    work = submissions()
    plain = Workspace(root=tmp_path_factory.mktemp("plain") / "ws")
    fast = Workspace(root=tmp_path_factory.mktemp("fast") / "ws")
    Owner(plain).ensure_assignment(LAB)
    owner = Owner(fast)
    owner.ensure_assignment(LAB)
    prepare, finish = nbgrader_apis(plain)
    prepared = {}

    def plain_pass(student, failing):
        assert prepare.autograde(LAB, student, force=True, create=True)["success"]
        done = executed(plain.autograded / student / LAB / f"{LAB}.ipynb", failing)
        prepared[student] = autograded_cells(plain, student)
        sy.write(done, plain.executed / student / LAB / f"{LAB}.ipynb")
        stamp = plain.submitted / student / LAB / "timestamp.txt"
        if stamp.exists():                           # as the owner does (Owner.record)
            (plain.executed / student / LAB / "timestamp.txt").write_text(stamp.read_text())
        assert finish.autograde(LAB, student, force=True, create=True)["success"]

    def fast_pass(student, failing):
        result, paths = owner.prepare(LAB, student)
        assert paths, result.problems
        fast_prepared[student] = autograded_cells(fast, student)
        done = executed(paths[0], failing)
        owner.finish(result, Outcome({paths[0].name: nbformat.writes(done).encode()}, [], 0.0, []))

    for student, (nb, failing) in work.items():
        for ws in (plain, fast):
            sy.write(nb, ws.submitted / student / LAB / f"{LAB}.ipynb")
            if student == "s_some_fail":
                (ws.submitted / student / LAB / "timestamp.txt").write_text("2026-11-30 08:15:00.000000 UTC")
        plain_pass(student, failing)
    fast_prepared = {}
    with nbfast.batch(fast.url, fast.course_id):
        for student, (_, failing) in work.items():
            fast_pass(student, failing)
    # a grader scores the written answer and a test by hand; both graded again: the manual
    # scores stay, the cells are marked for review, as nbgrader does
    for ws in (plain, fast):
        manual_scores(ws, "s_all_pass", {"why_shape": 1.5, "load_data_tests": 0.0})
    plain_pass("s_all_pass", work["s_all_pass"][1])
    with nbfast.batch(fast.url, fast.course_id):
        fast_pass("s_all_pass", work["s_all_pass"][1])
    return plain, fast, sorted(work), prepared, fast_prepared


def manual_scores(ws: Workspace, student: str, scores: dict) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(ws.url) as gb:
        for name, score in scores.items():
            gb.find_grade(name, LAB, LAB, student).manual_score = score
        gb.db.commit()


def rows(ws: Workspace) -> dict:
    """Every row nbgrader's autograde writes for a submission (students, submitted assignments
    and notebooks, grades, comments), field by field, the random ids replaced by what they name."""
    from nbgrader.api import Gradebook

    table = {}
    with Gradebook(ws.url) as gb:
        for sub in gb.find_assignment(LAB).submissions:
            student = sub.student
            table[sub.student.id] = {
                "student": (student.id, student.first_name, student.last_name, student.email, student.lms_user_id),
                "submission": (sub.timestamp, sub.extension, sub.score, sub.max_score, sub.needs_manual_grade,
                               sub.late_submission_penalty),
                "notebooks": sorted(
                    (nb.name, nb.flagged, nb.late_submission_penalty, nb.score, nb.max_score, nb.needs_manual_grade,
                     nb.failed_tests,
                     sorted((g.name, g.cell.type, g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade,
                             g.score, g.max_score) for g in nb.grades),
                     sorted((c.name, c.cell.type, c.auto_comment, c.manual_comment, c.comment) for c in nb.comments))
                    for nb in sub.notebooks)}
    return table


def test_the_fast_path_records_the_grades_nbgrader_records(both):
    plain, fast, students, _, _ = both
    expected, got = grades(plain), grades(fast)
    assert sorted(got) == students
    assert got == expected
    # the submissions differ, so the comparison can tell a wrong path from a right one
    assert len({row["score"] for row in expected.values()}) >= 2


def test_the_fast_path_writes_the_gradebook_rows_nbgrader_writes(both):
    plain, fast, students, _, _ = both
    expected, got = rows(plain), rows(fast)
    assert sorted(got) == students
    for student in students:
        assert got[student] == expected[student], student
    # what the comparison covers: a timestamp, a manual score kept and marked for review,
    # an unanswered written answer ("No response.", 0) and an answered one (needs manual grading)
    assert expected["s_some_fail"]["submission"][0] is not None
    grades = {g[0]: g for g in expected["s_all_pass"]["notebooks"][0][7]}
    assert grades["load_data_tests"][3] == 0.0 and grades["load_data_tests"][5] is True
    blank = {c[0]: c for c in expected["s_blank"]["notebooks"][0][8]}
    assert blank["why_shape"][2] == "No response."
    wrong = {g[0]: g for g in expected["s_wrong"]["notebooks"][0][7]}["why_shape"]
    assert wrong[2] is None and wrong[5] is True


@pytest.mark.parametrize("student", ["s_all_pass", "s_some_fail", "s_tampered", "s_blank", "s_wrong"])
def test_the_fast_path_writes_the_notebooks_nbgrader_writes(both, student):
    plain, fast, _, prepared, fast_prepared = both
    assert fast_prepared[student] == prepared[student]              # sanitised, before execution
    assert autograded_cells(fast, student) == autograded_cells(plain, student)   # recorded


def test_a_batch_restores_nbgrader_and_still_rejects_bad_metadata(tmp_path):
    import jsonschema
    from nbgrader import api
    from nbgrader.nbgraderformat import MetadataValidator, common
    from nbgrader.preprocessors import overwritecells, saveautogrades

    ws = Workspace(root=tmp_path / "ws")
    Owner(ws).ensure_assignment(LAB)
    before = (api.Gradebook, overwritecells.Gradebook, saveautogrades.Gradebook, common.jsonschema)
    good = {"grade": True, "grade_id": "x", "locked": True, "points": 2.0, "schema_version": 3,
            "solution": False, "task": False}
    with nbfast.batch(ws.url, ws.course_id):
        handle = api.Gradebook(ws.url)
        with handle as gb:
            assert gb.find_assignment(LAB).name == LAB
        assert api.Gradebook(ws.url)._gb is handle._gb            # one open gradebook for the batch
        validator = MetadataValidator()
        cell = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": good})
        validator.validate_cell(cell)
        validator.validate_cell(cell)                            # remembered as valid
        bad = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {**good, "points": "two"}})
        with pytest.raises(jsonschema.ValidationError):
            validator.validate_cell(bad)
        with pytest.raises(jsonschema.ValidationError):         # an invalid cell is never remembered
            validator.validate_cell(bad)
    assert (api.Gradebook, overwritecells.Gradebook, saveautogrades.Gradebook, common.jsonschema) == before


def test_feedback_pages_from_batch_grades_are_the_pages_from_getgrades(both, tmp_path):
    """feedback.page (grades read for the whole lab at once, filled in by the page pool) renders
    the page nbgrader's GetGrades + feedback.html renders, also after a grader's manual score,
    extra credit and comment; a submission missing from the gradebook fails as GetGrades does."""
    import shutil

    from nbgrader.api import Gradebook, MissingEntry

    from grader import feedback

    _, fast, students, _, _ = both
    ws = Workspace(root=tmp_path / "ws")
    shutil.copytree(fast.root, ws.root)
    with Gradebook(ws.url) as gb:
        nb = gb.find_submission_notebook(LAB, LAB, "s_some_fail")
        graded = [g for g in nb.grades if g.auto_score is not None]
        graded[0].manual_score = 0.5
        graded[1].extra_credit = 1.0
        nb.comments[0].manual_comment = "写得好"
        gb.db.commit()
    known = feedback.lab_grades(ws, LAB)
    assert sorted(s for s, _ in known) == students
    for student in students:
        path = ws.autograded / student / LAB / f"{LAB}.ipynb"
        flags = ["a review flag"] if student == "s_tampered" else []
        nb, resources = feedback.with_grades(feedback.clean(nbformat.read(path, as_version=4), flags), ws, LAB,
                                             student, LAB)
        fast_nb, fast_resources = feedback.apply_grades(feedback.clean(nbformat.read(path, as_version=4), flags),
                                                        known[(student, LAB)], LAB, student, LAB, ws.url)
        assert fast_nb == nb
        assert dict(fast_resources["nbgrader"]) == dict(resources["nbgrader"])
        assert (feedback.page(str(path), flags, known[(student, LAB)], LAB, student, ws.url)
                == feedback.html(nb, resources))
    # the comparison can tell: the manual score and comment reached the page
    some = feedback.apply_grades(feedback.clean(nbformat.read(ws.autograded / "s_some_fail" / LAB / f"{LAB}.ipynb",
                                                              as_version=4)), known[("s_some_fail", LAB)],
                                 LAB, "s_some_fail", LAB)[0]
    assert "写得好" in json.dumps([c.metadata for c in some.cells], ensure_ascii=False)
    with pytest.raises(MissingEntry):
        feedback.page(str(path), [], None, LAB, "nobody", ws.url)
