"""The reverse-mode engine: graph nodes, grad mode, and the backward walk.

Read this file first. A forward op (see ``ops/registry.py``) that sees an input requiring grad
records a ``Node``: which op ran, the arrays it ran on, its output, and for each input that needs
a gradient either that input's own ``Node`` or, for a leaf, the leaf ``Tensor`` itself.
``backward`` finds the nodes the output depends on (with an explicit stack, never recursion) and
runs them newest first: a node's inputs are always older than it, so every node runs only after
all its consumers have sent it their gradient. Each applies its op's vector-Jacobian product
rules; what reaches the leaves is added into their ``.grad``.
"""

from __future__ import annotations

import contextlib
import itertools
import operator
import os
import threading
import traceback

import numpy as np

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep  # frames here are not the user's
Tensor = None  # the Tensor class: tensor.py imports this module, then binds it here


def bind_tensor_class(cls):
    global Tensor
    Tensor = cls

# ---------------------------------------------------------------------------------------------
# Grad mode: thread-local, as in PyTorch.

class _GradModeState(threading.local):
    enabled = True  # each thread starts with grad enabled


grad_mode = _GradModeState()


def is_grad_enabled() -> bool:
    """True when ops record a graph (the default); False inside ``no_grad()``."""
    return grad_mode.enabled


class _GradMode(contextlib.ContextDecorator):
    """Base of the grad-mode context managers: each `with` or decorated call saves and restores."""

    mode = True

    def __enter__(self):
        self.prev = is_grad_enabled()
        grad_mode.enabled = self.mode
        return self

    def __exit__(self, *exc):
        grad_mode.enabled = self.prev
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
        if fn is not None and not callable(fn):
            raise TypeError(f"{cls.__name__}() takes a function to decorate or nothing, got "
                            f"{type(fn).__name__}")
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
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled(mode): mode must be a bool, got "
                            f"{type(mode).__name__}")
        self.mode = bool(mode)
        self.prev = is_grad_enabled()
        grad_mode.enabled = self.mode  # takes effect at once, as torch.set_grad_enabled does

    def __enter__(self):
        return self  # __init__ already switched; __exit__ restores what was there before

    def __call__(self, fn):
        grad_mode.enabled = self.prev  # used as a decorator: creating it must not flip the mode
        return super().__call__(fn)


_INTERNAL_FILES = {}  # file name -> whether it is autograd_lite's own (not the user's)


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


# ---------------------------------------------------------------------------------------------
# Anomaly mode: off by default; when off it costs one flag test per op.

anomaly_enabled = False


class detect_anomaly(contextlib.ContextDecorator):
    """Inside, the first NaN or Inf made by an op's forward or backward raises an error naming
    the op and the traceback of the line that created it (slow: every op records its stack).

    >>> with detect_anomaly():
    ...     loss.backward()
    """

    def __enter__(self):
        global anomaly_enabled
        self.prev, anomaly_enabled = anomaly_enabled, True
        return self

    def __exit__(self, *exc):
        global anomaly_enabled
        anomaly_enabled = self.prev
        return False


def _not_finite(a):
    return a.dtype.kind == "f" and not np.isfinite(a).all()


def check_forward(name, arrays, out):
    """Anomaly mode: refuse a NaN/Inf output made from finite inputs."""
    if _not_finite(out) and not any(isinstance(a, np.ndarray) and _not_finite(a) for a in arrays):
        frames = [f for f in traceback.extract_stack() if not f.filename.startswith(PACKAGE_DIR)]
        stack = "".join(traceback.format_list(frames))
        raise RuntimeError(f"anomaly: '{name}' produced NaN or Inf in its forward output from "
                           f"finite inputs. The op was created at (most recent call last):\n"
                           f"{stack}")


def check_backward(node, results):
    """Anomaly mode: refuse a NaN/Inf gradient, naming the op and where it was created."""
    needing = [i for i, dest in enumerate(node.inputs) if dest is not None]
    for i, (_, gi) in zip(needing, results):
        if _not_finite(gi if isinstance(gi, np.ndarray) else gi.data):
            file, line = node.source_line or ("?", "?")
            origin = node.stack or f'  File "{file}", line {line}\n'
            raise RuntimeError(f"anomaly: the backward of '{node.name}' produced NaN or Inf in "
                               f"the gradient of its input {i}. The op was created at (most "
                               f"recent call last):\n{origin}")


# ---------------------------------------------------------------------------------------------
# Nodes


class Node:
    """One recorded op application: what ``Tensor.grad_fn`` holds.

    ``inputs`` has one entry per input of the op: where that input's gradient goes (the
    input's own Node, or the leaf Tensor that accumulates it), or None if it needs none.
    ``args``/``out`` are the saved forward arrays the rules read; they are dropped after
    backward unless ``retain_graph``. ``versions`` are the version counters (and their values
    then) of the tensors the rules read, ``code`` and ``offset`` the user's code object and the
    bytecode offset in it that created the op (``source_line`` turns them into a line only when
    asked), ``hooks`` run on its gradient, ``sequence_nr`` orders nodes by creation (as
    PyTorch's).
    """

    __slots__ = ("op", "args", "params", "out", "inputs", "versions", "code", "offset", "hooks",
                 "stack", "sequence_nr", "__weakref__")

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
        reads, variadic = self.op.reads, self.op.variadic
        return any(reads[0 if variadic else i][0]
                   for i, dest in enumerate(self.inputs) if dest is not None)

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
        """Apply the op's rules: a (destination, gradient) pair for each input that needs one."""
        if create_graph:
            args, out = self._as_tensors()
        else:
            args, out = self.args, self.out
        op = self.op
        rules = op.vjps
        params = self.params
        n = len(args)
        result = []
        for i, dest in enumerate(self.inputs):
            if dest is None:
                continue
            if op.variadic:
                gi = rules[0](g, out, *args, argnum=i, **params or _NO_PARAMS)
            elif params:
                gi = rules[i](g, out, *args, **params)
            elif n == 1:  # spelled out: a call with *args costs twice as much as a plain one
                gi = rules[i](g, out, args[0])
            elif n == 2:
                gi = rules[i](g, out, args[0], args[1])
            else:
                gi = rules[i](g, out, *args)
            if create_graph:
                gi = _fit(gi, self.args[i].shape, self.args[i].dtype, op.name, i)
            else:
                if type(gi) is not np.ndarray:
                    gi = np.asarray(gi)  # numpy returns scalars, not 0-d arrays, from 0-d math
                saved = args[i]
                if gi.dtype is not saved.dtype or gi.shape != saved.shape:
                    gi = _fit(gi, saved.shape, saved.dtype, op.name, i)
            result.append((dest, gi))
        return result

    def _as_tensors(self):
        """The saved arrays as graph-connected Tensors, so rules build a differentiable graph."""
        args = list(self.args)
        for i, dest in enumerate(self.inputs):
            if dest is not None:
                args[i] = dest if isinstance(dest, Tensor) else Tensor._make(args[i], dest)
        return tuple(args), Tensor._make(self.out, self)


_NO_PARAMS = {}
_node_count = itertools.count()
_creation = operator.attrgetter("sequence_nr")


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


def run_backward(roots, seeds, *, retain_graph, create_graph, capture=None, observe=None):
    """Propagate ``seeds`` (one gradient per root) back through the graph.

    Without ``capture``, gradients accumulate into the ``.grad`` of the leaves reached. With
    ``capture`` (a dict mapping Nodes or leaf Tensors to None), the gradients reaching those keys
    are stored into it instead and no ``.grad`` changes: that is ``autograd_lite.grad``.
    ``observe(node, g, results)`` is told each step (the visualiser replays backward with it).
    """
    # 1. Find the nodes the roots depend on. A node's inputs were all made before it, so running
    #    them newest first runs each one after every node it sends a gradient to. A freed node or
    #    a value modified in place raises here, before any .grad has changed.
    order = []
    stack = []
    seen = set()
    for r in roots:
        dest = r.grad_fn if r.grad_fn is not None else r
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

    # 2. Run each node's rules on the sum of the gradients it received, then hand what is left
    #    (the leaves' gradients) to the leaves.
    grads = {}
    for r, s in zip(roots, seeds):
        dest = r.grad_fn if r.grad_fn is not None else r
        grads[dest] = np.asarray(grads[dest] + s) if dest in grads and not create_graph else (
            grads[dest] + s if dest in grads else s)
    anomaly = anomaly_enabled
    fresh = set()  # leaves whose gradient is a new array that nothing else refers to

    previous, grad_mode.enabled = grad_mode.enabled, create_graph  # rules record only then
    try:
        for node in order:
            g = grads.pop(node)
            if node.hooks:
                g = _run_hooks(node.hooks, g)
            if capture is not None and node in capture:
                capture[node] = g
            try:
                results = node.vjp(g, create_graph)
                if anomaly:
                    check_backward(node, results)
            except (ValueError, TypeError, RuntimeError, FloatingPointError) as e:
                raise _with_origin(e, node) from e
            if observe is not None:
                observe(node, g, results)
            for src, gi in results:
                if src in grads:
                    gi = grads[src] + gi
                    if not create_graph and type(gi) is not np.ndarray:
                        gi = np.asarray(gi)  # 0-d + 0-d gives a numpy scalar
                grads[src] = gi
                if not create_graph and not isinstance(src, Node) and gi.flags.writeable \
                        and not np.may_share_memory(gi, g):
                    fresh.add(src)  # a leaf's gradient no other array shares: no copy needed
            if not retain_graph:
                node.release()
        for leaf, g in grads.items():
            hooks = getattr(leaf, "_hooks", None)
            if hooks:
                g = _run_hooks(hooks, g)
                fresh.discard(leaf)
            if capture is None:
                _accumulate(leaf, g, create_graph, leaf in fresh)
            elif leaf in capture:
                capture[leaf] = g
    finally:
        grad_mode.enabled = previous


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
    text = f"{e}\n  (the '{node.name}' op whose backward failed was created at {file}:{line})"
    try:
        return type(e)(text)
    except TypeError:  # an exception type with another constructor
        return RuntimeError(text)


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
        gd = g.data if isinstance(g, Tensor) else g
        buf = leaf._grad.data
        if buf.flags.writeable and buf.shape == gd.shape and leaf._grad.grad_fn is None:
            buf += gd
        else:
            leaf._grad = Tensor._make(buf + gd, None)


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
    if not isinstance(inputs, (Tensor, list, tuple)):
        raise TypeError(f"grad(): inputs must be a Tensor or a sequence of Tensors, got "
                        f"{type(inputs).__name__}")
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


def _roots_and_seeds(outputs, grads, create_graph, caller):
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
            if t.size != 1:
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
