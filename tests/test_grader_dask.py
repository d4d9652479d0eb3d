"""Grading on a real Dask cluster: ``python -m grader autograde --scheduler tcp://...``.

A ``dask scheduler`` and two ``dask worker --nthreads 1`` processes run on 127.0.0.1 (the
course's .venv, so that they import ``grader``). A handful of lab-1 students (lab 1 trains no
model) are graded through the scheduler while one worker is killed in the middle of its first
job: every submission is graded once, by the surviving worker, with the points the mistake
suite says it loses. Then a worker that cannot sandbox (no ``bwrap`` on its PATH) refuses the
job it gets: status ``failed`` with the reason, the earlier grade untouched. In CI a missing
dask or bubblewrap is a failure, not a skip.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

import synthetic_class as sc
from conftest import ROOT, require_sandbox
from grader.__main__ import main
from grader.grading import Workspace

LAB = "lab01_data"
UID_BASE = 61200          # test_forgery uses 61000+, test_grader_postgres 61100+
BIN = Path(sys.executable).parent
STUDENTS = {               # student: the mistake (a variant of tests/mistakes/lab01_data.py) or None
    "correct": None,
    "blank": "blank",
    "mistake_one_hot": "one-hot: test labels left as digits",
}


@pytest.fixture(scope="module")
def dask_available():
    try:
        import distributed  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail("CI=true but dask.distributed is missing (pip install -r requirements.txt)", pytrace=False)
        pytest.skip("dask.distributed is not installed")
    require_sandbox()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A scheduler and workers started as processes; :meth:`stop` kills every one of them."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen] = {}
        self.start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard"])
        self.wait_for(lambda c: True)

    def start(self, name: str, args: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")
        proc = subprocess.Popen([str(BIN / "dask"), *args], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                env=env or dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}"),
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def worker(self, name: str, env: dict | None = None) -> subprocess.Popen:
        proc = self.start(name, ["worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                 "--host", "127.0.0.1", "--name", name], env)
        self.wait_for(lambda c: name in {w["name"] for w in c.scheduler_info()["workers"].values()})
        return proc

    def wait_for(self, condition, timeout: float = 60) -> None:
        from distributed import Client

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with Client(self.address, timeout=5, set_as_default=False) as client:
                    while time.monotonic() < deadline:
                        if condition(client):
                            return
                        time.sleep(0.2)
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"cluster at {self.address}: condition not met in {timeout} s; logs in {self.log_dir}")

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        for name in list(self.procs):
            try:
                self.kill(name)
            except ProcessLookupError:
                self.procs.pop(name, None)


@pytest.fixture(scope="module")
def cluster(dask_available, tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("dask-logs"))
    try:
        yield c
    finally:
        c.stop()


def expected_points(ws) -> dict[str, float]:
    """Each student's autograded score: the lab's autograded points minus the tests the
    mistake suite says the mistake fails (their points from the gradebook)."""
    variants = {v.name: v for v in sc.variants(LAB)}
    with Gradebook(ws.url) as gb:
        tests = {c.name: c.max_score for nb in gb.find_assignment(LAB).notebooks
                 for c in nb.grade_cells if not c.cell_type == "markdown"}
    total = sum(tests.values())
    lost = {s: set(tests) if m == "blank" else set(variants[m].lost) if m else set() for s, m in STUDENTS.items()}
    return {s: total - sum(tests[t] for t in lost[s]) for s in STUDENTS}


def scores(ws) -> dict[str, float]:
    with Gradebook(ws.url) as gb:
        out = {}
        for sub in gb.find_assignment(LAB).submissions:
            out[sub.student.id] = sum(g.auto_score or 0 for nb in sub.notebooks for g in nb.grades
                                      if g.cell.cell_type == "code")
        return out


def submit_class(ws) -> None:
    for student, mistake in STUDENTS.items():
        if mistake == "blank":
            answers = {}
        elif mistake:
            v = next(v for v in sc.variants(LAB) if v.name == mistake)
            answers = sc.solved(LAB, **{v.grade_id: v.code})
        else:
            answers = sc.solved(LAB)
        sc.write(sc.student_notebook(LAB, answers), ws.submitted / student / LAB / f"{LAB}.ipynb")


def job_process_started(worker: subprocess.Popen) -> bool:
    """The worker runs a job: it has a ``python -m grader.worker`` child."""
    import psutil

    try:
        return any("grader.worker" in " ".join(p.cmdline()) for p in psutil.Process(worker.pid).children())
    except psutil.Error:
        return False


def states(ws) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (ws.state / LAB).glob("*.json")}


def test_a_class_graded_on_dask_survives_a_killed_worker_and_refuses_without_sandbox(cluster, tmp_path):
    first = cluster.worker("w1")
    second = cluster.worker("w2")
    ws = Workspace(root=tmp_path / "ws")
    submit_class(ws)
    argv = ["autograde", LAB, "--workspace", str(ws.root), "--scheduler", cluster.address,
            "--uid-base", str(UID_BASE), "--timeout", "120", "--quiet"]
    killed = {}

    def killer():
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not killed:
            for name, proc in (("w1", first), ("w2", second)):
                if job_process_started(proc):
                    time.sleep(1.0)            # well inside the job: its kernel is starting or running
                    killed.update(name=name, pid=proc.pid)
                    cluster.kill(name)
                    return
            time.sleep(0.1)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    assert main(argv) == 0
    thread.join(timeout=5)
    assert killed, "no worker was seen running a job"
    survivor = cluster.procs[{"w1": "w2", "w2": "w1"}[killed["name"]]]

    found = states(ws)
    assert sorted(found) == sorted(STUDENTS)                       # no job lost
    assert {s: r["status"] for s, r in found.items()} == {s: "graded" for s in STUDENTS}, found
    assert all(not r["events"] for r in found.values()), found
    expected = expected_points(ws)
    assert scores(ws) == expected, (scores(ws), expected)
    assert expected["correct"] > expected["mistake_one_hot"] > expected["blank"] == 0
    # every submission recorded by the survivor (the killed worker finished none: it died in its first job)
    ran_on = {s: (ws.root / "logs" / LAB / f"{s}.log").read_text() for s in STUDENTS}
    for student, log in ran_on.items():
        assert log.startswith(f"=== run by Dask worker {socket.gethostname()}:{survivor.pid} "), (student, log[:300])
    with Gradebook(ws.url) as gb:
        assert len(gb.find_assignment(LAB).submissions) == len(STUDENTS)

    # a rerun skips what was graded (resume): nothing is sent to the cluster
    assert main(argv) == 0
    assert states(ws) == found

    # a worker that cannot sandbox (no bwrap on its PATH) refuses: failed with the reason, no grade
    cluster.kill({"w1": "w2", "w2": "w1"}[killed["name"]])
    cluster.worker("nobwrap", env=dict(os.environ, PATH=str(BIN)))
    assert main([*argv, "--force", "--student", "correct"]) == 0
    refused = states(ws)["correct"]
    assert refused["status"] == "failed", refused
    assert any("refused the job: it cannot sandbox student code" in p and "bwrap" in p
               for p in refused["problems"]), refused["problems"]
    assert scores(ws)["correct"] == expected["correct"]              # the grade recorded before is kept

    # the scheduler goes away with a job queued: the batch stops with a clear message, the
    # unfinished submission keeps no result, and the next run would grade it again
    cluster.kill("nobwrap")
    stopper = threading.Timer(3.0, cluster.kill, args=("scheduler",))
    stopper.start()
    try:
        with pytest.raises(SystemExit, match="lost the Dask scheduler.*run autograde again"):
            main([*argv, "--force", "--student", "blank"])
    finally:
        stopper.join()
    assert "blank" not in states(ws)


def test_a_job_that_keeps_killing_workers_is_that_students_zero_flagged(tmp_path):
    """Dask's KilledWorker (the task was running on every worker that died) for one student:
    that student's 0 with the reason, flagged for review and kept; the others are graded."""
    import concurrent.futures as cf

    from conftest import TINY_LAB, TINY_POINTS, tiny_score, tiny_source, tiny_submit
    from grader.executors import NoopExecutor, SubmissionKilledWorkers
    from grader.grading import Owner, autograde

    class KillsOnBob(NoopExecutor):
        def submit(self, job):
            if job.student != "bob":
                return super().submit(job)
            future = cf.Future()
            future.set_exception(SubmissionKilledWorkers("KilledWorker: ('grade-tiny-bob-0-1234', <Worker ...>)"))
            return future

    ws = Workspace(root=tmp_path / "ws", source=tiny_source(tmp_path / "source"))
    tiny_submit(ws, "alice")
    tiny_submit(ws, "bob")
    results = {r.student: r for r in autograde(ws, executor=KillsOnBob(), progress=False)}
    bob = results["bob"]
    assert bob.status == "graded" and tiny_score(ws, "bob") == 0
    assert any("killed its grading worker" in f and "KilledWorker" in f for f in bob.flags), bob
    assert results["alice"].status == "graded" and tiny_score(ws, "alice") == TINY_POINTS
    assert Owner(ws).done(TINY_LAB, "bob") is not None          # kept: a human looks, --force regrades
    import csv

    from grader import report

    paths = report.build(ws, tmp_path / "report")
    with open(paths["students"], newline="", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert rows["bob"]["status"] == report.REVIEW and "KilledWorker" in rows["bob"]["flags"], rows["bob"]
