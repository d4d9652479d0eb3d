"""Collect submissions as an LMS exports them into nbgrader's ``submitted/<student>/<lab>/``.

**Who** a file belongs to comes only from the part of its path the LMS (or the instructor)
wrote; **which lab** it is comes from the file name. The defaults understand

* Moodle   ``Ann Lee_12345_assignsubmission_file_lab01_data.ipynb`` (also as a folder
  ``Ann Lee_12345_assignsubmission_file_/lab01_data.ipynb``), at any depth of the export;
* Canvas   ``leeann_12345_67890_lab01_data.ipynb`` (``leeann_LATE_12345_...`` too);
* plain    ``<id>/<lab>.ipynb`` and ``<id>_<lab>.ipynb``, where ``<id>`` is the top folder (or
  top-level file) of the export once wrapper folders common to every file are stripped.

The first path segment, from the top, that names a student decides; everything below it is the
student's upload (folders, nested zips, file names), which only tells the lab. A file that is
named after one student but lies inside another student's folder is ambiguous and goes to
``unmatched/`` with the reason. A zip that belongs to nobody (an export split into parts) is read
as an export of its own.

Zips are read entry by entry, streamed to disk with caps (see :class:`Limits`): inflated bytes
per file, per student and per export, and the nesting depth of zips. Entry names with ``..``,
an absolute path or a drive letter are skipped and reported, as nbgrader's ZipCollect
(setuptools' ``unpack_zipfile``) skips them; nothing is written outside the workspace. Encrypted,
corrupt or over-cap entries are reported and skipped; everybody else is collected.

Several files of one student for one lab: the newest wins (modification time in the zip or
folder; a version marker such as ``-2``, ``(3)``, ``_v4`` breaks ties), the others are kept
under ``superseded/`` and reported. Files matching no student or no lab are reported and
kept under ``unmatched/``; ``__MACOSX/``, ``.DS_Store``, ``._*`` and checkpoints are ignored
and listed. Nothing is parsed here: bad notebooks are graded 0 with a reason by ``autograde``.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO, Callable

LMS_PATTERNS = [
    r"(?:^|/)[^/]*?_(?P<id>\d+)_assignsubmission_(?:file|onlinetext)_",     # Moodle (file or folder)
    r"(?:^|/)[^/_]+(?:_late)?_(?P<id>\d+)_\d+_[^/]+$",                       # Canvas (file)
]
FLAT = r"^(?P<id>[\w.@-]+?)[_-]+(?:{labs})[^/]*$"                           # <id>_<lab>.ipynb
VERSION = re.compile(r"(?:[ _-]v?(\d+)|\((\d+)\))\.ipynb$", re.IGNORECASE)
IGNORED = re.compile(r"(^|/)(__MACOSX(/|$)|\.ipynb_checkpoints(/|$)|\.DS_Store$|\._|Thumbs\.db$|desktop\.ini$)",
                     re.IGNORECASE)
CHUNK = 1 << 20

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str | int) -> int:
    """``"50M"`` -> bytes (K, M, G, T are powers of 1024; a plain number is bytes)."""
    if isinstance(text, int):
        return text
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
    if not found:
        raise ValueError(f"not a size: {text!r} (examples: 50M, 2G, 1048576)")
    return int(float(found.group(1)) * _UNITS[found.group(2).upper()])


def _human(size: int) -> str:
    for unit in "TGMK":
        if size >= _UNITS[unit]:
            return f"{size / _UNITS[unit]:.3g} {unit}B"
    return f"{size} bytes"


@dataclass
class Limits:
    """Caps on what ``collect`` inflates (bytes kept on disk; nested zips are temporary)."""
    notebook: int = 50 << 20      # one file of a submission (--max-notebook-size)
    student: int = 200 << 20      # all files of one student (--max-student-size)
    export: int = 4 << 30         # the whole export (--max-export-size)
    depth: int = 3                # zips inside the export's zip (--max-depth)

    @classmethod
    def from_options(cls, notebook=None, student=None, export=None, depth=None) -> "Limits":
        limits = cls()
        for name, value in [("notebook", notebook), ("student", student), ("export", export)]:
            if value is not None:
                setattr(limits, name, parse_size(value))
        if depth is not None:
            limits.depth = int(depth)
        return limits


@dataclass
class Found:
    origin: str           # path inside the zip or folder (nested zips as folders)
    mtime: float = 0.0    # as the LMS wrote it (for a file in a student's zip: the zip's)
    inner_mtime: float | None = None     # the date inside a student's zip (breaks ties only)
    student: str | None = None
    lab: str | None = None
    version: int = 0
    problem: str = ""     # why it was not used
    size: int = 0


@dataclass
class _Member:
    name: str                                   # path inside its container, "/"-separated
    mtime: float
    size: int | None                            # declared size (None: unknown)
    open: Callable[[], BinaryIO]
    path: Path | None = None                    # a real file (folder exports)
    problem: str = ""                           # known unreadable before opening


def _compile(patterns: list[str], labs: list[str]) -> list[re.Pattern]:
    alternatives = "|".join(re.escape(lab) for lab in sorted(labs, key=len, reverse=True))
    return [re.compile(p.replace("{labs}", alternatives), re.IGNORECASE) for p in patterns]


def unsafe_name(name: str) -> str:
    """Why a name from a zip must not be used as a path ("" if it is fine)."""
    posix = name.replace("\\", "/")
    if posix.startswith("/"):
        return "absolute path"
    if re.match(r"^[A-Za-z]:", posix):
        return "drive letter"
    if ".." in posix.split("/"):
        return "'..' in the path"
    if "\0" in posix:
        return "NUL character in the name"
    return ""


def _clean(name: str) -> str:
    return "/".join(part for part in name.replace("\\", "/").split("/") if part not in ("", "."))


def _lab_of(name: str, labs: list[str]) -> str | None:
    base = name.rsplit("/", 1)[-1].lower()
    return next((lab for lab in sorted(labs, key=len, reverse=True) if lab.lower() in base), None)


def _lms_hit(segments: list[str], patterns: list[re.Pattern]) -> tuple[int, str] | None:
    """(depth, id) of the first segment, from the top, that an LMS pattern matches."""
    for depth in range(len(segments)):
        prefix = "/".join(segments[:depth + 1]) + ("/" if depth < len(segments) - 1 else "")
        for pattern in patterns:
            found = pattern.search(prefix)
            if found:
                return depth, found.group("id")
    return None


def _bad_id(student: str) -> str:
    if student in (".", "..") or not student.strip() or re.search(r"[/\\\0-\x1f]", student) or len(student) > 120:
        return f"student id {student!r} cannot be used as a folder name"
    return ""


def _owners(names: list[str], patterns: list[re.Pattern], labs: list[str], plain: bool = True
            ) -> dict[str, tuple[str | None, str]]:
    """Student id (or None) and a problem ("" if none) for each name of one LMS-written container.

    LMS-named segments (Moodle, Canvas, --pattern) decide at any depth, from the top. The plain
    layout uses the folders at level k, the first level below the wrapper folders shared by
    every file; a level-k folder holding a notebook with a lab name (or a zip) that no LMS
    pattern names makes the container a plain one, in which every level-k folder is a student
    and an LMS-like name below it, naming someone else, is ambiguous.
    """
    flat = _compile([FLAT], labs)[0]
    split = {name: name.split("/") for name in names}
    hits = {name: _lms_hit(segments, patterns) for name, segments in split.items()}
    folders = [segments[:-1] for segments in split.values()]
    k = 0
    if folders:
        while all(len(f) > k for f in folders) and len({f[k] for f in folders}) == 1:
            k += 1
    if plain and k > 0 and not any(hits.values()) and all(len(f) == k for f in folders):
        k -= 1      # every file in one folder: that folder is the (only) student
    plain_folders = set()
    if plain:
        for name, segments in split.items():
            hit = hits[name]
            if len(segments) > k + 1 and hit is None and \
                    (_lab_of(name, labs) or name.lower().endswith(".zip")):
                plain_folders.add(segments[k])
    owners = {}
    for name, segments in split.items():
        hit, student, problem = hits[name], None, ""
        if plain_folders and len(segments) > k + 1 and (hit is None or hit[0] > k):
            student = segments[k]
            if hit and hit[1] != student:
                problem = (f"ambiguous student: inside the folder {student!r} but named after {hit[1]!r} "
                           f"({segments[hit[0]]!r})")
                student = None
        elif hit:
            student = hit[1]
        elif plain and len(segments) == k + 1:
            found = flat.match(segments[-1])
            student = found.group("id") if found else None
        if student and _bad_id(student):
            student, problem = None, _bad_id(student)
        owners[name] = (student, problem)
    return owners


def identify(rel: str, labs: list[str], patterns: list[str] | None = None) -> tuple[str | None, str | None]:
    """(student, lab) of one path read as an export of its own (for tests and --help examples)."""
    compiled = _compile(patterns or LMS_PATTERNS, labs)
    name = _clean(rel)
    student, _ = _owners([name], compiled, labs, plain=patterns is None)[name]
    return student, _lab_of(name, labs)


def _folder_members(root: Path, report: dict) -> list[_Member]:
    members = []
    for folder, dirs, files in os.walk(root):           # does not follow symlinked folders
        dirs.sort()
        for file in sorted(files):
            path = Path(folder, file)
            rel = path.relative_to(root).as_posix()
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode):
                report["unmatched"].append(asdict(Found(rel, problem="not a regular file (symlink?): skipped")))
                continue
            members.append(_Member(rel, info.st_mtime, info.st_size, (lambda p=path: open(p, "rb")), path=path))
    return members


def _zip_members(archive: zipfile.ZipFile) -> list[_Member]:
    members = []
    for info in archive.infolist():
        if info.is_dir():
            continue
        try:
            mtime = dt.datetime(*info.date_time).timestamp()
        except (ValueError, OverflowError):
            mtime = 0.0
        problem = "encrypted (password-protected) zip entry" if info.flag_bits & 0x1 else ""
        members.append(_Member(info.filename, mtime, info.file_size,
                               (lambda info=info: archive.open(info)), problem=problem))
    return members


class _Collector:
    def __init__(self, workspace: Path, labs: list[str], patterns: list[str] | None, limits: Limits):
        self.workspace, self.labs, self.limits = workspace, labs, limits
        self.patterns = _compile(patterns or LMS_PATTERNS, labs)
        self.plain = patterns is None
        self.report: dict[str, list] = {"collected": [], "superseded": [], "unmatched": [], "ignored": []}
        self.chosen: dict[tuple[str, str], tuple[Found, Path]] = {}
        self.spelling: dict[str, str] = {}          # casefolded id -> first spelling seen
        self.used: dict[str, int] = {}               # bytes inflated per student
        self.total = 0                               # bytes inflated for the whole export
        self.staging = Path(tempfile.mkdtemp(prefix=".collect-", dir=workspace))
        self.count = 0

    # -- bookkeeping ------------------------------------------------------------------
    def problem(self, item: Found, problem: str):
        item.problem = problem
        self.report["unmatched"].append(asdict(item))

    def keep_aside(self, kind: str, item: Found, staged: Path):
        parts = _clean(item.origin).split("/")
        dest = self.workspace.joinpath(kind, *parts)
        if not dest.resolve().is_relative_to((self.workspace / kind).resolve()):   # unsafe names never get here
            raise AssertionError(f"collect: {item.origin!r} escapes the workspace")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, dest)
        except OSError as error:
            item.problem += f" (not kept: {error})"
            staged.unlink(missing_ok=True)
        self.report[kind].append(asdict(item))

    def stage(self, member: _Member, item: Found, student: str | None, per_file: bool = True) -> Path | None:
        """Stream a member to a staging file within the caps; None (reported) if it cannot be.

        Every byte inflated counts against the student's and the export's caps (a nested zip's
        too, while it is read), so a bomb of many entries costs at most the export cap. A zip
        entry is never larger than its declared size (zipfile stops there and checks the CRC),
        so an entry declared over a cap is skipped unread; the streamed count is the guard for
        the rest (files of a folder export, sizes unknown).
        """
        if member.problem:
            return self.problem(item, member.problem)
        caps = [(self.limits.student - self.used.get(student, 0) if student else float("inf"),
                 f"this student's files together would exceed the {_human(self.limits.student)} cap per student "
                 f"(--max-student-size)"),
                (self.limits.export - self.total,
                 f"the export would exceed the {_human(self.limits.export)} cap (--max-export-size)")]
        if per_file:
            caps.insert(0, (self.limits.notebook,
                            f"over the {_human(self.limits.notebook)} cap per file (--max-notebook-size)"))
        over = next((why for cap, why in caps if member.size is not None and member.size > cap), None)
        if over:
            return self.problem(item, f"{_human(member.size)} when unpacked; {over}: skipped")
        cap, why = min(caps, key=lambda c: c[0])
        self.count += 1
        staged = self.staging / str(self.count)
        written = 0
        try:
            with member.open() as source, open(staged, "wb") as target:
                while chunk := source.read(CHUNK):
                    written += len(chunk)
                    if written > cap:
                        break
                    target.write(chunk)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, NotImplementedError, ValueError,
                zlib.error, EOFError, OSError) as error:
            staged.unlink(missing_ok=True)
            return self.problem(item, f"cannot be read ({type(error).__name__}: {error}): skipped")
        finally:
            self.total += written
            if student:
                self.used[student] = self.used.get(student, 0) + written
        if written > cap:
            staged.unlink(missing_ok=True)
            return self.problem(item, f"more than {_human(cap)} when unpacked; {why}: skipped")
        item.size = written
        return staged

    # -- walking ----------------------------------------------------------------------
    def screen(self, members: list[_Member], where: str) -> list[_Member]:
        kept = []
        for member in members:
            origin = where + member.name
            why = unsafe_name(member.name)
            if why:
                self.problem(Found(origin, member.mtime), f"unsafe name in the zip ({why}): skipped")
            elif IGNORED.search(_clean(member.name)):
                self.report["ignored"].append(asdict(Found(origin, member.mtime, problem="system file, ignored")))
            elif not _clean(member.name):
                self.problem(Found(origin, member.mtime), "empty name: skipped")
            else:
                member.name = _clean(member.name)
                kept.append(member)
        return kept

    def container(self, members: list[_Member], where: str, depth: int):
        """A container written by the LMS: the export, or a zip in it that no student owns."""
        members = self.screen(members, where)
        owners = _owners([m.name for m in members], self.patterns, self.labs, self.plain)
        for member in members:
            student, problem = owners[member.name]
            item = Found(where + member.name, member.mtime)
            if problem:             # kept, unopened, under unmatched/ for the instructor to decide
                staged = self.stage(member, item, None)
                if staged is not None:
                    item.problem = problem
                    self.keep_aside("unmatched", item, staged)
            elif student is None and member.name.lower().endswith(".zip"):
                self.nested(member, item, None, depth)
            elif student is None:
                item.lab = _lab_of(member.name, self.labs)
                staged = self.stage(member, item, None)
                if staged is not None:
                    item.problem = ("not a notebook (.ipynb)" if not member.name.lower().endswith(".ipynb")
                                    else "no student id found in the path (see --pattern)")
                    self.keep_aside("unmatched", item, staged)
            else:
                self.file(member, item, self.spell(student), depth)

    def upload(self, members: list[_Member], where: str, student: str, depth: int, lms_mtime: float):
        """A student's own zip: it tells labs, never who, nor when (the dates in it are the student's)."""
        for member in self.screen(members, where):
            self.file(member, Found(where + member.name, lms_mtime, inner_mtime=member.mtime), student, depth)

    def nested(self, member: _Member, item: Found, student: str | None, depth: int):
        if depth + 1 > self.limits.depth:
            return self.problem(item, f"zip nested more than {self.limits.depth} levels deep (--max-depth): skipped")
        staged = member.path or self.stage(member, item, student, per_file=False)
        if staged is None:
            return
        try:
            with zipfile.ZipFile(staged) as archive:
                members = _zip_members(archive)
                if student:
                    self.upload(members, item.origin + "/", student, depth + 1, item.mtime)
                else:
                    self.container(members, item.origin + "/", depth + 1)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, OSError) as error:
            item.student = student
            self.problem(item, f"not a readable zip ({type(error).__name__}: {error}): skipped")
        finally:
            if member.path is None:
                staged.unlink(missing_ok=True)

    def spell(self, student: str) -> str:
        return self.spelling.setdefault(student.casefold(), student)

    def file(self, member: _Member, item: Found, student: str, depth: int):
        item.student = student
        if member.name.lower().endswith(".zip"):
            return self.nested(member, item, student, depth)
        item.lab = _lab_of(member.name, self.labs)
        version = VERSION.search(member.name.rsplit("/", 1)[-1])
        item.version = int(next((g for g in version.groups() if g), 0)) if version else 0
        staged = self.stage(member, item, student)
        if staged is None:
            return
        if not member.name.lower().endswith(".ipynb"):
            item.problem = "not a notebook (.ipynb)"
            return self.keep_aside("unmatched", item, staged)
        if item.lab is None:
            item.problem = f"no lab name ({', '.join(self.labs)}) in the file name"
            return self.keep_aside("unmatched", item, staged)
        key = (student, item.lab)
        if key in self.chosen:
            old = self.chosen[key]
            new = (item, staged)
            order = lambda found: (found.mtime, found.inner_mtime or 0.0, found.version)   # noqa: E731
            newer, older = (new, old) if order(item) > order(old[0]) else (old, new)
            self.chosen[key] = newer
            older[0].problem = f"superseded by the newer {newer[0].origin}"
            self.keep_aside("superseded", *older)
        else:
            self.chosen[key] = (item, staged)

    def finish(self, submitted: Path):
        for (student, lab), (item, staged) in sorted(self.chosen.items()):
            dest = submitted / student / lab
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            os.replace(staged, dest / f"{lab}.ipynb")
            stamp = dt.datetime.fromtimestamp(item.mtime, dt.timezone.utc)
            (dest / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
            self.report["collected"].append(asdict(item))


def collect(source: Path, workspace: Path, labs: list[str], patterns: list[str] | None = None,
            clean: bool = False, limits: Limits | None = None) -> dict:
    """Copy the newest notebook of every (student, lab) into ``workspace/submitted``."""
    source, workspace = Path(source), Path(workspace)
    if not source.is_dir() and not zipfile.is_zipfile(source):
        raise SystemExit(f"collect: {source} is neither a folder nor a zip file")
    workspace.mkdir(parents=True, exist_ok=True)
    submitted = workspace / "submitted"
    if clean and submitted.exists():
        shutil.rmtree(submitted)
    for folder in ["superseded", "unmatched"]:
        shutil.rmtree(workspace / folder, ignore_errors=True)
    collector = _Collector(workspace, labs, patterns, limits or Limits())
    try:
        if source.is_dir():
            collector.container(_folder_members(source, collector.report), "", 0)
        else:
            try:
                archive = zipfile.ZipFile(source)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, OSError) as error:
                raise SystemExit(f"collect: {source} is not a readable zip file ({error})")
            with archive:
                collector.container(_zip_members(archive), "", 0)
        collector.finish(submitted)
    finally:
        shutil.rmtree(collector.staging, ignore_errors=True)
    report = collector.report
    (workspace / "collect.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return report


def summary(report: dict) -> str:
    lines = [f"collected {len(report['collected'])} notebooks of "
             f"{len({c['student'] for c in report['collected']})} students"]
    for item in report["superseded"]:
        lines.append(f"  superseded: {item['origin']} ({item['student']}, {item['lab']}): {item['problem']}")
    for item in report["unmatched"]:
        lines.append(f"  unmatched:  {item['origin']}: {item['problem']}")
    for item in report.get("ignored", []):
        lines.append(f"  ignored:    {item['origin']}")
    return "\n".join(lines)
