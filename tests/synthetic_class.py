"""Build synthetic student submissions of a lab from its solution and its mistake suite.

``student_notebook(lab, {grade_id: code})`` is the generated student notebook with the given
solution cells answered (the solution region replaced by ``code``); questions not given keep
nbgrader's stub (``raise NotImplementedError()``). ``solved(lab)`` answers everything with
the solution itself. Used by the grader's tests; the notebook builders live in scripts/synthetic.py (shared with the benchmarks).
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))
# the notebook builders are shared with the benchmarks (scripts/synthetic.py)
from synthetic import solution_regions, solved, student_notebook, write  # noqa: E402,F401


def variants(lab: str):
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    return importlib.import_module(f"mistakes.{lab}").VARIANTS


def hog_payload(memory_cap: int, tag: str, *, file_bytes: int = 0) -> str:
    """Code for a hostile cell that is bounded, so that a broken limit fails a test instead of
    taking the machine down: it allocates 256 MB blocks up to 1.5 GB over ``memory_cap``, forks
    up to 300 sleeping children, and (when ``file_bytes``) writes a file of that size.

    The cell prints ``tag`` followed by a JSON object: ``"memory"`` is ``"MemoryError at N MB"``
    or ``"not stopped at N MB"``, ``"fork"`` is ``"<exception> at N"`` or ``"not stopped at N"``
    and, with ``file_bytes``, ``"file"`` is ``"written"`` or the exception's name.
    """
    chunks = (memory_cap + (3 << 29)) >> 28
    code = f"""
import os, json, time
r = {{}}
blocks = []
try:
    for _ in range({chunks}):
        blocks.append(bytearray(1 << 28))
    r["memory"] = f"not stopped at {{len(blocks) * 256}} MB"
except MemoryError:
    r["memory"] = f"MemoryError at {{len(blocks) * 256}} MB"
del blocks
pids = []
try:
    for _ in range(300):
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
    r["fork"] = f"not stopped at {{len(pids)}}"
except OSError as e:
    r["fork"] = f"{{type(e).__name__}} at {{len(pids)}}"
for pid in pids:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
"""
    if file_bytes:
        code += f"""try:
    with open("big.bin", "wb") as f:
        f.write(b"x" * {file_bytes})
    r["file"] = "written"
except OSError as e:
    r["file"] = type(e).__name__
"""
    return code + f"print({tag!r} + json.dumps(r))\n"


def spy_payload(tag: str, attempts: dict[str, str]) -> str:
    """Code for a cell that tries each ``{name: python expression}`` and prints ``tag`` followed by
    a JSON object: ``"ok <first 40 characters of the result>"`` or the exception's name, per name."""
    lines = ["import json, os, socket", "r = {}", "def attempt(name, fn):", "    try:",
             '        r[name] = "ok " + str(fn())[:40]', "    except BaseException as e:",
             "        r[name] = type(e).__name__"]
    lines += [f"attempt({name!r}, lambda: {expression})" for name, expression in attempts.items()]
    return "\n".join(lines + [f"print({tag!r} + json.dumps(r))", ""])
