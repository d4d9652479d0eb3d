"""Lab 1 as a student uses it: JupyterLab in a real browser (Chromium, headless, via Playwright).

Against the `make lab` server (tests/labserver.py; a temporary copy of notebooks/):
1. open lab 1's student notebook: the interface is Chinese, the `>>>填写<<<` cells are there,
   Validate is in the toolbar and nbgrader's instructor menu is not;
2. restart and run all: the first fill-in cell shows NotImplementedError;
3. type an answer into that cell through the editor, run it and its test cell: the test passes;
4. Validate: the dialog lists the test cells still failing, and only those;
5. a fully answered copy (fill-in cells taken from solutions/): Validate reports success.
Each step leaves a screenshot in artifacts/browser/ (printed at the end of the run).
"""
from __future__ import annotations

import json
import re
import shutil
import time

import nbformat
import pytest

from conftest import ROOT, report_artifact
from labserver import lab_server
from utils import data as course_data

from playwright.sync_api import expect, sync_playwright

# The machine may be busy (other tests, trainings): generous waits, never fixed sleeps.
expect.set_options(timeout=60_000)

LAB = "lab01_data"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "artifacts" / "browser"
PANEL = "#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden)"
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def answers() -> dict[str, str]:
    """grade_id → the source of the solution cell, without the solution markers."""
    solution = nbformat.read(ROOT / "solutions" / LAB / f"{LAB}.ipynb", as_version=4)
    return {nbgrader(c)["grade_id"]: "\n".join(line for line in c.source.splitlines()
                                               if line.strip() not in SOLUTION_MARKERS)
            for c in solution.cells if nbgrader(c).get("solution")}


def answered_copy(student: nbformat.NotebookNode) -> nbformat.NotebookNode:
    filled = nbformat.from_dict(student)
    solutions = answers()
    for cell in filled.cells:
        if nbgrader(cell).get("solution"):
            cell.source = solutions[nbgrader(cell)["grade_id"]]
    return filled


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    work = tmp_path_factory.mktemp("browser")
    notebooks = work / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    # All cells in the page at once (JupyterLab otherwise adds them as the notebook scrolls),
    # so that the test can address cell n; a user setting of this test's own settings folder.
    tracker = work / "user-settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))
    with lab_server(work, notebooks=notebooks) as server:
        yield server


@pytest.fixture(scope="module")
def page(served):
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (make system-deps as root)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
            page = context.new_page()
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()
    report_artifact("browser screenshots", ARTIFACTS)


def shot(page, name: str):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def open_notebook(page, served, path: str, alone: bool = False):
    """Open a notebook (``alone``: close the other tabs) and wait until its kernel is idle.

    On a heavily loaded machine JupyterLab's first websocket to a new kernel can get stuck
    in "connecting"; like a student, the test then reloads the page (once).
    """
    for attempt in (1, 2):
        if attempt == 1:
            page.goto(served.url(f"/lab/tree/{path}") + ("&reset" if alone else ""))
        else:
            page.reload()
        page.locator(f"{PANEL} .jp-Cell").first.wait_for()
        expect(page.locator(f"{PANEL} .validate-button")).to_be_visible()
        try:
            kernel_idle(page, timeout=90_000 if attempt == 1 else 120_000)
            return
        except AssertionError:
            if attempt == 2:
                raise
            shot(page, f"reload-{path.replace('/', '_')}")


def kernel_idle(page, timeout=120_000):
    """The status bar says the kernel is idle (connected, nothing running)."""
    expect(page.locator("#jp-main-statusbar")).to_contain_text(
        re.compile(r"CNN 课程\) \| (空闲|Idle)"), timeout=timeout)


def run_all(page, served, path: str, first_cell: int):
    """Restart the kernel and run all cells (toolbar ⏩, confirm) until the first fill-in raises."""
    for attempt in (1, 2):
        page.locator(f'{PANEL} [data-command="notebook:restart-run-all"]').click()
        page.locator(".jp-Dialog .jp-mod-accept").click()
        try:
            expect(cell(page, first_cell).locator(".jp-OutputArea")).to_contain_text(
                "NotImplementedError", timeout=120_000)
            kernel_idle(page)
            return
        except AssertionError:
            if attempt == 2:
                raise
            shot(page, "reload-run-all")
            open_notebook(page, served, path)


def cell(page, index: int):
    return page.locator(f"{PANEL} .jp-WindowedPanel-viewport > .jp-Cell").nth(index)


def validate(page, timeout=240_000) -> str:
    page.locator(f"{PANEL} .validate-button").click()
    message = page.locator("#validation-message")
    message.wait_for(timeout=timeout)
    return message.inner_text()


def close_dialog(page):
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.locator(".jp-Dialog").wait_for(state="detached")


def test_student_works_through_lab1_in_the_browser(served, page):
    try:
        walk_through_lab1(served, page)
    except Exception:
        shot(page, "failed")
        raise


def walk_through_lab1(served, page):
    started = time.time()
    path = f"{LAB}/{LAB}.ipynb"
    student = nbformat.read(served.notebooks / path, as_version=4)
    cells = student.cells
    fill_ins = [i for i, c in enumerate(cells) if nbgrader(c).get("solution") and c.cell_type == "code"]
    first = fill_ins[0]
    first_id = nbgrader(cells[first])["grade_id"]
    tests = {nbgrader(c)["grade_id"]: i for i, c in enumerate(cells)
             if nbgrader(c).get("grade") and not nbgrader(c).get("solution") and c.cell_type == "code"}
    first_test = tests[f"{first_id}_tests"]

    # 1. open lab 1: Chinese interface, fill-in cells visible, Validate but no instructor tools
    open_notebook(page, served, path)
    menubar = page.locator("#jp-menu-panel").inner_text()
    assert "文件" in menubar and "内核" in menubar, f"the interface is not in Chinese: {menubar!r}"
    assert "Nbgrader" not in menubar, "the student's view shows nbgrader's instructor menu"
    target = cell(page, first)
    target.scroll_into_view_if_needed()
    expect(target).to_be_visible()
    expect(target).to_contain_text(">>>填写<<<")
    expect(cell(page, first - 1)).to_contain_text(">>>填写<<<")  # the instruction above it
    assert page.locator(f"{PANEL} .jp-Cell").filter(has_text=">>>填写<<<").count() >= 2 * len(fill_ins)
    shot(page, "1-open")

    # 2. restart the kernel and run all: the first fill-in cell raises NotImplementedError;
    #    before it, the imports (utils included) ran on the course's kernel, picked by no one
    run_all(page, served, path, first)
    imports = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "from utils import" in c.source)
    expect(cell(page, imports).locator(".jp-OutputArea")).to_contain_text(course_data.MNIST_TRAIN.name)
    expect(cell(page, imports).locator(".jp-OutputArea")).not_to_contain_text("Traceback")
    target.scroll_into_view_if_needed()
    shot(page, "2-run-all")

    # 3. type the answer through the editor, run the cell and its test cell
    editor = target.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(answers()[first_id])
    expect(editor).to_contain_text("pd.read_csv")
    page.keyboard.press("Shift+Enter")
    page.keyboard.press("Shift+Enter")
    test_cell = cell(page, first_test)
    expect(test_cell.locator(".jp-InputArea-prompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=120_000)
    kernel_idle(page)
    for index in (first, first_test):
        errors = cell(page, index).locator('[data-mime-type="application/vnd.jupyter.stderr"]')
        assert errors.filter(has_text="Error").count() == 0, cell(page, index).inner_text()
    expect(test_cell.locator(".jp-OutputArea")).to_contain_text("通过")
    expect(target.locator(".jp-OutputArea")).not_to_contain_text("NotImplementedError")
    test_cell.scroll_into_view_if_needed()
    shot(page, "3-answer")

    # 4. Validate: the remaining (unanswered) questions fail, the answered one does not
    report = validate(page)
    shot(page, "4-validate-remaining")
    close_dialog(page)
    remaining = [cells[i] for gid, i in tests.items() if gid != f"{first_id}_tests"]
    written = [c for c in cells if c.cell_type == "markdown" and nbgrader(c).get("solution")]
    assert report.count("The following cell failed:") == len(remaining) + len(written), report[:2000]
    assert report.count("You did not provide a response.") == len(written), report[-1000:]
    for c in remaining:
        assert c.source.splitlines()[0] in report, f"Validate does not list {nbgrader(c)['grade_id']}"
    assert cells[first_test].source.splitlines()[0] not in report, "the answered question is listed as failing"

    # 5. a fully answered copy: Validate reports success
    done = f"{LAB}/{LAB}_answered.ipynb"
    nbformat.write(answered_copy(student), served.notebooks / done)
    open_notebook(page, served, done, alone=True)
    report = validate(page)
    shot(page, "5-validate-success")
    close_dialog(page)
    assert "Success! Your notebook passes all the tests." in report, report[:2000]
    print(f"browser test: {time.time() - started:.0f} s; screenshots in {ARTIFACTS}")
