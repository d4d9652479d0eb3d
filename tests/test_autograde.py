"""nbgrader's own autograde of every lab's untouched student version: 0 points, nothing flagged.

A throw-away course folder is built in tmp: source/ is a copy of solutions/, submitted/
holds the student `blank` (the generated student notebook, unmodified), graded by stock
``nbgrader autograde`` (its own execution). The kernels run with the same settings as
Validate, nbval and the student's own run: there is no grading mode. That the solution earns
full marks is checked on the mistake suite's run of it (tests/test_mistakes.py), recorded by
the course's owner, so the solution does not run a third time here.
"""
import shutil

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from conftest import ROOT
from grader import course, integrity

LABS = course.labs()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return _grade_all(tmp_path_factory)


def _grade_all(tmp_path_factory):
    course.ensure_tools_on_path()
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "solutions", root / "source")
    config = course.load_config(CourseDirectory={"root": str(root), "source_directory": "source",
                                                 "release_directory": "release"},
                                Execute={"timeout": 300})
    coursedir = CourseDirectory(config=config)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    results = {}
    for lab in LABS:
        generated = api.generate_assignment(lab)
        assert generated["success"], generated.get("error") or generated.get("log")
        for student, folder in [("blank", root / "release")]:
            dest = root / "submitted" / student / lab
            dest.mkdir(parents=True)
            for nb in (folder / lab).glob("*.ipynb"):
                shutil.copy(nb, dest / nb.name)
            result = api.autograde(lab, student, force=True, create=True)
            assert result["success"], result.get("error") or result.get("log")
    with Gradebook(coursedir.db_url) as gb:
        for lab in LABS:
            for student in ["blank"]:
                sub = gb.find_submission(lab, student)
                grades = [g for nb in sub.notebooks for g in nb.grades]
                auto = [(g.name, g.auto_score, g.max_score) for g in grades if g.cell_type == "code"]
                manual = [(g.name, g.needs_manual_grade) for g in grades if g.cell_type == "markdown"]
                prepared = sorted((root / "autograded" / student / lab).glob("*.ipynb"))
                results[lab, student] = {"auto": auto, "manual": manual, "score": sub.score,
                                         "max": sub.max_score,
                                         "flags": integrity.screen_files(prepared, root / "source" / lab)}
    return results


@pytest.mark.parametrize("lab", LABS)
def test_blank_student_version_gets_zero(graded, lab):
    result = graded[lab, "blank"]
    assert result["auto"] and all(score == 0 for _, score, _ in result["auto"]), result["auto"]
    assert result["score"] == 0


@pytest.mark.parametrize("lab", LABS)
def test_written_answers_wait_for_a_human(graded, lab):
    # every written answer of the source is in the gradebook; an untouched stub is scored 0
    # by nbgrader without asking a human (the solution's answers wait for one: test_mistakes)
    source = nbformat.read(next((ROOT / "solutions" / lab).glob("*.ipynb")), as_version=4)
    written = [c.metadata.nbgrader["grade_id"] for c in source.cells
               if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
    assert sorted(name for name, _ in graded[lab, "blank"]["manual"]) == sorted(written)


@pytest.mark.parametrize("lab", LABS)
def test_nothing_is_flagged_for_review(graded, lab):
    # the integrity screen (grader/integrity.py) on the autograded notebooks: no false alarm
    assert graded[lab, "blank"]["flags"] == []
