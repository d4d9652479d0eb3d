"""The owner's own cost per notebook (``make bench-grade``; issue 14, "the owner keeps up").

A synthetic class of N lab-1 notebooks (a correct, a blank and a one-mistake notebook, copied
under N student ids) is graded with the no-op executor (grader/executors.py ``NoopExecutor``:
the prepared notebook comes back at once, as if executed), so that what is measured is the
central process alone: prepare (file checks, tampering checks, nbgrader's sanitising, the
static integrity screen), record (nbgrader's autograde without execution, the gradebook
writes, the state files) and feedback (the Chinese HTML). CPU seconds of this process and its
children, per notebook. The implied worker ceiling is the grading CPU-s of one notebook (plain
nbgrader, bench/grading.json) divided by the owner's CPU-s: beyond that many busy workers the
owner is the bottleneck.

    python scripts/bench_owner.py [-n 1000] [--out bench] [--profile 30]

Results: bench/owner.json and a section of bench/GRADING.md.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
LAB = "lab01_data"
BEGIN, END = "<!-- bench_owner: begin -->", "<!-- bench_owner: end -->"


def cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def own_cpu() -> float:
    """This process only (the feedback pool's processes are not the owner)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def render_cpu(ws, pages: int) -> float:
    """CPU-s of one feedback page in the pool's processes (read, clean, fill in the grades,
    render: grader/feedback.py ``page``), over ``pages`` pages."""
    from grader import feedback

    paths = sorted(ws.autograded.glob(f"*/{LAB}/*.ipynb"))[:pages]
    known = feedback.lab_grades(ws, LAB)
    started = own_cpu()
    for path in paths:
        student = path.parent.parent.name
        feedback.page(str(path), [], known.get((student, path.stem)), LAB, student, ws.url)
    return (own_cpu() - started) / max(1, len(paths))


def make_class(ws, n: int) -> None:
    import nbformat

    import synthetic as sy

    kinds = [nbformat.writes(sy.student_notebook(LAB, answers)).encode()
             for answers in (sy.solved(LAB), {}, sy.mistaken(LAB, 3))]
    for i in range(n):
        folder = ws.submitted / f"s{i:04d}" / LAB
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{LAB}.ipynb").write_bytes(kinds[i % len(kinds)])


def measure(n: int, profile: int) -> dict:
    from grader.executors import NoopExecutor
    from grader.grading import Owner, Workspace, autograde, generate_feedback

    work = Path(tempfile.mkdtemp(prefix="bench-owner-"))
    try:
        ws = Workspace(root=work / "ws")
        make_class(ws, n)
        Owner(ws).ensure_assignment(LAB)          # once per lab and batch: not a per-notebook cost
        profiler = cProfile.Profile() if profile else None
        started, wall = cpu(), time.perf_counter()
        if profiler:
            profiler.enable()
        results = autograde(ws, labs=[LAB], executor=NoopExecutor(), progress=False)
        graded_cpu, graded_wall = cpu() - started, time.perf_counter() - wall
        started, wall = own_cpu(), time.perf_counter()
        problems = generate_feedback(ws, labs=[LAB], progress=False, workers=2)
        feedback_cpu, feedback_wall = own_cpu() - started, time.perf_counter() - wall
        if profiler:
            profiler.disable()
        statuses = sorted({r.status for r in results})
        top = ""
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(profile)
            top = out.getvalue()
        return {"n": n, "statuses": statuses, "feedback_problems": len(problems),
                "prepare_record_cpu_s": round(graded_cpu, 2), "prepare_record_wall_s": round(graded_wall, 2),
                "feedback_cpu_s": round(feedback_cpu, 2), "feedback_wall_s": round(feedback_wall, 2),
                "render_cpu_s_per_page": round(render_cpu(ws, min(n, 20)), 4), "profile": top}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    import logging
    import warnings

    warnings.filterwarnings("ignore")            # nbgrader's SQLAlchemy autoflush warnings, per notebook
    logging.disable(logging.WARNING)              # nbgrader's per-notebook log lines
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="notebooks (default 1000)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    parser.add_argument("--profile", type=int, default=0, metavar="K",
                        help="print cProfile's K most expensive calls (cumulative)")
    args = parser.parse_args()
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    m = measure(args.n, args.profile)
    if m["profile"]:
        print(m["profile"])
    n = m["n"]
    per_nb = {"prepare_record": round(m["prepare_record_cpu_s"] / n, 4), "feedback": round(m["feedback_cpu_s"] / n, 4)}
    per_nb["total"] = round(per_nb["prepare_record"] + per_nb["feedback"], 4)
    grading = json.loads((args.out / "grading.json").read_text()) if (args.out / "grading.json").exists() else {}
    grading_cpu = grading.get("cpu_seconds_reaped_per_notebook", {}).get("plain_nbgrader")
    result = {
        "notebooks": n, "lab": LAB, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": platform.platform(), "cores": os.cpu_count(), "loadavg_at_start": " ".join(load),
        "statuses": m["statuses"], "feedback_problems": m["feedback_problems"],
        "owner_cpu_s": {"prepare_record": m["prepare_record_cpu_s"], "feedback": m["feedback_cpu_s"]},
        "owner_wall_s": {"prepare_record": m["prepare_record_wall_s"], "feedback": m["feedback_wall_s"]},
        "owner_cpu_s_per_notebook": per_nb,
        "feedback_pool_cpu_s_per_page": m["render_cpu_s_per_page"],
        "grading_cpu_s_per_notebook": grading_cpu,
        "worker_ceiling": round(grading_cpu / per_nb["total"], 1) if grading_cpu else None,
        "worker_ceiling_without_feedback": round(grading_cpu / per_nb["prepare_record"], 1) if grading_cpu else None,
        "goal_s_per_notebook": 0.1,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "owner.json").write_text(json.dumps(result, indent=1) + "\n")
    section = f"""{BEGIN}
## The owner's cost (no-op executor)

`python scripts/bench_owner.py -n {n}` ({result['date']}, {result['cores']} cores, load at start
{result['loadavg_at_start']}): {n} lab-1 notebooks graded by the owner with the no-op executor
(nothing runs; the prepared notebook comes back as if executed), then their feedback with 2 page
renderers. CPU seconds of the owner process alone, per notebook:

| prepare + record | feedback (owner's part) | total | goal |
|---|---|---|---|
| {per_nb['prepare_record']} | {per_nb['feedback']} | {per_nb['total']} | ≤ 0.1 {'✔' if per_nb['total'] <= 0.1 else '✘'} |

What keeps it there (grader/nbfast.py, grader/owner.py): nbgrader's preprocessors run in the owner's
process without an nbgrader application per notebook, on one open gradebook for the batch (commits
once per notebook, SQLite in write-ahead-log mode), with the metadata schema compiled once and the
released notebook's cells remembered; for the feedback the owner reads each lab's grades in three
queries and a pool of processes reads, cleans, fills in and renders the pages
({result['feedback_pool_cpu_s_per_page']} CPU-s a page, not counted above: it scales with the pool).

Implied worker ceiling: one notebook costs {grading_cpu} CPU-s to grade (plain nbgrader,
bench/grading.json), so one owner keeps about **{result['worker_ceiling']}** busy worker cores fed
({result['worker_ceiling_without_feedback']} when feedback is generated later, apart from grading).
Computed, not measured on a cluster. Results: bench/owner.json.
{END}"""
    md = args.out / "GRADING.md"
    text = md.read_text() if md.exists() else "# Grading benchmark\n"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    md.write_text(text)
    print(json.dumps(result, indent=1))
    return 0 if m["statuses"] == ["graded"] and not m["feedback_problems"] else 1


if __name__ == "__main__":
    sys.exit(main())
