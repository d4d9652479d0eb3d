"""What the instructor reads after a batch: grades.csv, per-question table, per-student lines, figures.

* ``grades.csv``: nbgrader's own CSV export (``nbgrader export`` format);
* ``questions.csv``: for every graded cell of every lab: mean points, share of full marks,
  share of errors, how many submissions passed / were wrong / raised another error / did not
  attempt it (还没作答, grader/attempt.py), and the three most frequent failure messages (from the
  executed notebooks; a not-attempted test's "还没作答" is not among them);
* ``students.csv``: one line per student and lab: score, status (graded / needs review /
  invalid / failed / missing), problems with the file, tampering, sandbox events (timeouts,
  kills, output cap), ``not_attempted``: the test cells whose question was left untouched, ``flags``: why a submission needs review (grader/integrity.py: what the
  static screen found, test cells whose run could not be trusted and were scored 0);
* ``figures/<lab>_scores.png`` (score histogram) and ``figures/<lab>_questions.png``
  (per question: shares passed / wrong / error / not attempted).
"""
from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

import nbformat

from . import attempt
from .grading import Workspace

REVIEW = "needs review"          # 需要人工复核: a flag of grader/integrity.py, not a zero by itself


def _failure(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            evalue = (out.get("evalue") or "").strip().splitlines()
            return f"{out.get('ename')}: {evalue[0][:160]}" if evalue else str(out.get("ename"))
    return None


def failure_messages(ws: Workspace, lab: str) -> dict[str, Counter]:
    """grade id -> Counter of failure messages over the autograded notebooks of ``lab``."""
    return _outcomes(ws, lab)[0]


def _outcomes(ws: Workspace, lab: str) -> tuple[dict[str, Counter], dict[tuple[str, str], str]]:
    """Failure messages per grade id (not-attempted tests left out) and the status of every
    (student, test grade id) of ``lab`` (grader/attempt.py)."""
    messages: dict[str, Counter] = defaultdict(Counter)
    status: dict[tuple[str, str], str] = {}
    for path in ws.autograded.glob(f"*/{lab}/*.ipynb"):
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:
            continue
        student = path.parent.parent.name
        found = attempt.statuses(nb)
        for gid, value in found.items():
            status[(student, gid)] = value
        for cell in nb.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid and cell.cell_type == "code" and found.get(gid) != attempt.NOT_ATTEMPTED:
                message = _failure(cell)
                if message:
                    messages[gid][message] += 1
    return messages, status


def build(ws: Workspace, out: Path | None = None) -> dict:
    """Write the report files into ``out`` (default ``<workspace>/report``); returns paths."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.plugins.export import CsvExportPlugin

    out = Path(out or ws.root / "report")
    out.mkdir(parents=True, exist_ok=True)
    grades_csv = out / "grades.csv"
    with Gradebook(ws.url) as gb:
        CsvExportPlugin(to=str(grades_csv)).export(gb)
        labs = [a.name for a in gb.assignments]
        students = sorted(s.id for s in gb.students)
        questions, per_student = [], []
        scores: dict[str, list[float]] = {}
        for lab in labs:
            assignment = gb.find_assignment(lab)
            messages, status = _outcomes(ws, lab)
            grades_of: dict[str, list] = defaultdict(list)
            scores[lab] = []
            for submission in assignment.submissions:
                scores[lab].append(submission.score)
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        grades_of[grade.name].append((submission.student.id, grade))
            for notebook in assignment.notebooks:
                for cell in notebook.grade_cells:
                    graded = grades_of.get(cell.name, [])
                    grades = [g for _, g in graded]
                    n = len(grades) or 1
                    counts = messages.get(cell.name, Counter())
                    auto = cell.cell_type == "code"
                    # full points = passed; otherwise what the executed notebook says (a submission
                    # without one, e.g. a file that could not be run, counts as an error)
                    outcome = Counter(attempt.PASSED if g.score >= cell.max_score
                                      else _not_passed(status.get((student, cell.name)))
                                      for student, g in graded)
                    questions.append({
                        "lab": lab, "notebook": notebook.name, "grade_id": cell.name,
                        "kind": "auto" if auto else "manual", "max_points": cell.max_score,
                        "submissions": len(grades),
                        "mean_points": round(sum(g.score for g in grades) / n, 3),
                        "full_marks": round(sum(g.score >= cell.max_score for g in grades) / n, 3),
                        "errors": round(sum(counts.values()) / n, 3) if auto else "",
                        "needs_manual_grade": sum(bool(g.needs_manual_grade) for g in grades),
                        **{key: (outcome[value] if auto else "") for key, value in OUTCOME_COLUMNS.items()},
                        **{f"message_{i + 1}": (f"{m} (×{k})" if m else "")
                           for i, (m, k) in enumerate((counts.most_common(3) + [("", 0)] * 3)[:3])},
                    })
            for student in students:
                line = _student_line(ws, gb, lab, student, MissingEntry)
                line["not_attempted"] = " ".join(sorted(gid for (who, gid), value in status.items()
                                                        if who == student and value == attempt.NOT_ATTEMPTED))
                per_student.append(line)
    _write_csv(out / "questions.csv", questions)
    _write_csv(out / "students.csv", per_student)
    collect_file = ws.root / "collect.json"
    if collect_file.exists():
        collected = json.loads(collect_file.read_text())
        rows = [{"file": i["origin"], "student": i["student"] or "", "lab": i["lab"] or "",
                 "problem": i["problem"]} for i in collected["superseded"] + collected["unmatched"]]
        _write_csv(out / "unmatched_files.csv", rows, ["file", "student", "lab", "problem"])
    figures = _figures(out / "figures", scores, questions)
    return {"grades": grades_csv, "questions": out / "questions.csv", "students": out / "students.csv",
            "figures": figures, "rows": questions, "student_rows": per_student}


OUTCOME_COLUMNS = {"passed": attempt.PASSED, "wrong": attempt.WRONG, "error": attempt.ERROR,
                   "not_attempted": attempt.NOT_ATTEMPTED}


def _not_passed(value: str | None) -> str:
    return value if value in (attempt.WRONG, attempt.NOT_ATTEMPTED) else attempt.ERROR


def _student_line(ws, gb, lab, student, MissingEntry) -> dict:
    state_file = ws.state / lab / f"{student}.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    try:
        submission = gb.find_submission(lab, student)
        score, max_score = submission.score, submission.max_score
    except MissingEntry:
        submission, score, max_score = None, 0.0, gb.find_assignment(lab).max_score
    flags = state.get("flags", [])
    if not state:
        status = "missing" if submission is None else "graded (outside this tool)"
    else:
        status = state["status"]
        if flags and status == "graded":
            status = REVIEW
    return {
        "student": student, "lab": lab, "score": round(score, 3), "max_score": max_score,
        "status": status,
        "problems": "; ".join(state.get("problems", [])) or ("no submission for this lab" if status == "missing" else ""),
        "tampering": "; ".join(state.get("tampering", [])),
        "sandbox": "; ".join(state.get("events", [])),
        "flags": "; ".join(flags),
    }


def _write_csv(path: Path, rows: list[dict], fields: list[str] | None = None) -> None:
    fields = fields or (list(rows[0]) if rows else [])
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _figures(folder: Path, scores: dict[str, list[float]], questions: list[dict]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for lab, values in scores.items():
        rows = [q for q in questions if q["lab"] == lab]
        if not values:
            continue
        top = sum(q["max_points"] for q in rows) or 1
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist(values, bins=min(20, max(5, len(set(values)))), range=(0, top), color="#4c72b0")
        ax.set(title=f"{lab}: total scores (n={len(values)})", xlabel="points", ylabel="students")
        fig.tight_layout()
        fig.savefig(folder / f"{lab}_scores.png", dpi=120)
        plt.close(fig)
        written.append(folder / f"{lab}_scores.png")
        auto = [q for q in rows if q["kind"] == "auto"]
        if auto:
            fig, ax = plt.subplots(figsize=(6.5, 0.4 * len(auto) + 1.4))
            names = [q["grade_id"] for q in auto][::-1]
            left = [0.0] * len(names)
            colours = {"passed": "#55a868", "wrong": "#c44e52", "error": "#8172b2", "not_attempted": "#bbbbbb"}
            for key, colour in colours.items():
                shares = [q[key] / (q["submissions"] or 1) for q in auto][::-1]
                ax.barh(names, shares, left=left, color=colour, label=key.replace("_", " "))
                left = [a + b for a, b in zip(left, shares)]
            ax.set(xlim=(0, 1), xlabel="share of submissions", title=f"{lab}: result per question")
            ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.08), ncol=4, fontsize="small", frameon=False)
            fig.tight_layout()
            fig.savefig(folder / f"{lab}_questions.png", dpi=120)
            plt.close(fig)
            written.append(folder / f"{lab}_questions.png")
    return written


def print_summary(result: dict) -> str:
    lines = [f"grades:    {result['grades']}", f"questions: {result['questions']}",
             f"students:  {result['students']}"]
    lines += [f"figure:    {p}" for p in result["figures"]]
    hard = sorted((q for q in result["rows"] if q["kind"] == "auto"), key=lambda q: q["full_marks"])[:5]
    if hard:
        lines.append("hardest questions (share with full marks):")
        lines += [f"  {q['lab']} {q['grade_id']}: {q['full_marks']:.0%} (not attempted: {q['not_attempted']})"
                  f"  {q['message_1']}" for q in hard]
    review = [r for r in result["student_rows"] if r.get("flags")]
    if review:
        lines.append(f"needs review (需要人工复核): {len(review)} submission(s): "
                     + ", ".join(f"{r['student']} {r['lab']}" for r in review))
    flagged = [r for r in result["student_rows"]
               if r["status"] != "graded" or r["tampering"] or r["sandbox"] or r.get("flags")]
    if flagged:
        lines.append("submissions to look at:")
        for r in flagged:
            notes = " | ".join(x for x in [r["problems"], r["tampering"], r["sandbox"], r.get("flags", "")] if x)
            lines.append(f"  {r['student']} {r['lab']}: {r['status']}: {notes}")
    return "\n".join(lines)
