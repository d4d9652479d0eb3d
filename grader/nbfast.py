"""nbgrader at batch speed: one open gradebook and compiled metadata schemas for a whole batch.

nbgrader is written for one notebook per command: every converter step and every preprocessor
opens its own ``Gradebook(db_url)`` (a new SQLAlchemy engine, a table inspection, a
``create_all``; about 20 ms each, some 15 per graded notebook), and ``CheckCellMetadata``
validates every cell with ``jsonschema.validate``, which checks the schema itself again each
time (about 2 ms a cell). The owner grades thousands of notebooks in one process, so inside
:func:`batch` both are done once:

* every ``Gradebook(url)`` that nbgrader's converters and preprocessors create for the batch's
  database is a handle on one open gradebook: entering it gives that gradebook, leaving it
  commits (or rolls back on an error), closing it keeps the connection open;
* the metadata schema's validator is built once and reused (same checks, same errors);
* a preprocessor's many commits become one per notebook (``commit()`` flushes; the gradebook
  handle commits when the preprocessor leaves it), and the source-side lookups (the released
  notebook's cells, the same for every student) are remembered;
* a SQLite gradebook commits without waiting for the disk (write-ahead log, ``synchronous=NORMAL``);
* the owner records grades with :func:`record_preprocessors`: nbgrader's ``SaveAutoGrades``
  with its rules unchanged, but the notebook's grade and comment rows read in two queries and
  written in two bulk UPDATEs (nbgrader: two queries and a commit per cell).

nbgrader's own code does the work unchanged; only these two costs go. Anything else that
asks for another database gets a real, separate gradebook.
"""
from __future__ import annotations

import contextlib
import json
import importlib
import threading

_MODULES = ("nbgrader.converters.autograde", "nbgrader.preprocessors.overwritecells",
            "nbgrader.preprocessors.saveautogrades", "nbgrader.preprocessors.overwritekernelspec",
            "nbgrader.preprocessors.latesubmissions", "nbgrader.preprocessors.getgrades",
            "nbgrader.apps.api")
_lock = threading.RLock()


_SOURCE_LOOKUPS = ("find_source_cell", "find_graded_cell", "find_grade_cell", "find_solution_cell",
                   "find_task_cell")
_memo: dict[tuple, object] = {}


def forget() -> None:
    """Drop the remembered source cells (after ``generate_assignment`` rewrote them)."""
    _memo.clear()


def _snapshot(row):
    """The column values of a source-side row (a cell of the released notebook), detached."""
    from types import SimpleNamespace

    from sqlalchemy import inspect

    return SimpleNamespace(**{a.key: getattr(row, a.key) for a in inspect(row).mapper.column_attrs})


class _Handle:
    """What ``Gradebook(url)`` returns inside a batch: the shared gradebook, never closed.

    The source-side lookups (``find_source_cell``, ``find_graded_cell``, …: the released
    notebook's cells, the same for every student) are answered from memory after the first
    time; everything a student's grades touch goes to the database."""

    def __init__(self, gradebook):
        self._gb = gradebook

    def __enter__(self):
        return self._gb

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self._gb.db.commit()
        else:
            self._gb.db.rollback()

    def close(self):
        self._gb.db.commit()

    def __getattr__(self, name):
        if name == "db":
            return _Deferred(self._gb.db)
        method = getattr(self._gb, name)
        if name not in _SOURCE_LOOKUPS:
            return method

        def remembered(*args):
            key = (id(self._gb), name, *args)
            if key not in _memo:
                _memo[key] = _snapshot(method(*args))      # MissingEntry is raised, not remembered
            return _memo[key]
        return remembered


class _Deferred:
    """The session as a preprocessor holding a gradebook handle sees it: ``commit()`` only
    flushes (the SQL runs, errors surface where they did), and the handle commits once when
    the preprocessor is done with the notebook (nbgrader's ``SaveAutoGrades`` commits after
    every single grade)."""

    def __init__(self, session):
        self._session = session

    def commit(self):
        self._session.flush()

    def __getattr__(self, name):
        return getattr(self._session, name)


class _Schemas:
    """Stands in for the ``jsonschema`` module in nbgrader's metadata validator: ``validate``
    with one compiled validator per schema (the schema itself is checked once)."""

    def __init__(self, jsonschema):
        self._jsonschema = jsonschema
        self._ids: dict[int, tuple[object, str]] = {}
        self._validators: dict[str, object] = {}
        self._valid: set[tuple[str, str]] = set()

    def _fingerprint(self, schema) -> str:
        """nbgrader loads the same schema again for every notebook: one key for equal schemas
        (the schema objects are kept, so an id is never reused while it is remembered)."""
        known = self._ids.get(id(schema))
        if known is None:
            known = self._ids[id(schema)] = (schema, json.dumps(schema, sort_keys=True))
        return known[1]

    def validate(self, instance, schema, *args, **kwargs):
        if args or kwargs:
            return self._jsonschema.validate(instance, schema, *args, **kwargs)
        fingerprint = self._fingerprint(schema)
        try:
            key = (fingerprint, json.dumps(instance, sort_keys=True))
        except (TypeError, ValueError):
            key = None
        if key is not None and key in self._valid:
            return None
        validator = self._validators.get(fingerprint)
        if validator is None:
            cls = self._jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[fingerprint] = cls(schema)
        error = self._jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error
        if key is not None:
            self._valid.add(key)            # the same metadata is valid the next time too

    def __getattr__(self, name):
        return getattr(self._jsonschema, name)


def _fast_commits(gradebook):
    """A SQLite gradebook in write-ahead-log mode with ``synchronous=NORMAL``: a commit no longer
    waits for the disk. The database stays consistent when the grader is killed; a power cut
    can lose the last commits (then ``autograde --force`` grades those students again).
    Other databases are left as they are."""
    from sqlalchemy import event

    engine = gradebook.engine
    if engine.dialect.name != "sqlite":
        return gradebook

    def pragmas(connection, _record):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    gradebook.db.commit()
    engine.dispose()                     # connections opened before the listener get closed
    event.listen(engine, "connect", pragmas)
    return gradebook


@contextlib.contextmanager
def batch(db_url: str, course_id: str | None = None):
    """Inside: nbgrader's converters and preprocessors share one gradebook for ``db_url`` and
    validate cell metadata with compiled schemas. Re-entrant; restores everything on exit."""
    import jsonschema
    from nbgrader import api
    from nbgrader.nbgraderformat import common

    real = api.Gradebook
    with _lock:
        if getattr(real, "_cnn_shared", None) is not None:      # already inside a batch
            yield
            return
        shared: dict[str, object] = {}            # course id -> the batch's open gradebook

        def factory(url, course="default_course", authenticator=None):
            if url != db_url or authenticator is not None:
                return real(url, course, authenticator)
            if course not in shared:
                shared[course] = _fast_commits(real(url, course))
            return _Handle(shared[course])

        if course_id:
            factory(db_url, course_id)
        factory._cnn_shared = shared
        modules = [importlib.import_module(name) for name in _MODULES]
        saved = [(m, m.Gradebook) for m in modules]
        saved_schema = common.jsonschema
        try:
            for module in modules:
                module.Gradebook = factory
            api.Gradebook = factory
            common.jsonschema = _Schemas(jsonschema)
            yield
        finally:
            for module, value in saved:
                module.Gradebook = value
            api.Gradebook = real
            common.jsonschema = saved_schema
            forget()
            for gradebook in shared.values():
                try:
                    gradebook.db.commit()
                finally:
                    gradebook.close()


def _save_auto_grades_class():
    """:class:`SaveAutoGrades` (nbgrader's, which this subclasses) with two queries and two
    bulk updates per notebook instead of two queries and a commit per cell."""
    from nbgrader import utils
    from nbgrader.api import (Assignment, BaseCell, Comment, Grade, MissingEntry, Notebook, Student,
                              SubmittedAssignment, SubmittedNotebook)
    from nbgrader.preprocessors import SaveAutoGrades
    from nbgrader.preprocessors import saveautogrades
    from sqlalchemy import bindparam, select, update

    # a name can belong to several cells of a notebook (a graded solution cell is a GradeCell
    # and a SolutionCell); nbgrader's find_grade / find_comment look in this order
    first = {"grade": ("GradeCell", "TaskCell"), "comment": ("SolutionCell", "TaskCell")}

    class BatchSaveAutoGrades(SaveAutoGrades):
        """What nbgrader's ``SaveAutoGrades`` writes, cell by cell in its order and with its
        rules (``utils.determine_grade``, the checksum for "No response."), read and written per
        notebook: the submitted notebook's grade and comment rows in two queries, the new values
        in two executemany UPDATEs. A cell without its row raises ``MissingEntry`` as
        ``find_grade`` / ``find_comment`` do, before anything is written."""

        def preprocess(self, nb, resources):
            self.notebook_id = resources['nbgrader']['notebook']
            self.assignment_id = resources['nbgrader']['assignment']
            self.student_id = resources['nbgrader']['student']
            self.db_url = resources['nbgrader']['db_url']
            self.gradebook = saveautogrades.Gradebook(self.db_url)    # inside a batch: the batch's handle
            with self.gradebook:
                gb = self.gradebook
                self._rows = {"grade": self._load(gb, Grade, Grade.manual_score),
                              "comment": self._load(gb, Comment, None)}
                self._grades, self._comments = {}, {}
                for index, cell in enumerate(nb.cells):
                    nb.cells[index], resources = self.preprocess_cell(cell, resources, index)
                if self._grades:
                    gb.db.execute(update(Grade.__table__).where(Grade.__table__.c.id == bindparam("row"))
                                  .values(auto_score=bindparam("auto"), needs_manual_grade=bindparam("manual")),
                                  [{"row": k, "auto": a, "manual": m} for k, (a, m) in self._grades.items()])
                if self._comments:
                    gb.db.execute(update(Comment.__table__).where(Comment.__table__.c.id == bindparam("row"))
                                  .values(auto_comment=bindparam("text")),
                                  [{"row": k, "text": t} for k, t in self._comments.items()])
                gb.db.commit()              # inside a batch: a flush; the handle commits on leaving
            return nb, resources

        def _load(self, gb, table, extra):
            columns = [table.id, BaseCell.name, BaseCell.type] + ([extra] if extra is not None else [])
            query = select(*columns).join(BaseCell, BaseCell.id == table.cell_id)\
                .join(SubmittedNotebook, SubmittedNotebook.id == table.notebook_id)\
                .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)\
                .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)\
                .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)\
                .join(Student, Student.id == SubmittedAssignment.student_id)\
                .where(Notebook.name == self.notebook_id, Assignment.name == self.assignment_id,
                       Student.id == self.student_id)
            kind = "grade" if table is Grade else "comment"
            rows: dict = {}
            for row in gb.db.execute(query):
                if row.type not in first[kind]:
                    continue
                known = rows.get(row.name)
                if known is None or first[kind].index(row.type) < first[kind].index(known.type):
                    rows[row.name] = row
            return rows

        def _row(self, kind, cell):
            name = cell.metadata['nbgrader']['grade_id']
            row = self._rows[kind].get(name)
            if row is None:
                raise MissingEntry("No such {}: {}/{}/{} for {}".format(
                    kind, self.assignment_id, self.notebook_id, name, self.student_id))
            return row

        def _add_score(self, cell, resources):
            row = self._row("grade", cell)
            auto_score, _ = utils.determine_grade(cell, self.log)
            self._grades[row.id] = (auto_score, row.manual_score is not None or auto_score is None)

        def _add_comment(self, cell, resources):
            row = self._row("comment", cell)
            if cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell) and not utils.is_task(cell):
                self._comments[row.id] = "No response."
            else:
                self._comments[row.id] = None

    return BatchSaveAutoGrades


def record_preprocessors(classes: list) -> list:
    """nbgrader's recording preprocessor classes with ``SaveAutoGrades`` replaced by the batch
    version (:func:`_save_auto_grades_class`); everything else as nbgrader has it."""
    from nbgrader.preprocessors import SaveAutoGrades

    fast = _save_auto_grades_class()
    return [fast if cls is SaveAutoGrades else cls for cls in classes]


def open_submission(gb, lab: str, student: str, timestamp=None) -> None:
    """What ``gb.update_or_create_student(student)`` then ``gb.update_or_create_submission(lab,
    student[, timestamp=timestamp])`` leave in the gradebook, in a few statements: a new
    submission's rows (the submitted assignment, its notebooks, an empty grade per grade and
    task cell, an empty comment per solution and task cell, as ``add_submission`` mirrors the
    assignment) are inserted with one executemany per table instead of an ORM object graph; an
    existing one only gets its timestamp. Not committed: the caller's gradebook commits."""
    from nbgrader import utils
    from nbgrader.api import (Assignment, Comment, Grade, Student, SubmittedAssignment, SubmittedNotebook,
                              new_uuid)
    from sqlalchemy import insert, select, update

    db = gb.db
    if db.execute(select(Student.id).where(Student.id == student)).first() is None:
        db.execute(insert(Student.__table__).values(id=student))
    from nbgrader import api

    # the assignment's cells: remembered for the batch's own gradebook (forget() drops them when
    # generate_assignment rewrites the cells), looked up every time for any other
    shared = getattr(api.Gradebook, "_cnn_shared", None) or {}
    key = (id(gb), "submission template", lab)
    template = _memo.get(key) if any(g is gb for g in shared.values()) else None
    if template is None:
        assignment = gb.find_assignment(lab)                  # MissingEntry as add_submission
        template = (assignment.id, [
            (nb.id, [c.id for c in nb.grade_cells] + [c.id for c in nb.task_cells],
             [c.id for c in nb.solution_cells] + [c.id for c in nb.task_cells]) for nb in assignment.notebooks])
        if any(g is gb for g in shared.values()):
            _memo[key] = template
    assignment_id, notebooks = template
    stamp = None if timestamp is None else utils.parse_utc(timestamp)
    found = db.execute(select(SubmittedAssignment.id).join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
                       .where(Assignment.name == lab, SubmittedAssignment.student_id == student)).first()
    if found is not None:
        if stamp is not None:
            db.execute(update(SubmittedAssignment.__table__).where(SubmittedAssignment.__table__.c.id == found[0])
                       .values(timestamp=stamp))
        return
    submission = new_uuid()
    db.execute(insert(SubmittedAssignment.__table__).values(id=submission, assignment_id=assignment_id,
                                                            student_id=student, timestamp=stamp))
    grades, comments, submitted = [], [], []
    for notebook_id, grade_cells, comment_cells in notebooks:
        nb_id = new_uuid()
        submitted.append({"id": nb_id, "assignment_id": submission, "notebook_id": notebook_id})
        grades += [{"id": new_uuid(), "cell_id": cell, "notebook_id": nb_id} for cell in grade_cells]
        comments += [{"id": new_uuid(), "cell_id": cell, "notebook_id": nb_id} for cell in comment_cells]
    for table, values in ((SubmittedNotebook, submitted), (Grade, grades), (Comment, comments)):
        if values:
            db.execute(insert(table.__table__), values)
