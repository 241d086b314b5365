"""Bad input on every public entry point: either the right answer or a clear error.

The rule (from the issue): every public function, Tensor method and operator, given wrong dtypes
(object, string, complex), NaN/Inf, empty arrays, 0-d tensors, mismatched shapes, non-contiguous
or read-only numpy arrays, ragged lists, bad axes or arguments of the wrong type, either

* behaves correctly: numpy's values (NaN/Inf propagate as numpy's do), gradients that are right
  (finite wherever the maths says so) and a backward that works, or
* raises TypeError / ValueError (IndexError for indexing) whose message names the function the
  user called and the offending shape or dtype,

never an AttributeError, RecursionError or raw numpy error, never a silent wrong result; and the
inputs (arrays, lists, Tensors with their .data and .grad) are unchanged afterwards.

Decisions pinned here for empty input: ``sum`` gives 0 and ``logsumexp`` -inf (their
identities); ``mean``, ``var`` and ``std`` give nan, as numpy; ``max``, ``min``, ``argmax`` and
``argmin`` raise ValueError; ``softmax`` and ``log_softmax`` of an empty tensor are empty.

The tables list every public name; ``test_every_public_name_is_covered_or_exempt`` and
``test_every_tensor_attribute_is_covered_or_exempt`` fail when a new one is in none of them.
"""

from __future__ import annotations

import functools
import math
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import Tensor, ops

# ---- checking helpers ------------------------------------------------------------------------

INDEXING = (TypeError, ValueError, IndexError)


def plain_failure(fn):
    """Report a failed check as its message alone: a pytest traceback would re-parse this long
    file for every frame, which makes hundreds of failures slow to report."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AssertionError as e:
            message = str(e)
        pytest.fail(message, pytrace=False)

    return wrapper


def names_one_of(message, names):
    return any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", message) for n in names)


@plain_failure
def raises_clean(call, names, errors=(TypeError, ValueError), mentions=()):
    """``call()`` must raise one of ``errors`` whose message names one of ``names`` and contains
    every string in ``mentions``; anything else (another exception, a result) fails."""
    expected = "/".join(e.__name__ for e in errors)
    try:
        result = call()
    except errors as e:
        message = str(e)
    except Exception as e:
        frame = traceback.extract_tb(e.__traceback__)[-1]
        raise AssertionError(f"expected a {expected} naming {names}, got {type(e).__name__}: "
                             f"{e} (raised at {frame.filename}:{frame.lineno})") from None
    else:
        raise AssertionError(f"expected a {expected} naming {names}, but it returned {result!r}")
    assert names_one_of(message, names), f"the message does not name {names}: {message!r}"
    for m in mentions:  # "a|b": either will do
        assert any(part in message for part in m.split("|")), \
            f"the message does not mention {m!r}: {message!r}"
    return message


def shape_of(x):
    """An operand's shape; (2,) for the operands that are no array (lists, dicts, ...)."""
    return x.shape if isinstance(x, (np.ndarray, Tensor)) else (2,)


def state(obj):
    """What must not change: values, writeability and strides of arrays, a Tensor's data/grad."""
    if isinstance(obj, Tensor):
        grad = None if obj.grad is None else obj.grad.data.copy()
        return ("Tensor", obj.data.copy(), obj.data.flags.writeable, grad, obj.requires_grad)
    if isinstance(obj, np.ndarray):
        return ("ndarray", obj.copy(), obj.flags.writeable, obj.strides)
    if isinstance(obj, (list, tuple, dict, set)):
        return ("container", repr(obj))
    return ("value", obj)


def same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a is b or a == b


@plain_failure
def assert_unchanged(objs, before):
    for i, (obj, old) in enumerate(zip(objs, before)):
        new = state(obj)
        assert same(old, new), f"argument {i} was changed by the call: {old!r} -> {new!r}"


@plain_failure
def assert_matches(out, expected):
    assert isinstance(out, Tensor), f"returned {type(out).__name__}, not a Tensor"
    assert out.shape == expected.shape, f"shape {out.shape}, numpy gives {expected.shape}"
    assert out.dtype == expected.dtype, f"dtype {out.dtype}, numpy gives {expected.dtype}"
    if expected.dtype.kind == "f":
        rtol = 1e-6 if expected.dtype == np.float32 else 1e-9
        np.testing.assert_allclose(out.data, expected, rtol=rtol, atol=1e-12)  # nan/inf agree
    else:
        np.testing.assert_array_equal(out.data, expected)


def weights(shape):
    """A fixed, nowhere-zero upstream gradient."""
    size = int(np.prod(shape))
    return (np.linspace(0.5, 1.5, size) * (-1.0) ** np.arange(size)).reshape(shape)


def weights_1_2(shape):
    """1, 2, 3, ...: an upstream gradient whose values tell the elements apart."""
    return np.arange(1.0, 1.0 + int(np.prod(shape))).reshape(shape)


def checker(shape):
    """A boolean mask picking every other element."""
    return np.arange(int(np.prod(shape))).reshape(shape) % 2 == 0


# ---- the entry points that take array operands -----------------------------------------------


@dataclass(frozen=True)
class Entry:
    """How to call one public function or Tensor method on array operands.

    ``slots`` has one letter per operand: ``x`` a float operand (a Tensor requiring grad in the
    tests), ``b`` a boolean condition. ``ref`` is numpy's answer on the same arrays. ``grads``
    says which part of the gradient must not be touched by NaN/Inf elsewhere in the input:
    ``all`` (it does not depend on values), ``row1`` (the clean row of a 2-D input, for
    elementwise and last-axis ops) or ``none`` (the op mixes all elements).
    """

    call: Callable
    ref: Callable
    names: tuple
    slots: str = "x"
    grads: str = "all"
    method: bool = False    # call's first operand must be a Tensor (self)
    swap_y: bool = False    # the second operand has the transposed shape (matmul)
    nodiff: bool = False    # a float result that carries no gradient (sign, detach)
    eq_fallback: object = None  # == / != may answer an unsupported operand like Python does


def _lse(a, axis=None):
    return np.log(np.sum(np.exp(a), axis=axis))


def _softmax(a):
    e = np.exp(a)
    return e / np.sum(e, axis=-1, keepdims=True)


NO_NUMPY_TWIN = {  # references for the ops numpy has no function for (the rest use op.numpy)
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)), "relu": lambda a: np.maximum(a, 0.0),
    "softplus": lambda a: np.logaddexp(0.0, a), "erf": np.vectorize(math.erf, otypes=[np.float64]),
    "logsumexp": _lse,
}


def _references(kinds, nin):
    """Every public op of these kinds and inputs, with numpy's twin (or a reference above)."""
    found = {}
    for name in ops.__all__:
        op = getattr(ops, name)
        if getattr(op, "kind", None) in kinds and op.nin == nin and name != "cat":
            found[name] = op.numpy[0] if op.numpy else NO_NUMPY_TWIN[name]
    return found


UNARY_REFS = _references(("elementwise", "compare"), 1)
BINARY_REFS = _references(("elementwise", "compare"), 2)
REDUCTION_REFS = _references(("reduce", "argreduce"), 1)
VALUE_FREE_REDUCTIONS = {"sum", "mean"}  # their gradient does not depend on the values


def _function_entries():
    table = {}

    def unary(name, ref):
        op = getattr(ag, name)
        table[name] = Entry(lambda x: op(x), ref, (name,), grads="row1",
                            nodiff=not op.differentiable)

    def binary(name, ref):
        op = getattr(ag, name)
        table[name] = Entry(lambda x, y: op(x, y), ref, (name,), "xx", "row1")

    def reduction(name, ref):
        op = getattr(ops, name)  # numpy's meaning; ag.<name> is the Tensor method's
        mixing = "all" if name in VALUE_FREE_REDUCTIONS else "none"
        table[name] = Entry(lambda x: op(x), ref, (name,), grads=mixing)
        table[f"{name}(axis=-1)"] = Entry(lambda x: op(x, axis=-1),
                                          lambda a: ref(a, axis=-1), (name,), grads="row1")

    for name, ref in UNARY_REFS.items():
        unary(name, ref)
    for name, ref in BINARY_REFS.items():
        binary(name, ref)
    for name, ref in REDUCTION_REFS.items():
        reduction(name, ref)
    table.update({
        "softmax": Entry(lambda x: ops.softmax(x), _softmax, ("softmax",), grads="row1"),
        "log_softmax": Entry(lambda x: ops.log_softmax(x), lambda a: np.log(_softmax(a)),
                             ("log_softmax",), grads="row1"),
        "clip": Entry(lambda x: ag.clip(x, 0.5, 1.2), lambda a: np.clip(a, 0.5, 1.2), ("clip",),
                      grads="row1"),
        "where": Entry(lambda c, x, y: ag.where(c, x, y), np.where, ("where",), "bxx"),
        "astype": Entry(lambda x: ag.ops.astype(x, np.float32), lambda a: a.astype(np.float32),
                        ("astype",)),
        "astype(float64)": Entry(lambda x: ag.ops.astype(x, np.float64),
                                 lambda a: a.astype(np.float64), ("astype",)),
        "matmul": Entry(lambda x, y: ag.matmul(x, y), np.matmul, ("matmul",), "xx", "none",
                        swap_y=True),
        "reshape": Entry(lambda x: ag.reshape(x, (-1,)), lambda a: np.reshape(a, (-1,)),
                         ("reshape",)),
        "transpose": Entry(lambda x: ops.transpose(x), np.transpose, ("transpose",)),
        "broadcast_to": Entry(lambda x: ag.broadcast_to(x, (2,) + shape_of(x)),
                              lambda a: np.broadcast_to(a, (2,) + a.shape), ("broadcast_to",)),
        "squeeze": Entry(lambda x: ag.squeeze(x), np.squeeze, ("squeeze",)),
        "unsqueeze": Entry(lambda x: ag.unsqueeze(x, 0), lambda a: np.expand_dims(a, 0),
                           ("unsqueeze",)),
        "flatten": Entry(lambda x: ag.flatten(x), lambda a: np.reshape(a, (-1,)), ("flatten",)),
        "swapaxes": Entry(lambda x: ag.swapaxes(x, 0, -1), lambda a: np.swapaxes(a, 0, -1),
                          ("swapaxes",)),
        "getitem": Entry(lambda x: ag.ops.getitem(x, np.s_[..., ::-1]), lambda a: a[..., ::-1],
                         ("getitem",)),
        "getitem(mask)": Entry(lambda x: ag.ops.getitem(x, checker(shape_of(x))),
                               lambda a: a[checker(a.shape)], ("getitem",)),
        "add_at": Entry(lambda x: ag.ops.add_at(x, np.s_[...], shape_of(x)),
                             lambda a: np.zeros(a.shape) + a, ("add_at",)),
        "concatenate": Entry(lambda x, y: ag.concatenate([x, y], axis=-1),
                             lambda a, b: np.concatenate([a, b], axis=-1), ("concatenate",), "xx"),
        "cat": Entry(lambda x, y: ag.cat([x, y], axis=-1),
                     lambda a, b: np.concatenate([a, b], axis=-1), ("cat", "concatenate"), "xx"),
        "stack": Entry(lambda x, y: ag.stack([x, y]), lambda a, b: np.stack([a, b]), ("stack",),
                       "xx"),
        "setitem": Entry(lambda x, y: ag.ops.setitem(x, y, np.s_[...]), lambda a, b: np.array(b),
                         ("setitem",), "xx"),
    })
    return table


FUNCTIONS = _function_entries()

# Operators: ``y + x`` with a Tensor ``x`` and a non-Tensor ``y`` is ``x.__radd__(y)``.
OPERATORS = {
    "__add__": ("add", lambda x, y: x + y, False), "__radd__": ("add", lambda x, y: y + x, True),
    "__sub__": ("sub", lambda x, y: x - y, False), "__rsub__": ("sub", lambda x, y: y - x, True),
    "__mul__": ("mul", lambda x, y: x * y, False), "__rmul__": ("mul", lambda x, y: y * x, True),
    "__truediv__": ("div", lambda x, y: x / y, False),
    "__rtruediv__": ("div", lambda x, y: y / x, True),
    "__pow__": ("pow", lambda x, y: x ** y, False), "__rpow__": ("pow", lambda x, y: y ** x, True),
    "__eq__": ("eq", lambda x, y: x == y, False), "__ne__": ("ne", lambda x, y: x != y, False),
    "__lt__": ("lt", lambda x, y: x < y, False), "__le__": ("le", lambda x, y: x <= y, False),
    "__gt__": ("gt", lambda x, y: x > y, False), "__ge__": ("ge", lambda x, y: x >= y, False),
}


def _method_entries():
    table = {}

    def method(key, call, ref, names, slots="x", grads="all", **kw):
        table[f"Tensor.{key}"] = Entry(call, ref, names, slots, grads, method=True, **kw)

    def unary(name, ref):
        method(name, lambda x: getattr(x, name)(), ref, (name,), grads="row1",
               nodiff=name == "sign")

    def binary(name, ref):
        method(name, lambda x, y: getattr(x, name)(y), ref, (name,), "xx", "row1")

    def operator(key, name, call, reflected):
        ref = BINARY_REFS[name]
        fallback = {"__eq__": False, "__ne__": True}.get(key)
        method(key, call, (lambda a, b: ref(b, a)) if reflected else ref, (name,), "xx", "row1",
               eq_fallback=fallback)

    def reduction(name, ref):
        if name in ("var", "std"):  # the methods have PyTorch's default, correction=1
            ref = (lambda ref: lambda a: ref(a, ddof=1))(ref)
        method(name, lambda x: getattr(x, name)(), ref, (name,),
               grads="all" if name in VALUE_FREE_REDUCTIONS else "none")

    for name, ref in UNARY_REFS.items():
        unary(name, ref)
    for name in ("add", "sub", "mul", "div", "pow", "maximum", "minimum"):
        binary(name, BINARY_REFS[name])
    for key, (name, call, reflected) in OPERATORS.items():
        operator(key, name, call, reflected)
    for name, ref in REDUCTION_REFS.items():
        reduction(name, ref)
    method("matmul", lambda x, y: x.matmul(y), np.matmul, ("matmul",), "xx", "none", swap_y=True)
    method("dot", lambda x, y: x.dot(y), np.matmul, ("dot", "matmul"), "xx", "none", swap_y=True)
    method("__matmul__", lambda x, y: x @ y, np.matmul, ("matmul",), "xx", "none", swap_y=True)
    method("__rmatmul__", lambda x, y: y @ x, lambda a, b: b @ a, ("matmul",), "xx", "none",
           swap_y=True)
    method("__neg__", lambda x: -x, np.negative, ("neg",), grads="row1")
    method("__abs__", lambda x: abs(x), np.abs, ("abs",), grads="row1")
    method("__pos__", lambda x: +x, lambda a: a, ("pos",))
    method("__getitem__", lambda x: x[0], lambda a: a[0], ("getitem",))
    method("softmax", lambda x: x.softmax(), _softmax, ("softmax",), grads="row1")
    method("log_softmax", lambda x: x.log_softmax(), lambda a: np.log(_softmax(a)),
           ("log_softmax",), grads="row1")
    method("clip", lambda x: x.clip(0.5, 1.2), lambda a: np.clip(a, 0.5, 1.2), ("clip",),
           grads="row1")
    method("clamp", lambda x: x.clamp(0.5, 1.2), lambda a: np.clip(a, 0.5, 1.2),
           ("clamp", "clip"), grads="row1")
    method("reshape", lambda x: x.reshape(-1), lambda a: a.reshape(-1), ("reshape",))
    method("view", lambda x: x.view(-1), lambda a: a.reshape(-1), ("view", "reshape"))
    method("flatten", lambda x: x.flatten(), lambda a: a.reshape(-1), ("flatten",))
    method("transpose", lambda x: x.transpose(0, -1), lambda a: np.swapaxes(a, 0, -1),
           ("transpose", "swapaxes"))
    method("permute", lambda x: x.permute(*range(x.ndim)[::-1]), np.transpose,
           ("permute", "transpose"))
    method("T", lambda x: x.T, np.transpose, ("T", "transpose"))
    method("mT", lambda x: x.mT, lambda a: np.swapaxes(a, -2, -1), ("mT", "swapaxes"))
    method("swapaxes", lambda x: x.swapaxes(0, -1), lambda a: np.swapaxes(a, 0, -1),
           ("swapaxes",))
    method("broadcast_to", lambda x: x.broadcast_to((2,) + x.shape),
           lambda a: np.broadcast_to(a, (2,) + a.shape), ("broadcast_to",))
    method("expand", lambda x: x.expand(2, *x.shape),
           lambda a: np.broadcast_to(a, (2,) + a.shape), ("expand", "broadcast_to"))
    method("squeeze", lambda x: x.squeeze(), np.squeeze, ("squeeze",))
    method("unsqueeze", lambda x: x.unsqueeze(-1), lambda a: np.expand_dims(a, -1),
           ("unsqueeze",))
    method("astype", lambda x: x.astype(np.float32), lambda a: a.astype(np.float32),
           ("astype",))
    method("float", lambda x: x.float(), lambda a: a.astype(np.float32), ("float", "astype"))
    method("double", lambda x: x.double(), lambda a: a.astype(np.float64), ("double", "astype"))
    method("long", lambda x: x.long(), lambda a: a.astype(np.int64), ("long", "astype"))
    method("clone", lambda x: x.clone(), np.copy, ("clone",))
    method("detach", lambda x: x.detach(), np.copy, ("detach",), nodiff=True)
    return table


METHODS = _method_entries()
ENTRIES = {**FUNCTIONS, **METHODS}

# ---- every public name is covered or exempt --------------------------------------------------

COVERED_BY_DEDICATED_TESTS = {  # public name -> the test feeding it bad input
    "linear": "test_linear_refuses_mismatched_shapes_naming_them",
    "Tensor": "test_tensor_and_tensor_factory_refuse_an_unsupported_dtype_argument",
    "tensor": "test_data_factories_refuse_bad_data_naming_themselves",
    "from_numpy": "test_data_factories_refuse_bad_data_naming_themselves",
    "zeros_like": "test_data_factories_refuse_bad_data_naming_themselves",
    "ones_like": "test_data_factories_refuse_bad_data_naming_themselves",
    "zeros": "test_factory_arguments_of_the_wrong_kind_are_clear_errors",
    "ones": "test_factory_arguments_of_the_wrong_kind_are_clear_errors",
    "full": "test_factory_arguments_of_the_wrong_kind_are_clear_errors",
    "arange": "test_factory_arguments_of_the_wrong_kind_are_clear_errors",
    "randn": "test_factory_arguments_of_the_wrong_kind_are_clear_errors",
    "rand": "test_factory_arguments_of_the_wrong_kind_are_clear_errors",
    "manual_seed": "test_factory_arguments_of_the_wrong_kind_are_clear_errors",
    "default_generator": "test_functions_without_parameters_refuse_arguments",
    "is_grad_enabled": "test_functions_without_parameters_refuse_arguments",
    "backward": "test_backward_and_grad_refuse_a_bad_gradient_and_change_nothing",
    "grad": "test_backward_and_grad_refuse_outputs_or_inputs_that_are_not_tensors",
    "no_grad": "test_grad_mode_switches_refuse_arguments_of_the_wrong_type",
    "enable_grad": "test_grad_mode_switches_refuse_arguments_of_the_wrong_type",
    "set_grad_enabled": "test_grad_mode_switches_refuse_arguments_of_the_wrong_type",
    "primitive": "test_an_op_declared_with_primitive_validates_its_operands_too",
    "Function": "test_a_function_subclass_takes_unusual_input_and_refuses_bad_operands",
    "detect_anomaly": "test_functions_without_parameters_refuse_arguments",
    "get_default_dtype": "test_functions_without_parameters_refuse_arguments",
    **dict.fromkeys(["eye", "linspace", "logspace", "randint", "randperm", "full_like", "empty"],
                    "tests/test_creation.py::test_bad_arguments_are_clear_errors_naming_the_"
                    "factory"),
    "einsum": "tests/test_ops.py::test_einsum_refuses_bad_equations_naming_itself",
    "compile": "tests/test_compiler.py::test_compile_refuses_what_it_cannot_take",
    "set_default_dtype": "tests/test_dtypes.py (anything but float32 or float64, unchanged after)",
    **dict.fromkeys(["gather", "scatter_add", "index_select", "masked_select", "nonzero"],
                    "tests/test_ops.py::test_indexing_ops_refuse_bad_input_naming_themselves"),
    "graph_size": "test_graph_debugging_helpers_refuse_what_is_not_a_tensor",
    "GraphGrowthGuard": "test_graph_debugging_helpers_refuse_what_is_not_a_tensor",
}
EXEMPT = {
    "__version__": "a version string, not callable",
    "ops": "the op module: its functions are the ones in FUNCTIONS (checked by identity)",
    "REGISTRY": "ops.REGISTRY is the dict of declared ops, not an entry point",
    "Op": "ops.Op is the class of declared ops; each op instance is covered by name",
    "CompileError": "an exception class, raised by compile (tests/test_compiler.py)",
    "float32": "a dtype constant", "float64": "a dtype constant", "int32": "a dtype constant",
    "int64": "a dtype constant", "bool": "a dtype constant",
    "autograd": "torch.autograd's names, re-exported: each is covered under its own name",
    "functions": "ag.<name> for Tensor methods: each is covered as Tensor.<name>",
    "utils": "utils.data re-exports the data tools: tests/test_data.py",
    "COMPOSITES": "ops.COMPOSITES is the dict of declared composites, not an entry point",
    "Composite": "the class of declared composites; each one is covered by name",
    "composite": "a decorator; the function it declares keeps its own argument checks",
    "FunctionCtx": "made by Function.apply and handed to forward/backward, never by users",
    "GraphGrowthWarning": "a warning category",
    "ForgottenZeroGradWarning": "a warning category",
    "is_debug_enabled": "no argument (test_debug.py)",
    "set_debug": "tests/test_debug.py: anything but True or False is a TypeError",
    "nn": "the nn package: its modules and functions have tests/test_nn_*.py",
    "viz": "the drawing module: tests/test_viz.py, tests/test_viz_page.py",
    "testing": "gradcheck, check_op: tests/test_testing.py",
    "fit": "the training loop: tests/test_training.py", "evaluate": "tests/test_training.py",
    "History": "a record of losses", "EarlyStopping": "a callback: tests/test_training.py",
    "accuracy": "a metric: tests/test_training.py",
    "optim": "the optim package: tests/test_optim*.py", "data": "tests/test_data.py",
    "datasets": "tests/test_datasets.py", "io": "the checkpoint module: tests/test_io.py",
    "diagnostics": "tests/test_diagnostics.py", "plot": "tests/test_plot.py",
    "save": "tests/test_io.py (unsupported values, atomicity)",
    "load": "tests/test_io.py (corrupted, truncated and foreign files)",
}

TENSOR_COVERED_BY_DEDICATED_TESTS = {
    "__init__": "test_tensor_and_tensor_factory_refuse_an_unsupported_dtype_argument",
    "backward": "test_backward_and_grad_refuse_a_bad_gradient_and_change_nothing",
    "grad": "test_assigning_a_grad_of_an_unsupported_or_different_dtype",
    "requires_grad": "test_integer_and_bool_tensors_refuse_requires_grad_everywhere",
    "requires_grad_": "test_integer_and_bool_tensors_refuse_requires_grad_everywhere",
    "register_hook": "test_arguments_of_the_wrong_type_are_clear_errors",
    "register_post_accumulate_grad_hook": "test_arguments_of_the_wrong_type_are_clear_errors",
    "retain_grad": "test_conversions_and_graph_methods_on_0d_empty_and_nan_tensors",
    "item": "test_conversions_and_graph_methods_on_0d_empty_and_nan_tensors",
    "tolist": "test_conversions_and_graph_methods_on_0d_empty_and_nan_tensors",
    "numpy": "test_conversions_and_graph_methods_on_0d_empty_and_nan_tensors",
    "__array__": "test_conversions_and_graph_methods_on_0d_empty_and_nan_tensors",
    "__bool__": "test_conversions_and_graph_methods_on_0d_empty_and_nan_tensors",
    "__float__": "test_conversions_and_graph_methods_on_0d_empty_and_nan_tensors",
    "__int__": "test_conversions_and_graph_methods_on_0d_empty_and_nan_tensors",
    "__index__": "test_conversions_and_graph_methods_on_0d_empty_and_nan_tensors",
    "__len__": "test_conversions_and_graph_methods_on_0d_empty_and_nan_tensors",
    "__iter__": "test_conversions_and_graph_methods_on_0d_empty_and_nan_tensors",
    "__repr__": "test_conversions_and_graph_methods_on_0d_empty_and_nan_tensors",
    "__array_ufunc__": "test_bad_operand_is_a_clear_error_and_changes_nothing (ndarray + x)",
    "__array_function__": "test_numpy_functions_on_tensors_refuse_bad_input_like_the_ops",
}
INPLACE = {  # in-place method -> (call(t, other), numpy's in-place result, names)
    "add_": (lambda t, v: t.add_(v), np.add, ("add_", "add")),
    "sub_": (lambda t, v: t.sub_(v), np.subtract, ("sub_", "sub")),
    "mul_": (lambda t, v: t.mul_(v), np.multiply, ("mul_", "mul")),
    "div_": (lambda t, v: t.div_(v), np.true_divide, ("div_", "div")),
    "__iadd__": (lambda t, v: t.__iadd__(v), np.add, ("add_", "add")),
    "__isub__": (lambda t, v: t.__isub__(v), np.subtract, ("sub_", "sub")),
    "__imul__": (lambda t, v: t.__imul__(v), np.multiply, ("mul_", "mul")),
    "__itruediv__": (lambda t, v: t.__itruediv__(v), np.true_divide, ("div_", "div")),
    "fill_": (lambda t, v: t.fill_(v), lambda a, v: np.zeros_like(a) + v, ("fill_",)),
    "copy_": (lambda t, v: t.copy_(v), lambda a, v: np.zeros_like(a) + v, ("copy_",)),
    "zero_": (lambda t, v: t.zero_(), lambda a, v: np.zeros_like(a), ("zero_", "fill_")),
    "__setitem__": (lambda t, v: t.__setitem__(Ellipsis, v), lambda a, v: np.zeros_like(a) + v,
                    ("__setitem__", "setitem")),
}
PARITY = "tests/test_parity.py::"
TENSOR_COVERED_ELSEWHERE = {  # PyTorch's methods, with PyTorch's errors: tests/test_parity.py
    "size": PARITY + "test_size_is_the_shape_or_one_length_and_numel_dim_ndim_shape_agree",
    "t": PARITY + "test_t_transposes_a_matrix_and_leaves_vectors_alone_but_refuses_3d",
    "norm": PARITY + "test_norm_of_zeros_has_a_zero_gradient_and_nuc_is_refused",
    "cumsum": PARITY + "test_cumsum_runs_along_a_dim_and_its_gradient_sums_the_tail",
    "split": PARITY + "test_split_by_size_or_by_sections_and_chunk_by_count",
    "chunk": PARITY + "test_split_by_size_or_by_sections_and_chunk_by_count",
    "flip": PARITY + "test_flip_reverses_the_given_dims",
    "roll": PARITY + "test_roll_shifts_with_wraparound_along_dims_or_the_flattened_tensor",
    "repeat": PARITY + "test_repeat_tiles_whole_tensors_and_sums_the_gradient_of_the_copies",
    "to": PARITY + "test_to_converts_dtype_and_returns_self_when_nothing_changes",
    "cpu": PARITY + "test_only_the_cpu_exists", "cuda": PARITY + "test_only_the_cpu_exists",
    "device": PARITY + "test_only_the_cpu_exists",
    "type": PARITY + "test_type_names_pytorchs_tensor_type_and_type_of_a_dtype_converts",
    "int": PARITY + "test_float_double_long_int_bool_convert_and_return_self_when_already_so",
    "bool": PARITY + "test_float_double_long_int_bool_convert_and_return_self_when_already_so",
    "contiguous": PARITY + "test_contiguous_is_self_or_a_c_ordered_copy_with_the_gradient_"
                           "flowing_back",
    "detach_": PARITY + "test_detach__cuts_a_tensor_from_the_graph_in_place",
    "expand_as": PARITY + "test_expand_as_and_view_as_take_the_other_tensors_shape",
    "view_as": PARITY + "test_expand_as_and_view_as_take_the_other_tensors_shape",
    "new_zeros": PARITY + "test_new_factories_take_this_tensors_dtype",
    "new_ones": PARITY + "test_new_factories_take_this_tensors_dtype",
    "new_full": PARITY + "test_new_factories_take_this_tensors_dtype",
    "new_tensor": PARITY + "test_new_factories_take_this_tensors_dtype",
    "masked_fill": PARITY + "test_masked_fill_writes_value_where_the_bool_mask_is_true",
    **dict.fromkeys(["masked_fill_", "scatter_add_"], PARITY + "test_scatter_add_and_masked_"
                    "fill_in_place_follow_the_in_place_rules"),
    "allclose": PARITY + "test_allclose_and_equal_answer_with_a_python_bool",
    "equal": PARITY + "test_allclose_and_equal_answer_with_a_python_bool",
    **dict.fromkeys(["gather", "scatter_add", "index_select", "masked_select", "nonzero", "sort",
                     "topk"], PARITY + "test_indexing_methods_take_pytorchs_spellings"),
}
TENSOR_EXEMPT = {
    "data": "attribute", "grad_fn": "attribute", "name": "attribute", "shape": "attribute",
    "ndim": "attribute", "dtype": "attribute", "is_leaf": "attribute",
    "retains_grad": "read-only flag", "dim": "no argument", "numel": "no argument",
    "__hash__": "identity hash, no data involved",
}


def _tensor_public_names():
    names = {n for n in dir(Tensor) if not n.startswith("_")}
    names |= {n for n, v in vars(Tensor).items() if n.startswith("__") and n.endswith("__")
              and (callable(v) or isinstance(v, property))}
    return names


def test_every_public_name_is_covered_or_exempt():
    public = set(ag.__all__) | set(ops.__all__)
    covered = ({key.split("(")[0] for key in FUNCTIONS} | set(COVERED_BY_DEDICATED_TESTS)
               | set(EXEMPT) | set(ag.functions.__all__))  # those: as Tensor methods, below
    assert public - covered == set(), "add these public names to a table in this file"
    for name in set(ops.__all__) - set(EXEMPT) - set(ag.functions.__all__):
        assert getattr(ag, name) is getattr(ops, name), f"ag.{name} is not ops.{name}"
    for name in ag.functions.__all__:  # PyTorch's meaning: the Tensor method, as a function
        assert getattr(ag, name).__name__ == name and name in dir(ag.Tensor)


def test_every_tensor_attribute_is_covered_or_exempt():
    covered = ({key.removeprefix("Tensor.") for key in METHODS} | set(INPLACE)
               | set(TENSOR_COVERED_BY_DEDICATED_TESTS) | set(TENSOR_COVERED_ELSEWHERE)
               | set(TENSOR_EXEMPT))
    missing = _tensor_public_names() - covered
    assert missing == set(), "add these Tensor methods/operators to a table in this file"


# ---- wrong dtypes and types as operands ------------------------------------------------------

BAD_OPERANDS = {  # kind -> (make it, the error, what the message must mention)
    "object-array": (lambda: np.array([object(), object()]), TypeError, "object"),
    "string-array": (lambda: np.array(["a", "b"]), TypeError, "<U1"),
    "bytes-array": (lambda: np.array([b"a", b"b"]), TypeError, "S1"),
    "complex-array": (lambda: np.array([1 + 1j, 2j]), TypeError, "complex128"),
    "complex64-array": (lambda: np.array([1j, 1j], dtype=np.complex64), TypeError, "complex64"),
    "datetime-array": (lambda: np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]"),
                       TypeError, "datetime64"),
    "object-list": (lambda: [object(), object()], TypeError, "object"),
    "string-list": (lambda: ["a", "b"], TypeError, "<U1"),
    "number-and-string-list": (lambda: [1.0, "a"], TypeError, "<U"),
    "complex-list": (lambda: [1 + 1j, 2j], TypeError, "complex"),
    "complex-number": (lambda: 1j, TypeError, "complex"),
    "numpy-complex-scalar": (lambda: np.complex128(1j), TypeError, "complex"),
    "string": (lambda: "ab", TypeError, "str|<U2"),
    "none": (lambda: None, TypeError, "None|object"),
    "dict": (lambda: {"a": 1.0}, TypeError, "dict|object"),
    "set": (lambda: {1.0, 2.0}, TypeError, "set|object"),
    "ragged-list": (lambda: [[1.0, 2.0], [3.0]], ValueError, ""),
    "ragged-nesting": (lambda: [1.0, [2.0, 3.0]], ValueError, ""),
}


def good_operands(entry, shapes=None):
    """Operands that are fine: float Tensors requiring grad (with a .grad already there, which
    must survive), boolean arrays for conditions."""
    shapes = shapes or [(2,)] * len(entry.slots)
    result = []
    for slot, shape in zip(entry.slots, shapes):
        if slot == "b":
            result.append(checker(shape))
        else:
            t = Tensor(np.linspace(0.6, 1.4, int(np.prod(shape))).reshape(shape),
                       requires_grad=True)
            t.grad = np.full(shape, 0.25)
            result.append(t)
    return result


OPERAND_SLOTS = [(name, slot) for name, e in ENTRIES.items() for slot in range(len(e.slots))
                 if not (e.method and slot == 0)]


@pytest.mark.parametrize("bad", sorted(BAD_OPERANDS))
@pytest.mark.parametrize("name, slot", OPERAND_SLOTS, ids=[f"{n}-{s}" for n, s in OPERAND_SLOTS])
def test_bad_operand_is_a_clear_error_and_changes_nothing(name, slot, bad):
    entry = ENTRIES[name]
    make, error, mention = BAD_OPERANDS[bad]
    operands = good_operands(entry)
    operands[slot] = make()
    before = [state(o) for o in operands]
    if entry.eq_fallback is not None and not isinstance(operands[slot], (np.ndarray, list)):
        try:  # x == None may answer as Python does for unrelated types
            assert entry.call(*operands) is entry.eq_fallback
            return
        except TypeError as e:
            assert names_one_of(str(e), entry.names), str(e)
    else:
        raises_clean(lambda: entry.call(*operands), entry.names, (error,), mentions=(mention,))
    assert_unchanged(operands, before)


# ---- NaN/Inf, empty, 0-d, non-contiguous and read-only inputs: they just work ------------------

KINDS = {  # kind -> the shape of the (first) operand
    "nan-inf": (2, 3), "empty-1d": (0,), "empty-2d": (2, 0), "zero-d": (),
    "strided": (2, 3), "transposed": (2, 3), "read-only": (2, 3),
}
BAD_ROW = np.array([np.nan, np.inf, -np.inf])


def make_operands(entry, kind, seed=0):
    """One array per slot laid out as ``kind`` says, and the same values clean and contiguous
    (for nan-inf: without the NaN/Inf row, which is row 0 of every float operand)."""
    rng = np.random.default_rng(seed)
    base = KINDS[kind]
    arrays, clean = [], []
    for i, slot in enumerate(entry.slots):
        shape = base[::-1] if entry.swap_y and i == 1 else base
        values = rng.uniform(0.3, 1.7, shape)
        if slot == "b":
            values = values > 1.0
        clean.append(values.copy())
        if kind == "nan-inf" and slot == "x":
            values[0] = np.roll(BAD_ROW, i)[:shape[1]]
        if kind == "strided":  # every other row of a bigger array whose other rows are garbage
            big = np.full((2 * shape[0],) + shape[1:], np.nan).astype(values.dtype)
            big[::2] = values
            values = big[::2]
            assert not values.flags.c_contiguous
        elif kind == "transposed":
            values = np.ascontiguousarray(values.T).T
            assert not values.flags.c_contiguous
        elif kind == "read-only":
            values.setflags(write=False)
        arrays.append(values)
    return arrays, clean


def leaves_of(entry, arrays):
    """Tensors sharing the arrays' memory; the float ones require grad."""
    return [Tensor(a, requires_grad=slot == "x") for a, slot in zip(arrays, entry.slots)]


def numpy_reference(entry, arrays):
    """numpy's answer on copies of the arrays, or None where numpy refuses the input."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(entry.ref(*[np.array(a) for a in arrays]))
    except (ValueError, TypeError, IndexError):
        return None


def gradients(entry, arrays, w):
    leaves = leaves_of(entry, arrays)
    entry.call(*leaves).backward(w)
    return [t.grad.data for t in leaves if t.requires_grad]


def numerical_gradients(entry, arrays, w, eps=1e-6):
    """Central differences of sum(w * ref(...)) with respect to each float operand."""
    arrays = [np.array(a) for a in arrays]

    def f(values):
        return float(np.sum(w * entry.ref(*values)))

    result = []
    for i, slot in enumerate(entry.slots):
        if slot != "x":
            continue
        g = np.zeros_like(arrays[i])
        for j in np.ndindex(arrays[i].shape):
            up, down = [a.copy() for a in arrays], [a.copy() for a in arrays]
            up[i][j] += eps
            down[i][j] -= eps
            g[j] = (f(up) - f(down)) / (2 * eps)
        result.append(g)
    return result


@plain_failure
def check_gradients(entry, kind, got, arrays, clean, w, out_dtype):
    if kind in ("strided", "transposed", "read-only"):  # as on contiguous, writable copies
        want = gradients(entry, [np.array(a) for a in arrays], w)
        for i, (g, wg) in enumerate(zip(got, want)):
            np.testing.assert_allclose(g, wg, rtol=1e-12, atol=0, err_msg=(
                f"gradient of float operand {i}: {kind} input vs a contiguous copy"))
    elif kind == "nan-inf" and entry.grads != "none":
        want = gradients(entry, clean, w)
        for i, (g, wg) in enumerate(zip(got, want)):
            part = (slice(None),) if entry.grads == "all" or g.ndim != 2 else (1,)
            assert np.isfinite(g[part]).all(), \
                f"NaN/Inf leaked into the clean part of the gradient of operand {i}: {g}"
            np.testing.assert_allclose(g[part], wg[part], rtol=1e-9, atol=1e-12, err_msg=(
                f"gradient of float operand {i}, clean part, vs the input without NaN/Inf"))
    elif kind == "zero-d" and out_dtype == np.float64:
        for i, (g, wg) in enumerate(zip(got, numerical_gradients(entry, arrays, w))):
            np.testing.assert_allclose(g, wg, rtol=1e-5, atol=1e-7, err_msg=(
                f"gradient of float operand {i} vs central differences of numpy's answer"))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_unusual_but_valid_input_gives_numpys_values_and_right_gradients(name, kind):
    entry = ENTRIES[name]
    arrays, clean = make_operands(entry, kind)
    before = [state(a) for a in arrays]
    expected = numpy_reference(entry, arrays)
    leaves = leaves_of(entry, arrays)
    if expected is None:  # numpy refuses this input, and so must we: cleanly, naming the shape
        raises_clean(lambda: entry.call(*leaves), entry.names, INDEXING,
                     mentions=(str(KINDS[kind]),))
        assert_unchanged(arrays, before)
        return
    out = entry.call(*leaves)
    assert_matches(out, expected)
    differentiable = expected.dtype.kind == "f" and not entry.nodiff
    assert out.requires_grad == differentiable
    if differentiable:
        w = weights(out.shape)
        out.backward(w, retain_graph=True)
        got = [t.grad.data.copy() for t in leaves if t.requires_grad]
        for t in leaves:
            if t.requires_grad:
                assert t.grad.shape == t.shape and t.grad.dtype == t.dtype
                assert t.grad.data.flags.writeable, "the gradient buffer is read-only"
        out.backward(w)  # accumulates in place into those buffers
        for t, g in zip([t for t in leaves if t.requires_grad], got):
            np.testing.assert_array_equal(t.grad.data, 2 * g)
        check_gradients(entry, kind, got, arrays, clean, w, out.dtype)
    assert_unchanged(arrays, before)
    if not entry.method:  # the plain arrays work as well, and stay as they were
        assert_matches(entry.call(*arrays), expected)
        assert_unchanged(arrays, before)


# ---- NaN/Inf: gradients finite where the maths says so ---------------------------------------

INF_GRADIENTS = {  # case -> (function, input, expected gradient of sum(out * [1, 2, ...]))
    "exp(-inf)": (ag.exp, [-np.inf, 0.0], [0.0, 2.0]),
    "sigmoid(+-inf)": (ag.sigmoid, [np.inf, -np.inf], [0.0, 0.0]),
    "tanh(+-inf)": (ag.tanh, [np.inf, -np.inf], [0.0, 0.0]),
    "relu(+-inf)": (ag.relu, [np.inf, -np.inf], [1.0, 0.0]),
    "abs(+-inf)": (ag.abs, [np.inf, -np.inf], [1.0, -2.0]),
    "sqrt(inf)": (ag.sqrt, [np.inf], [0.0]),
    "log(inf)": (ag.log, [np.inf], [0.0]),
    "1/x at inf": (lambda x: 1.0 / x, [np.inf, -np.inf], [0.0, 0.0]),
    "clip(+-inf)": (lambda x: ag.clip(x, -1.0, 1.0), [np.inf, -np.inf], [0.0, 0.0]),
    "softmax([-inf, 0])": (ag.softmax, [-np.inf, 0.0], [0.0, 0.0]),
    "log_softmax([-inf, 0])": (ag.log_softmax, [-np.inf, 0.0], [1.0, -1.0]),
    "logsumexp([-inf, 0])": (ag.logsumexp, [-np.inf, 0.0], [0.0, 1.0]),
    "max([-inf, 0])": (ag.max, [-np.inf, 0.0], [0.0, 1.0]),
    "mean([inf, 1])": (ag.mean, [np.inf, 1.0], [0.5, 0.5]),
    "max with a NaN: 0 for the finite elements": (ag.max, [np.nan, 1.0, 2.0], [None, 0.0, 0.0]),
    "min with a NaN: 0 for the finite elements": (ag.min, [1.0, np.nan, 0.5], [0.0, None, 0.0]),
    "max over rows with a NaN": (lambda x: ag.reshape(x, (2, 2)).max(axis=1).values,
                                 [np.nan, 1.0, 3.0, 2.0], [None, 0.0, 2.0, 0.0]),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("case", sorted(INF_GRADIENTS))
def test_gradients_are_finite_where_the_maths_says_so(case):
    fn, values, expected = INF_GRADIENTS[case]
    x = ag.tensor(np.array(values), requires_grad=True)
    out = fn(x)
    (out * weights_1_2(out.shape)).sum().backward()
    for got, want in zip(x.grad.tolist(), expected):
        if want is not None:
            assert got == want, f"{case}: gradient {x.grad.tolist()}, expected {expected}"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_matmul_with_a_nan_row_keeps_the_other_rows_and_the_gradient_of_the_clean_side():
    xv = np.array([[np.nan, 1.0], [2.0, 3.0]])
    yv = np.array([[1.0, -1.0, 0.5], [2.0, 0.0, 1.0]])
    x, y = ag.tensor(xv, requires_grad=True), ag.tensor(yv, requires_grad=True)
    out = x @ y
    np.testing.assert_array_equal(out.numpy(), xv @ yv)
    w = weights(out.shape)
    out.backward(w)
    np.testing.assert_allclose(x.grad.numpy(), w @ yv.T)  # does not involve x: all finite
    np.testing.assert_allclose(y.grad.numpy()[:, :], xv.T @ w)  # row 0 NaN, as the maths says
    assert np.isfinite(y.grad.numpy()[1]).all()


# ---- empty input: the documented decisions ---------------------------------------------------


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("shape, axis", [((0,), None), ((2, 0), 1), ((2, 0), None)],
                         ids=["(0,)", "(2,0)-axis1", "(2,0)-all"])
def test_reductions_of_empty_input_follow_the_documented_decisions(shape, axis):
    def leaf():
        return ag.tensor(np.zeros(shape), requires_grad=True)

    reduced = () if axis is None else (shape[0],)
    for name, value in [("sum", 0.0), ("logsumexp", -np.inf), ("mean", np.nan),
                        ("var", np.nan), ("std", np.nan)]:
        x = leaf()
        out = getattr(ops, name)(x, axis=axis)
        assert out.shape == reduced, name
        np.testing.assert_array_equal(out.numpy(), np.full(reduced, value), err_msg=name)
        out.backward(np.ones(reduced))
        assert x.grad.shape == shape, name
    for name in ["max", "min", "argmax", "argmin"]:
        x = leaf()
        raises_clean(lambda: getattr(ops, name)(x, axis=axis), (name,), (ValueError,),  # noqa: B023
                     mentions=(str(shape),))
        assert x.grad is None


@pytest.mark.parametrize("xshape, yshape", [((0, 2), (2, 3)), ((2, 0), (0, 3)), ((0,), (0, 3)),
                                            ((3, 0), (0,))], ids=str)
def test_matmul_with_a_zero_dimension_gives_zeros_and_zero_gradients(xshape, yshape):
    rng = np.random.default_rng(0)
    xv, yv = rng.standard_normal(xshape), rng.standard_normal(yshape)
    x, y = ag.tensor(xv, requires_grad=True), ag.tensor(yv, requires_grad=True)
    out = x @ y
    assert out.shape == np.matmul(xv, yv).shape
    np.testing.assert_array_equal(out.numpy(), np.matmul(xv, yv))
    out.backward(np.ones(out.shape))
    assert x.grad.shape == xshape and y.grad.shape == yshape
    assert not x.grad.numpy().any() and not y.grad.numpy().any()  # really zeros, not garbage


def test_an_empty_operand_broadcast_against_a_full_one_sends_it_a_zero_gradient():
    x = ag.tensor(np.zeros((2, 0)), requires_grad=True)
    y = ag.tensor(np.array([3.0]), requires_grad=True)
    z = ag.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * y).sum().backward()
    assert y.grad.tolist() == [0.0] and x.grad.shape == (2, 0)
    ag.concatenate([ag.reshape(x, (-1,)), z]).sum().backward()
    assert z.grad.tolist() == [1.0, 1.0] and x.grad.shape == (2, 0)


# ---- mismatched shapes -----------------------------------------------------------------------

MISMATCH_SLOTS = [(name, slot) for name, e in ENTRIES.items() if len(e.slots) >= 2
                  for slot in range(len(e.slots)) if slot > 0 or e.slots[0] == "b"]


@pytest.mark.parametrize("name, slot", MISMATCH_SLOTS, ids=[f"{n}-{s}" for n, s in MISMATCH_SLOTS])
def test_mismatched_shapes_are_a_value_error_naming_the_op_and_both_shapes(name, slot):
    entry = ENTRIES[name]
    shapes = [(2, 3)] * len(entry.slots)
    shapes[slot] = (4,)
    operands = good_operands(entry, shapes)
    before = [state(o) for o in operands]
    raises_clean(lambda: entry.call(*operands), entry.names, (ValueError,),
                 mentions=("(2, 3)", "(4,)"))
    assert_unchanged(operands, before)


def _x23():
    x = ag.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    x.grad = np.full((2, 3), 0.5)
    return x


OTHER_MISMATCHES = {  # case -> (call on a (2, 3) tensor x, errors, names, mentions)
    "clip with array bounds": (lambda x: ag.clip(x, np.zeros(4), None), (ValueError,),
                               ("clip",), ("(2, 3)", "(4,)")),
    "add_at src vs index": (lambda x: ag.ops.add_at(x, np.s_[:1], (2, 3)), (ValueError,),
                                 ("add_at",), ("(2, 3)",)),
    "getitem with a mask of another shape": (lambda x: x[np.array([True, False, True])],
                                             INDEXING, ("getitem",), ("(2, 3)",)),
    "Tensor.backward gradient (1, 3) for (2, 3)": (
        lambda x: (x * 2.0).backward(np.ones((1, 3))), (ValueError,), ("backward",),
        ("(1, 3)", "(2, 3)")),
    "ag.backward gradient (3,) for (2, 3)": (
        lambda x: ag.backward([x * 2.0], [np.ones(3)]), (ValueError,), ("backward",),
        ("(3,)", "(2, 3)")),
    "ag.backward 0-d gradient for (1,)": (
        lambda x: ag.backward(x[0, :1], np.ones(())), (ValueError,), ("backward",),
        ("()", "(1,)")),
    "ag.grad grad_outputs (2, 1) for (2, 3)": (
        lambda x: ag.grad(x * 2.0, x, grad_outputs=np.ones((2, 1))), (ValueError,), ("grad",),
        ("(2, 1)", "(2, 3)")),
    "ag.grad two outputs, one gradient": (
        lambda x: ag.grad([x.sum(), x.mean()], x, grad_outputs=[np.ones(())]), (ValueError,),
        ("grad",), ()),
    "add_ of a (4,) into (2, 3)": (lambda x: x.detach().add_(np.ones(4)), (ValueError,),
                                   ("add_", "add"), ("(2, 3)", "(4,)")),
    "copy_ of a (3, 3) into (2, 3)": (lambda x: x.detach().copy_(np.ones((3, 3))), (ValueError,),
                                      ("copy_",), ("(2, 3)", "(3, 3)")),
}


@pytest.mark.parametrize("case", sorted(OTHER_MISMATCHES))
def test_other_shape_mismatches_are_clear_errors_that_change_nothing(case):
    call, errors, names, mentions = OTHER_MISMATCHES[case]
    x = _x23()
    before = [state(x)]
    raises_clean(lambda: call(x), names, errors, mentions)
    assert_unchanged([x], before)


# ---- bad axes and arguments of the wrong type ------------------------------------------------


def _axis_cases():
    cases = {}

    def add(case, call, errors, names, mentions=()):
        cases[case] = (call, errors, names, mentions)

    def reduction(name):
        fn = getattr(ops, name)
        for axis in (5, -5):
            add(f"{name}(axis={axis})", lambda x, axis=axis: fn(x, axis=axis), (ValueError,),
                (name,), (str(axis), "(2, 3)"))
            add(f"Tensor.{name}({axis})", lambda x, axis=axis: getattr(x, name)(axis),
                (ValueError,), (name,), (str(axis), "(2, 3)"))
        for axis in ("a", 1.0, [0]):
            add(f"{name}(axis={axis!r})", lambda x, axis=axis: fn(x, axis=axis), (TypeError,),
                (name,))
        if name in ("argmax", "argmin"):
            add(f"{name}(axis=(0, 1))", lambda x: fn(x, axis=(0, 1)), (TypeError,), (name,))
        elif name not in ("softmax", "log_softmax"):
            for axis in ((0, 0), (1, -1)):
                add(f"{name}(axis={axis})", lambda x, axis=axis: fn(x, axis=axis), (ValueError,),
                    (name,), ("(2, 3)",))

    for name in ("sum", "mean", "max", "min", "var", "std", "logsumexp", "argmax", "argmin",
                 "softmax", "log_softmax"):
        reduction(name)
    for name in ("var", "std"):
        add(f"{name}(ddof='a')", lambda x, name=name: getattr(ops, name)(x, ddof="a"),
            (TypeError,), (name,))

    for axis, error in [(0, ValueError), (5, ValueError), (-5, ValueError), ("a", TypeError)]:
        add(f"squeeze({axis!r})", lambda x, axis=axis: ag.squeeze(x, axis), (error,),
            ("squeeze",))
        add(f"Tensor.squeeze({axis!r})", lambda x, axis=axis: x.squeeze(axis), (error,),
            ("squeeze",))
    for axis, error in [(5, ValueError), (-5, ValueError), ((0, 0), ValueError),
                        ("a", TypeError)]:
        add(f"unsqueeze({axis!r})", lambda x, axis=axis: ag.unsqueeze(x, axis), (error,),
            ("unsqueeze",))
        add(f"Tensor.unsqueeze({axis!r})", lambda x, axis=axis: x.unsqueeze(axis), (error,),
            ("unsqueeze",))
    for axes, error in [((0, 0), ValueError), ((0,), ValueError), ((0, 5), ValueError),
                        (("a", 0), TypeError)]:
        add(f"transpose({axes!r})", lambda x, axes=axes: ops.transpose(x, axes), (error,),
            ("transpose",))
        method_error = {(0, 0): None, (0,): TypeError}.get(axes, error)  # PyTorch: two dims
        if method_error is not None:
            add(f"Tensor.transpose{axes!r}", lambda x, axes=axes: x.transpose(*axes),
                (method_error,), ("transpose",))
        add(f"Tensor.permute{axes!r}", lambda x, axes=axes: x.permute(*axes), (error,),
            ("permute", "transpose"))
    for pair, error in [((0, 5), ValueError), ((-5, 0), ValueError), (("a", 0), TypeError)]:
        add(f"swapaxes{pair!r}", lambda x, pair=pair: ag.swapaxes(x, *pair), (error,),
            ("swapaxes",), ("(2, 3)",) if error is ValueError else ())
        add(f"Tensor.swapaxes{pair!r}", lambda x, pair=pair: x.swapaxes(*pair), (error,),
            ("swapaxes",))
    add("Tensor.mT of a 1-d tensor", lambda x: x[0].mT, (ValueError,), ("mT", "swapaxes"),
        ("(3,)",))
    add("Tensor.mT of a 0-d tensor", lambda x: x[0, 0].mT, (ValueError,), ("mT", "swapaxes"))
    for dims, error in [((5,), ValueError), ((0, 5), ValueError), ((-5,), ValueError),
                        ((1, 0), ValueError), (("a",), TypeError)]:
        add(f"flatten{dims!r}", lambda x, dims=dims: ag.flatten(x, *dims), (error,),
            ("flatten",), ("(2, 3)",) if error is ValueError else ())
        add(f"Tensor.flatten{dims!r}", lambda x, dims=dims: x.flatten(*dims), (error,),
            ("flatten",))
    for name in ("concatenate", "cat", "stack"):
        for axis, error in [(5, ValueError), ("a", TypeError)]:
            add(f"{name}(axis={axis!r})",
                lambda x, name=name, axis=axis: getattr(ag, name)([x, x], axis=axis), (error,),
                (name, "concatenate"))
    for index in [np.s_[:, 7], np.s_[0, 0, 0], [0, 5], 1.5, "a", {"a": 1}, [[0, 1], [0]],
                  np.array([1.5]), np.array([[True]])]:
        add(f"x[{index!r}]", lambda x, index=index: x[index], INDEXING, ("getitem",))
    return cases


AXIS_CASES = _axis_cases()


@pytest.mark.parametrize("case", sorted(AXIS_CASES))
def test_bad_axes_and_indices_are_clear_errors_naming_the_op(case):
    call, errors, names, mentions = AXIS_CASES[case]
    x = _x23()
    before = [state(x)]
    raises_clean(lambda: call(x), names, errors, mentions)
    assert_unchanged([x], before)


WRONG_ARGUMENTS = {  # case -> (call on a (2, 3) tensor x, errors, names, mentions)
    "reshape(x, 'ab')": (lambda x: ag.reshape(x, "ab"), (TypeError,), ("reshape",), ()),
    "reshape(x, 2.5)": (lambda x: ag.reshape(x, 2.5), (TypeError,), ("reshape",), ()),
    "reshape(x, dict)": (lambda x: ag.reshape(x, {"a": 1}), (TypeError,), ("reshape",), ()),
    "Tensor.view('a')": (lambda x: x.view("a"), (TypeError,), ("view", "reshape"), ()),
    "broadcast_to(x, 'ab')": (lambda x: ag.broadcast_to(x, "ab"), (TypeError,),
                              ("broadcast_to",), ()),
    "broadcast_to(x, (2.5,))": (lambda x: ag.broadcast_to(x, (2.5,)), (TypeError,),
                                ("broadcast_to",), ()),
    "broadcast_to(x, (-1, 3))": (lambda x: ag.broadcast_to(x, (-1, 3)), (ValueError,),
                                 ("broadcast_to",), ("(2, 3)",)),
    "Tensor.expand('a')": (lambda x: x.expand("a"), (TypeError,), ("expand", "broadcast_to"), ()),
    "Tensor.expand(3)": (lambda x: x.expand(3), (ValueError,), ("expand", "broadcast_to"),
                         ("(2, 3)",)),
    "astype(x, 'no such dtype')": (lambda x: ag.ops.astype(x, "no such dtype"), (TypeError,),
                                   ("astype",), ()),
    "astype(x, complex)": (lambda x: ag.ops.astype(x, np.complex128), (TypeError,), ("astype",),
                           ("complex128",)),
    "astype(x, object)": (lambda x: ag.ops.astype(x, object), (TypeError,), ("astype",),
                          ("object",)),
    "astype(x, str)": (lambda x: ag.ops.astype(x, str), (TypeError,), ("astype",), ("<U",)),
    "Tensor.astype(complex64)": (lambda x: x.astype(np.complex64), (TypeError,), ("astype",),
                                 ("complex64",)),
    "clip(x, 'a', None)": (lambda x: ag.clip(x, "a", None), (TypeError,), ("clip",), ()),
    "clip(x, 1j, None)": (lambda x: ag.clip(x, 1j, None), (TypeError,), ("clip",),
                          ("complex",)),
    "clip(x, None, complex array)": (lambda x: ag.clip(x, None, np.array([1j, 1j, 1j])),
                                     (TypeError,), ("clip",), ("complex",)),
    "clip(x, ragged list, None)": (lambda x: ag.clip(x, [[0.5], [0.5, 1.0]], None),
                                   (ValueError,), ("clip",), ()),
    "Tensor.clamp(min='a')": (lambda x: x.clamp(min="a"), (TypeError,), ("clamp", "clip"), ()),
    "concatenate(5)": (lambda x: ag.concatenate(5), (TypeError,), ("concatenate",), ()),
    "concatenate(None)": (lambda x: ag.concatenate(None), (TypeError,), ("concatenate",), ()),
    "cat(x) of one tensor": (lambda x: ag.cat(x.sum()), (TypeError, ValueError),
                             ("cat", "concatenate"), ()),
    "stack(5)": (lambda x: ag.stack(5), (TypeError,), ("stack",), ()),
    "stack([])": (lambda x: ag.stack([]), (ValueError,), ("stack",), ()),
    "add_at(x, ..., 'ab')": (lambda x: ag.ops.add_at(x, np.s_[...], "ab"), (TypeError,),
                                  ("add_at",), ()),
    "add_at(x, index out of range)": (lambda x: ag.ops.add_at(x[0], [0, 5, 1], (3,)),
                                           INDEXING, ("add_at",), ()),
    "Tensor.register_hook(5)": (lambda x: x.register_hook(5), (TypeError,),
                                ("register_hook",), ()),
    "Tensor.register_post_accumulate_grad_hook(5)": (
        lambda x: x.register_post_accumulate_grad_hook(5), (TypeError,),
        ("register_post_accumulate_grad_hook",), ()),
}


@pytest.mark.parametrize("case", sorted(WRONG_ARGUMENTS))
def test_arguments_of_the_wrong_type_are_clear_errors(case):
    call, errors, names, mentions = WRONG_ARGUMENTS[case]
    x = _x23()
    before = [state(x)]
    raises_clean(lambda: call(x), names, errors, mentions)
    assert_unchanged([x], before)


def test_register_hook_accepts_a_callable_whose_result_replaces_the_gradient():
    x, seen = _x23(), []
    handle = x.register_hook(lambda g: seen.append(g.tolist()) or g * 2)
    (x * 3).sum().backward()
    assert seen == [[[3.0] * 3] * 2]
    assert x.grad.tolist() == [[6.5] * 3] * 2  # 0.5 already there + 2 * 3
    handle.remove()
    (x * 3).sum().backward()
    assert len(seen) == 1 and x.grad.tolist() == [[9.5] * 3] * 2


@pytest.mark.parametrize("bound", [ag.tensor(0.5), ag.tensor([0.5, 0.5, 1.5])],
                         ids=["0-d", "row"])
def test_clip_with_a_tensor_bound_clips_or_is_a_type_error(bound):
    """Tensors as bounds work (as torch.clamp's) or are refused, never a RecursionError."""
    x = _x23()
    try:
        out = ag.clip(x, bound, None)
    except TypeError as e:
        assert names_one_of(str(e), ("clip",)), str(e)
    else:
        np.testing.assert_array_equal(out.numpy(), np.clip(x.numpy(), bound.numpy(), None))


# ---- factories -------------------------------------------------------------------------------

DATA_FACTORIES = {
    "tensor": (ag.tensor, ("tensor", "Tensor")),
    "Tensor": (Tensor, ("Tensor",)),
    "from_numpy": (ag.from_numpy, ("from_numpy",)),
    "zeros_like": (ag.zeros_like, ("zeros_like",)),
    "ones_like": (ag.ones_like, ("ones_like",)),
}


@pytest.mark.parametrize("bad", sorted(BAD_OPERANDS))
@pytest.mark.parametrize("factory", sorted(DATA_FACTORIES))
def test_data_factories_refuse_bad_data_naming_themselves(factory, bad):
    fn, names = DATA_FACTORIES[factory]
    make, error, mention = BAD_OPERANDS[bad]
    data = make()
    if factory == "from_numpy" and not isinstance(data, np.ndarray):
        error, mention = TypeError, ""  # anything but an array is refused as such
    before = [state(data)]
    raises_clean(lambda: fn(data), names, (error,), mentions=(mention,))
    assert_unchanged([data], before)


def test_tensor_and_tensor_factory_refuse_an_unsupported_dtype_argument():
    arr = np.array([1.0, 2.0])
    for dtype, mention in [(np.complex128, "complex128"), (object, "object"), (str, "<U")]:
        for fn, names in [(Tensor, ("Tensor",)), (ag.tensor, ("tensor", "Tensor"))]:
            raises_clean(lambda fn=fn, dtype=dtype: fn(arr, dtype=dtype), names, (TypeError,),
                         mentions=(mention,))
            raises_clean(lambda fn=fn, dtype=dtype: fn([1.0, 2.0], dtype=dtype), names,
                         (TypeError,))
    assert arr.tolist() == [1.0, 2.0]


FACTORY_ARGUMENTS = {  # case -> (call, errors, names, mentions)
    "full(2, 1j)": (lambda: ag.full(2, 1j), (TypeError,), ("full",), ("complex",)),
    "full(2, 'a')": (lambda: ag.full(2, "a"), (TypeError, ValueError), ("full",), ()),
    "full(2, [1, 2, 3])": (lambda: ag.full(2, [1.0, 2.0, 3.0]), (ValueError,), ("full",),
                           ("(3,)",)),
    "full(2, nan, int64)": (lambda: ag.full(2, np.nan, dtype=np.int64), (ValueError,),
                            ("full",), ()),
    "zeros_like(x, dtype=complex)": (lambda: ag.zeros_like(np.zeros(2), dtype=complex),
                                     (TypeError,), ("zeros_like",), ("complex",)),
    "ones_like(x, dtype=object)": (lambda: ag.ones_like(np.zeros(2), dtype=object),
                                   (TypeError,), ("ones_like",), ("object",)),
    "arange('a')": (lambda: ag.arange("a"), (TypeError,), ("arange",), ()),
    "arange(1j)": (lambda: ag.arange(1j), (TypeError,), ("arange",), ("complex",)),
    "arange(0, 5, 0)": (lambda: ag.arange(0, 5, 0), (ValueError,), ("arange",), ()),
    "arange(0, inf)": (lambda: ag.arange(0, np.inf), (ValueError,), ("arange",), ()),
    "arange(nan)": (lambda: ag.arange(np.nan), (ValueError,), ("arange",), ()),
    "arange(3, dtype=complex)": (lambda: ag.arange(3, dtype=complex), (TypeError,),
                                 ("arange",), ("complex",)),
    "randn(generator=5)": (lambda: ag.randn(2, generator=5), (TypeError,), ("randn",), ()),
    "rand(generator='seed')": (lambda: ag.rand(2, generator="seed"), (TypeError,), ("rand",),
                               ()),
    "manual_seed('a')": (lambda: ag.manual_seed("a"), (TypeError,), ("manual_seed",), ()),
    "manual_seed(-1)": (lambda: ag.manual_seed(-1), (ValueError,), ("manual_seed",), ()),
    "manual_seed(1.5)": (lambda: ag.manual_seed(1.5), (TypeError,), ("manual_seed",), ()),
}


def _shape_factory_cases():
    cases = {}
    makers = {"zeros": ag.zeros, "ones": ag.ones, "randn": ag.randn, "rand": ag.rand,
              "full": lambda *shape, **kw: ag.full(shape, 1.0, **kw)}
    for name, fn in makers.items():
        for shape, error in [(("a",), TypeError), ((-1,), ValueError), ((2.5,), TypeError),
                             (((2, [3]),), TypeError), ((None, 2), TypeError)]:
            cases[f"{name}{shape!r}"] = (lambda fn=fn, shape=shape: fn(*shape), (error,),
                                         (name,), ())
        for dtype in (np.complex64, object, str, "no such dtype"):
            cases[f"{name}(2, dtype={dtype!r})"] = (lambda fn=fn, dtype=dtype: fn(2, dtype=dtype),
                                                    (TypeError,), (name,), ())
    return cases


FACTORY_ARGUMENTS.update(_shape_factory_cases())


@pytest.mark.parametrize("case", sorted(FACTORY_ARGUMENTS))
def test_factory_arguments_of_the_wrong_kind_are_clear_errors(case):
    call, errors, names, mentions = FACTORY_ARGUMENTS[case]
    raises_clean(call, names, errors, mentions)


@pytest.mark.parametrize("fn", [ag.default_generator, ag.is_grad_enabled, ag.detect_anomaly,
                                ag.get_default_dtype],
                         ids=["default_generator", "is_grad_enabled", "detect_anomaly",
                              "get_default_dtype"])
def test_functions_without_parameters_refuse_arguments(fn):
    raises_clean(lambda: fn(5), (fn.__name__,), (TypeError,))


@pytest.mark.parametrize("what", ["string", "array", "none", "list"])
def test_graph_debugging_helpers_refuse_what_is_not_a_tensor(what):
    bad = {"string": "abc", "array": np.ones(2), "none": None, "list": [1.0]}[what]
    raises_clean(lambda: ag.graph_size(bad), ("graph_size",), (TypeError,))
    raises_clean(lambda: ag.GraphGrowthGuard().check(bad), ("graph_size", "check"),
                 (TypeError,))
    x = ag.tensor([1.0], requires_grad=True)
    raises_clean(lambda: ag.graph_size(x * 2.0, limit="a"), ("graph_size",), (TypeError,))


@pytest.mark.parametrize("patience, error", [("a", TypeError), (-1, ValueError)])
def test_graph_growth_guard_refuses_a_bad_patience(patience, error):
    x = ag.tensor([1.0], requires_grad=True)

    def use():
        guard = ag.GraphGrowthGuard(patience)
        for _ in range(3):
            guard.check(x * 2.0)

    raises_clean(use, ("GraphGrowthGuard", "patience"), (error,))


def _readonly(a):
    a = np.array(a)
    a.setflags(write=False)
    return a


UNUSUAL_DATA = {  # case -> numpy array the factories must take as it is
    "0-d": lambda: np.array(1.5),
    "empty (0,)": lambda: np.zeros(0),
    "empty (2, 0)": lambda: np.zeros((2, 0)),
    "nan-inf": lambda: np.array([np.nan, np.inf, -np.inf, 1.0]),
    "strided": lambda: np.arange(12.0).reshape(4, 3)[::2],
    "transposed": lambda: np.arange(6.0).reshape(2, 3).T,
    "read-only": lambda: _readonly(np.arange(6.0).reshape(2, 3)),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("case", sorted(UNUSUAL_DATA))
def test_factories_take_0d_empty_nan_non_contiguous_and_read_only_data(case):
    arr = UNUSUAL_DATA[case]()
    before = [state(arr)]
    copied = ag.tensor(arr, requires_grad=True)
    shared = ag.from_numpy(arr)
    for t in (copied, shared, Tensor(arr), ag.tensor(arr.tolist(), dtype=np.float64)):
        np.testing.assert_array_equal(t.numpy(), arr)
        assert t.shape == arr.shape and t.dtype == np.float64
    assert copied.numpy().flags.writeable and not np.shares_memory(copied.numpy(), arr)
    assert shared.numpy() is arr or np.shares_memory(shared.numpy(), arr)
    for like, fill in [(ag.zeros_like(arr), 0.0), (ag.ones_like(arr), 1.0),
                       (ag.full(arr.shape, 2.5), 2.5)]:
        assert like.shape == arr.shape
        assert (like.numpy() == fill).all()
    (copied * 2.0).sum().backward()
    np.testing.assert_array_equal(copied.grad.numpy(), np.full(arr.shape, 2.0))
    assert_unchanged([arr], before)
    if not arr.flags.writeable:  # an in-place op on a tensor sharing it is refused, cleanly
        raises_clean(lambda: shared.add_(1.0), ("add_",), (ValueError,), ("read-only",))
        assert_unchanged([arr], before)


@pytest.mark.parametrize("shape", [(0,), (2, 0), ()], ids=str)
def test_shape_factories_make_empty_and_0d_tensors(shape):
    for t in (ag.zeros(shape), ag.ones(shape), ag.randn(shape), ag.rand(shape),
              ag.full(shape, 3.0), ag.zeros(*shape)):
        assert t.shape == shape and t.dtype == np.float32
    assert ag.arange(0).shape == (0,)
    assert ag.arange(3, 3).shape == (0,)


# ---- requires_grad on integer tensors --------------------------------------------------------

INTEGER_REQUIRES_GRAD = {  # the cases test_tensor.py does not cover
    "ones(int64)": lambda: ag.ones(2, dtype=np.int64, requires_grad=True),
    "full(int64)": lambda: ag.full(2, 3, dtype=np.int64, requires_grad=True),
    "zeros_like(int array)": lambda: ag.zeros_like(np.arange(3), requires_grad=True),
    "ones_like(bool tensor)": lambda: ag.ones_like(ag.tensor([True]), requires_grad=True),
    "randn(int64)": lambda: ag.randn(2, dtype=np.int64, requires_grad=True),
    "rand(int32)": lambda: ag.rand(2, dtype=np.int32, requires_grad=True),
    "Tensor(uint8)": lambda: Tensor(np.array([1, 2], dtype=np.uint8), requires_grad=True),
    "from_numpy(int).requires_grad_()": lambda: ag.from_numpy(np.arange(3)).requires_grad_(),
    "Tensor(0-d int)": lambda: Tensor(np.array(3), requires_grad=True),
    "Tensor(empty int)": lambda: Tensor(np.zeros(0, dtype=np.int64), requires_grad=True),
}


@pytest.mark.parametrize("case", sorted(INTEGER_REQUIRES_GRAD))
def test_integer_and_bool_tensors_refuse_requires_grad_everywhere(case):
    raises_clean(INTEGER_REQUIRES_GRAD[case], ("floating-point",), (TypeError,))


def test_setting_requires_grad_on_an_integer_tensor_is_refused_and_leaves_it_off():
    n = ag.tensor([1, 2, 3])
    raises_clean(lambda: setattr(n, "requires_grad", True), ("floating-point",), (TypeError,),
                 mentions=("int64",))
    assert n.requires_grad is False


def test_integer_tensors_mix_with_float_ones_and_get_no_gradient():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    n = ag.tensor([2, 0, -1])
    (x * n + n).sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, -1.0]
    assert n.grad is None
    raises_clean(lambda: ag.grad((x * n).sum(), n), ("grad",), (ValueError,))


# ---- backward and grad -----------------------------------------------------------------------

BAD_GRADIENTS = {  # kind -> (make a "gradient" for a float32 (2,) output, error, mention)
    "complex-array": (lambda: np.array([1 + 1j, 1j]), TypeError, "complex"),
    "string-array": (lambda: np.array(["a", "b"]), TypeError, "<U1"),
    "object-array": (lambda: np.array([object(), 1.0], dtype=object), TypeError, "object"),
    "string": (lambda: "ab", TypeError, "str|<U"),
    "dict": (lambda: {"a": 1.0}, TypeError, "dict|object"),
    "ragged-list": (lambda: [[1.0], [2.0, 3.0]], ValueError, ""),
    "complex-list": (lambda: [1j, 1j], TypeError, "complex"),
}
BACKWARD_CALLS = {
    "Tensor.backward": (lambda y, x, g: y.backward(g), ("backward",)),
    "ag.backward": (lambda y, x, g: ag.backward([y], [g]), ("backward",)),
    "ag.grad": (lambda y, x, g: ag.grad(y, x, grad_outputs=g), ("grad",)),
}


@pytest.mark.parametrize("bad", sorted(BAD_GRADIENTS))
@pytest.mark.parametrize("how", sorted(BACKWARD_CALLS))
def test_backward_and_grad_refuse_a_bad_gradient_and_change_nothing(how, bad):
    call, names = BACKWARD_CALLS[how]
    make, error, mention = BAD_GRADIENTS[bad]
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    x.grad = np.array([0.5, 0.5], dtype=np.float32)
    y = x * 3.0
    g = make()
    before = [state(x), state(g)]
    raises_clean(lambda: call(y, x, g), names, (error,), (mention,))
    assert_unchanged([x, g], before)
    y.backward(np.ones(2))  # the graph is intact after the refusal
    assert x.grad.tolist() == [3.5, 3.5]


BAD_OUTPUTS = {  # what is passed as the outputs (or the inputs, for grad)
    "string": lambda x: "abc",
    "none": lambda x: None,
    "number": lambda x: 5,
    "array": lambda x: np.array([1.0]),
    "list with a number": lambda x: [x.sum(), 5],
    "list with None": lambda x: [x.sum(), None],
}


@pytest.mark.parametrize("what", sorted(BAD_OUTPUTS))
@pytest.mark.parametrize("how", ["ag.backward outputs", "ag.grad outputs", "ag.grad inputs"])
def test_backward_and_grad_refuse_outputs_or_inputs_that_are_not_tensors(how, what):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    bad = BAD_OUTPUTS[what](x)
    if how == "ag.backward outputs":
        call, names = (lambda: ag.backward(bad)), ("backward",)
    elif how == "ag.grad outputs":
        call, names = (lambda: ag.grad(bad, x)), ("grad",)
    else:
        call, names = (lambda: ag.grad((x * x).sum(), bad)), ("grad",)
    raises_clean(call, names, (TypeError, ValueError))
    assert x.grad is None


UNUSUAL_GRADIENTS = {  # case -> a valid gradient for a float64 (2, 3) output
    "nan-inf": lambda: np.array([[np.nan, np.inf, -np.inf], [1.0, 2.0, 3.0]]),
    "strided": lambda: np.arange(12.0).reshape(4, 3)[::2],
    "transposed": lambda: np.arange(6.0).reshape(3, 2).T,
    "read-only": lambda: _readonly(np.arange(6.0).reshape(2, 3)),
    "int array": lambda: np.arange(6).reshape(2, 3),
    "nested list": lambda: [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]],
    "float32 tensor": lambda: ag.tensor(np.arange(6.0).reshape(2, 3), dtype=np.float32),
    "float64 tensor": lambda: ag.tensor(np.arange(6.0).reshape(2, 3), dtype=np.float64),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("create_graph", [False, True], ids=["plain", "create_graph"])
@pytest.mark.parametrize("through", ["leaf", "x + 0", "x * 1"])
@pytest.mark.parametrize("case", sorted(UNUSUAL_GRADIENTS))
def test_an_unusual_gradient_argument_works_and_is_never_written_to(case, through, create_graph):
    """Including later: the .grad it produced must not alias it (a second backward accumulates
    into .grad in place)."""
    g = UNUSUAL_GRADIENTS[case]()
    before = [state(g)]
    raw = g.data if isinstance(g, Tensor) else g
    want = np.array(raw, dtype=np.float64)
    x = ag.tensor(np.ones((2, 3)), dtype=np.float64, requires_grad=True)
    y = {"leaf": x, "x + 0": x + 0.0, "x * 1": x * 1.0}[through]
    y.backward(g, create_graph=create_graph)
    np.testing.assert_array_equal(x.grad.numpy(), want)
    assert x.grad.numpy().flags.writeable
    assert not np.shares_memory(x.grad.numpy(), np.asarray(raw))
    (x * 2.0).sum().backward()  # accumulates into x.grad
    np.testing.assert_array_equal(x.grad.numpy(), want + 2.0)
    x.grad.zero_()
    assert_unchanged([g], before)


@pytest.mark.parametrize("shape", [(), (0,), (2, 0)], ids=str)
def test_backward_from_0d_and_empty_outputs(shape):
    x = ag.tensor(np.ones(shape), requires_grad=True)
    (x * 2.0).backward(np.ones(shape))
    np.testing.assert_array_equal(x.grad.numpy(), np.full(shape, 2.0))
    (dx,) = ag.grad(x * 3.0, x, grad_outputs=np.ones(shape))
    np.testing.assert_array_equal(dx.numpy(), np.full(shape, 3.0))


@pytest.mark.parametrize("make", [ag.no_grad, ag.enable_grad], ids=["no_grad", "enable_grad"])
@pytest.mark.parametrize("arg", [5, "a", np.ones(2)], ids=["int", "str", "array"])
def test_grad_mode_switches_refuse_arguments_of_the_wrong_type(make, arg):
    """``no_grad(fn)`` decorates a callable; anything else is a mistake, not a context."""
    mode = ag.is_grad_enabled()
    try:
        raises_clean(lambda: make(arg), (make.__name__,), (TypeError,))
    finally:
        ag.set_grad_enabled(mode)


def test_set_grad_enabled_refuses_a_mode_that_is_not_a_bool():
    mode = ag.is_grad_enabled()
    try:
        raises_clean(lambda: ag.set_grad_enabled("no"), ("set_grad_enabled",), (TypeError,))
    finally:
        ag.set_grad_enabled(mode)
    assert ag.is_grad_enabled() == mode


# ---- Tensor.grad, conversions, in-place methods ----------------------------------------------


@pytest.mark.parametrize("value, dtype", [(np.array([1j, 1j]), "complex128"),
                                          (np.array(["a", "b"]), "<U1"),
                                          (np.array([object(), 1.0], dtype=object), "object"),
                                          ("ab", "<U2")], ids=["complex", "string-array",
                                                               "object", "string"])
def test_assigning_a_grad_of_an_unsupported_or_different_dtype(value, dtype):
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    raises_clean(lambda: setattr(x, "grad", value), ("grad", "Tensor"), (TypeError,), (dtype,))
    assert x.grad is None


def test_assigning_an_integer_grad_is_refused_or_cast_so_backward_still_works():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    try:
        x.grad = np.array([1, 2])
    except TypeError as e:
        assert names_one_of(str(e), ("grad",)) and "int64" in str(e), str(e)
        return
    (x * x).sum().backward()  # must not fail deep in numpy's in-place add
    assert x.grad.dtype == np.float32
    assert x.grad.tolist() == [3.0, 6.0]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_conversions_and_graph_methods_on_0d_empty_and_nan_tensors():
    zero_d, empty, nan = ag.tensor(2.5), ag.tensor(np.zeros((2, 0))), ag.tensor([np.nan, 1.0])
    assert zero_d.item() == 2.5 and float(zero_d) == 2.5 and int(zero_d) == 2
    assert zero_d.tolist() == 2.5 and empty.tolist() == [[], []]
    assert np.asarray(empty).shape == (2, 0) and empty.numpy().shape == (2, 0)
    assert np.isnan(float(nan[0])) and bool(zero_d) is True
    assert list(empty) != [] and all(r.shape == (0,) for r in empty) and len(empty) == 2
    assert [1.0, 2.0, 3.0][ag.tensor(1)] == 2.0
    for t in (zero_d, empty, nan):
        assert repr(t).startswith("tensor(")
    raises_clean(lambda: empty.item(), ("item",), (ValueError,), ("(2, 0)",))
    raises_clean(lambda: float(empty), ("item", "float"), (ValueError,), ("(2, 0)",))
    raises_clean(lambda: len(zero_d), ("len",), (TypeError,))
    raises_clean(lambda: iter(zero_d).__next__(), ("len", "iter", "iteration"), (TypeError,))
    raises_clean(lambda: [1, 2][ag.tensor(1.0)], ("index",), (TypeError,))
    for t in (ag.tensor(np.zeros(0)), ag.tensor([1.0, 2.0])):
        with pytest.raises(ValueError):
            bool(t)
    with pytest.raises(ValueError):
        int(nan[0])
    x = ag.tensor(np.zeros((2, 0)), requires_grad=True)
    y = x * 2.0
    y.retain_grad()
    y.sum().backward()
    assert y.grad.shape == (2, 0) and x.grad.shape == (2, 0)


def _inplace_cases():
    return [(name, other) for name in sorted(INPLACE) for other in sorted(BAD_OPERANDS)
            if name != "zero_"]


@pytest.mark.parametrize("name, bad", _inplace_cases())
def test_inplace_methods_refuse_a_bad_operand_and_leave_the_tensor_alone(name, bad):
    call, _, names = INPLACE[name]
    make, error, mention = BAD_OPERANDS[bad]
    t = ag.tensor([1.0, 2.0])
    other = make()
    before = [state(t), state(other)]
    raises_clean(lambda: call(t, other), names, (error,), (mention,))
    assert_unchanged([t, other], before)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_methods_on_unusual_tensors_match_numpy_or_refuse_read_only_memory(name, kind):
    call, reference, names = INPLACE[name]
    entry = Entry(None, None, (name,))
    (arr,), _ = make_operands(entry, kind)
    t = ag.from_numpy(arr)  # shares the memory: writes go through to arr
    value = 0.5
    with np.errstate(all="ignore"):
        want = reference(np.array(arr), value)
    if kind == "read-only":
        before = [state(arr)]
        raises_clean(lambda: call(t, value), names, (ValueError,), ("read-only",))
        assert_unchanged([arr], before)
        return
    result = call(t, value)
    assert result is t or result is None
    np.testing.assert_array_equal(t.numpy(), want)
    np.testing.assert_array_equal(arr, want)


# ---- numpy functions and user-declared ops validate like the ops -----------------------------

NUMPY_FUNCTIONS = {
    "np.maximum": (lambda x, b: np.maximum(x, b), ("maximum",)),
    "np.add": (lambda x, b: np.add(x, b), ("add",)),
    "np.sum(axis=5)": (lambda x, b: np.sum(x, axis=5), ("sum",)),
    "np.concatenate": (lambda x, b: np.concatenate([x, b]), ("concatenate",)),
    "np.where": (lambda x, b: np.where(b, x, x), ("where",)),
    "np.clip": (lambda x, b: np.clip(x, b, None), ("clip",)),
}


@pytest.mark.parametrize("case", sorted(NUMPY_FUNCTIONS))
def test_numpy_functions_on_tensors_refuse_bad_input_like_the_ops(case):
    call, names = NUMPY_FUNCTIONS[case]
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    bad = np.array(["a", "b"])
    raises_clean(lambda: call(x, bad), names, (TypeError, ValueError))
    assert x.grad is None


@pytest.fixture
def triple():
    """A user-declared primitive, removed from the registry afterwards."""
    @ag.primitive(lambda g, out, x: 3 * g)
    def bad_input_triple(x):
        return 3 * x

    yield bad_input_triple
    ops.REGISTRY.pop("bad_input_triple", None)


def test_an_op_declared_with_primitive_validates_its_operands_too(triple):
    for make, error, mention in BAD_OPERANDS.values():
        raises_clean(lambda make=make: triple(make()), ("bad_input_triple",), (error,),
                     (mention,))
    x = ag.tensor(np.zeros((2, 0)), requires_grad=True)
    triple(x).sum().backward()
    assert x.grad.shape == (2, 0)
    z = ag.tensor(np.array(2.0), requires_grad=True)
    triple(z).backward()
    assert z.grad.item() == 3.0


class Scale(ag.Function):
    """A user-defined Function whose forward is made of ops."""

    @staticmethod
    def forward(ctx, x, y):
        out = x * y
        ctx.save_for_backward(ag.tensor(y))
        return out

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y, None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_function_subclass_takes_unusual_input_and_refuses_bad_operands():
    for kind in sorted(KINDS):
        (xv, yv), _ = make_operands(Entry(None, None, ("Scale",), "xx"), kind)
        before = [state(xv), state(yv)]
        x, y = Tensor(xv, requires_grad=True), Tensor(yv)
        out = Scale.apply(x, y)
        np.testing.assert_array_equal(out.numpy(), xv * yv)
        out.backward(np.ones(out.shape))
        np.testing.assert_array_equal(x.grad.numpy(), yv)
        assert_unchanged([xv, yv], before)
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    for make, error, mention in BAD_OPERANDS.values():
        raises_clean(lambda make=make: Scale.apply(x, make()), ("mul", "Scale"), (error,),
                     (mention,))
    assert x.grad is None


def test_linear_refuses_mismatched_shapes_naming_them():
    x, w, b = np.ones((2, 3), np.float32), np.ones((4, 5), np.float32), np.ones(4, np.float32)
    with pytest.raises(ValueError, match=r"linear.*\(2, 3\).*\(4, 5\)"):
        ag.linear(x, w, b)
    with pytest.raises(TypeError, match="linear"):
        ag.linear(x, np.array(["a"]), b)
    assert x.sum() == 6 and w.sum() == 20  # inputs unchanged
