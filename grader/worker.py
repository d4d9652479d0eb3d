"""The worker side: execute ONE prepared job in the bubblewrap sandbox (grader/sandbox.py).

A :class:`Job` carries bytes, not paths: the prepared notebooks (sanitised by the owner, hidden
tests included), the submission's other files and the sandbox settings. What comes back is an
:class:`Outcome`: the executed notebooks as bytes, the sandbox events, the integrity flags and
the job's log. The owner writes every file; a worker needs no shared file system with it, only
the course environment (this checkout's ``.venv``, ``utils/``, ``data/``) and bubblewrap.

Two entry points:

* :func:`execute_job` runs in a process of the local pool (grader/executors.py ``LocalExecutor``);
* :func:`run_on_this_machine` is the task a Dask worker runs (``DaskExecutor``): it adapts the
  sandbox settings to this machine (its own ``bwrap``, cgroups, cores, a free sandbox uid),
  refuses the job when this machine cannot sandbox, and executes the job in a child process
  (``python -m grader.worker``) with a hard wall-clock limit and a kill, because Dask cannot
  interrupt a running task (dask/distributed#4694).

:class:`InfrastructureError` means the grader's machinery failed (kernel or sandbox did not
start, no sandbox on the worker): never a grade; the owner records status ``failed``.
"""
from __future__ import annotations

import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import integrity

UID_SLOTS = 64          # sandbox uids a machine hands out from the batch's uid base (one per running job)


@dataclass
class Job:
    student: str
    lab: str
    notebooks: dict[str, bytes]                          # prepared notebooks: file name -> bytes
    sandbox: dict                                        # Limits fields + enabled, uid, threads, cgroups, bwrap
    files: dict[str, bytes] = field(default_factory=dict)  # the submission's other files (working folder)
    cache: str = ""          # a matplotlib cache folder on the worker's machine ("" = the worker builds one)
    attempt: int = 0         # how many times the owner has sent this submission in this batch


@dataclass
class Outcome:
    executed: dict[str, bytes]           # executed notebooks: file name -> bytes
    events: list[str]                    # sandbox events (timeouts, memory, output cut)
    seconds: float
    flags: list[str]                     # integrity: reasons to review
    log: str = ""                        # kernel stderr, the sandbox's messages
    worker: str = ""                     # host and pid that ran it
    cpu_seconds: float = 0.0             # CPU time of the kernels (user + system), all notebooks


class InfrastructureError(RuntimeError):
    """The grader's own machinery failed on a job (not the student's code): no grade.
    ``log`` is the job's log so far (the owner writes it to ``logs/<lab>/<student>.log``)."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message, log)
        self.log = log

    def __str__(self) -> str:
        return str(self.args[0])


def where() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def execute_job(job: Job) -> Outcome:
    """Execute each prepared notebook of ``job`` in the sandbox; raises
    :class:`InfrastructureError` when a kernel could not be started."""
    from .sandbox import SandboxedExecute, new_runtime, RUNTIME_ROOT

    started = time.monotonic()
    sandbox = job_sandbox(job.sandbox)
    events: list[str] = []
    flags: list[str] = []
    logs: list[str] = []
    executed: dict[str, bytes] = {}
    cpu = 0.0
    for name, data in sorted(job.notebooks.items()):
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        plan = integrity.arm(nb)                        # integrity hook
        runtime = new_runtime(RUNTIME_ROOT)
        try:
            # the notebooks (hidden tests included) stay outside: the kernel gets them cell by cell
            _seed(runtime / "seed", job.files, job.cache)
            runner = SandboxedExecute(sandbox=sandbox, scratch=runtime,
                                      extra_arguments=["--HistoryManager.enabled=False"])
            runner.run(nb)
        finally:
            shutil.rmtree(runtime, ignore_errors=True)
        logs.append(f"=== {name}: {runner.infrastructure or 'ran'} on {where()}; "
                    f"events: {runner.events}; peak memory {runner.peak_memory >> 20} MB; "
                    f"kernel CPU {runner.cpu_seconds:.1f} s; guard cell {cell_seconds(nb, 0):.1f} s\n"
                    f"{runner.kernel_log}")
        cpu += runner.cpu_seconds
        if runner.infrastructure:
            raise InfrastructureError(f"{name}: {runner.infrastructure}", "\n".join(logs))
        events += [f"{name}: {integrity.unshift_event(e)}" for e in runner.events]   # integrity hook
        flags += [f"{name}: {f}" for f in integrity.verify(nb, plan)]        # integrity hook
        executed[name] = nbformat.writes(nb).encode("utf-8")
    return Outcome(executed, events, time.monotonic() - started, flags, "\n".join(logs), where(), round(cpu, 2))


def cell_seconds(nb, index: int) -> float:
    """Wall seconds cell ``index`` of the executed ``nb`` ran, from the timestamps nbclient records
    (``metadata.execution``); 0.0 when it has none. Cell 0 of an armed notebook is the integrity
    guard, which also does the lab's imports: the log says what they cost."""
    from datetime import datetime

    try:
        timing = nb.cells[index].metadata.get("execution", {})
        start, end = (datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                      for key in ("iopub.status.busy", "shell.execute_reply"))
    except (IndexError, KeyError, ValueError, AttributeError):
        return 0.0
    return max(0.0, (end - start).total_seconds())


def job_sandbox(options: dict):
    """The :class:`grader.sandbox.Sandbox` of a job's settings dict."""
    from .sandbox import Limits, Sandbox

    options = dict(options)
    extra = {key: options.pop(key) for key in ("enabled", "uid", "threads", "cgroups", "bwrap") if key in options}
    return Sandbox(limits=Limits(**options), **extra)


def _seed(seed: Path, files: dict[str, bytes], cache: str) -> None:
    """What the kernel finds in its working folder: the submission's other files (never the
    notebooks themselves, which hold the hidden tests) and the matplotlib font cache."""
    seed.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (seed / Path(name).name).write_bytes(data)
    if cache and Path(cache).exists():
        # a pre-built matplotlib font cache: without it every kernel rebuilds it (seconds)
        shutil.copytree(cache, seed / ".config" / "matplotlib", dirs_exist_ok=True)


def prime_cache(folder: Path) -> Path:
    """Build matplotlib's font cache once (trusted, outside the sandbox) for every kernel."""
    if not list(Path(folder).glob("fontlist-*.json")):
        Path(folder).mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], check=False,
                       env=dict(os.environ, MPLCONFIGDIR=str(folder)), capture_output=True)
    return Path(folder)


# ----------------------------------------------------------------------------------------
# local pool processes
# ----------------------------------------------------------------------------------------
def _worker_init(uid_base: int, counter) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl-C is the owner's business
    with counter.get_lock():
        slot = counter.value
        counter.value += 1
    os.environ["GRADER_SANDBOX_UID"] = str(uid_base + slot)


def _execute_in_worker(job: Job) -> Outcome:
    uid = os.environ.get("GRADER_SANDBOX_UID")
    if uid:
        job.sandbox["uid"] = int(uid)
    return execute_job(job)


# ----------------------------------------------------------------------------------------
# a Dask worker (or any machine that receives a job from elsewhere)
# ----------------------------------------------------------------------------------------
_MACHINE: dict = {}


def sandbox_problem() -> str:
    """Why this machine cannot run a sandboxed job ("" when it can). ``GRADER_NO_SANDBOX=1``
    in the worker's environment declares a machine unfit on purpose."""
    from .sandbox import bwrap_path

    if os.environ.get("GRADER_NO_SANDBOX"):
        return "GRADER_NO_SANDBOX is set in this worker's environment"
    missing = [tool for tool, found in [("bwrap (bubblewrap)", bwrap_path()), ("prlimit", shutil.which("prlimit")),
                                        *([("setpriv", shutil.which("setpriv"))] if os.geteuid() == 0 else [])]
               if not found]
    if missing:
        return f"{', '.join(missing)} not found on this worker's PATH"
    return ""


def _machine() -> dict:
    """What this worker process knows of its machine (asked once per process)."""
    if not _MACHINE:
        from .sandbox import bwrap_path, cgroup_support

        cgroups, _ = cgroup_support()
        _MACHINE.update(bwrap=bwrap_path() or "", cgroups=cgroups, cores=max(1, len(os.sched_getaffinity(0))),
                        cache=str(prime_cache(Path(tempfile.gettempdir()) / f"cnn-grader-cache-{os.getuid()}"
                                              / "matplotlib")))
    return _MACHINE


class _UidSlot:
    """A sandbox uid no other job on this machine uses now: an flock'ed file per uid."""

    def __init__(self, base: int):
        self.base, self.handle, self.uid = base, None, base

    def __enter__(self) -> int:
        import fcntl

        folder = Path(tempfile.gettempdir()) / "cnn-grader-uids"
        folder.mkdir(mode=0o755, exist_ok=True)
        for uid in range(self.base, self.base + UID_SLOTS):
            handle = open(folder / f"{uid}.lock", "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            self.handle, self.uid = handle, uid
            return uid
        raise InfrastructureError(f"worker {where()}: all {UID_SLOTS} sandbox uids from {self.base} are in use")

    def __exit__(self, *exc):
        if self.handle:
            self.handle.close()
        return False


def run_on_this_machine(job: Job) -> Outcome:
    """The task of a Dask worker: refuse without a sandbox, otherwise run ``job`` in a child
    process with its own wall-clock limit and kill."""
    sandboxed = job.sandbox.get("enabled", True)
    if sandboxed:
        problem = sandbox_problem()
        if problem:
            raise InfrastructureError(f"worker {where()} refused the job: it cannot sandbox student code "
                                      f"({problem}); install bubblewrap there (see README) or stop that worker")
    machine = _machine()
    try:
        from distributed import get_worker

        nthreads = get_worker().state.nthreads
    except (ImportError, ValueError, AttributeError):
        nthreads = 1
    sandbox = dict(job.sandbox, threads=max(1, machine["cores"] // max(1, nthreads)),
                   cgroups=machine["cgroups"] and sandboxed, bwrap=machine["bwrap"] if sandboxed else "")
    limit = (job.sandbox.get("notebook_timeout", 3600) + 120) * max(1, len(job.notebooks))
    with _UidSlot(int(job.sandbox.get("uid", 60000))) as uid:
        local = Job(job.student, job.lab, job.notebooks, dict(sandbox, uid=uid), job.files,
                    machine["cache"], job.attempt)
        outcome = run_isolated(local, limit)
    outcome.worker = where()
    outcome.log = f"=== run by Dask worker {where()} (sandbox uid {uid})\n{outcome.log}"
    return outcome


def _die_with_parent() -> None:
    """Called first thing in the job's process: it dies (SIGKILL) with the worker that started
    it (``PR_SET_PDEATHSIG``), and at once when that worker is gone already."""
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    if str(os.getppid()) != os.environ.get("GRADER_WORKER_PID"):
        os._exit(1)


def run_isolated(job: Job, limit: float) -> Outcome:
    """``execute_job(job)`` in a child process (``python -m grader.worker``), killed with its
    process group after ``limit`` seconds or when the worker dies."""
    proc = subprocess.Popen([sys.executable, "-m", "grader.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            env=dict(os.environ, GRADER_WORKER_PID=str(os.getpid())))
    try:
        out, err = proc.communicate(pickle.dumps(job), timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        raise InfrastructureError(f"worker {where()}: the job ran over its wall-clock limit of {limit:.0f} s "
                                  "and was killed")
    except BaseException:
        os.killpg(proc.pid, 9)
        raise
    try:
        kind, value = pickle.loads(out)
    except Exception as exc:
        raise InfrastructureError(f"worker {where()}: the job's process ended with code {proc.returncode} "
                                  f"without a result ({len(out)} bytes: {type(exc).__name__}: {exc})",
                                  err.decode("utf-8", "replace")[-20000:]) from None
    if kind == "error":
        raise value
    return value


def _main() -> int:
    """``python -m grader.worker``: a pickled Job on stdin, ("ok", Outcome) or ("error", exc) on stdout."""
    if os.environ.get("GRADER_WORKER_PID"):
        _die_with_parent()
    job = pickle.loads(sys.stdin.buffer.read())
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)                # whatever else prints goes to stderr, not into the result
    try:
        reply = ("ok", execute_job(job))
    except InfrastructureError as exc:
        reply = ("error", exc)
    except Exception as exc:   # noqa: BLE001 - reported to the owner as the grader's failure
        import traceback

        reply = ("error", InfrastructureError(f"worker {where()}: {type(exc).__name__}: {exc}",
                                              traceback.format_exc()))
    stdout.write(pickle.dumps(reply))
    stdout.flush()
    return 0


if __name__ == "__main__":
    # run as grader.worker, not __main__: what it pickles must unpickle in the worker
    from grader.worker import _main as main

    sys.exit(main())
