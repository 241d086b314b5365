"""One generic test over the op registry: every differentiable primitive and composite
autograd_lite ships is gradchecked against finite differences in float64 (first and second
order) and run in float32, on Hypothesis-drawn arguments from the hints declared next to the op
(kind, domain, draw); where it declares a gradient at a kink, that is checked too. Declaring an op
is all it takes to be covered. How many examples each test draws is the Hypothesis profile's
(tests/conftest.py), the same for every test here.
"""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import autograd_lite as ag
from autograd_lite.ops import COMPOSITES, REGISTRY, Op
from autograd_lite.testing import gradcheck, gradgradcheck
from autograd_lite.testing.strategies import op_arguments

SHIPPED = {name: op for name, op in REGISTRY.items() if op.__module__.startswith("autograd_lite.")}
DIFFERENTIABLE = sorted(name for name, op in SHIPPED.items() if op.differentiable)
COMPOSED = sorted((op for op in COMPOSITES.values() if op.__module__.startswith("autograd_lite.")),
                  key=lambda op: op.name)

# The ops the core issue requires; the registry may hold more.
REQUIRED = """add sub mul div neg pow exp log sqrt abs sin cos tanh sigmoid relu maximum minimum
clip where matmul sum mean max min var reshape transpose broadcast_to squeeze unsqueeze getitem
concatenate stack logsumexp softmax log_softmax""".split()


def _id(op):
    """A test id naming the op; nn.functional's composite cross_entropy shares its name with the
    fused primitive it calls, so composites are marked."""
    return op.name if isinstance(op, Op) else f"composite:{op.name}"


def _cases(ops):
    return [pytest.param(op, id=_id(op)) for op in ops]


ALL_OPS = _cases([*(SHIPPED[name] for name in sorted(SHIPPED)), *COMPOSED])
GRADIENT_OPS = _cases([*(SHIPPED[name] for name in DIFFERENTIABLE), *COMPOSED])


def test_every_required_op_is_a_registered_differentiable_primitive():
    missing = [name for name in REQUIRED if name not in DIFFERENTIABLE]
    assert not missing, f"not registered as differentiable primitives: {missing}"


def _floating(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _tensors(arrays, wrt):
    """Floating arrays as Tensors, those at the positions in ``wrt`` requiring grad; the rest
    (labels, conditions) stay as drawn."""
    return [ag.Tensor(a, requires_grad=i in wrt) if _floating(a) else a
            for i, a in enumerate(arrays)]


def _as_inputs(op, arrays):
    """Floating inputs that have a rule (every input of a composite) require grad."""
    rules = getattr(op, "vjps", None)
    return _tensors(arrays, [i for i in range(len(arrays))
                             if rules is None or op.variadic or rules[i] is not None])


def _call(op, inputs, params):
    """Apply the op; a composite declared ``sequence`` takes its inputs as one list."""
    if getattr(op, "sequence", False):
        return op(list(inputs), **params)
    return op(*inputs, **params)


@pytest.mark.parametrize("op", ALL_OPS)
@given(data=st.data())
def test_every_op_declares_a_drawable_kind(op, data):
    """op_arguments draws arguments the op accepts (and raises for a kind with no strategy): a
    new op cannot slip past the tests below."""
    arrays, params = data.draw(op_arguments(op), label="args, params")
    assert isinstance(_call(op, _as_inputs(op, arrays), params), ag.Tensor)


@pytest.mark.parametrize("op", GRADIENT_OPS)
@given(data=st.data())
def test_gradient_matches_finite_differences(op, data):
    arrays, params = data.draw(op_arguments(op), label="args, params")
    assert gradcheck(lambda *xs: _call(op, xs, params), _as_inputs(op, arrays))


@pytest.mark.parametrize("op", GRADIENT_OPS)
@given(data=st.data())
def test_second_derivative_matches_finite_differences(op, data):
    """create_graph runs the same rules on Tensors; this checks them, for every op."""
    arrays, params = data.draw(op_arguments(op), label="args, params")
    assert gradgradcheck(lambda *xs: _call(op, xs, params), _as_inputs(op, arrays))


@pytest.mark.parametrize("op", GRADIENT_OPS)
@settings(max_examples=max(5, settings().max_examples // 5))
@given(data=st.data())
def test_a_compiled_forward_and_backward_replays_eager_bit_for_bit(op, data):
    """ag.compile records the op's forward and its rules as the engine runs them; a replay of
    the recording gives exactly eager's output and gradients. (A fifth of the profile's
    examples: this checks the recording, which depends little on the values drawn.)"""
    arrays, params = data.draw(op_arguments(op), label="args, params")
    inputs = _as_inputs(op, arrays)
    leaves = [x for x in inputs if isinstance(x, ag.Tensor) and x.requires_grad]

    def forward_backward():
        for x in leaves:
            x.grad = None
        out = _call(op, inputs, params)
        if out.requires_grad:
            weights = np.linspace(0.5, 1.5, out.data.size).reshape(out.shape).astype(out.dtype)
            (out * weights).sum().backward()
        return out

    eager = forward_backward()
    eager_grads = [x.grad.data.copy() for x in leaves if x.grad is not None]
    step = ag.compile(forward_backward)
    step()  # traces
    replayed = step()
    assert np.array_equal(replayed.data, eager.data, equal_nan=True)
    assert replayed.dtype == eager.dtype
    grads = [x.grad.data for x in leaves if x.grad is not None]
    assert len(grads) == len(eager_grads)
    for got, want in zip(grads, eager_grads):
        assert got.dtype == want.dtype and np.array_equal(got, want, equal_nan=True)


INTO_FORMS = [pytest.param(op, rule, id=f"{name}:{'forward' if rule is None else f'rule {rule}'}")
              for name, op in sorted(SHIPPED.items()) for rule in op.into]
SPECIAL = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 1e-300])


def _with_special_values(a, rng):
    """A float array with a few of its entries replaced by zeros of both signs, NaN, infinities
    and a tiny number: where a form written another way could set a different bit."""
    if not _floating(a) or a.size == 0:
        return a
    a = a.copy()
    picked = rng.choice(a.size, size=min(a.size, len(SPECIAL)), replace=False)
    a.flat[picked] = SPECIAL[:len(picked)].astype(a.dtype)
    return a


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("op", "rule"), INTO_FORMS)
@given(data=st.data())
def test_a_form_writing_into_an_array_gives_the_plain_functions_bits(op, rule, dtype, data):
    """What ``writes_into`` declares (ag.compile's replays call it instead of the forward or the
    rule, to reuse an array) returns exactly what the plain function does, special values
    included, and a result form returns the very array it was given."""
    arrays, params = data.draw(op_arguments(op), label="args, params")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    cast = _float32 if dtype == np.float32 else (lambda v: v)
    arrays = [_with_special_values(cast(a), rng) for a in arrays]
    params = {k: cast(v) for k, v in params.items()}
    form, like = op.into[rule]
    with np.errstate(all="ignore"):
        out = op.forward(*arrays, **params)
        if rule is None:
            plain, args = out, arrays
        else:
            g = rng.standard_normal(np.shape(out)).astype(np.asarray(out).dtype)
            g = _with_special_values(g, rng)
            plain, args = op.run_rule(rule, g, out, tuple(arrays), params), [g, out, *arrays]
        plain = np.asarray(plain)
        shaped = plain if like is None else arrays[op.input_names.index(like)]
        into = np.full_like(shaped, np.nan) if shaped.dtype.kind == "f" else np.empty_like(shaped)
        got = form(*args, **params, into=into)
    if like is None:
        assert got is into
    got = np.asarray(got)
    assert got.dtype == plain.dtype and got.shape == plain.shape
    assert got.tobytes() == plain.tobytes(), f"{op.name}: the form's bits differ"


def _float32(value):
    """float64 arrays (inputs, class weights) and dtypes as float32; anything else as it is."""
    if value is np.float64:
        return np.float32
    return value.astype(np.float32) if _floating(value) else value


@pytest.mark.parametrize("op", GRADIENT_OPS)
@given(data=st.data())
def test_float32_in_float32_out_and_gradient(op, data):
    arrays, params = data.draw(op_arguments(op), label="args, params")
    params = {k: _float32(v) for k, v in params.items()}
    inputs = _as_inputs(op, [_float32(a) for a in arrays])
    out = _call(op, inputs, params)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    for t in inputs:  # an unused input (batch_norm's running stats in training) has no grad
        if isinstance(t, ag.Tensor) and t.grad is not None:
            assert t.grad.dtype == np.float32 and t.grad.shape == t.shape


# ---- kinks=: the gradient an op declares where it has none -----------------------------------

KINK = re.compile(r"(?:(?P<wrt>\w+) at )?(?P<input>\w+)=(?P<point>[\w.-]+): "
                  r"(?P<side>left|right|mean)")
KINKED = [pytest.param(op, kink, id=f"{_id(op)}:{kink}")
          for op in [*SHIPPED.values(), *COMPOSED] for kink in op.kinks]


def _kink_values(point, op, arrays, params, shape):
    """Where the kink is, for each element of an input of ``shape``: a number, another input
    (a tie), a parameter (clip's bounds) or the op's result (max's)."""
    if point in op.input_names:
        value = arrays[op.input_names.index(point)]
    elif point in params:
        value = params[point]
    elif point == "out":
        value = _call(op, _tensors(arrays, ()), params).data
    else:
        value = float(point)
    if value is None:
        reject()  # clip without that bound
    try:
        return np.broadcast_to(value, shape)
    except ValueError:  # no element pairs with it (max's result without keepdims)
        reject()


def _slopes(op, arrays, params, w, v, side, h):
    """d<v, op(...)>/d(input w), element by element, by the finite difference on ``side``."""
    def projected(k, shift):
        moved = list(arrays)
        moved[w] = arrays[w].copy()
        moved[w][k] += shift
        return float(np.vdot(v, _call(op, _tensors(moved, ()), params).data))

    slopes = np.zeros(arrays[w].shape)
    for k in np.ndindex(slopes.shape):
        up, here, down = projected(k, h), projected(k, 0), projected(k, -h)
        slopes[k] = {"left": (here - down) / h, "right": (up - here) / h,
                     "mean": (up - down) / (2 * h)}[side]
    return slopes


@pytest.mark.parametrize(("op", "kink"), KINKED)
@given(data=st.data())
# pow's kink in the exponent at x = 0 holds for positive exponents only: draws with others (0 to
# a negative power is inf) are rejected below, most of them for some seeds
@settings(suppress_health_check=[*settings().suppress_health_check, HealthCheck.filter_too_much])
def test_gradient_at_a_declared_kink_is_the_declared_one_sided_derivative(op, kink, data):
    """relu'(0) = 0, abs'(0) = 0, ties split: at a kink the gradient is a convention, declared
    next to the op as ``kinks=`` (left, right or mean of the one-sided derivatives). Move one
    element of the input onto the kink and compare with the finite difference from that side."""
    spec = KINK.fullmatch(kink)
    assert spec, f"{op.name}: kinks= entry {kink!r} does not read '[wrt at ]input=point: side'"
    arrays, params = data.draw(op_arguments(op), label="args, params")
    i = op.input_names.index(spec["input"])
    w = op.input_names.index(spec["wrt"] or spec["input"])
    at = _kink_values(spec["point"], op, arrays, params, arrays[i].shape)
    j = data.draw(st.sampled_from(list(np.ndindex(arrays[i].shape))), label="element at kink")
    arrays[i] = arrays[i].copy()
    arrays[i][j] = at[j]

    inputs = _tensors(arrays, (w,))
    with np.errstate(all="ignore"):  # pow: 0 ** negative is inf, rejected below
        out = _call(op, inputs, params)
        v = np.random.default_rng(0).standard_normal(out.shape)
        out.backward(v)
        numeric, finer = [_slopes(op, arrays, params, w, v, spec["side"], h) for h in (1e-6, 1e-7)]
    if not (np.isfinite(numeric).all() and np.allclose(numeric, finer, rtol=1e-3, atol=1e-5)):
        reject()  # outside the op's domain, or another kink within the step (pow: 0 ** 0)
    analytic = np.zeros(arrays[w].shape) if inputs[w].grad is None else inputs[w].grad.numpy()
    np.testing.assert_allclose(analytic, numeric, rtol=1e-3, atol=1e-5,
                               err_msg=f"{op.name}: {kink}, element {j} moved to the kink")


# ---- saves=: what each rule declares it reads, against what it really reads -------------------


class Unread:
    """Stands for a saved array a rule declared it does not read: its shape, ndim, size and dtype
    are there (metadata does not count as reading), anything else raises."""

    def __init__(self, array):
        self.shape, self.ndim, self.size, self.dtype = (array.shape, array.ndim, array.size,
                                                        array.dtype)

    def __getattr__(self, name):
        raise ReadError(f".{name}")

    def __array__(self, *args, **kwargs):
        raise ReadError("__array__")

    def __array_function__(self, *args, **kwargs):
        raise ReadError("a numpy function")

    def __array_ufunc__(self, *args, **kwargs):
        raise ReadError("a numpy ufunc")


class ReadError(Exception):
    """An Unread value was read."""


def _refuse(name):
    def method(self, *args):
        raise ReadError(name)
    return method


for _dunder in ("add sub mul truediv pow matmul radd rsub rmul rtruediv rpow rmatmul neg eq ne "
                "lt le gt ge getitem len iter bool float int index").split():
    setattr(Unread, f"__{_dunder}__", _refuse(_dunder))
Unread.__hash__ = object.__hash__


def _rules(op, arrays):
    """The input positions that have a rule, each with its declared (reads out, reads inputs)."""
    for i, a in enumerate(arrays):
        if op.vjps[0 if op.variadic else i] is not None and a.dtype.kind == "f":
            reads_out, reads = op.saves[0 if op.variadic else i]
            yield i, reads_out, set(range(len(arrays)) if reads is None else reads)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@given(data=st.data())
def test_each_rule_reads_exactly_the_saved_values_it_declares(name, data):
    """With every value it does not declare hidden, a rule gives the same gradient; with one
    value it declares hidden, it fails. So backward's in-place checks watch what they must."""
    op = SHIPPED[name]
    arrays, params = data.draw(op_arguments(op), label="args, params")
    out = np.asarray(op.forward(*arrays, **params))
    g = np.ones_like(out)
    for i, reads_out, reads in _rules(op, arrays):
        expected = op.run_rule(i, g, out, tuple(arrays), params)
        hidden = tuple(a if k in reads else Unread(a) for k, a in enumerate(arrays))
        got = op.run_rule(i, g, out if reads_out else Unread(out), hidden, params)
        np.testing.assert_array_equal(got, expected, err_msg=f"{name}: rule {i}")
        for k in reads:
            one_hidden = tuple(Unread(a) if j == k else a for j, a in enumerate(arrays))
            with pytest.raises(ReadError):
                op.run_rule(i, g, out, one_hidden, params)
        if reads_out:
            with pytest.raises(ReadError):
                op.run_rule(i, g, Unread(out), tuple(arrays), params)
