"""``python -m bench`` — run the course benchmarks and write results.json / RESULTS.md."""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from utils import models

from . import fullscale, longrun, report, series

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("series", "lab05", "full", "scaling")
# The full-data CNN recipe (issue 16) is utils.models.FULL_DATA_RECIPE: 13 epochs in mixed bfloat16
# (AMX / AVX512-BF16 CPUs run it about 1.5x faster than float32, see the "float32" trial), no shifts.
_RECIPE = models.FULL_DATA_RECIPE
FULL_EPOCHS = _RECIPE["epochs"]
FULL_SHIFT = _RECIPE["shift"]
FULL_PRECISION = "bfloat16" if _RECIPE["mixed_bfloat16"] else "float32"


def machine() -> dict:
    import keras
    import tensorflow as tf

    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        memory_gb = None
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {"cores": os.cpu_count(), "cpu": model, "memory_gb": memory_gb, "gpus": gpus,
            "device": "GPU" if gpus else "CPU", "python": platform.python_version(),
            "tensorflow": tf.__version__, "keras": keras.__version__, "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {PARTS}")
    parser.add_argument("--out", type=Path, default=ROOT / "bench", help="folder for results.json / RESULTS.md")
    parser.add_argument("--labs", nargs="*", help="solution notebooks' lab names (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing under a minute")
    parser.add_argument("--cnn-epochs", type=int, default=FULL_EPOCHS, help="epochs of the full-scale CNN")
    parser.add_argument("--mlp-epochs", type=int, default=12, help="epochs of the full-scale MLP")
    parser.add_argument("--cnn-seeds", default="2,3,4",
                        help="seeds of the full-scale CNN runs (the figure is their median)")
    parser.add_argument("--cnn-shift", type=float, default=FULL_SHIFT,
                        help="random-translation factor of the full-scale CNN recipe (0: none)")
    parser.add_argument("--cnn-precision", choices=("bfloat16", "float32"), default=FULL_PRECISION,
                        help="the full-scale CNN's compute: Keras' mixed_bfloat16 policy or float32")
    parser.add_argument("--full-trials", default="",
                        help=f"comma-separated levers to try once each beside the recipe, of {sorted(fullscale.TRIALS)}"
                             " (kept in results.json until tried again)")
    parser.add_argument("--lab05-epochs", type=int, default=30, help="epochs of lab 5's network at the handout's length")
    parser.add_argument("--lab05-curves", type=Path,
                        help="where the lab05 part writes the curves lab 5 plots (default: data/lab05_curves.json "
                             "when --out is bench/, else <out>/lab05_curves.json)")
    parser.add_argument("--scaling-sizes", default="1000,4000,16000,60000")
    parser.add_argument("--scaling-epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, help="train on this many images only (smoke tests)")
    args = parser.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {sorted(unknown)}")
    args.out.mkdir(parents=True, exist_ok=True)
    results_file = args.out / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    results["machine"] = machine()
    results["command"] = "make bench" if argv is None and len(sys.argv) == 1 else "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv)
    # the parts can be run one at a time: each records its own command, date and load
    stamp = lambda: {"command": results["command"], "date": time.strftime("%Y-%m-%d %H:%M"),  # noqa: E731
                     "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    if "series" in parts:
        log("series: executing the solution notebooks")
        started = stamp()
        notebooks = sorted(ROOT.glob("solutions/*/*.ipynb"))
        if args.labs:
            notebooks = [n for n in notebooks if n.parent.name in args.labs]
        fresh = series.run_series(notebooks, repeats=args.repeats, log=log)
        fresh.update(started)
        if args.labs and "series" in results:
            # some labs re-measured: keep the others' figures, each lab with its own date
            for lab in fresh["labs"].values():
                lab.update(started)
            labs = {**results["series"]["labs"], **fresh["labs"]}
            fresh["labs"] = dict(sorted(labs.items()))
            fresh["total_seconds"] = round(sum(v["seconds"]["median"] for v in labs.values()), 1)
            fresh["command"] = results["series"].get("command", "") + "; " + fresh["command"]
        results["series"] = fresh
    if "lab05" in parts:
        log(f"lab05: lab 5's two networks, plain and augmented, {args.lab05_epochs} epochs (handout 004's length)")
        started = stamp()
        row = longrun.lab05_handout_length(args.lab05_epochs, limit=args.limit, log=log)
        results["lab05"] = {**row, **started}
        curves_file = args.lab05_curves or (
            ROOT / "data" / "lab05_curves.json" if args.out.resolve() == (ROOT / "bench").resolve()
            else args.out / "lab05_curves.json")
        curves_file.write_text(json.dumps(longrun.curves(results["lab05"]), indent=1, ensure_ascii=False) + "\n")
        log(f"  wrote {curves_file}")
    if "full" in parts:
        log("full: Fashion-MNIST 60,000 / 10,000")
        started = stamp()
        trials = [t for t in args.full_trials.split(",") if t]
        unknown = set(trials) - set(fullscale.TRIALS)
        if unknown:
            parser.error(f"unknown --full-trials: {sorted(unknown)}")
        sized = dict(limit=args.limit, test_limit=args.limit and max(200, args.limit // 5))
        bf16 = args.cnn_precision == "bfloat16"
        runs = [("mlp", args.mlp_epochs, {})]
        runs += [("cnn", args.cnn_epochs, {"seed": int(seed), "shift": args.cnn_shift, "mixed_bfloat16": bf16})
                 for seed in args.cnn_seeds.split(",") if seed]
        rows = []
        for kind, epochs, options in runs:
            row = fullscale.train_and_score(kind, epochs, **sized, **options)
            log(f"  {kind} (seed {row['seed']}): {row['test_accuracy']:.4f} in {row['train_seconds']:.0f} s "
                f"({row['params']:,} params)")
            rows.append(row)
        results["full"] = {"runs": rows, "anchors": fullscale.ANCHORS, **started}
        # lab 6 shows the recipe's measured figures (like lab 5's curves: data/ only when --out is bench/)
        recipe_file = ROOT / "data" / "fashion_recipe.json" if args.out.resolve() == (ROOT / "bench").resolve() \
            else args.out / "fashion_recipe.json"
        recipe_file.write_text(json.dumps(fullscale.recipe_summary(results["full"]), indent=1) + "\n")
        log(f"  wrote {recipe_file}")
        if trials:
            done = {t["trial"]: t for t in results.get("full_trials", {}).get("rows", [])}
            for name in trials:
                options = {"seed": 2, "shift": args.cnn_shift, "mixed_bfloat16": bf16, **fullscale.TRIALS[name]}
                row = fullscale.train_and_score("cnn", args.cnn_epochs, **sized, **options)
                done[name] = {"trial": name, **row, **stamp()}
                log(f"  trial {name}: {row['test_accuracy']:.4f} in {row['train_seconds']:.0f} s")
            results["full_trials"] = {"rows": [done[t] for t in sorted(done)]}
    if "scaling" in parts:
        log("scaling: seconds per epoch against training images")
        started = stamp()
        sizes = [int(s) for s in args.scaling_sizes.split(",")]
        rows = fullscale.scaling(sizes, epochs=args.scaling_epochs, repeats=args.repeats, log=log)
        fullscale.plot_scaling(rows, args.out / "scaling.png")
        results["scaling"] = {"rows": rows, "plot": "scaling.png", **started}
    results_file.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    (args.out / "RESULTS.md").write_text(report.markdown(results))
    log(f"wrote {results_file} and {args.out / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
