"""A griffe extension for this site: the docstrings the source does not hold, doctests as code.

mkdocstrings reads the source (griffe's static analysis), which misses what the package sets up
at import time, so after griffe has loaded the package this extension:

- gives a function, property, slot or class without a docstring in the source the one it has
  at run time (``Tensor``'s methods get theirs in a loop at the end of ``_tensor.py``, its
  slots from the ``__slots__`` dict);
- turns each doctest (``>>>`` lines down to a blank line) into a ```` ```pycon ```` block:
  Markdown would read ``>>>`` as three nested quotes.
"""

from __future__ import annotations

import importlib
import inspect

import griffe


def fence_doctests(text: str) -> str:
    """Wrap each doctest of a docstring in a ```` ```pycon ```` fence, keeping its indent."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if not stripped.startswith(">>>"):
            out.append(lines[i])
            i += 1
            continue
        indent = lines[i][: len(lines[i]) - len(stripped)]
        if out and out[-1].strip():
            out.append("")
        out.append(indent + "```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.extend([indent + "```", ""])
    return "\n".join(out).rstrip("\n")


def runtime_object(path: str):
    """The object at a dotted path (module, then attributes), or None."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = inspect.getattr_static(obj, name, None)
            if isinstance(obj, (staticmethod, classmethod)):
                obj = obj.__func__
        return obj
    return None


def _runtime_docstring(path: str) -> str | None:
    obj = runtime_object(path)
    if inspect.ismemberdescriptor(obj):  # a slot: getdoc reads the class's __slots__ dict
        return inspect.getdoc(obj)
    if inspect.isroutine(obj) or inspect.isclass(obj) or isinstance(obj, property):
        return inspect.cleandoc(obj.__doc__) if obj.__doc__ else None  # its own, not inherited
    return None


class RuntimeDocstrings(griffe.Extension):
    """Fill in run-time docstrings and fence doctests, once a package is loaded."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs) -> None:
        self._visit(pkg)

    def _visit(self, obj) -> None:
        if obj.docstring is None and not obj.is_module:
            doc = _runtime_docstring(obj.path)
            if doc:
                obj.docstring = griffe.Docstring(doc, parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
        for member in list(obj.members.values()):
            if not member.is_alias:
                self._visit(member)
