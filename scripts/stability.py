"""Stability of the graded checks: does any outcome depend on training luck?

Runs a lab's solution and its whole mistake suite (tests/labkit.py ``run_lab`` +
``check_report``) under several seeds and TensorFlow thread counts, without editing the
notebooks: a kernel start-up snippet adds an offset to every ``keras.utils.set_random_seed``
the notebook calls and caps TensorFlow's thread pools (``labkit.startup_code``). For every
threshold check of the lab (``CHECKS`` below: one entry per lab) it records the measured
value and its margin to the threshold, and the number of mistake-suite problems.

Results: one file per lab, ``bench/stability/<lab>.json`` (runs are appended, so runs made on
different machines or branches add up), and the combined ``bench/stability.json`` and
``bench/STABILITY.md`` (table: lab, check, threshold, worst value over runs, margin, runs),
rebuilt from all per-lab files after every run (or alone with ``--report``).

    python scripts/stability.py --labs lab02_cnn --seeds 0 1 2 --threads 1 2
    python scripts/stability.py --report
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


@dataclass(frozen=True)
class Check:
    """A threshold in a graded test cell: ``value <op> threshold`` must hold."""

    cell: str         # the test cell's grade id
    name: str         # what is compared, in words
    value: str        # Python expression evaluated in the kernel after the notebook ran
    op: str           # ">", ">=", "<" or "<="
    threshold: float

    def margin(self, value: float) -> float:
        """How far ``value`` is on the right side of the threshold (negative: the check fails)."""
        return value - self.threshold if self.op in (">", ">=") else self.threshold - value


def _val(history: str) -> str:
    return f'{history}.history["val_accuracy"][-1]'


def _recorded_vs_evaluated(histories: str) -> str:
    # the hidden tests' "the recorded accuracy is the model's real accuracy" check, worst case
    return (f'max(abs(h.model.evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"] '
            f'- h.history["val_accuracy"][-1]) for h in {histories})')


# One entry per lab: every threshold check of its graded cells (labs without training: []).
CHECKS: dict[str, list[Check]] = {
    "lab01_data": [],
    "lab02_cnn": [
        Check("init_experiment_tests", "he_normal val_accuracy", _val('init_results["he_normal"]'), ">", 0.5),
        Check("init_experiment_tests", "zeros val_accuracy", _val('init_results["zeros"]'), "<", 0.25),
        Check("init_experiment_tests", "|evaluate - recorded| (worst of 3)",
              _recorded_vs_evaluated("init_results.values()"), "<", 0.02),
    ],
    "lab03_training": [
        *[Check("opt_results_tests", f"{name} val_accuracy", _val(f'opt_histories["{name}"]'), ">", 0.8)
          for name in ("SGD", "RMSprop", "Adam")],
        Check("opt_results_tests", "|evaluate - recorded| (worst of 3)",
              _recorded_vs_evaluated("opt_histories.values()"), "<", 0.02),
        Check("loss_histories_tests", "CCE - max(MSE, MAE) val_accuracy",
              '(lambda a: a["categorical_crossentropy"] - max(a["mean_squared_error"], a["mean_absolute_error"]))'
              '({k: h.history["val_accuracy"][-1] for k, h in loss_histories.items()})', ">=", 0.0),
        Check("lr_drop_tests", "learning-rate drops in the plateau run",
              'sum(b < a for a, b in zip(lr_history.history["learning_rate"], lr_history.history["learning_rate"][1:]))',
              ">=", 1),
        Check("dropout_ablation_tests", "|evaluate - recorded| (worst of 2)",
              _recorded_vs_evaluated("dropout_histories.values()"), "<", 0.02),
        Check("my_run_tests", "|evaluate - recorded| (my_run)", _recorded_vs_evaluated("[my_run]"), "<", 0.02),
    ],
    "lab04_evaluation": [
        # no threshold in the graded cells; this one says whether "evaluated on the validation set"
        # stays distinguishable from the test set by the loss (besides the accuracy)
        Check("test_accuracy_tests", "|test loss - validation loss|",
              "abs(float(test_loss) - model.evaluate(X_val, Y_val, verbose=0)[0])", ">", 1e-3),
        Check("test_accuracy_tests", "test accuracy (information)", "float(test_accuracy)", ">", 0.0),
    ],
    "lab05_augmentation": [
        Check("augmentation_tests", "median brightness ratio (lower bound)",
              "float(np.median(np.asarray(augmentation(X_train[:64], training=True)).sum(axis=(1, 2, 3))"
              " / X_train[:64].sum(axis=(1, 2, 3))))", ">", 0.6),
        Check("augmentation_tests", "median brightness ratio (upper bound)",
              "float(np.median(np.asarray(augmentation(X_train[:64], training=True)).sum(axis=(1, 2, 3))"
              " / X_train[:64].sum(axis=(1, 2, 3))))", "<", 1.5),
        Check("held_out_tests", "chosen model's validation accuracy", "course_eval.accuracy(chosen, X_val, Y_val)", ">=", 0.9),
        Check("held_out_tests", "plain validation accuracy (information)", "course_eval.accuracy(model_plain, X_val, Y_val)", ">", 0.0),
        Check("held_out_tests", "augmented validation accuracy (information)", "course_eval.accuracy(model_aug, X_val, Y_val)", ">", 0.0),
        Check("submission_tests", "test images on which the two models disagree",
              "int((course_eval.predicted_labels(model_plain, X_test) != course_eval.predicted_labels(model_aug, X_test)).sum())",
              ">", 0),
    ],
    "lab06_fashion": [
        Check("compare_tests", "CNN - MLP validation accuracy",
              "course_eval.accuracy(cnn, X_val, Y_val) - course_eval.accuracy(mlp, X_val_flat, Y_val)", ">", 0.0),
        # the "both evaluated on the test set" mistake is told apart when either model's accuracies differ
        Check("compare_tests", "max |validation - test accuracy| of the two models",
              "max(abs(float(mlp_val_acc) - float(mlp_test_acc)), abs(float(cnn_val_acc) - float(cnn_test_acc)))", ">", 1e-4),
        Check("compare_tests", "MLP validation accuracy (information)", "float(mlp_val_acc)", ">", 0.0),
        Check("compare_tests", "CNN validation accuracy (information)", "float(cnn_val_acc)", ">", 0.0),
    ],
}

OUT = ROOT / "bench"


def run_once(lab: str, seed: int, threads: int) -> dict:
    import labkit
    from mistakes import all_variants

    variants = all_variants()[lab]
    checks = CHECKS[lab]
    started = time.monotonic()
    report = labkit.run_lab(lab, variants, env=labkit.thread_env(threads),
                            startup=labkit.startup_code(seed, threads),
                            probes={c.name: c.value for c in checks})
    problems = labkit.check_report(report, variants)
    return {"seed_offset": seed, "threads": threads, "seconds": round(time.monotonic() - started, 1),
            "values": report.probes, "problems": problems, "variants": len(variants),
            "machine": f"{platform.node()} ({os.cpu_count()} cores)",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def lab_file(lab: str, out: Path = OUT) -> Path:
    return out / "stability" / f"{lab}.json"


def load_runs(lab: str, out: Path = OUT) -> list[dict]:
    path = lab_file(lab, out)
    return json.loads(path.read_text(encoding="utf-8"))["runs"] if path.exists() else []


def summarise(out: Path = OUT) -> dict:
    """Worst value and margin of every check over all recorded runs of every lab."""
    summary = {}
    for lab in sorted(CHECKS):
        runs = load_runs(lab, out)
        if not runs:
            continue
        rows = []
        for check in CHECKS[lab]:
            # runs recorded before the check existed (an older notebook) do not count for it
            values = [r["values"][check.name] for r in runs if check.name in r["values"]]
            numbers = [v for v in values if isinstance(v, (int, float))]
            worst = min(numbers, key=check.margin) if numbers else None
            rows.append({"cell": check.cell, "check": check.name, "op": check.op, "threshold": check.threshold,
                         "worst": worst, "margin": None if worst is None else round(check.margin(worst), 4),
                         "runs": len(numbers), "errors": [v for v in values if not isinstance(v, (int, float))]})
        problems = [p for r in runs for p in r["problems"]]
        summary[lab] = {"checks": rows, "runs": [{k: r[k] for k in ("seed_offset", "threads", "seconds")}
                                                  for r in runs],
                        "mistake_suite": {"runs": len(runs), "variants": runs[-1]["variants"],
                                          "runs_with_problems": sum(bool(r["problems"]) for r in runs),
                                          "problems": sorted(set(problems))}}
    return summary


def _fmt(x) -> str:
    if x is None:
        return "—"
    return f"{x:.4f}" if isinstance(x, float) and not float(x).is_integer() else f"{x:g}"


def write_report(out: Path = OUT) -> dict:
    summary = summarise(out)
    (out / "stability.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    lines = ["# Stability of the graded checks", "",
             "Generated by `python scripts/stability.py` (do not edit). Each run executes the lab's solution and",
             "its whole mistake suite with a seed offset added to every `keras.utils.set_random_seed` call and",
             "TensorFlow limited to the given number of threads. *Worst* is the value closest to the threshold",
             "over all runs; *margin* is its distance to the threshold (negative: the check failed).",
             "The goal is at least 5 seed offsets × {1, 2} threads per lab; the list below says what has run.", "",
             "| lab | check (test cell) | threshold | worst value | margin | runs |", "|---|---|---|---|---|---|"]
    for lab, s in summary.items():
        for row in s["checks"]:
            note = f" ({len(row['errors'])} errors)" if row["errors"] else ""
            check = row["check"].replace("|", "\\|")
            lines.append(f"| {lab} | {check} (`{row['cell']}`) | {row['op']} {row['threshold']:g} | "
                         f"{_fmt(row['worst'])} | {_fmt(row['margin'])} | {row['runs']}{note} |")
        m = s["mistake_suite"]
        lines.append(f"| {lab} | mistake suite: runs with a problem ({m['variants']} variants) | = 0 | "
                     f"{m['runs_with_problems']} | — | {m['runs']} |")
    lines += ["", "Runs (seed offset × threads, seconds):", ""]
    for lab, s in summary.items():
        runs = ", ".join(f"{r['seed_offset']}×{r['threads']} ({r['seconds']:.0f} s)" for r in s["runs"])
        lines.append(f"- {lab}: {len(s['runs'])} runs: {runs}")
        for p in s["mistake_suite"]["problems"]:
            lines.append(f"  - problem: {p}")
    (out / "STABILITY.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labs", nargs="+", default=sorted(CHECKS), choices=sorted(CHECKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4], help="seed offsets (0: the notebook's own)")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report", action="store_true", help="only rebuild stability.json and STABILITY.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not args.report:
        for lab in args.labs:
            for threads in args.threads:
                for seed in args.seeds:
                    result = run_once(lab, seed, threads)
                    path = lab_file(lab, args.out)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    runs = load_runs(lab, args.out) + [result]
                    path.write_text(json.dumps({"lab": lab, "runs": runs}, ensure_ascii=False, indent=1) + "\n",
                                    encoding="utf-8")
                    bad = []
                    for check in CHECKS[lab]:
                        value = result["values"].get(check.name)
                        if not isinstance(value, (int, float)) or check.margin(value) < 0:
                            bad.append(check.name)
                    print(f"{lab} seed+{seed} threads={threads}: {result['seconds']:.0f} s, "
                          f"{len(result['problems'])} mistake-suite problems, failing checks {bad}", flush=True)
                    write_report(args.out)
    summary = write_report(args.out)
    failing = [(lab, r["check"]) for lab, s in summary.items() for r in s["checks"]
               if r["margin"] is None or r["margin"] < 0]
    failing += [(lab, "mistake suite") for lab, s in summary.items() if s["mistake_suite"]["runs_with_problems"]]
    print(f"wrote {args.out / 'STABILITY.md'}; failing: {failing or 'none'}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
