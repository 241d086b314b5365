"""The op declaration API: every primitive is declared once, forward and gradient rule together.

    @primitive(lambda g, out, x: g * out, derivative="exp(x)")
    def exp(x):
        "Elementwise e**x."
        return np.exp(x)

The decorated numpy function becomes the public op: it accepts Tensors, arrays and Python
numbers, runs the forward on arrays, and records a graph ``Node`` when an input requires grad.
Each rule receives the incoming gradient ``g``, the forward result ``out``, then the forward's
own arguments, and returns the gradient for one input. A plain ``backward()`` calls the rules
on numpy arrays; ``create_graph=True`` calls the same rules on Tensors (numpy dispatches its
functions to our ops through ``Tensor.__array_ufunc__`` / ``__array_function__``), so the
gradient is itself differentiable. Broadcasting is undone by the engine, never by a rule.
A rule that needs one of our own ops (not a numpy function) calls ``op.dispatch(...)``.

The remaining keywords are test hints read by the generic registry test and the visualiser:
``kind`` (which input strategy draws arguments), ``domain`` (per input: "real", "positive",
"nonzero", "offgrid", "ongrid", "unique", "bool"), and ``derivative`` (the local derivative, a
short formula; a tuple of one per input for ops of several inputs).
"""

from __future__ import annotations

import dis
import inspect
import sys
import traceback

import numpy as np

from .. import engine
from ..engine import Node, version_counter
from ..engine import grad_mode as _grad_mode

REGISTRY: dict[str, Op] = {}

_Tensor = None  # the Tensor class; tensor.py imports this module first, then sets it
_new_tensor = None  # Tensor._make: a Tensor of an array, with no checks
_NUMERIC_KINDS = frozenset("biuf")
_user_frame = engine.user_frame


def bind_tensor_class(cls):
    global _Tensor, _new_tensor
    _Tensor, _new_tensor = cls, cls._make
    engine.bind_tensor_class(cls)


class Op:
    """A registered primitive: call it like the numpy function it wraps."""

    def __init__(self, forward, vjps, *, kind, domain, derivative, nin, view):
        sig = inspect.signature(forward)
        params = list(sig.parameters.values())
        self.variadic = any(p.kind is p.VAR_POSITIONAL for p in params)
        positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        if nin is None:
            nin = sum(p.default is p.empty for p in positional)
        self.name = forward.__name__
        self.forward = forward
        self.vjps = vjps
        self.nin = nin
        self.param_names = tuple(p.name for p in positional[nin:])
        self.input_names = tuple(p.name for p in positional[:nin])
        self.param_defaults = {p.name: p.default for p in params if p.default is not p.empty}
        self.reads = tuple(None if rule is None else _reads(rule, nin) for rule in vjps or ())
        self.view = view
        self.kind = kind
        self.domain = domain
        self.derivative = derivative
        self.__doc__ = forward.__doc__
        self.__wrapped__ = forward
        self.__name__ = self.__qualname__ = forward.__name__
        self.__module__ = forward.__module__

    @property
    def differentiable(self) -> bool:
        return self.vjps is not None

    def __repr__(self):
        return f"<op {self.name}>"

    def __call__(self, *args, **params):
        if len(args) != self.nin and not self.variadic:
            args = self._split_params(args, params)
        arrays = []
        tracked = False  # does any input require grad?
        for a in args:
            if isinstance(a, _Tensor):
                arrays.append(a.data)
                tracked = tracked or a._requires_grad
            elif type(a) is float or type(a) is int:  # the common operand: kept weakly typed
                arrays.append(a)
            else:
                arrays.append(as_operand(a, self.name))
        return self._apply(args, tuple(arrays), params, tracked)

    def _apply(self, args, arrays, params, tracked):
        """Run the forward on the arrays; record a node if an input requires grad."""
        try:
            if params:
                out = self.forward(*arrays, **params)
            elif len(arrays) == 1:  # spelled out: a call with *args costs twice a plain one
                out = self.forward(arrays[0])
            elif len(arrays) == 2:
                out = self.forward(arrays[0], arrays[1])
            else:
                out = self.forward(*arrays)
        except (ValueError, TypeError, IndexError) as e:
            raise _op_error(self.name, e, arrays) from None
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if engine.anomaly_enabled:
            engine.check_forward(self.name, arrays, out)
        result = _new_tensor(out, None)
        if self.view and isinstance(args[0], _Tensor) and np.may_share_memory(out, arrays[0]):
            result._base = args[0]  # writes through either show in both: share one version
            result._version = version_counter(args[0])
        if tracked and self.vjps is not None and _grad_mode.enabled and out.dtype.kind == "f":
            self._record(result, args, arrays, params)  # int results never need grad
        return result

    def _record(self, result, args, arrays, params):
        """Make ``result`` the output of a graph node: the inputs that need a gradient, where
        the user called the op, and the versions of the tensors its rules will read, so that
        backward can refuse values modified in place since the forward."""
        inputs = []  # per input: where its gradient goes, or None
        versions = ()  # (counter, its value now, which) of each Tensor a rule will read
        for i, a in enumerate(args):
            reads = self.reads[0 if self.variadic else i]
            if reads is None or not (isinstance(a, _Tensor) and a._requires_grad):
                inputs.append(None)  # no rule for this input (an index), or no grad needed
                continue
            inputs.append(a if a.grad_fn is None else a.grad_fn)
            reads_out, reads_args = reads
            for k in range(len(args)) if reads_args is None else reads_args:
                read = args[k]
                if isinstance(read, _Tensor):
                    counter = read._version or version_counter(read)
                    versions += ((counter, counter.value, k),)
            if reads_out and result._version is not None:  # else watched once it has a counter
                versions += ((result._version, result._version.value, "output"),)
        frame = _user_frame(sys._getframe(3))  # _record < _apply < __call__ < caller
        node = Node(self, arrays, params or None, result.data, tuple(inputs), versions,
                    frame.f_code, frame.f_lasti)
        if engine.anomaly_enabled:
            node.stack = "".join(traceback.format_stack(frame))
        result.grad_fn = node
        result._requires_grad = True

    def dispatch(self, *args, **params):
        """Call this op from inside another op's rule: arrays in give an array out (a plain
        backward), Tensors in give a recorded Tensor (``create_graph=True``)."""
        inputs = args if self.variadic else args[:self.nin]  # a Tensor *parameter* (an index)
        if any(isinstance(a, _Tensor) for a in inputs):    # must not switch to graph mode
            return self(*args, **params)
        return self.forward(*args, **params)

    def _split_params(self, args, params):
        """Move positional arguments past the inputs into ``params`` by name (numpy style)."""
        extra = args[self.nin:]
        if len(args) < self.nin or len(extra) > len(self.param_names):
            raise TypeError(
                f"{self.name}() takes {self.nin} input(s) and at most {len(self.param_names)} "
                f"more argument(s) {self.param_names}, got {len(args)} positional arguments")
        for name, value in zip(self.param_names, extra):
            if name in params:
                raise TypeError(f"{self.name}() got multiple values for argument '{name}'")
            params[name] = value
        return args[:self.nin]


class _UnaryOp(Op):
    """An op of one input, called the common way (a Tensor and keyword parameters): the same
    as Op without the argument loop, which is a good part of the cost of a small op."""

    def __call__(self, *args, **params):
        if len(args) == 1 and isinstance(args[0], _Tensor):
            x = args[0]
            return self._apply(args, (x.data,), params, x._requires_grad)
        return Op.__call__(self, *args, **params)


class _BinaryOp(Op):
    """An op of two inputs, called with Tensors or Python numbers: Op without the loop."""

    def __call__(self, *args, **params):
        if len(args) != 2:
            return Op.__call__(self, *args, **params)
        x, y = args
        if isinstance(x, _Tensor):
            a, tracked = x.data, x._requires_grad
        elif type(x) is float or type(x) is int:
            a, tracked = x, False
        else:
            return Op.__call__(self, *args, **params)
        if isinstance(y, _Tensor):
            b, tracked = y.data, tracked or y._requires_grad
        elif type(y) is float or type(y) is int:
            b = y
        else:
            return Op.__call__(self, *args, **params)
        return self._apply(args, (a, b), params, tracked)


def primitive(*vjps, kind="elementwise", domain="real", derivative=None, nin=None,
              differentiable=True, name=None, view=False):
    """Declare the decorated numpy function as a primitive op with one vjp rule per input.

    A rule of ``None`` marks an input with no gradient (a condition, an index). A variadic
    forward (``def f(*arrays, axis)``) takes a single rule, called with ``argnum=i``.
    ``differentiable=False`` declares an op with no gradient at all (comparisons, argmax).
    ``name`` overrides the registered name (default: the function's). ``view=True`` marks an
    op whose output may share memory with its first input (reshape, slicing), as numpy's views.
    """
    def register(forward):
        if name is not None:
            forward.__name__ = forward.__qualname__ = name
        known = REGISTRY.get(forward.__name__)
        if known is not None and known.__module__ != forward.__module__:  # re-running a cell is ok
            raise ValueError(f"an op named '{forward.__name__}' is already registered by "
                             f"{known.__module__}; choose another name")
        op = Op(forward, vjps if differentiable else None, kind=kind, domain=domain,
                derivative=derivative, nin=nin, view=view)
        if not op.variadic and op.nin in (1, 2):
            op.__class__ = _UnaryOp if op.nin == 1 else _BinaryOp
        if differentiable and not op.variadic and len(vjps) != op.nin:
            raise ValueError(f"op '{op.name}' has {op.nin} input(s) but {len(vjps)} vjp rule(s)")
        REGISTRY[op.name] = op
        return op

    return register


_METADATA = frozenset({"shape", "ndim", "size", "dtype"})


def _reads(rule, nin):
    """Which saved values a rule reads: (reads ``out``, indices of the inputs it reads), where
    reading only ``.shape``/``.ndim``/``.size``/``.dtype`` does not count; None means all.

    Only values a rule reads are checked for in-place modification, as PyTorch checks only
    what it saved: ``y = x + c; c += 1; y.backward()`` is fine, ``y = x * c; c += 1`` is not.
    """
    code = getattr(rule, "__code__", None)
    if code is None or code.co_flags & inspect.CO_VARARGS:
        return True, None
    names = code.co_varnames[:code.co_argcount]
    out_name, arg_names = names[1], names[2:2 + nin]
    read = set(code.co_cellvars)  # captured by an inner function: assume read
    instructions = list(dis.get_instructions(rule))
    for ins, following in zip(instructions, instructions[1:] + [None]):
        if ins.opname.startswith("LOAD_FAST"):
            loaded = ins.argval if isinstance(ins.argval, tuple) else (ins.argval,)
            metadata_only = (len(loaded) == 1 and following is not None
                             and following.opname == "LOAD_ATTR" and following.argval in _METADATA)
            if not metadata_only:
                read.update(loaded)
    return out_name in read, tuple(k for k, n in enumerate(arg_names) if n in read)


# ---------------------------------------------------------------------------------------------
# Inputs: what an op accepts besides Tensors, and the errors it gives.


def as_operand(a, op_name):
    """A non-Tensor op argument as something numpy computes with, without upcasting float32.

    Python numbers stay Python numbers (numpy treats them as weakly typed, so ``x * 2.0`` keeps
    a float32 ``x`` float32); numpy scalars become Python numbers for the same reason.
    """
    if isinstance(a, np.ndarray):
        check_dtype(a.dtype, op_name)
        return a
    if isinstance(a, (bool, int, float)):
        return a.item() if isinstance(a, np.generic) else a
    if isinstance(a, np.generic):
        check_dtype(a.dtype, op_name)
        return a.item()
    if isinstance(a, (list, tuple)):
        return to_array(a, op_name)
    raise TypeError(f"{op_name}: unsupported operand type {type(a).__name__}; expected a Tensor, "
                    "numpy array or Python number")


def to_array(data, op_name="tensor", dtype=None):
    """Nested lists / scalars to an array; Python floats become float32, as in PyTorch."""
    try:
        arr = np.array(data, dtype=dtype)
    except ValueError as e:
        raise ValueError(f"{op_name}: cannot make an array from {_short(data)}: the nested "
                         f"sequences have ragged lengths or mixed types ({e})") from None
    except TypeError as e:
        raise TypeError(f"{op_name}: cannot make an array from {_short(data)} ({e})") from None
    check_dtype(arr.dtype, op_name)
    if dtype is None and arr.dtype == np.float64 and not _holds_numpy_float64(data):
        arr = arr.astype(np.float32)
    return arr


def _holds_numpy_float64(data):
    while isinstance(data, (list, tuple)) and data:
        data = data[0]
    return isinstance(data, (np.ndarray, np.float64))


def check_dtype(dtype, op_name):
    if dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{op_name}: unsupported dtype {dtype}; autograd_lite works with bool, "
                        "integer and floating-point data (not complex, string or object)")


def describe(arrays):
    """``float32(2, 3), int 2`` – the shapes and dtypes of op arguments, for error messages."""
    parts = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            parts.append(f"{a.dtype}{tuple(a.shape)}")
        else:
            parts.append(f"{type(a).__name__} {a!r}")
    return ", ".join(parts)


def _op_error(name, e, arrays):
    cls = TypeError if isinstance(e, TypeError) else (
        IndexError if isinstance(e, IndexError) and not isinstance(e, ValueError) else ValueError)
    text = str(e).removeprefix(f"{name}: ")
    return cls(f"{name}: {text} (inputs: {describe(arrays)})")


def named(fn):
    """For a composite op (built from primitives): its errors name it, not the primitive."""
    import functools

    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (TypeError, ValueError, IndexError) as e:
            if str(e).startswith(f"{name}:"):
                raise
            cls = TypeError if isinstance(e, TypeError) else (
                IndexError if isinstance(e, IndexError) and not isinstance(e, ValueError)
                else ValueError)
            raise cls(f"{name}: {e}") from None

    return wrapper


def shape_of_operand(x, op_name):
    """The shape of an op argument (Tensor, array, number, list), checked as operands are."""
    if isinstance(x, _Tensor):
        return x.shape
    return np.shape(as_operand(x, op_name))


def axis_index(axis, ndim, op_name, shape):
    """``axis`` as a non-negative int below ``ndim``, or a TypeError/ValueError naming the op."""
    import operator

    try:
        a = operator.index(axis)
    except TypeError:
        raise TypeError(f"{op_name}: an axis must be an integer, got {axis!r}") from None
    if not -ndim <= a < ndim:
        raise ValueError(f"{op_name}: axis {a} is out of bounds for a tensor of shape "
                         f"{tuple(shape)}")
    return a % ndim


def _short(data, limit=60):
    text = repr(data)
    return text if len(text) <= limit else text[:limit] + "..."
