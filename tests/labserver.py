"""Start `make lab` (or `make lab-instructor`) headless for a test, and stop it afterwards.

The server listens on a free loopback port with a token, serves the notebook folder it is
given (tests pass a temporary copy of notebooks/, so nothing is written into the repository)
and keeps its runtime files, user settings and workspaces in a temporary folder, so neither
the user's ~/.jupyter nor earlier runs change what the test sees.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "course-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    base: str
    token: str
    notebooks: Path
    log: Path

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def get(self, path: str):
        with urllib.request.urlopen(self.url(path), timeout=10) as response:
            return json.loads(response.read().decode())

    def status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url(path), timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def log_tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:]


@contextlib.contextmanager
def lab_server(workdir: Path, notebooks: Path | None = None, target: str = "lab", timeout: float = 120,
               **make_vars: str):
    """Run `make <target>` (with ``make_vars``, e.g. ``EXCHANGE=...``) until the block ends;
    yields a :class:`LabServer`."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = workdir / f"{target}-server.log"
    flags = " ".join([
        "--no-browser", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}",
        f"--LabApp.user_settings_dir={workdir / 'user-settings'}",
        f"--LabApp.workspaces_dir={workdir / 'workspaces'}",
    ])
    args = ["make", "-s", target, f"VENV={sys.prefix}", f"LAB_PORT={port}", f"LAB_FLAGS={flags}"]
    if notebooks is not None:
        args.append(f"NOTEBOOKS={notebooks}")
    args += [f"{key}={value}" for key, value in make_vars.items()]
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(workdir / "runtime"))
    with open(log, "w") as out:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", TOKEN, Path(notebooks or ROOT / "notebooks"), log)
    try:
        deadline = time.time() + timeout
        while True:
            try:
                server.get("/api/status")
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError(f"`make {target}` did not start JupyterLab:\n{server.log_tail()}")
                time.sleep(0.5)
        yield server
    finally:
        # The server runs in its own session: stop it and the kernels it started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
