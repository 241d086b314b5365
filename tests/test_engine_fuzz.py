"""Fuzzing the engine: random graphs built from the op registry, and create_graph properties.

test_registry.py gradchecks every op on its own. This file checks that the engine composes them:
a Hypothesis state machine grows a random computation graph (fan-out, broadcasting, detached
tensors, constants computed under no_grad), records every step so the whole computation can be
replayed as a plain function of the leaf values, and compares the engine's gradients with central
finite differences of that replay. Then property tests for second and third derivatives
(Hessians, Hessian-vector products, grad of grad) check create_graph the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

import autograd_lite as ag
from autograd_lite.ops import REGISTRY, Op
from autograd_lite.testing import strategies as ags

EPS = 1e-6  # finite-difference step
MARGIN = 1e-2  # how far inputs must stay from a kink (relu, abs, clip) or a tie (max, maximum)
LIMIT = 10.0  # results larger than this are dropped: they would only amplify rounding errors
MAX_LEAVES = 4
MAX_OPS = 12


def assert_close(actual, expected, what, rtol=1e-4, atol=1e-5):
    """Values, shape and float64 dtype (of a Tensor's data, an array or a number)."""
    actual = actual.data if isinstance(actual, ag.Tensor) else np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape and actual.dtype == np.float64, \
        f"{what}: got {actual.dtype}{actual.shape}, expected float64{expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


# ---- the recorded graph --------------------------------------------------------------------


@dataclass
class Step:
    """One tensor of the fuzzed graph and how to compute it again from earlier steps.

    ``args`` holds step numbers (ints) and constant arrays (a ``where`` condition, a matmul
    weight). Leaves and detached copies have no op; ``constant`` steps (detached, or computed
    under no_grad) keep their recorded value when the graph is replayed.
    """

    tensor: ag.Tensor
    value: np.ndarray  # a copy of the forward value, to catch in-place changes
    requires_grad: bool  # what PyTorch's rules say the tensor's requires_grad must be
    op: Op | None = None
    args: tuple = ()
    params: dict = field(default_factory=dict)
    constant: bool = False
    parents: tuple = ()  # the steps the engine must send this step's gradient to
    weight: np.ndarray | None = None  # its coefficient in the invariant's loss
    direction: np.ndarray | None = None  # a leaf's share of the invariant's probe direction

    @property
    def is_grad_leaf(self):
        return self.op is None and not self.constant and self.requires_grad


# ---- drawing op arguments that fit the tensors built so far -------------------------------


def _domains(op):
    return op.domain if isinstance(op.domain, tuple) else (op.domain,) * op.nin


def _fits(domain, v):
    """Whether values satisfy a declared input domain, far enough from its edge."""
    if domain == "positive":
        return bool(np.all(v > 0.1))
    if domain == "nonzero":  # relu and abs declare it: it keeps them off their kink at 0
        return bool(np.all(np.abs(v) > 0.1))
    if domain == "unique":  # max/min reductions: no two elements close to a tie
        return v.size < 2 or bool(np.min(np.diff(np.sort(v, axis=None))) > MARGIN)
    return True  # "real"; "offgrid"/"ongrid" (maximum, minimum) are about pairs, see below


def _apart(u, v):
    """No element of u is within MARGIN of the element of v it meets by broadcasting."""
    return bool(np.all(np.abs(u - v) > MARGIN))


def _broadcastable(*shapes):
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


def _matmul_shape(a, b):
    try:
        return np.matmul(np.zeros(a), np.zeros(b)).shape
    except ValueError:
        return None


def _axes(ndim):
    """An ``axis`` argument: None, one axis (possibly negative) or a tuple of axes."""
    options = [st.none(), hnp.valid_tuple_axes(ndim)]
    if ndim:
        options.append(st.integers(-ndim, ndim - 1))
    return st.one_of(options)


def _plan_elementwise(m, data, op):
    chosen = []
    for k, domain in enumerate(_domains(op)):
        def fits_with_chosen(v, domain=domain):
            return (_broadcastable(v.shape, *(m.value(c).shape for c in chosen))
                    and (domain not in ("offgrid", "ongrid")
                         or all(_apart(v, m.value(c)) for c in chosen)))

        def acceptable(v, domain=domain, fits_with_chosen=fits_with_chosen):
            return _fits(domain, v) and fits_with_chosen(v)

        i = m.pick(data, f"input {k}", acceptable, chosen)
        if i is None and domain in ("positive", "nonzero"):
            i = m.pick(data, f"input {k} (made positive)", fits_with_chosen, chosen)
            i = None if i is None else m.make_positive(i)
        if i is None:
            return None
        chosen.append(i)
    return chosen, {}


def _plan_reduce(m, data, op):
    i = m.pick(data, "x", lambda v: _fits(_domains(op)[0], v))
    if i is None:
        return None
    x = m.value(i)
    axis = data.draw(_axes(x.ndim), label="axis")
    params = {"axis": axis, "keepdims": data.draw(st.booleans(), label="keepdims")}
    if "ddof" in op.param_names:
        count = x.size // np.sum(x, axis=axis).size
        params["ddof"] = data.draw(st.integers(0, 1 if count > 1 else 0), label="ddof")
    return [i], params


def _plan_softmax(m, data, op):
    i = m.pick(data, "x", lambda v: v.ndim >= 1)
    if i is None:
        return None
    ndim = m.value(i).ndim
    return [i], {"axis": data.draw(st.integers(-ndim, ndim - 1), label="axis")}


def _plan_matmul(m, data, op):
    i = m.pick(data, "x", lambda v: v.ndim >= 1)
    if i is None:
        return None
    x = m.value(i)
    j = m.pick(data, "y", lambda v: _matmul_shape(x.shape, v.shape) is not None)
    if j is None:  # nothing fits: multiply by a constant weight instead
        cols = data.draw(st.sampled_from([(), (1,), (2,), (3,)]), label="weight columns")
        j = m.rng.uniform(-2, 2, x.shape[-1:] + cols)
    return [i, j], {}


def _plan_linear(m, data, op):
    """x of any tensor with >= 1 dim; weight and bias fitted to it, reused when one fits."""
    i = m.pick(data, "x", lambda v: v.ndim >= 1)
    if i is None:
        return None
    n_in = m.value(i).shape[-1]
    j = m.pick(data, "weight", lambda v: v.ndim == 2 and v.shape[1] == n_in)
    if j is None:
        j = m.rng.uniform(-2, 2, (data.draw(st.integers(1, 3), label="out features"), n_in))
    n_out = (m.value(j) if isinstance(j, int) else j).shape[0]
    k = m.pick(data, "bias", lambda v: v.shape == (n_out,))
    if k is None:
        k = m.rng.uniform(-2, 2, (n_out,))
    return [i, j, k], {}


def _plan_reshape(m, data, op):
    i = m.pick(data, "x")
    if i is None:
        return None
    dims = list(data.draw(st.permutations(m.value(i).shape), label="dims"))
    for _ in range(data.draw(st.integers(0, 2), label="extra ones")):
        dims.insert(data.draw(st.integers(0, len(dims)), label="at"), 1)
    if dims and data.draw(st.booleans(), label="infer one"):
        dims[data.draw(st.integers(0, len(dims) - 1), label="which")] = -1
    return [i], {"shape": tuple(dims)}


def _plan_transpose(m, data, op):
    i = m.pick(data, "x")
    if i is None:
        return None
    ndim = m.value(i).ndim
    axes = data.draw(st.none() | st.permutations(range(ndim)).map(tuple), label="axes")
    return [i], {"axes": axes}


def _plan_broadcast_to(m, data, op):
    i = m.pick(data, "x")
    if i is None:
        return None
    lead = data.draw(st.lists(st.integers(1, 3), max_size=2), label="new leading dims")
    dims = [data.draw(st.integers(1, 3), label="grown") if n == 1 else n
            for n in m.value(i).shape]
    return [i], {"shape": tuple(lead + dims)}


def _plan_squeeze(m, data, op):
    i = m.pick(data, "x")
    if i is None:
        return None
    ones = [a for a, n in enumerate(m.value(i).shape) if n == 1]
    axis = data.draw(st.none() | st.lists(st.sampled_from(ones), unique=True).map(tuple),
                     label="axis") if ones else None
    return [i], {"axis": axis}


def _plan_unsqueeze(m, data, op):
    i = m.pick(data, "x")
    if i is None:
        return None
    ndim = m.value(i).ndim
    return [i], {"axis": data.draw(st.integers(-ndim - 1, ndim), label="axis")}


def _plan_getitem(m, data, op):
    """Basic slices (with Ellipsis and None), integer arrays (with repeats) or a boolean mask."""
    i = m.pick(data, "x")
    if i is None:
        return None
    shape = m.value(i).shape
    options = [hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True)]
    if shape:
        options += [hnp.integer_array_indices(shape), hnp.arrays(np.bool_, shape)]
    return [i], {"index": data.draw(st.one_of(options), label="index")}


def _plan_gather(m, data, op):
    """gather: x at an index along one dim; the scatter_add primitive: src (a step or a constant
    of the index's shape) added into x at that index (repeats add)."""
    i = m.pick(data, "x", lambda v: v.ndim >= 1)
    if i is None:
        return None
    shape = m.value(i).shape
    dim = data.draw(st.integers(0, len(shape) - 1), label="dim")
    index_shape = tuple(data.draw(st.integers(1, 3 if k == dim else n), label="index side")
                        for k, n in enumerate(shape))
    index = data.draw(hnp.arrays(np.int64, index_shape, elements=st.integers(0, shape[dim] - 1)),
                      label="index")
    params = {"dim": data.draw(st.sampled_from([dim, dim - len(shape)]), label="dim sign"),
              "index": index}
    if op.nin == 1:
        return [i], params
    j = m.pick(data, "src", lambda v: v.shape == index_shape)
    return [i, m.rng.uniform(-2, 2, index_shape) if j is None else j], params


def _plan_add_at(m, data, op):
    """Scatter x into a larger zero array: slices, plus at most one integer array (repeats add)."""
    i = m.pick(data, "x")
    if i is None:
        return None
    x_shape = m.value(i).shape
    shape, index = [], []
    advanced = data.draw(st.integers(-1, len(x_shape) - 1), label="integer-array axis")
    for axis, n in enumerate(x_shape):
        side = n + data.draw(st.integers(0, 2), label="padding")
        if axis == advanced:
            index.append(np.array(data.draw(st.lists(st.integers(0, side - 1), min_size=n,
                                                     max_size=n), label="positions")))
        else:
            start = data.draw(st.integers(0, side - n), label="start")
            index.append(slice(start, start + n))
        shape.append(side)
    return [i], {"index": tuple(index), "shape": tuple(shape)}


def _plan_setitem(m, data, op):
    """Write y into distinct positions of x (basic slices or a mask: which of several writes to
    one position wins is unspecified, so no repeated integer indices)."""
    i = m.pick(data, "x")
    if i is None:
        return None
    shape = m.value(i).shape
    options = [hnp.basic_indices(shape, allow_newaxis=False, allow_ellipsis=True)]
    if shape:
        options.append(hnp.arrays(np.bool_, shape))
    index = data.draw(st.one_of(options), label="index")
    target = np.zeros(shape)[index].shape
    j = m.pick(data, "value", lambda v: _broadcastable(v.shape, target)
               and np.broadcast_shapes(v.shape, target) == target)
    return None if j is None else ([i, j], {"index": index})


def _plan_concatenate(m, data, op):
    i = m.pick(data, "x", lambda v: v.ndim >= 1)
    if i is None:
        return None
    x = m.value(i)
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")

    def joins(v):
        return v.ndim == x.ndim and all(a == b for k, (a, b) in enumerate(zip(v.shape, x.shape))
                                        if k != axis % x.ndim)

    others = data.draw(st.lists(st.sampled_from(m.candidates(joins)), max_size=2), label="others")
    return [i, *others], {"axis": axis}


def _plan_stack(m, data, op):
    i = m.pick(data, "x")
    if i is None:
        return None
    x = m.value(i)
    same = m.candidates(lambda v: v.shape == x.shape)
    others = data.draw(st.lists(st.sampled_from(same), max_size=2), label="others")
    return [i, *others], {"axis": data.draw(st.integers(-x.ndim - 1, x.ndim), label="axis")}


def _plan_clip(m, data, op):
    i = m.pick(data, "x")
    if i is None:
        return None
    bound = st.none() | st.integers(-25, 25).map(lambda k: k / 10)
    lo, hi = data.draw(bound, label="min"), data.draw(bound, label="max")
    if lo is None and hi is None:
        return None
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    x = m.value(i)
    if any(b is not None and not _apart(x, b) for b in (lo, hi)):
        return None  # an element sits on a bound, where clip has a kink
    return [i], {"min": lo, "max": hi}


def _plan_where(m, data, op):
    i = m.pick(data, "x")
    if i is None:
        return None
    j = m.pick(data, "y", lambda v: _broadcastable(v.shape, m.value(i).shape))
    shape = np.broadcast_shapes(m.value(i).shape, m.value(j).shape)
    cond = data.draw(hnp.arrays(np.bool_, shape), label="condition")
    return [cond, i, j], {}


def _plan_astype(m, data, op):
    i = m.pick(data, "x")
    return None if i is None else ([i], {"dtype": np.float64})


def _plan_conv(m, data, op):
    """The convolution primitives on a step of 3 or 4 dims (batch, channels, 1 or 2 spatial):
    the input of convolution and conv_weight_grad, the output's gradient for conv_input_grad.
    The geometry (groups, kernel, stride, padding, dilation) is drawn to fit it; the second
    operand is a step of the shape that then follows, or a constant."""
    i = m.pick(data, "x", lambda v: v.ndim in (3, 4))
    if i is None:
        return None
    shape = m.value(i).shape
    is_grad = op.input_names[0] == "grad"  # conv_input_grad: x is (N, O, *out)
    groups = data.draw(st.sampled_from([g for g in (1, 2, 3) if shape[1] % g == 0]),
                       label="groups")
    other = groups * data.draw(st.integers(1, 2), label="channels per group")
    geometry = []
    for side in shape[2:]:
        d, s = data.draw(st.integers(1, 2), label="dilation"), data.draw(st.integers(1, 2),
                                                                         label="stride")
        lo, hi = (data.draw(st.integers(0, 1), label="padding") for _ in range(2))
        if is_grad:  # side is the output's; the input's follows, up to the stride's remainder
            k = data.draw(st.integers(1, 3), label="kernel")
            side = ((side - 1) * s + d * (k - 1) + 1 - lo - hi
                    + data.draw(st.integers(0, s - 1), label="remainder"))
            if side < 1:
                return None
        else:
            k = data.draw(st.integers(1, min(3, (side + lo + hi - 1) // d + 1)), label="kernel")
        geometry.append((side, k, s, (lo, hi), d))
    sides, kernel, stride, padding, dilation = zip(*geometry)
    n = shape[0]
    if is_grad:
        x_shape, w_shape = (n, other, *sides), (shape[1], other // groups, *kernel)
    else:
        x_shape, w_shape = shape, (other, shape[1] // groups, *kernel)
    out = tuple((side + lo + hi - d * (k - 1) - 1) // s + 1 for side, (lo, hi), d, k, s
                in zip(x_shape[2:], padding, dilation, kernel, stride))
    second = w_shape if op.input_names[1] == "weight" else (n, w_shape[0], *out)
    j = m.pick(data, op.input_names[1], lambda v: v.shape == second)
    if j is None:
        j = m.rng.uniform(-1, 1, second)
    params = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    if is_grad:
        params["input_shape"] = x_shape
    elif op.input_names[1] == "grad":
        params["weight_shape"] = w_shape
    return [i, j], params


def _plan_max_pool(m, data, op):
    """max_pool over the last one or two dims of a step whose values are apart (a tie in a
    window is a kink), with padding at most half the kernel."""
    i = m.pick(data, "x", lambda v: v.ndim >= 1 and _fits("unique", v))
    if i is None:
        return None
    shape = m.value(i).shape
    dims = data.draw(st.integers(1, min(2, len(shape))), label="pooled dims")
    kernel, stride, padding = [], [], []
    for side in shape[-dims:]:
        p = data.draw(st.integers(0, 1), label="padding")
        kernel.append(data.draw(st.integers(max(1, 2 * p), min(3, side + 2 * p)), label="kernel"))
        padding.append(p)
        stride.append(data.draw(st.integers(1, 3), label="stride"))
    return [i], {"kernel_size": tuple(kernel), "stride": tuple(stride), "padding": tuple(padding)}


def _plan_class_logits(m, data, op):
    """Logits: any matrix drawn so far; integer targets and the reduction drawn here."""
    i = m.pick(data, "logits", lambda v: v.ndim == 2)
    if i is None:
        return None
    n, c = m.value(i).shape
    target = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)), label="target")
    return [i], {"target": target, "reduction": data.draw(st.sampled_from(["mean", "sum", "none"]),
                                                          label="reduction")}


def _plan_einsum(m, data, op):
    """One or two earlier values, their dims lettered (y's dims share a letter with an equal
    x dim, or get one of their own), summed to some of the letters in a drawn order."""
    chosen = [m.pick(data, f"operand {k}", lambda v: v.ndim <= 3) for k in range(op.nin)]
    if None in chosen:
        return None
    xs = m.value(chosen[0]).shape
    terms = ["ijk"[:len(xs)]]
    if op.nin == 2:
        term = ""
        for n in m.value(chosen[1]).shape:
            shared = [c for c, size in zip(terms[0], xs) if size == n and c not in term]
            term += data.draw(st.sampled_from([*shared, "lmn"[len(term)]]), label="letter")
        terms.append(term)
    letters = sorted(set("".join(terms)))
    out = data.draw(st.permutations(letters), label="output order")
    out = "".join(out[:data.draw(st.integers(0, len(letters)), label="output letters")])
    return chosen, {"equation": ",".join(terms) + "->" + out}


def _plan_lstm_gates(m, data, op):
    """x: any vector or matrix drawn so far; the state [h, c] (of its batch) and the weights
    (of its features) picked when one fits, else constants; hidden size 1 or 2."""
    i = m.pick(data, "x", lambda v: v.ndim in (1, 2))
    if i is None:
        return None
    x = m.value(i)
    hidden = data.draw(st.integers(1, 2), label="hidden")
    shapes = [x.shape[:-1] + (2 * hidden,), (4 * hidden, x.shape[-1]), (4 * hidden, hidden),
              (4 * hidden,), (4 * hidden,)]
    args = [i]
    for name, shape in zip(op.input_names[1:], shapes):
        j = m.pick(data, name, lambda v, shape=shape: v.shape == shape)
        args.append(m.rng.uniform(-2, 2, shape) if j is None else j)
    return args, {}


def _plan_lstm_update(m, data, op):
    """Pre-activations: any matrix drawn so far of 4 hidden columns (hidden 1 or 2, else a
    constant); the state [h, c] of its batch, picked when one fits, else a constant."""
    hidden = data.draw(st.integers(1, 2), label="hidden")
    i = m.pick(data, "pre", lambda v: v.ndim in (1, 2) and v.shape[-1] == 4 * hidden)
    if i is None:
        return None
    shape = m.value(i).shape[:-1] + (2 * hidden,)
    j = m.pick(data, "state", lambda v: v.shape == shape)
    return [i, m.rng.uniform(-2, 2, shape) if j is None else j], {}


PLANNERS = {
    "elementwise": _plan_elementwise, "reduce": _plan_reduce, "softmax": _plan_softmax,
    "matmul": _plan_matmul, "linear": _plan_linear, "reshape": _plan_reshape,
    "transpose": _plan_transpose,
    "broadcast_to": _plan_broadcast_to, "squeeze": _plan_squeeze, "unsqueeze": _plan_unsqueeze,
    "getitem": _plan_getitem, "add_at": _plan_add_at, "gather": _plan_gather,
    "setitem": _plan_setitem,
    "concatenate": _plan_concatenate, "stack": _plan_stack, "clip": _plan_clip,
    "where": _plan_where, "astype": _plan_astype, "class_logits": _plan_class_logits,
    "einsum": _plan_einsum, "lstm_gates": _plan_lstm_gates,
    "lstm_update": _plan_lstm_update,
    "conv": _plan_conv, "max_pool": _plan_max_pool,
}
"""How to draw arguments for each declared op ``kind``, given the tensors built so far: each
returns (args, params), args being step numbers or constant arrays, or None if nothing fits."""

SHIPPED = sorted(name for name, op in REGISTRY.items()
                 if op.__module__.startswith("autograd_lite.") and op.differentiable)

# One rule per family of kinds: Hypothesis's swarm testing switches whole rules off in some runs,
# and a single op rule switched off would leave a run with no ops at all.
FAMILIES = {
    "elementwise": ("elementwise", "clip", "where", "astype"),
    "reducing": ("reduce", "softmax", "matmul", "linear", "class_logits", "einsum",
                 "lstm_gates", "lstm_update", "conv", "max_pool"),
    "moving": ("reshape", "transpose", "broadcast_to", "squeeze", "unsqueeze", "getitem",
               "add_at", "setitem", "concatenate", "stack", "gather"),
}


def fuzzed(family):
    return [name for name in SHIPPED if REGISTRY[name].kind in FAMILIES[family]]


# How an op is applied: recorded (mostly), under no_grad (its result is a constant), or under
# enable_grad nested inside no_grad (recorded again).
MODES = st.sampled_from(["record", "record", "record", "no_grad", "enable_grad inside no_grad"])


def test_the_fuzzer_applies_every_differentiable_op():
    fuzzed_kinds = {kind for kinds in FAMILIES.values() for kind in kinds} & set(PLANNERS)
    missing = [f"{name} (kind {REGISTRY[name].kind!r})" for name in SHIPPED
               if REGISTRY[name].kind not in fuzzed_kinds]
    assert not missing, f"add a planner and a family in {__name__} for: {missing}"


# ---- the state machine ----------------------------------------------------------------------


class RandomGraphs(RuleBasedStateMachine):
    """Grow a random graph from registered ops; its leaf gradients must match the replay's."""

    def __init__(self):
        super().__init__()
        self.steps: list[Step] = []
        self.rng = np.random.default_rng(0)  # loss weights and probe directions
        self.expected_grad: dict[int, np.ndarray] = {}  # what each leaf's .grad must hold
        self.n_ops = 0

    # -- helpers used by the planners --

    def value(self, i):
        return self.steps[i].value

    def candidates(self, accept=lambda v: True):
        """Steps whose value is not empty and passes ``accept``."""
        return [i for i, s in enumerate(self.steps) if s.value.size and accept(s.value)]

    def pick(self, data, label, accept=lambda v: True, chosen=()):
        """One of ``candidates(accept)``, drawn; None if there is none. A step already
        ``chosen`` for the same op (x * x) is drawn only if a coin says so or nothing else fits."""
        options = self.candidates(accept)
        others = [i for i in options if i not in chosen]
        if others and len(others) < len(options) and not data.draw(
                st.booleans(), label=f"{label}: reuse an input"):
            options = others
        return data.draw(st.sampled_from(options), label=label) if options else None

    def add_leaf(self, shape, requires_grad):
        """A leaf with values drawn uniformly from [-2, 2] by the seeded generator."""
        values = self.rng.uniform(-2, 2, shape)
        self.steps.append(Step(ag.Tensor(values, requires_grad=requires_grad), values.copy(),
                               requires_grad, weight=self.rng.standard_normal(shape),
                               direction=self.rng.standard_normal(shape)))

    def make_positive(self, i):
        """exp(tanh(x)), in (0.37, 2.72): a smooth way to feed log, sqrt, div and pow."""
        return self.record(REGISTRY["exp"], [self.record(REGISTRY["tanh"], [i])])

    def record(self, op, args, params=None, mode="record"):
        """Apply ``op`` to steps/constants and record the result; its step number, or None if
        its values are too large to be worth keeping."""
        params = params or {}
        inputs = [self.steps[a].tensor if isinstance(a, int) else a for a in args]
        if mode == "no_grad":
            with ag.no_grad():
                out = op(*inputs, **params)
        elif mode == "enable_grad inside no_grad":
            with ag.no_grad(), ag.enable_grad():
                out = op(*inputs, **params)
        else:
            out = op(*inputs, **params)
        self.n_ops += 1
        parents = () if mode == "no_grad" else tuple(dict.fromkeys(
            a for k, a in enumerate(args) if isinstance(a, int) and self.steps[a].requires_grad
            and (op.variadic or op.vjps[k] is not None)))
        requires_grad = bool(parents)
        assert out.requires_grad == requires_grad, f"{op.name} ({mode}): requires_grad"
        assert out.is_leaf == (not requires_grad), f"{op.name} ({mode}): is_leaf"
        if not np.all(np.isfinite(out.data)) or np.any(np.abs(out.data) > LIMIT):
            return None
        self.steps.append(Step(out, out.data.copy(), requires_grad, op, tuple(args), params,
                               constant=mode == "no_grad", parents=parents,
                               weight=self.rng.standard_normal(out.shape)))
        return len(self.steps) - 1

    # -- rules --

    # Leaf values come from the seeded generator, not from Hypothesis: Hypothesis likes arrays
    # filled with one value and equal to each other, which hide wrong rules (d(x*y)/dy = y is
    # right when x == y) and put max, relu and friends on their kinks.

    @initialize(shape=ags.shapes())
    def first_leaf(self, shape):
        self.add_leaf(shape, requires_grad=True)

    # The size limits are checked inside the rules, not as preconditions: Hypothesis disables
    # random subsets of rules (swarm testing) and would be left with none it can run.

    @rule(data=st.data(), requires_grad=st.sampled_from([True, True, False]))
    def new_leaf(self, data, requires_grad):
        """A leaf of a new shape, or of the shape of a tensor already built (so that binary ops
        find partners more often)."""
        if sum(s.op is None and not s.constant for s in self.steps) >= MAX_LEAVES:
            return
        shapes = sorted({s.value.shape for s in self.steps})
        self.add_leaf(data.draw(ags.shapes() | st.sampled_from(shapes), label="shape"),
                      requires_grad)

    @rule(data=st.data(), name=st.sampled_from(fuzzed("elementwise")), mode=MODES)
    def apply_elementwise_op(self, data, name, mode):
        self.apply(data, name, mode)

    @rule(data=st.data(), name=st.sampled_from(fuzzed("reducing")), mode=MODES)
    def apply_reducing_op(self, data, name, mode):
        self.apply(data, name, mode)

    @rule(data=st.data(), name=st.sampled_from(fuzzed("moving")), mode=MODES)
    def apply_shape_or_indexing_op(self, data, name, mode):
        self.apply(data, name, mode)

    def apply(self, data, name, mode):
        if self.n_ops >= MAX_OPS:
            return
        op = REGISTRY[name]
        plan = PLANNERS[op.kind](self, data, op)
        if plan is None:
            event(f"{name}: no tensor fits its shapes or domain")
        elif self.record(op, *plan, mode=mode) is None:
            event(f"{name}: result too large, dropped")
        else:
            event(f"{name}: applied")

    @precondition(lambda self: any(s.requires_grad for s in self.steps))
    @rule(data=st.data())
    def detach(self, data):
        i = data.draw(st.sampled_from([i for i, s in enumerate(self.steps) if s.requires_grad]),
                      label="tensor")
        d = self.steps[i].tensor.detach()
        assert not d.requires_grad and d.is_leaf and d.grad_fn is None
        self.steps.append(Step(d, d.data.copy(), False, constant=True,
                               weight=self.rng.standard_normal(d.shape)))

    @precondition(lambda self: any(s.requires_grad for s in self.steps))
    @rule(data=st.data())
    def backward_matches_finite_differences(self, data):
        """backward() of a weighted sum of some tensors accumulates, into each leaf it reaches,
        the finite-difference gradient of the replayed graph; other leaves' .grad stay as they
        were (None if never reached). grad() gives the same numbers and leaves .grad alone."""
        terms = data.draw(st.lists(st.sampled_from(
            [i for i, s in enumerate(self.steps) if s.requires_grad]), min_size=1, unique=True),
            label="loss terms")
        weights = {i: self.rng.standard_normal(self.value(i).shape) for i in terms}
        loss = self.loss(weights)
        leaves = [i for i, s in enumerate(self.steps) if s.is_grad_leaf]
        reached = self.reached(terms)
        numeric = {i: self.numeric_gradient(i, weights) for i in reached}

        grads = ag.grad(loss, [self.steps[i].tensor for i in leaves], retain_graph=True,
                        allow_unused=True)
        for i, g in zip(leaves, grads):
            if i in reached:
                assert_close(g, numeric[i], f"grad() of leaf {i}")
            else:
                assert g is None, f"grad(): leaf {i} does not reach the loss, got {g}"
        self.assert_grads_as_expected("after grad(), which must not touch .grad")

        loss.backward(retain_graph=True)
        for i in reached:
            self.expected_grad[i] = self.expected_grad.get(i, 0) + numeric[i]
        self.assert_grads_as_expected("after backward()")

    @precondition(lambda self: any(s.requires_grad for s in self.steps))
    @rule()
    def a_compiled_replay_of_the_graph_equals_eager(self):
        """ag.compile of the whole graph so far, a weighted loss and its backward: the replay
        gives eager's values and leaf gradients bit for bit."""
        leaves = {i: ag.Tensor(s.value.copy(), requires_grad=True)
                  for i, s in enumerate(self.steps) if s.is_grad_leaf}
        weights = {i: s.weight for i, s in enumerate(self.steps) if s.requires_grad}

        def program():
            for t in leaves.values():
                t.grad = None
            tensors = []
            for i, s in enumerate(self.steps):
                if i in leaves:
                    tensors.append(leaves[i])
                elif s.op is None:  # a leaf that needs no grad, or a detached copy
                    tensors.append(ag.Tensor(s.value))
                else:
                    args = [tensors[a] if isinstance(a, int) else a for a in s.args]
                    with ag.set_grad_enabled(not s.constant):
                        tensors.append(s.op(*args, **s.params))
            sum((tensors[i] * w).sum() for i, w in weights.items()).backward()
            return [tensors[i] for i in weights]

        eager = [t.data.copy() for t in program()]
        eager_grads = {i: t.grad.data.copy() for i, t in leaves.items() if t.grad is not None}
        compiled = ag.compile(program)
        compiled()  # traces
        replayed = compiled()
        for want, got in zip(eager, replayed, strict=True):
            assert want.dtype == got.dtype and np.array_equal(want, got.data, equal_nan=True)
        assert {i for i, t in leaves.items() if t.grad is not None} == set(eager_grads)
        for i, want in eager_grads.items():
            assert np.array_equal(leaves[i].grad.data, want), f"compiled .grad of leaf {i}"

    @invariant()
    def gradient_of_all_tensors_matches_finite_differences_along_a_direction(self):
        """A cheap whole-graph check after every step: the derivative of a weighted sum of every
        tensor requiring grad along a fixed random direction, by grad() and by the replay."""
        terms = [i for i, s in enumerate(self.steps) if s.requires_grad]
        if not terms:
            return
        weights = {i: self.steps[i].weight for i in terms}
        leaves = [i for i, s in enumerate(self.steps) if s.is_grad_leaf]
        reached = self.reached(terms)
        grads = ag.grad(self.loss(weights), [self.steps[i].tensor for i in leaves],
                        retain_graph=True, allow_unused=True)
        assert [g is not None for g in grads] == [i in reached for i in leaves], \
            "grad() returned None exactly for the leaves that do not reach the loss"
        analytic = sum(np.vdot(g.data, self.steps[i].direction)
                       for i, g in zip(leaves, grads) if g is not None)

        def along(t):
            return self.replayed_loss(
                {i: np.asarray(self.value(i) + t * self.steps[i].direction) for i in leaves},
                weights)

        numeric = (along(EPS) - along(-EPS)) / (2 * EPS)
        assert_close(analytic, numeric, "directional derivative of the whole graph")

    @invariant()
    def forward_values_are_never_changed_in_place(self):
        for i, s in enumerate(self.steps):
            assert np.array_equal(s.tensor.data, s.value), f"step {i} changed after it was made"

    # -- the oracle: replaying the recorded graph on other leaf values --

    def loss(self, weights):
        """sum((t * w).sum()) over the weighted tensors, through the engine."""
        return sum((self.steps[i].tensor * w).sum() for i, w in weights.items())

    def replay(self, leaf_values):
        """Every step's value, recomputed from ``leaf_values`` (step number -> array) with the
        same ops on plain arrays; detached and no_grad steps keep their recorded values."""
        values = []
        with ag.no_grad():
            for i, s in enumerate(self.steps):
                if s.op is None or s.constant:
                    values.append(leaf_values.get(i, s.value))
                else:
                    args = [values[a] if isinstance(a, int) else a for a in s.args]
                    values.append(s.op(*args, **s.params).data)
        return values

    def replayed_loss(self, leaf_values, weights):
        values = self.replay(leaf_values)
        return sum(float(np.vdot(w, values[i])) for i, w in weights.items())

    def numeric_gradient(self, leaf, weights):
        """Central differences of the replayed loss, one element of ``leaf`` at a time."""
        base = self.value(leaf)
        grad = np.zeros(base.shape)
        for j in np.ndindex(*base.shape):
            up, down = base.copy(), base.copy()
            up[j] += EPS
            down[j] -= EPS
            grad[j] = (self.replayed_loss({leaf: up}, weights)
                       - self.replayed_loss({leaf: down}, weights)) / (2 * EPS)
        return grad

    def reached(self, terms):
        """The leaves requiring grad that a backward from ``terms`` reaches, by the model."""
        seen, stack = set(), [i for i in terms if self.steps[i].requires_grad]
        while stack:
            i = stack.pop()
            if i not in seen:
                seen.add(i)
                stack.extend(self.steps[i].parents)
        return {i for i in seen if self.steps[i].is_grad_leaf}

    def assert_grads_as_expected(self, when):
        for i, s in enumerate(self.steps):
            expected, actual = self.expected_grad.get(i), s.tensor.grad
            if expected is None:
                assert actual is None, f"{when}: step {i} was never reached but has a .grad"
            else:
                assert actual is not None, f"{when}: leaf {i} was reached but has no .grad"
                assert_close(actual, expected, f"{when}: .grad of leaf {i}")


# A run takes a few milliseconds: ten times the profile's examples is ~10 s under `ci`.
RandomGraphs.TestCase.settings = settings(
    settings.default, max_examples=10 * settings.default.max_examples, stateful_step_count=30)
TestRandomGraphs = RandomGraphs.TestCase


def test_the_gradient_of_a_0d_tensor_is_a_0d_array():
    """numpy arithmetic on 0-d arrays gives scalars (np.float64), in rules and when the engine
    sums the gradients of a fan-out; a gradient must still hold an ndarray, so that
    np.asarray(g, dtype) and g.zero_() work as for any other shape."""
    x = ag.Tensor(np.array(1.5), requires_grad=True)
    (x * np.array(2.0)).sum().backward()
    assert type(x.grad.data) is np.ndarray and x.grad.shape == ()
    assert np.asarray(x.grad, dtype=np.float64) == 2.0
    x.grad.zero_()
    assert x.grad.item() == 0.0
    for y in (ag.exp(x), x * 2.0 + x * 3.0):  # one path; two paths summed
        (g,) = ag.grad(y, x)
        assert type(g.data) is np.ndarray, f"grad() holds a {type(g.data).__name__}"


# ---- create_graph: second and third derivatives ------------------------------------------


@given(n=st.integers(1, 4), symmetric=st.booleans(), data=st.data())
def test_hessian_of_a_quadratic_is_the_symmetric_part_of_its_matrix(n, symmetric, data):
    """f(x) = 0.5 x^T A x + b^T x: gradient (A + A^T)/2 x + b, Hessian (A + A^T)/2."""
    A = data.draw(ags.arrays((n, n)), label="A")
    if symmetric:
        A = (A + A.T) / 2
    b, x0 = data.draw(ags.arrays((n,)), label="b"), data.draw(ags.arrays((n,)), label="x")
    x = ag.Tensor(x0, requires_grad=True)
    f = 0.5 * (x @ ag.Tensor(A) @ x) + ag.Tensor(b) @ x
    (g,) = ag.grad(f, x, create_graph=True)
    sym = (A + A.T) / 2
    assert_close(g.data, sym @ x0 + b, "gradient", rtol=1e-12, atol=1e-12)
    rows = [ag.grad(g[i], x, retain_graph=True)[0].data for i in range(n)]
    assert_close(np.stack(rows), sym, "Hessian", rtol=1e-12, atol=1e-12)


# Smooth vector-to-vector steps; matrices are scaled by 1/n so values stay bounded.
VECTOR_STEPS = {
    "tanh": lambda h, M: ag.tanh(h),
    "sin": lambda h, M: ag.sin(h),
    "exp": lambda h, M: ag.exp(0.5 * h),
    "matmul": lambda h, M: ag.matmul(ag.Tensor(M), h),
}


@given(n=st.integers(1, 4), names=st.lists(st.sampled_from(sorted(VECTOR_STEPS)), min_size=1,
                                           max_size=5), data=st.data())
def test_hessian_vector_products_match_finite_differences_of_the_gradient(n, names, data):
    """H v by double backward, grad(<grad(f)(x), v>), equals (grad f(x + e v) - grad f(x - e v))
    / 2e, for f(x) = w . h(x) + 0.5 x . h(x) with h a random chain of smooth steps."""
    mats = [data.draw(ags.arrays((n, n)), label="M") / (2 * n) for _ in names]
    w, x0, v = (data.draw(ags.arrays((n,)), label=label) for label in ("w", "x", "v"))

    def f(x):
        h = x
        for name, M in zip(names, mats):
            h = VECTOR_STEPS[name](h, M)
        return (ag.Tensor(w) * h).sum() + 0.5 * (h * x).sum()

    def gradient(at):
        x = ag.Tensor(at, requires_grad=True)
        return ag.grad(f(x), x)[0].data

    x = ag.Tensor(x0, requires_grad=True)
    (g,) = ag.grad(f(x), x, create_graph=True)
    (hv,) = ag.grad((g * ag.Tensor(v)).sum(), x)
    eps = 1e-5
    numeric = (gradient(x0 + eps * v) - gradient(x0 - eps * v)) / (2 * eps)
    assert_close(hv.data, numeric, "Hessian-vector product", rtol=1e-6, atol=1e-7)


# Smooth scalar steps that map [-3, 3] into itself, so any chain of them stays well scaled.
SCALAR_STEPS = {
    "sin": ag.sin,
    "cos": ag.cos,
    "tanh": ag.tanh,
    "sigmoid": ag.sigmoid,
    "exp": lambda t: ag.exp(0.3 * t) - 1,
    "log": lambda t: ag.log(1 + t * t),
    "sqrt": lambda t: ag.sqrt(1 + t * t) - 1,
    "div": lambda t: t / (1 + t * t),
    "cube": lambda t: t ** 3 / 10,
    "pow": lambda t: (1.5 + ag.sin(t)) ** (t / 3),
    "t sin t": lambda t: t * ag.sin(t),
}


@given(x0=st.floats(-3, 3), names=st.lists(st.sampled_from(sorted(SCALAR_STEPS)), min_size=1,
                                            max_size=4))
def test_each_derivative_is_the_finite_difference_of_the_one_below(x0, names):
    """f', f'' and f''' by repeated grad(create_graph=True) of a random composition f agree with
    central differences of f, f' and f''."""

    def derivatives(at, order):
        x = ag.Tensor(np.array(at), requires_grad=True)
        y = x
        for name in names:
            y = SCALAR_STEPS[name](y)
        ds = [y]
        for _ in range(order):
            ds.append(ag.grad(ds[-1], x, create_graph=True)[0])
        return [d.item() for d in ds]

    eps = 1e-5
    here = derivatives(x0, 3)
    up, down = derivatives(x0 + eps, 2), derivatives(x0 - eps, 2)
    for k in (1, 2, 3):
        assert_close(here[k], (up[k - 1] - down[k - 1]) / (2 * eps), f"derivative {k}",
                     rtol=1e-5, atol=1e-6)
