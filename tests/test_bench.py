"""Smoke tests of the benchmark code on tiny inputs: it runs and writes well-formed results.

The benchmark itself (`make bench`) is not run here; no figure is asserted.
"""
import json
import subprocess
import sys

import nbformat
import pytest

from bench import report, series
from conftest import ROOT


@pytest.fixture(scope="module")
def tiny_notebook(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench") / "lab99_tiny"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "cnn-course", "display_name": "x", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(
        "import keras\nfrom utils import data, models\nsplit = data.prepare()\n"
        "net = models.compile_classifier(models.digit_cnn_5x5())\n"
        "net.fit(split.x_train[:64], split.y_train[:64], epochs=1, verbose=0)\n"
        "other = models.compile_classifier(models.digit_cnn())\n"
        "other.fit(split.x_train[:32], split.y_train[:32], epochs=1, verbose=0)\n"
        "chosen = net   # as lab 5 chooses on validation: the final network is this one, not the last trained")]
    path = folder / "lab99_tiny.ipynb"
    nbformat.write(nb, path)
    return path


def test_execute_times_and_scores_trained_models(tiny_notebook):
    result = series.execute(tiny_notebook)
    assert result["seconds"] > 0 and result["peak_mb"] > 50
    names = [m["name"] for m in result["models"]]
    assert names == ["chosen", "other"]
    first, last = result["models"]
    assert first["params"] == 242_062 and last["params"] == 324_906
    assert [m["final"] for m in result["models"]] == [True, False]
    assert all(0.0 <= m["heldout_accuracy"] <= 1.0 and m["train_seconds"] > 0 for m in result["models"])


def test_series_summary_and_report(tiny_notebook):
    out = series.run_series([tiny_notebook], repeats=2, log=lambda *_: None)
    row = out["labs"]["lab99_tiny"]
    assert row["seconds"]["runs"] == 2 and row["seconds"]["min"] <= row["seconds"]["median"] <= row["seconds"]["max"]
    assert len(row["accuracy_runs"]) == 2
    text = report.markdown({"machine": {"cores": 2}, "series": out})
    assert "| lab99_tiny | **chosen** | 242,062 |" in text and "| lab99_tiny | other | 324,906 |" in text


def test_report_marks_goals_both_ways():
    def results(accs, seconds):
        return {"full": {"runs": [{"model": "cnn", "keras_name": "c", "params": 900_000, "epochs": 10, "seed": i,
                                   "median_seconds_per_epoch": 40.0, "train_seconds": seconds,
                                   "test_accuracy": acc} for i, acc in enumerate(accs)], "anchors": []}}
    # the accuracy goal is the median of the runs, the time goal holds for each run
    text = report.markdown(results([0.934, 0.94, 0.936], 500))
    assert "**93.60%** (spread 93.40%–94.00%) | median ≥ 93.5% ✅" in text
    assert text.count("≤ 1M params ✅, ≤ 600 s ✅") == 3
    assert "median ≥ 93.5% ❌" in report.markdown(results([0.934, 0.93, 0.94], 500))
    assert "median ≥ 93.5% ✅" in report.markdown(results([0.935, 0.936], 500))
    assert "≤ 600 s ❌" in report.markdown(results([0.94], 700))


def test_command_line_writes_files(tmp_path):
    subprocess.run([sys.executable, "-m", "bench", "--parts", "lab05,scaling,full", "--out", str(tmp_path),
                    "--repeats", "1", "--scaling-sizes", "300,600", "--scaling-epochs", "2",
                    "--limit", "600", "--cnn-epochs", "1", "--mlp-epochs", "1", "--lab05-epochs", "2",
                    "--cnn-seeds", "2,3", "--full-trials", "float32,shift"],
                   cwd=ROOT, check=True, capture_output=True)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["machine"]["cores"] >= 1 and results["machine"]["tensorflow"]
    assert [r["images"] for r in results["scaling"]["rows"]] == [300, 600]
    assert [(r["model"], r["seed"]) for r in results["full"]["runs"]] == [("mlp", 2), ("cnn", 2), ("cnn", 3)]
    assert all(0 <= r["test_accuracy"] <= 1 for r in results["full"]["runs"])
    # the levers change how the network trains, never what it is
    trials = {t["trial"]: t for t in results["full_trials"]["rows"]}
    assert set(trials) == {"float32", "shift"} and {t["params"] for t in trials.values()} == {469_098}
    # the recipe computes in mixed bfloat16; each trial changes one thing from it
    assert all("mixed bfloat16" in r["recipe"] for r in results["full"]["runs"] if r["model"] == "cnn")
    assert "mixed bfloat16" not in trials["float32"]["recipe"]
    assert "random shifts" in trials["shift"]["recipe"] and "mixed bfloat16" in trials["shift"]["recipe"]
    # what lab 6 shows: the CNN runs' median, next to results.json when --out is not bench/
    shown = json.loads((tmp_path / "fashion_recipe.json").read_text())
    cnn = sorted(r["test_accuracy"] for r in results["full"]["runs"] if r["model"] == "cnn")
    assert [r["seed"] for r in shown["runs"]] == [2, 3] and shown["median_test_accuracy"] == round(sum(cnn) / 2, 4)
    assert shown["min_test_accuracy"] == cnn[0] and "mixed bfloat16" in shown["recipe"]
    lab05 = results["lab05"]
    assert lab05["params"] == 889_322 and lab05["train_images"] == 600 and lab05["epochs"] == 2
    assert len(lab05["heldout_by_epoch"]) == 2 and lab05["heldout_accuracy"] == lab05["heldout_by_epoch"][-1]
    assert all(0 <= a <= 1 for a in lab05["heldout_by_epoch"] + lab05["val_by_epoch"])
    assert [r["augmented"] for r in lab05["runs"]] == [False, True]
    assert [r["params"] for r in lab05["runs"]] == [889_322, 889_322]
    assert lab05["runs"][1]["heldout_by_epoch"] == lab05["heldout_by_epoch"]
    # the curves file goes next to results.json when --out is not bench/ (data/lab05_curves.json is left alone)
    curves = json.loads((tmp_path / "lab05_curves.json").read_text())
    check_lab05_curves(curves, epochs=2)
    assert all(abs(a - b) <= 1e-4 for a, b in zip(curves["histories"]["augmented"]["val_accuracy"], lab05["val_by_epoch"]))
    assert (tmp_path / "scaling.png").read_bytes()[:4] == b"\x89PNG"
    text = (tmp_path / "RESULTS.md").read_text()
    assert "median of 2 runs" in text and "### Levers tried" in text and "| shift |" in text
    assert "## 3. Full scale" in text and "## 4. Scaling" in text and "## 2b." in text and "Handout 003 CNN" in text
    assert "| kaggle_cnn_plain | 889,322 | 2 |" in text and "| kaggle_cnn_augmented | 889,322 | 2 |" in text


def check_lab05_curves(curves, epochs):
    """The curves file lab 5 plots: both models, a full Keras history each, one value per epoch."""
    assert curves["epochs"] == epochs and curves["command"].startswith("python -m bench") and curves["date"]
    assert sorted(curves["histories"]) == ["augmented", "plain"]
    for history in curves["histories"].values():
        assert sorted(history) == sorted(["loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"])
        assert all(len(values) == epochs for values in history.values())
        assert all(0 <= a <= 1 for a in history["accuracy"] + history["val_accuracy"])
        assert all(v > 0 for v in history["loss"] + history["val_loss"] + history["learning_rate"])
    assert all(0 <= a <= 1 for a in curves["heldout_accuracy"].values())


def test_series_of_some_labs_keeps_the_other_labs(tmp_path):
    old = {"median": 50.0, "min": 49.0, "max": 51.0, "runs": 3}
    kept = {"seconds": old, "peak_mb": old, "models": [], "accuracy_runs": [[]]}
    (tmp_path / "results.json").write_text(json.dumps(
        {"series": {"labs": {"lab99_kept": kept}, "total_seconds": 50.0, "command": "make bench"}}))
    subprocess.run([sys.executable, "-m", "bench", "--parts", "series", "--labs", "lab01_data", "--repeats", "1",
                    "--out", str(tmp_path)], cwd=ROOT, check=True, capture_output=True)
    series_out = json.loads((tmp_path / "results.json").read_text())["series"]
    assert list(series_out["labs"]) == ["lab01_data", "lab99_kept"]
    assert series_out["labs"]["lab99_kept"] == kept
    lab01 = series_out["labs"]["lab01_data"]
    assert lab01["date"] and lab01["seconds"]["runs"] == 1
    assert series_out["total_seconds"] == round(50.0 + lab01["seconds"]["median"], 1)
    assert series_out["command"].startswith("make bench; python -m bench --parts series --labs lab01_data")
    assert f"| lab01_data (measured {lab01['date']}) |" in (tmp_path / "RESULTS.md").read_text()


def test_shipped_lab05_curves_are_a_complete_30_epoch_run():
    """The curves lab 5 plots (data/lab05_curves.json, from `python -m bench --parts lab05`)."""
    curves = json.loads((ROOT / "data" / "lab05_curves.json").read_text(encoding="utf-8"))
    check_lab05_curves(curves, epochs=30)
    assert curves["train_images"] == 3780 and curves["batch_size"] == 86


def test_shipped_fashion_recipe_is_the_measured_one():
    """What lab 6 prints (data/fashion_recipe.json) is the full part of bench/results.json, not a copy typed in."""
    from bench import fullscale
    from utils import models

    results = json.loads((ROOT / "bench" / "results.json").read_text(encoding="utf-8"))
    shown = json.loads((ROOT / "data" / "fashion_recipe.json").read_text(encoding="utf-8"))
    assert shown == fullscale.recipe_summary(results["full"])
    assert len(shown["runs"]) >= 3 and shown["epochs"] == models.FULL_DATA_RECIPE["epochs"]


def test_student_cost_breakdown_splits_job_time_by_cell_kind():
    """scripts/bench_student.py's table: each cell's seconds from nbclient's timestamps, by kind; what is
    left of the job's time is the kernel's start and stop."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_student

    def cell(source, start, end, **nbgrader):
        c = nbformat.v4.new_code_cell(source)
        c.metadata["nbgrader"] = nbgrader
        c.metadata["execution"] = {"iopub.status.busy": f"2026-12-03T10:00:{start:06.3f}Z",
                                   "shell.execute_reply": f"2026-12-03T10:00:{end:06.3f}Z"}
        return c

    nb = nbformat.v4.new_notebook(cells=[
        cell("import keras", 1, 5), cell("data = course_data.prepare(full=FULL_DATA or None)", 5, 6),
        cell("h = model.fit(x, y)", 6, 16), cell("### BEGIN SOLUTION\nx = 1", 16, 16.5, solution=True),
        cell("assert x == 1", 16.5, 17, grade=True, points=1), cell("plots.plot_images(x)", 17, 19),
        nbformat.v4.new_markdown_cell("text")])
    parts = bench_student.breakdown(nb, job_seconds=21.0)
    assert parts["by_kind"] == {"kernel": 3.0, "imports": 4.0, "data": 1.0, "training": 10.0, "test": 0.5,
                                "answer": 0.5, "other": 2.0}
    assert parts["slowest_cells"][0] == {"seconds": 10.0, "index": 2, "kind": "training", "grade_id": ""}
    # the integrity guard cell (removed from the executed notebook) did the imports: the job log says how long
    log = "=== a.ipynb: ran on h:1; events: []; peak memory 300 MB; kernel CPU 8.1 s; guard cell 2.5 s\nW tf\n"
    assert bench_student.guard_seconds(log) == 2.5 and bench_student.guard_seconds("no such line") == 0.0
    parts = bench_student.breakdown(nb, job_seconds=21.0, guard=2.5)
    assert parts["by_kind"]["imports"] == 6.5 and parts["by_kind"]["kernel"] == 0.5
