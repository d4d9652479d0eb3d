"""Shared fixtures. Figures use the Agg backend; TensorFlow stays quiet."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# `make test` runs two pytest-xdist workers: each grades with its own range of sandbox uids
# (RLIMIT_NPROC counts processes per uid, so two graders sharing a uid would starve each other).
_XDIST = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST.startswith("gw"):
    os.environ["GRADER_UID_BASE"] = str(60000 + 200 * int(_XDIST[2:]))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


# Folders of artifacts (screenshots, figures) written in this run, printed in the summary.
_ARTIFACTS: list[tuple[str, Path]] = []


def report_artifact(what: str, path: Path) -> None:
    _ARTIFACTS.append((what, Path(path)))


def pytest_sessionstart(session):
    session.config._started = __import__("time").time()


def pytest_terminal_summary(terminalreporter):
    shown = dict((str(path), what) for what, path in _ARTIFACTS)
    # under xdist the tests ran in worker processes: list the artifact folders written in this run
    started = getattr(terminalreporter.config, "_started", 0)
    for folder in sorted((ROOT / "artifacts").glob("*")) if not shown else []:
        if folder.is_dir() and folder.stat().st_mtime >= started:
            shown[str(folder)] = "artifacts"
    for path, what in shown.items():
        terminalreporter.write_line(f"{what}: {path}")


# -- the sandbox: skipped on a machine without bubblewrap, a failure in CI -------------------
def require_sandbox() -> None:
    """Skip the calling test when bubblewrap is missing, except in CI (``CI=true``, as GitHub
    Actions, GitLab CI and most others set it), where a missing sandbox is a failure."""
    from grader import sandbox

    if sandbox.bwrap_path() is not None:
        return
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail("CI=true but bubblewrap (bwrap) is missing: the sandbox tests cannot run "
                    "(install it: apt-get install bubblewrap)", pytrace=False)
    pytest.skip("bubblewrap is not installed")


@pytest.fixture
def sandbox_required():
    require_sandbox()


# -- a tiny nbgrader course (no TensorFlow): one lab, one question worth 2 points ------------
TINY_LAB = "tiny"
TINY_POINTS = 2


def tiny_source(folder: Path, extra_cells: tuple[str, ...] = ()) -> Path:
    """An nbgrader source folder with lab ``tiny``: ``answer = 42`` (solution) and a test cell.
    ``extra_cells`` are unlocked code cells appended after the test (a student's own code)."""
    import nbformat

    v4 = nbformat.v4
    answer = v4.new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION")
    answer.metadata.nbgrader = {"grade": False, "solution": True, "locked": False,
                                "grade_id": "answer", "schema_version": 3}
    test = v4.new_code_cell("assert answer == 42, 'answer should be 42'")
    test.metadata.nbgrader = {"grade": True, "solution": False, "locked": True, "points": TINY_POINTS,
                              "grade_id": "answer_test", "schema_version": 3}
    nb = v4.new_notebook(cells=[answer, test, *[v4.new_code_cell(c) for c in extra_cells]])
    nb.metadata.kernelspec = {"name": "cnn-course", "display_name": "Python 3", "language": "python"}
    (folder / TINY_LAB).mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / TINY_LAB / f"{TINY_LAB}.ipynb")
    return folder


def tiny_submit(ws, student: str, answer: str = "answer = 42", extra: tuple[str, ...] = ()) -> None:
    """Put ``student``'s submission of lab ``tiny`` (made from the released notebook) in ``ws``."""
    import nbformat

    from grader.grading import Owner

    Owner(ws).ensure_assignment(TINY_LAB)
    nb = nbformat.read(ws.root / "release" / TINY_LAB / f"{TINY_LAB}.ipynb", as_version=4)
    nb.cells[0].source = answer
    nb.cells += [nbformat.v4.new_code_cell(c) for c in extra]
    folder = ws.submitted / student / TINY_LAB
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{TINY_LAB}.ipynb")


def tiny_score(ws, student: str):
    """The gradebook's autograded score of ``student``'s lab ``tiny`` (None: no submission)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(ws.url) as gb:
        try:
            return gb.find_submission(TINY_LAB, student).score
        except MissingEntry:
            return None
