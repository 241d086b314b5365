"""Draw the computation graph behind a tensor with graphviz: ops, tensors, shapes, values, grads.

    >>> g = draw_graph(loss)          # a graphviz.Digraph; shows inline in Jupyter
    >>> render(g, "graph.svg")

Rendering needs Graphviz's ``dot``: the system one when installed (``apt install graphviz``),
else the ``graphviz-pure`` program from pip (``pip install graphviz-pure``).
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

import numpy as np

from .engine import Node
from .tensor import Tensor

INSTALL_HINT = ("Graphviz's `dot` program was not found. Install it with `apt install graphviz` "
                "(Debian/Ubuntu), `brew install graphviz` (macOS) or `pip install graphviz-pure` "
                "(any platform); DOT source (`graph.source`) works without it.")


def find_dot() -> str | None:
    """Path of a dot-compatible renderer: the system ``dot`` first, else ``graphviz-pure``."""
    found = shutil.which("dot")
    if found:
        return found
    folders = {sysconfig.get_path("scripts"), str(Path(sys.executable).parent)}
    for folder in folders:
        for name in ("graphviz-pure", "graphviz-pure.exe"):
            candidate = Path(folder) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return shutil.which("graphviz-pure")


def _use_renderer():
    """Point the graphviz package at our renderer (it only looks for ``dot`` on PATH)."""
    import graphviz.backend.dot_command as dot_command

    path = find_dot()
    if path is None:
        raise RuntimeError(INSTALL_HINT)
    dot_command.DOT_BINARY = Path(path)


def _summary(a: np.ndarray, small=6) -> str:
    if a.size <= small:
        return np.array2string(a, precision=4, separator=", ", suppress_small=True)
    return f"mean {a.mean():.3g} min {a.min():.3g} max {a.max():.3g}"


def draw_graph(root: Tensor, *, show_values: bool = True, show_grads: bool = True,
               rankdir: str = "LR"):
    """A ``graphviz.Digraph`` with one node per tensor and one per op, edges in data-flow order.

    Leaves show their name, shape and dtype, and (when small) value and ``.grad``; op nodes show
    the op's name. Values of intermediates are shown while the graph still holds them (before a
    ``backward()`` without ``retain_graph``).
    """
    import graphviz

    dot = graphviz.Digraph(graph_attr={"rankdir": rankdir}, node_attr={"fontsize": "10"})
    ids = {}

    def tensor_node(key, data, label, style):
        if key not in ids:
            ids[key] = f"t{len(ids)}"
            lines = [label, f"{data.dtype}{list(data.shape)}" if data is not None else ""]
            if show_values and data is not None:
                lines.append(f"value {_summary(data)}")
            if show_grads and isinstance(key, Tensor) and key.grad is not None:
                lines.append(f"grad {_summary(key.grad.data)}")
            dot.node(ids[key], "\n".join(x for x in lines if x), shape="box", **style)
        return ids[key]

    stack = [root.grad_fn] if root.grad_fn is not None else []
    tensor_node(root.grad_fn or root, root.data, root.name or "output",
                {"style": "filled", "fillcolor": "lightgreen"})
    seen = set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        op_id = f"op{len(seen)}"
        dot.node(op_id, node.name, shape="ellipse", style="filled", fillcolor="lightblue")
        dot.edge(op_id, ids[node])
        for i, dest in node.inputs:
            data = node.args[i] if node.args is not None else None
            if isinstance(dest, Node):
                tensor_node(dest, data, "", {})
                stack.append(dest)
            else:
                tensor_node(dest, dest.data, dest.name or "leaf",
                            {"style": "filled", "fillcolor": "lightyellow"})
            dot.edge(ids[dest], op_id)
    return dot


def render(graph, path: str | os.PathLike, format: str | None = None) -> Path:
    """Write ``graph`` (from ``draw_graph``) to ``path`` as svg, png or pdf; returns the path."""
    path = Path(path)
    format = format or path.suffix.lstrip(".") or "svg"
    if format not in ("svg", "png", "pdf"):
        raise ValueError(f"render: format must be svg, png or pdf, got {format!r}")
    _use_renderer()
    data = graph.pipe(format=format)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # atomic: a reader never sees half a file
    return path
