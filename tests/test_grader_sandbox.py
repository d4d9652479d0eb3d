"""The sandbox on its own, with small notebooks (no TensorFlow): limits, isolation, kill switch.

The hostile payloads are bounded (a broken limit fails the test instead of taking the
machine down): the memory hog stops 1.5 GB over the cap, the fork loop at 300 processes.
"""
import json
import os
import shutil
import socket
import threading

import nbformat
import pytest

import synthetic_class as sc
from conftest import ROOT
from grader import sandbox
from grader.grading import autograde, Workspace
from grader.sandbox import Limits, Sandbox, SandboxedExecute

pytestmark = pytest.mark.skipif(sandbox.bwrap_path() is None, reason="bubblewrap is not installed")

CAP = 3 << 30


def run(tmp_path, *sources, **limits):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata.kernelspec = {"name": "cnn-course", "display_name": "Python 3", "language": "python"}
    box = Sandbox(limits=Limits(**{"cell_timeout": 30, "interrupt_grace": 5, "memory": CAP, **limits}))
    runtime = sandbox.new_runtime()
    try:
        runner = SandboxedExecute(sandbox=box, scratch=runtime)
        runner.run(nb)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    assert not runner.infrastructure, runner.kernel_log
    return nb, runner.events


def text(cell) -> str:
    return "".join(o.get("text", "") or f"{o.get('ename')}: {o.get('evalue')}" for o in cell.outputs)


def result_of(cell, tag):
    line = next(line for line in text(cell).splitlines() if line.startswith(tag))
    return json.loads(line[len(tag):])


def test_limits_hold_memory_processes_files(tmp_path):
    nb, events = run(tmp_path, sc.hog_payload(CAP, "R", file_bytes=64 << 20), processes=64, file_size=16 << 20)
    r = result_of(nb.cells[0], "R")
    assert r["memory"].startswith("MemoryError"), r
    assert int(r["memory"].split()[-2]) <= CAP >> 20
    assert r["fork"].startswith("BlockingIOError"), r
    assert int(r["fork"].split()[-1]) < 64
    assert r["file"] != "written", r


def test_isolation_files_network_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_TEST_SECRET", "s3cret")
    server = socket.create_server(("0.0.0.0", 0))
    port, connections = server.getsockname()[1], []
    threading.Thread(target=lambda: connections.append(server.accept()), daemon=True).start()
    host_ip = socket.gethostbyname(socket.gethostname())
    solution = next((ROOT / "solutions" / "lab01_data").glob("*.ipynb"))
    nb, _ = run(tmp_path, sc.spy_payload("R", {
        "read_solution": f"open({str(solution)!r}).read(50)",
        "list_repo": f"sorted(os.listdir({str(ROOT)!r}))",
        "write_repo": f"open({str(ROOT / 'utils' / 'pwned.py')!r}, 'w').write('x')",
        "write_outside": f"open({str(tmp_path / 'pwned.txt')!r}, 'w').write('x')",
        "loopback": f"socket.create_connection(('127.0.0.1', {port}), timeout=3)",
        "host": f"socket.create_connection(({host_ip!r}, {port}), timeout=3)",
        "secret": "os.environ['GRADER_TEST_SECRET']",
        "uid": "os.getuid()",
        "scratch": "open('mine.txt', 'w').write('fine')"}))
    r = result_of(nb.cells[0], "R")
    assert r["read_solution"] == "FileNotFoundError"
    assert r["list_repo"] == "ok ['.venv', 'data', 'utils']"
    assert r["write_repo"] in ("OSError", "PermissionError")
    assert r["write_outside"] in ("FileNotFoundError", "PermissionError", "OSError")
    assert r["loopback"] in ("ConnectionRefusedError", "OSError")
    assert r["host"] in ("OSError", "TimeoutError", "ConnectionRefusedError")
    assert r["secret"] == "KeyError"
    assert r["scratch"] == "ok 4"
    if os.geteuid() == 0:
        assert r["uid"] == "ok 60000"
    assert connections == [] and not (tmp_path / "pwned.txt").exists()
    assert not (ROOT / "utils" / "pwned.py").exists()
    server.close()


def test_uninterruptible_kernel_is_killed_and_the_rest_scores_zero(tmp_path):
    nb, events = run(tmp_path, "x = 1",
                     "while True:\n    pass",
                     "print('after the interrupt')",
                     "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
                     "print('never')",
                     cell_timeout=4, interrupt_grace=3)
    assert "KeyboardInterrupt" in text(nb.cells[1]) and "CellTimeoutError" in text(nb.cells[1])
    assert text(nb.cells[2]) == "after the interrupt\n"
    assert "CellTimeoutError" in text(nb.cells[3]) and "killed" in text(nb.cells[3])
    assert "CellNotExecuted" in text(nb.cells[4])
    assert any("ignored the interrupt: kernel killed" in e for e in events)


def test_output_is_capped(tmp_path):
    nb, events = run(tmp_path, "for i in range(2000):\n    print('x' * 1000)\nraise ValueError('late')",
                     output_bytes=50_000)
    size = sum(len(o.get("text", "")) for o in nb.cells[0].outputs)
    assert size < 60_000
    assert "ValueError" in text(nb.cells[0])          # the error survives the cap
    assert any("output over 50000 bytes dropped" in e for e in events)


def test_autograde_refuses_without_bubblewrap(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    with pytest.raises(SystemExit, match="sudo apt-get install bubblewrap"):
        autograde(Workspace(root=tmp_path / "ws"), progress=False)
