"""A real PostgreSQL gradebook (``--db-url postgresql://...``), issue 14.

The test starts its own throwaway PostgreSQL server (Debian's ``postgresql`` package: ``initdb``
and ``pg_ctl`` from /usr/lib/postgresql/*/bin, as an unprivileged user when run as root, data in
a temporary folder, password authentication, a free loopback port, no Unix socket) and stops
it at the end, even on failure. A small class (lab 1: a correct, a mistaken and an empty
submission; lab 2: the model-reading questions answered, unanswered, and an empty file; two of
the students hand in both labs) is graded

* into SQLite by one owner (both labs), and
* into one PostgreSQL database by two owners at once: two ``python -m grader autograde``
  processes with their own workspaces, one per lab, started together on a fresh database;

and the two gradebooks must hold exactly the same submissions and grades. A second owner
that wants a lab already being graded into the database is refused with a clear message
(grader/gradebook.py). Without PostgreSQL the test is skipped with the install hint, except in
CI (``CI=true``), where it fails.
"""
import csv
import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

import synthetic_class as sc
from conftest import ROOT
from grader import gradebook, sandbox
from grader.__main__ import main
from grader.grading import Workspace, autograde
from grader.sandbox import Limits
from test_grader_class import AUTO, LAB, LOCAL_MISTAKES, POINTS, variant

pytestmark = pytest.mark.skipif(sandbox.bwrap_path() is None, reason="bubblewrap is not installed")

SECOND = "lab02_cnn"
# lab 2, answered up to the model-reading questions (no training): 4 + 2 + 2 + 2 points
SECOND_ANSWERED = ["build_model", "summary_answers", "conv_formula", "flatten_size"]
SECOND_EARNED = 10


def lab_points(lab: str) -> tuple[dict[str, float], float]:
    """{test cell: points} of a lab's autograded tests, and the lab's maximum (written answers included),
    read from the source notebook (new questions change them)."""
    import nbformat

    nb = nbformat.read(next((ROOT / "solutions" / lab).glob("*.ipynb")), as_version=4)
    tests, total = {}, 0.0
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            total += meta.get("points", 0)
            if not meta.get("solution"):
                tests[meta["grade_id"]] = meta.get("points", 0)
    return tests, total


SECOND_TESTS, SECOND_MAX = lab_points(SECOND)
INSTALL_HINT = "PostgreSQL is not installed: `sudo apt-get install postgresql` (or `make system-deps` as root)"


class Server:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (no Unix socket), password authentication."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.password = secrets.token_hex(16)
        self.folder = Path(tempfile.mkdtemp(prefix="cnn-course-pg-"))   # /tmp: reachable by the server's user
        self.data, self.log = self.folder / "data", self.folder / "server.log"
        self.prefix, self.owner = [], None
        if os.geteuid() == 0:            # initdb and postgres refuse to run as root
            user = next((u for u in ("postgres", "nobody") if _user_exists(u)), None)
            assert user, "no unprivileged user (postgres or nobody) to run the PostgreSQL server as"
            entry = pwd.getpwnam(user)
            self.owner = (entry.pw_uid, entry.pw_gid)
            os.chown(self.folder, *self.owner)
            self.prefix = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups"]
        self.port = None

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, *args], capture_output=True, text=True, check=check, timeout=120,
                              cwd=self.folder)

    def start(self) -> None:
        pwfile = self.folder / "pw"
        pwfile.write_text(self.password + "\n")
        if self.owner:
            os.chown(pwfile, *self.owner)
        self.run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "grader", f"--pwfile={pwfile}",
                 "--auth=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync")
        pwfile.unlink()
        for _ in range(3):                   # a free port may be taken between the probe and the start
            self.port = _free_port()
            options = (f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c synchronous_commit=off "
                       "-c full_page_writes=off")
            started = self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                               "-t", "60", "-o", options, "start", check=False)
            if started.returncode == 0:
                return
        raise AssertionError(f"PostgreSQL did not start:\n{started.stdout}{started.stderr}\n{self.logtext()}")

    def logtext(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no server log)"

    def stop(self) -> None:
        if self.data.exists():
            self.run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://grader:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="grader", password=self.password,
                             dbname="postgres", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bindir() -> Path | None:
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    found.sort(key=lambda p: int(re.search(r"/postgresql/(\d+)", p).group(1)))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def server():
    bindir = postgres_bindir()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    pg = Server(bindir)
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


def class_notebooks():
    """{(lab, student): notebook bytes}, and the expected lab-1 points lost per student."""
    mistake = variant(LOCAL_MISTAKES["one_hot"])
    lab1 = {"correct": sc.solved(LAB), "mistake": sc.solved(LAB, one_hot=mistake.code)}
    lost = {"correct": set(), "mistake": set(mistake.lost)}
    second = sc.solved(SECOND)
    lab2 = {"correct": {gid: second[gid] for gid in SECOND_ANSWERED}, "blank": {}}
    import nbformat

    files = {}
    for lab, answers in ((LAB, lab1), (SECOND, lab2)):
        for student, given in answers.items():
            files[lab, student] = nbformat.writes(sc.student_notebook(lab, given)).encode()
        files[lab, "empty"] = b""            # invalid: graded 0 with a reason, the batch goes on
    return files, lost


def fill(ws: Workspace, files: dict, labs: list[str]) -> Workspace:
    for (lab, student), data in files.items():
        if lab in labs:
            path = ws.submitted / student / lab / f"{lab}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return ws


def snapshot(url: str, labs: list[str]) -> dict:
    """Everything graded: {(lab, student): (score, sorted grades)} and the students."""
    with Gradebook(url) as gb:
        graded = {}
        for lab in labs:
            for sub in gb.find_assignment(lab).submissions:
                graded[lab, sub.student.id] = (sub.score, sorted(
                    (nb.name, g.name, g.auto_score, g.manual_score, g.needs_manual_grade)
                    for nb in sub.notebooks for g in nb.grades))
        return {"graded": graded, "students": sorted(s.id for s in gb.students)}


# Sandboxed kernels run as uid <base>+slot when the grader is root, and RLIMIT_NPROC counts per uid:
# every owner here (and this test against other tests' fork-bombing kernels) gets its own uids.
UIDS = {"sqlite": 61100, LAB: 61200, SECOND: 61300}


def owner_command(ws: Workspace, url: str, lab: str) -> list[str]:
    """``python -m grader autograde <lab> --db-url <url> ...``, with the owner's own sandbox uids."""
    code = ("import functools, sys\nfrom grader import grading\n"
            f"grading.autograde = functools.partial(grading.autograde, uid_base={UIDS[lab]})\n"
            "from grader.__main__ import main\nsys.exit(main(sys.argv[1:]))")
    return [sys.executable, "-c", code, "autograde", lab, "--workspace", str(ws.root), "--db-url", url,
            "--workers", "1", "--timeout", "120", "--quiet"]


@pytest.fixture(scope="module")
def graded(server, tmp_path_factory):
    base = tmp_path_factory.mktemp("pg")
    files, lost = class_notebooks()
    # SQLite, one owner, both labs
    local = fill(Workspace(root=base / "sqlite"), files, [LAB, SECOND])
    results = autograde(local, workers=2, limits=Limits(cell_timeout=120), progress=False, uid_base=UIDS["sqlite"])
    # PostgreSQL: two owners at once, one lab each, the same students, a fresh database
    url = server.create_database("grades")
    owners = {lab: fill(Workspace(root=base / lab, db_url=url), files, [lab]) for lab in (LAB, SECOND)}
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    processes = {lab: subprocess.Popen(owner_command(ws, url, lab), cwd=ROOT, env=env, text=True,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                 for lab, ws in owners.items()}
    try:
        outputs = {lab: p.communicate(timeout=900)[0] for lab, p in processes.items()}
    finally:
        for p in processes.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    codes = {lab: p.returncode for lab, p in processes.items()}
    return {"url": url, "local": local, "owners": owners, "results": results, "lost": lost,
            "outputs": outputs, "codes": codes, "server": server, "base": base}


def test_two_owners_at_once_grade_the_same_as_sqlite(graded):
    assert graded["codes"] == {LAB: 0, SECOND: 0}, graded["outputs"]
    for lab, output in graded["outputs"].items():
        # 3 submissions each, only the empty file to look at
        assert "3 submissions, 1 to look at" in output, output
        assert "empty " + lab + ": invalid: " + lab + ".ipynb: empty file" in output, output
    sqlite = snapshot(graded["local"].url, [LAB, SECOND])
    postgres = snapshot(graded["url"], [LAB, SECOND])
    assert len(sqlite["graded"]) == 6 and sqlite["students"] == ["blank", "correct", "empty", "mistake"]
    assert postgres == sqlite
    # and they are the right grades, not just the same ones
    scores = {key: score for key, (score, _) in postgres["graded"].items()}
    assert {s: scores[LAB, s] for s in graded["lost"]} == {
        s: AUTO - sum(POINTS[g] for g in lost) for s, lost in graded["lost"].items()}
    assert scores[LAB, "empty"] == 0
    assert scores[SECOND, "correct"] == SECOND_EARNED
    assert scores[SECOND, "blank"] == scores[SECOND, "empty"] == 0
    _, grades = postgres["graded"][LAB, "mistake"]
    assert {g[1]: g[2] for g in grades if g[1].endswith("_tests")} == {
        gid: 0 if gid in graded["lost"]["mistake"] else pts for gid, pts in POINTS.items()}
    _, grades = postgres["graded"][SECOND, "correct"]
    assert sum(SECOND_TESTS[f"{gid}_tests"] for gid in SECOND_ANSWERED) == SECOND_EARNED
    assert {g[1]: g[2] for g in grades if g[1].endswith("_tests")} == {
        gid: (pts if gid.removesuffix("_tests") in SECOND_ANSWERED else 0) for gid, pts in SECOND_TESTS.items()}
    assert all(r.status == "graded" for r in graded["results"] if r.student != "empty")


def test_the_report_reads_the_shared_gradebook(graded):
    ws = graded["owners"][LAB]
    assert main(["report", "--workspace", str(ws.root), "--db-url", graded["url"]]) == 0
    assert main(["report", "--workspace", str(graded["local"].root)]) == 0
    rows = lambda root: sorted(  # noqa: E731
        (r["assignment"], r["student_id"], r["score"], r["max_score"])
        for r in csv.DictReader(open(root / "report" / "grades.csv", encoding="utf-8")))
    shared = rows(ws.root)       # nbgrader's export: every student x every lab, missing ones at 0
    assert len(shared) == 4 * 2 and shared == rows(graded["local"].root)
    assert ("lab02_cnn", "correct", f"{SECOND_EARNED:.1f}", f"{SECOND_MAX:.1f}") in shared


def test_a_second_owner_of_a_busy_lab_is_refused(graded, tmp_path):
    url = graded["url"]
    holder = Workspace(root=tmp_path / "holder", db_url=url)
    claim = gradebook.claim(holder, [LAB], ["correct"])
    try:
        other = fill(Workspace(root=tmp_path / "other", db_url=url), class_notebooks()[0], [LAB])
        with pytest.raises(SystemExit) as refused:
            autograde(other, labs=[LAB], students=["correct"], workers=1, force=True, progress=False,
                      uid_base=UIDS[LAB])
        message = str(refused.value)
        assert f"another grader is grading {LAB} (held by cnn-course grader pid {os.getpid()} on" in message
        assert graded["server"].password not in message and "grader:***@127.0.0.1" in message
        assert not (other.root / "autograded").exists()           # refused before grading anything
        # another lab is not blocked
        gradebook.claim(other, [SECOND], []).release()
    finally:
        claim.release()
    # released: the lab can be taken again
    gradebook.claim(Workspace(root=tmp_path / "again", db_url=url), [LAB], []).release()


def test_an_unreachable_server_is_a_clear_error(server, tmp_path):
    url = server.url("grades").replace(f":{server.port}/", f":{_free_port()}/")
    ws = Workspace(root=tmp_path / "ws", db_url=url)
    with pytest.raises(SystemExit, match=r"gradebook postgresql://grader:\*\*\*@127\.0\.0\.1:\d+/grades: cannot connect"):
        gradebook.claim(ws, [LAB], ["correct"])


def test_the_shared_rows_are_created_before_grading(server, tmp_path):
    """The rows two owners share (tables, course rows, students) exist once an owner holds its labs."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    url = server.create_database("fresh")
    gradebook.claim(Workspace(root=tmp_path, db_url=url), [LAB], ["s2", "s1"]).release()
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            rows = lambda sql: sorted(r[0] for r in connection.execute(text(sql)))  # noqa: E731
            assert rows("SELECT id FROM course") == ["cnn-handwriting", "default_course"]
            assert rows("SELECT id FROM student") == ["s1", "s2"]
            assert rows("SELECT version_num FROM alembic_version") != []
    finally:
        engine.dispose()
