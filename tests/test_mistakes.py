"""Every graded question rejects plausible mistakes and accepts other correct answers.

Each lab's solution runs once (tests/labkit.py); the variants live in tests/mistakes/. The same
run, with its outputs, is then graded by the course's owner (grader/owner.py: prepare, then
record the executed notebook): the solution earns every autograded point. nbgrader's own
execution is tested on the untouched student versions (tests/test_autograde.py) and on whole
classes in the sandbox (tests/test_grader_class.py), so the solution need not run a third time.

One test class per lab: ``make test`` distributes by class (``--dist loadscope``), so the six
lab runs spread over both pytest workers while each lab's tests share its one run.
"""
import nbformat
import pytest

import labkit
import synthetic_class
from mistakes import all_variants

VARIANTS = all_variants()
_reports: dict = {}


def report_for(lab):
    if lab not in _reports:
        _reports[lab] = labkit.run_lab(lab, VARIANTS[lab])
    return _reports[lab]


def pytest_generate_tests(metafunc):
    if "variant" in metafunc.fixturenames:
        variants = VARIANTS[metafunc.cls.LAB]
        metafunc.parametrize("variant", variants, ids=[v.name.replace("::", ":") for v in variants])


def _code(source: str) -> str:
    """A cell's code without nbgrader's solution markers (the student's copy has none)."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")).strip()


class _LabSuite:
    LAB = ""

    def test_variant(self, variant):
        problems = labkit.check_report(report_for(self.LAB), [variant])
        assert problems == []

    def test_every_question_has_a_mistake_and_a_correct_variant(self):
        nb = nbformat.read(labkit.solution_path(self.LAB), as_version=4)
        questions = [labkit.cell_grade_id(c) for c in nb.cells
                     if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
        mistakes = {v.grade_id for v in VARIANTS[self.LAB] if not v.correct}
        correct = {v.grade_id for v in VARIANTS[self.LAB] if v.correct}
        assert [q for q in questions if q not in mistakes] == [], "questions without a plausible mistake"
        assert [q for q in questions if q not in correct] == [], "questions without another correct answer"

    def test_solution_run_gets_full_marks(self, tmp_path):
        """The owner records the suite's run of the solution as a submission: every autograded
        test earns its points, every written answer waits for a human, the integrity screen is quiet."""
        from nbgrader.api import Gradebook

        from grader.owner import Owner, Workspace
        from grader.worker import Outcome as JobOutcome

        lab = self.LAB
        report = report_for(lab)
        assert report.cell_errors == [], report.cell_errors
        ws = Workspace(tmp_path / "grading")
        owner = Owner(ws)
        name = labkit.solution_path(lab).name
        # the student's notebook with every answer filled in (the written ones too), as submitted
        student = synthetic_class.student_notebook(lab, synthetic_class.solved(lab))
        written = {labkit.cell_grade_id(c): c.source for c in report.executed.cells
                   if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")}
        for cell in student.cells:
            if cell.cell_type == "markdown" and labkit.cell_grade_id(cell) in written:
                cell.source = written[labkit.cell_grade_id(cell)]
        synthetic_class.write(student, ws.submitted / "solution" / lab / name)
        result, prepared = owner.prepare(lab, "solution")
        assert (result.status, result.problems, result.tampering, result.flags) == ("graded", [], [], [])
        assert [p.name for p in prepared] == [name]
        # what the grader would execute is what the suite ran: the same code, cell by cell
        nb = nbformat.read(prepared[0], as_version=4)
        ran = [c for c in report.executed.cells if c.cell_type == "code"]
        cells = [c for c in nb.cells if c.cell_type == "code"]
        assert [_code(c.source) for c in cells] == [_code(c.source) for c in ran]
        for cell, run in zip(cells, ran):
            cell.outputs, cell.execution_count = run.outputs, run.execution_count
        executed = nbformat.writes(nb).encode("utf-8")
        result = owner.finish(result, JobOutcome({name: executed}, [], 0.0, []))
        assert (result.status, result.problems) == ("graded", [])
        with Gradebook(ws.url) as gb:
            sub = gb.find_submission(lab, "solution")
            grades = [g for nb in sub.notebooks for g in nb.grades]
            auto = [(g.name, g.auto_score, g.max_score) for g in grades if g.cell_type == "code"]
            manual = [(g.name, g.needs_manual_grade) for g in grades if g.cell_type == "markdown"]
            score, top = sub.score, sub.max_score
        assert auto, "no autograded cells found"
        assert [(n, s, m) for n, s, m in auto if s != m] == [], f"{lab}: the solution loses points"
        assert top > 0 and score == sum(m for _, _, m in auto)
        assert sorted(name for name, _ in manual) == sorted(written)
        assert all(needs for _, needs in manual), f"{lab}: a written answer was scored without a human"


class TestLab01Data(_LabSuite):
    LAB = "lab01_data"


class TestLab02Cnn(_LabSuite):
    LAB = "lab02_cnn"


class TestLab03Training(_LabSuite):
    LAB = "lab03_training"


class TestLab04Evaluation(_LabSuite):
    LAB = "lab04_evaluation"


class TestLab05Augmentation(_LabSuite):
    LAB = "lab05_augmentation"


class TestLab06Fashion(_LabSuite):
    LAB = "lab06_fashion"


def test_every_lab_has_a_suite():
    assert sorted(cls.LAB for cls in _LabSuite.__subclasses__()) == sorted(VARIANTS)


def test_labkit_detects_an_accepted_mistake():
    """The checker itself can fail: a 'mistake' that is in fact right is reported."""
    fake = labkit.Variant("split", "not really a mistake",
                          "X_train, X_val, Y_train, Y_val = train_test_split(X_train, Y_train, test_size=0.1, random_state=2)")
    report = labkit.LabReport(outcomes={fake.name: labkit.Outcome("pass")})
    assert labkit.check_report(report, [fake]) == ["not really a mistake (split): a mistake is accepted"]
