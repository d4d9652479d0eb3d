"""提示与作答状态 / hints on demand and the "not attempted" state of a question.

Students call ``hint("build_model")`` in a notebook: each call shows the next hint of that
question (numbered, in Chinese), and once all are shown it shows them all again. Hints point
at the concept, never at the code, and using one costs nothing.

The texts live in one TOML file per lab next to this module (``utils/hints/<lab>.toml``)::

    [build_model]
    hints = ["第一条提示……", "第二条提示……"]

Test cells start with ``answered("build_model", "model")``: when none of the names the question
asks for is defined yet (the student has not run an answer), or when the cell run just before
the test is still the released stub (questions that change names which exist already, such as
lab 1's normalisation of ``X_train``), the test stops with ``NotAttempted`` ("还没作答") instead
of a ``NameError`` traceback or a wrong-answer message. ``NotAttempted`` is an
``AssertionError``, so the cell still fails and scores nothing; the grader counts it apart
from a wrong answer.
"""
from __future__ import annotations

import ast
import os
import sys
import tomllib
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
_shown: dict[tuple[str, str], int] = {}


class NotAttempted(AssertionError):
    """A test ran before the student answered its question (names still undefined)."""


@cache
def texts(lab: str) -> dict[str, list[str]]:
    """The hints of one lab: question id -> list of hint texts."""
    path = HERE / f"{lab}.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as f:
        table = tomllib.load(f)
    return {question: list(entry.get("hints", [])) for question, entry in table.items()}


def labs() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.toml"))


def _current_lab() -> str | None:
    """The lab whose folder the kernel runs in (Jupyter starts a kernel in the notebook's folder)."""
    name = Path(os.getcwd()).name
    return name if name in labs() else None


def _find(question: str, lab: str | None) -> tuple[str, list[str]]:
    lab = lab or _current_lab()
    if lab is not None and question in texts(lab):
        return lab, texts(lab)[question]
    owners = [name for name in labs() if question in texts(name)]
    if len(owners) == 1:
        return owners[0], texts(owners[0])[question]
    if owners:
        raise ValueError(f"“{question}” 在几个实验里都有：{'、'.join(owners)}。请写 hint({question!r}, lab=\"{owners[0]}\")。")
    known = sorted(texts(lab)) if lab else sorted({q for name in labs() for q in texts(name)})
    raise KeyError(f"没有叫 “{question}” 的题目。可以用的名字：{'、'.join(known)}")


def hint(question: str, n: int | None = None, *, lab: str | None = None):
    """Show hint ``n`` (1-based) of ``question``, or the next one not yet shown."""
    lab, items = _find(question, lab)
    if not items:
        raise KeyError(f"“{question}” 还没有提示。")
    key = (lab, question)
    if n is None:
        n = _shown.get(key, 0) % len(items) + 1
    if not 1 <= n <= len(items):
        raise ValueError(f"“{question}” 只有 {len(items)} 条提示。")
    _shown[key] = n
    more = f"再运行一次 hint({question!r}) 看第 {n + 1} 条。" if n < len(items) else "这是最后一条提示。"
    text = f"**提示 {n}/{len(items)}**（{question}）：{items[n - 1]}\n\n<small>{more}用提示不扣分。</small>"
    return _Markdown(text)


class _Markdown:
    """Shown as Markdown in a notebook, as plain text elsewhere."""

    def __init__(self, text: str):
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text.replace("**", "").replace("<small>", "").replace("</small>", "")


def is_stub(source: str) -> bool:
    """True when nothing of ``source`` runs before a ``raise NotImplementedError``: the released
    stub of a >>>填写<<< cell (its first statement is that line; the lines nbgrader keeps after
    it never run), or a cell emptied down to comments."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    if not body:
        return True
    first = body[0]
    if not isinstance(first, ast.Raise) or first.exc is None:
        return False
    exc = first.exc.func if isinstance(first.exc, ast.Call) else first.exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def answered(question: str, *names: str) -> None:
    """Stop a test cell with "还没作答" while the question is unanswered: none of the names it
    defines exists yet, or (for questions that change names which already exist, like lab 1's
    normalisation) the cell run just before this test is still the stub."""
    namespace = sys._getframe(1).f_globals
    missing = [name for name in names if name not in namespace]
    ask = f"卡住了可以运行 hint({question!r}) 看提示。"
    # Only when none of them exists: an answer that defines some of the names was attempted,
    # and the test's own check (a NameError, an assert) says what is missing.
    if missing and len(missing) == len(names):
        listed = "、".join(f"`{name}`" for name in missing)
        raise NotAttempted(
            f"还没作答：{listed} 还没有定义。先完成上面的 >>>填写<<< 单元格并运行它，再运行这个测试。{ask}")
    history = namespace.get("_ih")          # IPython's inputs: [-1] is this test cell
    if isinstance(history, list) and len(history) >= 2 and isinstance(history[-2], str) and is_stub(history[-2]):
        raise NotAttempted(
            "还没作答：刚才运行的 >>>填写<<< 单元格还是原样（只有 raise NotImplementedError()）。"
            f"删掉那一行、写上你的代码并运行它，再运行这个测试。{ask}")
