"""Export a model to ONNX, as ``torch.onnx.export`` does: run its forward once, record every
primitive op it calls, and write those ops as an ONNX graph.

>>> model = ag.nn.Sequential(ag.nn.Linear(3, 2), ag.nn.ReLU())
>>> export(model, ag.randn(4, 3), "model.onnx", input_names=["x"],
...        dynamic_axes={"x": {0: "batch"}})
>>> [i.name for i in onnx.load("model.onnx").graph.input], len(onnx.load("model.onnx").graph.node)
(['x'], 2)

What is recorded: each registered primitive's forward (``ops/registry.py``), with the arrays it
ran on, its parameters and the module it was called in; the graph follows the arrays: an
argument is a graph input, the result of a recorded op, a parameter or buffer (an initializer
named by its ``state_dict`` name) or else a constant. A few modules are written as one ONNX op
instead of their primitives (BatchNorm in eval mode, average pooling, global average pooling).
The model is exported in eval mode, as PyTorch's default ``training=TrainingMode.EVAL`` does,
and every module's ``training`` flag is put back afterwards. Nothing is written unless the
whole graph is exported: an op with no ONNX mapping is an ``UnsupportedOperatorError`` naming
it and its module.

The forward runs twice, the second time on other values (and, along ``dynamic_axes``, other
sizes), and both recordings must give the same graph. So a value computed outside the ops (from
``.data``, with numpy) that depends on the input, a shape baked in that a dynamic axis would
change, or control flow that depends on the input is refused, never written silently wrong.
A constant filled with one value along a dynamic axis (an RNN's zero initial state) is rebuilt
from the input's shape instead. The recording patches the ops while it runs: export from one
thread at a time.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from typing import Any, NamedTuple

import numpy as np

try:
    import onnx
    from onnx import helper, numpy_helper
except ImportError as e:  # pragma: no cover - exercised only without the extra
    raise ImportError("autograd_lite.onnx needs the onnx package: pip install "
                      "'autograd_lite[onnx]' (or pip install onnx)") from e

from ._tensor import Tensor
from .function import Function
from .grad_mode import no_grad
from .io import atomic_write
from .nn.conv import AdaptiveAvgPool2d, AvgPool1d, AvgPool2d
from .nn.layers import _BatchNorm
from .nn.module import Module
from .ops.registry import REGISTRY
from .ops.shape import as_index

__all__ = ["export", "OnnxExporterError", "UnsupportedOperatorError", "DEFAULT_OPSET"]

DEFAULT_OPSET = 17  # pinned, so a file does not change with the onnx package installed
_INT64_MAX, _INT64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min


class OnnxExporterError(RuntimeError):
    """The model cannot be exported as asked (nothing was written)."""


class UnsupportedOperatorError(OnnxExporterError):
    """An op the model called has no ONNX mapping; the message names it and its module."""


def export(model: Module, args, f, *, input_names=None, output_names=None, dynamic_axes=None,
           opset_version: int = DEFAULT_OPSET) -> None:
    """Write ``model`` (run on ``args``, a Tensor or a tuple of them) to the ONNX file ``f``.

    ``input_names``/``output_names`` name the graph's inputs and outputs (default: the
    forward's parameter names; ``output`` or ``output_0``, ``output_1``, ...).
    ``dynamic_axes`` maps a name to the axes whose size may change, ``{"x": {0: "batch"}}``
    (or a list of axes, named ``x_dynamic_axes_1``, ... as PyTorch names them).
    ``opset_version``: 17 (the default) or later. The file is written atomically.

    >>> export(ag.nn.Linear(2, 1), ag.ones(1, 2), "linear.onnx")
    """
    if not isinstance(model, Module):
        raise TypeError(f"onnx.export: expected an nn.Module, got {type(model).__name__}")
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError(f"onnx.export: f must be a file path (written atomically), got "
                        f"{type(f).__name__}")
    inputs = _as_inputs(args)
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset_version, int) or not DEFAULT_OPSET <= opset_version <= newest:
        raise ValueError(f"onnx.export: opset_version must be an int from {DEFAULT_OPSET} to "
                         f"{newest} (the installed onnx package's newest), got {opset_version!r}")
    input_names = _input_names(model, input_names, len(inputs))
    with _eval_mode(model):
        first = _trace(model, inputs)
        output_names = _output_names(output_names, len(first.outputs), input_names)
        axes = _dynamic_axes(dynamic_axes, input_names, output_names)
        second = _trace(model, _other_inputs(inputs, input_names, axes))
    built, again_built = (_Builder(trace, input_names, opset_version) for trace in (first, second))
    graph = _reconcile(built, again_built, output_names, input_names, axes)
    _declare_io(graph, first, second, input_names, output_names, axes)
    proto = helper.make_model(graph, producer_name="autograd_lite",
                              opset_imports=[helper.make_opsetid("", opset_version)])
    proto.ir_version = helper.find_min_ir_version_for(list(proto.opset_import))
    onnx.checker.check_model(proto, full_check=True)
    atomic_write(f, proto.SerializeToString())


# ---- arguments ---------------------------------------------------------------------------------


def _as_inputs(args):
    items = args if isinstance(args, tuple) else (args,)
    inputs = []
    for i, a in enumerate(items):
        if isinstance(a, Tensor):
            inputs.append(Tensor._make(a.data, None))
        elif isinstance(a, np.ndarray):
            inputs.append(Tensor._make(a, None))
        else:
            raise TypeError(f"onnx.export: args must be a Tensor (or numpy array) or a tuple of "
                            f"them, got {type(a).__name__} at position {i}")
    return inputs


def _input_names(model, names, count):
    if names is None:
        params = [p.name for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        names = params[:count] if len(params) >= count else []
    names = list(names) + [f"input_{i}" for i in range(len(names), count)]
    if len(names) != count:
        raise ValueError(f"onnx.export: {len(names)} input_names for {count} input(s)")
    return _unique(names, "input_names")


def _output_names(names, count, input_names):
    if names is None:
        names = ["output"] if count == 1 else [f"output_{i}" for i in range(count)]
    names = list(names)
    if len(names) != count:
        raise ValueError(f"onnx.export: {len(names)} output_names for the model's {count} "
                         "output tensor(s)")
    if set(names) & set(input_names):
        raise ValueError(f"onnx.export: output_names {names} reuse input names {input_names}")
    return _unique(names, "output_names")


def _unique(names, what):
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ValueError(f"onnx.export: {what} must be distinct non-empty strings, got {names}")
    return names


def _dynamic_axes(dynamic_axes, input_names, output_names):
    """{name: {axis: axis name}}, validated; a list of axes gets PyTorch's generated names."""
    found = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in input_names and name not in output_names:
            raise ValueError(f"onnx.export: dynamic_axes names {name!r}, which is neither an "
                             f"input {input_names} nor an output {output_names}")
        if isinstance(axes, (list, tuple)):
            axes = {axis: f"{name}_dynamic_axes_{i + 1}" for i, axis in enumerate(axes)}
        if not isinstance(axes, dict) or not all(isinstance(a, int) and isinstance(n, str)
                                                 for a, n in axes.items()):
            raise ValueError(f"onnx.export: dynamic_axes[{name!r}] must map axes (ints) to "
                             f"names (str), or be a list of axes, got {axes!r}")
        found[name] = axes
    return found


def _other_inputs(inputs, names, axes):
    """Inputs of new values for the second run, each dynamic axis of another size (distinct
    axis names grow by distinct amounts, so that a size tells which axis it follows)."""
    rng = np.random.default_rng(0)
    labels = sorted({label for axes_of in axes.values() for label in axes_of.values()})
    others = []
    for name, t in zip(names, inputs):
        a = t.data
        shape = list(a.shape)
        for axis, label in axes.get(name, {}).items():
            if not -a.ndim <= axis < a.ndim:
                raise ValueError(f"onnx.export: dynamic axis {axis} of {name!r} is out of range "
                                 f"for its shape {a.shape}")
            shape[axis] += 1 + labels.index(label)
        others.append(Tensor._make(_like(rng, a, tuple(shape)), None))
    return others


def _like(rng, a, shape):
    """Random values of ``a``'s dtype and range (integers stay valid indices)."""
    if a.dtype == np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    low, high = (a.min(), a.max()) if a.size else (0, 1)
    if a.dtype.kind in "iu":
        return np.asarray(rng.integers(low, high, shape, endpoint=True), a.dtype)
    if low == high:
        low, high = sorted((low * 0.5, low * 1.5)) if low else (-1.0, 1.0)
    return np.asarray(rng.uniform(low, high, shape), a.dtype)


@contextlib.contextmanager
def _eval_mode(model):
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, training in flags:
            m.training = training


# ---- recording ---------------------------------------------------------------------------------


class _Record(NamedTuple):
    op: str          # the primitive's name, or a module written as one op ("batch_norm")
    arrays: tuple    # the forward's inputs (arrays, Python numbers)
    params: dict
    out: np.ndarray
    where: str       # the innermost module call it ran in


class _Trace(NamedTuple):
    inputs: list     # the input arrays
    records: list
    outputs: list    # the output arrays
    leaves: dict     # id(array) -> (state_dict name, array) of every parameter and buffer


def _trace(model, inputs):
    """Run ``model(*inputs)`` once, recording every primitive op it calls."""
    leaves: dict[int, tuple[str, np.ndarray]] = {}
    for name, t in [*model.named_parameters(), *model.named_buffers()]:
        if t is not None:
            leaves.setdefault(id(t.data), (name, t.data))
    where = {id(m): f"'{n}' ({type(m).__name__})" if n else f"the model ({type(m).__name__})"
             for n, m in model.named_modules()}
    recorder = _Recorder(where)
    with recorder.installed(), no_grad():
        result = model(*inputs)
    outputs = _tensors(result)
    return _Trace([t.data for t in inputs], recorder.records, [t.data for t in outputs], leaves)


def _tensors(value):
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    raise OnnxExporterError(f"onnx.export: the model returned a {type(value).__name__}; it "
                            "must return Tensors (or tuples and lists of them)")


class _Recorder:
    """While installed: each op's forward records itself; a module with a one-op ONNX
    equivalent records itself instead of its ops; a custom Function is refused."""

    def __init__(self, where):
        self.where = where
        self.records = []
        self.calls = []   # the module calls running, innermost last
        self.depth = 0    # > 0 inside a recorded call: what it calls is part of it

    def here(self):
        """The innermost module call running, as error messages name it."""
        m = self.calls[-1]  # the model's own call is always running
        return self.where.get(id(m), f"a {type(m).__name__} outside the model")

    @contextlib.contextmanager
    def installed(self):
        saved = [(op, op.forward) for op in REGISTRY.values()]
        call, apply = Module.__dict__["__call__"], Function.__dict__["apply"]
        for op, forward in saved:
            op.forward = self._recording(op.name, forward)
        # patching the classes' methods while tracing (restored below) is the point here
        Module.__call__ = self._module_call(call)  # type: ignore[method-assign]
        # a function, not the bound method: Python 3.10's classmethod would not pass the class
        Function.apply = classmethod(  # type: ignore[method-assign,assignment]
            lambda cls, *args: self._refuse_function(cls, *args))
        try:
            yield
        finally:
            for op, forward in saved:
                op.forward = forward
            Module.__call__, Function.apply = call, apply  # type: ignore[method-assign]

    def _recording(self, name, forward):
        def recorded(*arrays, **params):
            if self.depth:
                return forward(*arrays, **params)
            self.depth += 1
            try:
                out = np.asarray(forward(*arrays, **params))
            finally:
                self.depth -= 1
            self.records.append(_Record(name, arrays, params, out, self.here()))
            return out
        return recorded

    def _module_call(self, call):
        def noted(module, *args, **kwargs):
            self.calls.append(module)
            try:
                one_op = None if self.depth or kwargs else _as_one_op(module, args)
                if one_op is None:
                    return call(module, *args, **kwargs)
                self.depth += 1
                try:
                    out = call(module, *args)
                finally:
                    self.depth -= 1
                self.records.append(_Record(*one_op, out.data, self.here()))
                return out
            finally:
                self.calls.pop()
        return noted

    def _refuse_function(self, cls, *args):
        raise UnsupportedOperatorError(f"onnx.export: the custom Function {cls.__name__} (in "
                                       f"{self.here()}) has no ONNX mapping")


def _as_one_op(module, args) -> tuple[str, tuple[Any, ...], dict[str, Any]] | None:
    """(op, arrays, params) for a module call ONNX has one op for, else None."""
    if len(args) != 1 or not isinstance(args[0], Tensor):
        return None
    x = args[0].data
    if isinstance(module, _BatchNorm) and module.track_running_stats and not module.training \
            and x.ndim >= 2:
        scale = np.ones(module.num_features, x.dtype) if module.weight is None \
            else module.weight.data
        shift = np.zeros(module.num_features, x.dtype) if module.bias is None \
            else module.bias.data
        assert module.running_mean is not None and module.running_var is not None  # tracked
        return ("batch_norm", (x, scale, shift, module.running_mean.data,
                               module.running_var.data), {"eps": module.eps})
    if isinstance(module, (AvgPool1d, AvgPool2d)):
        dims = 1 if isinstance(module, AvgPool1d) else 2
        if x.ndim == dims + 2:
            return ("avg_pool", (x,), {k: _pair(getattr(module, k), dims)
                                       for k in ("kernel_size", "stride", "padding")})
    if isinstance(module, AdaptiveAvgPool2d) and x.ndim == 4 and \
            _pair(module.output_size, 2) == (1, 1):
        return "global_avg_pool", (x,), {}
    return None


def _pair(value, dims):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims


# ---- the graph ---------------------------------------------------------------------------------


class _Builder:
    """One recording as ONNX nodes: ``value`` names each argument, the handlers add nodes."""

    def __init__(self, trace, input_names, opset):
        self.trace, self.opset = trace, opset
        self.names = {id(a): n for a, n in zip(trace.inputs, input_names)}  # id -> value name
        self.nodes, self.initializers = [], []
        self.constants = []  # (name, array, the node reading it) in order of creation
        self.record: _Record | None = None  # the record being written
        self.count = 0

    def build(self, output_names):
        for record in self.trace.records:
            handler = _HANDLERS.get(record.op)
            if handler is None:
                raise UnsupportedOperatorError(
                    f"onnx.export: the op '{record.op}' (in {record.where}) has no ONNX mapping; "
                    f"ops with one: {', '.join(sorted(_HANDLERS))}")
            self.record = record
            self.names[id(record.out)] = handler(self, *record.arrays, **record.params)
        self._name_outputs(output_names)
        return helper.make_graph(self.nodes, "autograd_lite", [], [], self.initializers)

    def _name_outputs(self, output_names):
        """Rename the node making each output to its output name (an Identity where the output
        is an input, a parameter, a constant or another output)."""
        renamed = {}
        made = {out: node for node in self.nodes for out in node.output}
        for array, name in zip(self.trace.outputs, output_names):
            value = self.value(array)
            if value in made and value not in renamed:
                renamed[value] = name
            else:
                self.nodes.append(helper.make_node("Identity", [value], [name]))
        for node in self.nodes:
            node.input[:] = [renamed.get(n, n) for n in node.input]
            node.output[:] = [renamed.get(n, n) for n in node.output]

    def value(self, a, dtype=None):
        """The graph's name for an op argument (cast to ``dtype`` if given): an input, a
        recorded result, a parameter or buffer (its state_dict name), else a constant."""
        if isinstance(a, Tensor):
            a = a.data
        if isinstance(a, np.ndarray):
            name = self.names.get(id(a))
            if name is None and id(a) in self.trace.leaves:
                name, array = self.trace.leaves[id(a)]
                self.initializers.append(numpy_helper.from_array(array, name))
                self.names[id(a)] = name
            if name is not None and (dtype is None or a.dtype == dtype):
                return name
            if name is not None:
                return self.node("Cast", name, to=_onnx_type(dtype))
        return self.constant(np.asarray(a, dtype))

    def constant(self, array):
        name = self.fresh("const")
        self.initializers.append(numpy_helper.from_array(np.array(array, order="C"), name))
        self.constants.append((name, np.array(array), self.record))
        return name

    def ints(self, values):
        return self.constant(np.array(values, np.int64).reshape(-1))

    def fresh(self, hint):
        """A new name, "/mul_12": the slash keeps it apart from the user's and state_dict's."""
        self.count += 1
        return f"/{hint}_{self.count}"

    def node(self, op_type, *inputs, **attrs):
        """Add a node; the name of its output."""
        record = self.record
        assert record is not None  # handlers run only from build, which sets it
        out = self.fresh(record.op)
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], self.fresh(op_type),
                                           doc_string=f"{record.op} in {record.where}",
                                           **attrs))
        return out

    def reduce(self, op_type, x, axes, keepdims):
        """A Reduce* node: ``axes`` an input from opset 18 (ReduceSum: 13), an attribute before."""
        if axes is None:
            return self.node(op_type, x, keepdims=int(keepdims))
        axes = [axes] if isinstance(axes, int) else list(axes)
        if not axes:  # numpy reduces over no axis: each value alone
            return x
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.node(op_type, x, self.ints(axes), keepdims=int(keepdims))
        return self.node(op_type, x, axes=axes, keepdims=int(keepdims))


def _onnx_type(dtype):
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


# ---- the op mapping: one handler per primitive, called with the forward's own arguments -------


def _elementwise(op_type):
    def handle(b, *arrays):  # numpy's result dtype, each input cast to it
        return b.node(op_type, *(b.value(a, b.record.out.dtype) for a in arrays))
    return handle


def _compare(op_type, negate=False):
    def handle(b, x, y):
        common = np.result_type(x, y)
        out = b.node(op_type, b.value(x, common), b.value(y, common))
        return b.node("Not", out) if negate else out
    return handle


def _clip(b, x, min=None, max=None):
    dtype = b.record.out.dtype
    out = b.value(x, dtype)
    if min is not None:
        out = b.node("Max", out, b.value(min, dtype))
    if max is not None:
        out = b.node("Min", out, b.value(max, dtype))
    return out


def _where(b, cond, x, y):
    dtype = b.record.out.dtype
    return b.node("Where", b.value(cond, np.bool_), b.value(x, dtype), b.value(y, dtype))


def _linear(b, x, weight, bias):
    dtype = b.record.out.dtype
    inputs = b.value(x, dtype), b.value(weight, dtype), b.value(bias, dtype)
    if x.ndim == 2:
        return b.node("Gemm", *inputs, transB=1)
    product = b.node("MatMul", inputs[0], b.node("Transpose", inputs[1], perm=[1, 0]))
    return b.node("Add", product, inputs[2])


def _last_columns(b, x, start, stop):
    """x[..., start:stop]."""
    return b.node("Slice", x, b.ints([start]), b.ints([stop]), b.ints([-1]))


def _lstm_gates(b, x, state, w_ih, w_hh, b_ih, b_hh):
    """A fused LSTM step's gate pre-activations: x w_ih^T + b_ih + h w_hh^T + b_hh, h the first
    hidden columns of ``state``."""
    dtype = b.record.out.dtype

    def affine(v, w, bias):
        product = b.node("MatMul", v, b.node("Transpose", b.value(w, dtype), perm=[1, 0]))
        return b.node("Add", product, b.value(bias, dtype))

    h = _last_columns(b, b.value(state, dtype), 0, w_hh.shape[1])
    return b.node("Add", affine(b.value(x, dtype), w_ih, b_ih), affine(h, w_hh, b_hh))


def _lstm_update(b, pre, state):
    """A fused LSTM step's output [h', c', i, f, g, o]: the gates activated, c' = f c + i g,
    h' = o tanh(c'), c the second block of ``state``."""
    dtype = b.record.out.dtype
    n = pre.shape[-1] // 4
    gates = b.value(pre, dtype)
    i, f, g, o = (b.node(activation, _last_columns(b, gates, k * n, (k + 1) * n))
                  for k, activation in enumerate(("Sigmoid", "Sigmoid", "Tanh", "Sigmoid")))
    c = _last_columns(b, b.value(state, dtype), n, 2 * n)
    c_new = b.node("Add", b.node("Mul", f, c), b.node("Mul", i, g))
    h_new = b.node("Mul", o, b.node("Tanh", c_new))
    return b.node("Concat", h_new, c_new, i, f, g, o, axis=-1)


def _reshape(b, x, shape):
    """Leading sizes kept as 0 (copy the input's) and the first other one as -1, so a batch
    axis may change size."""
    out, copied = b.record.out.shape, 0
    while copied < min(x.ndim, len(out)) and out[copied] == x.shape[copied]:
        copied += 1
    spec = [0] * copied + ([-1, *out[copied + 1:]] if copied < len(out) else [])
    return b.node("Reshape", b.value(x), b.ints(spec))


def _transpose(b, x, axes=None):
    perm = list(range(x.ndim))[::-1] if axes is None else [a % x.ndim for a in axes]
    return b.node("Transpose", b.value(x), perm=perm) if perm else b.value(x)


def _broadcast_to(b, x, shape):
    out = b.record.out.shape
    lead = len(out) - x.ndim
    spec = [1 if i >= lead and x.shape[i - lead] == n else n for i, n in enumerate(out)]
    return b.node("Expand", b.value(x), b.ints(spec))


def _squeeze(b, x, axis=None):
    if axis is None:
        axis = [i for i, n in enumerate(x.shape) if n == 1]
    return b.node("Squeeze", b.value(x), b.ints(axis)) if np.size(axis) else b.value(x)


def _unsqueeze(b, x, axis):
    return b.node("Unsqueeze", b.value(x), b.ints(axis))


def _getitem(b, x, index):
    """x[index] as numpy: basic indexing (ints, slices, None, ...) is a Slice, a Gather per int
    and an Unsqueeze per None; one integer array among slices a Gather; integer arrays or one
    mask in the leading positions a GatherND; positions along one axis a GatherElements."""
    items = as_index(index)
    items = list(items) if isinstance(items, tuple) else [items]
    arrays = [i for i in items if isinstance(i, np.ndarray)]
    if len(arrays) == len(items) == x.ndim and (along := _take_along(x, items)) is not None:
        return b.node("GatherElements", b.value(x), b.value(items[along], np.int64), axis=along)
    rest = items[len(arrays):]
    if arrays and all(isinstance(i, np.ndarray) for i in items[:len(arrays)]) and all(
            i in (slice(None), Ellipsis) for i in rest) and (
            len(arrays) > 1 or arrays[0].dtype == np.bool_):
        return _gather_nd(b, x, arrays)
    if any(a.dtype.kind not in "iu" for a in arrays) or len(arrays) > 1 or (
            arrays and any(isinstance(i, (int, np.integer)) for i in items)):
        raise UnsupportedOperatorError(
            f"onnx.export: the indexing x[{_shown(items)}] (in {b.record.where}) has no ONNX "
            "mapping: it mixes integer arrays or masks with other indices")
    used = sum(i is not None and i is not Ellipsis for i in items)
    at = next((k for k, i in enumerate(items) if i is Ellipsis), None)
    if at is not None:
        items[at:at + 1] = [slice(None)] * (x.ndim - used)
    items += [slice(None)] * (x.ndim - used)
    out, slices, takes, news, position, axis = b.value(x), [], [], [], 0, 0
    for item in items:
        if item is None:
            news.append(position)
            position += 1
            continue
        if isinstance(item, slice):
            step = 1 if item.step is None else item.step
            if (item.start, item.stop, step) != (None, None, 1):
                start = item.start if item.start is not None else 0 if step > 0 else _INT64_MAX
                stop = item.stop if item.stop is not None else \
                    _INT64_MAX if step > 0 else _INT64_MIN
                slices.append((start, stop, axis, step))
            position += 1
        else:
            takes.append((axis, item))
            position += 0 if np.ndim(item) == 0 else item.ndim
        axis += 1
    if slices:
        out = b.node("Slice", out, *(b.ints([s[k] for s in slices]) for k in range(4)))
    for axis, item in reversed(takes):
        index_value = b.value(item, np.int64) if isinstance(item, np.ndarray) else \
            b.constant(np.array(item, np.int64))
        out = b.node("Gather", out, index_value, axis=axis)
    return b.node("Unsqueeze", out, b.ints(news)) if news else out


def _shown(items):
    """An index as code would write it, arrays by dtype and shape: ``:, <bool array (3,)>``."""
    def one(i):
        if isinstance(i, slice):
            text = f"{'' if i.start is None else i.start}:{'' if i.stop is None else i.stop}"
            return text if i.step is None else f"{text}:{i.step}"
        if isinstance(i, np.ndarray):
            return f"<{i.dtype} array {i.shape}>"
        return "..." if i is Ellipsis else repr(i)
    return ", ".join(one(i) for i in items)


def _gather_nd(b, x, arrays):
    """x[a, b, ...] for integer arrays (broadcast together) or x[mask] in the leading axes: the
    positions as rows of a (..., k) index (a mask's from NonZero), then GatherND."""
    if len(arrays) == 1 and arrays[0].dtype == np.bool_:
        index = b.node("Transpose", b.node("NonZero", b.value(arrays[0])), perm=[1, 0])
        return b.node("GatherND", b.value(x), index)
    if any(a.dtype.kind not in "iu" for a in arrays):
        raise UnsupportedOperatorError(f"onnx.export: indexing with a mask beside other arrays "
                                       f"(in {b.record.where}) has no ONNX mapping")
    shape = b.ints(np.broadcast_shapes(*(a.shape for a in arrays)))
    minus_one = b.ints([-1])
    columns = [b.node("Unsqueeze", b.node("Expand", b.value(a, np.int64), shape), minus_one)
               for a in arrays]
    return b.node("GatherND", b.value(x), b.node("Concat", *columns, axis=-1))


def _take_along(x, items):
    """The axis d if ``items`` index x as ``np.take_along_axis(x, items[d], d)`` does (every
    other item is ``np.indices(..., sparse=True)``'s, covering its axis), else None."""
    if any(i.dtype.kind not in "iu" for i in items):
        return None
    shape = np.broadcast_shapes(*(i.shape for i in items))
    if len(shape) != x.ndim:
        return None
    counting = [k for k, i in enumerate(items) if shape[k] == x.shape[k]
                and i.shape == tuple(n if j == k else 1 for j, n in enumerate(shape))
                and np.array_equal(i.ravel(), np.arange(shape[k]))]
    other = [k for k in range(x.ndim) if k not in counting]
    return other[0] if len(other) == 1 and items[other[0]].shape == shape else None


def _concatenate(b, *arrays, axis=0):
    dtype = b.record.out.dtype
    return b.node("Concat", *(b.value(a, dtype) for a in arrays), axis=axis % b.record.out.ndim)


def _stack(b, *arrays, axis=0):
    dtype, axis = b.record.out.dtype, axis % b.record.out.ndim
    return b.node("Concat", *(b.node("Unsqueeze", b.value(a, dtype), b.ints([axis]))
                              for a in arrays), axis=axis)


def _gather(b, input, dim, index):
    if input.ndim == 0:  # the one value (ONNX gathers from 1 dim or more)
        return b.node("Identity", b.value(input))
    return b.node("GatherElements", b.value(input), b.value(index, np.int64),
                  axis=dim % input.ndim)


def _convolution(b, input, weight, stride, padding, dilation, groups):
    pads = [p[0] for p in padding] + [p[1] for p in padding]
    return b.node("Conv", b.value(input), b.value(weight, input.dtype), pads=pads,
                  strides=list(stride), dilations=list(dilation), group=groups,
                  kernel_shape=list(weight.shape[2:]))


def _pool(op_type, **extra):
    def handle(b, input, kernel_size, stride, padding):
        """ONNX pools (N, C, *spatial): other leading dims are folded into N and back."""
        spatial = input.shape[input.ndim - len(kernel_size):]
        batched = input.ndim == len(kernel_size) + 2
        x = b.value(input) if batched else b.node("Reshape", b.value(input),
                                                  b.ints([-1, 1, *spatial]))
        out = b.node(op_type, x, kernel_shape=list(kernel_size), strides=list(stride),
                     pads=list(padding) * 2, **extra)
        return out if batched else b.node("Reshape", out, b.ints(b.record.out.shape))
    return handle


def _batch_norm(b, x, scale, shift, mean, var, eps):
    return b.node("BatchNormalization", b.value(x), b.value(scale), b.value(shift),
                  b.value(mean), b.value(var), epsilon=float(eps))


def _reduction(op_type):
    def handle(b, x, axis=None, keepdims=False):
        return b.reduce(op_type, b.value(x, b.record.out.dtype), axis, keepdims)
    return handle


def _variance(b, x, axis=None, ddof=0, keepdims=False):
    """mean((x - mean(x))^2) * n / (n - ddof) over ``axis``."""
    x_value = b.value(x, b.record.out.dtype)
    centred = b.node("Sub", x_value, b.reduce("ReduceMean", x_value, axis, True))
    out = b.reduce("ReduceMean", b.node("Mul", centred, centred), axis, keepdims)
    n = x.size // max(b.record.out.size, 1)  # the number of values each one reduces
    if ddof:
        out = b.node("Mul", out, b.value(n / (n - ddof), b.record.out.dtype))
    return out


def _std(b, x, axis=None, ddof=0, keepdims=False):
    return b.node("Sqrt", _variance(b, x, axis, ddof, keepdims))


def _softmax(op_type):
    def handle(b, x, axis=-1):
        return b.node(op_type, b.value(x), axis=axis)
    return handle


def _argreduce(op_type):
    def handle(b, x, axis=None, keepdims=False):
        if axis is not None:
            return b.node(op_type, b.value(x), axis=axis, keepdims=int(keepdims))
        flat = b.node("Reshape", b.value(x), b.ints([-1]))  # numpy: an index into x.ravel()
        return b.node("Reshape", b.node(op_type, flat, axis=0, keepdims=1),
                      b.ints(b.record.out.shape))
    return handle


_HANDLERS = {
    **{op: _elementwise(t) for op, t in [
        ("add", "Add"), ("sub", "Sub"), ("mul", "Mul"), ("div", "Div"), ("pow", "Pow"),
        ("maximum", "Max"), ("minimum", "Min"), ("neg", "Neg"), ("exp", "Exp"), ("log", "Log"),
        ("sqrt", "Sqrt"), ("abs", "Abs"), ("sin", "Sin"), ("cos", "Cos"), ("tanh", "Tanh"),
        ("sigmoid", "Sigmoid"), ("softplus", "Softplus"), ("erf", "Erf"), ("relu", "Relu"),
        ("sign", "Sign"), ("clone", "Identity"), ("matmul", "MatMul")]},
    **{op: _compare(t, negate=op == "ne") for op, t in [
        ("eq", "Equal"), ("ne", "Equal"), ("lt", "Less"), ("le", "LessOrEqual"),
        ("gt", "Greater"), ("ge", "GreaterOrEqual")]},
    "clip": _clip,
    "where": _where,
    "astype": lambda b, x, dtype: b.node("Cast", b.value(x), to=_onnx_type(dtype)),
    "linear": _linear,
    "lstm_gates": _lstm_gates,
    "lstm_update": _lstm_update,
    "einsum1": lambda b, x, equation: b.node("Einsum", b.value(x), equation=equation),
    "einsum2": lambda b, x, y, equation: b.node("Einsum", b.value(x), b.value(y, x.dtype),
                                                equation=equation),
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _broadcast_to,
    "squeeze": _squeeze,
    "unsqueeze": _unsqueeze,
    "getitem": _getitem,
    "concatenate": _concatenate,
    "stack": _stack,
    "gather": _gather,
    "convolution": _convolution,
    "max_pool": _pool("MaxPool"),
    "avg_pool": _pool("AveragePool", count_include_pad=1),
    "global_avg_pool": lambda b, x: b.node("GlobalAveragePool", b.value(x)),
    "batch_norm": _batch_norm,
    "sum": _reduction("ReduceSum"),
    "mean": _reduction("ReduceMean"),
    "max": _reduction("ReduceMax"),
    "min": _reduction("ReduceMin"),
    "logsumexp": _reduction("ReduceLogSumExp"),
    "var": _variance,
    "std": _std,
    "softmax": _softmax("Softmax"),
    "log_softmax": _softmax("LogSoftmax"),
    "argmax": _argreduce("ArgMax"),
    "argmin": _argreduce("ArgMin"),
}


# ---- two recordings, one graph -----------------------------------------------------------------


def _reconcile(built, again_built, output_names, input_names, axes):
    """The first run's graph, checked against the second's: the same ops and nodes, and the
    same constants but for those filled with one value along a dynamic axis, which are rebuilt
    from the inputs' shapes."""
    graph, other = built.build(output_names), again_built.build(output_names)
    first, second = built.trace, again_built.trace
    for record, again in zip(first.records, second.records):
        if record.op != again.op:
            raise OnnxExporterError(
                f"onnx.export: a second run on other inputs called other ops ('{again.op}' in "
                f"{again.where} where the first called '{record.op}' in {record.where}): the "
                "forward's control flow depends on the input's values or on the size of a "
                "dynamic axis, which one graph cannot hold")
    if len(first.records) != len(second.records) or len(graph.node) != len(other.node):
        raise OnnxExporterError(
            f"onnx.export: a second run on other inputs called {len(second.records)} ops, the "
            f"first {len(first.records)}: the forward's control flow depends on the input's "
            "values or on the size of a dynamic axis (a loop over a dynamic axis?)")
    for node, again in zip(graph.node, other.node):
        if node != again:
            raise OnnxExporterError(
                f"onnx.export: {node.doc_string} is written differently for inputs of other "
                f"sizes ({_brief(node)} vs {_brief(again)}): it depends on the size of a "
                "dynamic axis in a way one graph cannot hold")
    sizes = _dynamic_sizes(first, second, input_names, axes)
    rebuilt, made = set(), []
    for (name, array, record), (_, again, _) in zip(built.constants, again_built.constants):
        if array.shape == again.shape and np.array_equal(array, again, equal_nan=True):
            continue
        nodes = _filled(name, array, again, sizes)
        if nodes is None:
            what = ("the size of a dynamic axis" if array.shape != again.shape
                    else "the input's values")
            reader = f"'{record.op}' (in {record.where})" if record else "the model's output"
            raise OnnxExporterError(
                f"onnx.export: a value that {reader} reads depends on {what} but was computed "
                "outside autograd_lite's ops (with numpy, from .data, or from a shape), so the "
                f"graph would hold it as a constant of shape {array.shape}; compute it with "
                "tensor ops, or drop that axis from dynamic_axes")
        rebuilt.add(name)
        made += nodes
    kept = [t for t in graph.initializer if t.name not in rebuilt]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = [*made, *graph.node]
    del graph.node[:]
    graph.node.extend(nodes)
    return graph


def _brief(node):
    return f"{node.op_type}({', '.join(node.input)}; " + ", ".join(
        f"{a.name}={helper.get_attribute_value(a)}" for a in node.attribute) + ")"


def _dynamic_sizes(first, second, input_names, axes):
    """{(size in the first run, size in the second): (input name, axis)} of the dynamic axes."""
    sizes: dict[tuple[int, int], tuple[str, int]] = {}
    for name, a, again in zip(input_names, first.inputs, second.inputs):
        for axis in axes.get(name, {}):
            sizes.setdefault((a.shape[axis], again.shape[axis]), (name, axis % a.ndim))
    return sizes


def _filled(name, array, again, sizes):
    """Nodes making ``name``, a constant filled with one value whose shape follows dynamic
    axes, from the inputs' shapes (Shape, Concat, ConstantOfShape); None if it is not one."""
    if array.ndim != again.ndim or not array.size or not again.size:
        return None
    fill = array.flat[0]
    if not (np.all(array == fill) and np.all(again == fill)):
        return None
    parts, nodes = [], []
    for d, (n, m) in enumerate(zip(array.shape, again.shape)):
        part = f"{name}_dim{d}"
        if n == m:
            nodes.append(helper.make_node("Constant", [], [part], value_ints=[n]))
        elif (n, m) in sizes:
            source, axis = sizes[(n, m)]
            nodes.append(helper.make_node("Shape", [source], [part], start=axis, end=axis + 1))
        else:
            return None
        parts.append(part)
    value = numpy_helper.from_array(np.array([fill], array.dtype))
    nodes.append(helper.make_node("Concat", parts, [f"{name}_shape"], axis=0))
    nodes.append(helper.make_node("ConstantOfShape", [f"{name}_shape"], [name], value=value))
    return nodes


def _declare_io(graph, first, second, input_names, output_names, axes):
    """The graph's inputs and outputs, with their dtypes, and their shapes: a dynamic axis by
    its name, an output's size that changed between the runs by the input axis it follows."""
    sizes = {key: axes[name][axis] for key, (name, axis) in
             _dynamic_sizes(first, second, input_names, axes).items()}
    for names, arrays, agains, declared in ((input_names, first.inputs, second.inputs,
                                             graph.input),
                                            (output_names, first.outputs, second.outputs,
                                             graph.output)):
        for name, a, again in zip(names, arrays, agains):
            named = {axis % max(a.ndim, 1): label for axis, label in axes.get(name, {}).items()}
            shape = [named.get(d, sizes.get((n, m), f"{name}_dim{d}") if n != m else n)
                     for d, (n, m) in enumerate(zip(a.shape, again.shape))]
            declared.append(helper.make_tensor_value_info(name, _onnx_type(a.dtype), shape))


