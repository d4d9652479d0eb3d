"""nbgrader autograde of every lab: the solution gets full marks, the untouched student version 0.

A throw-away course folder is built in tmp: source/ is a copy of solutions/, submitted/
holds two students: `solution` (the instructor's notebook) and `blank` (the generated
student notebook, unmodified). The kernels run with the same settings as Validate, nbval
and the student's own run: there is no grading mode.
"""
import shutil

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
        for student, folder in [("solution", root / "source"), ("blank", root / "release")]:
            dest = root / "submitted" / student / lab
            dest.mkdir(parents=True)
            for nb in (folder / lab).glob("*.ipynb"):
                shutil.copy(nb, dest / nb.name)
            result = api.autograde(lab, student, force=True, create=True)
            assert result["success"], result.get("error") or result.get("log")
    with Gradebook(coursedir.db_url) as gb:
        for lab in LABS:
            for student in ["solution", "blank"]:
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
def test_solution_gets_full_autograded_marks(graded, lab):
    result = graded[lab, "solution"]
    assert result["auto"], "no autograded cells found"
    lost = [(name, score, top) for name, score, top in result["auto"] if score != top]
    assert lost == [], f"{lab}: the solution loses points on {lost}"


@pytest.mark.parametrize("lab", LABS)
def test_blank_student_version_gets_zero(graded, lab):
    result = graded[lab, "blank"]
    assert result["auto"] and all(score == 0 for _, score, _ in result["auto"]), result["auto"]
    assert result["score"] == 0


@pytest.mark.parametrize("lab", LABS)
def test_written_answers_wait_for_a_human(graded, lab):
    # written answers are not scored by the autograder: they wait for the instructor,
    # except an untouched stub, which nbgrader scores 0 without asking a human
    solution, blank = graded[lab, "solution"]["manual"], graded[lab, "blank"]["manual"]
    assert [name for name, _ in solution] == [name for name, _ in blank]
    assert all(needs for _, needs in solution)


@pytest.mark.parametrize("lab", LABS)
def test_nothing_is_flagged_for_review(graded, lab):
    # the integrity screen (grader/integrity.py) on the autograded notebooks: no false alarm
    assert graded[lab, "solution"]["flags"] == [] and graded[lab, "blank"]["flags"] == []
