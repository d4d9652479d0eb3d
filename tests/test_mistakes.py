"""Every graded question rejects plausible mistakes and accepts other correct answers.

Each lab's solution runs once (tests/labkit.py); the variants live in tests/mistakes/.
"""
import pytest

import labkit
from mistakes import all_variants

VARIANTS = all_variants()
CASES = [(lab, v) for lab, vs in VARIANTS.items() for v in vs]
_reports: dict = {}


def report_for(lab):
    if lab not in _reports:
        _reports[lab] = labkit.run_lab(lab, VARIANTS[lab])
    return _reports[lab]


@pytest.mark.parametrize("lab,variant", CASES, ids=[f"{lab}:{v.name}" for lab, v in CASES])
def test_variant(lab, variant):
    problems = labkit.check_report(report_for(lab), [variant])
    assert problems == []


@pytest.mark.parametrize("lab", sorted(VARIANTS))
def test_every_question_has_a_mistake_and_a_correct_variant(lab):
    import nbformat

    nb = nbformat.read(labkit.solution_path(lab), as_version=4)
    questions = [labkit.cell_grade_id(c) for c in nb.cells
                 if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    mistakes = {v.grade_id for v in VARIANTS[lab] if not v.correct}
    correct = {v.grade_id for v in VARIANTS[lab] if v.correct}
    assert [q for q in questions if q not in mistakes] == [], "questions without a plausible mistake"
    assert [q for q in questions if q not in correct] == [], "questions without another correct answer"


def test_labkit_detects_an_accepted_mistake():
    """The checker itself can fail: a 'mistake' that is in fact right is reported."""
    fake = labkit.Variant("split", "not really a mistake",
                          "X_train, X_val, Y_train, Y_val = train_test_split(X_train, Y_train, test_size=0.1, random_state=2)")
    report = labkit.LabReport(outcomes={fake.name: labkit.Outcome("pass")})
    assert labkit.check_report(report, [fake]) == ["not really a mistake (split): a mistake is accepted"]
