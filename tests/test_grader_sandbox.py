"""The sandbox on its own, with small notebooks (no TensorFlow): limits, isolation, kill switch.

The hostile payloads are bounded (a broken limit fails the test instead of taking the
machine down): the memory hog stops 1.5 GB over the cap, the fork loop at 300 processes.
"""
import json
import os
import shutil
import socket
import threading
from pathlib import Path

import nbformat
import pytest

import synthetic_class as sc
from conftest import ROOT
from grader import sandbox
from grader.grading import autograde, Workspace
from grader.sandbox import Limits, Sandbox, SandboxedExecute

pytestmark = pytest.mark.usefixtures("sandbox_required")   # a skip, or a failure in CI

CAP = 3 << 30


def run(tmp_path, *sources, threads=0, **limits):
    nb, runner = execute(sources, threads=threads, **limits)
    assert not runner.infrastructure, runner.kernel_log
    return nb, runner.events


def execute(sources, threads=0, **limits):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata.kernelspec = {"name": "cnn-course", "display_name": "Python 3", "language": "python"}
    box = Sandbox(limits=Limits(**{"cell_timeout": 30, "interrupt_grace": 5, "memory": CAP, **limits}),
                  threads=threads)
    runtime = sandbox.new_runtime()
    try:
        runner = SandboxedExecute(sandbox=box, scratch=runtime)
        runner.run(nb)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    return nb, runner


def text(cell) -> str:
    return "".join(o.get("text", "") or f"{o.get('ename')}: {o.get('evalue')}" for o in cell.outputs)


def result_of(cell, tag):
    line = next(line for line in text(cell).splitlines() if line.startswith(tag))
    return json.loads(line[len(tag):])


def test_limits_hold_memory_processes_files(tmp_path):
    # the total (cgroup) above the per-process cap, so that the address-space cap is what stops it
    nb, events = run(tmp_path, sc.hog_payload(CAP, "R", file_bytes=64 << 20), processes=64, file_size=16 << 20,
                     total_memory=CAP + (2 << 30))
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
        assert r["uid"] == f"ok {sandbox.default_uid_base()}"      # 60000, or $GRADER_UID_BASE
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


# -- limits for the submission as a whole ------------------------------------------------------
ETC_ALLOWED = set(sandbox.ETC) | {"passwd", "group"}
WHOLE = """
import json, os, subprocess, time
r = {}
def attempt(name, fn):
    try:
        r[name] = "ok " + str(fn())[:60]
    except BaseException as e:
        r[name] = type(e).__name__ + " " + str(getattr(e, "errno", ""))
def fill(path, mb):
    with open(path, "wb") as f:
        for _ in range(mb):
            f.write(b"x" * (1 << 20))
    return mb
attempt("disk", lambda: fill("big.bin", 200))
attempt("shm", lambda: fill("/dev/shm/big.bin", 100))
attempt("etc", lambda: sorted(set(os.listdir("/etc")) - set(%(etc)r)))
attempt("userns", lambda: subprocess.run(["unshare", "-U", "-r", "true"], capture_output=True).returncode)
attempt("cwd", os.getcwd)
# three children of 400 MB each: each is far below the address-space cap, together over the total
kids = []
for _ in range(3):
    pid = os.fork()
    if pid == 0:
        block = bytearray(400 << 20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(2)
        os._exit(0)
    kids.append(pid)
r["children"] = sorted(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in kids)
print("R" + json.dumps(r))
""" % {"etc": sorted(ETC_ALLOWED)}


def test_limits_hold_for_the_submission_as_a_whole(tmp_path):
    ok, why = sandbox.cgroup_support()
    if os.geteuid() == 0:
        assert ok, f"the grader runs as root but cannot make a cgroup per kernel: {why}"
    nb, events = run(tmp_path, WHOLE, total_memory=900 << 20, disk=64 << 20, shm_size=16 << 20)
    r = result_of(nb.cells[0], "R")
    assert r["disk"] == "OSError 28", r                   # ENOSPC: the tmpfs is full, not the host disk
    assert r["shm"] == "OSError 28", r
    assert r["etc"] == "ok []", r                         # a minimal /etc
    assert r["userns"] not in ("ok 0",), r                # no nested user namespace
    assert r["cwd"] == f"ok {sandbox.WORK}"
    if ok:
        assert -9 in r["children"], r                     # the cgroup's OOM killer: 1.2 GB > 900 MB
    else:
        pytest.skip(f"no cgroups here ({why}): total memory is not capped")


def test_cpu_time_is_capped_and_the_student_gets_the_reason(tmp_path):
    nb, runner = execute(["x = 1", "while True:\n    pass", "print('never')"], cpu_time=2, cell_timeout=60)
    assert not runner.infrastructure
    assert any("CPU time limit (2 s)" in e for e in runner.events), runner.events
    assert "CellNotExecuted" in text(nb.cells[2])


def test_thread_caps_and_nbgrader_execution_reach_the_kernel(tmp_path, monkeypatch):
    from grader import grading

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert grading.default_workers() == 4
    settings, _ = grading.batch_sandbox(Limits(), unsafe=False, workers=2, uid_base=60000)
    assert settings["threads"] == 2
    names = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
             "TF_NUM_INTEROP_THREADS", "NBGRADER_EXECUTION", "CNN_COURSE_FAST"]
    nb, _ = run(tmp_path, f"import os, json\nprint('R' + json.dumps({{n: os.environ.get(n) for n in {names!r}}}))",
                threads=settings["threads"])
    r = result_of(nb.cells[0], "R")
    assert r == {**{n: "2" for n in names[:5]}, "NBGRADER_EXECUTION": "autograde", "CNN_COURSE_FAST": None}


def test_a_kernel_that_cannot_start_is_an_infrastructure_failure(tmp_path):
    fake = fake_bwrap(tmp_path, passes=0)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    nb.metadata.kernelspec = {"name": "cnn-course", "display_name": "Python 3", "language": "python"}
    runtime = sandbox.new_runtime()
    try:
        runner = SandboxedExecute(sandbox=Sandbox(bwrap=str(fake)), scratch=runtime, startup_timeout=20)
        runner.run(nb)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    assert runner.infrastructure.startswith("the sandboxed kernel did not start")
    assert runner.events == []
    assert "bwrap: Creating new namespace failed: No space left on device" in runner.kernel_log
    assert len(str(runtime / "ipc" / "kernel-1")) < 60       # socket paths far below the 107-byte limit


def fake_bwrap(folder, passes: int):
    """A bwrap that runs the real one ``passes`` times, then fails as a broken host would."""
    script = folder / "fake-bwrap"
    count = folder / "bwrap-calls"
    script.write_text(f"""#!/bin/sh
n=$(cat {count} 2>/dev/null || echo 0); echo $((n + 1)) > {count}
if [ "$n" -lt {passes} ]; then exec {sandbox.bwrap_path()} "$@"; fi
echo "bwrap: Creating new namespace failed: No space left on device" >&2
exit 1
""")
    script.chmod(0o755)
    return script


def test_require_sandbox_fails_in_ci_and_skips_elsewhere(monkeypatch):
    import conftest

    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but bubblewrap"):
        conftest.require_sandbox()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        conftest.require_sandbox()


# -- the grader as an unprivileged user --------------------------------------------------------
NONROOT_SCRIPT = """
import json, shutil, sys
sys.path.insert(0, %(root)r)
import nbformat
from grader import sandbox
from grader.sandbox import Limits, Sandbox, SandboxedExecute
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in %(cells)r])
nb.metadata.kernelspec = {"name": "cnn-course", "display_name": "Python 3", "language": "python"}
box = Sandbox(limits=Limits(memory=%(cap)d, total_memory=%(cap)d + (2 << 30), processes=64, shm_size=16 << 20,
                            cell_timeout=60))
runtime = sandbox.new_runtime()
runner = SandboxedExecute(sandbox=box, scratch=runtime)
runner.run(nb)
shutil.rmtree(runtime, ignore_errors=True)
outputs = ["".join(o.get("text", "") for o in c.get("outputs", [])) for c in nb.cells]
print("RESULT" + json.dumps({"outputs": outputs, "infrastructure": runner.infrastructure,
                             "log": runner.kernel_log[-3000:], "cgroups": sandbox.cgroup_support()}))
"""


def as_unprivileged_user(command: list[str]) -> list[str]:
    """``command`` run as an unprivileged uid (``nobody``) when the tests run as root: in a
    mount namespace where root's home shows only the Python installation and the repository
    (read-only), when they live there."""
    if os.geteuid() != 0:
        return command
    import sys

    binds = []
    for path in dict.fromkeys(Path(p) for p in [sys.base_prefix, sys.prefix, ROOT]):
        if path.is_relative_to("/root"):
            for parent in reversed(path.parents[:-2]):      # bwrap would make them 0700
                binds += ["--perms", "0755", "--dir", str(parent)]
            binds += ["--ro-bind", str(path), str(path)]
    return [sandbox.bwrap_path(), "--dev-bind", "/", "/", "--tmpfs", "/root", *binds, "--",
            "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", *command]


def test_the_sandbox_holds_when_the_grader_is_not_root(tmp_path):
    import subprocess
    import sys

    cells = [sc.hog_payload(CAP, "HOG"), sc.spy_payload("SPY", {
        "uid": "os.getuid()",
        "userns": "__import__('subprocess').run(['unshare', '-U', '-r', 'true']).returncode",
        "shm": "open('/dev/shm/x', 'wb').write(b'x' * (32 << 20))"})]
    script = NONROOT_SCRIPT % {"root": str(ROOT), "cells": cells, "cap": CAP}
    done = subprocess.run(as_unprivileged_user([sys.executable, "-c", script]), capture_output=True,
                          text=True, timeout=240, cwd="/tmp")
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT")), None)
    assert line, done.stdout[-2000:] + done.stderr[-3000:]
    r = json.loads(line[len("RESULT"):])
    assert not r["infrastructure"], r["log"]
    hog = json.loads(r["outputs"][0].split("HOG", 1)[1])
    assert hog["memory"].startswith("MemoryError"), hog
    assert hog["fork"].startswith("BlockingIOError"), hog
    assert int(hog["fork"].split()[-1]) < 64, hog          # a fixed cap inside the user namespace
    spy = json.loads(r["outputs"][1].split("SPY", 1)[1].splitlines()[0])
    assert spy["uid"] != "ok 0" and spy["userns"] != "ok 0", spy
    assert spy["shm"] == "OSError", spy                     # /dev/shm: a 16 MB tmpfs, not the host's
    if not r["cgroups"][0]:
        assert r["cgroups"][1]                                # the fallback says why


def test_unsafe_mode_runs_the_kernel_bare_in_its_own_folder(monkeypatch):
    monkeypatch.setattr(sandbox, "bwrap_path", lambda: None)       # --unsafe needs no bubblewrap
    assert sandbox.smoke_test(Sandbox(enabled=False)) == ""       # prints the host folder as its cwd


def test_each_kernel_gets_a_cgroup_with_the_limits():
    ok, why = sandbox.cgroup_support()
    if not ok:
        assert os.geteuid() != 0, f"root but no cgroups: {why}"
        pytest.skip(f"no cgroups here: {why}")
    group = sandbox.Cgroup(Limits(total_memory=700 << 20, processes=99), cpus=0.5).create()
    try:
        files = {f.name: f.read_text().strip() for folder in set(group.folders.values()) for f in folder.iterdir()
                 if f.name in ("memory.max", "memory.limit_in_bytes", "pids.max", "cpu.max", "cpu.cfs_quota_us")}
        assert files.get("memory.max", files.get("memory.limit_in_bytes")) == str(700 << 20)
        assert files["pids.max"] == "99"
        assert files.get("cpu.max", "").split()[:1] == ["50000"] or files.get("cpu.cfs_quota_us") == "50000"
        assert group.join_command()[0] == "/bin/sh"
    finally:
        folders = list(group.folders.values())
        group.remove()
    assert not any(f.exists() for f in folders)


def test_a_kernel_over_the_total_memory_is_killed_with_the_reason():
    if not sandbox.cgroup_support()[0]:
        assert os.geteuid() != 0
        pytest.skip("no cgroups here")
    nb, runner = execute(["x = 1", "block = bytearray(900 << 20)", "print('never')"], total_memory=600 << 20)
    assert not runner.infrastructure
    assert any("memory limit (600 MB) was reached" in e for e in runner.events), runner.events
    assert "CellNotExecuted" in text(nb.cells[2])
