"""Run untrusted student notebooks inside a bubblewrap sandbox.

The kernel of a submission is started through ``bwrap`` (Debian package ``bubblewrap``):

* no network (``--unshare-net``); the kernel talks to the grader over the IPC transport
  (Unix sockets in a short per-job folder under ``/tmp``, so that the 107-byte socket path
  limit holds whatever the workspace's path), which works across network namespaces;
* a file system view built from read-only binds of what a kernel needs (system libraries,
  the Python installation, the course's environment and the folders the course's
  configuration names (grader/course.py ``KERNEL_SETUP``: ``utils/``, ``data/``), a minimal
  ``/etc``); the only writable places are size-limited tmpfs mounts: ``/tmp`` (which holds
  the kernel's working folder, ``/tmp/work``) and ``/dev/shm``. Nothing the student writes
  reaches the host's disk: the executed notebook comes back over the kernel protocol;
* own PID/IPC/UTS/cgroup namespaces, a new session, no capabilities, no nested user
  namespaces (``--disable-userns``), killed with its worker;
* limits for the submission as a whole when the host allows a child cgroup (v2, or the v1
  ``memory``/``pids``/``cpu`` hierarchies): total memory without swap, total processes and
  threads, CPU share. Without cgroups these fall back to per-process rlimits, and
  :func:`cgroup_support` says why (``autograde`` prints it);
* per-process limits set by ``prlimit`` right before the kernel starts: address space
  (``RLIMIT_AS``), processes (``RLIMIT_NPROC``, counted for a dedicated uid per worker slot
  when the grader runs as root, inside the sandbox's own user namespace otherwise), CPU time
  (``RLIMIT_CPU``), file size, no core dumps;
* the executor (nbgrader's ``Execute`` preprocessor, i.e. nbclient) caps each cell's output,
  interrupts a cell at its timeout and kills a kernel that does not come back; cells that
  did not run get an error output so that nbgrader scores them 0.

A kernel that never becomes ready (bwrap or the kernel failed to start) is a failure of the
grader's machinery, not of the student: :class:`SandboxedExecute` sets ``infrastructure``
and keeps the kernel's own stderr (``kernel_log``), and the caller must not record a grade.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute

from .course import KERNEL_SETUP, KernelSetup

INSTALL_HINT = ("bubblewrap (bwrap) is not installed: student code cannot be sandboxed.\n"
                "Install it with `sudo apt-get install bubblewrap` (or `make system-deps`), "
                "or pass --unsafe to run submissions without a sandbox (only for code you trust).")

WORK = Path("/tmp/work")        # the kernel's working folder and HOME inside the sandbox
RUNTIME_ROOT = Path("/tmp")     # host folder of the short per-job folders (IPC sockets, seed files)
# What a kernel needs of /etc: the dynamic linker's cache, Debian's alternatives (BLAS, ...),
# time zone and locale data. Passwords, host names, certificates and the rest stay outside.
ETC = ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "timezone",
       "nsswitch.conf", "mime.types", "matplotlibrc", "fonts"]


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def _parse_size(text: str | int) -> int:
    """``"512M"``, ``"2G"``, ``"1.5GiB"`` or a number of bytes (binary units)."""
    if isinstance(text, int):
        return text
    text = str(text).strip().upper().removesuffix("IB").rstrip("B")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


@dataclass
class Limits:
    """Resource limits of one sandboxed submission (``python -m grader autograde --help``)."""

    total_memory: int = _parse_size("2G")  # cgroup: all processes and tmpfs files together, no swap;
                                            # measured peaks: lab 3 1.1 GB, lab 6 0.7 GB, lab 5 0.65 GB
    processes: int = 256                    # cgroup pids.max and RLIMIT_NPROC (threads count too)
    cpus: float = 0.0                       # cgroup CPU quota in cores; 0 = cores / workers
    cpu_time: int = 3600                    # RLIMIT_CPU: CPU seconds per process (all its threads), then SIGXCPU
    disk: int = _parse_size("1G")           # tmpfs of /tmp (working folder included)
    shm_size: int = _parse_size("64M")      # tmpfs of /dev/shm
    memory: int = _parse_size("6G")         # RLIMIT_AS per process; TensorFlow reserves ~2.5 GB virtual
    file_size: int = _parse_size("512M")    # RLIMIT_FSIZE: largest file the kernel may write
    cell_timeout: int = 300                 # seconds per cell before an interrupt
    interrupt_grace: int = 10               # seconds an interrupted kernel has to come back
    notebook_timeout: int = 3600            # wall-clock budget of a whole notebook
    output_bytes: int = 1 << 20             # output kept per cell; the rest is dropped

    SIZES = ("total_memory", "disk", "shm_size", "memory", "file_size", "output_bytes")

    @classmethod
    def from_options(cls, **options) -> "Limits":
        limits = cls()
        for key, value in options.items():
            if value is None:
                continue
            if key in cls.SIZES:
                value = _parse_size(value)
            setattr(limits, key, value)
        return limits


# ----------------------------------------------------------------------------------------
# cgroups: limits for the submission as a whole
# ----------------------------------------------------------------------------------------
CGROUP_FS = Path("/sys/fs/cgroup")


def _own_cgroups() -> dict[str, str]:
    """{controller or "" (v2): path} of this process, from /proc/self/cgroup."""
    found = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            found[name] = path
    return found


def _cgroup_parents() -> dict[str, Path]:
    """Where this process may create child cgroups: {"memory"|"pids"|"cpu": folder}."""
    own = _own_cgroups()
    v2_root = CGROUP_FS if (CGROUP_FS / "cgroup.controllers").exists() else None
    if v2_root is not None and "" in own:
        folder = v2_root / own[""].lstrip("/")
        available = (folder / "cgroup.controllers").read_text().split()
        return {c: folder for c in ("memory", "pids", "cpu") if c in available}
    parents = {}
    for controller in ("memory", "pids", "cpu"):
        mount = CGROUP_FS / controller
        if controller in own and (mount / "cgroup.procs").exists():
            parents[controller] = mount / own[controller].lstrip("/")
    return parents


def cgroup_support() -> tuple[bool, str]:
    """Whether per-submission cgroups can be made here, and why not."""
    try:
        parents = _cgroup_parents()
    except OSError as exc:
        return False, f"cannot read this process's cgroups ({exc})"
    missing = [c for c in ("memory", "pids", "cpu") if c not in parents]
    if missing:
        return False, f"no cgroup controller {', '.join(missing)} available to this process"
    try:
        probe = Cgroup(Limits(), cpus=1.0)
        probe.create()
        probe.remove()
    except OSError as exc:
        return False, f"cannot create a child cgroup ({exc.strerror or exc}: {exc.filename or ''})"
    return True, ""


class Cgroup:
    """One child cgroup per kernel: memory (no swap), process count and CPU quota."""

    PERIOD = 100_000

    def __init__(self, limits: Limits, cpus: float):
        self.limits, self.cpus = limits, cpus
        self.name = f"grader-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.folders: dict[str, Path] = {}

    @property
    def v2(self) -> bool:
        return len(set(self.folders.values())) == 1

    def create(self) -> "Cgroup":
        """Make the cgroup and set its limits; raises ``OSError`` (and leaves nothing behind)
        when this process may not."""
        parents = _cgroup_parents()
        try:
            if (CGROUP_FS / "cgroup.controllers").exists() and len(set(parents.values())) == 1:
                parent = next(iter(parents.values()))
                _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in parents))
            for controller, parent in parents.items():
                folder = parent / self.name
                folder.mkdir(exist_ok=True)
                self.folders[controller] = folder
            self._write_limits()
        except OSError:
            self.remove()
            raise
        return self

    def _write_limits(self) -> None:
        lim, quota = self.limits, max(1000, int(self.cpus * self.PERIOD))
        if self.v2:
            folder = self.folders["memory"]
            _write(folder / "memory.max", lim.total_memory)
            _write(folder / "memory.swap.max", 0, optional=True)
            _write(folder / "pids.max", lim.processes)
            _write(folder / "cpu.max", f"{quota} {self.PERIOD}")
            return
        memory = self.folders["memory"]
        _write(memory / "memory.limit_in_bytes", lim.total_memory)
        _write(memory / "memory.memsw.limit_in_bytes", lim.total_memory, optional=True)
        _write(memory / "memory.swappiness", 0, optional=True)
        _write(self.folders["pids"] / "pids.max", lim.processes)
        _write(self.folders["cpu"] / "cpu.cfs_period_us", self.PERIOD)
        _write(self.folders["cpu"] / "cpu.cfs_quota_us", quota)

    def join_command(self) -> list[str]:
        """A prefix for a command line that moves the command into this cgroup first."""
        procs = [str(f / "cgroup.procs") for f in dict.fromkeys(self.folders.values())]
        return ["/bin/sh", "-c", 'for f in ' + " ".join(procs) + '; do echo $$ > "$f" || exit 125; done; '
                'exec "$@"', "cgroup-join"]

    def oom_kills(self) -> int:
        memory = self.folders.get("memory")
        for name in ("memory.events", "memory.oom_control"):
            path = memory / name if memory else None
            if path and path.exists():
                for line in path.read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        return 0

    def peak_memory(self) -> int:
        memory = self.folders.get("memory")
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            if memory and (memory / name).exists():
                return int((memory / name).read_text().split()[0])
        return 0

    def remove(self) -> None:
        """Kill what is left in the cgroup and delete it."""
        import psutil

        for folder in dict.fromkeys(self.folders.values()):
            for _ in range(50):
                pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()] \
                    if (folder / "cgroup.procs").exists() else []
                for pid in pids:
                    try:
                        psutil.Process(pid).kill()
                    except psutil.Error:
                        pass
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
        self.folders = {}


def remove_stale_cgroups() -> int:
    """Delete the empty cgroups left by graders that were killed; returns how many."""
    import psutil

    removed = 0
    for parent in set(_cgroup_parents().values()):
        for folder in parent.glob("grader-*-*"):
            pid = folder.name.split("-")[1]
            if pid.isdigit() and not psutil.pid_exists(int(pid)):
                try:
                    folder.rmdir()
                    removed += 1
                except OSError:
                    pass
    return removed


def _write(path: Path, value, optional: bool = False) -> None:
    try:
        path.write_text(str(value))
    except FileNotFoundError:
        if not optional:
            raise


# ----------------------------------------------------------------------------------------
def default_uid_base() -> int:
    """The first sandbox uid: ``$GRADER_UID_BASE`` or 60000. Two graders on one machine (or two
    test processes) need ranges that do not overlap: RLIMIT_NPROC counts processes per uid."""
    value = os.environ.get("GRADER_UID_BASE", "60000")
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"GRADER_UID_BASE must be a number, not {value!r}") from None


# the bwrap command line
# ----------------------------------------------------------------------------------------
@dataclass
class Sandbox:
    """How to wrap a kernel command in bwrap. ``enabled=False`` runs it bare (``--unsafe``)."""

    limits: Limits = field(default_factory=Limits)
    enabled: bool = True
    uid: int = field(default_factory=lambda: default_uid_base())   # used when the grader runs as root
    readable: tuple[Path, ...] = ()          # extra read-only paths
    threads: int = 0                         # thread caps of the kernel's libraries; 0 = all cores
    cgroups: bool = True                     # use a cgroup per kernel when the host allows it
    bwrap: str = ""                          # bwrap's path (default: found on PATH)
    setup: KernelSetup = KERNEL_SETUP        # the course's binds and environment (grader/course.py)

    def default_readable(self) -> list[Path]:
        paths = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)]
        return paths + list(self.setup.readable) + list(self.readable)

    @property
    def cpus(self) -> float:
        return self.limits.cpus or float(self.threads or len(os.sched_getaffinity(0)))

    def rlimits(self) -> list[str]:
        lim = self.limits
        return [f"--as={lim.memory}", f"--fsize={lim.file_size}", "--core=0",
                f"--cpu={lim.cpu_time}:{lim.cpu_time + 5}", f"--nproc={lim.processes}"]

    def command(self, cmd: list[str], runtime: Path) -> list[str]:
        """``cmd`` (a kernel command line) wrapped in bwrap and prlimit; ``runtime`` is the job's
        short host folder: ``ipc/`` (connection file, sockets) and ``seed/`` (copied into the
        working folder before the kernel starts)."""
        if not self.enabled:
            if shutil.which("prlimit") is None:
                return cmd
            rlimits = [a for a in self.rlimits() if not a.startswith("--nproc")]
            return ["prlimit", *rlimits, f"--nproc={_nproc_for_user(self.limits.processes)}", "--", *cmd]
        bwrap = self.bwrap or bwrap_path()
        if bwrap is None:
            raise RuntimeError(INSTALL_HINT)
        lim = self.limits
        args = [bwrap, "--die-with-parent", "--new-session",
                "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                "--hostname", "sandbox",
                # ipykernel would watch JPY_PARENT_PID, which does not exist in the PID namespace;
                # --die-with-parent ends the kernel with its worker instead
                "--unsetenv", "JPY_PARENT_PID"]
        for system in ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]:
            args += ["--ro-bind-try", system, system]
        args += ["--perms", "0755", "--dir", "/etc"]
        for name in ETC:
            args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        args += ["--ro-bind", str(runtime / "etc" / "passwd"), "/etc/passwd",
                 "--ro-bind", str(runtime / "etc" / "group"), "/etc/group"]
        binds = [p for p in dict.fromkeys(self.default_readable())
                 if p.exists() and not str(p).startswith("/usr/")]
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--perms", "1777", "--size", str(lim.shm_size), "--tmpfs", "/dev/shm",
                 "--perms", "1777", "--size", str(lim.disk), "--tmpfs", "/tmp"]
        # bwrap creates the folders above a bind as 0700: make them traversable for the kernel
        parents = sorted({a for p in [*binds, runtime / "ipc"] for a in p.parents if str(a) != "/"},
                         key=lambda a: len(a.parts))
        for folder in parents:
            if str(folder) not in ("/usr", "/tmp") and folder not in binds:
                args += ["--perms", "0755", "--dir", str(folder)]
        for path in binds:
            args += ["--ro-bind", str(path), str(path)]
        args += ["--bind", str(runtime / "ipc"), str(runtime / "ipc"),
                 "--ro-bind", str(runtime / "seed"), str(runtime / "seed"), "--chdir", "/tmp"]
        # The kernel gets a user namespace of its own, where RLIMIT_NPROC counts the sandbox's
        # processes and from which no further user namespace can be made; no capability inside.
        userns = ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
        if os.geteuid() == 0:
            # Root: bwrap builds the view as root (it can bind folders root alone may enter), then
            # setpriv drops to a dedicated uid per worker slot (RLIMIT_NPROC counts only this
            # kernel's processes on the host; root would be exempt) and an unprivileged inner
            # bwrap adds the user namespace.
            args += ["--", "setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs",
                     "bwrap", "--die-with-parent", *userns, "--dev-bind", "/", "/", "--"]
        else:
            args += [*userns, "--"]
        seed = f'mkdir -p {WORK} && cp -R {runtime / "seed"}/. {WORK}/ && cd {WORK} && exec "$@"'
        return args + ["prlimit", *self.rlimits(), "--", "/bin/sh", "-ec", seed, "seed", *cmd]

    def prepare_runtime(self, runtime: Path) -> None:
        """The host side of ``runtime``: ``ipc/``, ``seed/`` and the sandbox's passwd/group."""
        for sub in ("ipc", "seed", "etc"):
            (runtime / sub).mkdir(parents=True, exist_ok=True)
        uid = self.uid if os.geteuid() == 0 else os.getuid()
        gid = self.uid if os.geteuid() == 0 else os.getgid()
        (runtime / "etc" / "passwd").write_text(f"student:x:{uid}:{gid}:student:{WORK}:/bin/sh\n")
        (runtime / "etc" / "group").write_text(f"student:x:{gid}:\n")
        os.chmod(runtime, 0o711)
        for path in [runtime / "seed", runtime / "etc", *(runtime / "seed").rglob("*"),
                     *(runtime / "etc").iterdir()]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        if self.enabled and os.geteuid() == 0:
            os.chown(runtime / "ipc", self.uid, self.uid)
            os.chmod(runtime / "ipc", 0o700)

    def work_dir(self, runtime: Path) -> Path:
        """The kernel's working folder as the kernel sees it."""
        return WORK if self.enabled else runtime / "seed"


def new_runtime(root: Path = RUNTIME_ROOT) -> Path:
    """A fresh short per-job folder (``/tmp/grader-XXXXXXXX``: whatever the workspace's path,
    the kernel's socket paths stay far below the 107-byte limit)."""
    return Path(tempfile.mkdtemp(prefix="grader-", dir=root))


def _nproc_for_user(extra: int) -> int:
    """Unsandboxed kernels: RLIMIT_NPROC counts every process of the real uid, so allow
    ``extra`` more than this uid runs now."""
    import psutil

    uid, count = os.getuid(), 0
    for proc in psutil.process_iter(["uids", "num_threads"]):
        uids = proc.info.get("uids")
        if uids and uids.real == uid:
            count += proc.info.get("num_threads") or 1
    return count + extra


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in the sandbox and listens on IPC sockets."""

    sandbox: Sandbox = Sandbox()
    runtime: Path = Path("/tmp")
    cgroup: "Cgroup | None" = None

    def write_connection_file(self, **kwargs):
        result = super().write_connection_file(**kwargs)
        if self.sandbox.enabled and os.geteuid() == 0:
            # the kernel runs as the sandbox's uid: it reads this file and binds sockets here
            os.chown(self.connection_file, self.sandbox.uid, self.sandbox.uid)
        return result

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = self.sandbox.command(super().format_kernel_cmd(extra_arguments), self.runtime)
        if self.cgroup is not None:
            cmd = self.cgroup.join_command() + cmd
        self.launched = cmd
        return cmd


def kernel_env(work: Path, extra: dict | None = None, threads: int = 0, setup: KernelSetup = KERNEL_SETUP) -> dict:
    """The kernel's whole environment: nothing of the grader's own (tokens, paths) leaks in.
    ``threads`` caps the threads of the libraries ``setup.thread_variables`` name (cores / workers);
    ``setup.env`` is the course's own."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(work),
        "USER": "student",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MPLCONFIGDIR": str(work / ".config" / "matplotlib"),
        "XDG_CACHE_HOME": str(work / ".cache"),
        "KERAS_HOME": str(work / ".keras"),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "NBGRADER_EXECUTION": "autograde",     # as `nbgrader autograde` sets it
    }
    env.update(setup.env)
    if threads:
        for name in setup.thread_variables:
            env[name] = str(threads)
    env.update(extra or {})
    return env


class _PipeLog:
    """The kernel's stdout and stderr (bwrap's and zmq's messages): read in a thread, the first
    and last bytes kept (a student's code may write without end to file descriptor 2)."""

    def __init__(self, head: int = 16 << 10, tail: int = 48 << 10):
        self.read_fd, self.write_fd = os.pipe()
        self.head, self.tail, self.dropped = bytearray(), bytearray(), 0
        self._sizes = head, tail
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        head, tail = self._sizes
        while chunk := os.read(self.read_fd, 65536):
            room = head - len(self.head)
            self.head += chunk[:room]
            self.tail += chunk[room:] if room > 0 else chunk
            if len(self.tail) > tail:
                self.dropped += len(self.tail) - tail
                del self.tail[:len(self.tail) - tail]
        os.close(self.read_fd)

    def close_writer(self) -> None:
        if self.write_fd is not None:
            os.close(self.write_fd)
            self.write_fd = None

    def text(self, wait: float = 5.0) -> str:
        self.close_writer()
        self._thread.join(wait)
        gap = f"\n[... {self.dropped} bytes left out ...]\n" if self.dropped else ""
        return (bytes(self.head).decode(errors="replace") + gap + bytes(self.tail).decode(errors="replace"))


NOT_RUN = "CellNotExecuted"


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` with a sandboxed kernel, an output cap and a kernel kill switch.

    ``scratch`` is the job's short host folder (see :meth:`Sandbox.command`); files put in
    ``scratch/seed`` before :meth:`run` appear in the kernel's working folder. After ``run``:
    ``events`` are what the student's code ran into (it keeps its grade, with a reason),
    ``infrastructure`` is set when the grader's own machinery failed (no grade), ``kernel_log`` holds
    the kernel's stderr and the sandbox's messages, ``peak_memory`` the cgroup's peak and
    ``cpu_seconds`` the CPU time (user + system, every thread and process) the kernel used."""

    def __init__(self, *args, sandbox: Sandbox, scratch: Path, **kwargs):
        super().__init__(*args, **kwargs)
        self._sandbox, self._runtime = sandbox, Path(scratch)
        self.events: list[str] = []
        self.infrastructure: str = ""
        self.kernel_log: str = ""
        self.peak_memory = 0
        self.cpu_seconds = 0.0

    # -- kernel -------------------------------------------------------------------------
    def make_kernel_manager(self, kernel_name: str) -> SandboxKernelManager:
        km = SandboxKernelManager(kernel_name=kernel_name, transport="ipc",
                                  ip=str(self._runtime / "ipc" / "kernel"))
        km.sandbox, km.runtime, km.cgroup = self._sandbox, self._runtime, self._cgroup
        km.connection_file = str(self._runtime / "ipc" / "connection.json")
        # Signals cannot cross the sandbox's session and PID namespace: jupyter_client asks the
        # kernel itself over the control channel (ipykernel answers even while a cell runs).
        km.kernel_spec.interrupt_mode = "message"
        return km

    def run(self, nb: NotebookNode) -> NotebookNode:
        """Execute ``nb`` in place; never raises for what the student's code does."""
        lim = self._sandbox.limits
        self.timeout = lim.cell_timeout
        self._out_bytes: dict[int, int] = {}
        self._executed: set[int] = set()
        self._started = time.monotonic()
        self._current, self._killed_at, self._ready = None, None, False
        self.events, self.infrastructure, self.kernel_log = [], "", ""
        self._sandbox.prepare_runtime(self._runtime)
        self._cgroup, notes = self._new_cgroup()
        self._pipe = _PipeLog()
        kernel_name = nb.metadata.get("kernelspec", {}).get("name", "python3")
        km = None
        resources = {"metadata": {"path": str(self._runtime)}}
        try:
            km = self.make_kernel_manager(kernel_name)
            self.preprocess(nb, resources, km=km)
        except DeadKernelError as exc:
            self.events.append(f"kernel died or was killed: {exc}{self._death_reason(km)}")
        except _OutOfTime:
            self.events.append(f"notebook time budget of {lim.notebook_timeout}s used up; kernel stopped")
        except Exception as exc:  # a protocol error, ...
            self.events.append(f"execution failed: {type(exc).__name__}: {exc}")
        finally:
            self._shutdown(km)
        if not self._ready:
            # the kernel never answered: bwrap, the kernel or the grader failed, not the student
            self.infrastructure = "the sandboxed kernel did not start: " + "; ".join(self.events)
            self.events = []
        self.kernel_log = "\n".join([*notes, "command: " + " ".join(getattr(km, "launched", []) or []),
                              "--- kernel output ---", self._pipe.text()])
        self._mark_not_run(nb)
        return nb

    def _new_cgroup(self) -> tuple["Cgroup | None", list[str]]:
        if not (self._sandbox.enabled and self._sandbox.cgroups):
            return None, ["cgroup: not used"]
        try:
            return Cgroup(self._sandbox.limits, self._sandbox.cpus).create(), []
        except OSError as exc:
            return None, [f"cgroup: not available ({exc}); limits are per process"]

    def _death_reason(self, km) -> str:
        reasons = []
        if self._cgroup is not None and self._cgroup.oom_kills():
            reasons.append(f"the submission's memory limit ({self._sandbox.limits.total_memory >> 20} MB) was reached")
        process = getattr(getattr(km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if code in (128 + 24, -24):
            reasons.append(f"the CPU time limit ({self._sandbox.limits.cpu_time} s) was used up")
        return f" ({'; '.join(reasons)})" if reasons else ""

    def _shutdown(self, km) -> None:
        process = getattr(getattr(km, "provisioner", None), "process", None)
        if process is not None:
            self.cpu_seconds = tree_cpu_seconds(process.pid)
        try:
            if km is not None and km.has_kernel:
                asyncio.run(km.shutdown_kernel(now=True))
        except Exception:  # noqa: BLE001 - the kernel is gone already; the cgroup below kills what is left
            pass
        if self._cgroup is not None:
            self.peak_memory = self._cgroup.peak_memory()
            self._cgroup.remove()

    def _mark_not_run(self, nb: NotebookNode) -> None:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and index not in self._executed and cell.source.strip():
                if index == self._killed_at:
                    ename, evalue = "CellTimeoutError", "timed out, ignored the interrupt; the kernel was killed"
                else:
                    ename, evalue = NOT_RUN, "the kernel stopped before this cell ran"
                cell.setdefault("outputs", []).append(NotebookNode(
                    output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]))

    async def async_start_new_kernel(self, **kwargs):
        work = self._sandbox.work_dir(self._runtime)
        kwargs["env"] = kernel_env(work, threads=self._sandbox.threads, setup=self._sandbox.setup)
        kwargs["cwd"] = str(work if not self._sandbox.enabled else self._runtime)
        kwargs["stdout"] = kwargs["stderr"] = self._pipe.write_fd   # the notebook gets the output
        try:
            await super().async_start_new_kernel(**kwargs)
        finally:
            self._pipe.close_writer()

    start_new_kernel = run_sync(async_start_new_kernel)

    async def async_start_new_kernel_client(self):
        client = await super().async_start_new_kernel_client()
        self._ready = True
        return client

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

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


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` and all its descendants, the threads and
    the reaped children of each included; 0 when ``pid`` is gone. Read just before the kernel
    is shut down: the kernel (inside bwrap's PID namespace) is a descendant of the launched
    process."""
    import psutil

    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in tree:
        try:
            t = proc.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return round(total, 2)


class _OutOfTime(Exception):
    pass


SMOKE_SOURCE = "import os\nprint('smoke', 6 * 7, os.getcwd())"


def smoke_test(sandbox: Sandbox) -> str:
    """Run a trivial notebook through ``sandbox``; "" when it works, else the reason and log."""
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SMOKE_SOURCE)])
    nb.metadata.kernelspec = {"name": "cnn-course", "display_name": "Python 3", "language": "python"}
    runtime = new_runtime()
    try:
        runner = SandboxedExecute(sandbox=sandbox, scratch=runtime, startup_timeout=60)
        runner.run(nb)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    printed = "".join(o.get("text", "") for o in nb.cells[0].get("outputs", []))
    expected = f"smoke 42 {sandbox.work_dir(runtime)}"
    if runner.infrastructure or runner.events or printed.strip() != expected:
        reason = runner.infrastructure or "; ".join(runner.events) or f"printed {printed.strip()[:200]!r}"
        return f"{reason}\n{runner.kernel_log}"
    return ""


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
