"""`python -m grader collect`: student ids and labs from LMS exports, duplicates, junk."""
import io
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
