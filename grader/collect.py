"""Collect submissions as an LMS exports them into nbgrader's ``submitted/<student>/<lab>/``.

The student id comes from the path by the first matching regular expression (group ``id``);
the lab from a lab name in the file name. The defaults understand

* Moodle   ``Ann Lee_12345_assignsubmission_file_lab01_data.ipynb`` (also as a folder
  ``Ann Lee_12345_assignsubmission_file_/lab01_data.ipynb``),
* Canvas   ``leeann_12345_67890_lab01_data.ipynb`` (``leeann_LATE_12345_...`` too),
* plain    ``<id>/<lab>.ipynb`` (the file's own folder, at any depth) and ``<id>_<lab>.ipynb``.

Several files of one student for one lab: the newest wins (modification time in the zip or
folder; a version marker such as ``-2``, ``(3)``, ``_v4`` breaks ties), the others are kept
under ``superseded/`` and reported. Files matching no student or no lab are reported and
kept under ``unmatched/``. Nothing is parsed here: bad notebooks are graded 0 with a reason
by ``autograde``.
"""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_PATTERNS = [
    r"(?:^|/)[^/]*?_(?P<id>\d+)_assignsubmission_(?:file|onlinetext)_",           # Moodle
    r"(?:^|/)[a-z0-9]+(?:_late)?_(?P<id>\d+)_\d+_[^/]+$",                           # Canvas
    r"(?:^|/)(?P<id>[\w.@-]+?)[_-]+(?:{labs})[^/]*$",                                # <id>_<lab>.ipynb
    r"(?:^|/)(?P<id>[\w.@-]+)/(?:{labs})[^/]*$",                                    # <id>/<lab>.ipynb
]
VERSION = re.compile(r"(?:[ _-]v?(\d+)|\((\d+)\))\.ipynb$", re.IGNORECASE)
IGNORED = re.compile(r"(^|/)(__MACOSX|\.ipynb_checkpoints|\.DS_Store|\._)")


@dataclass
class Found:
    origin: str           # path inside the zip or folder
    mtime: float
    student: str | None = None
    lab: str | None = None
    version: int = 0
    problem: str = ""     # why it was not used


def _compile(patterns: list[str], labs: list[str]) -> list[re.Pattern]:
    alternatives = "|".join(re.escape(lab) for lab in sorted(labs, key=len, reverse=True))
    return [re.compile(p.replace("{labs}", alternatives), re.IGNORECASE) for p in patterns]


def _entries(path: Path):
    """(relative path, mtime, read()) for every file in a folder or zip (nested zips too)."""
    if path.is_dir():
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            rel = file.relative_to(path).as_posix()
            if file.suffix.lower() == ".zip":
                yield from _zip_entries(zipfile.ZipFile(file), rel + "/")
            else:
                yield rel, file.stat().st_mtime, file.read_bytes
    elif zipfile.is_zipfile(path):
        yield from _zip_entries(zipfile.ZipFile(path), "")
    else:
        raise SystemExit(f"collect: {path} is neither a folder nor a zip file")


def _zip_entries(archive: zipfile.ZipFile, prefix: str):
    for info in archive.infolist():
        if info.is_dir():
            continue
        name = prefix + info.filename
        if name.lower().endswith(".zip"):
            yield from _zip_entries(zipfile.ZipFile(io.BytesIO(archive.read(info))), name + "/")
            continue
        mtime = dt.datetime(*info.date_time).timestamp()
        yield name, mtime, (lambda info=info: archive.read(info))


def identify(rel: str, patterns: list[re.Pattern], labs: list[str]) -> tuple[str | None, str | None]:
    student = None
    for pattern in patterns:
        found = pattern.search(rel)
        if found:
            student = found.group("id")
            break
    base = rel.rsplit("/", 1)[-1].lower()
    lab = next((lab for lab in sorted(labs, key=len, reverse=True) if lab.lower() in base), None)
    return student, lab


def collect(source: Path, workspace: Path, labs: list[str], patterns: list[str] | None = None,
            clean: bool = False) -> dict:
    """Copy the newest notebook of every (student, lab) into ``workspace/submitted``."""
    source, workspace = Path(source), Path(workspace)
    compiled = _compile(patterns or DEFAULT_PATTERNS, labs)
    submitted = workspace / "submitted"
    if clean and submitted.exists():
        shutil.rmtree(submitted)
    for folder in ["superseded", "unmatched"]:
        shutil.rmtree(workspace / folder, ignore_errors=True)
    chosen: dict[tuple[str, str], tuple[Found, bytes]] = {}
    report: dict[str, list] = {"collected": [], "superseded": [], "unmatched": []}

    def keep_aside(kind: str, item: Found, data: bytes):
        dest = workspace / kind / item.origin
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        report[kind].append(asdict(item))

    for rel, mtime, read in _entries(source):
        if IGNORED.search(rel):
            continue
        item = Found(rel, mtime)
        data = read()
        if not rel.lower().endswith(".ipynb"):
            item.problem = "not a notebook (.ipynb)"
            keep_aside("unmatched", item, data)
            continue
        item.student, item.lab = identify(rel, compiled, labs)
        version = VERSION.search(rel.rsplit("/", 1)[-1])
        item.version = int(next((g for g in version.groups() if g), 0)) if version else 0
        if item.lab is None:
            item.problem = f"no lab name ({', '.join(labs)}) in the file name"
        elif item.student is None:
            item.problem = "no student id found in the path (see --pattern)"
        if item.problem:
            keep_aside("unmatched", item, data)
            continue
        key = (item.student, item.lab)
        if key in chosen:
            old, old_data = chosen[key]
            newer, older = ((item, data), (old, old_data)) if (item.mtime, item.version) > (old.mtime, old.version) \
                else ((old, old_data), (item, data))
            chosen[key] = newer
            older[0].problem = f"superseded by the newer {newer[0].origin}"
            keep_aside("superseded", *older)
        else:
            chosen[key] = (item, data)

    for (student, lab), (item, data) in sorted(chosen.items()):
        dest = submitted / student / lab
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        (dest / f"{lab}.ipynb").write_bytes(data)
        stamp = dt.datetime.fromtimestamp(item.mtime, dt.timezone.utc)
        (dest / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
        report["collected"].append(asdict(item))
    (workspace / "collect.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return report


def summary(report: dict) -> str:
    lines = [f"collected {len(report['collected'])} notebooks of "
             f"{len({c['student'] for c in report['collected']})} students"]
    for item in report["superseded"]:
        lines.append(f"  superseded: {item['origin']} ({item['student']}, {item['lab']}): {item['problem']}")
    for item in report["unmatched"]:
        lines.append(f"  unmatched:  {item['origin']}: {item['problem']}")
    return "\n".join(lines)
