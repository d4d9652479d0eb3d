"""Prove that each graded question rejects plausible mistakes and accepts other correct answers.

A lab's solution notebook runs once in one kernel (its set-up is not repeated per variant).
When the run reaches a solution cell that has variants, each variant is tried first, in a
*copy* of the kernel's namespace: the variant's code replaces the solution cell, then every
cell up to and including the question's test cell runs as well (so a test that checks a
training run sees the variant's model trained). Arrays and data frames are copied, other
objects are shared, so a variant must rebind names rather than mutate objects in place
(``X = X / 255`` and not ``X /= 255``). Then the real solution cell runs and the notebook
goes on. The outcome of every variant is recorded: passed, or the exception and its message.

Variants are data (``tests/mistakes/<lab>.py``: ``VARIANTS = [Variant(...), ...]``) so that
the grader's synthetic class can reuse them as whole student submissions.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parents[1]
MARK = "@@LABKIT@@"


@dataclass(frozen=True)
class Variant:
    """Another answer to one question.

    ``grade_id``: the solution cell's grade id. ``code``: what the student writes instead of
    the solution. ``correct``: whether the tests must accept it. ``message``: for a mistake, a
    fragment the failure message must contain (the Chinese feedback the student sees).
    ``loses``: the grade ids (test cells) this mistake costs in a whole submission; by default
    the question's own test cell.
    """

    grade_id: str
    name: str
    code: str
    correct: bool = False
    message: str = ""
    error: str = "AssertionError"
    loses: tuple[str, ...] = ()

    @property
    def test_id(self) -> str:
        return f"{self.grade_id}_tests"

    @property
    def lost(self) -> tuple[str, ...]:
        return self.loses or (self.test_id,)


@dataclass
class Outcome:
    status: str          # "pass" or the exception's class name
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "pass"


@dataclass
class LabReport:
    outcomes: dict[str, Outcome] = field(default_factory=dict)   # variant name -> outcome
    cell_errors: list[str] = field(default_factory=list)         # the real solution's failures
    probes: dict[str, object] = field(default_factory=dict)      # probe name -> value after the run
    executed: nbformat.NotebookNode | None = None                 # the solution with its outputs


def cell_grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solution_path(lab: str) -> Path:
    return next((ROOT / "solutions" / lab).glob("*.ipynb"))


_RUNNER = r'''
import json as _lk_json
import numpy as _lk_np
import pandas as _lk_pd

def _lk_run(_sources):
    _ns = {}
    for _k, _v in globals().items():
        if isinstance(_v, (_lk_np.ndarray, _lk_pd.DataFrame, _lk_pd.Series)):
            _v = _v.copy()
        _ns[_k] = _v
    try:
        for _src in _sources:
            exec(get_ipython().transform_cell(_src), _ns)
        return ("pass", "")
    except BaseException as _e:
        return (type(_e).__name__, str(_e))
'''


def startup_code(seed_offset: int = 0, threads: int | None = None) -> str:
    """Kernel start-up code for stability runs, without editing the notebooks.

    ``seed_offset`` is added to every ``keras.utils.set_random_seed(seed)`` the notebook calls
    (0 reproduces the notebook's own seeds); ``threads`` caps TensorFlow's intra- and inter-op
    thread pools (set before the notebook's first TensorFlow operation).
    """
    lines = ["import keras as _lk_keras"]
    if threads:
        lines += ["import tensorflow as _lk_tf",
                  f"_lk_tf.config.threading.set_intra_op_parallelism_threads({int(threads)})",
                  f"_lk_tf.config.threading.set_inter_op_parallelism_threads({int(threads)})"]
    if seed_offset:
        lines += ["_lk_set_random_seed = _lk_keras.utils.set_random_seed",
                  "def _lk_offset_seed(seed, _set=_lk_set_random_seed):",
                  f"    return _set(int(seed) + {int(seed_offset)})",
                  "_lk_keras.utils.set_random_seed = _lk_offset_seed"]
    return "\n".join(lines)


def thread_env(threads: int | None) -> dict:
    """Environment for a kernel limited to ``threads`` threads (TensorFlow, BLAS, OpenMP)."""
    if not threads:
        return {}
    n = str(int(threads))
    return {"TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": n, "OMP_NUM_THREADS": n,
            "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n}


class Kernel:
    def __init__(self, kernel_name: str, cwd: Path, env: dict | None = None):
        full_env = dict(os.environ, **(env or {}))
        full_env.setdefault("MPLBACKEND", "Agg")
        self.km, self.kc = start_new_kernel(kernel_name=kernel_name, cwd=str(cwd), env=full_env)

    def run(self, code: str, timeout: float = 600, outputs: list | None = None) -> tuple[str, str, str]:
        """Execute ``code``; return (status, error name, error message + captured stdout).
        ``outputs``, when given, receives the cell's outputs as nbformat output nodes."""
        out: list[str] = []
        err: list[str] = ["", ""]

        def hook(msg):
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                err[:] = [content["ename"], content["evalue"]]
            if outputs is not None and kind in ("stream", "display_data", "execute_result", "error"):
                outputs.append(nbformat.v4.output_from_msg(msg))

        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=hook, allow_stdin=False)
        status = reply["content"]["status"]
        return status, err[0], err[1] if status != "ok" else "".join(out)

    def shutdown(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def run_lab(lab: str, variants: list[Variant], env: dict | None = None, timeout: float = 900,
            startup: str = "", probes: dict[str, str] | None = None) -> LabReport:
    """Run ``lab``'s solution notebook once, trying every variant at its question.

    ``startup`` runs in the kernel before the first cell (see :func:`startup_code`).
    ``probes`` (name -> Python expression) are evaluated in the kernel after the last cell;
    their values (or ``"error: ..."``) land in ``report.probes``.
    """
    path = solution_path(lab)
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    by_question: dict[str, list[Variant]] = {}
    for v in variants:
        by_question.setdefault(v.grade_id, []).append(v)
    ids = [cell_grade_id(c) for c in cells]
    unknown = sorted(set(by_question) - set(ids))
    if unknown:
        raise ValueError(f"{lab}: no solution cell with grade id {unknown}")
    report = LabReport()
    kernel = Kernel(nb.metadata.kernelspec.name, path.parent, env)
    try:
        status, ename, evalue = kernel.run(_RUNNER + "\n" + startup)
        assert status == "ok", f"labkit runner failed: {ename}: {evalue}"
        for i, cell in enumerate(cells):
            if cell.cell_type != "code":
                continue
            gid = ids[i]
            for v in by_question.get(gid, []):
                end = ids.index(v.test_id) if v.test_id in ids else None
                if end is None:
                    raise ValueError(f"{lab}: no test cell {v.test_id!r} after {gid!r}")
                sources = [v.code] + [c.source for c in cells[i + 1:end + 1] if c.cell_type == "code"]
                code = f"print({MARK!r} + _lk_json.dumps(_lk_run({json.dumps(sources)})))"
                status, ename, text = kernel.run(code, timeout)
                if status != "ok":
                    report.outcomes[v.name] = Outcome(ename or "KernelError", text)
                    continue
                found = re.search(re.escape(MARK) + r"(.*)", text)
                result = json.loads(found.group(1)) if found else ["NoResult", text]
                report.outcomes[v.name] = Outcome(*result)
            cell.outputs, cell.execution_count = [], None
            status, ename, evalue = kernel.run(cell.source, timeout, outputs=cell.outputs)
            cell.execution_count = sum(1 for c in cells[:i + 1] if c.cell_type == "code")
            if status != "ok":
                report.cell_errors.append(f"cell {i} ({gid or 'unnamed'}): {ename}: {evalue}")
        if probes:
            report.probes = _probe(kernel, probes, timeout)
        report.executed = nb
    finally:
        kernel.shutdown()
    return report


_PROBE = r'''
def _lk_probe(_exprs):
    _out = {}
    for _name, _expr in _exprs.items():
        try:
            _value = eval(_expr, globals())
            _out[_name] = float(_value) if isinstance(_value, (int, float, _lk_np.number, _lk_np.bool_)) else repr(_value)
        except BaseException as _e:
            _out[_name] = f"error: {type(_e).__name__}: {_e}"
    return _out
'''


def _probe(kernel: Kernel, probes: dict[str, str], timeout: float) -> dict:
    status, ename, text = kernel.run(_PROBE + f"\nprint({MARK!r} + _lk_json.dumps(_lk_probe({json.dumps(probes)})))",
                                     timeout)
    found = re.search(re.escape(MARK) + r"(.*)", text) if status == "ok" else None
    if not found:
        return {name: f"error: {ename}: {text}" for name in probes}
    return json.loads(found.group(1))


def check_report(report: LabReport, variants: list[Variant]) -> list[str]:
    """Human-readable problems: a mistake accepted, a correct variant rejected, a wrong message."""
    problems = [f"the solution itself fails: {e}" for e in report.cell_errors]
    for v in variants:
        outcome = report.outcomes.get(v.name)
        if outcome is None:
            problems.append(f"{v.name}: never ran")
        elif v.correct and not outcome.passed:
            problems.append(f"{v.name} ({v.grade_id}): a correct answer is rejected: {outcome.status}: {outcome.message}")
        elif not v.correct and outcome.passed:
            problems.append(f"{v.name} ({v.grade_id}): a mistake is accepted")
        elif not v.correct and v.error and outcome.status != v.error:
            problems.append(f"{v.name} ({v.grade_id}): expected {v.error}, got {outcome.status}: {outcome.message}")
        elif not v.correct and v.message and v.message not in outcome.message:
            problems.append(f"{v.name} ({v.grade_id}): message {outcome.message!r} lacks {v.message!r}")
    return problems
