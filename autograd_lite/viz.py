"""See backpropagation: the computation graph as a picture, and the backward pass step by step.

    >>> model = ag.nn.Linear(2, 1)
    >>> loss = (model(ag.tensor([[1.0, 2.0]])) ** 2).sum()
    >>> graph = draw_graph(loss, params=model)    # a graphviz.Digraph; shows inline in Jupyter
    >>> print(graph_text(loss, params=model))     # the same graph as text
    output float32[] = sum
      pow 1 float32[1, 1] = pow(exponent=2)
        linear 2 float32[1, 1] = linear
          input 3 float32[1, 2]
          weight float32[1, 2]
          bias float32[1]
    >>> render(graph, "graph.svg")
    PosixPath('graph.svg')
    >>> steps = backward_steps(loss)              # a real backward, recorded frame by frame
    >>> [step.op for step in steps]
    ['sum', 'pow', 'linear']
    >>> steps.to_html("backprop.html")            # one page, a slider over the frames
    PosixPath('backprop.html')

Tensors are boxes (name, dtype and shape, value, gradient), ops are ellipses (name, attributes,
the local derivative during backward). Rendering needs Graphviz's ``dot``: the system one when
installed (``apt install graphviz``), else the ``graphviz-pure`` program from pip. Without
either, DOT source (``graph.source``) and ``graph_text(loss)`` still work.
"""

from __future__ import annotations

import html
import os
import shutil
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import engine
from ._tensor import Tensor, name_of_array
from .engine import Node
from .io import atomic_write
from .nn.module import Module

if TYPE_CHECKING:
    from .nn.calls import ModuleCall

    End = tuple[str, Any]  # an end of an edge of a collapsed picture, as _view makes them

INSTALL_HINT = ("Graphviz's `dot` program was not found. Install it with `apt install graphviz` "
                "(Debian/Ubuntu), `brew install graphviz` (macOS) or `pip install graphviz-pure` "
                "(any platform); DOT source (`graph.source`) and `graph_text()` work without it.")

STYLES = {  # kind of tensor -> graphviz attributes
    "output": {"style": "filled", "fillcolor": "#b7e4c7"},
    "param": {"style": "filled", "fillcolor": "#ffe8a3"},
    "leaf": {"style": "filled", "fillcolor": "#fff3c4"},
    "input": {"style": "filled", "fillcolor": "#e9ecef"},
    "intermediate": {},
}
OP_STYLE = {"shape": "ellipse", "style": "filled", "fillcolor": "#cfe2ff"}
ACTIVE_OP_STYLE = {"shape": "ellipse", "style": "filled,bold", "fillcolor": "#ff8787",
                   "penwidth": "2"}
MODULE_STYLE = {"shape": "box", "style": "filled,rounded", "fillcolor": "#e5dbff"}

# ---- the renderer ------------------------------------------------------------------------------


def find_dot() -> str | None:
    """Path of a dot-compatible renderer: the system ``dot`` first, else ``graphviz-pure``."""
    found = shutil.which("dot")
    if found:
        return found
    for folder in {sysconfig.get_path("scripts"), str(Path(sys.executable).parent)}:
        for name in ("graphviz-pure", "graphviz-pure.exe"):
            candidate = Path(folder) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return shutil.which("graphviz-pure")


def _use_renderer(required=True) -> bool:
    """Point the graphviz package at our renderer (it only looks for ``dot`` on PATH)."""
    import graphviz.backend.dot_command as dot_command

    path = find_dot()
    if path is None:
        if required:
            raise RuntimeError(INSTALL_HINT)
        return False
    dot_command.DOT_BINARY = Path(path)
    return True


def render(graph, path: str | os.PathLike, format: str | None = None) -> Path:
    """Write ``graph`` (from ``draw_graph``) to ``path`` as svg, png or pdf; returns the path."""
    path = Path(path)
    format = format or path.suffix.lstrip(".") or "svg"
    if format not in ("svg", "png", "pdf"):
        raise ValueError(f"render: format must be svg, png or pdf, got {format!r}")
    _use_renderer()
    atomic_write(path, graph.pipe(format=format))  # a reader never sees half a file
    return path


# ---- the graph, read once from the nodes --------------------------------------------------------


@dataclass
class TensorInfo:
    label: str
    kind: str  # output, param, leaf, input or intermediate
    value: np.ndarray | None
    grad: np.ndarray | None = None


@dataclass
class OpInfo:
    name: str
    attrs: str
    derivative: str | None
    inputs: list  # tensor keys, in argument order
    output: object  # tensor key
    where: str = ""


@dataclass
class Graph:
    """The tensors and ops behind some outputs: what ``draw_graph`` draws."""

    tensors: dict = field(default_factory=dict)  # key (Node, leaf Tensor or id) -> TensorInfo
    ops: dict = field(default_factory=dict)  # Node -> OpInfo, outputs first


PARAMS_FORMS = ("a Module, a dict name -> Tensor, or (name, Tensor) pairs such as "
                "model.named_parameters()")


def _named_params(params, caller: str) -> dict:
    """``params`` (the forms in PARAMS_FORMS, or None) as a dict name -> Tensor, read once so a
    generator can be passed; anything else is a TypeError naming ``caller``."""
    if params is None:
        return {}
    if isinstance(params, Module):
        return dict(params.named_parameters())
    if isinstance(params, (Tensor, np.ndarray, str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(f"{caller}: params must be {PARAMS_FORMS}; got {type(params).__name__}")
    named = {}
    for pair in params.items() if isinstance(params, Mapping) else params:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and isinstance(pair[0], str)
                and isinstance(pair[1], Tensor)):
            held = ("(" + ", ".join(type(x).__name__ for x in pair) + ")"
                    if isinstance(pair, (tuple, list)) else type(pair).__name__)
            raise TypeError(f"{caller}: params must be {PARAMS_FORMS}; got "
                            f"{type(params).__name__} holding {held}")
        named[pair[0]] = pair[1]
    return named


def _summary(a: np.ndarray, small: int = 6) -> str:
    """A few numbers in full (4 significant digits); more as mean / min / max."""
    a = np.asarray(a)
    if a.size <= small:
        return _numbers(a.tolist())
    return f"mean {a.mean():.4g}, min {a.min():.4g}, max {a.max():.4g}"


def _numbers(values) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(_numbers(v) for v in values) + "]"
    return f"{values:.4g}" if isinstance(values, float) else str(values)


def _attrs(node) -> str:
    """The op's non-tensor arguments: axis, exponent, shape, index..."""
    defaults = getattr(node.op, "param_defaults", {})
    parts = [f"{k}={_short(v)}" for k, v in (node.params or {}).items()
             if k not in defaults or not _same(v, defaults[k])]
    needs = {i for i, dest in enumerate(node.inputs) if dest is not None}
    names = getattr(node.op, "input_names", ())
    for i, a in enumerate(node.args or ()):
        if i not in needs and not isinstance(a, np.ndarray):
            parts.append(f"{names[i] if i < len(names) else f'arg{i}'}={a!r}")
    return ", ".join(parts)


def _derivative(node) -> str | None:
    """The op's local derivative, for the inputs that receive a gradient (``d/dx = y``)."""
    formula = getattr(node.op, "derivative", None)
    if not isinstance(formula, tuple):
        return formula
    names = getattr(node.op, "input_names", ())
    return ", ".join(f"d/d{names[i] if i < len(names) else f'arg{i}'} = {formula[i]}"
                     for i, dest in enumerate(node.inputs) if dest is not None
                     and i < len(formula)) or None


def _same(a, b) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except (ValueError, TypeError):  # arrays compare elementwise
        return False


def _short(value, limit: int = 30) -> str:
    text = repr(value).replace("\n", " ")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def build_graph(roots, params=None, max_nodes: int | None = None) -> Graph:
    """Read the graph behind ``roots`` (a Tensor or a list of them), outputs first; ``params``
    names the parameters, as for ``draw_graph``."""
    names = {}
    for name, t in _named_params(params, "build_graph").items():
        names[id(t)] = names[id(t.data)] = name  # the data: constants are kept as arrays
    roots = [roots] if isinstance(roots, Tensor) else list(roots)
    graph = Graph()
    counter = iter(range(1, 10**9))

    def leaf_info(t, as_input=False):
        if t not in graph.tensors:
            kind = "param" if id(t) in names else ("leaf" if t.requires_grad else "input")
            label = names.get(id(t)) or t.name or f"{kind} {next(counter)}"
            grad = t.grad.data if t.grad is not None else None
            graph.tensors[t] = TensorInfo(label, kind, t.data, grad)
        return t

    stack = []
    for r in roots:
        key = r.grad_fn if r.grad_fn is not None else r
        if r.grad_fn is None:
            leaf_info(r)
        graph.tensors[key] = TensorInfo(r.name or "output", "output", r.data,
                                        r.grad.data if r.grad is not None else None)
        if r.grad_fn is not None:
            stack.append(r.grad_fn)
    while stack:
        node = stack.pop()
        if node in graph.ops:
            continue
        if max_nodes is not None and len(graph.ops) >= max_nodes:
            raise ValueError(
                f"draw_graph: the graph has more than max_nodes={max_nodes} ops, too many to "
                "read. Draw a part of it (draw_graph(hidden) for an intermediate tensor, or "
                "one layer's output), or pass max_nodes=None to draw it all (slow to lay out). "
                "Graphs made by nn.Module calls are drawn as one box per call instead.")
        needs = {i: dest for i, dest in enumerate(node.inputs) if dest is not None}
        args = node.args if node.args is not None else ()
        inputs: list[object] = []  # tensor keys: a Node, a leaf Tensor or ("const", id)
        for i in range(max(len(args), max(needs, default=-1) + 1)):
            dest = needs.get(i)
            if isinstance(dest, Node):
                if dest not in graph.tensors:
                    value = args[i] if i < len(args) else None
                    label = (name_of_array(value) if value is not None else None) or \
                        f"{dest.name} {next(counter)}"
                    graph.tensors[dest] = TensorInfo(label, "intermediate", value)
                    stack.append(dest)
                inputs.append(dest)
            elif dest is not None:
                inputs.append(leaf_info(dest))
            elif i < len(args) and isinstance(args[i], np.ndarray):
                key = ("const", id(args[i]))
                if key not in graph.tensors:
                    label = (names.get(id(args[i])) or name_of_array(args[i])
                             or f"input {next(counter)}")
                    graph.tensors[key] = TensorInfo(label, "input", args[i])
                inputs.append(key)
        line = node.source_line
        where = f"{os.path.basename(line[0])}:{line[1]}" if line else ""
        graph.ops[node] = OpInfo(node.name, _attrs(node), _derivative(node), inputs, node, where)
    return graph


# ---- module calls: one box per call ------------------------------------------------------------


@dataclass
class ModuleBox:
    """One module call drawn as a box, the ops it made hidden inside."""

    name: str  # qualified name from the root module, e.g. "encoder.0"; "" for the root itself
    kind: str  # the module's class
    inputs: tuple  # shapes of the Tensor arguments
    outputs: tuple  # shapes of the Tensors returned
    params: int  # number of parameter values (weights and biases)
    ops: int = 0  # ops hidden inside
    call: int = 1  # this is call `call` of `calls` of the same module in the graph
    calls: int = 1

    def title(self) -> str:
        title = f"{self.name}: {self.kind}" if self.name else self.kind
        return title + (f" (call {self.call} of {self.calls})" if self.calls > 1 else "")

    def summary(self, show_shapes: bool = True, sep: str = "\n") -> str:
        shapes = f"{_shape_list(self.inputs)} -> {_shape_list(self.outputs)}"
        counts = f"{self.params:,} params, {self.ops} op{'s' if self.ops != 1 else ''}"
        return sep.join([self.title()] + ([shapes] if show_shapes else []) + [counts])


def _shape_list(shapes) -> str:
    return ", ".join(str(list(shape)) for shape in shapes) or "()"


@dataclass
class Collapsed:
    """``graph`` with some module calls drawn as boxes."""

    graph: Graph
    boxes: dict  # ModuleCall -> ModuleBox, in the order the calls ran
    box_of: dict  # Node hidden in a box -> that box's ModuleCall
    cluster_of: dict  # Node inside a module named in expand -> that module's title
    note: str = ""


def collapse_graph(graph: Graph, params=None, expand=(), depth: int = 1) -> Collapsed:
    """Group ``graph``'s ops by the module call that made them (see ``nn/calls.py``).

    A call ``depth`` levels deep (0: the outermost calls) is a box; the calls around it are open
    when they have calls inside to show (a module calling only ops is a box at any depth).
    Modules named in ``expand`` (qualified names like ``"encoder.0"``, or Module objects) are
    open down to their ops. Names come from ``params`` when it is a Module (any form
    ``draw_graph`` takes is accepted), else from the outermost module call's ``named_modules()``.
    """
    from .nn import calls as module_calls

    _named_params(params, "collapse_graph")  # the same forms everywhere; only a Module helps here
    owner = module_calls.innermost_calls(graph.ops)
    given = {id(m): name for name, m in params.named_modules()} \
        if isinstance(params, Module) else {}
    innermost = set(owner.values())
    parents: set[ModuleCall] = set()
    for call in list(innermost):
        while call.parent is not None and call.parent not in parents:
            parents.add(call.parent)
            call = call.parent
    every = sorted(innermost | parents, key=lambda c: c.first)  # a call before the calls inside
    tables, names = {}, {}
    for call in every:  # qualified names, from params, else from the outermost call's module
        root = call
        while root.parent is not None:
            root = root.parent
        if id(root.module) not in tables:
            tables[id(root.module)] = {id(m): n for n, m in root.module.named_modules()}
        names[call] = given.get(id(call.module)) or tables[id(root.module)].get(id(call.module),
                                                                                  "")
    named = {call for call in every if names[call] in expand
             or any(call.module is m for m in expand if not isinstance(m, str))}
    around_named = set()  # the calls around an expanded one are open, to show it
    for call in named:
        while call.parent is not None and call.parent not in around_named:
            call = call.parent
            around_named.add(call)
    # call -> the outermost expanded / boxed call around it (itself included), or None
    frame: dict[ModuleCall | None, ModuleCall | None] = {None: None}
    box: dict[ModuleCall | None, ModuleCall | None] = {None: None}
    for call in every:
        frame[call] = frame[call.parent] or (call if call in named else None)
        is_open = (frame[call] is not None or call in around_named
                   or (call.depth < depth and call in parents))
        box[call] = box[call.parent] or (None if is_open else call)

    box_of: dict[Node, ModuleCall] = {}
    cluster_of: dict[Node, str] = {}
    boxes: dict[ModuleCall, ModuleBox] = {}
    for node in sorted(graph.ops, key=lambda n: n.sequence_nr):
        made_in = owner.get(node)
        b, outer = box[made_in], frame[made_in]
        if b is not None:
            box_of[node] = b
            if b not in boxes:
                count = sum(p.data.size for p in b.module.parameters())
                boxes[b] = ModuleBox(names[b], type(b.module).__name__, b.inputs, b.outputs,
                                     count)
            boxes[b].ops += 1
        elif outer is not None:
            kind = type(outer.module).__name__
            cluster_of[node] = f"{names[outer]}: {kind}" if names[outer] else kind
    per_module: dict[int, list[ModuleCall]] = {}  # id(module) -> its boxed calls
    for call in sorted(boxes, key=lambda c: c.first):
        per_module.setdefault(id(call.module), []).append(call)
    for same in per_module.values():
        for i, call in enumerate(same, 1):
            boxes[call].call, boxes[call].calls = i, len(same)
    return Collapsed(graph, boxes, box_of, cluster_of)


def _owned(module) -> set:
    """ids of a module's parameters and buffers, and of their arrays (constants are arrays)."""
    tensors = list(module.parameters()) + [b for b in module.buffers() if b is not None]
    return {id(t) for t in tensors} | {id(t.data) for t in tensors}


def _view(c: Collapsed):
    """What a collapsed picture shows: the tensors kept (key -> TensorInfo) and the edges, each
    end a ("t", tensor key), ("op", Node) or ("m", ModuleCall). A module's own parameters and
    the tensors made inside a box are hidden; an edge into a box is drawn once."""
    graph, shown, edges, seen, owned = c.graph, set(), [], set(), {}
    for node, op in graph.ops.items():
        b = c.box_of.get(node)
        target = ("op", node) if b is None else ("m", b)
        if b is None or graph.tensors[op.output].kind == "output":
            shown.add(op.output)
            edges.append((target, ("t", op.output)))
        for key in op.inputs:
            made_by = c.box_of.get(key) if isinstance(key, Node) else None
            if made_by is not None:
                if made_by is b:
                    continue
                source = ("m", made_by)
            else:
                if b is not None and not isinstance(key, Node):
                    if b not in owned:
                        owned[b] = _owned(b.module)
                    if (key[1] if isinstance(key, tuple) else id(key)) in owned[b]:
                        continue
                source = ("t", key)
                shown.add(key)
            if b is not None:
                if (source, b) in seen:
                    continue
                seen.add((source, b))
            edges.append((source, target))
    return {key: info for key, info in graph.tensors.items() if key in shown}, edges


def _collapsed_digraph(c: Collapsed, *, show_values=True, show_grads=True, show_shapes=True,
                       rankdir="LR"):
    """The picture of a collapsed graph: module boxes, and the loose ops and tensors around."""
    import graphviz

    tensors, edges = _view(c)
    graph_attr = {"rankdir": rankdir}
    if c.note:
        graph_attr.update(label=c.note, labelloc="t", fontsize="10", fontname="Helvetica")
    dot = graphviz.Digraph(graph_attr=graph_attr,
                           node_attr={"fontsize": "10", "fontname": "Helvetica"},
                           edge_attr={"fontsize": "9", "fontname": "Helvetica"})
    lines, ids = dot.body, {}
    clusters: dict[str | None, list[str]] = {}  # cluster title (None: none) -> its DOT lines
    # a leaf used only inside one expanded module is drawn inside its frame too
    used_in: dict[object, set[str | None]] = {}
    for source, target in edges:
        if source[0] == "t" and not isinstance(source[1], Node):
            used_in.setdefault(source[1], set()).add(
                c.cluster_of.get(target[1]) if target[0] == "op" else None)
    for i, (key, info) in enumerate(tensors.items()):
        ids["t", key] = f"t{i}"
        label = _tensor_label(info, show_values, show_grads, show_shapes, info.grad)
        if isinstance(key, Node):
            cluster = c.cluster_of.get(key)
        else:
            frames = used_in.get(key, {None})
            cluster = next(iter(frames)) if len(frames) == 1 else None
        clusters.setdefault(cluster, []).append(
            f"\tt{i} [label={_quote(label)} shape=box{_attrs_text(STYLES[info.kind])}]\n")
    for j, (node, op) in enumerate(c.graph.ops.items()):
        if node not in c.box_of:
            ids["op", node] = f"op{j}"
            label = op.name + (f"\n{op.attrs}" if op.attrs else "")
            clusters.setdefault(c.cluster_of.get(node), []).append(
                f"\top{j} [label={_quote(label)}{_attrs_text(OP_STYLE)}]\n")
    for k, (call, box) in enumerate(c.boxes.items()):
        ids["m", call] = f"m{k}"
        lines.append(f"\tm{k} [label={_quote(box.summary(show_shapes))}"
                     f"{_attrs_text(MODULE_STYLE)}]\n")
    lines.extend(clusters.pop(None, []))
    for n, (title, body) in enumerate(clusters.items()):
        assert title is not None  # the lines outside any frame were taken out above
        lines.append(f"\tsubgraph cluster_{n} {{\n\t\tlabel={_quote(title)} style=dashed\n")
        lines.extend("\t" + line for line in body)
        lines.append("\t}\n")
    lines.extend(f"\t{ids[source]} -> {ids[target]}\n" for source, target in edges)
    return dot


def _collapsed_text(c: Collapsed) -> str:
    """The collapsed graph as an indented tree, output first, a box as one line."""
    tensors, edges = _view(c)
    made: dict[End, End] = {}  # a tensor -> the op or box that made it
    sources: dict[End, list[End]] = {}  # an op or box -> what it reads
    for source, target in edges:
        if target[0] == "t":
            made[target] = source
        else:
            sources.setdefault(target, []).append(source)

    def describe(end):
        if end[0] == "m":
            return "[" + c.boxes[end[1]].summary(sep="; ") + "]"
        op = c.graph.ops[end[1]]
        return f"{op.name}({op.attrs})" if op.attrs else op.name

    lines, seen = [], set()
    stack = [(("t", next(iter(c.graph.tensors))), 0)]
    while stack:
        end, depth = stack.pop()
        maker: End | None = end
        if end[0] == "t":
            info = tensors[end[1]]
            shape = f"{info.value.dtype}{list(info.value.shape)}" if info.value is not None else ""
            text = f"{'  ' * depth}{info.label} {shape}"
            maker = made.get(end)
            if maker is not None:
                text += f" = {describe(maker)}"
        else:
            text = f"{'  ' * depth}{describe(end)}"
        if maker is not None:
            if maker in seen:
                text += "  (see above)"
            else:
                seen.add(maker)
                stack.extend((s, depth + 1) for s in reversed(sources.get(maker, [])))
        lines.append(text)
    return "\n".join(lines)


def _read(caller, roots, params, max_nodes, collapse, expand, depth, refuse=True):
    """The graph behind ``roots``, and its collapsed form when one is asked for (or needed:
    ``collapse="auto"`` beyond ``max_nodes`` ops); None when every op is to be drawn."""
    if collapse not in ("auto", "modules", "none"):
        raise ValueError(f"{caller}: collapse must be 'auto', 'modules' or 'none', "
                         f"got {collapse!r}")
    module = params if isinstance(params, Module) else None  # names the module boxes
    params = _named_params(params, caller)
    expand = [expand] if isinstance(expand, str) else list(expand)
    if collapse == "auto" and (expand or depth is not None):
        collapse = "modules"  # asking what to expand is asking for boxes
    if collapse == "none":
        return build_graph(roots, params, max_nodes if refuse else None), None
    refused = None
    try:
        graph = build_graph(roots, params, max_nodes if collapse == "auto" else None)
        if collapse == "auto":
            return graph, None
    except ValueError as e:  # too many ops to draw one by one: try one box per module call
        refused, graph = e, build_graph(roots, params, None)
    collapsed = collapse_graph(graph, module, expand, 1 if depth is None else depth)
    if not collapsed.boxes and not collapsed.cluster_of:  # no module calls: nothing to group
        if refused is not None and refuse:
            raise refused
        return graph, None
    if refused is not None:
        collapsed.note = (f"{len(graph.ops):,} ops (more than max_nodes={max_nodes}) drawn as "
                          f"{len(collapsed.boxes):,} module calls; expand=['name'] opens one")
    return graph, collapsed


# ---- drawing ------------------------------------------------------------------------------------


def _tensor_label(info: TensorInfo, show_values, show_grads, show_shapes, grad) -> str:
    lines = [info.label]
    if show_shapes and info.value is not None:
        lines.append(f"{info.value.dtype}{list(info.value.shape)}")
    if show_values and info.value is not None:
        lines.append(f"value {_summary(info.value)}")
    if show_grads and grad is not None:
        lines.append(f"grad {_summary(grad)}")
    return "\n".join(lines)


def to_digraph(graph: Graph, *, show_values=True, show_grads=True, show_shapes=True,
               rankdir="LR", active=None, grads=None, sent=None):
    """A graphviz.Digraph of ``graph``; ``active`` (a Node) is highlighted, ``grads`` (key ->
    array) override the gradients shown, ``sent`` labels the active op's input edges."""
    import graphviz

    dot = graphviz.Digraph(graph_attr={"rankdir": rankdir},
                           node_attr={"fontsize": "10", "fontname": "Helvetica"},
                           edge_attr={"fontsize": "9", "fontname": "Helvetica"})
    # DOT lines are written directly into the Digraph's body: graphviz's per-call quoting would
    # be most of the time for a large graph
    lines = dot.body
    ids = {key: f"t{i}" for i, key in enumerate(graph.tensors)}
    for key, info in graph.tensors.items():
        # a frame of backward shows the gradients so far, the finished graph its .grad
        grad = grads.get(key) if grads is not None else info.grad
        label = _tensor_label(info, show_values, show_grads, show_shapes, grad)
        style = _attrs_text(STYLES[info.kind])
        lines.append(f"\t{ids[key]} [label={_quote(label)} shape=box{style}]\n")
    for j, (node, op) in enumerate(graph.ops.items()):
        label = op.name + (f"\n{op.attrs}" if op.attrs else "")
        if node is active and op.derivative:
            label += f"\nlocal derivative: {op.derivative}"
        op_style = ACTIVE_OP_STYLE if node is active else OP_STYLE
        lines.append(f"\top{j} [label={_quote(label)}{_attrs_text(op_style)}]\n")
        lines.append(f"\top{j} -> {ids[op.output]}\n")
        for key in op.inputs:
            edge = ""
            if node is active and sent is not None and key in sent:
                edge = (f" [label={_quote('grad ' + _summary(sent[key]))} color=\"#e03131\" "
                        f"fontcolor=\"#e03131\"]")
            lines.append(f"\t{ids[key]} -> op{j}{edge}\n")
    return dot


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _attrs_text(attrs: dict) -> str:
    return "".join(f" {k}={_quote(v)}" for k, v in attrs.items())


def draw_graph(root_or_roots, *, show_values: bool = True, show_grads: bool = True,
               show_shapes: bool = True, params=None, rankdir: str = "LR",
               max_nodes: int | None = 500, collapse: str = "auto", expand=(),
               depth: int | None = None):
    """The computation graph behind a tensor (or list of tensors) as a ``graphviz.Digraph``.

    One box per tensor (name, dtype and shape, value, gradient: in full when a few numbers, as
    mean/min/max otherwise) and one ellipse per op (name and attributes), edges in data-flow
    order. ``params`` (a Module, a dict name -> Tensor, or (name, Tensor) pairs such as
    ``model.named_parameters()``) names the parameters, e.g. ``fc1.weight``; other tensors
    show ``tensor.name`` if set. Values of intermediates are shown while the graph holds them
    (before a backward without ``retain_graph``).

    A real model makes thousands of ops, so ``collapse`` can draw one rounded box per module
    call instead (its name, class, input and output shapes, parameter count), with the loose
    ops between: ``"auto"`` (the default) does so beyond ``max_nodes`` ops, and says so in the
    picture; ``"modules"`` always; ``"none"`` never (beyond ``max_nodes`` ops it refuses, as
    does ``"auto"`` for a graph made without modules). ``depth`` is how deep the boxes are:
    1 (the default), the model's children (``0``, ``1``... of a Sequential); 0, the model as
    one box. ``expand=["encoder.0"]`` opens named modules down to their ops, in a dashed
    frame. Passing ``expand`` or ``depth`` asks for boxes. A module called twice (an RNN cell
    over time steps) is two boxes.

    >>> model = ag.nn.Sequential(ag.nn.Linear(2, 3), ag.nn.ReLU(), ag.nn.Linear(3, 1))
    >>> x = ag.ones(4, 2)
    >>> x.name = "x"
    >>> loss = model(x).sum()
    >>> graph = draw_graph(loss, params=model, collapse="modules")  # three boxes, a sum
    >>> print(graph_text(loss, params=model, collapse="modules"))
    output float32[] = sum
      [2: Linear; [4, 3] -> [4, 1]; 4 params, 1 op]
        [1: ReLU; [4, 3] -> [4, 3]; 0 params, 1 op]
          [0: Linear; [4, 2] -> [4, 3]; 9 params, 1 op]
            x float32[4, 2]
    """
    graph, collapsed = _read("draw_graph", root_or_roots, params, max_nodes, collapse, expand,
                             depth)
    _use_renderer(required=False)  # so Jupyter's display can render, if a renderer exists
    options = dict(show_values=show_values, show_grads=show_grads, show_shapes=show_shapes,
                   rankdir=rankdir)
    if collapsed is not None:
        return _collapsed_digraph(collapsed, **options)
    return to_digraph(graph, **options)


def graph_text(root, params=None, *, collapse: str = "auto", expand=(),
               depth: int | None = None, max_nodes: int | None = 500) -> str:
    """The graph as an indented text tree, output first (works without Graphviz). ``collapse``,
    ``expand`` and ``depth`` as for ``draw_graph``; beyond ``max_nodes`` ops a graph made
    without modules is still written op by op."""
    graph, collapsed = _read("graph_text", root, params, max_nodes, collapse, expand, depth,
                             refuse=False)
    if collapsed is not None:
        return _collapsed_text(collapsed)
    producer = {op.output: (node, op) for node, op in graph.ops.items()}
    lines, seen = [], set()
    stack = [(next(iter(graph.tensors)), 0)]
    while stack:
        key, depth = stack.pop()
        info = graph.tensors[key]
        shape = f"{info.value.dtype}{list(info.value.shape)}" if info.value is not None else ""
        made = producer.get(key)
        text = f"{'  ' * depth}{info.label} {shape}"
        if made is not None:
            node, op = made
            text += f" = {op.name}({op.attrs})" if op.attrs else f" = {op.name}"
            if key in seen:
                text += "  (see above)"
            else:
                seen.add(key)
                stack.extend((k, depth + 1) for k in reversed(op.inputs))
        lines.append(text)
    return "\n".join(lines)


def tensor_mimebundle(t: Tensor, max_ops: int = 60) -> dict:
    """What Jupyter shows for a Tensor: its repr, and its graph when small and renderable."""
    bundle = {"text/plain": repr(t)}
    if t.grad_fn is not None and find_dot() is not None:
        try:
            graph = draw_graph(t, max_nodes=max_ops, collapse="none")  # a repr stays quick
        except ValueError:
            return bundle
        bundle["image/svg+xml"] = graph.pipe(format="svg").decode("utf-8")
    return bundle


# ---- backpropagation, step by step --------------------------------------------------------------


@dataclass
class BackwardStep:
    """One step of backward: the op whose vector-Jacobian product ran, what it received and what
    it sent to each input, and every tensor's gradient accumulated so far."""

    index: int
    op: str
    where: str
    derivative: str | None
    output: str
    upstream: np.ndarray
    sent: dict  # input label -> gradient sent to it by this step
    grads: dict  # tensor label -> gradient accumulated so far (after this step)
    node: object = None
    sent_by_key: dict = field(default_factory=dict)
    grads_by_key: dict = field(default_factory=dict)

    def describe(self) -> str:
        lines = [f"step {self.index}: backward of '{self.op}'"
                 + (f" (created at {self.where})" if self.where else ""),
                 f"  received d(loss)/d({self.output}) = {_summary(self.upstream)}"]
        if self.derivative:
            lines.append(f"  local derivative: {self.derivative}")
        lines += [f"  sends d(loss)/d({name}) += {_summary(g)}" for name, g in self.sent.items()]
        return "\n".join(lines)


class BackwardTrace(list):
    """The steps of one backward pass (a list of ``BackwardStep``), with ways to show them."""

    def __init__(self, steps, graph):
        super().__init__(steps)
        self.graph = graph

    def __str__(self):
        return "\n".join(step.describe() for step in self)

    def digraph(self, i: int | None = None, **options):
        """The graph as it stands after step ``i``: that op highlighted, the gradients it sent
        on its input edges, every tensor's gradient so far in its box. Without ``i``: the whole
        graph after backward, every tensor (intermediates too) with its gradient."""
        if i is None:
            return to_digraph(self.graph, grads=self[-1].grads_by_key if self else None,
                              **options)
        step = self[i]
        return to_digraph(self.graph, active=step.node, grads=step.grads_by_key,
                          sent=step.sent_by_key, **options)

    def render_frames(self, directory, format: str = "png") -> list[Path]:
        """Write one image per step (``step_000.png``, ...) into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        return [render(self.digraph(i), directory / f"step_{i:03d}.{format}", format)
                for i in range(len(self))]

    def to_html(self, path, title: str = "Backpropagation, step by step") -> Path:
        """One self-contained HTML page: a slider over the steps, each an SVG of the graph and
        a description of what that step computed."""
        _use_renderer()
        frames = []
        for i, step in enumerate(self):
            svg = self.digraph(i).pipe(format="svg").decode("utf-8")
            svg = svg[svg.find("<svg"):]  # drop the XML prolog: the SVG is inlined
            frames.append(f'<div class="frame" id="f{i}"{"" if i == 0 else " hidden"}>'
                          f"<pre>{html.escape(step.describe())}</pre>{svg}</div>")
        page = _HTML.format(title=html.escape(title), last=max(len(self) - 1, 0),
                            frames="\n".join(frames))
        path = Path(path)
        atomic_write(path, page)
        return path


_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:1em}} pre{{background:#f8f9fa;padding:.5em}}
svg{{max-width:100%;height:auto}}</style></head>
<body><h1>{title}</h1>
<p><input type="range" id="slider" min="0" max="{last}" value="0" style="width:60%"
aria-label="backward step" autofocus> step <span id="n">0</span> / {last}</p>
{frames}
<script>
const slider = document.getElementById("slider");
function show() {{
  document.querySelectorAll(".frame").forEach(f => f.hidden = f.id !== "f" + slider.value);
  document.getElementById("n").textContent = slider.value;
}}
slider.addEventListener("input", show);
// coming Back to the page, the browser puts the slider where it was after this script ran:
// show that step, not step 0
window.addEventListener("pageshow", show);
</script></body></html>
"""


def backward_steps(loss: Tensor, gradient=None, params=None) -> BackwardTrace:
    """Run ``loss.backward(gradient)`` — a real one: afterwards ``.grad`` holds exactly what
    ``backward()`` leaves — and return its steps, in the order the engine ran them. ``params``
    names the parameters, as for ``draw_graph``.

    >>> _ = ag.manual_seed(0)
    >>> model = ag.nn.Linear(2, 1)
    >>> loss = (model(ag.tensor([[1.0, 2.0]])) ** 2).sum()
    >>> steps = backward_steps(loss, params=model)
    >>> [step.op for step in steps]
    ['sum', 'pow', 'linear']
    >>> print(steps[-1].describe())  # doctest: +ELLIPSIS
    step 2: backward of 'linear' (created at ...)
      received d(loss)/d(linear 2) = [[-2.213]]
      local derivative: d/dweight = g^T x, d/dbias = 1
      sends d(loss)/d(weight) += [[-2.213, -4.426]]
      sends d(loss)/d(bias) += [-2.213]
    >>> model.weight.grad            # exactly what loss.backward() leaves
    tensor([[-2.2132, -4.4264]])
    >>> steps.to_html("backprop.html")     # or steps.render_frames("frames/")
    PosixPath('backprop.html')
    """
    params = _named_params(params, "backward_steps")
    graph = build_graph(loss, params, max_nodes=None)  # read before backward frees the values
    roots, seeds = engine.roots_and_seeds(loss, gradient, False, "backward_steps")
    root_key = loss.grad_fn if loss.grad_fn is not None else loss
    so_far = {root_key: np.array(seeds[0])}
    steps: list[BackwardStep] = []

    def label(key):
        info = graph.tensors.get(key)
        return info.label if info is not None else "?"

    def observe(node, g, results):
        sent: dict[object, np.ndarray] = {}  # input key -> the gradient sent to it
        for key, gi in results:  # an input used twice (x * x) is sent two gradients
            sent[key] = sent[key] + gi if key in sent else np.array(gi)
            so_far[key] = so_far[key] + gi if key in so_far else np.array(gi)
        op = graph.ops.get(node)
        steps.append(BackwardStep(
            index=len(steps), op=node.name, where=op.where if op else "",
            derivative=op.derivative if op else None, output=label(node),
            upstream=np.array(g), sent={label(k): v for k, v in sent.items()},
            grads={label(k): v.copy() for k, v in so_far.items()}, node=node,
            sent_by_key=sent, grads_by_key={k: v.copy() for k, v in so_far.items()}))

    engine.run_backward(roots, seeds, retain_graph=False, create_graph=False, observe=observe)
    for key, info in graph.tensors.items():  # the leaves' final .grad, as backward left it
        if isinstance(key, Tensor) and key.grad is not None:
            info.grad = key.grad.data
    return BackwardTrace(steps, graph)
