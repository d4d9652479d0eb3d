"""`make lab` starts a JupyterLab that serves the student notebooks, lab 1 first, in the
student's view; `make lab-instructor` adds nbgrader's instructor tools.

Each server runs headless on a loopback port with a token (tests/labserver.py) on a
temporary copy of notebooks/; the tests talk to its REST API and stop it at the end.
The browser test (tests/test_browser.py) drives the same student view in Chromium.
"""
import json
import os
import re
import shutil
import sys
import urllib.parse
import urllib.request

import pytest

from conftest import ROOT
from labserver import lab_server

NBGRADER_INSTRUCTOR_PLUGINS = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                               "@jupyter/nbgrader:course-list"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", work / "notebooks")
    with lab_server(work, notebooks=work / "notebooks") as srv:
        yield srv


def page_config(srv) -> dict:
    with urllib.request.urlopen(srv.url("/lab"), timeout=10) as response:
        html = response.read().decode()
    match = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "JupyterLab's page has no jupyter-config-data"
    return json.loads(match.group(1))


def disabled(config: dict) -> set:
    value = config.get("disabledExtensions", [])
    return set(value if isinstance(value, list) else [k for k, v in value.items() if v])


def test_server_lists_lab1(server):
    root = server.get("/api/contents")
    names = sorted(item["name"] for item in root["content"] if item["type"] == "directory")
    assert names and names[0] == "lab01_data", names
    lab1 = server.get("/api/contents/lab01_data")
    assert "lab01_data.ipynb" in [item["name"] for item in lab1["content"]]


def test_served_notebook_is_the_student_version(server):
    nb = server.get("/api/contents/lab01_data/lab01_data.ipynb")["content"]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"]]
    assert any(">>>填写<<<" in s and "NotImplementedError" in s for s in sources)
    assert not any("BEGIN SOLUTION" in s for s in sources)


def test_notebook_kernel_resolves_to_the_course_environment(server):
    specs = server.get("/api/kernelspecs")["kernelspecs"]
    nb = server.get("/api/contents/lab01_data/lab01_data.ipynb")["content"]
    wanted = nb["metadata"]["kernelspec"]["name"]
    assert wanted in specs, f"kernel {wanted!r} not installed; make install registers it"
    argv0 = specs[wanted]["spec"]["argv"][0]
    assert os.path.realpath(argv0).startswith(os.path.realpath(sys.prefix)) or \
        os.path.realpath(os.path.dirname(argv0)) == os.path.realpath(os.path.dirname(sys.executable))


def test_lab_opens_on_lab1(server):
    with urllib.request.urlopen(server.url("/"), timeout=10) as response:
        assert urllib.parse.urlsplit(response.url).path == "/lab/tree/lab01_data/lab01_data.ipynb", response.url


def test_student_view_has_validate_but_no_instructor_tools(server):
    off = disabled(page_config(server))
    assert set(NBGRADER_INSTRUCTOR_PLUGINS) <= off, off
    assert "@jupyter/nbgrader:validate-assignment" not in off
    assert "@jupyter/nbgrader:assignment-list" in off, "no exchange, yet the assignment list is on"
    # server side: Validate answers, Formgrader is not there
    assert server.status("/nbgrader_version?version=0") == 200
    assert server.status("/formgrader") == 404
    assert server.status("/assignments") == 404


def test_exchange_turns_on_the_assignment_list(tmp_path):
    exchange = tmp_path / "exchange"
    # what `nbgrader release_assignment` leaves in an exchange
    outbound = exchange / "cnn-handwriting" / "outbound" / "lab01_data"
    outbound.mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / "lab01_data" / "lab01_data.ipynb", outbound)
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    with lab_server(tmp_path, notebooks=tmp_path / "notebooks", EXCHANGE=str(exchange)) as srv:
        off = disabled(page_config(srv))
        assert "@jupyter/nbgrader:assignment-list" not in off, off
        assert set(NBGRADER_INSTRUCTOR_PLUGINS) <= off, off
        listing = srv.get("/assignments?course_id=cnn-handwriting")
        assert listing["success"], listing
        released = [a["assignment_id"] for a in listing["value"] if a["status"] == "released"]
        assert released == ["lab01_data"], listing
        assert srv.status("/formgrader") == 404


def test_interface_is_chinese_by_default(server):
    setting = server.get("/lab/api/settings/@jupyterlab/translation-extension:plugin")
    assert setting["schema"]["properties"]["locale"]["default"] == "zh_CN"
    packs = server.get("/lab/api/translations")["data"]
    assert "zh_CN" in packs, f"the Chinese language pack is not installed: {sorted(packs)}"


def test_instructor_view_has_formgrader(tmp_path):
    with lab_server(tmp_path, target="lab-instructor") as srv:
        off = disabled(page_config(srv))
        assert not off & set(NBGRADER_INSTRUCTOR_PLUGINS), off
        assert srv.status("/formgrader") == 200, srv.log_tail()
        top = {item["name"] for item in srv.get("/api/contents")["content"]}
        assert {"solutions", "notebooks", "grader"} <= top, top
