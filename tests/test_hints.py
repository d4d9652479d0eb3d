"""Hints on demand and the "not attempted" state (utils/hints, grader/attempt.py).

* every autograded code question of every lab has 1–2 hints, and no hint gives the code away;
* every test cell starts with ``answered("<id>", <names its solution cell defines>)``;
* the untouched student notebook's first test stops with ``NotAttempted`` ("还没作答") in a real
  kernel, and ``hint()`` shows its text there;
* ``hint()`` cycles through the hints and answers in Chinese for an unknown id;
* the grader tells not attempted from wrong and from errors (grader/attempt.py; the class report
  is checked in tests/test_grader_class.py).
"""
import ast
import builtins
import re

import nbformat
import pytest

from conftest import ROOT
from grader import attempt, integrity
from utils import hints

SOURCES = sorted(ROOT.glob("solutions/*/*.ipynb"))
SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)


def _meta(cell):
    return cell.metadata.get("nbgrader", {})


def questions(path):
    """(grade id, solution code, instruction markdown, test cell) of every autograded code question."""
    nb = nbformat.read(path, as_version=4)
    tests = {_meta(c).get("grade_id"): c for c in nb.cells if _meta(c).get("grade") and not _meta(c).get("solution")}
    found = []
    for i, cell in enumerate(nb.cells):
        gid = _meta(cell).get("grade_id")
        if cell.cell_type == "code" and _meta(cell).get("solution") and f"{gid}_tests" in tests:
            markdown = next(c.source for c in reversed(nb.cells[:i]) if c.cell_type == "markdown")
            found.append((gid, SOLUTION.search(cell.source).group(1), markdown, tests[f"{gid}_tests"]))
    return found


QUESTIONS = [(p.parent.name, *q) for p in SOURCES for q in questions(p)]
IDS = [f"{lab}-{q[0]}" for lab, *q in QUESTIONS]


def test_every_lab_has_hints_for_exactly_its_questions():
    for path in SOURCES:
        lab = path.parent.name
        assert sorted(hints.texts(lab)) == sorted(q[0] for q in questions(path)), lab


def _called(code):
    """Names the solution calls that are specific to it (attributes and non-builtin functions)."""
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Attribute):
                names.add(f.attr)
            elif isinstance(f, ast.Name) and not hasattr(builtins, f.id):
                names.add(f.id)
    return names


@pytest.mark.parametrize("lab, gid, solution, markdown, test", QUESTIONS, ids=IDS)
def test_hints_point_at_the_concept_not_the_code(lab, gid, solution, markdown, test):
    items = hints.texts(lab)[gid]
    assert 1 <= len(items) <= 2 and all(isinstance(t, str) and len(t) >= 10 for t in items)
    text = "\n".join(items)
    for line in solution.splitlines():
        if len(line.strip()) >= 12:
            assert line.strip() not in text, f"{gid}: a hint contains the solution line {line.strip()!r}"
    for name in _called(solution):
        if not re.search(rf"\b{re.escape(name)}\b", markdown):
            assert not re.search(rf"\b{re.escape(name)}\b", text), \
                f"{gid}: a hint names `{name}`, which the solution calls and the instruction does not give"


def _assigned(code):
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


@pytest.mark.parametrize("lab, gid, solution, markdown, test", QUESTIONS, ids=IDS)
def test_every_test_cell_starts_with_answered(lab, gid, solution, markdown, test):
    first = ast.parse(test.source).body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Call) \
        and getattr(first.value.func, "id", None) == "answered", f"{gid}_tests must start with answered(...)"
    args = [ast.literal_eval(a) for a in first.value.args]
    assert args[0] == gid and len(args) >= 2
    assert set(args[1:]) <= _assigned(solution), f"{gid}_tests: answered() names what the solution does not define"
    assert f'hint("{gid}")' in markdown, f"{gid}: the instruction should say hint({gid!r})"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.parent.name)
def test_first_cell_imports_hints(path):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "from utils import data as course_data\nfrom utils.hints import answered, hint\n" in first.source
    intro = "\n".join(c.source for c in nb.cells[:nb.cells.index(first)])
    assert "hint(" in intro and "不扣分" in intro


def test_hint_cycles_and_answers_in_chinese():
    hints._shown.clear()
    lab = "lab01_data"
    items = hints.texts(lab)["load_data"]
    shown = [repr(hints.hint("load_data", lab=lab)) for _ in range(len(items) + 1)]
    assert shown[0].startswith(f"提示 1/{len(items)}") and items[0] in shown[0] and "不扣分" in shown[0]
    assert shown[-1] == shown[0]                        # after the last one, the first again
    assert items[-1] in shown[len(items) - 1] and "最后一条" in shown[len(items) - 1]
    assert "**提示 2/" in hints.hint("load_data", 2, lab=lab)._repr_markdown_()
    with pytest.raises(KeyError, match="没有叫 “no_such_question” 的题目"):
        hints.hint("no_such_question", lab=lab)
    with pytest.raises(ValueError, match="只有"):
        hints.hint("load_data", 9, lab=lab)
    with pytest.raises(ValueError, match="几个实验"):          # lab 3 and lab 5 both have reduce_lr
        hints.hint("reduce_lr")
    assert "patience" in repr(hints.hint("reduce_lr", 2, lab="lab03_training"))


def test_answered():
    namespace = {"answered": hints.answered, "x": 1}
    exec("answered('q', 'x')", namespace)
    exec("answered('q', 'x', 'y')", namespace)      # partly answered: the test itself says what is missing
    with pytest.raises(hints.NotAttempted, match="还没作答：`y`、`z` 还没有定义") as info:
        exec("answered('q', 'y', 'z')", namespace)
    assert isinstance(info.value, AssertionError) and "hint('q')" in str(info.value)


def test_untouched_student_notebook_says_not_attempted():
    """Run the whole untouched student notebook of lab 1 in the course kernel (a few seconds: the
    stubs train nothing): every test cell stops with NotAttempted, none with a NameError or a
    wrong-answer message, including those whose names exist before the question (normalize)."""
    from nbclient import NotebookClient

    path = ROOT / "notebooks" / "lab01_data" / "lab01_data.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert all(attempt.is_stub(c.source) for c in nb.cells if _meta(c).get("solution") and c.cell_type == "code")
    by_id = {_meta(c).get("grade_id"): c for c in nb.cells}
    # then, as if the earlier questions had been answered: normalize changes names that exist
    nb.cells += [nbformat.v4.new_code_cell(source) for source in
                 ["X_train = X_test = pd.DataFrame(np.full((2, 784), 255.0))", by_id["normalize"].source,
                  by_id["normalize_tests"].source, 'hint("load_data")']]
    NotebookClient(nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}).execute()
    tests = {_meta(c)["grade_id"]: c for c in nb.cells if _meta(c).get("grade") and c.cell_type == "code"}
    assert len(tests) == 9
    for gid, cell in tests.items():
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert [e.ename for e in errors] == ["NotAttempted"], (gid, [(e.ename, e.evalue) for e in errors])
        assert errors[0].evalue.startswith("还没作答") and f"hint({gid[:-6]!r})" in errors[0].evalue
    assert "`train`、`test` 还没有定义" in tests["load_data_tests"].outputs[-1].evalue
    again = [o for o in nb.cells[-2].outputs if o.output_type == "error"]
    assert [e.ename for e in again] == ["NotAttempted"] and "还是原样" in again[0].evalue, again
    shown = nb.cells[-1].outputs[0].data["text/markdown"]
    assert "提示 1/" in shown and hints.texts("lab01_data")["load_data"][0] in shown
    assert set(attempt.statuses(nb).values()) == {attempt.NOT_ATTEMPTED}


def test_answered_after_an_answer_and_after_a_stub():
    namespace = {"answered": hints.answered, "x": 1, "_ih": ["", "x = 2", "answered('q', 'x')"]}
    exec("answered('q', 'x')", namespace)
    namespace["_ih"][1] = "# >>>填写<<<\nraise NotImplementedError()\n"
    with pytest.raises(hints.NotAttempted, match="还是原样"):
        exec("answered('q', 'x')", namespace)


def _executed(solution, error=None):
    stub = nbformat.v4.new_code_cell(solution, metadata={"nbgrader": {"grade_id": "q", "solution": True}})
    test = nbformat.v4.new_code_cell("answered('q', 'x')\nassert x == 1",
                                     metadata={"nbgrader": {"grade_id": "q_tests", "grade": True, "points": 1}})
    if error:
        test.outputs = [nbformat.v4.new_output("error", ename=error, evalue="…", traceback=[])]
    return attempt.statuses(nbformat.v4.new_notebook(cells=[stub, test]))["q_tests"]


def test_statuses():
    stub = "# >>>填写<<<\nraise NotImplementedError()"
    assert _executed(stub, "NotAttempted") == attempt.NOT_ATTEMPTED
    assert _executed(stub, "AssertionError") == attempt.NOT_ATTEMPTED      # names existed before: the stub says it
    assert _executed("# 想一想\n\n", "NameError") == attempt.NOT_ATTEMPTED   # emptied the cell
    assert _executed('raise NotImplementedError("还没作答")', "AssertionError") == attempt.NOT_ATTEMPTED
    assert _executed("x = 2", "AssertionError") == attempt.WRONG
    assert _executed("x = 2", "NotAttempted") == attempt.WRONG          # wrote code, defined none of the names
    assert _executed("x = y", "NameError") == attempt.ERROR
    assert _executed("x = 1") == attempt.PASSED
    assert _executed("x = 1\nraise NotImplementedError()", "AssertionError") == attempt.WRONG   # x = 1 ran
    assert _executed(stub + "\nprint(x)", "AssertionError") == attempt.NOT_ATTEMPTED  # lines kept after the stub


def test_integrity_screen_leaves_hints_alone():
    """The course's own imports and a student's hint() call are not flagged."""
    modules = {"np": "numpy", "course_data": "utils.data", "hint": "utils.hints", "answered": "utils.hints"}
    for code in ['hint("load_data")', 'hint("load_data", 2)', "from utils.hints import answered, hint",
                 'answered("load_data", "train")']:
        assert integrity.screen_source(code, modules) == [], code
    source = nbformat.read(SOURCES[0], as_version=4)
    assert ("hint", "utils.hints", "hint") in integrity.locked_bindings(source)   # watched by the guard
