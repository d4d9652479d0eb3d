"""Run untrusted student notebooks inside a bubblewrap sandbox.

The kernel of a submission is started through ``bwrap`` (Debian package ``bubblewrap``):

* no network (``--unshare-net``); the kernel talks to the grader over the IPC transport
  (Unix sockets in the submission's scratch folder), which works across network namespaces;
* a file system view built from read-only binds of what a kernel needs (system libraries,
  the Python installation, the course's environment, ``utils/`` and ``data/``) plus the
  scratch folder, the only writable place; ``solutions/``, the grading workspace (gradebook,
  other students' files) and the rest of the disk do not exist inside;
* own PID/IPC/UTS namespaces, a new session, no capabilities, killed with its worker;
* resource limits set by ``prlimit`` right before the kernel starts: address space
  (``RLIMIT_AS``, leaves room for TensorFlow's reservations), number of processes
  (``RLIMIT_NPROC``, counted for a dedicated uid per worker slot when the grader runs as
  root, otherwise on top of the user's current processes), file size, no core dumps;
* the executor (nbgrader's ``Execute`` preprocessor, i.e. nbclient) caps each cell's output,
  interrupts a cell at its timeout and kills a kernel that does not come back; cells that
  did not run get an error output so that nbgrader scores them 0.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from .course import ROOT

INSTALL_HINT = ("bubblewrap (bwrap) is not installed: student code cannot be sandboxed.\n"
                "Install it with `sudo apt-get install bubblewrap` (or `make system-deps`), "
                "or pass --unsafe to run submissions without a sandbox (only for code you trust).")


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _parse_size(text: str | int) -> int:
    if isinstance(text, int):
        return text
    text = str(text).strip().upper().rstrip("B")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


@dataclass
class Limits:
    """Resource limits of one sandboxed kernel."""

    memory: int = _parse_size("6G")        # RLIMIT_AS; TensorFlow reserves ~2.5 GB virtual at import
    processes: int = 256                    # RLIMIT_NPROC (threads count too)
    file_size: int = _parse_size("512M")    # RLIMIT_FSIZE: largest file the kernel may write
    tmp_size: int = _parse_size("512M")     # size of the private /tmp
    cell_timeout: int = 300                 # seconds per cell before an interrupt
    interrupt_grace: int = 10               # seconds an interrupted kernel has to come back
    notebook_timeout: int = 3600            # wall-clock budget of a whole notebook
    output_bytes: int = 1 << 20             # output kept per cell; the rest is dropped

    @classmethod
    def from_options(cls, **options) -> "Limits":
        limits = cls()
        for key, value in options.items():
            if value is None:
                continue
            if key in ("memory", "file_size", "tmp_size", "output_bytes"):
                value = _parse_size(value)
            setattr(limits, key, value)
        return limits


@dataclass
class Sandbox:
    """How to wrap a kernel command in bwrap. ``enabled=False`` runs it bare (``--unsafe``)."""

    limits: Limits = field(default_factory=Limits)
    enabled: bool = True
    uid: int = 60000                         # used when the grader runs as root
    readable: tuple[Path, ...] = ()          # extra read-only paths (course code and data)

    def default_readable(self) -> list[Path]:
        paths = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)]
        paths += [ROOT / "utils", ROOT / "data"]
        return paths + list(self.readable)

    def command(self, cmd: list[str], scratch: Path) -> list[str]:
        """``cmd`` (a kernel command line) wrapped in bwrap and prlimit."""
        lim = self.limits
        limit_args = [f"--as={lim.memory}", f"--fsize={lim.file_size}", "--core=0"]
        if not self.enabled:
            return ["prlimit", *limit_args, f"--nproc={_nproc_for_user(lim.processes)}", "--", *cmd]
        bwrap = bwrap_path()
        if bwrap is None:
            raise RuntimeError(INSTALL_HINT)
        args = [bwrap, "--die-with-parent", "--new-session",
                "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                "--hostname", "sandbox",
                # ipykernel would watch JPY_PARENT_PID, which does not exist in the PID namespace;
                # --die-with-parent ends the kernel with its worker instead
                "--unsetenv", "JPY_PARENT_PID"]
        for system in ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]:
            args += ["--ro-bind-try", system, system]
        binds = [p for p in dict.fromkeys(self.default_readable())
                 if p.exists() and not str(p).startswith("/usr/")]
        # bwrap creates the folders above a bind as 0700: make them traversable for the kernel
        parents = sorted({a for p in [*binds, scratch] for a in p.parents if str(a) != "/"},
                         key=lambda a: len(a.parts))
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--perms", "1777", "--size", str(lim.tmp_size), "--tmpfs", "/tmp"]
        for folder in parents:
            if str(folder) not in ("/usr", "/tmp") and folder not in binds:
                args += ["--perms", "0755", "--dir", str(folder)]
        for path in binds:
            args += ["--ro-bind", str(path), str(path)]
        args += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch)]
        if os.geteuid() == 0:
            # Root: drop to a dedicated uid, so RLIMIT_NPROC counts only this kernel's processes
            # (root itself is exempt from RLIMIT_NPROC) and no capability is left.
            args += ["--", "setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
                     "prlimit", *limit_args, f"--nproc={lim.processes}", "--"]
        else:
            args += ["--unshare-user", "--cap-drop", "ALL", "--",
                     "prlimit", *limit_args, f"--nproc={_nproc_for_user(lim.processes)}", "--"]
        return args + cmd


def _nproc_for_user(extra: int) -> int:
    """RLIMIT_NPROC counts every process of the real uid: allow ``extra`` more than now."""
    uid, count = os.getuid(), 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1 + max(0, len(os.listdir(entry / "task")) - 1)
            except OSError:
                pass
    return count + extra


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in the sandbox and listens on IPC sockets."""

    sandbox: Sandbox = Sandbox()
    scratch: Path = Path("/tmp")

    def write_connection_file(self, **kwargs):
        result = super().write_connection_file(**kwargs)
        if self.sandbox.enabled and os.geteuid() == 0:
            # the kernel runs as the sandbox's uid: it reads this file and binds sockets here
            folder = Path(self.connection_file).parent
            for path in (folder, Path(self.connection_file)):
                os.chown(path, self.sandbox.uid, self.sandbox.uid)
        return result

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        return self.sandbox.command(cmd, self.scratch)

    async def _async_interrupt_kernel(self) -> None:
        # Signals cannot cross the sandbox's session and PID namespace: ask the kernel itself
        # (ipykernel's control channel answers even while a cell runs).
        if self.has_kernel:
            msg = self.session.msg("interrupt_request", content={})
            self._connect_control_socket()
            self.session.send(self._control_socket, msg)

    interrupt_kernel = _async_interrupt_kernel


def kernel_env(scratch: Path, extra: dict | None = None) -> dict:
    """The kernel's whole environment: nothing of the grader's own (tokens, paths) leaks in."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(scratch),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MPLCONFIGDIR": str(scratch / ".config" / "matplotlib"),
        "XDG_CACHE_HOME": str(scratch / ".cache"),
        "KERAS_HOME": str(scratch / ".keras"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "CNN_COURSE_FAST": "1",
    }
    env.update(extra or {})
    return env


NOT_RUN = "CellNotExecuted"


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with a sandboxed kernel, an output cap and a kernel kill switch."""

    def __init__(self, *args, sandbox: Sandbox, scratch: Path, **kwargs):
        super().__init__(*args, **kwargs)
        self._sandbox, self._scratch = sandbox, scratch
        self.events: list[str] = []

    # -- kernel -------------------------------------------------------------------------
    def make_kernel_manager(self, kernel_name: str) -> SandboxKernelManager:
        manager_class = type("BoundSandboxKernelManager", (SandboxKernelManager,),
                             {"sandbox": self._sandbox, "scratch": self._scratch})
        km = manager_class(kernel_name=kernel_name, transport="ipc",
                           ip=str(self._scratch / ".ipc" / "kernel"))
        (self._scratch / ".ipc").mkdir(exist_ok=True)
        km.connection_file = str(self._scratch / ".ipc" / "connection.json")
        return km

    def run(self, nb: NotebookNode) -> NotebookNode:
        """Execute ``nb`` in place; never raises for what the student's code does."""
        lim = self._sandbox.limits
        self.timeout = lim.cell_timeout
        self._out_bytes: dict[int, int] = {}
        self._executed: set[int] = set()
        self._started = time.monotonic()
        self._current, self._killed_at = None, None
        self.events = []
        kernel_name = nb.metadata.get("kernelspec", {}).get("name", "python3")
        km = self.make_kernel_manager(kernel_name)
        resources = {"metadata": {"path": str(self._scratch)}}
        try:
            self.preprocess(nb, resources, km=km)
        except DeadKernelError as exc:
            self.events.append(f"kernel died or was killed: {exc}")
        except _OutOfTime:
            self.events.append(f"notebook time budget of {lim.notebook_timeout}s used up; kernel stopped")
        except Exception as exc:  # a kernel that never started, a protocol error, ...
            self.events.append(f"execution failed: {type(exc).__name__}: {exc}")
        finally:
            try:
                if km.has_kernel:
                    asyncio.run(km.shutdown_kernel(now=True))
            except Exception:
                pass
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and index not in self._executed and cell.source.strip():
                if index == self._killed_at:
                    ename, evalue = "CellTimeoutError", "timed out, ignored the interrupt; the kernel was killed"
                else:
                    ename, evalue = NOT_RUN, "the kernel stopped before this cell ran"
                cell.setdefault("outputs", []).append(NotebookNode(
                    output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))
        return nb

    async def async_start_new_kernel(self, **kwargs):
        kwargs["env"] = kernel_env(self._scratch)
        kwargs["cwd"] = str(self._scratch)
        kwargs["stdout"] = kwargs["stderr"] = subprocess.DEVNULL   # the notebook gets the output
        await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)

    # -- per cell -----------------------------------------------------------------------
    def preprocess_cell(self, cell, resources, index):
        if time.monotonic() - self._started > self._sandbox.limits.notebook_timeout:
            raise _OutOfTime()
        self._current = index
        return super().preprocess_cell(cell, resources, index)

    def on_cell_executed(self, **kwargs):
        self._executed.add(kwargs["cell_index"])
        return super().on_cell_executed(**kwargs)

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self._out_bytes.get(cell_index, 0)
        self._out_bytes[cell_index] = used + size
        limit = self._sandbox.limits.output_bytes
        if msg["msg_type"] != "error" and used + size > limit:
            if used <= limit:
                self.events.append(f"cell {cell_index}: output over {limit} bytes dropped")
                outs.append(NotebookNode(output_type="stream", name="stderr",
                                         text=f"\n[grader: output beyond {limit} bytes dropped]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    async def _async_handle_timeout(self, timeout, cell=None):
        reply = await super()._async_handle_timeout(timeout, cell)
        if not await self._responds(self._sandbox.limits.interrupt_grace):
            self.events.append(f"cell {self._current} timed out after {timeout}s and ignored the interrupt: kernel killed")
            self._killed_at = self._current
            await self.km.shutdown_kernel(now=True)
            raise DeadKernelError("kernel ignored the interrupt and was killed")
        self.events.append(f"cell {self._current} timed out after {timeout}s and was interrupted")
        return reply

    async def _responds(self, grace: float) -> bool:
        """Whether the kernel answers a ``kernel_info`` request within ``grace`` seconds."""
        msg_id = self.kc.kernel_info()
        deadline = time.monotonic() + grace
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=left)
            except (Empty, asyncio.TimeoutError):
                return False
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
        return False


class _OutOfTime(Exception):
    pass


def check_available(unsafe: bool) -> None:
    """Raise ``SystemExit`` with the install hint when the sandbox cannot be used."""
    if unsafe:
        return
    if bwrap_path() is None:
        raise SystemExit(INSTALL_HINT)
    if shutil.which("prlimit") is None:
        raise SystemExit("prlimit (util-linux) is missing: it sets the sandbox's resource limits.")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        raise SystemExit("setpriv (util-linux) is missing: the sandbox needs it to drop root.")
