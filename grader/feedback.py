"""The feedback a student receives: Chinese, scores per question, no hidden test in it.

nbgrader's own feedback (``nbgrader generate_feedback``) renders the autograded notebook, whose
test cells hold the gradebook's source, hidden tests included, with tracebacks that quote them
(nbgrader #917). Here each autograded notebook is read and cleaned in memory:

* the ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` region of every test cell is replaced
  by one comment line; the cell keeps its name and its score;
* a failing test keeps only ``<error>: <message>`` when the failing line is visible, and says
  "隐藏测试未通过" (no source, no message) when it is in the hidden region;
* any output that quotes a hidden line (a student who printed IPython's history) is dropped;
* a test whose question the student left untouched is marked "还没作答" instead of "未通过"
  (grader/attempt.py);
* the review flags of the submission (``state/<lab>/<student>.json``) go into the notebook's
  metadata and are shown at the top.

Then it is rendered as nbgrader's ``GenerateFeedback`` does (its ``GetGrades`` preprocessor puts
the gradebook's scores and comments in, nbconvert's ``HTMLExporter`` writes the page) with the
course's Chinese template ``grader/templates/feedback_zh`` instead of nbgrader's English one.
"""
from __future__ import annotations

import functools
import json
import re
import shutil
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from . import attempt

TEMPLATES = Path(__file__).resolve().parent / "templates"
BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
HIDDEN_NOTE = "# （这里还有隐藏测试，评分时运行，不对外显示）"
HIDDEN_FAILED = "隐藏测试未通过：你的答案通过了上面的公开检查，但没有通过评分时的隐藏测试。请对照题目要求再检查一遍。"
DROPPED = "[这段输出含有隐藏测试的内容，已从反馈中删除]"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_LINE = re.compile(r"(?:Cell In ?\[[^\]]*\]|<ipython-input-[^>]*>)(?:,)? line (\d+)")


def hidden_span(source: str) -> tuple[int, int] | None:
    """1-based first and last line of the hidden region (markers included), or None."""
    lines = source.splitlines()
    begin = next((i for i, line in enumerate(lines) if line.strip() == BEGIN), None)
    if begin is None:
        return None
    end = next((i for i, line in enumerate(lines) if i > begin and line.strip() == END), len(lines) - 1)
    return begin + 1, end + 1


def hidden_lines(nb) -> set[str]:
    """The hidden test lines of ``nb`` (stripped, long enough to be recognised in an output)."""
    found = set()
    for cell in nb.cells:
        span = hidden_span(cell.source) if cell.cell_type == "code" else None
        if span:
            lines = cell.source.splitlines()[span[0]:span[1] - 1]
            found |= {line.strip() for line in lines if len(line.strip()) >= 12}
    return found


def _failing_line(output) -> int | None:
    text = ANSI.sub("", "\n".join(output.get("traceback", [])))
    match = CELL_LINE.search(text)
    return int(match.group(1)) if match else None


def _output_text(output) -> str:
    parts = [output.get("text", ""), output.get("evalue", ""), "\n".join(output.get("traceback", []))]
    for value in output.get("data", {}).values():
        parts.append(value if isinstance(value, str) else "".join(value) if isinstance(value, list) else "")
    return "\n".join(str(p) for p in parts)


def clean(nb, flags: list[str] | None = None):
    """``nb`` (an autograded notebook) made fit for the student, in place."""
    secret = hidden_lines(nb)
    status = attempt.statuses(nb)
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in status:
            cell.metadata["cnn_course_status"] = status[gid]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        span = hidden_span(cell.source)
        if span and meta.get("grade") and not meta.get("solution"):
            outputs = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error" and out.get("ename") != "IntegrityCheckFailed":
                    line = _failing_line(out)
                    if line is None or span[0] <= line <= span[1]:
                        out = NotebookNode(output_type="stream", name="stderr", text=HIDDEN_FAILED + "\n")
                    else:
                        message = f"{out.get('ename')}: {out.get('evalue')}"
                        out = NotebookNode(output_type="error", ename=out.get("ename"), evalue=out.get("evalue"),
                                           traceback=[message])
                outputs.append(out)
            cell.outputs = outputs
            lines = cell.source.splitlines()
            cell.source = "\n".join(lines[:span[0] - 1] + [HIDDEN_NOTE] + lines[span[1]:])
        kept = []
        for out in cell.get("outputs", []):
            text = _output_text(out)
            if any(line in text for line in secret) or BEGIN in text:
                out = NotebookNode(output_type="stream", name="stderr", text=DROPPED + "\n")
            kept.append(out)
        cell.outputs = kept
    nb.metadata["cnn_course"] = {"review": list(flags or [])}
    return nb


def with_grades(nb, ws, lab: str, student: str, name: str):
    """``(notebook, resources)`` with the gradebook's scores and comments (nbgrader's GetGrades):
    the owner's part of a feedback page; the rest (:func:`html`) can run anywhere."""
    from nbconvert.exporters.exporter import ResourcesDict
    from nbgrader.preprocessors import GetGrades

    resources = ResourcesDict(nbgrader={"student": student, "assignment": lab, "notebook": name, "db_url": ws.url})
    return GetGrades().preprocess(nb, resources)


def html(nb, resources) -> str:
    """The feedback page of a notebook that has its grades (nbconvert's HTMLExporter with the
    course's Chinese template; about 0.3 CPU-s a page, so a class's pages are made in a pool)."""
    from nbconvert.exporters.exporter import ResourcesDict

    prepared = ResourcesDict()
    prepared.update(resources)
    body, _ = _exporter().from_notebook_node(nb, resources=prepared)
    return body


def lab_grades(ws, lab: str) -> dict:
    """{(student, notebook): what nbgrader's ``GetGrades`` reads from the gradebook for that
    submitted notebook} for every submission of ``lab``, in three queries (``GetGrades`` asks
    two per cell and three per notebook). The values are nbgrader's own column expressions
    (``Grade.score``, ``Grade.max_score``, ``Comment.comment``, ``SubmittedNotebook.score``, ...),
    so they are what ``GetGrades`` would put in; :func:`apply_grades` puts them in."""
    from nbgrader.api import (Assignment, BaseCell, Comment, Gradebook, Grade, Notebook, Student,
                              SubmittedAssignment, SubmittedNotebook)
    from sqlalchemy import select

    found: dict = {}
    with Gradebook(ws.url) as gb:
        notebooks = select(SubmittedNotebook.id, Student.id, Notebook.name, SubmittedNotebook.score,
                           SubmittedNotebook.max_score, SubmittedNotebook.late_submission_penalty)\
            .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)\
            .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)\
            .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)\
            .join(Student, Student.id == SubmittedAssignment.student_id)\
            .where(Assignment.name == lab)
        by_id = {}
        for nb_id, student, name, score, max_score, penalty in gb.db.execute(notebooks):
            by_id[nb_id] = found[(student, name)] = {"score": score, "max_score": max_score,
                                                     "late_penalty": penalty, "grades": {}, "comments": {}}
        ids = list(by_id)
        for start in range(0, len(ids), 500):          # bound the IN list (SQLite's variable limit)
            chunk = ids[start:start + 500]
            for nb_id, cell, score, max_score in gb.db.execute(
                    select(Grade.notebook_id, BaseCell.name, Grade.score, Grade.max_score)
                    .join(BaseCell, BaseCell.id == Grade.cell_id).where(Grade.notebook_id.in_(chunk))):
                by_id[nb_id]["grades"][cell] = (score, max_score)
            for nb_id, cell, comment in gb.db.execute(
                    select(Comment.notebook_id, BaseCell.name, Comment.comment)
                    .join(BaseCell, BaseCell.id == Comment.cell_id).where(Comment.notebook_id.in_(chunk))):
                by_id[nb_id]["comments"][cell] = comment
    return found


def apply_grades(nb, grades: dict | None, lab: str, student: str, name: str, db_url: str = ""):
    """``(notebook, resources)`` as nbgrader's ``GetGrades`` makes them (:func:`with_grades`),
    from ``grades`` (one entry of :func:`lab_grades`) instead of the gradebook: the same cells get
    the same ``comment``, ``score`` and ``points``, a missing row raises ``MissingEntry`` as
    ``GetGrades`` does, and resources carry the notebook's score, max score and late penalty."""
    from nbconvert.exporters.exporter import ResourcesDict
    from nbgrader import utils
    from nbgrader.api import MissingEntry

    if grades is None:
        raise MissingEntry(f"No such submitted notebook: {lab}/{name} for {student}")

    def comment(cell):
        gid = cell.metadata["nbgrader"]["grade_id"]
        if gid not in grades["comments"]:
            raise MissingEntry(f"No such comment: {lab}/{name}/{gid} for {student}")
        cell.metadata.nbgrader["comment"] = grades["comments"][gid]

    def score(cell):
        gid = cell.metadata["nbgrader"]["grade_id"]
        if gid not in grades["grades"]:
            raise MissingEntry(f"No such grade: {lab}/{name}/{gid} for {student}")
        cell.metadata.nbgrader["score"], cell.metadata.nbgrader["points"] = grades["grades"][gid]

    for cell in nb.cells:                   # GetGrades.preprocess_cell, in its order
        if utils.is_solution(cell):
            comment(cell)
        if utils.is_grade(cell):
            score(cell)
        if utils.is_task(cell):
            comment(cell)
            score(cell)
    penalty = 0 if grades["late_penalty"] is None else grades["late_penalty"]
    resources = ResourcesDict(nbgrader={"student": student, "assignment": lab, "notebook": name, "db_url": db_url,
                                        "score": grades["score"] - penalty, "max_score": grades["max_score"],
                                        "late_penalty": penalty})
    return nb, resources


def page(path: str, flags: list[str], grades: dict | None, lab: str, student: str, db_url: str = "") -> str:
    """One feedback page from an autograded notebook and its grades (no gradebook needed):
    read, :func:`clean`, :func:`apply_grades`, :func:`html`. Runs in the page pool."""
    name = Path(path).stem
    nb, resources = apply_grades(clean(nbformat.read(path, as_version=4), flags), grades, lab, student, name, db_url)
    return html(nb, resources)


@functools.lru_cache(maxsize=1)
def _exporter():
    """One HTMLExporter for every page: its Jinja templates are compiled once, not per notebook
    (a third of the feedback's cost, scripts/bench_owner.py)."""
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    import nbgrader

    css = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "static" / "node_modules" / "bootstrap" / "dist" / "css"
    return HTMLExporter(config=Config(HTMLExporter={
        "template_name": "feedback_zh", "extra_template_basedirs": [str(TEMPLATES)],
        "extra_template_paths": [str(css)]}))


def generate(ws, labs: list[str] | None = None, progress: bool = True, workers: int = 1) -> list[str]:
    """Chinese HTML feedback without hidden tests for every autograded submission
    (``<workspace>/feedback/<student>/<lab>/<notebook>.html``); returns problems. One broken
    notebook does not stop the others.

    This process reads the grades of each lab from the gradebook in three queries (it is the
    only one that talks to the gradebook, :func:`lab_grades`); reading, cleaning, filling in
    the grades and rendering each page (:func:`page`) is done by ``workers`` local processes
    when ``workers`` > 1, here otherwise."""
    import concurrent.futures as cf
    import multiprocessing

    from tqdm.auto import tqdm

    problems = []
    pairs = [(lab, s) for lab in labs or ws.labs() for s in ws.students(lab) if (ws.autograded / s / lab).exists()]
    pool = (cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"))
            if workers > 1 and len(pairs) > 1 else None)
    pending: dict = {}
    bar = tqdm(total=len(pairs), desc="feedback", unit="nb", disable=not progress or not pairs)

    def drain(limit: int):
        while len(pending) > limit:
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in done:
                target, label = pending.pop(future)
                try:
                    target.write_text(future.result(), encoding="utf-8")
                except Exception as exc:  # noqa: BLE001 - one page, not the class
                    problems.append(f"{label}: {type(exc).__name__}: {str(exc)[:200]}")

    try:
        known: dict[str, dict] = {}
        for lab, student in pairs:
            if lab not in known:
                known[lab] = lab_grades(ws, lab)           # the lab's grades, in three queries
            state = ws.state / lab / f"{student}.json"
            flags = json.loads(state.read_text()).get("flags", []) if state.exists() else []
            dest = ws.feedback / student / lab
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            for path in sorted((ws.autograded / student / lab).glob("*.ipynb")):
                label = f"{student} {lab} {path.name}"
                args = (str(path), flags, known[lab].get((student, path.stem)), lab, student, ws.url)
                try:
                    if pool is None:
                        (dest / f"{path.stem}.html").write_text(page(*args), encoding="utf-8")
                    else:
                        pending[pool.submit(page, *args)] = (dest / f"{path.stem}.html", label)
                        drain(2 * workers)         # keep every worker busy, memory bounded
                except Exception as exc:  # an unreadable notebook, a submission missing from the gradebook
                    problems.append(f"{label}: {type(exc).__name__}: {str(exc)[:200]}")
            bar.update(1)
        drain(0)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return problems
