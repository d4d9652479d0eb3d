"""Executors: who runs the jobs the owner prepares. One contract for all of them:

* ``submit(job) -> concurrent.futures.Future`` whose result is a :class:`grader.worker.Outcome`,
  or whose exception is :class:`grader.worker.InfrastructureError` (the grader failed: status
  ``failed``), :class:`SubmissionKilledWorkers` (the job killed every worker it was sent to: the
  student's 0, flagged), or anything else (a worker crashed: status ``failed``);
* ``slots``: how many jobs run at once (the owner keeps one more prepared and waiting);
* ``check()``: raises :class:`ExecutorGone` when the executor cannot go on (the batch stops;
  what was recorded stays, a rerun resumes);
* ``interrupt()`` (Ctrl-C: kill what runs) and ``close()``.

:class:`LocalExecutor` is a local process pool (the default); :class:`DaskExecutor` sends
every job to a ``dask.distributed`` cluster (``--scheduler tcp://HOST:8786``), where the task
(:func:`grader.worker.run_on_this_machine`) runs the job in a sandboxed child process.
"""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import multiprocessing
import threading
import time
import uuid

from .worker import Job, _execute_in_worker, _worker_init, run_on_this_machine


class ExecutorGone(RuntimeError):
    """The executor cannot run jobs any more (e.g. the Dask scheduler went away)."""


class SubmissionKilledWorkers(RuntimeError):
    """Every worker that ran this job died while running it (Dask's ``KilledWorker``)."""


class LocalExecutor:
    """``workers`` processes of this machine (forkserver); a pool broken by a dying worker is
    replaced at the next submit, the jobs it held fail (status ``failed``, retried next run)."""

    def __init__(self, workers: int, uid_base: int):
        self.slots = workers
        self._ctx = multiprocessing.get_context("forkserver")
        self._counter = self._ctx.Value("i", 0)
        self._uid_base = uid_base
        self._pool = self._new_pool()

    def _new_pool(self):
        return cf.ProcessPoolExecutor(max_workers=self.slots, mp_context=self._ctx,
                                      initializer=_worker_init, initargs=(self._uid_base, self._counter))

    def submit(self, job: Job) -> cf.Future:
        try:
            return self._pool.submit(_execute_in_worker, job)
        except cf.process.BrokenProcessPool:   # a worker died: start fresh ones
            self._pool.shutdown(wait=False)
            self._pool = self._new_pool()
            return self._pool.submit(_execute_in_worker, job)

    def check(self) -> None:
        return None

    def interrupt(self) -> None:
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.terminate()          # its sandboxed kernel dies with it (--die-with-parent)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class NoopExecutor:
    """Executes nothing: the prepared notebook comes back at once as if executed (the owner's
    own cost, ``scripts/bench_owner.py``). Never for grading: no test cell runs."""

    slots = 64

    def submit(self, job: Job) -> cf.Future:
        from .worker import Outcome

        future: cf.Future = cf.Future()
        future.set_result(Outcome(dict(job.notebooks), [], 0.0, [], "no-op executor: nothing ran\n", "noop"))
        return future

    def check(self) -> None:
        return None

    def interrupt(self) -> None:
        return None

    def close(self) -> None:
        return None


class DaskExecutor:
    """Every job goes to the Dask cluster at ``address`` (``tcp://HOST:8786``).

    Each submission is one task with a unique key (lab, student, attempt, random suffix) and
    ``pure=False``: never deduplicated, never taken from a cache. A worker that dies mid-job
    makes the scheduler run the task again on another worker (same job, same grade). A task
    that was running on ``allowed-failures`` + 1 dying workers ends with ``KilledWorker``:
    :class:`SubmissionKilledWorkers`, that student's 0, not everyone's. A scheduler that
    stays unreachable for ``grace`` seconds raises :class:`ExecutorGone` from :meth:`check`.
    """

    def __init__(self, address: str, connect_timeout: float = 30, grace: float = 20):
        from distributed import Client

        self.address, self.grace = address, grace
        try:
            self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ExecutorGone(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self._lost_since: float | None = None
        self._futures: dict[cf.Future, object] = {}
        self._lock = threading.Lock()

    @property
    def slots(self) -> int:
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # noqa: BLE001 - scheduler unreachable: check() decides
            return 1

    def workers_without_sandbox(self) -> dict[str, str]:
        """{worker address: why it cannot sandbox} (those workers refuse every job)."""
        from .worker import sandbox_problem

        return {w: p for w, p in self.client.run(sandbox_problem).items() if p}

    def submit(self, job: Job) -> cf.Future:
        key = f"grade-{job.lab}-{job.student}-{job.attempt}-{uuid.uuid4().hex[:8]}"
        dask_future = self.client.submit(run_on_this_machine, job, key=key, pure=False, retries=0)
        bridge: cf.Future = cf.Future()
        bridge.set_running_or_notify_cancel()

        def copy(done):
            from distributed import KilledWorker

            try:
                bridge.set_result(done.result())
            except KilledWorker as exc:
                bridge.set_exception(SubmissionKilledWorkers(f"KilledWorker: {exc}"))
            except (cf.CancelledError, asyncio.CancelledError) as exc:
                # Dask cancels every future of a client that lost its scheduler
                if self.client.status != "running":
                    bridge.set_exception(ExecutorGone(f"lost the Dask scheduler at {self.address} "
                                                      f"(client {self.client.status})"))
                else:
                    bridge.set_exception(RuntimeError(f"Dask cancelled the job: {exc}"))
            except BaseException as exc:  # noqa: BLE001 - the owner decides
                bridge.set_exception(exc)
            with self._lock:
                self._futures.pop(bridge, None)

        with self._lock:
            self._futures[bridge] = dask_future
        dask_future.add_done_callback(copy)
        return bridge

    def check(self) -> None:
        if self.client.status == "running":
            self._lost_since = None
            return
        now = time.monotonic()
        self._lost_since = self._lost_since or now
        if self.client.status in ("closed", "closing", "failed") or now - self._lost_since > self.grace:
            raise ExecutorGone(f"lost the Dask scheduler at {self.address} (client {self.client.status})")

    def interrupt(self) -> None:
        with self._lock:
            futures = list(self._futures.values())
        try:
            self.client.cancel(futures, force=True)
        except Exception:  # noqa: BLE001 - scheduler gone already
            pass

    def close(self) -> None:
        try:
            self.client.close(timeout=10)
        except Exception:  # noqa: BLE001 - scheduler gone already
            pass
