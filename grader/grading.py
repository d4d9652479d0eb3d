"""Autograde a class: nbgrader does the grading, this module adds a sandbox and parallelism.

One process (the *owner*) holds the gradebook. For every submission it

1. checks the file (empty, not UTF-8, malformed JSON, not a notebook: graded 0 with a reason)
   and compares its read-only and test cells with the gradebook's checksums (tampering);
2. runs nbgrader's ``Autograde`` converter with its sanitising preprocessors only (ClearOutput,
   DeduplicateIds, OverwriteKernelspec, OverwriteCells with ``add_missing_cells``,
   CheckCellMetadata): edited or deleted locked cells come back from the source;
3. hands the prepared notebook to a worker process, which executes it with nbgrader's
   ``Execute`` preprocessor in a bubblewrap sandbox (``grader/sandbox.py``) and writes it to
   ``executed/``;
4. runs ``Autograde`` again on the executed notebook with the remaining preprocessors
   (SaveAutoGrades, LimitOutput, AssignLatePenalties, ...) and no execution: the grades land
   in the gradebook exactly as with ``nbgrader autograde``.

A small state file per submission (``state/<lab>/<student>.json``, written last) makes runs
idempotent and resumable: a submission whose file did not change is not graded again, unless
the grader's own machinery failed on it (status ``failed``: kernel or sandbox did not start,
worker crashed), which is never a grade and is retried by the next run. Each job's log
(kernel stderr, the sandbox's messages) is ``logs/<lab>/<student>.log``. Before a batch, a
trivial notebook runs through the sandbox (:func:`preflight`); if it fails, nothing is graded.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import shutil
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import course, gradebook, integrity

DEFAULT_WORKSPACE = course.ROOT / "grading"
MAX_FILE_BYTES = 200 << 20
STATE_VERSION = 2                # 2: integrity flags (grader/integrity.py)


@dataclass
class Workspace:
    """The grading folder: an nbgrader course root whose source is ``solutions/``."""

    root: Path = DEFAULT_WORKSPACE
    db_url: str | None = None
    source: Path = course.SOLUTIONS

    def __post_init__(self):
        self.root = Path(self.root).resolve()
        self.source = Path(self.source).resolve()

    @property
    def submitted(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded(self) -> Path:
        return self.root / "autograded"

    @property
    def executed(self) -> Path:
        return self.root / "executed"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def url(self) -> str:
        return self.db_url or f"sqlite:///{self.root / 'gradebook.db'}"

    def config(self, **overrides):
        base = {
            "CourseDirectory": {"root": str(self.root), "source_directory": str(self.source),
                                "release_directory": "release", "db_url": self.url},
            "OverwriteCells": {"add_missing_cells": True},
        }
        for key, value in overrides.items():
            base.setdefault(key, {}).update(value)
        return course.load_config(**base)

    def api(self, **overrides):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        course.ensure_tools_on_path()
        config = self.config(**overrides)
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    def write_config(self) -> Path:
        """``<workspace>/nbgrader_config.py``: lets nbgrader's own tools (``nbgrader formgrader``
        for the written answers, ``nbgrader export``) run in the workspace."""
        path = self.root / "nbgrader_config.py"
        self.root.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# Written by `python -m grader`: nbgrader's own commands, run in this folder, use the course's setup.\n"
            "c = get_config()  # noqa: F821\n"
            f"load_subconfig({str(course.CONFIG_FILE)!r})  # noqa: F821\n"
            f"c.CourseDirectory.root = {str(self.root)!r}\n"
            f"c.CourseDirectory.source_directory = {str(self.source)!r}\n"
            "c.CourseDirectory.release_directory = 'release'\n"
            f"c.CourseDirectory.db_url = {self.url!r}\n"
            "c.OverwriteCells.add_missing_cells = True\n")
        return path

    def labs(self) -> list[str]:
        return course.labs(self.source)

    def students(self, lab: str) -> list[str]:
        return sorted(p.parent.name for p in self.submitted.glob(f"*/{lab}") if p.is_dir())


# ----------------------------------------------------------------------------------------
# owner side
# ----------------------------------------------------------------------------------------
def _preprocessor_lists():
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    after = [p for p in Autograde.class_traits()["autograde_preprocessors"].make_dynamic_default() if p is not Execute]
    return after


@dataclass
class Result:
    student: str
    lab: str
    status: str = "graded"                  # graded | invalid | failed
    problems: list[str] = field(default_factory=list)
    tampering: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    sha256: str = ""
    seconds: float = 0.0
    version: int = STATE_VERSION
    flags: list[str] = field(default_factory=list)   # integrity: reasons to review (grader/integrity.py)

    @property
    def failed(self) -> bool:
        return self.status != "graded" or bool(self.events)


class Owner:
    """Holds the gradebook; prepares and records submissions."""

    def __init__(self, ws: Workspace, unsafe: bool = False):
        self.ws = ws
        self.prepare_api = ws.api(Autograde={"autograde_preprocessors": []})
        self.record_api = ws.api(
            Autograde={"sanitize_preprocessors": [], "autograde_preprocessors": _preprocessor_lists()},
            CourseDirectory={"submitted_directory": "executed"})
        self.generate_api = ws.api()
        self._ready: set[str] = set()
        ws.write_config()

    def ensure_assignment(self, lab: str) -> None:
        """Put ``lab``'s source notebooks and checksums in the gradebook (nbgrader generate)."""
        if lab in self._ready:
            return
        from nbgrader.api import Gradebook, MissingEntry

        digest = _tree_digest(self.ws.source / lab)
        marker = self.ws.root / "release" / lab / ".source-digest"
        with Gradebook(self.ws.url) as gb:
            try:
                gb.find_assignment(lab)
                known = marker.exists() and marker.read_text() == digest
            except MissingEntry:
                known = False
        if not known:
            result = self.generate_api.generate_assignment(lab, force=True, create=True)
            if not result.get("success"):
                raise RuntimeError(f"nbgrader generate_assignment {lab} failed:\n{result.get('log')}")
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(digest)
        self._ready.add(lab)

    def state_file(self, lab: str, student: str) -> Path:
        return self.ws.state / lab / f"{student}.json"

    def done(self, lab: str, student: str) -> Result | None:
        """The stored result when this exact submission was graded already."""
        path = self.state_file(lab, student)
        if not path.exists():
            return None
        try:
            result = Result(**json.loads(path.read_text()))
        except (ValueError, TypeError):
            return None
        if result.version != STATE_VERSION or result.sha256 != _tree_digest(self.ws.submitted / student / lab):
            return None
        if result.status == "failed":      # the grader failed, not the student: try again
            return None
        return result

    def prepare(self, lab: str, student: str) -> tuple[Result, list[Path]]:
        """Check and sanitise one submission; returns the notebooks to execute (may be none)."""
        self.ensure_assignment(lab)
        folder = self.ws.submitted / student / lab
        result = Result(student, lab, sha256=_tree_digest(folder))
        self.state_file(lab, student).unlink(missing_ok=True)
        for stale in [self.ws.executed / student / lab, self.ws.autograded / student / lab]:
            shutil.rmtree(stale, ignore_errors=True)
        expected = self._source_notebooks(lab)
        for name in expected:
            path = folder / f"{name}.ipynb"
            problem = check_file(path) if path.exists() else f"{name}.ipynb missing from the submission"
            if problem:
                result.problems.append(problem)
            else:
                result.tampering += self.tampering(lab, name, nbformat.read(path, as_version=4))
        if result.problems:
            result.status = "invalid"
            self.zero(lab, student, result)
            return result, []
        out = self.prepare_api.autograde(lab, student, force=True, create=True)
        if not out.get("success"):
            result.status = "failed"
            result.problems.append("nbgrader could not prepare the notebook: " + _last_error(out))
            self.zero(lab, student, result)
            return result, []
        prepared = sorted((self.ws.autograded / student / lab).glob("*.ipynb"))
        result.flags += integrity.screen_files(prepared, self.ws.source / lab)    # integrity hook
        return result, prepared

    def record(self, result: Result) -> Result:
        """Save the grades of the executed notebooks (nbgrader's autograde without execution)."""
        lab, student = result.lab, result.student
        dest = self.ws.executed / student / lab
        stamp = self.ws.submitted / student / lab / "timestamp.txt"
        if stamp.exists() and dest.exists():
            shutil.copy(stamp, dest / "timestamp.txt")
        out = self.record_api.autograde(lab, student, force=True, create=True)
        if not out.get("success"):
            result.status = "failed"
            result.problems.append("nbgrader could not record the grades: " + _last_error(out))
            self.zero(lab, student, result)
        self.save(result)
        return result

    def fail(self, result: Result, exc: BaseException) -> Result:
        """The grader's own machinery failed on this submission (kernel or sandbox did not start,
        worker crashed): status ``failed``, no grade recorded, graded again by the next run."""
        result.status = "failed"
        if isinstance(exc, InfrastructureError):
            result.problems.append(f"grader failure, not graded (retried by the next autograde): {exc}")
        else:
            result.problems.append(f"worker crashed, not graded (retried by the next autograde): "
                                   f"{type(exc).__name__}: {exc}")
        self.save(result)
        return result

    def save(self, result: Result) -> None:
        path = self.state_file(result.lab, result.student)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(result), ensure_ascii=False, indent=1))
        tmp.replace(path)

    def zero(self, lab: str, student: str, result: Result) -> None:
        """Record 0 for every grade of a submission that cannot be graded (as nbgrader does
        for a missing notebook); manual grades already given are kept."""
        from nbgrader.api import Gradebook

        with Gradebook(self.ws.url) as gb:
            gb.update_or_create_student(student)
            submission = gb.update_or_create_submission(lab, student)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grade.auto_score = 0
                    grade.needs_manual_grade = False
            gb.db.commit()
        self.save(result)

    def _source_notebooks(self, lab: str) -> list[str]:
        return sorted(p.stem for p in (self.ws.source / lab).glob("*.ipynb"))

    def tampering(self, lab: str, notebook: str, nb) -> list[str]:
        """Read-only or test cells that differ from the released notebook (nbgrader's checksums)
        or are gone. nbgrader's OverwriteCells restores them before execution."""
        from nbgrader import utils

        release = nbformat.read(self.ws.root / "release" / lab / f"{notebook}.ipynb", as_version=4)
        reference = {}
        for cell in release.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            protected = meta.get("locked") or (meta.get("grade") and not meta.get("solution"))
            if meta.get("grade_id") and protected:
                reference[meta["grade_id"]] = (meta.get("checksum"), bool(meta.get("grade")))
        found, seen = [], set()
        for cell in nb.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid in reference and gid not in seen:
                seen.add(gid)
                if utils.compute_checksum(cell) != reference[gid][0]:
                    found.append(f"edited {gid} (restored)")
        for gid, (_, graded) in reference.items():
            if gid not in seen:
                found.append(f"deleted {gid}" + (" (restored)" if graded else ""))
        return found


def check_file(path: Path) -> str:
    """Why ``path`` cannot be graded, or "" when it is a readable notebook."""
    name = path.name
    size = path.stat().st_size
    if size == 0:
        return f"{name}: empty file"
    if size > MAX_FILE_BYTES:
        return f"{name}: {size >> 20} MB, larger than the {MAX_FILE_BYTES >> 20} MB accepted"
    data = path.read_bytes()
    if not data.strip():
        return f"{name}: empty file"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"{name}: not UTF-8 text (byte {exc.start}); not a notebook saved by Jupyter"
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"{name}: malformed notebook JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    if not isinstance(raw, dict) or "cells" not in raw:
        return f"{name}: JSON but not a notebook (no cells)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")       # missing cell ids: nbgrader copes
            nb = nbformat.reads(text, as_version=4)
            nbformat.validate(nb)
    except Exception as exc:  # nbformat's ValidationError, version errors
        return f"{name}: not a valid notebook: {str(exc).splitlines()[0][:200]}"
    return ""


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        if path.name in ("timestamp.txt", ".source-digest"):
            continue
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _last_error(out: dict) -> str:
    text = (out.get("error") or out.get("log") or "").strip().splitlines()
    errors = [line for line in text if "ERROR" in line or "Error" in line]
    return (errors or text or ["unknown error"])[-1][:300]


# ----------------------------------------------------------------------------------------
# worker side
# ----------------------------------------------------------------------------------------
@dataclass
class Job:
    student: str
    lab: str
    notebooks: list[str]           # prepared notebooks (autograded/<student>/<lab>/*.ipynb)
    executed_dir: str
    scratch_root: str              # host folder of the short per-job folders (sockets, seed files)
    sandbox: dict                  # Limits fields + enabled, uid, threads, cgroups, bwrap
    cache: str = ""                # matplotlib cache copied into each kernel's working folder
    log: str = ""                  # the job's log: kernel stderr, the sandbox's messages


class InfrastructureError(RuntimeError):
    """The grader's own machinery failed on a job (not the student's code): no grade."""


def execute_job(job: Job) -> tuple[list[str], float, list[str]]:
    """Run in a worker: execute each prepared notebook in the sandbox. Returns events, the time
    taken and the integrity flags; raises :class:`InfrastructureError` when a kernel could not be
    started (see ``job.log``)."""
    from .sandbox import SandboxedExecute, new_runtime

    started = time.monotonic()
    sandbox = _job_sandbox(job)
    events: list[str] = []
    flags: list[str] = []
    executed = Path(job.executed_dir)
    executed.mkdir(parents=True, exist_ok=True)
    logs: list[str] = []
    for nb_path in map(Path, job.notebooks):
        nb = nbformat.read(nb_path, as_version=4)
        plan = integrity.arm(nb)                        # integrity hook
        runtime = new_runtime(Path(job.scratch_root))
        try:
            # the notebooks (hidden tests included) stay outside: the kernel gets them cell by cell
            _seed(runtime / "seed", nb_path.parent, job.cache)
            runner = SandboxedExecute(sandbox=sandbox, scratch=runtime,
                                      extra_arguments=["--HistoryManager.enabled=False"])
            runner.run(nb)
        finally:
            shutil.rmtree(runtime, ignore_errors=True)
        logs.append(f"=== {nb_path.name}: {runner.infrastructure or 'ran'}; "
                    f"events: {runner.events}; peak memory {runner.peak_memory >> 20} MB\n{runner.kernel_log}")
        _write_log(job, logs)
        if runner.infrastructure:
            raise InfrastructureError(f"{nb_path.name}: {runner.infrastructure}"
                                      + (f" (log: {job.log})" if job.log else ""))
        events += [f"{nb_path.name}: {integrity.unshift_event(e)}" for e in runner.events]   # integrity hook
        flags += [f"{nb_path.name}: {f}" for f in integrity.verify(nb, plan)]        # integrity hook
        nbformat.write(nb, executed / nb_path.name)
    return events, time.monotonic() - started, flags


def _job_sandbox(job: Job):
    from .sandbox import Limits, Sandbox

    options = dict(job.sandbox)
    extra = {key: options.pop(key) for key in ("enabled", "uid", "threads", "cgroups", "bwrap") if key in options}
    return Sandbox(limits=Limits(**options), **extra)


def _seed(seed: Path, folder: Path, cache: str) -> None:
    """What the kernel finds in its working folder: the submission's other files (never the
    notebooks themselves, which hold the hidden tests) and the matplotlib font cache."""
    seed.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.is_file() and path.suffix != ".ipynb" and path.name != "timestamp.txt":
            shutil.copy(path, seed / path.name)
    if cache and Path(cache).exists():
        # a pre-built matplotlib font cache: without it every kernel rebuilds it (seconds)
        shutil.copytree(cache, seed / ".config" / "matplotlib", dirs_exist_ok=True)


def _write_log(job: Job, logs: list[str]) -> None:
    if job.log:
        Path(job.log).parent.mkdir(parents=True, exist_ok=True)
        Path(job.log).write_text("\n".join(logs), encoding="utf-8")


def _worker_init(uid_base: int, counter) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl-C is the owner's business
    with counter.get_lock():
        slot = counter.value
        counter.value += 1
    os.environ["GRADER_SANDBOX_UID"] = str(uid_base + slot)


def _execute_in_worker(job: Job):
    uid = os.environ.get("GRADER_SANDBOX_UID")
    if uid:
        job.sandbox["uid"] = int(uid)
    return execute_job(job)


# ----------------------------------------------------------------------------------------
# the batch
# ----------------------------------------------------------------------------------------
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

    problem = smoke_test(_job_sandbox(Job("", "", [], "", "", dict(sandbox))))
    if problem:
        log = ws.root / "logs" / "preflight.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(problem, encoding="utf-8")
        raise SystemExit(f"autograde stopped before grading: a trivial notebook failed in the sandbox: "
                         f"{problem.splitlines()[0]}\nfull log: {log}")


def autograde(ws: Workspace, labs: list[str] | None = None, students: list[str] | None = None,
              workers: int | None = None, limits=None, unsafe: bool = False, force: bool = False,
              progress: bool = True, uid_base: int | None = None) -> list[Result]:
    """Grade every collected submission (of ``labs``/``students``); returns one Result each."""
    from .sandbox import RUNTIME_ROOT, Limits, check_available, default_uid_base

    check_available(unsafe)
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
    uid_base = default_uid_base() if uid_base is None else uid_base
    sandbox, notes = batch_sandbox(limits, unsafe, workers, uid_base)
    bar = _progress(len(todo), progress)
    for note in notes:
        bar.write(f"warning: {note}")
    preflight(ws, sandbox)
    cache = prime_cache(ws.root / "cache" / "matplotlib")
    counter = {"failures": 0}

    def make_job(lab, student, notebooks):
        return Job(student, lab, [str(p) for p in notebooks], str(ws.executed / student / lab),
                   str(RUNTIME_ROOT), dict(sandbox), str(cache), str(ws.root / "logs" / lab / f"{student}.log"))

    def finished(result):
        results.append(result)
        counter["failures"] += result.failed
        bar.update(1)
        bar.set_postfix(failures=counter["failures"])

    # a shared PostgreSQL gradebook: one owner per lab, shared rows created up front (grader/gradebook.py)
    claim = gradebook.claim(ws, sorted({lab for lab, _ in todo}), sorted({s for _, s in todo}))
    try:
        _run_pool(owner, todo, workers, uid_base, make_job, finished)
    except KeyboardInterrupt:
        bar.write("interrupted: graded submissions are kept; run autograde again to resume")
        raise
    finally:
        bar.close()
        claim.release()
    return results


def _run_pool(owner: Owner, todo, workers: int, uid_base: int, make_job, finished) -> None:
    """Prepare, execute in ``workers`` processes and record every (lab, student) of ``todo``."""
    ctx = multiprocessing.get_context("forkserver")
    counter = ctx.Value("i", 0)

    def new_pool():
        return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                      initializer=_worker_init, initargs=(uid_base, counter))

    pool = new_pool()
    pending: dict[cf.Future, Result] = {}
    queue = list(todo)
    try:
        while queue or pending:
            # keep every worker busy plus one prepared submission waiting
            while queue and len(pending) < workers + 1:
                lab, student = queue.pop(0)
                result, notebooks = owner.prepare(lab, student)
                if not notebooks:
                    finished(result)
                    continue
                job = make_job(lab, student, notebooks)
                try:
                    pending[pool.submit(_execute_in_worker, job)] = result
                except cf.process.BrokenProcessPool:   # a worker died: start fresh ones
                    pool.shutdown(wait=False)
                    pool = new_pool()
                    pending[pool.submit(_execute_in_worker, job)] = result
            if not pending:
                continue
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in done:
                result = pending.pop(future)
                try:
                    result.events, result.seconds, flags = future.result()
                    result.flags += flags
                except Exception as exc:  # the grader's machinery failed: no grade, retried next run
                    owner.fail(result, exc)
                else:
                    owner.record(result)
                finished(result)
    except KeyboardInterrupt:
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()          # its sandboxed kernel dies with it (--die-with-parent)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def prime_cache(folder: Path) -> Path:
    """Build matplotlib's font cache once (trusted, outside the sandbox) for every kernel."""
    import subprocess
    import sys

    if not list(folder.glob("fontlist-*.json")):
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], check=False,
                       env=dict(os.environ, MPLCONFIGDIR=str(folder)), capture_output=True)
    return folder


def _progress(total: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="nb", desc="autograde", disable=not enabled or total == 0,
                bar_format="{desc}: {n_fmt}/{total_fmt} {bar} {percentage:3.0f}% "
                           "[{elapsed}<{remaining}, {rate_fmt}] {postfix}")


def generate_feedback(ws: Workspace, labs: list[str] | None = None, progress: bool = True) -> list[str]:
    """Chinese HTML feedback, hidden tests removed, for every autograded submission (grader/feedback.py)."""
    from .feedback import generate

    return generate(ws, labs=labs, progress=progress)
