"""The reverse-mode engine: graph nodes and the backward walk. Read this file first.

A forward op (see ``ops/registry.py``) that sees an input requiring grad records a ``Node``:
which op ran, the arrays it ran on, its output, and for each input that needs a gradient either
that input's own ``Node`` or, for a leaf, the leaf ``Tensor`` itself. ``backward`` then takes
three steps:

1. ``nodes_in_order``: find the nodes the output depends on (with an explicit stack, never
   recursion), newest first. A node's inputs are always older than it, so in that order every
   node comes after all the nodes that send it a gradient.
2. ``propagate``: run each node's vector-Jacobian product rules on the sum of the gradients it
   received, passing the results on to its inputs.
3. ``deliver``: add what reached the leaves into their ``.grad``.

Grad mode (``grad_mode.py``) and anomaly mode (``anomaly_mode.py``) live in files of their own.
"""

from __future__ import annotations

import itertools
import operator
from typing import TYPE_CHECKING, Any

import numpy as np

from . import anomaly_mode
from .anomaly_mode import PACKAGE_DIR
from .errors import with_message
from .grad_mode import grad_mode

if TYPE_CHECKING:
    from ._tensor import Hook
    from ._tensor import Tensor as _T

# the Tensor class: _tensor.py imports this module, then binds it here
Tensor: type[_T] = None  # type: ignore[assignment]  # bound by bind_tensor_class


def bind_tensor_class(cls: type[_T]) -> None:
    global Tensor
    Tensor = cls


# ---------------------------------------------------------------------------------------------
# Nodes: one per recorded op


class Node:
    """One recorded op application: what ``Tensor.grad_fn`` holds.

    ``inputs`` has one entry per input of the op: where that input's gradient goes (the
    input's own Node, or the leaf Tensor that accumulates it), or None if it needs none.
    ``args``/``out`` are the saved forward arrays the rules read; they are dropped after
    backward unless ``retain_graph``. ``versions`` are the version counters (and their values
    then) of the tensors the rules read, ``code`` and ``offset`` the user's code object and the
    bytecode offset in it that created the op (``source_line`` turns them into a line only when
    asked), ``hooks`` run on its gradient, ``sequence_nr`` orders nodes by creation (as
    PyTorch's). ``module_calls`` is set only on a module call's output node (``nn/calls.py``).
    """

    __slots__ = ("op", "args", "params", "out", "inputs", "versions", "code", "offset", "hooks",
                 "stack", "sequence_nr", "module_calls", "__weakref__")
    hooks: list[Hook] | None
    module_calls: tuple[Any, Any]  # (record, the older pair or None): set only by nn/calls.py

    def __init__(self, op, args, params, out, inputs, versions=(), code=None, offset=0):
        self.sequence_nr = next(_node_count)  # creation order: backward runs newest first
        self.op = op
        self.args = args
        self.params = params
        self.out = out
        self.inputs = inputs
        self.versions = versions
        self.code = code
        self.offset = offset
        self.hooks = None
        self.stack = None

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def source_line(self):
        """(file, line) of the user's code that created this op, or None."""
        if self.code is None:
            return None
        line = next((n for start, end, n in self.code.co_lines() if start <= self.offset < end),
                    None)
        return self.code.co_filename, line

    @property
    def next_functions(self):
        """The Nodes (or leaf Tensors) this node sends gradients to, as in PyTorch."""
        return tuple(dest for dest in self.inputs if dest is not None)

    def __repr__(self):
        return f"<{self.name} backward>"

    def reads_output(self) -> bool:
        """Whether the rules backward will run read the op's output (so its version matters)."""
        return any(self.op.saves_output(i) for i, dest in enumerate(self.inputs)
                   if dest is not None)

    def release(self):
        """Free the saved forward arrays (the graph's memory); the structure stays."""
        self.args = self.out = None

    def check_saved(self):
        """Refuse to run on freed values or on values modified in place since the forward."""
        if self.args is None:
            raise RuntimeError(
                f"Trying to backward through the '{self.name}' node a second time: its saved "
                "values were freed by the first backward(). Pass retain_graph=True to the first "
                "backward() if you need to backward through the graph again. If a tensor kept "
                "across iterations led here (total_loss = total_loss + loss), accumulate "
                "loss.item() instead, or .detach() what you keep.")
        for counter, version, which in self.versions:
            if counter.value != version:
                what = "its output" if which == "output" else f"its input {which}"
                raise RuntimeError(
                    f"a value needed to compute the gradient of '{self.name}' was modified by an "
                    f"in-place operation: {what} is at version {counter.value}, but was at "
                    f"version {version} when '{self.name}' ran. Use an out-of-place op (y = y + "
                    "1 instead of y += 1), or .clone() the value before modifying it.")

    def vjp(self, g, create_graph):
        """Apply the op's rules: a (destination, gradient) pair for each input that needs one,
        the gradient fitted to the input's shape and dtype."""
        if create_graph:
            args, out = self._as_tensors()
        else:
            args, out = self.args, self.out
        run_rule, params = self.op.run_rule, self.params
        result = []
        for i, dest in enumerate(self.inputs):
            if dest is None:
                continue
            gi = run_rule(i, g, out, args, params)
            saved = self.args[i]
            if not create_graph and type(gi) is not np.ndarray:
                gi = np.asarray(gi)  # numpy returns scalars, not 0-d arrays, from 0-d math
            if gi.dtype is not saved.dtype or gi.shape != saved.shape:
                gi = fit_gradient(gi, saved.shape, saved.dtype, self.name, i)
            result.append((dest, gi))
        return result

    def _as_tensors(self):
        """The saved arrays as graph-connected Tensors, so rules build a differentiable graph."""
        args = list(self.args)
        for i, dest in enumerate(self.inputs):
            if dest is not None:
                args[i] = dest if isinstance(dest, Tensor) else Tensor._make(args[i], dest)
        return tuple(args), Tensor._make(self.out, self)


_node_count = itertools.count()
_creation = operator.attrgetter("sequence_nr")


def user_frame(frame):
    """The first frame outside autograd_lite, walking outwards from ``frame``: the user's line.
    Runs for every recorded op, so whether a file is ours is worked out once per file."""
    while True:
        file = frame.f_code.co_filename
        internal = _INTERNAL_FILES.get(file)
        if internal is None:
            internal = _INTERNAL_FILES[file] = file.startswith(PACKAGE_DIR)
        if not internal or frame.f_back is None:
            return frame
        frame = frame.f_back


# file name -> whether it is autograd_lite's own (not the user's)
_INTERNAL_FILES: dict[str, bool] = {}


class Version:
    """How many times a tensor's memory was modified in place; shared by views of one array."""

    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


def version_counter(t) -> Version:
    """The tensor's version counter, made on first use (most tensors are never watched).

    The node that made ``t`` watches it from then on if its rules read their output: until a
    counter exists, ``t`` cannot have been modified in place, so nothing needs watching before.
    """
    counter = t._version
    if counter is None:
        counter = t._version = Version()
        node = t.grad_fn
        if node is not None and node.reads_output():
            node.versions += ((counter, 0, "output"),)
    return counter


def sum_to(g, shape):
    """Sum ``g`` over the axes broadcasting added, so it has ``shape`` (arrays or Tensors)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead == 1 and g.shape[1:] == shape:  # a bias's gradient: the batch summed out
        return g.sum(axis=0)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def fit_gradient(g, shape, dtype, op_name, argnum):
    """Undo broadcasting and cast a rule's result to its input's dtype; a gradient that cannot
    be summed to the input's shape is the rule's bug, refused naming the op (as PyTorch)."""
    gshape = g.shape
    if gshape != shape:
        lead = len(gshape) - len(shape)
        if lead < 0 or any(n != 1 and n != m for n, m in zip(shape, gshape[lead:])):
            raise RuntimeError(
                f"the backward of '{op_name}' returned a gradient of shape {tuple(gshape)} for "
                f"input {argnum}, which cannot be summed to the input's shape {tuple(shape)}")
        g = sum_to(g, shape)
    if g.dtype != dtype:
        g = g.astype(dtype)
    return g


# ---------------------------------------------------------------------------------------------
# The backward walk: three steps


def run_backward(roots, seeds, *, retain_graph, create_graph, capture=None, observe=None):
    """Propagate ``seeds`` (one gradient per root) back through the graph.

    Without ``capture``, gradients accumulate into the ``.grad`` of the leaves reached. With
    ``capture`` (a dict mapping Nodes or leaf Tensors to None), the gradients reaching those keys
    are stored into it instead and no ``.grad`` changes: that is ``autograd_lite.grad``.
    ``observe(node, g, results)`` is told each step (the visualiser replays backward with it).
    """
    order = nodes_in_order(roots)
    previous, grad_mode.enabled = grad_mode.enabled, create_graph  # rules record only then
    try:
        leaf_grads, fresh = propagate(order, roots, seeds, retain_graph=retain_graph,
                                      create_graph=create_graph, capture=capture, observe=observe)
        deliver(leaf_grads, fresh, create_graph=create_graph, capture=capture)
    finally:
        grad_mode.enabled = previous


def nodes_in_order(roots) -> list:
    """Step 1: the nodes the roots depend on, newest first. A freed node or a value modified in
    place since the forward is refused here, before any gradient is computed."""
    order, stack, seen = [], [], set()
    for r in roots:
        dest = _destination(r)
        if dest not in seen:
            seen.add(dest)
            stack.append(dest)
    while stack:
        node = stack.pop()
        if not isinstance(node, Node):
            continue  # a leaf
        order.append(node)
        if node.args is None:
            _refuse(node)
        for counter, version, _ in node.versions:
            if counter.value != version:
                _refuse(node)
        for dest in node.inputs:
            if dest is not None and dest not in seen:
                seen.add(dest)
                stack.append(dest)
    order.sort(key=_creation, reverse=True)  # a chain is found in this order already
    return order


def propagate(order, roots, seeds, *, retain_graph, create_graph, capture, observe):
    """Step 2: run each node's rules on the sum of the gradients sent to it. Returns the
    gradients that reached the leaves, and the set of leaves whose gradient is an array made
    by a rule and shared with nothing else (it may become ``.grad`` without a copy)."""
    grads: dict[Any, Any] = {}
    for r, s in zip(roots, seeds):
        _add_gradient(grads, _destination(r), s, create_graph)
    fresh = set()
    anomaly = anomaly_mode.enabled
    for node in order:
        g = grads.pop(node)
        if node.hooks:
            g = _run_hooks(node.hooks, g)
        if capture is not None and node in capture:
            capture[node] = g
        try:
            results = node.vjp(g, create_graph)
            if anomaly:
                anomaly_mode.check_backward(node, results)
        except (ValueError, TypeError, RuntimeError, FloatingPointError) as e:
            raise _with_origin(e, node) from e
        if observe is not None:
            observe(node, g, results)
        for dest, gi in results:  # _add_gradient, spelled out: this runs once per edge
            if dest in grads:
                gi = grads[dest] + gi
                if not create_graph and type(gi) is not np.ndarray:
                    gi = np.asarray(gi)  # 0-d + 0-d gives a numpy scalar
            grads[dest] = gi
            if not create_graph and not isinstance(dest, Node) and gi.flags.writeable \
                    and not np.may_share_memory(gi, g):
                fresh.add(dest)
        if not retain_graph:
            node.release()
    return grads, fresh


def deliver(leaf_grads, fresh, *, create_graph, capture):
    """Step 3: run each leaf's hooks on its gradient, then add it into ``.grad`` and run its
    post-accumulate-grad hooks (or, for ``grad()``, store it in ``capture``)."""
    for leaf, g in leaf_grads.items():
        hooks = getattr(leaf, "_hooks", None)
        if hooks:
            g = _run_hooks(hooks, g)
            fresh.discard(leaf)  # the hook may have returned the caller's own tensor
        if capture is None:
            _accumulate(leaf, g, create_graph, leaf in fresh)
            if hooks is not None:  # registering a post-accumulate hook sets _hooks too
                _run_post_accumulate_hooks(leaf)
        elif leaf in capture:
            capture[leaf] = g


def _run_post_accumulate_hooks(leaf):
    """Call each hook registered with ``register_post_accumulate_grad_hook`` on ``leaf``."""
    for hook in list(getattr(leaf, "_post_accumulate_grad_hooks", None) or ()):
        hook(leaf)


def _destination(t):
    """Where a gradient for ``t`` goes: the node that made it, or the leaf itself."""
    return t if t.grad_fn is None else t.grad_fn


def _add_gradient(grads, dest, g, create_graph):
    """Add ``g`` into what ``dest`` has received so far."""
    if dest in grads:
        g = grads[dest] + g
        if not create_graph and type(g) is not np.ndarray:
            g = np.asarray(g)  # 0-d + 0-d gives a numpy scalar
    grads[dest] = g


def _refuse(node):
    """Raise check_saved's error, saying where the node was created."""
    try:
        node.check_saved()
    except RuntimeError as e:
        raise _with_origin(e, node) from None


def _run_hooks(hooks, g):
    """Call each hook on the gradient (as a Tensor); a hook that returns a value replaces it,
    and must keep its shape and dtype (as in PyTorch)."""
    raw = not isinstance(g, Tensor)
    current = Tensor._make(g, None) if raw else g
    for hook in list(hooks):
        new = hook(current)
        if new is not None:
            new = new if isinstance(new, Tensor) else Tensor(np.asarray(new))
            if new.shape != current.shape or new.dtype != current.dtype:
                raise ValueError(f"hook {getattr(hook, '__name__', hook)!s} returned a gradient "
                                 f"of shape {new.shape} and dtype {new.dtype}, expected "
                                 f"{current.shape} and {current.dtype}")
            current = new
    return current.data if raw else current


def _with_origin(e, node):
    """The same error, saying which forward line created the op whose backward failed."""
    if node.code is None or "was created at" in str(e):
        return e
    file, line = node.source_line
    return with_message(e, f"{e}\n  (the '{node.name}' op whose backward failed was created at "
                           f"{file}:{line})")


def _accumulate(leaf, g, create_graph, fresh=False):
    """Add `g` into `leaf.grad`: in place into a buffer we own, out of place under create_graph.
    A ``fresh`` gradient (made by a rule, shared with nothing) becomes ``.grad`` without a copy.
    ``g`` has the leaf's shape and dtype already (the rules' results are fitted, hooks checked),
    so ``_grad`` is set without the checks of the ``grad`` setter."""
    if create_graph:
        if not isinstance(g, Tensor):
            g = Tensor._make(g, None)
        elif g.grad_fn is None or not g.data.flags.writeable:  # maybe the caller's: copy
            g = Tensor._make(np.array(g.data), g.grad_fn)
        leaf._grad = g if leaf._grad is None else leaf._grad + g
    elif leaf._grad is None:
        # a copy unless fresh: g may be shared with another input's gradient (add passes g on)
        leaf._grad = Tensor._make(g if fresh else np.array(g), None)
    else:
        buf = leaf._grad.data
        if buf.flags.writeable and buf.shape == g.shape and leaf._grad.grad_fn is None:
            buf += g
        else:
            leaf._grad = Tensor._make(buf + g, None)


# ---------------------------------------------------------------------------------------------
# Public entry points
def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they depend on.

    ``grad_tensors`` gives d(loss)/d(tensor) for each tensor; it may be omitted for tensors with
    one element. ``retain_graph`` defaults to ``create_graph``.
    """
    roots, seeds = roots_and_seeds(tensors, grad_tensors, create_graph, "backward")
    run_backward(roots, seeds, create_graph=create_graph,
                 retain_graph=create_graph if retain_graph is None else retain_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Return d(outputs)/d(inputs) as a tuple of Tensors, without touching any ``.grad``.

    >>> x = ag.tensor(3.0, requires_grad=True)
    >>> (dx,) = grad(x ** 3, x, create_graph=True)     # 3x^2 = 27
    >>> (ddx,) = grad(dx, x)                           # 6x = 18
    >>> dx, ddx, x.grad
    (tensor(27., grad_fn=<mul>), tensor(18.), None)
    """
    if not isinstance(inputs, (Tensor, list, tuple)):
        raise TypeError(f"grad(): inputs must be a Tensor or a sequence of Tensors, got "
                        f"{type(inputs).__name__}")
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    keys = []
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise ValueError(f"grad(): input {i} is not a Tensor that requires grad")
        keys.append(t.grad_fn if t.grad_fn is not None else t)
    roots, seeds = roots_and_seeds(outputs, grad_outputs, create_graph, "grad")
    capture = dict.fromkeys(keys)
    run_backward(roots, seeds, create_graph=create_graph, capture=capture,
                 retain_graph=create_graph if retain_graph is None else retain_graph)
    result = []
    for i, (t, key) in enumerate(zip(inputs, keys)):
        g = capture[key]
        if g is None and not allow_unused:
            raise ValueError(f"grad(): input {i} (shape {t.shape}) was not used to compute the "
                             "outputs; pass allow_unused=True to get None for it")
        result.append(g if g is None or isinstance(g, Tensor) else Tensor._make(g, None))
    return tuple(result)


def _as_gradient(g, caller, i):
    """A gradient given as an array, number or nested list, refused clearly if it is none."""
    try:
        arr = np.asarray(g)
    except ValueError as e:
        raise ValueError(f"{caller}(): the gradient for output {i} is not an array "
                         f"({e})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{caller}(): the gradient for output {i} has unsupported dtype "
                        f"{arr.dtype}")
    return arr


def roots_and_seeds(outputs, grads, create_graph, caller):
    """Check the outputs and build the gradient each backward starts from."""
    single = isinstance(outputs, Tensor)
    if not single and not isinstance(outputs, (list, tuple)):
        raise TypeError(f"{caller}(): outputs must be a Tensor or a sequence of Tensors, got "
                        f"{type(outputs).__name__}")
    outputs = (outputs,) if single else tuple(outputs)
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{caller}(): output {i} is a {type(t).__name__}, not a Tensor")
    if grads is None:
        grads = (None,) * len(outputs)
    elif single or isinstance(grads, (Tensor, np.ndarray)):
        grads = (grads,)
    if len(grads) != len(outputs):
        raise ValueError(f"{caller}(): got {len(outputs)} outputs but {len(grads)} gradients")
    seeds = []
    for i, (t, g) in enumerate(zip(outputs, grads)):
        if not t.requires_grad:
            raise RuntimeError(
                f"{caller}(): output {i} does not require grad: no input it was computed from "
                "has requires_grad=True, or it was computed under no_grad()")
        if g is None:
            if t.numel() != 1:
                raise RuntimeError(
                    f"{caller}(): output {i} has shape {t.shape}; a gradient can be implied only "
                    "for one-element outputs, so pass one of the same shape (e.g. "
                    "y.backward(gradient=ag.ones_like(y)))")
            g = np.ones(t.shape, t.dtype)
        else:
            gd = g.data if isinstance(g, Tensor) else _as_gradient(g, caller, i)
            if gd.shape != t.shape:
                raise ValueError(f"{caller}(): gradient for output {i} has shape {gd.shape}, "
                                 f"but the output has shape {t.shape}")
            if gd.dtype != t.dtype:
                gd = gd.astype(t.dtype)
            if not (create_graph and isinstance(g, Tensor) and gd is g.data):
                g = gd
        if create_graph and not isinstance(g, Tensor):
            g = Tensor._make(g, None)
        seeds.append(g)
    return outputs, seeds
