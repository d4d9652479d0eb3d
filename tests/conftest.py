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


def pytest_terminal_summary(terminalreporter):
    for what, path in _ARTIFACTS:
        terminalreporter.write_line(f"{what}: {path}")
