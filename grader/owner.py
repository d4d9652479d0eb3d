"""The owner: the only process that reads submissions and writes the gradebook.

For every submission it

1. checks the file (empty, not UTF-8, malformed JSON, not a notebook: graded 0 with a reason)
   and compares its read-only and test cells with the gradebook's checksums (tampering);
2. runs nbgrader's ``Autograde`` converter with its sanitising preprocessors only (ClearOutput,
   DeduplicateIds, OverwriteKernelspec, OverwriteCells with ``add_missing_cells``,
   CheckCellMetadata): edited or deleted locked cells come back from the source
   (:meth:`Owner.prepare`), and packs the prepared notebooks as bytes into a
   :class:`grader.worker.Job` (:meth:`Owner.job`);
3. (an executor, grader/executors.py, has a worker execute the job in the sandbox);
4. writes the executed notebooks it gets back to ``executed/`` and the job's log to
   ``logs/<lab>/<student>.log``, then runs ``Autograde`` again on them with the remaining
   preprocessors (SaveAutoGrades, LimitOutput, AssignLatePenalties, ...) and no execution: the
   grades land in the gradebook exactly as with ``nbgrader autograde`` (:meth:`Owner.finish`).

A small state file per submission (``state/<lab>/<student>.json``, written last) makes runs
idempotent and resumable: a submission whose file did not change is not graded again, unless
the grader's own machinery failed on it (status ``failed``), which is never a grade and is
retried by the next run.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import course, integrity, nbfast
from .worker import InfrastructureError, Job, Outcome

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
    def course_id(self) -> str:
        return self.config().CourseDirectory.get("course_id") or ""

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


def _preprocessor_lists():
    """nbgrader autograde's two preprocessor lists: sanitising (before execution) and recording
    (after it, without ``Execute``)."""
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute

    traits = Autograde.class_traits()
    sanitize = traits["sanitize_preprocessors"].make_dynamic_default()
    record = [p for p in traits["autograde_preprocessors"].make_dynamic_default() if p is not Execute]
    return sanitize, record


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
    cpu_seconds: float = 0.0                # the kernels' CPU time (grader/sandbox.py tree_cpu_seconds)
    version: int = STATE_VERSION
    flags: list[str] = field(default_factory=list)   # integrity: reasons to review (grader/integrity.py)

    @property
    def failed(self) -> bool:
        return self.status != "graded" or bool(self.events)


class Owner:
    """Holds the gradebook; prepares and records submissions."""

    def __init__(self, ws: Workspace, unsafe: bool = False):
        from nbgrader.coursedir import CourseDirectory

        self.ws = ws
        config = ws.config()
        self.coursedir = CourseDirectory(config=config)
        sanitize, record = _preprocessor_lists()
        self._sanitize = [cls(config=config) for cls in sanitize]
        self._record = [cls(config=config) for cls in nbfast.record_preprocessors(record)]
        self.generate_api = ws.api()
        self._ready: set[str] = set()
        self._references: dict[tuple[str, int], dict] = {}
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
            nbfast.forget()                 # the source cells were rewritten
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
        submitted = {}
        for name in expected:
            path = folder / f"{name}.ipynb"
            problem, nb = read_checked(path) if path.exists() else (f"{name}.ipynb missing from the submission", None)
            if problem:
                result.problems.append(problem)
            else:
                result.tampering += self.tampering(lab, name, nb)
                submitted[name] = nb
        if result.problems:
            result.status = "invalid"
            self.zero(lab, student, result)
            return result, []
        try:
            self._open_submission(lab, student, folder)
            prepared_nbs = {f"{name}.ipynb": self._convert(self._sanitize, folder / f"{name}.ipynb", lab, student, nb)
                            for name, nb in submitted.items()}
        except Exception as exc:  # noqa: BLE001 - nbgrader's own failure: reported, never a grade
            result.status = "failed"
            result.problems.append(f"nbgrader could not prepare the notebook: {type(exc).__name__}: {exc}"[:400])
            self.zero(lab, student, result)
            return result, []
        prepared = sorted((self.ws.autograded / student / lab).glob("*.ipynb"))
        result.flags += integrity.screen_notebooks(prepared_nbs, self.ws.source / lab)    # integrity hook
        return result, prepared

    def record(self, result: Result) -> Result:
        """Save the grades of the executed notebooks (nbgrader's autograde without execution)."""
        lab, student = result.lab, result.student
        dest = self.ws.executed / student / lab
        stamp = self.ws.submitted / student / lab / "timestamp.txt"
        if stamp.exists() and dest.exists():
            shutil.copy(stamp, dest / "timestamp.txt")
        try:
            for path in sorted(dest.glob("*.ipynb")) if dest.exists() else []:
                if path.stem in self._source_notebooks(lab):
                    self._convert(self._record, path, lab, student)
        except Exception as exc:  # noqa: BLE001 - nbgrader's own failure: reported, never a grade
            result.status = "failed"
            result.problems.append(f"nbgrader could not record the grades: {type(exc).__name__}: {exc}"[:400])
            self.zero(lab, student, result)
        self.save(result)
        return result

    def _open_submission(self, lab: str, student: str, folder: Path) -> None:
        """What ``nbgrader autograde`` does before converting a submission's notebooks: the
        student and the submission (with its timestamp) in the gradebook, the source folder's
        other files copied next to the autograded notebooks."""
        from nbgrader import utils
        from nbgrader.api import Gradebook

        timestamp = self.coursedir.get_existing_timestamp(str(folder))
        with Gradebook(self.ws.url, self.coursedir.course_id) as gb:
            # = gb.update_or_create_student(student); gb.update_or_create_submission(lab, student,
            #   [timestamp=timestamp]), in a few statements (tests/test_nbfast.py compares the rows)
            nbfast.open_submission(gb, lab, student, timestamp or None)
            gb.db.commit()
        dest = self.ws.autograded / student / lab
        dest.mkdir(parents=True, exist_ok=True)
        source = self.ws.source / lab
        for filename in utils.find_all_files(str(source), self.coursedir.ignore + ["*.ipynb"]):
            target = dest / Path(filename).relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            shutil.copy(filename, target)

    def _convert(self, preprocessors, path: Path, lab: str, student: str, nb=None):
        """One notebook through nbgrader's preprocessors, in this process and without starting
        an nbgrader application per notebook (what ``nbgrader autograde`` runs, in its order),
        written to ``autograded/<student>/<lab>/`` read-only, as nbgrader writes it."""
        from nbconvert.exporters.exporter import ResourcesDict

        nb = nbformat.read(path, as_version=4) if nb is None else nb
        resources = ResourcesDict(unique_key=path.stem, output_files_dir=f"{path.stem}_files", nbgrader={
            "student": student, "assignment": lab, "notebook": path.stem, "db_url": self.ws.url})
        for preprocessor in preprocessors:
            nb, resources = preprocessor(nb, resources)
        nbformat.validate(nb)
        out = self.ws.autograded / student / lab / path.name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.unlink(missing_ok=True)
        out.write_text(_writes_validated(nb), encoding="utf-8")
        out.chmod(0o444)
        return nb

    def job(self, result: Result, prepared: list[Path], sandbox: dict, cache: str = "", attempt: int = 0) -> Job:
        """The job of a prepared submission: its notebooks and other files as bytes."""
        folder = self.ws.autograded / result.student / result.lab
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())
                 if p.is_file() and p.suffix != ".ipynb" and p.name != "timestamp.txt"} if folder.exists() else {}
        return Job(result.student, result.lab, {p.name: p.read_bytes() for p in prepared}, dict(sandbox),
                   files, cache, attempt)

    def log_file(self, lab: str, student: str) -> Path:
        return self.ws.root / "logs" / lab / f"{student}.log"

    def write_log(self, result: Result, text: str) -> None:
        path = self.log_file(result.lab, result.student)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    def finish(self, result: Result, outcome: Outcome) -> Result:
        """A worker's outcome: write the executed notebooks and the log, then record the grades."""
        dest = self.ws.executed / result.student / result.lab
        dest.mkdir(parents=True, exist_ok=True)
        for name, data in outcome.executed.items():
            (dest / Path(name).name).write_bytes(data)
        self.write_log(result, outcome.log)
        result.events, result.seconds = list(outcome.events), outcome.seconds
        result.cpu_seconds = getattr(outcome, "cpu_seconds", 0.0)     # an older worker's Outcome has none
        result.flags += outcome.flags
        return self.record(result)

    def fail(self, result: Result, exc: BaseException) -> Result:
        """The grader's own machinery failed on this submission (kernel or sandbox did not start,
        worker crashed, no sandbox on the worker): status ``failed``, no grade recorded, graded
        again by the next run."""
        result.status = "failed"
        if isinstance(exc, InfrastructureError):
            result.problems.append(f"grader failure, not graded (retried by the next autograde): {exc}")
        else:
            result.problems.append(f"worker crashed, not graded (retried by the next autograde): "
                                   f"{type(exc).__name__}: {exc}")
        self.write_log(result, getattr(exc, "log", "") or f"{type(exc).__name__}: {exc}\n")
        self.save(result)
        return result

    def killed(self, result: Result, reason: str) -> Result:
        """A submission that killed every worker it was sent to (Dask's ``KilledWorker``): the
        student's 0, kept (not retried by the next run) and flagged for review with the reason;
        ``--force --student`` grades it again."""
        result.status = "graded"
        note = f"killed its grading worker every time it ran ({reason}): scored 0, review it"
        result.events.append(note)
        result.flags.append(note)
        self.write_log(result, note + "\n")
        self.zero(result.lab, result.student, result)
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

    def _protected(self, release_path: Path) -> dict:
        """{grade id: (checksum, graded)} of the released notebook's protected cells, read once
        per batch (not per submission) unless the file changes."""
        key = (str(release_path), release_path.stat().st_mtime_ns)
        if key not in self._references:
            release = nbformat.read(release_path, as_version=4)
            reference = {}
            for cell in release.cells:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                protected = meta.get("locked") or (meta.get("grade") and not meta.get("solution"))
                if meta.get("grade_id") and protected:
                    reference[meta["grade_id"]] = (meta.get("checksum"), bool(meta.get("grade")))
            self._references[key] = reference
        return self._references[key]

    def _source_notebooks(self, lab: str) -> list[str]:
        return sorted(p.stem for p in (self.ws.source / lab).glob("*.ipynb"))

    def tampering(self, lab: str, notebook: str, nb) -> list[str]:
        """Read-only or test cells that differ from the released notebook (nbgrader's checksums)
        or are gone. nbgrader's OverwriteCells restores them before execution."""
        from nbgrader import utils

        reference = self._protected(self.ws.root / "release" / lab / f"{notebook}.ipynb")
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
    return read_checked(path)[0]


def read_checked(path: Path):
    """``(problem, notebook)``: why ``path`` cannot be graded and None, or "" and the notebook
    (read once: the owner checks, compares and sanitises the same object)."""
    name = path.name
    size = path.stat().st_size
    if size == 0:
        return f"{name}: empty file", None
    if size > MAX_FILE_BYTES:
        return f"{name}: {size >> 20} MB, larger than the {MAX_FILE_BYTES >> 20} MB accepted", None
    data = path.read_bytes()
    if not data.strip():
        return f"{name}: empty file", None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"{name}: not UTF-8 text (byte {exc.start}); not a notebook saved by Jupyter", None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"{name}: malformed notebook JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", None
    if not isinstance(raw, dict) or "cells" not in raw:
        return f"{name}: JSON but not a notebook (no cells)", None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")       # missing cell ids: nbgrader copes
            nb = nbformat.reads(text, as_version=4)
            nbformat.validate(nb)
    except Exception as exc:  # nbformat's ValidationError, version errors
        return f"{name}: not a valid notebook: {str(exc).splitlines()[0][:200]}", None
    return "", nb


def _writes_validated(nb) -> str:
    """``nbformat.writes(nb)`` for a notebook that was just validated: the same text, without
    ``writes``' second validation."""
    from nbformat import reader, versions

    version, _ = reader.get_version(nb)
    return versions[version].writes_json(nb)


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        if path.name in ("timestamp.txt", ".source-digest"):
            continue
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()
