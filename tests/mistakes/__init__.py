"""Plausible mistakes and other correct answers, one module per lab (see tests/labkit.py)."""
import importlib
import pkgutil


def all_variants() -> dict[str, list]:
    """``{lab: [Variant, ...]}`` for every module in this package."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[info.name] = list(module.VARIANTS)
    return found
