"""Benchmark of the grader (``make bench-grade``): plain ``nbgrader autograde`` against
``python -m grader autograde`` with 1 and 2 workers, and the sandbox's overhead per notebook.

A class of N synthetic lab-1 submissions (correct, blank and one-mistake students, built
from the solution by scripts/synthetic.py) is graded four times on this machine, one after
the other: plain nbgrader (sequential, no sandbox), the grader with 1 worker without the
sandbox (``--unsafe``), with 1 worker and with 2 workers (sandboxed). The notebooks run with
the same settings as everywhere else (there is no grading mode). Results: bench/grading.json
and bench/GRADING.md.

    python scripts/bench_grading.py [-n 16] [--out bench]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
LAB = "lab01_data"
BEGIN, END = "<!-- bench_grading: begin -->", "<!-- bench_grading: end -->"


def load() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "n/a"


def make_class(n: int, folder: Path) -> None:
    import synthetic as sy

    for i in range(n):
        if i % 4 == 1:
            answers = {}
        elif i % 4 == 2:
            answers = sy.mistaken(LAB, i)          # one question answered with `pass`
        else:
            answers = sy.solved(LAB)
        sy.write(sy.student_notebook(LAB, answers), folder / f"s{i:03d}" / f"{LAB}.ipynb")


CPU: dict[str, float] = {}


def timed(cmd, label: str, **kwargs) -> float:
    """Wall-clock seconds of ``cmd``; its CPU seconds (all reaped descendants) go to CPU[label]."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[label] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall


def plain_nbgrader(class_dir: Path, root: Path, env: dict) -> float:
    root.mkdir(parents=True)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"load_subconfig({str(ROOT / 'grader' / 'nbgrader_config.py')!r})\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.source_directory = {str(ROOT / 'solutions')!r}\n"
        "c.CourseDirectory.release_directory = 'release'\n"
        "c.Execute.timeout = 300\n")
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    subprocess.run([nbgrader, "generate_assignment", LAB, "--force"], cwd=root, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.copytree(class_dir, root / "submitted")
    for student in (root / "submitted").iterdir():
        nested = student / LAB
        nested.mkdir()
        shutil.move(student / f"{LAB}.ipynb", nested / f"{LAB}.ipynb")
    return timed([nbgrader, "autograde", LAB, "--create"], "plain_nbgrader", cwd=root, env=env)


def ours(label: str, class_dir: Path, root: Path, env: dict, *flags: str) -> float:
    grader = [sys.executable, "-m", "grader"]
    subprocess.run([*grader, "collect", str(class_dir), "--workspace", str(root)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return timed([*grader, "autograde", LAB, "--workspace", str(root), "--quiet", *flags], label, env=env, cwd=ROOT)


def dask_cluster(workers: int, env: dict):
    """A local ``dask scheduler`` and ``workers`` ``dask worker --nthreads 1`` processes; returns
    (address, processes)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dask = str(Path(sys.executable).parent / "dask")
    address = f"tcp://127.0.0.1:{port}"
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT, start_new_session=True)
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)]
    procs += [subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                               **quiet) for _ in range(workers)]
    from distributed import Client

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with Client(address, timeout=5, set_as_default=False) as client:
                client.wait_for_workers(workers, timeout=max(1, deadline - time.monotonic()))
                return address, procs
        except (OSError, TimeoutError):
            time.sleep(0.5)
    stop(procs)
    raise SystemExit(f"bench: the local Dask cluster at {address} did not start")


def stop(procs) -> None:
    import signal

    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def grades(db: Path) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{db}") as gb:
        return {s.student.id: s.score for s in gb.find_assignment(LAB).submissions}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=16, help="number of submissions (default 16)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    args = parser.parse_args()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    work = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    try:
        make_class(args.n, work / "class")
        loads = {"before": load()}
        seconds = {"plain_nbgrader": plain_nbgrader(work / "class", work / "plain", env)}
        loads["after_plain"] = load()
        seconds["grader_1_worker_unsandboxed"] = ours("grader_1_worker_unsandboxed", work / "class", work / "w1u", env, "--workers", "1", "--unsafe")
        loads["after_unsandboxed"] = load()
        seconds["grader_1_worker"] = ours("grader_1_worker", work / "class", work / "w1", env, "--workers", "1")
        loads["after_1_worker"] = load()
        seconds["grader_2_workers"] = ours("grader_2_workers", work / "class", work / "w2", env, "--workers", "2")
        loads["after_2_workers"] = load()
        address, procs = dask_cluster(2, env)
        try:
            seconds["grader_dask_2_workers"] = ours("grader_dask_2_workers", work / "class", work / "dask", env,
                                                    "--scheduler", address)
        finally:
            stop(procs)
        loads["after_dask_2_workers"] = load()
        same = grades(work / "plain" / "gradebook.db") == grades(work / "w1" / "gradebook.db") \
            == grades(work / "w2" / "gradebook.db") == grades(work / "w1u" / "gradebook.db") \
            == grades(work / "dask" / "gradebook.db")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = args.n
    result = {
        "submissions": n, "lab": LAB, "cores": os.cpu_count(), "machine": platform.platform(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "loadavg": loads,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "seconds_per_notebook": {k: round(v / n, 2) for k, v in seconds.items()},
        "speedup_vs_plain": {k: round(seconds["plain_nbgrader"] / v, 2) for k, v in seconds.items()},
        # CPU time of reaped descendants: complete for plain nbgrader; for the grader only the
        # owner's share (its kernels are children of multiprocessing's forkserver)
        "cpu_seconds_reaped_per_notebook": {k: round(v / n, 2) for k, v in CPU.items()},
        "sandbox_overhead_per_notebook_s": round((seconds["grader_1_worker"] - seconds["grader_1_worker_unsandboxed"]) / n, 2),
        "sandbox_overhead_pct": round(100 * (seconds["grader_1_worker"] / seconds["grader_1_worker_unsandboxed"] - 1), 1),
        "same_grades_everywhere": same,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "grading.json").write_text(json.dumps(result, indent=1))
    rows = "\n".join(f"| {k} | {result['seconds'][k]} | {result['seconds_per_notebook'][k]} | "
                     f"{result['speedup_vs_plain'][k]}× |" for k in seconds)
    section = f"""{BEGIN}

`make bench-grade` ({n} synthetic lab-1 submissions, {result['cores']} cores, {result['date']},
{result['machine']}).

| run | seconds | s / notebook | throughput vs plain nbgrader |
|---|---|---|---|
{rows}

Sandbox overhead (1 worker, sandboxed vs `--unsafe`): {result['sandbox_overhead_per_notebook_s']} s per
notebook ({result['sandbox_overhead_pct']} % wall clock). Same grades in every run: {same}.

Load average (1, 5, 15 min) while it ran: {json.dumps(loads)}. Other jobs were using the
machine at the same time when the load is above the number of cores; the ratios are then
only indicative. `grader_dask_2_workers`: the same class through `--scheduler` on a local
`dask scheduler` with two `dask worker --nthreads 1` (started before the timer).
{END}"""
    md = args.out / "GRADING.md"
    text = md.read_text() if md.exists() else ""
    if BEGIN in text:          # the other sections (integrity, owner) stay
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = "# Grading benchmark\n\n" + section + "\n\n" + text.removeprefix("# Grading benchmark\n")
    md.write_text(text)
    print(json.dumps(result, indent=1))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
