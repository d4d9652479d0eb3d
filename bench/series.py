"""Execute solution notebooks with nbclient, timing them and sampling their memory.

The kernel's process tree is sampled every 0.1 s with psutil (resident memory, summed over
the kernel and its children); the peak is reported. Before the notebook's own cells a hidden
set-up cell wraps ``keras.Model.fit`` so that every model records its training seconds; after
them an evaluation cell scores every trained model on the held-out file of the lab's dataset.
The wall time runs from the kernel's start to the notebook's last cell: it includes the
set-up cell (which imports Keras, as every lab does first) but not the evaluation cell.
"""
from __future__ import annotations

import json
import os
import statistics
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]

SETUP = r'''
import time as _bench_time, keras as _bench_keras
_bench_fit = _bench_keras.Model.fit
_bench_order = []
def _bench_timed_fit(self, *args, **kwargs):
    start = _bench_time.perf_counter()
    try:
        return _bench_fit(self, *args, **kwargs)
    finally:
        self._bench_fit_seconds = getattr(self, "_bench_fit_seconds", 0.0) + _bench_time.perf_counter() - start
        if id(self) not in [id(m) for m in _bench_order]:
            _bench_order.append(self)
        else:
            _bench_order.remove(self); _bench_order.append(self)
_bench_keras.Model.fit = _bench_timed_fit
'''

EVALUATE = r'''
import json as _bench_json, numpy as _bench_np
from utils import data as _bench_data
def _bench_report(dataset):
    split = _bench_data.prepare(dataset, full=False)
    x, y = split.x_test, _bench_np.argmax(split.y_test, axis=1)
    names = {}
    for k, v in globals().items():  # the longest name of each network (model_plain, not the loop's m)
        if isinstance(v, _bench_keras.Model) and not k.startswith("_") and len(k) > len(names.get(id(v), "")):
            names[id(v)] = k
    if not _bench_order:
        return []
    # the lab's final network: the one it chose on validation (lab 5's `chosen`), else the last one trained
    final = globals().get("chosen")
    final = final if isinstance(final, _bench_keras.Model) and final in _bench_order else _bench_order[-1]
    names[id(final)] = "chosen" if final is globals().get("chosen") else names.get(id(final), final.name)
    rows = []
    for position, model in enumerate(_bench_order):
        shape = tuple(model.inputs[0].shape[1:]) if model.inputs else None
        try:
            xin = x.reshape((len(x),) + tuple(shape)) if shape else x
            pred = _bench_np.argmax(model.predict(xin, verbose=0), axis=1)
            acc = float((pred == y).mean())
        except Exception as exc:  # a model of another input shape
            acc = None
        rows.append({"name": names.get(id(model), model.name), "keras_name": model.name,
                     "params": int(model.count_params()), "train_seconds": round(model._bench_fit_seconds, 2),
                     "heldout_accuracy": acc, "final": model is final})
    return rows
print("@@BENCH@@" + _bench_json.dumps(_bench_report(__DATASET__)))
'''


class MemorySampler(threading.Thread):
    """Peak resident memory of the kernel processes started during a run."""

    def __init__(self, interval: float = 0.1):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = 0
        self._halt = threading.Event()
        self.me = psutil.Process()

    def run(self):
        while not self._halt.is_set():
            total = 0
            try:
                for child in self.me.children(recursive=True):
                    try:
                        total += child.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join()


def dataset_of(notebook: Path) -> str:
    return "fashion" if "fashion" in notebook.stem else "mnist"


def execute(notebook: Path, timeout: int = 1800, env: dict | None = None) -> dict:
    """One execution: ``{"seconds", "peak_mb", "models": [...]}``."""
    nb = nbformat.read(notebook, as_version=4)
    setup = nbformat.v4.new_code_cell(SETUP)
    evaluate = nbformat.v4.new_code_cell(EVALUATE.replace("__DATASET__", repr(dataset_of(notebook))))
    old_env = dict(os.environ)
    os.environ.update(env or {})
    os.environ.setdefault("MPLBACKEND", "Agg")
    cells = list(nb.cells)
    nb.cells = [setup, *cells, evaluate]
    client = NotebookClient(nb, timeout=timeout, kernel_name=nb.metadata.kernelspec.name,
                            resources={"metadata": {"path": str(notebook.parent)}})
    sampler = MemorySampler()
    sampler.start()
    start = time.perf_counter()  # kernel start-up counts: a student waits for it too
    try:
        with client.setup_kernel():
            client.execute_cell(setup, 0)
            for index, cell in enumerate(cells, start=1):
                client.execute_cell(cell, index)
            seconds = time.perf_counter() - start
            out = client.execute_cell(evaluate, len(cells) + 1)
    finally:
        sampler.stop()
        os.environ.clear()
        os.environ.update(old_env)
    text = "".join(o.get("text", "") for o in out.outputs if o.get("output_type") == "stream")
    models = json.loads(text.split("@@BENCH@@", 1)[1]) if "@@BENCH@@" in text else []
    return {"seconds": round(seconds, 2), "peak_mb": round(sampler.peak / 2**20, 1), "models": models}


def summarise(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "runs": len(values)}


def run_series(notebooks: list[Path], repeats: int = 3, long_run: float = 60.0, log=print) -> dict:
    """Execute every notebook ``repeats`` times (once when the first run exceeds ``long_run`` s)."""
    labs = {}
    for notebook in notebooks:
        runs = []
        for k in range(repeats):
            result = execute(notebook)
            runs.append(result)
            log(f"  {notebook.stem}: run {k + 1}: {result['seconds']:.1f} s, {result['peak_mb']:.0f} MB")
            if k == 0 and result["seconds"] > long_run:
                break
        labs[notebook.parent.name] = {
            "seconds": summarise([r["seconds"] for r in runs]),
            "peak_mb": summarise([r["peak_mb"] for r in runs]),
            "models": runs[0]["models"],
            "accuracy_runs": [[m["heldout_accuracy"] for m in r["models"]] for r in runs],
        }
    total = sum(v["seconds"]["median"] for v in labs.values())
    return {"labs": labs, "total_seconds": round(total, 1)}
