"""Helpers shared by every lab of the course "CNN 手写体识别".

Written once and imported by the notebooks (as d2l does), never pasted:

* :mod:`utils.data`  – paths of the shipped CSV files, :func:`utils.data.prepare`
  (lab 1's whole pipeline) and loaders for the full datasets;
* :mod:`utils.plots` – the figures of the labs (label distribution, image grids,
  learning curves, confusion matrix, most confident errors, ROC curves, model diagram);
* :mod:`utils.fonts` – a Chinese font for the figures (used by :mod:`utils.plots`).

Sub-modules are imported lazily so that ``import utils`` stays cheap and does not
start TensorFlow.
"""
from importlib import import_module

__all__ = ["data", "plots", "models", "settings", "fonts"]
__version__ = "0.1.0"


def __getattr__(name):
    if name in __all__:
        return import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'utils' has no attribute {name!r}")
