"""`python -m grader collect`: student ids and labs from LMS exports, duplicates, junk."""
import io
import os
import shutil
import json
import zipfile

import pytest

from grader import collect
from grader.__main__ import main

LABS = ["lab01_data", "lab02_cnn"]


def _zip(entries) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, date in entries:
            info = zipfile.ZipInfo(name, date_time=date)
            archive.writestr(info, data)
    return buffer.getvalue()


@pytest.mark.parametrize("path, student, lab", [
    ("Ann Lee_12345_assignsubmission_file_lab01_data.ipynb", "12345", "lab01_data"),
    ("export/Ann Lee_12345_assignsubmission_file_/lab01_data.ipynb", "12345", "lab01_data"),
    ("leeann_12345_67890_lab01_data.ipynb", "12345", "lab01_data"),
    ("leeann_late_12345_67890_lab02_cnn-1.ipynb", "12345", "lab02_cnn"),
    ("s042/lab01_data.ipynb", "s042", "lab01_data"),
    ("class/2026/s042/lab02_cnn.ipynb", "s042", "lab02_cnn"),
    ("s042_lab01_data.ipynb", "s042", "lab01_data"),
    ("s042/Untitled.ipynb", None, None),
    ("notes.ipynb", None, None),
])
def test_default_patterns(path, student, lab):
    found_student, found_lab = collect.identify(path, LABS)
    assert found_lab == lab
    if lab:
        assert found_student == student


def test_zip_with_nested_folders_duplicates_and_junk(tmp_path, capsys):
    nb = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
    inner = _zip([("s7/lab01_data.ipynb", nb, (2026, 1, 3, 9, 0, 0))])
    export = _zip([
        ("moodle/Ann Lee_12345_assignsubmission_file_lab01_data.ipynb", nb + b" ", (2026, 1, 2, 10, 0, 0)),
        ("moodle/Ann Lee_12345_assignsubmission_file_lab01_data (2).ipynb", nb, (2026, 1, 2, 11, 0, 0)),
        ("moodle/deep/er/Bo Chen_777_assignsubmission_file_lab01_data.ipynb", nb, (2026, 1, 1, 8, 0, 0)),
        ("moodle/Bo Chen_777_assignsubmission_file_lab01_data.ipynb", b"old", (2025, 12, 31, 8, 0, 0)),
        ("moodle/Bo Chen_777_assignsubmission_file_Untitled.ipynb", nb, (2026, 1, 1, 8, 0, 0)),
        ("moodle/Bo Chen_777_assignsubmission_file_report.pdf", b"%PDF", (2026, 1, 1, 8, 0, 0)),
        ("__MACOSX/moodle/._x.ipynb", b"junk", (2026, 1, 1, 8, 0, 0)),
        ("more.zip", inner, (2026, 1, 3, 9, 0, 0)),
    ])
    source = tmp_path / "export.zip"
    source.write_bytes(export)
    ws = tmp_path / "ws"
    # the CLI on a zip: ids, labs, the newest of duplicates, unmatched files listed
    assert main(["collect", str(source), "--workspace", str(ws)]) == 0
    report = json.loads((ws / "collect.json").read_text())
    got = {(c["student"], c["lab"]): c["origin"] for c in report["collected"]}
    assert got == {
        ("12345", "lab01_data"): "moodle/Ann Lee_12345_assignsubmission_file_lab01_data (2).ipynb",
        ("777", "lab01_data"): "moodle/deep/er/Bo Chen_777_assignsubmission_file_lab01_data.ipynb",
        ("s7", "lab01_data"): "more.zip/s7/lab01_data.ipynb",
    }
    assert (ws / "submitted" / "12345" / "lab01_data" / "lab01_data.ipynb").read_bytes() == nb
    assert (ws / "submitted" / "777" / "lab01_data" / "timestamp.txt").exists()
    superseded = {s["origin"] for s in report["superseded"]}
    assert superseded == {"moodle/Ann Lee_12345_assignsubmission_file_lab01_data.ipynb",
                          "moodle/Bo Chen_777_assignsubmission_file_lab01_data.ipynb"}
    assert (ws / "superseded" / "moodle" / "Bo Chen_777_assignsubmission_file_lab01_data.ipynb").read_bytes() == b"old"
    unmatched = {u["origin"]: u["problem"] for u in report["unmatched"]}
    assert "no lab name" in unmatched["moodle/Bo Chen_777_assignsubmission_file_Untitled.ipynb"]
    assert "not a notebook" in unmatched["moodle/Bo Chen_777_assignsubmission_file_report.pdf"]
    assert not any("__MACOSX" in name for name in unmatched)
    out = capsys.readouterr().out
    assert "collected 3 notebooks of 3 students" in out and "Untitled.ipynb" in out and "superseded" in out


def test_folder_export_and_custom_pattern(tmp_path):
    source = tmp_path / "export"
    (source / "A-01").mkdir(parents=True)
    (source / "A-01" / "submission_lab01_data.ipynb").write_text("{}")
    report = collect.collect(source, tmp_path / "ws", ["lab01_data"],
                             patterns=[r"(?:^|/)(?P<id>A-\d+)/"])
    assert [(c["student"], c["lab"]) for c in report["collected"]] == [("A-01", "lab01_data")]


def test_not_a_zip_is_a_clear_error(tmp_path):
    bad = tmp_path / "export.zip"
    bad.write_text("not a zip")
    with pytest.raises(SystemExit, match="neither a folder nor a zip"):
        collect.collect(bad, tmp_path / "ws", LABS)


# ---------------------------------------------------------------------------------------
# issue 12: identity only from the LMS's part of the path; zip names; caps; messy exports
# ---------------------------------------------------------------------------------------
NB = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()
OLD, NEW = (2026, 1, 2, 10, 0, 0), (2099, 1, 1, 0, 0, 0)


def _collected(report):
    return {(c["student"], c["lab"]): c["origin"] for c in report["collected"]}


def _unmatched(report):
    return {u["origin"]: u["problem"] for u in report["unmatched"]}


def _files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_a_students_upload_never_decides_whose_file_it_is(tmp_path):
    """Canvas export: 111's zip holds files named after 222 (newer) and a path out of the zip."""
    upload = _zip([
        ("222/lab01_data.ipynb", NB + b"fake1", NEW),
        ("bob_222_333_lab01_data.ipynb", NB + b"fake2", NEW),
        ("Bob_222_assignsubmission_file_lab02_cnn.ipynb", NB + b"fake3", NEW),
        ("../../escape/lab01_data.ipynb", NB + b"fake4", NEW),
        ("mine/lab02_cnn.ipynb", NB + b"own", (2020, 6, 1, 12, 0, 0)),      # a back-dated entry
    ])
    export = _zip([
        ("bob_222_888_lab01_data.ipynb", NB, OLD),
        ("alice_111_999_upload.zip", upload, OLD),
    ])
    (tmp_path / "export.zip").write_bytes(export)
    ws = tmp_path / "ws"
    report = collect.collect(tmp_path / "export.zip", ws, LABS)
    got = _collected(report)
    assert got[("222", "lab01_data")] == "bob_222_888_lab01_data.ipynb"
    assert (ws / "submitted" / "222" / "lab01_data" / "lab01_data.ipynb").read_bytes() == NB
    assert sorted(p.name for p in (ws / "submitted").iterdir()) == ["111", "222"]     # no "escape", no "333"
    assert not any(s["student"] == "222" for s in report["superseded"])
    assert {student for student, _ in got} == {"111", "222"}
    assert got[("111", "lab02_cnn")].startswith("alice_111_999_upload.zip/")
    # the submission time is the LMS's (the upload's date), not a date the student wrote into the zip
    assert (ws / "submitted" / "111" / "lab02_cnn" / "timestamp.txt").read_text().startswith("2026-01-0")
    assert "unsafe name" in _unmatched(report)["alice_111_999_upload.zip/../../escape/lab01_data.ipynb"]
    assert not (tmp_path / "escape").exists() and not (ws.parent.parent / "escape").exists()


@pytest.mark.parametrize("path, student, lab", [
    ("export/s042/lab01_data.ipynb", "s042", "lab01_data"),           # one wrapper folder, one student
    ("李安_2023001_assignsubmission_file_/作业/lab02_cnn.ipynb", "2023001", "lab02_cnn"),
    ("Ann Lee_12345_assignsubmission_file_/222/lab01_data.ipynb", "12345", "lab01_data"),
    ("李安_12345_67890_lab01_data.ipynb", "12345", "lab01_data"),      # Canvas, non-ASCII name
    ("a_1_2_x/../lab01_data.ipynb", None, "lab01_data"),
])
def test_identity_from_the_top_segment(path, student, lab):
    assert collect.identify(path, LABS) == (student, lab)


def test_plain_export_uses_the_top_folder_and_flags_ambiguous_names(tmp_path):
    source = tmp_path / "export"
    for rel, data in [("s111/lab01_data.ipynb", b"own 111"), ("s111/x_222_assignsubmission_file_lab02_cnn.ipynb", b"fake"),
                      ("s111/222/lab02_cnn.ipynb", b"own 111 lab2"), ("222/lab02_cnn.ipynb", b"real 222"),
                      ("S333/lab01_data.ipynb", b"333 upper"), ("s333/lab02_cnn.ipynb", b"333 lower"),
                      ("s444_lab01_data.ipynb", b"flat 444")]:
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)
    os.utime(source / "s111/x_222_assignsubmission_file_lab02_cnn.ipynb", (4e9, 4e9))   # "newer"
    (source / "s111" / "link_lab01_data.ipynb").symlink_to("/etc/passwd")
    ws = tmp_path / "ws"
    report = collect.collect(source, ws, LABS)
    got = _collected(report)
    assert (ws / "submitted/222/lab02_cnn/lab02_cnn.ipynb").read_bytes() == b"real 222"
    assert got[("s111", "lab02_cnn")] == "s111/222/lab02_cnn.ipynb"
    assert "ambiguous student" in _unmatched(report)["s111/x_222_assignsubmission_file_lab02_cnn.ipynb"]
    assert (ws / "unmatched/s111/x_222_assignsubmission_file_lab02_cnn.ipynb").read_bytes() == b"fake"
    assert "symlink" in _unmatched(report)["s111/link_lab01_data.ipynb"]
    # one student id spelled two ways is one student (the first spelling seen)
    assert got[("S333", "lab01_data")] == "S333/lab01_data.ipynb" and got[("S333", "lab02_cnn")] == "s333/lab02_cnn.ipynb"
    assert got[("s444", "lab01_data")] == "s444_lab01_data.ipynb"
    assert {s for s, _ in got} == {"s111", "222", "S333", "s444"}


def test_unsafe_zip_names_never_leave_the_workspace(tmp_path):
    """nbgrader's ZipCollect extracts with setuptools' unpack_zipfile, which skips names that are
    absolute or contain '..'; collect skips those and drive letters too, and reports them."""
    bad = ["../../pwned.ipynb", "/abs/lab01_data.ipynb", "C:/win/lab01_data.ipynb", "c:\\win\\x.txt",
           "s1/../../../x.txt", "..\\..\\pwned2.ipynb"]
    inner = _zip([(name, NB, OLD) for name in ["../../inner_pwned.ipynb", "ok/lab01_data.ipynb"]])
    export = _zip([(name, NB, OLD) for name in bad] + [("s9/lab02_cnn.ipynb", NB, OLD), ("part2.zip", inner, OLD)])
    (tmp_path / "export.zip").write_bytes(export)
    ws = tmp_path / "a" / "b" / "ws"
    report = collect.collect(tmp_path / "export.zip", ws, LABS)
    assert _files(tmp_path) == sorted(["export.zip"] + [
        f"a/b/ws/{p}" for p in ["collect.json", "submitted/s9/lab02_cnn/lab02_cnn.ipynb",
                                "submitted/s9/lab02_cnn/timestamp.txt", "submitted/ok/lab01_data/lab01_data.ipynb",
                                "submitted/ok/lab01_data/timestamp.txt"]])
    unmatched = _unmatched(report)
    for name in bad + ["part2.zip/../../inner_pwned.ipynb"]:
        assert "unsafe name" in unmatched[name], name


def _flag_encrypted(data: bytes) -> bytes:
    """Set the 'encrypted' bit in every header (zipfile cannot write encrypted zips)."""
    data = bytearray(data)
    for signature, offset in [(b"PK\x03\x04", 6), (b"PK\x01\x02", 8)]:
        start = 0
        while (start := data.find(signature, start)) >= 0:
            data[start + offset] |= 1
            start += 4
    return bytes(data)


def test_messy_lms_export(tmp_path, capsys):
    """Chinese names and spaces, both Moodle forms of one student, junk, corrupt and encrypted zips."""
    corrupt_entry = bytearray(_zip([("lab01_data.ipynb", NB, NEW)]))
    corrupt_entry[corrupt_entry.find(b'"cells"')] ^= 0xFF         # bad CRC-32, stored entry
    deep = _zip([("lab01_data.ipynb", NB, NEW)])
    for level in range(4):
        deep = _zip([(f"level{level}.zip", deep, NEW)])
    export = _zip([
        ("李 安_1001_assignsubmission_file_lab01_data.ipynb", NB + b"flat", OLD),
        ("李 安_1001_assignsubmission_file_/lab01_data.ipynb", NB + b"folder", NEW),      # newer, other form
        ("王 五_1002_assignsubmission_file_/lab01_data (2).ipynb", NB, OLD),
        ("王 五_1002_assignsubmission_file_/.DS_Store", b"\0\0\0\1Bud1", OLD),
        ("王 五_1002_assignsubmission_file_/photo.jpg", b"\xff\xd8\xff", OLD),
        ("__MACOSX/王 五_1002_assignsubmission_file_/._lab01_data (2).ipynb", b"junk", OLD),
        ("Zhao Liu_1003_assignsubmission_file_lab.zip", b"PK\x03\x04 this is not a zip", OLD),
        ("Qian Qi_1004_assignsubmission_file_lab.zip", _flag_encrypted(_zip([("lab01_data.ipynb", NB, OLD)])), OLD),
        ("Sun Ba_1005_assignsubmission_file_lab.zip", bytes(corrupt_entry), OLD),
        ("Zhou Jiu_1006_assignsubmission_file_deep.zip", deep, OLD),
        ("Wu Shi_1007_assignsubmission_file_lab02_cnn.ipynb", NB, OLD),
        ("Thumbs.db", b"junk", OLD),
    ])
    (tmp_path / "export.zip").write_bytes(export)
    ws = tmp_path / "ws"
    assert main(["collect", str(tmp_path / "export.zip"), "--workspace", str(ws)]) == 0
    report = json.loads((ws / "collect.json").read_text())
    assert _collected(report) == {
        ("1001", "lab01_data"): "李 安_1001_assignsubmission_file_/lab01_data.ipynb",
        ("1002", "lab01_data"): "王 五_1002_assignsubmission_file_/lab01_data (2).ipynb",
        ("1007", "lab02_cnn"): "Wu Shi_1007_assignsubmission_file_lab02_cnn.ipynb",
    }
    assert [s["origin"] for s in report["superseded"]] == ["李 安_1001_assignsubmission_file_lab01_data.ipynb"]
    unmatched = _unmatched(report)
    assert "not a readable zip" in unmatched["Zhao Liu_1003_assignsubmission_file_lab.zip"]
    assert "encrypted" in unmatched["Qian Qi_1004_assignsubmission_file_lab.zip/lab01_data.ipynb"]
    assert "CRC" in unmatched["Sun Ba_1005_assignsubmission_file_lab.zip/lab01_data.ipynb"]
    assert "--max-depth" in unmatched["Zhou Jiu_1006_assignsubmission_file_deep.zip/level3.zip/level2.zip/level1.zip"]
    assert "not a notebook" in unmatched["王 五_1002_assignsubmission_file_/photo.jpg"]
    assert (ws / "unmatched" / "王 五_1002_assignsubmission_file_" / "photo.jpg").read_bytes() == b"\xff\xd8\xff"
    ignored = {i["origin"] for i in report["ignored"]}
    assert ignored == {"王 五_1002_assignsubmission_file_/.DS_Store", "Thumbs.db",
                       "__MACOSX/王 五_1002_assignsubmission_file_/._lab01_data (2).ipynb"}
    out = capsys.readouterr().out
    assert "Zhao Liu_1003_assignsubmission_file_lab.zip: not a readable zip" in out and "ignored:    Thumbs.db" in out


def test_caps_per_file_student_and_export(tmp_path):
    kb = lambda n: NB + b" " * (n << 10)                                      # noqa: E731
    export = _zip([
        ("Ann_1_assignsubmission_file_lab01_data.ipynb", kb(300), OLD),
        ("Ann_1_assignsubmission_file_lab02_cnn.ipynb", kb(300), OLD),        # Ann over 500 KB with this one
        ("Bo_2_assignsubmission_file_lab01_data.ipynb", kb(700), OLD),        # over the 600 KB per file
        ("Bo_2_assignsubmission_file_lab02_cnn.ipynb", kb(100), OLD),
        ("Cy_3_assignsubmission_file_lab01_data.ipynb", kb(400), OLD),        # export over 700 KB with this one
        ("Di_4_assignsubmission_file_lab01_data.ipynb", kb(10), OLD),
    ])
    (tmp_path / "export.zip").write_bytes(export)
    assert main(["collect", str(tmp_path / "export.zip"), "--workspace", str(tmp_path / "ws"),
                 "--max-notebook-size", "600K", "--max-student-size", "500K", "--max-export-size", "700K"]) == 0
    report = json.loads((tmp_path / "ws" / "collect.json").read_text())
    assert set(_collected(report)) == {("1", "lab01_data"), ("2", "lab02_cnn"), ("4", "lab01_data")}
    unmatched = _unmatched(report)
    assert "--max-student-size" in unmatched["Ann_1_assignsubmission_file_lab02_cnn.ipynb"]
    assert "--max-notebook-size" in unmatched["Bo_2_assignsubmission_file_lab01_data.ipynb"]
    assert "--max-export-size" in unmatched["Cy_3_assignsubmission_file_lab01_data.ipynb"]
    with pytest.raises(SystemExit, match="not a size"):
        main(["collect", str(tmp_path / "export.zip"), "--workspace", str(tmp_path / "ws"), "--max-student-size", "lots"])


BOMB = 768 << 20      # well above the 500 MB asserted below, yet ~3 s to deflate and ~3 s to inflate and write
PEAK_RSS = """
import json, resource, sys
from grader import collect
source, workspace, labs, caps = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
options = {"limits": collect.Limits.from_options(**caps)} if caps else {}
print(collect.summary(collect.collect(source, workspace, labs, **options)))
# VmHWM: this process's own peak (ru_maxrss would carry over the forking parent's RSS across exec)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
print("peak_rss_kb", int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.fixture(scope="module")
def bomb_export(tmp_path_factory):
    """A Canvas export; 111's upload holds a 768 MiB zero-filled lab01 deflated to ~1 MB."""
    folder = tmp_path_factory.mktemp("bomb")
    upload = folder / "upload.zip"
    with zipfile.ZipFile(upload, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        zeros = bytes(4 << 20)
        with archive.open("lab01_data.ipynb", "w", force_zip64=True) as entry:
            for _ in range(BOMB // len(zeros)):
                entry.write(zeros)
        archive.writestr(zipfile.ZipInfo("lab02_cnn.ipynb", date_time=OLD), NB)
    export = folder / "export.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.write(upload, "alice_111_999_upload.zip")
        archive.writestr(zipfile.ZipInfo("bob_222_888_lab01_data.ipynb", date_time=OLD), NB)
    assert export.stat().st_size < 10 << 20
    return export


def _collect_measured(source, ws, **caps):
    """collect in a fresh interpreter (its own peak RSS), importing only grader.collect."""
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", PEAK_RSS, str(source), str(ws), json.dumps(LABS), json.dumps(caps)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.split("peak_rss_kb")[-1]) / 1024
    written = sum(p.stat().st_size for p in ws.rglob("*") if p.is_file())
    return json.loads((ws / "collect.json").read_text()), peak_mb, written, done.stdout


def test_zip_bomb_in_an_upload_is_skipped_and_everyone_else_collected(bomb_export, tmp_path):
    # defaults: the entry's declared size is over the 50 MB per-file cap, nothing is inflated
    report, peak_mb, written, out = _collect_measured(bomb_export, tmp_path / "ws")
    assert peak_mb < 500, f"collect peaked at {peak_mb:.0f} MB"
    assert set(_collected(report)) == {("111", "lab02_cnn"), ("222", "lab01_data")}
    problem = _unmatched(report)["alice_111_999_upload.zip/lab01_data.ipynb"]
    assert "--max-notebook-size" in problem and "768 MB" in problem
    assert "alice_111_999_upload.zip/lab01_data.ipynb" in out
    assert written < 1 << 20
    # caps lifted: the entry is streamed to disk whole, within bounded memory
    report, peak_mb, written, out = _collect_measured(bomb_export, tmp_path / "ws2", notebook="1G", student="1G",
                                                      export="1G")
    assert peak_mb < 500, f"collect peaked at {peak_mb:.0f} MB"
    assert set(_collected(report)) == {("111", "lab01_data"), ("111", "lab02_cnn"), ("222", "lab01_data")}
    assert (tmp_path / "ws2/submitted/111/lab01_data/lab01_data.ipynb").stat().st_size == BOMB
    shutil.rmtree(tmp_path / "ws2")        # pytest keeps the last runs' tmp_path
    # a cap below the declared size skips the entry unread, and the others are still collected
    report, peak_mb, written, out = _collect_measured(bomb_export, tmp_path / "ws3", notebook="1G", student="600M")
    problem = _unmatched(report)["alice_111_999_upload.zip/lab01_data.ipynb"]
    assert "--max-student-size" in problem and set(_collected(report)) == {("111", "lab02_cnn"), ("222", "lab01_data")}
    assert written < 1 << 20


def test_custom_pattern_may_look_past_the_id_segment():
    pattern = [r"(?:^|/)(?P<id>\d+)/(?:{labs})"]
    assert collect.identify("term/123/lab01_data.ipynb", LABS, patterns=pattern) == ("123", "lab01_data")
    assert collect.identify("term/123/notes/lab01_data.ipynb", LABS, patterns=pattern) == (None, "lab01_data")
