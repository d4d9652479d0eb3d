"""Where the course's notebooks live and how nbgrader is configured for them."""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"
CONFIG_FILE = Path(__file__).resolve().parent / "nbgrader_config.py"


@dataclass(frozen=True)
class KernelSetup:
    """What a course gives every sandboxed kernel (grader/sandbox.py knows no course):

    * ``readable``: folders bound read-only into the sandbox, at the same path (on a Dask
      worker: the paths of that worker's own checkout of the course);
    * ``env``: environment variables set in the kernel;
    * ``thread_variables``: the variables that cap a kernel's threads (cores / workers).
    """

    readable: tuple[Path, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    thread_variables: tuple[str, ...] = ()


# This course: its helpers (utils/) and data files (data/); TensorFlow, OpenMP and BLAS threads.
# Nothing else of the course: CNN_COURSE_FAST (the tests' quick mode) never reaches a graded kernel.
KERNEL_SETUP = KernelSetup(
    readable=(ROOT / "utils", ROOT / "data"),
    env={},
    thread_variables=("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                      "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"),
)


def labs(source: Path = SOLUTIONS) -> list[str]:
    """Assignment names (``lab01_...``) in teaching order: the folders of ``solutions/``."""
    return sorted(p.name for p in source.iterdir() if p.is_dir() and list(p.glob("*.ipynb")))


def load_config(**overrides) -> Config:
    """The course's nbgrader config, with ``overrides`` merged in (``{"Class": {"trait": v}}``)."""
    config = PyFileConfigLoader(CONFIG_FILE.name, path=str(CONFIG_FILE.parent)).load_config()
    extra = Config(overrides)
    config.merge(extra)
    return config


def ensure_tools_on_path() -> None:
    """nbgrader shells out to ``alembic``: put this interpreter's ``bin/`` first on PATH."""
    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if parts[:1] != [bindir]:
        os.environ["PATH"] = os.pathsep.join([bindir, *parts])


def generate_student_notebooks(destination: Path = NOTEBOOKS, source: Path = SOLUTIONS,
                               lab_ids: list[str] | None = None) -> list[Path]:
    """Run nbgrader's ``generate_assignment`` for every lab, writing into ``destination``.

    No gradebook is touched (``no_database``). Returns the generated notebooks.
    Raises ``RuntimeError`` with nbgrader's log when generation fails.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    ensure_tools_on_path()
    destination = Path(destination).resolve()
    source = Path(source).resolve()
    config = load_config(
        CourseDirectory={"root": str(source.parent), "source_directory": source.name},
        GenerateAssignment={"no_database": True},
        SaveCells={"enabled": False},
    )
    written: list[Path] = []
    for lab in lab_ids or labs(source):
        with _release_into(destination, source.parent, config):
            coursedir = CourseDirectory(config=config)
            api = NbGraderAPI(coursedir=coursedir, config=config)
            result = api.generate_assignment(lab, force=True, create=False)
        if not result.get("success"):
            raise RuntimeError(f"generate_assignment {lab} failed:\n{result.get('error') or result.get('log')}")
        written += sorted((destination / lab).glob("*.ipynb"))
    return written


class _release_into:
    """Point nbgrader's release directory at ``destination`` (which may lie outside the root)."""

    def __init__(self, destination: Path, root: Path, config: Config):
        self.destination, self.root, self.config = destination, root, config

    def __enter__(self):
        # nbgrader joins root and release_directory; an absolute path wins in os.path.join.
        self.config.CourseDirectory.release_directory = str(self.destination)
        self.destination.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc):
        return False


def clean_generated(destination: Path = NOTEBOOKS) -> None:
    """Remove generated lab folders (before a fresh generation)."""
    for child in Path(destination).iterdir() if Path(destination).exists() else []:
        if child.is_dir() and child.name.startswith("lab"):
            shutil.rmtree(child)
