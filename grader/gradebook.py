"""A gradebook shared by several graders on a PostgreSQL server (``--db-url postgresql://...``).

Each grader (an *owner*: one ``python -m grader autograde`` with its own workspace) writes
straight into the shared database through nbgrader's ``Gradebook``. What the owners share
there is the schema, the course rows and the student rows; everything else belongs to one lab
(assignment, notebooks, cells, submissions, grades). Two rules keep concurrent owners from
losing anything:

* **one owner per lab at a time**: an owner takes a PostgreSQL session advisory lock per lab
  it grades, for the whole batch; a second owner that wants one of those labs is refused at
  once with a message naming the holder (the lab's cells are rewritten by each owner's
  ``nbgrader generate_assignment``, and two owners grading one lab would race on them).
  The lock goes with the owner's database connection: a killed owner frees it;
* **shared rows are written under one lock**: creating the tables (nbgrader does it on first
  use), the course rows and the students of the batch happens while holding a set-up advisory
  lock, before grading starts. nbgrader then only finds these rows, so two owners never
  insert the same student (which nbgrader reports as ``InvalidEntry`` and the submission
  would fail).

With SQLite (the default, one owner) nothing is locked.
"""
from __future__ import annotations

import hashlib
import os
import socket
import weakref

NAMESPACE = "cnn-course grader"


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``name``."""
    digest = hashlib.sha256(f"{NAMESPACE}: {name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def is_postgresql(url: str) -> bool:
    from sqlalchemy.engine import make_url

    return make_url(url).get_backend_name() == "postgresql"


def safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


class Claim:
    """The labs an owner holds in a shared gradebook; ``release()`` (or the owner's exit) frees them."""

    def __init__(self, connection=None, engine=None):
        self._connection, self._engine = connection, engine
        self._finalizer = weakref.finalize(self, Claim._close, connection, engine)

    @staticmethod
    def _close(connection, engine):
        if connection is not None:
            connection.close()          # session advisory locks end with the session
        if engine is not None:
            engine.dispose()

    def release(self) -> None:
        self._finalizer()


def _holders(connection, key: int) -> str:
    """Who holds the advisory lock ``key``: application name, client address, since when."""
    from sqlalchemy import text

    unsigned = key & 0xFFFFFFFFFFFFFFFF
    rows = connection.execute(text(
        "SELECT a.application_name, a.client_addr, a.backend_start FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.classid = CAST(:hi AS oid) AND l.objid = CAST(:lo AS oid) AND l.objsubid = 1"),
        {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}).all()
    return "; ".join(f"{name or 'an unnamed client'} from {addr or 'a local socket'}, connected since "
                     f"{start:%Y-%m-%d %H:%M:%S %Z}".strip() for name, addr, start in rows) or "another grader"


def claim(ws, labs: list[str], students: list[str]) -> Claim:
    """Take ``labs`` for this owner and create the batch's ``students`` in the gradebook.

    Raises ``SystemExit`` with a clear message when another owner is grading one of ``labs``
    into the same PostgreSQL database, or when the server cannot be reached.
    """
    if not labs or not is_postgresql(ws.url):
        return Claim()
    from nbgrader.api import Gradebook
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool

    name = f"{NAMESPACE} pid {os.getpid()} on {socket.gethostname()}"     # shown to a refused owner
    engine = create_engine(ws.url, poolclass=NullPool, connect_args={"application_name": name[:63]})
    try:
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except OperationalError as error:
        engine.dispose()
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise SystemExit(f"gradebook {safe_url(ws.url)}: cannot connect: {reason}") from None
    held = Claim(connection, engine)
    busy = []
    for lab in labs:
        key = lock_key(f"lab {lab}")
        if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
            busy.append(f"{lab} (held by {_holders(connection, key)})")
    if busy:
        held.release()
        raise SystemExit(f"gradebook {safe_url(ws.url)}: another grader is grading {', '.join(busy)} into "
                         "this database right now. Wait until it has finished, or grade other labs "
                         "(one grader per lab at a time; different labs can be graded at once).")
    setup = lock_key("set-up")
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": setup})
    try:
        # the tables (nbgrader creates them on first use), the course rows (the one nbgrader's
        # preprocessors use by default, and the course id of nbgrader_config.py its apps use)
        with Gradebook(ws.url) as gb:
            course_id = ws.config().CourseDirectory.get("course_id")
            if course_id:
                gb.check_course(course_id)
            for student in students:
                gb.update_or_create_student(student)
    except BaseException:
        held.release()
        raise
    else:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": setup})
    return held
