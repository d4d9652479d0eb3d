"""`make lab` starts a JupyterLab that serves the student notebooks, lab 1 first.

The server runs headless on a loopback port with a token; the test talks to its REST API
and stops it (and its kernels) at the end.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from conftest import ROOT

TOKEN = "course-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read().decode())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("lab") / "server.log"
    flags = (f"--no-browser --ServerApp.ip=127.0.0.1 --IdentityProvider.token={TOKEN} "
             f"--ServerApp.open_browser=False")
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(log.parent / "runtime"))
    with open(log, "w") as out:
        proc = subprocess.Popen(["make", "-s", "lab", f"VENV={sys.prefix}", f"LAB_PORT={port}", f"LAB_FLAGS={flags}"],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                get(f"{base}/api/status?token={TOKEN}")
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_server_lists_lab1(server):
    root = get(f"{server}/api/contents?token={TOKEN}")
    names = sorted(item["name"] for item in root["content"] if item["type"] == "directory")
    assert names and names[0] == "lab01_data", names
    lab1 = get(f"{server}/api/contents/lab01_data?token={TOKEN}")
    assert "lab01_data.ipynb" in [item["name"] for item in lab1["content"]]


def test_served_notebook_is_the_student_version(server):
    nb = get(f"{server}/api/contents/lab01_data/lab01_data.ipynb?token={TOKEN}")["content"]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"]]
    assert any(">>>填写<<<" in s and "NotImplementedError" in s for s in sources)
    assert not any("BEGIN SOLUTION" in s for s in sources)


def test_notebook_kernel_resolves_to_the_course_environment(server):
    specs = get(f"{server}/api/kernelspecs?token={TOKEN}")["kernelspecs"]
    nb = get(f"{server}/api/contents/lab01_data/lab01_data.ipynb?token={TOKEN}")["content"]
    wanted = nb["metadata"]["kernelspec"]["name"]
    assert wanted in specs, f"kernel {wanted!r} not installed; make install registers it"
    argv0 = specs[wanted]["spec"]["argv"][0]
    assert os.path.realpath(argv0).startswith(os.path.realpath(sys.prefix)) or \
        os.path.realpath(os.path.dirname(argv0)) == os.path.realpath(os.path.dirname(sys.executable))


def test_lab_opens_on_lab1(server):
    with urllib.request.urlopen(f"{server}/?token={TOKEN}", timeout=10) as response:
        assert urllib.parse.urlsplit(response.url).path == "/lab/tree/lab01_data/lab01_data.ipynb", response.url
