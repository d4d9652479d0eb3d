"""What the anti-forgery checks cost per notebook (issue: grades that cannot be forged).

One correct lab-1 submission is prepared as the grader prepares it (nbgrader's sanitising) and
executed in the real sandbox, alternately *without* and *with* the in-kernel guard
(``grader.integrity.arm``/``verify``), ``--repeat`` times each, one after the other in the same
run, so both sides see the same machine. The owner-side static screen is timed on the same
notebook. Results: bench/integrity.json and a section of bench/GRADING.md.

    python scripts/bench_integrity.py [--repeat 5] [--out bench]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
LAB = "lab01_data"


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def prepared_notebook(folder: Path) -> Path:
    """A correct lab-1 submission, collected and sanitised by the grader's owner."""
    import synthetic_class as sc
    from grader.grading import Owner, Workspace

    ws = Workspace(root=folder / "ws")
    sc.write(sc.student_notebook(LAB, sc.solved(LAB)), ws.submitted / "s000" / LAB / f"{LAB}.ipynb")
    result, notebooks = Owner(ws).prepare(LAB, "s000")
    assert notebooks and not result.problems, result
    return notebooks[0]


def run_once(path: Path, guarded: bool) -> dict:
    import nbformat

    from grader import integrity
    from grader.sandbox import Limits, Sandbox, SandboxedExecute, new_runtime

    nb = nbformat.read(path, as_version=4)
    wall, cpu = time.perf_counter(), _cpu()
    plan = integrity.arm(nb) if guarded else None
    runtime = new_runtime()
    try:
        runner = SandboxedExecute(sandbox=Sandbox(limits=Limits(), threads=1), scratch=runtime,
                                  extra_arguments=["--HistoryManager.enabled=False"])
        runner.run(nb)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    flags = integrity.verify(nb, plan) if guarded else []
    errors = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells
              if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
    return {"wall": time.perf_counter() - wall, "cpu": _cpu() - cpu, "flags": flags, "errors": errors,
            "infrastructure": runner.infrastructure}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench")
    args = parser.parse_args()
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    import nbformat

    from grader import integrity

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = Path("/proc/loadavg").read_text().split()[:3]
    runs = {"plain": [], "guarded": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = prepared_notebook(Path(tmp))
        nb = nbformat.read(path, as_version=4)
        source = nbformat.read(ROOT / "solutions" / LAB / f"{LAB}.ipynb", as_version=4)
        t = time.perf_counter()
        for _ in range(20):
            integrity.screen_notebook(nb, source)
        screen_s = (time.perf_counter() - t) / 20
        run_once(path, False)                      # warm-up: caches, page cache
        for _ in range(args.repeat):
            for kind in ("plain", "guarded"):
                r = run_once(path, kind == "guarded")
                assert not r["infrastructure"] and not r["errors"] and not r["flags"], r
                runs[kind].append(r)
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall", "cpu")} for k, v in runs.items()}
    growth = {m: med["guarded"][m] / med["plain"][m] - 1 for m in ("wall", "cpu")}
    result = {"command": "python scripts/bench_integrity.py --repeat %d" % args.repeat, "date": started,
              "load_at_start": load, "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
              "repeat": args.repeat, "screen_seconds": screen_s, "median": med, "growth": growth,
              "runs": {k: [{m: r[m] for m in ("wall", "cpu")} for r in v] for k, v in runs.items()}}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "integrity.json").write_text(json.dumps(result, indent=1))
    lines = [
        "", "## Cost of the anti-forgery checks", "",
        f"`{result['command']}`, {started}, load at start {' '.join(load)}. One correct lab-1 submission, "
        "executed in the sandbox alternately without and with the in-kernel guard; medians of "
        f"{args.repeat} runs each. Goal: ≤ 10% more per notebook.", "",
        "| | wall s per notebook | grader-side CPU s (kernel not included) |", "|---|---|---|",
        f"| without guard | {med['plain']['wall']:.2f} | {med['plain']['cpu']:.2f} |",
        f"| with guard | {med['guarded']['wall']:.2f} | {med['guarded']['cpu']:.2f} |",
        f"| growth | {growth['wall']:+.1%} {'✅' if growth['wall'] <= 0.10 else '❌'} | "
        f"{med['guarded']['cpu'] - med['plain']['cpu']:+.2f} s (arming, verifying) |", "",
        f"Static screen of the notebook (owner side): {screen_s * 1000:.1f} ms.", ""]
    report = args.out / "GRADING.md"
    text = report.read_text() if report.exists() else "# Grading benchmark\n"
    marker = "\n## Cost of the anti-forgery checks\n"
    if marker in text:
        text = text[:text.index(marker)]
    report.write_text(text.rstrip("\n") + "\n" + "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
