"""Grades that cannot be forged: a static screen of the answers and trusted checks in the kernel.

nbgrader runs the tests in the student's own kernel, after the student's code: that code can
change how IPython runs the later cells (input or AST transformers, exception handlers, trace
functions), replace what the tests call (``np.allclose``, ``len``, ``sys.modules`` entries) or
read the hidden tests. Two layers, neither trusting the other:

1. ``screen_notebook``: before execution, every cell the student could write (answer cells and
   added cells; the locked and test cells come back from the gradebook) is parsed, IPython
   syntax included, and searched for what no answer in this course needs: interpreter and
   import machinery, dunder access, ``exec``/``eval``/``getattr`` and friends, magics and
   shell commands, imports outside an allow-list, writes into modules, rebinding a module
   alias, a builtin or the guard's names, IPython's history variables. A finding *flags* the
   submission for review (a human looks); it does not change the score by itself.
2. ``arm`` / ``verify`` (worker side, outside the sandbox): a trusted first cell, with a random
   per-job token and secret, snapshots the identity of key objects (builtins, public callables
   and UPPERCASE constants of numpy, pandas, keras, sklearn, utils..., their ``sys.modules``
   entries, IPython's transformers, exception handlers, display and trace hooks, the kernel's
   execute path). Every graded test cell gets one line appended, an ``assert`` that always
   fails and is caught at once, printing ``"<cell nonce>:<secret>"`` when nothing changed, or
   ``"<nonce>:changed ..."``. After execution ``verify`` restores the cells' sources and removes
   the guard cell; a test cell that ran without error but without exactly that line (no line:
   the cell was skipped, blanked, its asserts removed or its exceptions swallowed; another
   value: the library state changed) cannot be trusted: it and every later test cell get an error output, so nbgrader scores them 0, and
   the submission is flagged with the reason.
"""
from __future__ import annotations

import ast
import builtins
import functools
import re
import secrets
import warnings

from nbformat import NotebookNode

RESERVED = "_grader_"            # names of the guard; an answer that uses them is flagged
UNTRUSTED_ENAME = "IntegrityCheckFailed"
UNTRUSTED_TEXT = "评分检查失败：这个单元格的运行结果不可信（已标记为需要人工复核）"

# Top-level modules an answer may import (what the solutions and accepted variants use, plus
# the usual standard-library helpers that cannot reach the interpreter or the disk).
ALLOWED_IMPORTS = {
    "numpy", "pandas", "keras", "tensorflow", "sklearn", "scipy", "matplotlib", "seaborn", "utils",
    "math", "random", "collections", "itertools", "functools", "statistics", "dataclasses",
    "typing", "string", "re", "warnings", "time", "datetime", "copy", "operator", "fractions",
    "decimal", "pprint", "textwrap", "json", "enum", "numbers", "heapq", "bisect", "pathlib",
}
FORBIDDEN_CALLS = {
    "exec", "eval", "compile", "__import__", "globals", "locals", "vars", "getattr", "setattr",
    "delattr", "exit", "quit", "breakpoint", "get_ipython", "open",
}
FORBIDDEN_RAISE = {"SystemExit", "KeyboardInterrupt", "BaseException", "GeneratorExit"}
# Attributes that reach IPython's, the kernel's or the interpreter's machinery.
FORBIDDEN_ATTRS = {
    "input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
    "ast_transformers", "set_custom_exc", "custom_exceptions", "CustomTB", "showtraceback",
    "_showtraceback", "settrace", "setprofile", "displayhook", "excepthook", "display_pub",
    "_exit", "run_cell", "run_cell_async", "run_code", "run_ast_nodes", "run_line_magic",
    "run_cell_magic", "register_magic_function", "system", "getoutput", "user_ns", "user_global_ns",
    "history_manager", "kernel", "shell", "session", "events", "f_globals", "f_locals", "f_back",
    "f_builtins", "f_code", "gi_frame", "cr_frame", "tb_frame", "modules", "meta_path", "path_hooks",
    "builtin_trap",
}
# Dunders an ordinary answer may use (``type(layer).__name__``, a class's ``__init__``).
ALLOWED_DUNDERS = {"__name__", "__qualname__", "__doc__", "__version__", "__init__", "__call__",
                   "__len__", "__getitem__", "__iter__", "__next__", "__repr__", "__str__", "__main__"}
HISTORY_NAMES = re.compile(r"^(In|Out|_ih|_oh|_dh|_i|_ii|_iii|_i\d+|_\d+|__|___|_exit_code)$")
BUILTIN_NAMES = {n for n in dir(builtins) if not n.startswith("_")}


# ----------------------------------------------------------------------------------------
# 1. static screen
# ----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8192)
def _ipython_to_python(source: str) -> str:
    """The Python IPython runs for ``source`` (remembered: the cells the instructor wrote are
    the same in every submission of a batch)."""
    from IPython.core.inputtransformer2 import TransformerManager

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TransformerManager().transform_cell(source)


@functools.lru_cache(maxsize=8192)
def _imports(source: str) -> tuple[tuple[str, str, bool], ...]:
    """``(alias, module, plain import)`` for every import of one cell (remembered)."""
    try:
        tree = ast.parse(_ipython_to_python(source))
    except (SyntaxError, ValueError):
        return ()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                module = alias.name if alias.asname else alias.name.split(".")[0]
                found.append((alias.asname or alias.name.split(".")[0], module, True))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                # `from utils import data as course_data`: a module; `from x import f`: maybe not
                found.append((alias.asname or alias.name, f"{node.module}.{alias.name}", False))
    return tuple(found)


def module_aliases(sources) -> dict[str, str]:
    """Names bound to modules by the imports of ``sources`` (alias -> module)."""
    found = {}
    for source in sources:
        for alias, module, plain in _imports(source):
            if plain:
                found[alias] = module
            else:
                found.setdefault(alias, module)
    return found


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def screen_source(source: str, modules: dict[str, str] | None = None) -> list[tuple[int, str]]:
    """Findings ``(line, what)`` in one cell's code (IPython syntax accepted)."""
    modules = modules or {}
    python = _ipython_to_python(source)
    try:
        tree = ast.parse(python)
    except (SyntaxError, ValueError):
        return []            # a syntax error fails on its own when the cell runs
    found: list[tuple[int, str]] = []

    def leading_blank(text):
        lines = text.split("\n")
        return next((i for i, line in enumerate(lines) if line.strip()), len(lines))

    offset = leading_blank(source) - leading_blank(python)   # IPython drops leading empty lines

    def add(node, what):
        found.append((getattr(node, "lineno", 0) + offset, what))

    magic = "get_ipython" not in source and "get_ipython" in python
    if magic:
        first = next((n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "get_ipython"), tree)
        add(first, "magic or shell command (% / !)")
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}

    def bound(target, how):
        for node in ast.walk(target):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                check_binding(node, node.id, how)
            elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
                root = _root(node)
                if root in modules or root in BUILTIN_NAMES or root in ("sys", "builtins"):
                    add(node, f"{how} inside module or builtin `{root}`")

    def check_binding(node, name, how):
        if name in modules:
            add(node, f"{how} module name `{name}`")
        elif name in BUILTIN_NAMES:
            add(node, f"{how} builtin `{name}`")
        elif name.startswith(RESERVED):
            add(node, f"{how} reserved name `{name}`")

    # a cell's own variable `_i` is not IPython's history: only reads of names the cell never sets
    own = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN_CALLS:
            if not (node.func.id == "get_ipython" and "get_ipython" not in source):
                add(node, f"call of `{node.func.id}`")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            name = node.id
            if name.startswith("__") and name.endswith("__") and name not in ALLOWED_DUNDERS:
                if id(node) not in called:
                    add(node, f"name `{name}`")
            elif name.startswith(RESERVED) or (HISTORY_NAMES.match(name) and name not in own):
                add(node, f"IPython history or guard name `{name}`")
            elif name in FORBIDDEN_CALLS and name != "get_ipython" and id(node) not in called:
                add(node, f"reference to `{name}`")
        elif isinstance(node, ast.Attribute):
            attr = node.attr
            if attr.startswith("__") and attr.endswith("__") and attr not in ALLOWED_DUNDERS:
                add(node, f"dunder attribute `.{attr}`")
            elif magic and attr in ("run_cell_magic", "run_line_magic", "system", "getoutput"):
                continue             # IPython's own translation of the magic, reported above
            elif attr in FORBIDDEN_ATTRS:
                add(node, f"attribute `.{attr}`")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or "."]
            if isinstance(node, ast.ImportFrom) and node.level:
                add(node, "relative import")
            for name in names:
                if name.split(".")[0] not in ALLOWED_IMPORTS:
                    add(node, f"import of `{name}`")
            for alias in node.names:
                bound_name = alias.asname or alias.name.split(".")[0]
                if alias.name == "*":
                    add(node, "import *")
                elif bound_name in BUILTIN_NAMES or bound_name.startswith(RESERVED):
                    add(node, f"import rebinds `{bound_name}`")
                elif (bound_name in modules and isinstance(node, ast.Import)
                      and modules[bound_name] != (alias.name if alias.asname else alias.name.split(".")[0])):
                    add(node, f"import rebinds module name `{bound_name}`")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                bound(target, "deletes" if isinstance(node, ast.Delete) else "assigns to")
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
            targets = [node.target] if isinstance(node, (ast.For, ast.AsyncFor)) else \
                [i.optional_vars for i in node.items if i.optional_vars is not None]
            for target in targets:
                bound(target, "assigns to")
        elif isinstance(node, ast.NamedExpr):
            bound(node.target, "assigns to")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            check_binding(node, node.name, "defines")
        elif isinstance(node, ast.ExceptHandler) and node.name:
            check_binding(node, node.name, "assigns to")
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                check_binding(node, name, "declares")
        elif isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id in FORBIDDEN_RAISE:
                add(node, f"raises `{exc.id}`")
    stripped = source.lstrip("\n")
    if stripped.startswith("%%") and "\n" in stripped:
        # a cell magic (%%capture, %%time): its body is Python the magic runs, screen it too
        first_line = leading_blank(source) + 1
        found += [(line + first_line, what) for line, what in screen_source(stripped.split("\n", 1)[1], modules)]
    return sorted(set(found))


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def protected_sources(source_nb) -> dict[str, str]:
    """grade id -> source of the cells the grader restores from the gradebook (locked, tests)."""
    out = {}
    for cell in source_nb.cells:
        meta = _meta(cell)
        if cell.cell_type == "code" and meta.get("grade_id") and (
                meta.get("locked") or (meta.get("grade") and not meta.get("solution"))):
            out[meta["grade_id"]] = cell.source
    return out


def screen_notebook(nb, source_nb) -> list[str]:
    """Findings in every code cell of the prepared notebook ``nb`` the student could have
    written: each one ``"cell <grade id or #index>: line N: what"``. ``source_nb`` (the
    instructor's version) tells the restored locked and test cells, which are not screened."""
    trusted = protected_sources(source_nb)
    # code the instructor wrote (cells outside nbgrader's control included), unchanged
    given = {c.source.strip() for c in source_nb.cells
             if c.cell_type == "code" and not _meta(c).get("solution")}
    modules = module_aliases(c.source for c in nb.cells if c.cell_type == "code")
    findings = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        gid = _meta(cell).get("grade_id")
        # locked and test cells: nbgrader's OverwriteCells has put the gradebook's source back
        # (a duplicate grade id is dropped by DeduplicateIds)
        if gid in trusted or cell.source.strip() in given:
            continue
        name = gid if gid and gid not in trusted else f"#{index + 1}"
        for line, what in screen_source(cell.source, modules):
            findings.append(f"cell {name}: line {line}: {what}")
    return findings


def screen_files(prepared, source_folder) -> list[str]:
    """``screen_notebook`` over prepared notebook files against the source notebooks of the
    same name in ``source_folder``; findings prefixed with the notebook's file name."""
    import nbformat
    from pathlib import Path

    return screen_notebooks({Path(p).name: nbformat.read(p, as_version=4) for p in prepared}, source_folder)


def screen_notebooks(notebooks: dict, source_folder) -> list[str]:
    """``screen_notebook`` over prepared notebooks already in memory ({file name: notebook})."""
    from pathlib import Path

    findings = []
    for name, nb in notebooks.items():
        source = Path(source_folder) / name
        if not source.exists():
            continue
        findings += [f"{name}: {f}" for f in screen_notebook(nb, _source_notebook(str(source),
                                                                                 source.stat().st_mtime_ns))]
    return findings


@functools.lru_cache(maxsize=64)
def _source_notebook(path: str, mtime_ns: int):
    """A source notebook, read once per batch rather than once per submission (read-only use)."""
    import nbformat

    return nbformat.read(path, as_version=4)


# ----------------------------------------------------------------------------------------
# 2. in-kernel guard (runs before any student code) and the canary of each test cell
# ----------------------------------------------------------------------------------------
GUARDED_ROOTS = ("numpy", "pandas", "keras", "sklearn", "utils", "scipy", "tensorflow")

GUARD_TEMPLATE = r'''
def _grader_setup(token, secret, imports, roots, bindings, shadow):
    import builtins, importlib, sys, types
    import IPython
    for name in imports:
        try:
            importlib.import_module(name)
        except Exception:
            pass
    resolved = []
    for alias, module, attr in bindings:
        try:
            mod = importlib.import_module(module)
            if attr is not None and attr not in vars(mod):
                continue
            resolved.append((alias, mod if attr is None else vars(mod)[attr]))
        except Exception:
            pass
    bindings = resolved
    ip = IPython.get_ipython()
    items = []                               # (label, getter, object at start)
    def watch(label, getter):
        try:
            items.append((label, getter, getter()))
        except Exception:
            pass
    def watch_dict(label, mod, keys):
        d = vars(mod)
        for k in keys:
            items.append((f"{label}.{k}", (lambda d=d, k=k: d.get(k)), d[k]))
    def public(mod):
        return [k for k, v in vars(mod).items() if not k.startswith("_")
                and not isinstance(v, types.ModuleType) and (callable(v) or k.isupper())]
    watch_dict("builtins", builtins, [k for k in vars(builtins) if not k.startswith("_")
                                      and k not in ("exit", "quit", "get_ipython", "display", "input", "raw_input")])
    watch_dict("builtins", builtins, ["__import__", "__build_class__"])
    mods = {}
    for name, mod in list(sys.modules.items()):
        parts = name.split(".")
        if parts[0] in roots and len(parts) <= (1 if parts[0] == "tensorflow" else 2) \
                and not any(p.startswith("_") for p in parts) and isinstance(mod, types.ModuleType):
            mods[name] = mod
    for name, mod in mods.items():
        watch(f"sys.modules[{name!r}]", lambda name=name: sys.modules.get(name))
        watch(f"type({name})", lambda mod=mod: type(mod))
        watch_dict(name, mod, public(mod))
    # methods of the classes the tests work with (a class reached through an alias of its own,
    # `Frame = pd.DataFrame; Frame.equals = ...`, escapes the static screen)
    seen_classes = set()
    for name, classes in (("pandas", ("DataFrame", "Series", "Index")),):
        for cls_name in classes:
            top = getattr(mods.get(name), cls_name, None)
            for cls in getattr(top, "__mro__", ()):
                if cls in seen_classes or not str(getattr(cls, "__module__", "")).startswith(name):
                    continue
                seen_classes.add(cls)
                label = f"{name}.{cls.__name__}"
                keys = tuple(sorted(k for k in vars(cls) if not k.startswith("_")))
                watch(f"{label} attributes", lambda cls=cls: tuple(sorted(k for k in vars(cls) if not k.startswith("_"))))
                watch_dict(label, cls, keys)
    shell_type = type(ip)
    for attr in ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "transform_cell",
                 "transform_ast", "showtraceback", "_showtraceback", "showsyntaxerror", "set_custom_exc",
                 "should_run_async", "ex", "ev", "system", "run_line_magic", "run_cell_magic"):
        watch(f"shell.{attr}", lambda attr=attr: getattr(shell_type, attr, None))
        watch(f"shell instance .{attr}", lambda attr=attr: vars(ip).get(attr))
    watch("type(shell)", lambda: type(ip))
    for attr in ("input_transformer_manager", "compile", "displayhook", "display_pub", "InteractiveTB",
                 "SyntaxTB", "CustomTB", "custom_exceptions", "builtin_trap", "display_trap",
                 "user_ns", "user_module", "kernel"):
        watch(f"shell.{attr}", lambda attr=attr: getattr(ip, attr, None))
    for attr in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
        lst = getattr(ip, attr)
        watch(f"shell.{attr} list", lambda attr=attr: getattr(ip, attr))
        watch(f"shell.{attr}", lambda lst=lst: tuple(map(id, lst)))
    tm = ip.input_transformer_manager
    for attr in ("cleanup_transforms", "line_transforms", "token_transformers"):
        lst = getattr(tm, attr)
        watch(f"transformer_manager.{attr}", lambda lst=lst: tuple(map(id, lst)))
    watch("type(compile)", lambda: type(ip.compile))
    watch("compile.flags", lambda: ip.compile.flags)
    watch("sys.displayhook", lambda: sys.displayhook)
    watch("sys.gettrace()", sys.gettrace)
    watch("sys.getprofile()", sys.getprofile)
    kernel = getattr(ip, "kernel", None)
    if kernel is not None:
        kernel_type = type(kernel)
        for attr in ("do_execute", "execute_request", "dispatch_shell", "process_one", "send_response"):
            watch(f"kernel.{attr}", lambda attr=attr: getattr(kernel_type, attr, None))
            watch(f"kernel instance .{attr}", lambda attr=attr: vars(kernel).get(attr))
        watch("kernel.shell_handlers", lambda: tuple(map(id, getattr(kernel, "shell_handlers", {}).values())))
        session = getattr(kernel, "session", None)
        watch("kernel.session", lambda: getattr(kernel, "session", None))
        if session is not None:
            for attr in ("send", "serialize", "msg"):
                watch(f"session.{attr}", lambda attr=attr: getattr(type(session), attr, None))
                watch(f"session instance .{attr}", lambda attr=attr: vars(session).get(attr))
        watch("type(kernel)", lambda: type(kernel))
    ns = ip.user_ns
    def check():
        try:
            changed = []
            for alias, obj in bindings:               # `np`, `pd`, ... of the locked cells
                if alias in ns and ns[alias] is not obj:
                    changed.append(f"name {alias}")
            changed += [f"builtin {name} shadowed" for name in shadow if name in ns]
            for label, getter, start in items:
                try:
                    now = getter()
                except Exception:
                    changed.append(label)
                    continue
                if now is not start and not (isinstance(start, (tuple, int)) and now == start):
                    changed.append(label)
            if changed:
                return "changed " + ", ".join(changed[:12]) + (f" (+{len(changed) - 12} more)" if len(changed) > 12 else "")
            return secret
        except BaseException as exc:
            return f"guard error {type(exc).__name__}"
    guard = types.ModuleType(token)
    guard.check = check
    sys.modules[token] = guard
    # the guard's source holds the token and the secret: out of IPython's history
    hm = ip.history_manager
    for lst in (hm.input_hist_parsed, hm.input_hist_raw):
        for i, text in enumerate(lst):
            if token in text:
                lst[i] = ""
    for attr in ("_i", "_ii", "_iii", "_i00"):
        if token in str(getattr(hm, attr, "")):
            setattr(hm, attr, "")
    for key, value in list(ip.user_ns.items()):
        if isinstance(value, str) and token in value:
            ip.user_ns[key] = ""
    print(f"{token} ready: {len(items)} objects watched")
_grader_setup(@TOKEN@, @SECRET@, @IMPORTS@, @ROOTS@, @BINDINGS@, @SHADOW@)
del _grader_setup
'''


def _is_locked_code(cell) -> bool:
    return cell.cell_type == "code" and bool(_meta(cell).get("locked"))


def _trees(nb, keep):
    """The parsed source (IPython syntax converted) of every cell ``keep`` accepts that parses."""
    for cell in nb.cells:
        if keep(cell):
            try:
                yield ast.parse(_ipython_to_python(cell.source))
            except (SyntaxError, ValueError):
                continue


def locked_bindings(nb) -> list[tuple[str, str, str | None]]:
    """``(name, module, attribute or None)`` bound by the imports of the locked cells."""
    out = []
    for tree in _trees(nb, _is_locked_code):
        for node in tree.body:
            if isinstance(node, ast.Import):
                for a in node.names:
                    out.append((a.asname, a.name, None) if a.asname else (a.name.split(".")[0], a.name.split(".")[0], None))
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    if a.name != "*":
                        out.append((a.asname or a.name, node.module, a.name))
    first = {}
    for item in out:            # a name's first binding (the hidden tests rebind `_pd` to the same)
        first.setdefault(item[0], item)
    return list(first.values())


def test_builtins(nb) -> list[str]:
    """Builtin names the test cells use: one defined by the student changes what a test checks."""
    names = set()
    for tree in _trees(nb, is_test_cell):
        names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in BUILTIN_NAMES}
    return sorted(names)


def lab_imports(source_nb) -> list[str]:
    """Modules imported by the locked cells of a lab (what the guard imports before watching),
    limited to the watched packages and matplotlib: nothing the lab does not import anyway."""
    names = []
    for tree in _trees(source_nb, _is_locked_code):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.append(node.module)
                names += [f"{node.module}.{a.name}" for a in node.names]
    return [n for n in dict.fromkeys(names) if n.split(".")[0] in (*GUARDED_ROOTS, "matplotlib")]


def guard_source(token: str, secret: str, imports: list[str], bindings=(), shadow=()) -> str:
    return (GUARD_TEMPLATE.replace("@TOKEN@", repr(token)).replace("@SECRET@", repr(secret))
            .replace("@IMPORTS@", repr(imports)).replace("@ROOTS@", repr(GUARDED_ROOTS))
            .replace("@BINDINGS@", repr(list(bindings))).replace("@SHADOW@", repr(list(shadow))))


def canary_line(token: str, nonce: str) -> str:
    # An assert that always fails (an assert-disabling AST transformer disables it too), caught
    # right away: raising it to IPython would cost a formatted traceback per test cell. The
    # printed line tells whether the watched objects changed. No name of the student's namespace
    # is used, except print (the guard reports a shadowed print).
    return (f"\ntry:\n    assert not __import__({token!r})\nexcept AssertionError:\n"
            f"    print({nonce!r} + ':' + __import__({token!r}).check())\n")


def _take_canary(outputs, nonce: str) -> str | None:
    """Remove the canary's line from the cell's stdout and return what it said (or None).

    The kernel may flush one ``print`` in pieces (text and newline in separate stream messages),
    so adjacent outputs of the same stream are joined first, as a notebook front end shows them."""
    merged = []
    for out in outputs:
        if (merged and out.get("output_type") == "stream" and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == out.get("name")):
            merged[-1]["text"] = merged[-1].get("text", "") + out.get("text", "")
        else:
            merged.append(out)
    outputs[:] = merged
    for out in reversed(outputs):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            lines = out.get("text", "").splitlines(keepends=True)
            for i in range(len(lines) - 1, -1, -1):
                if lines[i].startswith(nonce + ":"):
                    said = lines.pop(i).rstrip("\n")[len(nonce) + 1:]
                    out["text"] = "".join(lines)
                    if not out["text"]:
                        outputs.remove(out)
                    return said
    return None


def is_test_cell(cell) -> bool:
    meta = _meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def arm(nb, imports: list[str] | None = None) -> dict:
    """Insert the guard cell at the top of the prepared notebook ``nb`` and a canary at the end
    of every test cell (in place). Returns the plan ``verify`` needs."""
    imports = lab_imports(nb) if imports is None else imports
    bindings, shadow = locked_bindings(nb), test_builtins(nb)
    token = RESERVED + secrets.token_hex(8)
    secret = secrets.token_hex(16)
    plan = {"token": token, "secret": secret, "cells": {}}
    for index, cell in enumerate(nb.cells):
        if is_test_cell(cell):
            nonce = secrets.token_hex(6)
            plan["cells"][cell.get("id") or str(index)] = {"nonce": nonce, "source": cell.source,
                                                           "gid": _meta(cell).get("grade_id")}
            cell.source = cell.source.rstrip("\n") + "\n" + canary_line(token, nonce)
    guard = NotebookNode(cell_type="code", execution_count=None, id=RESERVED + "guard",
                         metadata=NotebookNode(), outputs=[], source=guard_source(token, secret, imports, bindings, shadow))
    nb.cells.insert(0, guard)
    return plan


def unshift_event(event: str) -> str:
    """A sandbox event of the armed notebook with the cell numbers of the student's notebook
    (the guard cell is number 0 while it runs)."""
    def fix(match):
        n = int(match.group(1))
        return "cell (integrity guard)" if n == 0 else f"cell {n - 1}"
    return re.sub(r"\bcell (\d+)\b", fix, event)


def _untrusted_output():
    return NotebookNode(output_type="error", ename=UNTRUSTED_ENAME, evalue=UNTRUSTED_TEXT,
                        traceback=[f"{UNTRUSTED_ENAME}: {UNTRUSTED_TEXT}"])


def verify(nb, plan: dict) -> list[str]:
    """Undo ``arm`` on the executed ``nb`` (in place) and judge each test cell's run. Returns the
    review flags; cells whose run cannot be trusted (and all later test cells) get an error
    output so that nbgrader scores them 0."""
    token, secret = plan["token"], plan["secret"]
    flags: list[str] = []
    guard = nb.cells[0] if nb.cells and nb.cells[0].get("id") == RESERVED + "guard" else None
    broken = None
    if guard is None:
        broken = "the integrity guard cell is missing"
        flags.append(broken + ": test cells not trusted")
    else:
        nb.cells.pop(0)
        errors = [o for o in guard.get("outputs", []) if o.get("output_type") == "error"]
        text = "".join(o.get("text", "") for o in guard.get("outputs", []) if o.get("output_type") == "stream")
        if errors and errors[0].get("ename") in ("CellNotExecuted", "CellTimeoutError"):
            # the kernel never got going (a sandbox event, reported as such): nothing ran after
            # the guard either, every cell has its "not run" error and scores 0 without help
            for index, cell in enumerate(nb.cells):
                info = plan["cells"].get(cell.get("id") or str(index))
                if info:
                    cell.source = info["source"]
            return flags
        if errors or f"{token} ready" not in text:
            # no student code runs before the guard: its failure is the grader's (a slow machine,
            # a timeout), not the student's. The tests' own results stand, unverified.
            detail = f"{errors[0].get('ename')}: {errors[0].get('evalue')}" if errors else "no output"
            flags.append(f"the integrity guard did not start ({detail[:200]}): test results not verified")
            for index, cell in enumerate(nb.cells):
                info = plan["cells"].get(cell.get("id") or str(index))
                if info:
                    cell.source = info["source"]
                    outputs = cell.get("outputs", [])
                    if outputs and outputs[-1].get("output_type") == "error" and token in str(outputs[-1].get("evalue")):
                        outputs.pop()            # the canary's "no module named <token>"
            return flags
    zeroed = []
    for index, cell in enumerate(nb.cells):
        info = plan["cells"].get(cell.get("id") or str(index))
        if info is None:
            continue
        cell.source = info["source"]
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        said = _take_canary(outputs, info["nonce"])
        reason = None
        if broken:
            pass
        elif errors and said is not None:
            reason = "an error and the integrity check were both reported"
        elif errors:
            # the test failed on its own (or the kernel stopped): nbgrader scores it 0
            if any(token in str(o.get("evalue", "")) for o in errors):
                reason = "the integrity check was tampered with"
        elif said is None:
            reason = "the test ran to its end without its integrity check (cell skipped, rewritten or errors hidden)"
        elif said.startswith("changed"):
            reason = f"library or IPython state altered: {said[:300]}"
        elif said != secret:
            reason = "the integrity check returned a wrong value"
        # (a traceback quotes the lines around the failing one: the canary may be among them)
        for out in cell.get("outputs", []):
            if out.get("traceback"):
                out["traceback"] = ["\n".join(x for x in chunk.split("\n") if token not in x)
                                    for chunk in out["traceback"]]
        if reason:
            flags.append(f"{info['gid']}: {reason}")
            broken = f"after {info['gid']}"
        if reason or broken:
            cell.outputs = [_untrusted_output()]
            zeroed.append(info["gid"])
    if zeroed:
        flags.append("scored 0 as untrusted: " + ", ".join(zeroed))
    return flags
