"""What grading one student costs (issue 16): one correct student's six labs through the grader.

    python scripts/bench_student.py [--workers 2] [--students 1] [--out bench]

Each student is the solution of every lab written into the released notebook
(scripts/synthetic.py), collected and graded by ``python -m grader autograde`` in the sandbox,
the way a class is graded (``--workers`` processes, each kernel capped at cores / workers threads).
The figure is the kernels' CPU time (user + system, every thread: grader/sandbox.py
``tree_cpu_seconds``, stored with each result) summed over the six labs; the goal is ≤ 60 CPU-s per
student (≤ 120 the least acceptable). The table says where each lab's job time goes, from the
timestamps nbclient records in every executed cell (``metadata.execution``): the kernel's start and
shutdown (job time not spent in a cell), the imports (the grader's integrity guard cell, which imports
the lab's modules first, as the job log records, plus the lab's first code cell), data preparation,
training (cells that call ``fit`` or a training helper), the test cells, the answers and the rest.
Results: bench/student.json and a section of bench/GRADING.md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
LABS = ("lab01_data", "lab02_cnn", "lab03_training", "lab04_evaluation", "lab05_augmentation", "lab06_fashion")
KINDS = ("kernel", "imports", "data", "training", "test", "answer", "other")
GOAL, LEAST = 60, 120
BEGIN, END = "<!-- bench_student: begin -->", "<!-- bench_student: end -->"


def kind_of(cell, first: bool) -> str:
    meta = cell.metadata.get("nbgrader", {})
    if first:
        return "imports"
    if re.search(r"\.fit\(|run_experiment\(|train_\w*\(", cell.source):
        return "training"
    if meta.get("grade"):
        return "test"
    if meta.get("solution"):
        return "answer"
    if re.search(r"prepare\(|FULL_DATA\s*=|read_csv\(|load_\w+\(", cell.source):
        return "data"
    return "other"


def _when(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def guard_seconds(log: str) -> float:
    """Seconds of the integrity guard cell (it does the lab's imports first), from the job's log."""
    return sum(float(s) for s in re.findall(r"guard cell ([\d.]+) s", log))


def breakdown(nb, job_seconds: float, guard: float = 0.0) -> dict:
    """Seconds of ``nb``'s job by kind, from the cells' execution timestamps; ``guard`` (the
    integrity guard cell, removed from the executed notebook) counts as imports."""
    kinds = {k: 0.0 for k in KINDS}
    kinds["imports"] = guard
    slowest, first = [], True
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        timing = cell.metadata.get("execution", {})
        start, end = timing.get("iopub.status.busy"), timing.get("shell.execute_reply")
        if not (start and end):
            continue
        seconds = max(0.0, _when(end) - _when(start))
        kind = kind_of(cell, first)
        first = False
        kinds[kind] += seconds
        slowest.append((seconds, index, kind, cell.metadata.get("nbgrader", {}).get("grade_id", "")))
    kinds["kernel"] = max(0.0, job_seconds - sum(kinds.values()))
    slowest.sort(reverse=True)
    return {"by_kind": {k: round(v, 1) for k, v in kinds.items()},
            "slowest_cells": [{"seconds": round(s, 1), "index": i, "kind": k, "grade_id": g} for s, i, k, g in slowest[:3]]}


def make_class(students: int, folder: Path) -> None:
    import synthetic as sy

    for i in range(students):
        for lab in LABS:
            sy.write(sy.student_notebook(lab, sy.solved(lab)), folder / f"s{i:03d}" / f"{lab}.ipynb")


REFERENCE = """
import json, time
import keras, tensorflow as tf
from utils import data as course_data, models
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)
data = course_data.prepare(full=False)
keras.utils.set_random_seed(2)
model = models.compile_classifier(models.digit_cnn(), "adam", learning_rate=0.001)
started = time.process_time()
model.fit(data.x_train, data.y_train, batch_size=64, epochs=2, validation_data=(data.x_val, data.y_val), verbose=0)
print(json.dumps(round(time.process_time() - started, 2)))
"""


def reference_seconds(env: dict, copies: int) -> float:
    """CPU seconds of a fixed workload (``digit_cnn``, 2 epochs on the course subset, one thread), ``copies``
    of it at once (as many as the batch has workers; the mean), measured just before the batch. This VM's
    speed drifts by a third within an hour, mostly when both cores are busy, so figures taken at different
    times are compared through it."""
    runs = [subprocess.Popen([sys.executable, "-c", REFERENCE], env=env, cwd=ROOT, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) for _ in range(max(1, copies))]
    seconds = []
    for run in runs:
        out, _ = run.communicate()
        if run.returncode:
            raise RuntimeError(f"the reference workload failed (exit {run.returncode})")
        seconds.append(float(out.strip().splitlines()[-1]))
    return round(sum(seconds) / len(seconds), 2)


def load() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--students", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    args = parser.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    work = Path(tempfile.mkdtemp(prefix="bench-student-"))
    grader = [sys.executable, "-m", "grader"]
    try:
        make_class(args.students, work / "class")
        subprocess.run([*grader, "collect", str(work / "class"), "--workspace", str(work / "ws")], env=env,
                       check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        reference = reference_seconds(env, args.workers)
        before = load()
        started = time.perf_counter()
        subprocess.run([*grader, "autograde", "--workspace", str(work / "ws"), "--quiet",
                        "--workers", str(args.workers)], env=env, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        wall = time.perf_counter() - started
        after = load()
        labs = []
        for lab in LABS:
            rows = []
            for state in sorted((work / "ws" / "state" / lab).glob("*.json")):
                result = json.loads(state.read_text())
                executed = next((work / "ws" / "executed" / result["student"] / lab).glob("*.ipynb"))
                nb = nbformat.read(executed, as_version=4)
                log = work / "ws" / "logs" / lab / f"{result['student']}.log"
                guard = guard_seconds(log.read_text(encoding="utf-8", errors="replace")) if log.exists() else 0.0
                rows.append({"student": result["student"], "status": result["status"], "events": result["events"],
                             "job_seconds": round(result["seconds"], 1), "cpu_seconds": result.get("cpu_seconds", 0.0),
                             **breakdown(nb, result["seconds"], guard)})
            n = max(1, len(rows))
            labs.append({"lab": lab, "runs": rows,
                         "job_seconds": round(sum(r["job_seconds"] for r in rows) / n, 1),
                         "cpu_seconds": round(sum(r["cpu_seconds"] for r in rows) / n, 1),
                         "by_kind": {k: round(sum(r["by_kind"][k] for r in rows) / n, 1) for k in KINDS}})
    finally:
        shutil.rmtree(work, ignore_errors=True)
    cpu = round(sum(lab["cpu_seconds"] for lab in labs), 1)
    job = round(sum(lab["job_seconds"] for lab in labs), 1)
    clean = all(r["status"] == "graded" and not r["events"] for lab in labs for r in lab["runs"])
    result = {"command": "python scripts/bench_student.py " + " ".join(sys.argv[1:]),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cores": os.cpu_count(),
              "workers": args.workers, "students": args.students, "loadavg": {"before": before, "after": after},
              "wall_seconds": round(wall, 1), "reference_cpu_seconds": reference, "cpu_seconds_per_student": cpu, "job_seconds_per_student": job,
              "goal_cpu_seconds": GOAL, "least_acceptable_cpu_seconds": LEAST, "all_graded_cleanly": clean,
              "labs": labs}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "student.json").write_text(json.dumps(result, indent=1))
    write_section(result, args.out / "GRADING.md")
    print(json.dumps({k: v for k, v in result.items() if k != "labs"}, indent=1))
    return 0 if clean else 1


def write_section(result: dict, md: Path) -> None:
    cpu = result["cpu_seconds_per_student"]
    mark = "✔" if cpu <= GOAL else ("✘ (within the least acceptable 120)" if cpu <= LEAST else "✘")
    rows = "\n".join(
        f"| {lab['lab']} | {lab['cpu_seconds']} | {lab['job_seconds']} | "
        + " | ".join(str(lab["by_kind"][k]) for k in KINDS) + " |" for lab in result["labs"])
    totals = {k: round(sum(lab["by_kind"][k] for lab in result["labs"]), 1) for k in KINDS}
    section = f"""{BEGIN}
## What one student costs to grade

`{result['command']}` ({result['date']}, {result['cores']} cores, {result['workers']} workers, so each kernel
has {max(1, result['cores'] // result['workers'])} thread(s); load before {result['loadavg']['before']}, after
{result['loadavg']['after']}). One correct student's six labs (the solutions written into the released
notebooks), collected and graded by `python -m grader autograde` in the sandbox. CPU = the kernels' user + system
time; the other columns split each lab's job time (wall seconds) by the cells' execution timestamps.

| lab | kernel CPU s | job s | kernel start/stop | imports | data | training | tests | answers | other |
|---|---|---|---|---|---|---|---|---|---|
{rows}
| **student** | **{cpu}** | **{result['job_seconds_per_student']}** | {' | '.join(str(totals[k]) for k in KINDS)} |

**{cpu} CPU-s per student; goal ≤ {GOAL} {mark}** (≤ {LEAST} the least acceptable). Every job graded
without an event: {result['all_graded_cleanly']}. Wall time of the batch: {result['wall_seconds']} s. Reference
workload just before (`digit_cnn`, 2 epochs on the course subset, one thread, one copy per worker at once, the mean;
this VM's speed drifts):
{result.get('reference_cpu_seconds', 'n/a')} CPU-s. The owner's
share (prepare, record) is in "The owner's cost" below (about 0.03 CPU-s a notebook). Results: bench/student.json.
{END}"""
    text = md.read_text() if md.exists() else "# Grading benchmark\n"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    md.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
