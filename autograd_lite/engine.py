"""The reverse-mode engine: graph nodes, grad mode, and the backward walk.

Read this file first. A forward op (see ``ops/registry.py``) that sees an input requiring grad
records a ``Node``: which op ran, the arrays it ran on, its output, and for each input that needs
a gradient either that input's own ``Node`` or, for a leaf, the leaf ``Tensor`` itself.
``backward`` walks those nodes from the output back to the leaves, in an order where every node
runs only after all its consumers have sent it their gradient (a topological order, found with
an explicit stack, never recursion), and applies each op's vector-Jacobian product rule.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

# ---------------------------------------------------------------------------------------------
# Grad mode: thread-local, as in PyTorch.

_mode = threading.local()


def is_grad_enabled() -> bool:
    """True when ops record a graph (the default); False inside ``no_grad()``."""
    return getattr(_mode, "enabled", True)


class _GradMode(contextlib.ContextDecorator):
    """Base of the grad-mode context managers: each `with` or decorated call saves and restores."""

    mode = True

    def __enter__(self):
        self.prev = is_grad_enabled()
        _mode.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _mode.enabled = self.prev
        return False

    def _recreate_cm(self):  # a fresh object per decorated call: re-entrant and thread-safe
        fresh = _GradMode()
        fresh.mode = self.mode
        return fresh


class no_grad(_GradMode):
    """Context manager / decorator: ops inside record no graph (evaluation, parameter updates).

    Works as ``with no_grad():``, ``@no_grad()`` and ``@no_grad``.
    """

    mode = False

    def __new__(cls, fn=None):
        self = super().__new__(cls)
        return self(fn) if callable(fn) else self

    def __init__(self, fn=None):
        pass


class enable_grad(no_grad):
    """Context manager / decorator: record a graph again inside a ``no_grad`` region."""

    mode = True


class set_grad_enabled(_GradMode):
    """Turn graph recording on or off: at once when called, or for a ``with`` block.

    >>> with set_grad_enabled(False):
    ...     y = x * 2          # y.requires_grad is False
    """

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self.prev = is_grad_enabled()
        _mode.enabled = self.mode  # takes effect at once, as torch.set_grad_enabled does

    def __enter__(self):
        return self  # __init__ already switched; __exit__ restores what was there before

    def __call__(self, fn):
        _mode.enabled = self.prev  # used as a decorator: creating it must not flip the mode
        return super().__call__(fn)


# ---------------------------------------------------------------------------------------------
# Nodes


class Node:
    """One recorded op application: what ``Tensor.grad_fn`` holds.

    ``inputs`` pairs each input position that needs a gradient with where that gradient goes:
    the input's own Node, or the leaf Tensor that accumulates it. ``args``/``out`` are the saved
    forward arrays the rules read; they are dropped after backward unless ``retain_graph``.
    """

    __slots__ = ("op", "args", "params", "out", "inputs", "__weakref__")

    def __init__(self, op, args, params, out, inputs):
        self.op = op
        self.args = args
        self.params = params
        self.out = out
        self.inputs = inputs

    @property
    def name(self) -> str:
        return self.op.name

    @property
    def next_functions(self):
        """The Nodes (or leaf Tensors) this node sends gradients to, as in PyTorch."""
        return tuple(dest for _, dest in self.inputs)

    def __repr__(self):
        return f"<{self.op.name} backward>"

    def release(self):
        """Free the saved forward arrays (the graph's memory); the structure stays."""
        self.args = self.out = None

    def vjp(self, g, create_graph):
        """Apply the op's rules: a (destination, gradient) pair for each input that needs one."""
        args, out = self.args, self.out
        if args is None:
            raise self.freed_error()
        if create_graph:
            args, out = self._as_tensors()
        op = self.op
        params = self.params or _NO_PARAMS
        result = []
        for i, dest in self.inputs:
            if op.variadic:
                gi = op.vjps[0](g, out, *args, argnum=i, **params)
            else:
                gi = op.vjps[i](g, out, *args, **params)
            saved = self.args[i]
            if gi.shape != saved.shape or gi.dtype != saved.dtype:
                gi = _fit(gi, saved.shape, saved.dtype, op.name, i)
            result.append((dest, gi))
        return result

    def freed_error(self):
        return RuntimeError(
            f"Trying to backward through the '{self.op.name}' node a second time: its saved "
            "values were freed by the first backward(). Pass retain_graph=True to the first "
            "backward() if you need to backward through the graph again.")

    def _as_tensors(self):
        """The saved arrays as graph-connected Tensors, so rules build a differentiable graph."""
        from .tensor import Tensor

        args = list(self.args)
        for i, dest in self.inputs:
            args[i] = dest if isinstance(dest, Tensor) else Tensor._make(args[i], dest)
        return tuple(args), Tensor._make(self.out, self)


_NO_PARAMS = {}


def sum_to(g, shape):
    """Sum ``g`` over the axes broadcasting added, so it has ``shape`` (arrays or Tensors)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def _fit(g, shape, dtype, op_name, argnum):
    """Undo broadcasting and check a rule's result, naming the op if it cannot be undone."""
    gshape = g.shape
    if gshape != shape:
        lead = len(gshape) - len(shape)
        if lead < 0 or any(n != 1 and n != m for n, m in zip(shape, gshape[lead:])):
            raise ValueError(
                f"vjp of '{op_name}' for input {argnum} returned a gradient of shape "
                f"{tuple(gshape)}, which cannot be summed to the input's shape {tuple(shape)}")
        g = sum_to(g, shape)
    if g.dtype != dtype:
        g = g.astype(dtype)
    return g


# ---------------------------------------------------------------------------------------------
# The backward walk


def run_backward(roots, seeds, *, retain_graph, create_graph, capture=None):
    """Propagate ``seeds`` (one gradient per root) back through the graph.

    Without ``capture``, gradients accumulate into the ``.grad`` of the leaves reached. With
    ``capture`` (a dict mapping Nodes or leaf Tensors to None), the gradients reaching those keys
    are stored into it instead and no ``.grad`` changes: that is ``autograd_lite.grad``.
    """
    from .tensor import Tensor

    # 1. Count how many gradients each node will receive, so it runs only when all have arrived.
    #    Any freed node raises here, before any .grad has changed.
    pending = {}
    stack = []
    for r in roots:
        dest = r.grad_fn if r.grad_fn is not None else r
        if dest not in pending:
            pending[dest] = 0
            stack.append(dest)
    while stack:
        node = stack.pop()
        if type(node) is not Node:
            continue
        if node.args is None:
            raise node.freed_error()
        for _, dest in node.inputs:
            if dest in pending:
                pending[dest] += 1
            else:
                pending[dest] = 1
                stack.append(dest)

    # 2. Walk: start from the roots no other root feeds into.
    grads = {}
    for r, s in zip(roots, seeds):
        dest = r.grad_fn if r.grad_fn is not None else r
        grads[dest] = grads[dest] + s if dest in grads else s
    ready = [dest for dest in grads if pending[dest] == 0]

    with set_grad_enabled(create_graph):
        while ready:
            dest = ready.pop()
            g = grads.pop(dest)
            if capture is not None and dest in capture:
                capture[dest] = g
            if type(dest) is not Node:
                if capture is None:
                    _accumulate(dest, g, create_graph, Tensor)
                continue
            for src, gi in dest.vjp(g, create_graph):
                if src in grads:
                    grads[src] = grads[src] + gi
                else:
                    grads[src] = gi
                pending[src] -= 1
                if pending[src] == 0:
                    ready.append(src)
            if not retain_graph:
                dest.release()


def _accumulate(leaf, g, create_graph, Tensor):
    """Add `g` into `leaf.grad`: in place into a buffer we own, out of place under create_graph."""
    if create_graph:
        if not isinstance(g, Tensor):
            g = Tensor._make(g, None)
        elif not g.data.flags.writeable:  # e.g. a broadcast view: give .grad its own memory
            g = Tensor._make(np.array(g.data), g.grad_fn)
        leaf.grad = g if leaf.grad is None else leaf.grad + g
    elif leaf.grad is None:
        leaf.grad = Tensor._make(g.copy(), None)  # g may be shared with other inputs' gradients
    else:
        gd = g.data if isinstance(g, Tensor) else g
        buf = leaf.grad.data
        if buf.flags.writeable and buf.shape == gd.shape:
            buf += gd
        else:
            leaf.grad = Tensor._make(buf + gd, None)


# ---------------------------------------------------------------------------------------------
# Public entry points


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they depend on.

    ``grad_tensors`` gives d(loss)/d(tensor) for each tensor; it may be omitted for tensors with
    one element. ``retain_graph`` defaults to ``create_graph``.
    """
    roots, seeds = _roots_and_seeds(tensors, grad_tensors, create_graph, "backward")
    run_backward(roots, seeds, create_graph=create_graph,
                 retain_graph=create_graph if retain_graph is None else retain_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Return d(outputs)/d(inputs) as a tuple of Tensors, without touching any ``.grad``.

    >>> x = tensor(3.0, requires_grad=True)
    >>> (dx,) = grad(x ** 3, x, create_graph=True)     # 3x^2 = 27
    >>> (ddx,) = grad(dx, x)                           # 6x = 18
    """
    from .tensor import Tensor

    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    keys = []
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise ValueError(f"grad(): input {i} is not a Tensor that requires grad")
        keys.append(t.grad_fn if t.grad_fn is not None else t)
    roots, seeds = _roots_and_seeds(outputs, grad_outputs, create_graph, "grad")
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


def _roots_and_seeds(outputs, grads, create_graph, caller):
    """Check the outputs and build the gradient each backward starts from."""
    from .tensor import Tensor

    single = isinstance(outputs, Tensor)
    outputs = (outputs,) if single else tuple(outputs)
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
            if t.size != 1:
                raise RuntimeError(
                    f"{caller}(): output {i} has shape {t.shape}; a gradient can be implied only "
                    "for one-element outputs, so pass one of the same shape (e.g. "
                    "y.backward(gradient=ag.ones_like(y)))")
            g = np.ones_like(t.data)
        else:
            gd = g.data if isinstance(g, Tensor) else np.asarray(g, dtype=t.dtype)
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
