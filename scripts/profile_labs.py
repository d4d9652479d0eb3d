"""Where a lab's time goes: every cell of the solution notebooks timed in one kernel run.

    python scripts/profile_labs.py [--labs lab03_training ...] [--out bench/profile.json]

Each notebook runs once with nbclient, as Validate and the grader run it (same kernel, same
settings). The kernel's start-up is timed apart; each cell's wall time is recorded with its
kind (``scripts/bench_student.py``'s ``kind_of``): ``imports`` (the first code cell), ``training``
(a cell that calls ``fit``), ``test`` (an nbgrader test cell), ``answer`` (a solution cell), ``data`` or ``other``. The JSON keeps every cell;
the printed table sums the kinds per lab and lists the slowest cells.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from bench_student import KINDS, kind_of  # noqa: E402  one classifier of cells for both tables


def profile(notebook: Path, timeout: int = 900) -> dict:
    nb = nbformat.read(notebook, as_version=4)
    os.environ.setdefault("MPLBACKEND", "Agg")
    client = NotebookClient(nb, timeout=timeout, kernel_name=nb.metadata.kernelspec.name,
                            resources={"metadata": {"path": str(notebook.parent)}})
    cells, first = [], True
    start = time.perf_counter()
    with client.setup_kernel():
        kernel = time.perf_counter() - start
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            t = time.perf_counter()
            client.execute_cell(cell, index)
            cells.append({"index": index, "kind": kind_of(cell, first),
                          "grade_id": cell.metadata.get("nbgrader", {}).get("grade_id"),
                          "seconds": round(time.perf_counter() - t, 2),
                          "first_line": cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""})
            first = False
    total = time.perf_counter() - start
    by_kind = {k: 0.0 for k in KINDS}
    by_kind["kernel"] = round(kernel, 2)
    for c in cells:
        by_kind[c["kind"]] = round(by_kind[c["kind"]] + c["seconds"], 2)
    return {"lab": notebook.parent.name, "total_seconds": round(total, 2), "by_kind": by_kind, "cells": cells}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labs", nargs="*")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "profile.json")
    parser.add_argument("--top", type=int, default=5, help="slowest cells listed per lab")
    args = parser.parse_args(argv)
    notebooks = sorted(ROOT.glob("solutions/*/*.ipynb"))
    if args.labs:
        notebooks = [n for n in notebooks if n.parent.name in args.labs]
    runs = {"date": time.strftime("%Y-%m-%d %H:%M"), "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "command": "python scripts/profile_labs.py" + (" --labs " + " ".join(args.labs) if args.labs else ""),
            "labs": []}
    print("| lab | total | " + " | ".join(KINDS) + " |")
    print("|---|" + "---|" * (len(KINDS) + 1))
    for notebook in notebooks:
        result = profile(notebook)
        runs["labs"].append(result)
        print(f"| {result['lab']} | {result['total_seconds']:.1f} | "
              + " | ".join(f"{result['by_kind'][k]:.1f}" for k in KINDS) + " |", flush=True)
        for c in sorted(result["cells"], key=lambda c: -c["seconds"])[:args.top]:
            print(f"|   cell {c['index']} ({c['kind']}, {c['grade_id'] or '-'}) | {c['seconds']:.1f} | {c['first_line']} |",
                  flush=True)
    args.out.write_text(json.dumps(runs, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
