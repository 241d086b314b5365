"""The op declaration API: every primitive is declared once, forward and gradient rule together.

    @primitive(lambda g, out, x: g * out, saves="out", derivative="exp(x)", numpy=np.exp)
    def exp(x):
        "e ** x."
        return np.exp(x)

That is how ``ops/elementwise.py`` declares ``exp``; the op it made, at work:

>>> x = ag.tensor([0.0, 1.0], requires_grad=True)
>>> np.exp(x)                      # numpy=np.exp: numpy's function on a Tensor calls the op
tensor([1.    , 2.7183], grad_fn=<exp>)
>>> ag.exp(x).sum().backward()     # the rule: g * out, read from the saved output
>>> x.grad
tensor([1.    , 2.7183])

The decorated numpy function becomes the public op: it accepts Tensors, arrays and Python
numbers, runs the forward on arrays, and records a graph ``Node`` when an input requires grad.
Each rule receives the incoming gradient ``g``, the forward result ``out``, then the forward's
own arguments, and returns the gradient for one input. A plain ``backward()`` calls the rules
on numpy arrays; ``create_graph=True`` calls the same rules on Tensors (numpy dispatches its
functions to our ops through ``Tensor.__array_ufunc__`` / ``__array_function__``), so the
gradient is itself differentiable. Broadcasting is undone by the engine, never by a rule.
A rule that needs one of our own ops (not a numpy function) calls ``op.dispatch(...)``.

What the declaration says, besides the rules:

- ``saves``: for each rule, which saved values it reads: ``"out"`` and/or input names, space
  separated (``""`` for none: reading only ``.shape``/``.ndim``/``.size``/``.dtype`` does not
  count). Backward refuses to run when one of those was modified in place since the forward,
  and only then, as PyTorch's derivatives.yaml says what each formula saves. A test checks each
  declaration against what the rule really reads. Left out, every input and ``out`` count.
- ``numpy``: the numpy function(s) that, applied to a Tensor, call this op (``np.exp(t)``).
- ``public``: False for internal ops (indexing, casts), kept out of ``autograd_lite.*``.
- Test hints, read by the generic registry test and the visualiser: ``kind`` (which input
  strategy draws arguments), ``domain`` (per input: "real", "positive", "nonzero", "offgrid",
  "ongrid", "unique", "bool"), and ``derivative`` (the local derivative, a short formula; a
  tuple of one per input for ops of several inputs).
- ``kinks``: where the op is not differentiable but declares a gradient anyway, as PyTorch does,
  each ``"[wrt at ]input=point: side"``: where ``input`` equals ``point`` (a number, another
  input, a parameter or ``out``), the gradient for ``wrt`` (default: ``input``) is its
  ``left``, ``right`` or ``mean`` one-sided derivative (relu: ``"x=0: left"``; clip:
  ``("x=min: right", "x=max: left")``). A test checks each at such points.

Functions built from primitives are declared with ``@composite``: no rule of their own, the same
test hints, and the same generic gradient test.
"""

from __future__ import annotations

import inspect
import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

import numpy as np
import numpy.typing as npt

from .. import anomaly_mode, engine
from ..dtypes import get_default_dtype
from ..engine import Node, version_counter
from ..errors import named, prefixed
from ..grad_mode import grad_mode as _grad_mode

if TYPE_CHECKING:
    from .._tensor import Tensor
    from ..engine import Version

REGISTRY: dict[str, Op] = {}
COMPOSITES: dict[str, Composite] = {}
# numpy function -> the op a Tensor argument routes it to
NUMPY_DISPATCH: dict[Callable[..., Any], Op | Composite] = {}

# The Tensor class and Tensor._make (a Tensor of an array, with no checks): None until
# _tensor.py, which imports this module first, binds them; no op can run before that.
_Tensor: type[Tensor] = None  # type: ignore[assignment]  # bound by bind_tensor_class
_new_tensor: Callable[[np.ndarray, Node | None], Tensor] = None  # type: ignore[assignment]  # same
_NUMERIC_KINDS = frozenset("biuf")
_FORWARD_ERRORS = (ValueError, TypeError, IndexError)  # bad arguments, reworded naming the op
_user_frame = engine.user_frame
_OpT = TypeVar("_OpT", "Op", "Composite")
_P = ParamSpec("_P")
_R = TypeVar("_R")


def bind_tensor_class(cls: type[Tensor]) -> None:
    global _Tensor, _new_tensor
    _Tensor, _new_tensor = cls, cls._make
    engine.bind_tensor_class(cls)


def _signature(fn):
    """(inputs, parameter names, whether variadic) of a forward: the inputs are the leading
    positional arguments without a default, unless ``nin`` says how many."""
    params = list(inspect.signature(fn).parameters.values())
    variadic = any(p.kind is p.VAR_POSITIONAL for p in params)
    positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    return params, positional, variadic


class Op:
    """A registered primitive: call it like the numpy function it wraps."""

    def __init__(self, forward, vjps, *, kind, domain, derivative, nin, view, saves, numpy,
                 public, kinks):
        params, positional, self.variadic = _signature(forward)
        if nin is None:
            nin = sum(p.default is p.empty for p in positional)
        self.name = forward.__name__
        self.forward = forward
        self.vjps = vjps
        self.nin = nin
        self.param_names = tuple(p.name for p in positional[nin:])
        self.input_names = tuple(p.name for p in positional[:nin]) or tuple(
            p.name for p in params if p.kind is p.VAR_POSITIONAL)
        self.param_defaults = {p.name: p.default for p in params if p.default is not p.empty}
        # per rule (reads out, inputs read), read only where rules run: None for no rules
        self.saves: Any = None if vjps is None else _parse_saves(self, saves, vjps)
        self.numpy = numpy if isinstance(numpy, tuple) else (numpy,) if numpy else ()
        self.public = public
        self.view = view
        self.kind = kind
        self.domain = domain
        self.derivative = derivative
        self.kinks = (kinks,) if isinstance(kinks, str) else tuple(kinks)
        # forward (None) or rule number -> (the same computed into a given array, like=)
        self.into: dict[int | None, tuple[Callable[..., Any], str | None]] = {}
        self.__doc__ = forward.__doc__
        self.__wrapped__ = forward
        self.__name__ = self.__qualname__ = forward.__name__
        self.__module__ = forward.__module__

    @property
    def differentiable(self) -> bool:
        return self.vjps is not None

    def __repr__(self):
        return f"<op {self.name}>"

    def __call__(self, *args: Any, **params: Any) -> Tensor:
        if len(args) != self.nin and not self.variadic:
            args = self._split_params(args, params)
        arrays: list[Any] = []
        tracked = False  # does any input require grad?
        for a in args:
            if isinstance(a, _Tensor):
                arrays.append(a.data)
                tracked = tracked or a._requires_grad
            elif type(a) is float or type(a) is int:  # the common operand: kept weakly typed
                arrays.append(a)
            else:
                arrays.append(as_operand(a, self.name))
        try:
            out = self.forward(*arrays, **params)
        except _FORWARD_ERRORS as e:
            raise self._error(e, arrays) from None
        return self._result(args, tuple(arrays), params, out, tracked)

    def run_rule(self, i, g, out, args, params):
        """The gradient for input ``i``: its rule applied to ``g``, ``out`` and the inputs."""
        if self.variadic:
            return self.vjps[0](g, out, *args, argnum=i, **params or {})
        return self.vjps[i](g, out, *args, **params or {})

    def writes_into(self, rule: int | None = None, *, like: str | None = None
                    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare the decorated function as this op's forward (or its rule for input ``rule``)
        computed into ``into``: an array of the result's shape and dtype, returned filled with
        the very bits the plain function gives. With ``like``, ``into`` is instead scratch space
        shaped as that input (for a result too small to be worth keeping). ``ag.compile``'s
        replays call these to reuse an array instead of making one; the registry test checks
        each against the plain function."""
        def declare(form):
            self.into[rule] = (form, like)
            return form
        return declare

    def saves_output(self, i) -> bool:
        """Whether the rule for input ``i`` reads the op's output."""
        return self.saves[0 if self.variadic else i][0]

    def _error(self, e, arrays):
        """The forward's error, naming the op and the shapes and dtypes it was given."""
        return prefixed(self.name, e, f" (inputs: {describe(arrays)})")

    def _result(self, args: tuple[Any, ...], arrays: tuple[Any, ...], params: dict[str, Any],
                out: Any, tracked: bool) -> Tensor:
        """The forward's result as a Tensor; a node is recorded if an input requires grad."""
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if anomaly_mode.enabled:
            anomaly_mode.check_forward(self.name, arrays, out)
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
        inputs: list[Node | Tensor | None] = []  # per input: where its gradient goes, or None
        # (counter, its value now, which) of each Tensor a rule will read
        versions: tuple[tuple[Version, int, int | str], ...] = ()
        for i, a in enumerate(args):
            saved = self.saves[0 if self.variadic else i]
            if saved is None or not (isinstance(a, _Tensor) and a._requires_grad):
                inputs.append(None)  # no rule for this input (an index), or no grad needed
                continue
            inputs.append(a if a.grad_fn is None else a.grad_fn)
            reads_out, reads_args = saved
            for k in range(len(args)) if reads_args is None else reads_args:
                read = args[k]
                if isinstance(read, _Tensor):
                    counter = read._version or version_counter(read)
                    versions += ((counter, counter.value, k),)
            if reads_out and result._version is not None:  # else watched once it has a counter
                versions += ((result._version, result._version.value, "output"),)
        frame = _user_frame(sys._getframe(3))  # _record < _result < __call__ < caller
        node = Node(self, arrays, params or None, result.data, tuple(inputs), versions,
                    frame.f_code, frame.f_lasti)
        if anomaly_mode.enabled:
            node.stack = "".join(traceback.format_stack(frame))
        result.grad_fn = node
        result._requires_grad = True

    def dispatch(self, *args: Any, **params: Any) -> Any:
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


def _parse_saves(op, saves, vjps):
    """``saves`` as one (reads out, indices of the inputs read) per rule, None where there is
    no rule; an index tuple of None means every input."""
    if saves is None:
        saves = ("out " + " ".join(op.input_names),) * len(vjps)
    saves = (saves,) if isinstance(saves, str) else tuple(saves)
    if len(saves) != len(vjps):
        raise ValueError(f"op '{op.name}' declares saves= for {len(saves)} rule(s) but has "
                         f"{len(vjps)}")
    parsed = []
    for rule, text in zip(vjps, saves):
        names = text.split()
        unknown = [n for n in names if n != "out" and n not in op.input_names]
        if unknown:
            raise ValueError(f"op '{op.name}': saves= names {unknown}, which are neither 'out' "
                             f"nor its inputs {op.input_names}")
        reads = (None if len(names) > ("out" in names) else ()) if op.variadic else tuple(
            k for k, n in enumerate(op.input_names) if n in names)
        parsed.append(None if rule is None else ("out" in names, reads))
    return tuple(parsed)


# ---------------------------------------------------------------------------------------------
# Fast path: what Op does, spelled out for ops of one and two inputs called the common way. A
# call with *args costs twice a plain one, and these are most of the ops a model runs, so the
# argument loop is skipped and the forward and rules are called with their arity written out.


class _UnaryOp(Op):

    def __call__(self, *args, **params):
        if len(args) != 1 or not isinstance(args[0], _Tensor):
            return Op.__call__(self, *args, **params)
        x = args[0]
        a = x.data
        try:
            out = self.forward(a, **params) if params else self.forward(a)
        except _FORWARD_ERRORS as e:
            raise self._error(e, (a,)) from None
        return self._result(args, (a,), params, out, x._requires_grad)

    def run_rule(self, i, g, out, args, params):
        return self.vjps[0](g, out, *args, **params) if params else self.vjps[0](g, out, args[0])


class _BinaryOp(Op):

    def __call__(self, *args, **params):
        if len(args) != 2:
            return Op.__call__(self, *args, **params)
        x, y = args
        a: Any  # an array or a Python number
        b: Any
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
        try:
            out = self.forward(a, b, **params) if params else self.forward(a, b)
        except _FORWARD_ERRORS as e:
            raise self._error(e, (a, b)) from None
        return self._result(args, (a, b), params, out, tracked)

    def run_rule(self, i, g, out, args, params):
        if params:
            return self.vjps[i](g, out, *args, **params)
        return self.vjps[i](g, out, args[0], args[1])


# ---------------------------------------------------------------------------------------------
# Declaring ops


def primitive(*vjps: Callable[..., Any] | None, saves: str | tuple[str, ...] | None = None,
              kind: str = "elementwise", domain: str | tuple[str, ...] = "real",
              derivative: str | tuple[str, ...] | None = None, nin: int | None = None,
              differentiable: bool = True, name: str | None = None, view: bool = False,
              numpy: Callable[..., Any] | tuple[Callable[..., Any], ...] = (), public: bool = True,
              kinks: str | tuple[str, ...] = ()) -> Callable[[Callable[..., Any]], Op]:
    """Declare the decorated numpy function as a primitive op with one vjp rule per input.

    A rule of ``None`` marks an input with no gradient (a condition, an index). A variadic
    forward (``def f(*arrays, axis)``) takes a single rule, called with ``argnum=i``.
    ``differentiable=False`` declares an op with no gradient at all (comparisons, argmax).
    ``name`` overrides the registered name (default: the function's). ``view=True`` marks an
    op whose output may share memory with its first input (reshape, slicing), as numpy's views.
    The other keywords are described in the module docstring.
    """
    def register(forward: Callable[..., Any]) -> Op:
        if name is not None:
            forward.__name__ = forward.__qualname__ = name
        op = Op(forward, vjps if differentiable else None, kind=kind, domain=domain,
                derivative=derivative, nin=nin, view=view, saves=saves, numpy=numpy,
                public=public, kinks=kinks)
        if not op.variadic and op.nin in (1, 2):
            op.__class__ = _UnaryOp if op.nin == 1 else _BinaryOp
        if differentiable and not op.variadic and len(vjps) != op.nin:
            raise ValueError(f"op '{op.name}' has {op.nin} input(s) but {len(vjps)} vjp rule(s)")
        return _register(op, REGISTRY)

    return register


class Composite(Generic[_P, _R]):
    """A function built from primitives, declared with ``@composite``: called as itself, its
    errors name it; the hints are a primitive's, so the registry test gradchecks it too.
    (Generic in the function's signature, so that type checkers see it on the op.)"""

    def __init__(self, fn: Callable[_P, _R], *, kind: str, domain: str | tuple[str, ...],
                 nin: int | None, draw: dict[str, tuple[Any, ...]],
                 numpy: Callable[..., Any] | tuple[Callable[..., Any], ...] | None, public: bool,
                 sequence: bool, kinks: str | tuple[str, ...]) -> None:
        _, positional, _ = _signature(fn)
        if nin is None:
            nin = sum(p.default is p.empty for p in positional)
        self.name = fn.__name__
        self.call = named(fn)
        self.nin = nin
        self.param_names = tuple(p.name for p in positional[nin:])
        self.input_names = tuple(p.name for p in positional[:nin])
        self.kind, self.domain, self.draw = kind, domain, draw
        self.kinks = (kinks,) if isinstance(kinks, str) else tuple(kinks)
        self.numpy = numpy if isinstance(numpy, tuple) else (numpy,) if numpy else ()
        self.public = public
        self.sequence = sequence
        self.variadic = False
        self.differentiable = True
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn
        self.__name__ = self.__qualname__ = fn.__name__
        self.__module__ = fn.__module__

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return self.call(*args, **kwargs)

    def __repr__(self):
        return f"<composite {self.name}>"


def composite(*, kind: str = "elementwise", domain: str | tuple[str, ...] = "real",
              nin: int | None = None, draw: dict[str, tuple[Any, ...]] | None = None,
              numpy: Callable[..., Any] | tuple[Callable[..., Any], ...] = (), public: bool = True,
              sequence: bool = False,
              kinks: str | tuple[str, ...] = ()
              ) -> Callable[[Callable[_P, _R]], Composite[_P, _R]]:
    """Declare a function built from primitives as an op.

    ``draw`` maps parameter names to the values the registry test tries (``{"alpha": (0.5,
    2.0)}``); ``sequence=True`` marks a function taking its inputs as one list
    (``concatenate([a, b])``). The other keywords are as for ``primitive``.
    """
    def register(fn: Callable[_P, _R]) -> Composite[_P, _R]:
        return _register(Composite(fn, kind=kind, domain=domain, nin=nin, draw=draw or {},
                                   numpy=numpy, public=public, sequence=sequence, kinks=kinks),
                          COMPOSITES)

    return register


def _register(op: _OpT, table: dict[str, _OpT]) -> _OpT:
    """Add a declared op to its table and route its numpy functions to it."""
    known = table.get(op.name)
    if known is not None and known.__module__ != op.__module__:  # re-running a cell is ok
        raise ValueError(f"an op named '{op.name}' is already registered by "
                         f"{known.__module__}; choose another name")
    table[op.name] = op
    NUMPY_DISPATCH.update(dict.fromkeys(op.numpy, op))
    return op


# ---------------------------------------------------------------------------------------------
# Inputs: what an op accepts besides Tensors, and the errors it gives.


def as_operand(a: Any, op_name: str) -> Any:
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


def to_array(data: Any, op_name: str = "tensor",
             dtype: npt.DTypeLike | None = None) -> np.ndarray:
    """Nested lists / scalars to an array; Python floats become the default dtype (float32
    unless ``set_default_dtype``), as in PyTorch."""
    try:
        arr = np.array(data, dtype=dtype)
    except ValueError as e:
        raise ValueError(f"{op_name}: cannot make an array from {_short(data)}: the nested "
                         f"sequences have ragged lengths or mixed types ({e})") from None
    except TypeError as e:
        raise TypeError(f"{op_name}: cannot make an array from {_short(data)} ({e})") from None
    check_dtype(arr.dtype, op_name)
    if dtype is None and arr.dtype == np.float64 and not _holds_numpy_float64(data):
        arr = arr.astype(get_default_dtype())
    return arr


def _holds_numpy_float64(data):
    while isinstance(data, (list, tuple)) and data:
        data = data[0]
    return isinstance(data, (np.ndarray, np.float64))


def check_dtype(dtype: np.dtype, op_name: str) -> None:
    if dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{op_name}: unsupported dtype {dtype}; autograd_lite works with bool, "
                        "integer and floating-point data (not complex, string or object)")


def describe(arrays: tuple[Any, ...] | list[Any]) -> str:
    """``float32(2, 3), int 2`` – the shapes and dtypes of op arguments, for error messages."""
    parts = []
    for a in arrays:
        if isinstance(a, np.ndarray):
            parts.append(f"{a.dtype}{tuple(a.shape)}")
        else:
            parts.append(f"{type(a).__name__} {a!r}")
    return ", ".join(parts)




def shape_of_operand(x: Any, op_name: str) -> tuple[int, ...]:
    """The shape of an op argument (Tensor, array, number, list), checked as operands are."""
    if isinstance(x, _Tensor):
        return x.shape
    return np.shape(as_operand(x, op_name))


def axis_index(axis: Any, ndim: int, op_name: str, shape: tuple[int, ...]) -> int:
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
