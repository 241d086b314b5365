"""MkDocs hook: writes the API reference pages from the package at build time.

The reference pages are the entries of ``mkdocs.yml``'s nav under ``reference/``, each named
after what it documents: ``reference/autograd_lite.nn.md`` is the page of ``autograd_lite.nn``.
No such file exists in ``docs/``: this hook makes each one, listing the module's public names
(``public_names``) as they are when the package is imported. So a new public name is on the
site without editing a page, and ``tests/test_docstrings.py`` checks the same names
(``documented``) for docstrings.

Each name is documented once, on the page of the module that defines it (of the pages listing
it, the one with the longest matching module path); other pages that list it link there.
Functions and classes are rendered by mkdocstrings from their docstrings; ops
(``@primitive``/``@composite``) from their registry declaration (signature, docstring, local
derivative, numpy functions, kinks); other values (dtypes, constants) in a table.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from pathlib import Path

_HERE = Path(__file__).resolve().parent
MKDOCS_YML = _HERE.parent.parent / "mkdocs.yml"
PREFIX = "reference/"


def reference_pages(mkdocs_yml: str | None = None) -> list[str]:
    """The dotted paths that nav entries ``reference/<path>.md`` name, in the nav's order
    (``reference/index.md`` is a page of its own, not generated)."""
    if mkdocs_yml is None:
        mkdocs_yml = MKDOCS_YML.read_text(encoding="utf-8")
    found = re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?" + PREFIX + r"([\w.]+)\.md\s*$", mkdocs_yml,
                       flags=re.MULTILINE)
    return [path for path in found if path != "index"]


def resolve(path: str):
    """The object at a dotted path: a module, or an attribute of one."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(path)


def _is_op(obj) -> bool:
    from autograd_lite.ops import Composite, Op

    return isinstance(obj, (Op, Composite))


def public_names(module) -> list[str]:
    """A module's public names: its ``__all__``; else the functions and classes it defines and
    the ops it holds (``nn.functional`` takes ``relu`` from ``ops``, and it is its API too)."""
    if hasattr(module, "__all__"):
        return [name for name in module.__all__ if name != "__version__"]
    return [name for name, obj in vars(module).items() if not name.startswith("_") and (
        _is_op(obj) or (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == module.__name__)]


def documented(paths=None):
    """(page path, public name, object) for every name the reference pages list."""
    for path in paths or reference_pages():
        obj = resolve(path)
        if inspect.ismodule(obj):
            for name in public_names(obj):
                yield path, name, getattr(obj, name)
        else:
            yield path, path.rsplit(".", 1)[-1], obj


@functools.lru_cache(maxsize=4)
def _listing(paths: tuple) -> list:
    return list(documented(paths))


def kind(obj) -> str:
    """How a name is rendered: module, op, method (``ag.var`` is ``Tensor.var``), object, value."""
    if inspect.ismodule(obj):
        return "module"
    if _is_op(obj):
        return "op"
    if getattr(obj, "__module__", None) == "autograd_lite.functions":
        return "method"
    if inspect.isclass(obj) or inspect.isroutine(obj):
        return "object"
    return "value"


def identifier(obj) -> str:
    """The anchor a name is documented under: its defining module and qualified name."""
    if _is_op(obj):
        return f"{obj.__module__}.{obj.name}"
    return f"{obj.__module__}.{obj.__qualname__}"


def home(obj, paths) -> str | None:
    """The page that documents ``obj``: of the pages listing it, the one whose path is the
    longest start of its module's name (``optim.lr_scheduler`` for ``StepLR``, which ``optim``
    lists too), else the first."""
    if inspect.ismodule(obj):
        return obj.__name__ if obj.__name__ in paths else None
    listing = [path for path, _, member in _listing(tuple(paths)) if member is obj]
    own = [path for path in listing if not inspect.ismodule(resolve(path))]
    if own:  # a page of its own (reference/autograd_lite.Tensor.md)
        return own[0]
    module = getattr(obj, "__module__", None) or ""
    owners = [p for p in listing if module == p or module.startswith(p + ".")]
    return max(owners, key=len) if owners else (listing[0] if listing else None)


def summary(obj) -> str:
    """The first paragraph of the docstring, on one line, safe in a table cell."""
    doc = inspect.getdoc(obj) or ""
    if _is_op(obj) or kind(obj) == "method":
        doc = inspect.cleandoc(obj.__doc__ or "")
    return " ".join(doc.split("\n\n")[0].split()).replace("|", "\\|")


def _value(obj) -> str:
    """A value as a table cell: its repr, or its type and size where that is long."""
    text = repr(obj)
    if len(text) > 60:
        size = f", {len(obj)} entries" if hasattr(obj, "__len__") else ""
        text = f"{type(obj).__name__}{size}"
    return f"`{text}`".replace("|", "\\|")


def title(path: str) -> str:
    """``ag.nn`` for ``autograd_lite.nn``: the name the examples use."""
    return "ag" + path[len("autograd_lite"):]


def _op_section(obj, fence) -> str:
    """An op's entry, from its declaration."""
    fn = obj.__wrapped__
    lines = [f"### `{obj.name}{inspect.signature(fn)}` {{ #{identifier(obj)} }}", ""]
    lines += [fence(inspect.cleandoc(obj.__doc__ or "")), ""]
    facts = []
    if not obj.differentiable:
        facts.append("no gradient (declared non-differentiable)")
    elif getattr(obj, "derivative", None):
        derivative = obj.derivative
        if isinstance(derivative, tuple):
            derivative = "; ".join(f"d/d{n}: {d}" for n, d in zip(obj.input_names, derivative))
        facts.append(f"local derivative: `{derivative}`")
    if isinstance(obj, importlib.import_module("autograd_lite.ops").Composite):
        facts.append("composite: built from primitives, no rule of its own")
    if obj.numpy:
        names = ", ".join(f"`np.{getattr(f, '__name__', f)}`" for f in obj.numpy)
        facts.append(f"numpy's {names} on a Tensor runs it")
    if obj.kinks:
        facts.append("kinks: " + ", ".join(f"`{k}`" for k in obj.kinks))
    lines += [f"- {fact}" for fact in facts]
    return "\n".join(lines) + "\n"


def page(path: str, paths: list[str], fence) -> str:
    """The Markdown of one reference page."""
    obj = resolve(path)
    if not inspect.ismodule(obj):
        return f"# {title(path)}\n\n::: {identifier(obj)}\n"
    out = [f"# {title(path)}", "", f"::: {path}", "    options:", "      members: false",
           "      show_root_heading: false", "      show_root_toc_entry: false", ""]
    rows, entries, ops, values = [], [], [], []
    for name, member in ((n, getattr(obj, n)) for n in public_names(obj)):
        how, where = kind(member), home(member, paths)
        if how == "module":
            link = f"[{name}]({where}.md)" if where else f"`{name}`"
            rows.append(f"| {link} | module: {summary(member)} |")
            continue
        if how == "method":
            tensor_method = f"autograd_lite._tensor.Tensor.{name}"
            rows.append(f"| `{name}(input, ...)` | `input.{name}(...)`, as "
                        f"[Tensor.{name}][{tensor_method}] |")
            continue
        if how == "value":
            values.append(f"| `{name}` | {_value(member)} |")
            continue
        rows.append(f"| [{name}][{identifier(member)}] | {summary(member)} |")
        listed = ops if how == "op" else entries
        if where == path and member not in listed:  # ag.ops.cat is concatenate
            listed.append(member)
    if rows:
        out += ["| name | what it is |", "| --- | --- |", *rows, ""]
    if values:
        out += ["Values:", "", "| name | value |", "| --- | --- |", *values, ""]
    out += [f"::: {identifier(member)}\n" for member in entries]
    families = {}
    for op in ops:
        families.setdefault(op.__module__, []).append(op)
    for module, members in families.items():
        if len(families) == 1:
            out += ["## Ops", ""]
        else:
            doc = inspect.getdoc(importlib.import_module(module)) or ""
            out += [f"## {module.rsplit('.', 1)[-1]}", "", doc.split("\n\n")[0], ""]
        out += [_op_section(op, fence) for op in sorted(members, key=lambda o: o.name)]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# MkDocs events


def on_files(files, config):
    """Add the reference pages the nav names, made from the package."""
    from griffe_runtime import fence_doctests
    from mkdocs.structure.files import File

    paths = reference_pages(Path(config.config_file_path).read_text(encoding="utf-8"))
    for path in paths:
        uri = f"{PREFIX}{path}.md"
        if files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, content=page(path, paths, fence_doctests)))
    return files


def on_config(config):
    """Make this folder importable, for the griffe extension's doctest helper."""
    import sys

    if str(_HERE) not in sys.path:
        sys.path.insert(0, str(_HERE))
    return config
