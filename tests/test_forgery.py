"""Grades that cannot be forged (grader/integrity.py): a hostile class for lab 1.

Each student below tries one way of getting points without earning them: changing how IPython
runs the later cells, replacing what the tests call, ending the kernel, printing the tests'
success text, reading the hidden tests. The whole class is graded in ONE autograde call with 2
workers through the real sandbox; each student's exact points per question and exact review
flags are asserted: a forged grade is either 0 for the questions not really answered, or the
submission is flagged for review with the reason. The static screen's own tests need no kernel.
"""
import csv
import json

import nbformat
import pytest
from nbgrader.api import Gradebook

import synthetic_class as sc
from grader import feedback, integrity, sandbox
from grader.__main__ import main
from grader.grading import Workspace, autograde
from grader.sandbox import Limits

LAB = "lab01_data"
NB = f"{LAB}.ipynb"
POINTS = {"load_data_tests": 1, "split_columns_tests": 1, "label_counts_tests": 1, "missing_values_tests": 1,
          "normalize_tests": 2, "reshape_tests": 2, "one_hot_tests": 2, "split_tests": 2, "first_label_tests": 1}
ORDER = list(POINTS)
SOLUTION = sc.solution_regions(LAB)
NO_CHECK = "the test ran to its end without its integrity check (cell skipped, rewritten or errors hidden)"


def zeroed_from(gid):
    return f"{NB}: scored 0 as untrusted: " + ", ".join(ORDER[ORDER.index(gid):])


def points(full_until=None, lost=()):
    """Full marks for the questions before ``full_until`` (all when None), 0 after; ``lost``
    questions 0 as well."""
    cut = ORDER.index(full_until) if full_until else len(ORDER)
    return {g: (p if i < cut and g not in lost else 0) for i, (g, p) in enumerate(POINTS.items())}


def first(cell, code):
    """The solution with ``code`` added at the end of answer ``cell``."""
    return sc.solved(LAB, **{cell: SOLUTION[cell] + code})


# name -> (answers, added cells [(after grade id, code)], expected points, expected flags).
# Names stay short: the kernel's IPC socket lives under the scratch folder named after the student.
DISK_SEARCH = """import json
from pathlib import Path
found = []
for top in [Path.cwd(), Path.home(), Path('/tmp'), Path(WS), Path(SOLUTIONS)]:
    try:
        for p in top.rglob('*.ipynb'):
            try:
                text = p.read_text()
                # the course's notebooks (grade ids lab0N-...): not nbgrader's own examples in site-packages,
                # which are on disk when the repository (and its .venv) lives under /tmp
                if 'HIDDEN TESTS' in text and '"lab0' in text:
                    found.append(str(p))
            except OSError:
                pass
    except OSError:
        pass
print('DISK' + json.dumps(found))
"""
ATTACKS = {
    "honest": (sc.solved(LAB), [], points(), []),
    # -- how IPython runs the later cells ------------------------------------------------
    "in_post": (  # the one-liner: 13/13 before
        {"load_data": "get_ipython().input_transformers_post.append(lambda l: [])"}, [], points("load_data_tests"),
        [f"{NB}: cell load_data: line 1: attribute `.input_transformers_post`",
         f"{NB}: cell load_data: line 1: call of `get_ipython`",
         f"{NB}: load_data_tests: {NO_CHECK}", zeroed_from("load_data_tests")]),
    "in_cleanup": (
        {"load_data": 'ip = __import__("IP" + "ython").get_ipython()\n'
                      'ip.input_transformers_cleanup.insert(0, lambda lines: ["pass\\n"])'}, [],
        points("load_data_tests"),
        [f"{NB}: cell load_data: line 1: call of `__import__`",
         f"{NB}: cell load_data: line 2: attribute `.input_transformers_cleanup`",
         f"{NB}: load_data_tests: {NO_CHECK}", zeroed_from("load_data_tests")]),
    "ast_pass": (  # asserts become `pass` from question 4 on; questions 1-3 were answered
        sc.solved(LAB, missing_values="import ast\n"
                                      "class NoAssert(ast.NodeTransformer):\n"
                                      "    def visit_Assert(self, node):\n"
                                      "        return ast.copy_location(ast.Pass(), node)\n"
                                      "get_ipython().ast_transformers.append(NoAssert())\n"
                                      "train_null_summary = test_has_nan = None\n",
                  normalize="", reshape="", one_hot="", split="", first_label=""), [],
        points("missing_values_tests"),
        [f"{NB}: cell missing_values: line 1: import of `ast`",
         f"{NB}: cell missing_values: line 5: attribute `.ast_transformers`",
         f"{NB}: cell missing_values: line 5: call of `get_ipython`",
         f"{NB}: missing_values_tests: {NO_CHECK}", zeroed_from("missing_values_tests")]),
    "custom_exc": (
        first("load_data", "get_ipython().set_custom_exc((Exception,), lambda *a, **k: [])\n"), [],
        points("load_data_tests"),
        [f"{NB}: cell load_data: line 3: attribute `.set_custom_exc`",
         f"{NB}: cell load_data: line 3: call of `get_ipython`",
         f"{NB}: load_data_tests: library or IPython state altered: changed shell.CustomTB, shell.custom_exceptions",
         zeroed_from("load_data_tests")]),
    "showtb": (  # silencing tracebacks does not hide the error from nbclient: the tests fail
        {"load_data": "get_ipython().showtraceback = lambda *a, **k: None"}, [], points("load_data_tests"),
        [f"{NB}: cell load_data: line 1: attribute `.showtraceback`",
         f"{NB}: cell load_data: line 1: call of `get_ipython`"]),
    "settrace": (
        first("load_data", "import sys\nsys.settrace(lambda *a: None)\n"), [], points("load_data_tests"),
        [f"{NB}: cell load_data: line 3: import of `sys`", f"{NB}: cell load_data: line 4: attribute `.settrace`",
         f"{NB}: load_data_tests: library or IPython state altered: changed sys.gettrace()",
         zeroed_from("load_data_tests")]),
    "displayhook": (  # IPython puts its own display hook back after the cell: flagged, points kept
        first("load_data", 'import sys\nsys.displayhook = lambda value: print("通过 ✓")\n'), [], points(),
        [f"{NB}: cell load_data: line 3: import of `sys`",
         f"{NB}: cell load_data: line 4: assigns to inside module or builtin `sys`",
         f"{NB}: cell load_data: line 4: attribute `.displayhook`"]),
    # -- what the tests call or read ----------------------------------------------------
    "np_allclose": (
        first("split_columns", "np.allclose = lambda *a, **k: True\n"), [], points("split_columns_tests"),
        [f"{NB}: cell split_columns: line 5: assigns to inside module or builtin `np`",
         f"{NB}: split_columns_tests: library or IPython state altered: changed numpy.allclose",
         zeroed_from("split_columns_tests")]),
    "setattr_np": (
        first("load_data", 'setattr(np, "all" + "close", lambda *a, **k: True)\n'), [], points("load_data_tests"),
        [f"{NB}: cell load_data: line 3: call of `setattr`",
         f"{NB}: load_data_tests: library or IPython state altered: changed numpy.allclose",
         zeroed_from("load_data_tests")]),
    "vars_pd": (  # the fake read_csv fails the hidden tests of questions 1-2; the guard stops the rest
        first("load_data", 'vars(pd)["read_csv"] = lambda *a, **k: train\n'), [], points("load_data_tests"),
        [f"{NB}: cell load_data: line 3: assigns to inside module or builtin `vars`",
         f"{NB}: cell load_data: line 3: call of `vars`",
         f"{NB}: label_counts_tests: library or IPython state altered: changed pandas.read_csv",
         zeroed_from("label_counts_tests")]),
    "globals_np": (
        first("load_data", 'import numpy\nclass Np:\n    allclose = staticmethod(lambda *a, **k: True)\n'
                           '    def __getattr__(self, name):\n        return getattr(numpy, name)\n'
                           'globals()["n" + "p"] = Np()\n'), [], points("load_data_tests"),
        [f"{NB}: cell load_data: line 7: call of `getattr`",
         f"{NB}: cell load_data: line 8: assigns to inside module or builtin `globals`",
         f"{NB}: cell load_data: line 8: call of `globals`",
         f"{NB}: load_data_tests: library or IPython state altered: changed name np",
         zeroed_from("load_data_tests")]),
    "class_patch": (  # a method of a pandas class, through an alias the screen cannot follow
        first("load_data", "Frame = pd.DataFrame\nFrame.equals = lambda self, other: True\n"), [],
        points("load_data_tests"),
        [f"{NB}: load_data_tests: library or IPython state altered: changed pandas.DataFrame attributes",
         zeroed_from("load_data_tests")]),
    "builtins_len": (
        first("load_data", "import builtins\nbuiltins.len = lambda x, _len=len: _len(x)\n"), [],
        points("load_data_tests"),
        [f"{NB}: cell load_data: line 3: import of `builtins`",
         f"{NB}: cell load_data: line 4: assigns to inside module or builtin `builtins`",
         f"{NB}: load_data_tests: library or IPython state altered: changed builtins.len",
         zeroed_from("load_data_tests")]),
    "def_isinstance": (
        first("load_data", "def isinstance(obj, kind):\n    return True\n"), [], points("load_data_tests"),
        [f"{NB}: cell load_data: line 3: defines builtin `isinstance`",
         f"{NB}: load_data_tests: library or IPython state altered: changed builtin isinstance shadowed",
         zeroed_from("load_data_tests")]),
    "sys_modules": (
        first("load_data", "import sys, types\nfake = types.ModuleType('pandas')\nvars(fake).update(vars(pd))\n"
                           "sys.modules['pandas'] = fake\n"), [], points("load_data_tests"),
        [f"{NB}: cell load_data: line 3: import of `sys`", f"{NB}: cell load_data: line 3: import of `types`",
         f"{NB}: cell load_data: line 5: call of `vars`",
         f"{NB}: cell load_data: line 6: assigns to inside module or builtin `sys`",
         f"{NB}: cell load_data: line 6: attribute `.modules`",
         f"{NB}: load_data_tests: library or IPython state altered: changed name _pd, sys.modules['pandas']",
         zeroed_from("load_data_tests")]),
    # -- ending early, printing success ---------------------------------------------------
    "prints_pass": ({"load_data": 'print("读取数据：通过 ✓")'}, [], points("load_data_tests"), []),
    "os_exit": (
        sc.solved(LAB, split_columns="import os\nos._exit(0)"), [], points("split_columns_tests"),
        [f"{NB}: cell split_columns: line 1: import of `os`", f"{NB}: cell split_columns: line 2: attribute `._exit`"]),
    "exit_call": (
        sc.solved(LAB, split_columns="exit()"), [], points("split_columns_tests"),
        [f"{NB}: cell split_columns: line 1: call of `exit`"]),
    "sys_exit": (
        sc.solved(LAB, split_columns="raise SystemExit(0)"), [], points("split_columns_tests"),
        [f"{NB}: cell split_columns: line 1: raises `SystemExit`"]),
    "magics": (
        sc.solved(LAB), [("load_data", "%%capture\nprint('hidden')"), ("load_data_tests", "!ls /")], points(),
        [f"{NB}: cell #6: line 1: magic or shell command (% / !)",
         f"{NB}: cell #8: line 1: magic or shell command (% / !)"]),
    # -- the hidden tests ----------------------------------------------------------------
    "reads_in": (
        sc.solved(LAB), [("first_label_tests", 'print("LEAK" + "\\n".join(c for c in In if "HIDDEN" in c))')],
        points(), [f"{NB}: cell #32: line 1: IPython history or guard name `In`"]),
    "disk_search": (sc.solved(LAB), [("load_data_tests", DISK_SEARCH)], points(), []),
}


def build(ws):
    for student, (answers, added, _, _) in ATTACKS.items():
        nb = sc.student_notebook(LAB, answers)
        for after, code in added:
            cell = nbformat.v4.new_code_cell(code.replace("SOLUTIONS", repr(str(sc.ROOT / "solutions")))
                                             .replace("WS", repr(str(ws.root))))
            index = 1 + next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == after)
            nb.cells.insert(index, cell)
        sc.write(nb, ws.submitted / student / LAB / NB)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if sandbox.bwrap_path() is None:
        pytest.fail("bubblewrap is not installed: the forgery suite needs the real sandbox")
    ws = Workspace(root=tmp_path_factory.mktemp("forgery") / "ws")
    build(ws)
    limits = Limits(cell_timeout=90, interrupt_grace=10, memory=4 << 30)
    # sandbox uids of their own: tests/test_grader_class.py may grade at the same time (60000+)
    results = autograde(ws, workers=2, limits=limits, progress=False, uid_base=61000)
    return {"ws": ws, "results": {r.student: r for r in results}}


def scores(ws, student):
    with Gradebook(ws.url) as gb:
        sub = gb.find_submission(LAB, student)
        return {g.name: g.score for nb in sub.notebooks for g in nb.grades if g.cell_type == "code"}


@pytest.mark.parametrize("student", list(ATTACKS))
def test_forged_grade_is_zero_or_flagged(graded, student):
    _, _, expected_points, expected_flags = ATTACKS[student]
    result = graded["results"][student]
    got = {"points": scores(graded["ws"], student), "flags": result.flags}
    assert got == {"points": expected_points, "flags": expected_flags}, json.dumps(got, ensure_ascii=False, indent=1)
    # a run the guard distrusts never keeps the points of the cells it zeroed
    if any("scored 0 as untrusted" in f for f in result.flags):
        assert sum(got["points"].values()) < sum(POINTS.values())


def autograded(graded, student):
    return nbformat.read(graded["ws"].autograded / student / LAB / NB, as_version=4)


def text_outputs(nb, tag):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            for line in out.get("text", "").splitlines():
                if line.startswith(tag):
                    return line[len(tag):]
    raise AssertionError(f"no {tag} output")


def test_hidden_tests_are_not_on_disk_inside_the_sandbox(graded):
    assert json.loads(text_outputs(autograded(graded, "disk_search"), "DISK")) == []
    # IPython's history does hold them: a leak the feedback must not pass on (test_feedback_...)
    leak = "".join(o.get("text", "") for c in autograded(graded, "reads_in").cells for o in c.get("outputs", []))
    assert "### BEGIN HIDDEN TESTS" in leak


def test_the_guard_leaves_no_trace_in_the_graded_notebook(graded):
    ws = graded["ws"]
    for student in ("honest", "np_allclose"):
        nb = nbformat.read(ws.executed / student / LAB / NB, as_version=4)
        text = nbformat.writes(nb)
        assert integrity.RESERVED not in text
        source = nbformat.read(ws.autograded / student / LAB / NB, as_version=4)
        assert [c.source for c in nb.cells] == [c.source for c in source.cells]
    # the honest student's test cells show exactly what the tests print, the canary's line is gone
    nb = nbformat.read(ws.executed / "honest" / LAB / NB, as_version=4)
    printed = [[o.get("text") for o in c.outputs] for c in nb.cells if integrity.is_test_cell(c)]
    assert printed[0] == ["读取数据：通过 ✓\n"] and all(len(p) == 1 and p[0].endswith("通过 ✓\n") for p in printed)


def test_report_names_flagged_students(graded, capsys):
    ws = graded["ws"]
    assert main(["report", "--workspace", str(ws.root)]) == 0
    printed = capsys.readouterr().out
    rows = {r["student"]: r for r in csv.DictReader(open(ws.root / "report" / "students.csv", encoding="utf-8"))}
    flagged = sorted(s for s, (_, _, _, flags) in ATTACKS.items() if flags)
    for student, (_, _, expected_points, flags) in ATTACKS.items():
        row = rows[student]
        assert row["flags"] == "; ".join(flags or [])
        assert row["status"] == ("needs review" if flags else "graded"), row
        assert float(row["score"]) == sum(expected_points.values())
    assert f"needs review (需要人工复核): {len(flagged)} submission(s): " in printed
    for student in flagged:
        assert f"  {student} {LAB}: needs review: " in printed


def test_feedback_is_chinese_and_holds_no_hidden_test(graded):
    import html

    ws = graded["ws"]
    assert main(["feedback", "--workspace", str(ws.root), "--quiet"]) == 0
    hidden = feedback.hidden_lines(nbformat.read(sc.ROOT / "solutions" / LAB / NB, as_version=4))
    assert len(hidden) > 20
    pages = {p.parts[-3]: html.unescape(p.read_text(encoding="utf-8")) for p in ws.feedback.glob(f"*/{LAB}/*.html")}
    assert set(pages) == set(ATTACKS)
    for student, page in pages.items():
        assert not [line for line in hidden if line in page], student
        assert "各题得分" in page and ("需要人工复核" in page) == bool(ATTACKS[student][3]), student
        assert integrity.RESERVED not in page
    assert feedback.DROPPED in pages["reads_in"]
    assert integrity.UNTRUSTED_TEXT in pages["in_post"]


# ----------------------------------------------------------------------------------------
# the static screen alone (no kernel)
# ----------------------------------------------------------------------------------------
SCREENED = {
    "x = eval('1')": "call of `eval`",
    "exec('x = 1')": "call of `exec`",
    "f = compile('1', 'a', 'eval')": "call of `compile`",
    "g = globals()": "call of `globals`",
    "v = vars(np)['allclose']": "call of `vars`",
    "f = getattr(np, 'all' + 'close')": "call of `getattr`",
    "m = __import__('IP' + 'ython')": "call of `__import__`",
    "b = __builtins__": "name `__builtins__`",
    "d = np.__dict__": "dunder attribute `.__dict__`",
    "np.allclose = lambda *a, **k: True": "assigns to inside module or builtin `np`",
    "course_data.MNIST_TRAIN = 'x'": "assigns to inside module or builtin `course_data`",
    "del np.allclose": "deletes inside module or builtin `np`",
    "np = None": "assigns to module name `np`",
    "len = lambda x: 4200": "assigns to builtin `len`",
    "def isinstance(a, b):\n    return True": "defines builtin `isinstance`",
    "import os": "import of `os`",
    "from IPython import get_ipython": "import of `IPython`",
    "import numpy as len": "import rebinds `len`",
    "exit()": "call of `exit`",
    "raise SystemExit": "raises `SystemExit`",
    "raise KeyboardInterrupt()": "raises `KeyboardInterrupt`",
    "%%capture\nx = 1": "magic or shell command (% / !)",
    "!cat /etc/passwd": "magic or shell command (% / !)",
    "%run other.py": "magic or shell command (% / !)",
    "print(In[3])": "IPython history or guard name `In`",
    "print(_ih[-1])": "IPython history or guard name `_ih`",
    "print(_i5)": "IPython history or guard name `_i5`",
    "_grader_x = 1": "assigns to reserved name `_grader_x`",
    "get_ipython().events": "call of `get_ipython`",
    "import sys\nsys.modules['pandas'] = None": "attribute `.modules`",
    "t = open('/etc/hostname').read()": "call of `open`",
}


@pytest.mark.parametrize("code", list(SCREENED))
def test_screen_finds(code):
    modules = {"np": "numpy", "pd": "pandas", "course_data": "utils.data"}
    assert SCREENED[code] in [what for _, what in integrity.screen_source(code, modules)]


@pytest.mark.parametrize("code", ["for _i in range(3):\n    print(_i)", "n = type(layer).__name__",
                                  "model.compile(optimizer='adam')", "import numpy as np",
                                  "from utils import data as course_data", "import math\nx = math.sqrt(2)",
                                  "class Cb(keras.callbacks.Callback):\n    def __init__(self):\n        super().__init__()"])
def test_screen_leaves_ordinary_code_alone(code):
    modules = {"np": "numpy", "pd": "pandas", "course_data": "utils.data", "keras": "keras"}
    assert integrity.screen_source(code, modules) == []


def test_no_false_alarm_on_solutions_and_accepted_variants():
    """Every solution and every accepted variant of tests/mistakes/ (all labs) passes the screen."""
    from grader import course

    flagged = {}
    for lab in course.labs():
        source = nbformat.read(next((sc.ROOT / "solutions" / lab).glob("*.ipynb")), as_version=4)
        candidates = {"solution": source, "blank": sc.student_notebook(lab, {}),
                      "solved": sc.student_notebook(lab, sc.solved(lab))}
        for v in sc.variants(lab):
            if v.correct:
                candidates[v.name] = sc.student_notebook(lab, sc.solved(lab, **{v.grade_id: v.code}))
        for name, nb in candidates.items():
            findings = integrity.screen_notebook(nb, source)
            if findings:
                flagged[f"{lab} {name}"] = findings
    assert flagged == {}


# ----------------------------------------------------------------------------------------
# verify() on hand-made executions (no kernel)
# ----------------------------------------------------------------------------------------
def _armed():
    nb = nbformat.read(sc.ROOT / "solutions" / LAB / NB, as_version=4)
    original = [c.source for c in nb.cells]
    plan = integrity.arm(nb)
    tests = [c for c in nb.cells if integrity.is_test_cell(c)]
    guard = nb.cells[0]
    guard.outputs = [nbformat.v4.new_output("stream", text=f"{plan['token']} ready: 100 objects watched\n")]
    for cell in tests:     # every test passes: its own line, then the canary's
        info = plan["cells"][cell.id]
        cell.outputs = [nbformat.v4.new_output("stream", text=f"通过 ✓\n{info['nonce']}:{plan['secret']}\n")]
    return nb, plan, tests, original


def _error(cell, ename, evalue):
    cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])]


def test_verify_honest_run_leaves_the_notebook_as_it_was():
    nb, plan, tests, original = _armed()
    _error(tests[2], "AssertionError", "label_counts 的索引应该依次是 0, 1, …, 9：排序了吗？")  # a real failure
    assert integrity.verify(nb, plan) == []
    assert [c.source for c in nb.cells] == original
    outputs = [c.outputs for c in nb.cells if integrity.is_test_cell(c)]
    assert [o[0].get("text", o[0].get("evalue")) for o in outputs] == \
        ["通过 ✓\n"] * 2 + ["label_counts 的索引应该依次是 0, 1, …, 9：排序了吗？"] + ["通过 ✓\n"] * 6


def test_verify_joins_a_print_the_kernel_flushed_in_pieces():
    # seen on CI: the canary's text and its newline arrived as two stream messages
    nb, plan, tests, _ = _armed()
    nonce = plan["cells"][tests[6].id]["nonce"]
    tests[6].outputs = [nbformat.v4.new_output("stream", text="通过 ✓\n"),
                        nbformat.v4.new_output("stream", text=f"{nonce}:{plan['secret']}"),
                        nbformat.v4.new_output("stream", text="\n")]
    assert integrity.verify(nb, plan) == []
    assert [o.get("text") for o in tests[6].outputs] == ["通过 ✓\n"]


@pytest.mark.parametrize("how, reason", [
    ("no error", NO_CHECK),
    ("changed", "library or IPython state altered: changed numpy.allclose"),
    ("wrong secret", "the integrity check returned a wrong value"),
    ("two errors", "an error and the integrity check were both reported"),
])
def test_verify_untrusted_run_zeroes_from_that_cell_on(how, reason):
    nb, plan, tests, _ = _armed()
    cell = tests[3]
    nonce = plan["cells"][cell.id]["nonce"]
    if how == "no error":
        cell.outputs = [nbformat.v4.new_output("stream", text="通过 ✓\n")]
    elif how == "changed":
        cell.outputs[0]["text"] = f"{nonce}:changed numpy.allclose\n"
    elif how == "wrong secret":
        cell.outputs[0]["text"] = f"{nonce}:{'0' * 32}\n"
    else:
        cell.outputs.insert(0, nbformat.v4.new_output("error", ename="NameError", evalue="x", traceback=[]))
    flags = integrity.verify(nb, plan)
    assert flags == [f"missing_values_tests: {reason}", "scored 0 as untrusted: " + ", ".join(ORDER[3:])]
    outputs = [c.outputs for c in nb.cells if integrity.is_test_cell(c)]
    assert [[o.get("text") for o in out] for out in outputs[:3]] == [["通过 ✓\n"]] * 3
    assert all(o[0]["ename"] == integrity.UNTRUSTED_ENAME and len(o) == 1 for o in outputs[3:])


def test_verify_guard_that_did_not_start_keeps_the_tests_results():
    nb, plan, tests, original = _armed()
    nb.cells[0].outputs = [nbformat.v4.new_output("error", ename="KeyboardInterrupt", evalue="", traceback=[])]
    for cell in tests:
        _error(cell, "ModuleNotFoundError", f"No module named '{plan['token']}'")
    _error(tests[0], "AssertionError", "train 应有 4200 行")
    flags = integrity.verify(nb, plan)
    assert flags == ["the integrity guard did not start (KeyboardInterrupt: ): test results not verified"]
    assert [[o.output_type for o in c.outputs] for c in nb.cells if integrity.is_test_cell(c)] == \
        [["error"]] + [[]] * 8
    assert [c.source for c in nb.cells] == original


def test_sandbox_events_keep_the_students_cell_numbers():
    assert integrity.unshift_event("cell 30 timed out after 90s and was interrupted") == \
        "cell 29 timed out after 90s and was interrupted"
    assert integrity.unshift_event("cell 0 timed out after 90s") == "cell (integrity guard) timed out after 90s"
