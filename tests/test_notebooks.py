"""Single source: notebooks/ is what nbgrader generates from solutions/, and nothing leaks."""
import filecmp
import re

import nbformat
import pytest

from conftest import ROOT
from grader import course

SOURCES = sorted(ROOT.glob("solutions/*/*.ipynb"))
STUDENT = sorted(ROOT.glob("notebooks/*/*.ipynb"))
STORED = SOURCES + STUDENT


def nbmeta(cell):
    return cell.metadata.get("nbgrader", {})


def test_every_lab_has_a_student_version():
    assert SOURCES, "no solution notebooks found"
    assert [p.relative_to(ROOT / "solutions") for p in SOURCES] == \
        [p.relative_to(ROOT / "notebooks") for p in STUDENT]
    assert all(re.fullmatch(r"lab\d\d_[a-z0-9_]+", p.parent.name) for p in SOURCES)


@pytest.mark.parametrize("path", STORED, ids=lambda p: str(p.relative_to(ROOT)))
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert dirty == [], f"{path.name}: cells {dirty} carry outputs; clear them before committing"


def test_student_notebooks_are_current(tmp_path):
    """`make notebooks` would not change anything that is committed."""
    course.generate_student_notebooks(destination=tmp_path)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.glob("*/*.ipynb"))
    committed = sorted(p.relative_to(ROOT / "notebooks") for p in STUDENT)
    assert generated == committed
    stale = [str(p) for p in generated if not filecmp.cmp(tmp_path / p, ROOT / "notebooks" / p, shallow=False)]
    assert stale == [], f"run `make notebooks`: these student notebooks are out of date: {stale}"


def test_currency_check_can_fail(tmp_path):
    course.generate_student_notebooks(destination=tmp_path, lab_ids=[SOURCES[0].parent.name])
    target = next(tmp_path.glob("*/*.ipynb"))
    nb = nbformat.read(target, as_version=4)
    nb.cells[0].source += "\nedited by hand"
    nbformat.write(nb, target)
    assert not filecmp.cmp(target, ROOT / "notebooks" / target.relative_to(tmp_path), shallow=False)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.parent.name)
def test_student_version_hides_solutions(source):
    student_path = ROOT / "notebooks" / source.relative_to(ROOT / "solutions")
    src = nbformat.read(source, as_version=4)
    stu = nbformat.read(student_path, as_version=4)
    stu_by_id = {c.id: c for c in stu.cells}
    whole = student_path.read_text(encoding="utf-8")
    for marker in ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "参考答案"]:
        assert marker not in whole
    n_solutions = 0
    for cell in src.cells:
        meta = nbmeta(cell)
        if meta.get("solution"):
            n_solutions += 1
            student_cell = stu_by_id[cell.id]
            assert ">>>填写<<<" in student_cell.source, f"{cell.id}: no fill-in marker"
            if cell.cell_type == "code":
                assert "raise NotImplementedError()" in student_cell.source
                solution = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S).group(1)
                for line in filter(str.strip, solution.splitlines()):
                    assert line.strip() not in student_cell.source, f"{cell.id}: solution line leaked: {line}"
        hidden = re.search(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
        if hidden:
            for line in filter(str.strip, hidden.group(1).splitlines()):
                if "assert" in line:
                    assert line.strip() not in whole, f"hidden test leaked: {line}"
        if meta.get("locked") and not meta.get("solution"):
            assert stu_by_id[cell.id].metadata["nbgrader"].get("checksum"), "locked cells carry nbgrader checksums"
    assert 3 <= n_solutions <= 12


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.parent.name)
def test_every_fill_in_is_graded_and_instructed(source):
    nb = nbformat.read(source, as_version=4)
    ids = [nbmeta(c).get("grade_id") for c in nb.cells if nbmeta(c)]
    assert len(ids) == len(set(ids)), "grade ids must be unique"
    for i, cell in enumerate(nb.cells):
        if nbmeta(cell).get("solution") and cell.cell_type == "code":
            before = nb.cells[i - 1]
            assert before.cell_type == "markdown" and ">>>填写<<<" in before.source, \
                f"{cell.id}: the instruction must stand in the markdown cell above"
            later_tests = [c for c in nb.cells[i + 1:] if nbmeta(c).get("grade") and not nbmeta(c).get("solution")]
            assert later_tests, f"{cell.id}: no test cell after this fill-in"
    assert nb.metadata.kernelspec.name == "cnn-course"


OPT_IN = {  # lab -> what its TRAIN_HERE branch prints when it trains (lab 4: the model; lab 6: the recipe demo)
    "lab04_evaluation": "在这里训练了 4 个周期",
    "lab06_fashion": "推荐网络在这里训练 2 个周期后的验证准确率",
}


@pytest.mark.parametrize("lab", sorted(OPT_IN))
def test_opt_in_training_runs(lab):
    """Labs 4 and 6 load shipped results by default; a student who sets TRAIN_HERE = True gets a notebook
    that trains and still runs to the end (its later cells and tests use what it trained)."""
    from nbclient import NotebookClient

    path = ROOT / "solutions" / lab / f"{lab}.ipynb"
    nb = nbformat.read(path, as_version=4)
    switched = [c for c in nb.cells if c.cell_type == "code" and "TRAIN_HERE = False" in c.source]
    assert len(switched) == 1, f"{lab}: expected one TRAIN_HERE = False switch"
    switched[0].source = switched[0].source.replace("TRAIN_HERE = False", "TRAIN_HERE = True")
    NotebookClient(nb, timeout=600, kernel_name=nb.metadata.kernelspec.name,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    printed = "".join(o.get("text", "") for o in switched[0].outputs if o.get("output_type") == "stream")
    assert OPT_IN[lab] in printed, printed
