"""Autograde a class: nbgrader does the grading, this module adds a sandbox and parallelism.

The rooms (read them in this order):

* ``grader/owner.py``: the owner (Workspace, Owner, Result), the only process that reads the
  submissions and writes the gradebook: prepare (check, sanitise) and record (grades);
* ``grader/worker.py``: the worker side, sandboxed execution of ONE job (bytes in, bytes out);
* ``grader/executors.py``: who runs the jobs, one ``submit(job) -> future`` contract:
  ``LocalExecutor`` (a local process pool, the default) and ``DaskExecutor``
  (``--scheduler tcp://HOST:8786``, a cluster of lab PCs);
* this module: the batch (:func:`autograde`), which ties them together, and re-exports the
  names other code imports from ``grader.grading``.

Before a batch, a trivial notebook runs through the sandbox (:func:`preflight`); if it fails,
nothing is graded. Each job's log (kernel stderr, the sandbox's messages) is
``logs/<lab>/<student>.log``.
"""
from __future__ import annotations

import concurrent.futures as cf
import os
from dataclasses import asdict

from . import gradebook, nbfast
from .executors import DaskExecutor, ExecutorGone, LocalExecutor, SubmissionKilledWorkers
from .owner import (DEFAULT_WORKSPACE, MAX_FILE_BYTES, STATE_VERSION, Owner, Result, Workspace,  # noqa: F401
                    check_file, _tree_digest)
from .worker import InfrastructureError, Job, Outcome, execute_job, job_sandbox, prime_cache  # noqa: F401


def default_workers() -> int:
    """The CPUs this process may use (its affinity mask, e.g. a container's cpuset)."""
    return max(1, len(os.sched_getaffinity(0)))


def batch_sandbox(limits, unsafe: bool, workers: int, uid_base: int) -> tuple[dict, list[str]]:
    """The sandbox settings every job of a batch gets, and notes on what is not available."""
    from .sandbox import bwrap_path, cgroup_support, remove_stale_cgroups

    threads = max(1, default_workers() // workers)
    notes = []
    cgroups = False
    if not unsafe:
        cgroups, why = cgroup_support()
        if cgroups:
            remove_stale_cgroups()
        else:
            notes.append(f"per-submission limits (total memory, processes, CPU quota) unavailable: {why}; "
                         "only the per-process limits apply (run the grader as root, or delegate a cgroup)")
    sandbox = {**asdict(limits), "enabled": not unsafe, "uid": uid_base, "threads": threads,
               "cgroups": cgroups, "bwrap": "" if unsafe else (bwrap_path() or "")}
    return sandbox, notes


def preflight(ws: Workspace, sandbox: dict) -> None:
    """One trivial notebook through the sandbox before a batch: stop with the reason when the
    sandbox does not work here, instead of grading a class to zeros."""
    from .sandbox import smoke_test

    problem = smoke_test(job_sandbox(dict(sandbox)))
    if problem:
        log = ws.root / "logs" / "preflight.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(problem, encoding="utf-8")
        raise SystemExit(f"autograde stopped before grading: a trivial notebook failed in the sandbox: "
                         f"{problem.splitlines()[0]}\nfull log: {log}")


def autograde(ws: Workspace, labs: list[str] | None = None, students: list[str] | None = None,
              workers: int | None = None, limits=None, unsafe: bool = False, force: bool = False,
              progress: bool = True, uid_base: int | None = None, scheduler: str | None = None,
              executor=None) -> list[Result]:
    """Grade every collected submission (of ``labs``/``students``); returns one Result each.

    Jobs run in a local process pool of ``workers`` processes, or on the Dask cluster whose
    scheduler is ``scheduler`` (``tcp://HOST:8786``), or on ``executor`` (any object with the
    contract of grader/executors.py)."""
    from .sandbox import Limits, check_available, default_uid_base

    uid_base = default_uid_base() if uid_base is None else uid_base
    if executor is None and not scheduler:
        check_available(unsafe)            # the local pool sandboxes on this machine
    limits = limits or Limits()
    workers = max(1, workers or default_workers())
    owner = Owner(ws, unsafe)
    labs = labs or [lab for lab in ws.labs() if ws.students(lab)]
    todo, results = [], []
    for lab in labs:
        for student in ws.students(lab):
            if students and student not in students:
                continue
            previous = None if force else owner.done(lab, student)
            if previous:
                results.append(previous)
            else:
                todo.append((lab, student))
    if not todo:
        return results
    notes: list[str] = []
    if executor is not None:
        sandbox = {**asdict(limits), "enabled": not unsafe, "uid": uid_base, "threads": 1, "cgroups": False,
                   "bwrap": ""}
        cache = ""
    elif scheduler:
        # the workers adapt bwrap, cgroups, threads and uid to their machine (grader/worker.py)
        sandbox = {**asdict(limits), "enabled": not unsafe, "uid": uid_base, "threads": 1, "cgroups": False,
                   "bwrap": ""}
        try:
            executor = DaskExecutor(scheduler)
        except ExecutorGone as exc:
            raise SystemExit(f"autograde: {exc}") from None
        if not unsafe:
            refusing = executor.workers_without_sandbox()
            notes += [f"Dask worker {w} cannot sandbox and refuses every job it gets ({why})"
                      for w, why in refusing.items()]
        cache = ""                               # each worker builds its own font cache
    else:
        sandbox, notes = batch_sandbox(limits, unsafe, workers, uid_base)
        preflight(ws, sandbox)
        cache = str(prime_cache(ws.root / "cache" / "matplotlib"))
        executor = LocalExecutor(workers, uid_base)
    bar = _progress(len(todo), progress)
    for note in notes:
        bar.write(f"warning: {note}")
    counter = {"failures": 0}

    def make_job(result, prepared, attempt=0):
        return owner.job(result, prepared, sandbox, cache, attempt)

    def finished(result):
        results.append(result)
        counter["failures"] += result.failed
        bar.update(1)
        bar.set_postfix(failures=counter["failures"])

    # a shared PostgreSQL gradebook: one owner per lab, shared rows created up front (grader/gradebook.py)
    claim = gradebook.claim(ws, sorted({lab for lab, _ in todo}), sorted({s for _, s in todo}))
    try:
        with nbfast.batch(ws.url, ws.course_id):     # one open gradebook for the batch (grader/nbfast.py)
            run_batch(owner, todo, executor, make_job, finished)
    except KeyboardInterrupt:
        bar.write("interrupted: graded submissions are kept; run autograde again to resume")
        raise
    except ExecutorGone as exc:
        bar.write(f"autograde stopped: {exc}")
        raise SystemExit(f"autograde stopped: {exc}; {len(results)} of {len(todo)} submissions were recorded "
                         "and are kept; run autograde again to grade the rest") from None
    finally:
        bar.close()
        claim.release()
        executor.close()
    return results


def run_batch(owner: Owner, todo, executor, make_job, finished) -> None:
    """Prepare every (lab, student) of ``todo``, have ``executor`` run the jobs, record them."""
    pending: dict[cf.Future, Result] = {}
    queue = list(todo)
    try:
        while queue or pending:
            # keep every worker busy plus one prepared submission waiting
            while queue and len(pending) < executor.slots + 1:
                lab, student = queue.pop(0)
                result, notebooks = owner.prepare(lab, student)
                if not notebooks:
                    finished(result)
                    continue
                pending[executor.submit(make_job(result, notebooks))] = result
            if not pending:
                continue
            done, _ = cf.wait(pending, timeout=2, return_when=cf.FIRST_COMPLETED)
            if not done:
                executor.check()
            for future in done:
                result = pending.pop(future)
                try:
                    outcome = future.result()
                except ExecutorGone:
                    raise
                except SubmissionKilledWorkers as exc:
                    owner.killed(result, str(exc))
                except Exception as exc:  # the grader's machinery failed: no grade, retried next run
                    owner.fail(result, exc)
                else:
                    owner.finish(result, outcome)
                finished(result)
    except KeyboardInterrupt:
        executor.interrupt()
        raise


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="nb", desc="autograde", disable=not enabled or total == 0,
                bar_format="{desc}: {n_fmt}/{total_fmt} {bar} {percentage:3.0f}% "
                           "[{elapsed}<{remaining}, {rate_fmt}] {postfix}")


def generate_feedback(ws: Workspace, labs: list[str] | None = None, progress: bool = True,
                      workers: int | None = None) -> list[str]:
    """Chinese HTML feedback, hidden tests removed, for every autograded submission (grader/feedback.py)."""
    from .feedback import generate

    with nbfast.batch(ws.url, ws.course_id):
        return generate(ws, labs=labs, progress=progress, workers=max(1, workers or default_workers()))
