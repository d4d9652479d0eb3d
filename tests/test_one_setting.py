"""Validate ≡ grade: a notebook runs with the same settings wherever it runs.

There is no grading mode. The student's own run, Validate (nbgrader's ``Validator``, which
sets ``NBGRADER_EXECUTION=validate``), nbval, the mistake suite and the grader (which sets
``NBGRADER_EXECUTION=autograde`` and its own kernel environment) must all train the same
epochs and see the same data, so a check that passes at Validate passes at grading.

1. No course code and no notebook reads a variable that differs between those contexts.
2. The grader's kernel environment sets no course switch (``CNN_COURSE_*``).
3. One real check: Validate and the grader agree, cell by cell, on a few lab-1 submissions
   (lab 1 trains nothing, so this costs seconds).
"""
import ast
import json
import re

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.validator import Validator

import synthetic_class as sc
from conftest import ROOT
from grader import course, sandbox
from grader.__main__ import main
from grader.grading import Workspace, autograde
from grader.sandbox import Limits

# Environment variables that differ between Validate, grading and the student's own kernel.
CONTEXT_VARIABLES = ("CNN_COURSE_FAST", "NBGRADER_EXECUTION", "NBGRADER_VALIDATING")
# The only variables course code (utils/) may read, and why they are the same in every context:
# CNN_COURSE_FULL is the student's own choice (the grader never sets it); KERAS_HOME and
# CNN_COURSE_KAGGLE_DIR only say where datasets are cached.
ALLOWED_READS = {"CNN_COURSE_FULL", "KERAS_HOME"}
NOTEBOOKS = sorted((ROOT / "solutions").glob("*/*.ipynb")) + sorted((ROOT / "notebooks").glob("*/*.ipynb"))


def _environment_reads(tree: ast.AST, constants: dict) -> list[str]:
    """Names of environment variables read in ``tree`` (os.environ[...] / .get / os.getenv)."""
    found = []
    # settings._flag(name) reads its argument: its callers are scanned instead
    inside_flag = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "_flag"
                   for n in ast.walk(f)}
    for node in ast.walk(tree):
        arg = None
        if id(node) in inside_flag:
            continue
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            arg = node.slice
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in {"os.environ.get", "os.getenv",
                                                                        "os.environ.setdefault"}:
            arg = node.args[0] if node.args else None
        elif isinstance(node, ast.Call) and ast.unparse(node.func) == "_flag" and node.args:
            arg = node.args[0]
        if arg is None:
            continue
        if isinstance(arg, ast.Constant):
            found.append(arg.value)
        elif isinstance(arg, ast.Name):
            found.append(constants.get(arg.id, f"<{arg.id}>"))
        else:
            found.append(f"<{ast.unparse(arg)}>")
    return found


def _module_constants(tree: ast.AST) -> dict:
    return {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
            for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant)}


def test_course_code_reads_no_context_variable():
    reads = {}
    for path in sorted((ROOT / "utils").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in _environment_reads(tree, _module_constants(tree)):
            reads.setdefault(name, []).append(path.name)
    assert set(reads) <= ALLOWED_READS | {"CNN_COURSE_KAGGLE_DIR"}, f"utils/ reads {reads}"
    text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "utils").glob("*.py"))
    assert not [v for v in CONTEXT_VARIABLES if v in text]


def test_environment_scan_can_fail():
    tree = ast.parse("import os\nA = 'CNN_COURSE_FAST'\nos.environ.get(A)\nos.environ['NBGRADER_EXECUTION']\n"
                     "os.getenv('X', '1')")
    assert _environment_reads(tree, _module_constants(tree)) == ["CNN_COURSE_FAST", "NBGRADER_EXECUTION", "X"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_notebook_reads_no_environment(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        assert not [v for v in CONTEXT_VARIABLES if v in cell.source], f"cell {i} names a context variable"
        assert "评分模式" not in cell.source, f"cell {i} talks about a grading mode"
        if cell.cell_type == "code":
            source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            assert not _environment_reads(ast.parse(source), {}), f"cell {i} reads the environment"
            assert not re.search(r"\benviron\b|\bgetenv\b", source), f"cell {i} reads the environment"


def test_grading_kernel_sets_no_course_switch(tmp_path):
    env = sandbox.kernel_env(tmp_path)
    assert [k for k in env if k.startswith("CNN_COURSE_")] == []
    # NBGRADER_EXECUTION is set exactly as `nbgrader autograde` sets it; no course code reads it (above)
    assert env.get("NBGRADER_EXECUTION") == "autograde"
    assert [k for k in env if k in CONTEXT_VARIABLES and k != "NBGRADER_EXECUTION"] == []


# ----------------------------------------------------------------------------- Validate vs grade
LAB = "lab01_data"
# submissions: correct answers, other correct answers, and mistakes the tests catch
SUBMISSIONS = {
    "correct": {},
    "mixed": {"load_data": "load: compression given explicitly", "missing_values": "nulls: isna and numpy bool",
              "first_label": "first label: argmax then item",
              "split": "split: another seed", "one_hot": "one-hot: test labels left as digits"},
}


def _submission(names: dict):
    by_name = {v.name: v for v in sc.variants(LAB)}
    return sc.student_notebook(LAB, sc.solved(LAB, **{gid: by_name[n].code for gid, n in names.items()}))


def _failed_test_cells(nb, failed: list[dict]) -> list[str]:
    """Grade ids of the autograded (code) cells Validate reports as failed; the unanswered
    written answer (a markdown cell, graded by a human) is left out."""
    sources = {c["source"] for c in failed}
    return sorted(c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                  if c.cell_type == "code" and c.source.strip() in sources)


@pytest.fixture(scope="module")
def validate_and_grade(tmp_path_factory):
    base = tmp_path_factory.mktemp("validate")
    course.ensure_tools_on_path()
    validator = Validator(config=course.load_config())
    validated = {}
    for student, names in SUBMISSIONS.items():
        nb = _submission(names)
        path = sc.write(nb, base / "export" / student / f"{student}_{LAB}.ipynb")
        result = validator.validate(str(path))
        assert set(result) <= {"failed"}, result
        validated[student] = _failed_test_cells(nb, result.get("failed", []))
    ws = Workspace(root=base / "ws")
    assert main(["collect", str(base / "export"), "--workspace", str(ws.root)]) == 0
    unsafe = sandbox.bwrap_path() is None
    results = autograde(ws, labs=[LAB], workers=2, limits=Limits(cell_timeout=120), unsafe=unsafe, progress=False)
    assert sorted(r.student for r in results) == sorted(SUBMISSIONS)
    graded = {}
    with Gradebook(ws.url) as gb:
        for student in SUBMISSIONS:
            sub = gb.find_submission(LAB, student)
            graded[student] = sorted(g.name for nb in sub.notebooks for g in nb.grades
                                     if g.cell_type == "code" and g.score < g.max_score)
    return validated, graded


@pytest.mark.parametrize("student", sorted(SUBMISSIONS))
def test_validate_and_grader_agree(validate_and_grade, student):
    validated, graded = validate_and_grade
    assert validated[student] == graded[student]


def test_validate_and_grader_see_the_mistakes(validate_and_grade):
    validated, _ = validate_and_grade
    # the agreement above is not vacuous: Validate does fail the mistakes, and only them
    assert json.dumps(validated, sort_keys=True) == json.dumps(
        {"correct": [], "mixed": ["one_hot_tests", "split_tests"]}, sort_keys=True)
