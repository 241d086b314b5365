"""autograd_lite.testing: gradcheck, gradgradcheck, check_op and the Hypothesis strategies."""

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import autograd_lite as ag
from autograd_lite.testing import (
    GradcheckError,
    NonDifferentiableError,
    check_op,
    gradcheck,
    gradgradcheck,
)
from autograd_lite.testing import strategies as ags


def f64(values, requires_grad=True):
    return ag.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# Ops with deliberately wrong rules, the mistakes students make when writing a backward.
@ag.primitive(lambda g, out, x: -g * np.cos(x))
def sin_wrong_sign(x):
    return np.sin(x)


@ag.primitive(lambda g, out, x: 2 * g * x * 2)
def square_factor_two(x):
    return x * x


@ag.primitive(lambda g, out, x: g[..., None])
def identity_bad_shape(x):
    return x * 1.0


@ag.primitive(lambda g, out, x: g * np.cos(np.asarray(x)))  # np.asarray cuts the Tensor's graph
def sin_not_twice_differentiable(x):
    return np.sin(x)


SCALE = np.array([[1.0, 2.0], [3.0, 4.0]])


@ag.primitive(lambda g, out, x: (g * 2 * x * SCALE).T)  # the right gradient, transposed
def scaled_square_transposed(x):
    return x * x * SCALE


# ---- gradcheck ---------------------------------------------------------------------------------


def test_gradcheck_accepts_a_correct_gradient():
    x, w = f64([[0.3, -1.2], [2.0, 0.5]]), f64([0.7, -0.4])
    assert gradcheck(lambda x, w: ag.tanh(x @ w).sum(), (x, w))


def test_gradcheck_checks_non_scalar_and_multiple_outputs():
    x = f64([0.5, 1.5, -2.0])
    assert gradcheck(lambda x: (ag.sin(x), x * x), x)


def test_gradcheck_reports_a_mismatch_table_worst_first():
    x = f64([1.0, 0.1, 2.0])
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: sin_wrong_sign(x).sum(), x)
    text = str(info.value)
    assert "3 gradient element(s) differ" in text
    assert "analytic" in text and "numeric" in text and "rel err" in text
    rows = [line.split() for line in text.splitlines()[2:]]
    # the error is 2 |cos(x)|: largest at x = 0.1, then 1.0, then 2.0
    assert [r[1] for r in rows] == ["(1,)", "(0,)", "(2,)"]
    for _, _, analytic, numeric, abs_err, _ in rows:
        assert float(analytic) == pytest.approx(-float(numeric), rel=1e-4)
        assert float(abs_err) == pytest.approx(2 * abs(float(numeric)), rel=1e-2)


@pytest.mark.parametrize("fn, values", [
    (ag.relu, [1.0, 0.0, -1.0]),
    (ag.abs, [0.0, 2.0]),
    (lambda x: ag.max(x), [3.0, 3.0, 1.0]),
    (lambda x: ag.maximum(x, 0.5), [0.5, 2.0]),
], ids=["relu at 0", "abs at 0", "max tie", "maximum tie"])
def test_gradcheck_reports_a_kink_instead_of_a_mismatch(fn, values):
    with pytest.raises(NonDifferentiableError, match="not differentiable at input 0, element"):
        gradcheck(fn, f64(values))


def test_gradcheck_reports_a_kink_closer_than_the_step():
    with pytest.raises(NonDifferentiableError, match=r"element \(0,\)"):
        gradcheck(ag.relu, f64([1e-7, 1.0]))


def test_gradcheck_on_steep_but_smooth_function_is_not_a_kink():
    x = f64([0.0, 0.01])
    assert gradcheck(lambda x: ag.tanh(x * 50), x, atol=1e-4)


def test_gradcheck_upcasts_float32_and_says_so():
    x = ag.tensor([0.5, 1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="float32; it was upcast to float64"):
        assert gradcheck(ag.exp, x)


def test_gradcheck_checks_only_inputs_marked_requires_grad():
    x, c = f64([1.0, 2.0]), f64([3.0, 4.0], requires_grad=False)
    calls = []

    def fn(x, c):
        calls.append(1)
        return x * c

    assert gradcheck(fn, (x, c))
    assert len(calls) == 2 + 2 * 2  # analytic pass, f(x), and two evaluations per element of x


def test_gradcheck_fast_mode_checks_one_direction():
    x = f64(np.linspace(-1, 1, 400))
    calls = []

    def fn(x):
        calls.append(1)
        return ag.sin(x).sum()

    assert gradcheck(fn, x, fast_mode=True)
    assert len(calls) == 3
    with pytest.raises(GradcheckError, match="random direction"):
        gradcheck(sin_wrong_sign, x, fast_mode=True)


def test_gradcheck_needs_something_to_check():
    with pytest.raises(ValueError, match="no floating-point input"):
        gradcheck(lambda i: i * 2, ag.tensor([1, 2]))


# ---- gradgradcheck -----------------------------------------------------------------------------


def test_gradgradcheck_accepts_correct_second_derivatives():
    x, w = f64([[0.3, -1.2], [2.0, 0.5]]), f64([0.7, -0.4])
    assert gradgradcheck(lambda x, w: ag.sigmoid(x @ w) * ag.exp(w), (x, w))


def test_gradgradcheck_catches_a_rule_that_is_not_differentiable():
    with pytest.raises(GradcheckError):
        gradgradcheck(sin_not_twice_differentiable, f64([0.3, 1.0]))
    assert gradcheck(sin_not_twice_differentiable, f64([0.3, 1.0]))  # first order is right


# ---- check_op ----------------------------------------------------------------------------------


def test_check_op_passes_a_correct_op():
    check_op(lambda x: ag.log(1 + ag.exp(x)), reference=lambda x: np.log1p(np.exp(x)),
             max_examples=20)


def test_check_op_finds_a_forward_that_differs_from_the_reference():
    with pytest.raises(AssertionError, match="forward differs from the reference"):
        check_op(ag.sin, reference=np.cos, max_examples=20)


@pytest.mark.parametrize("op, hint", [
    (sin_wrong_sign, "wrong sign"),
    (square_factor_two, "factor of 2"),
    (identity_bad_shape, "sum the gradient over the broadcast axes"),
])
def test_check_op_gives_a_hint_for_common_mistakes(op, hint):
    with pytest.raises(GradcheckError, match=hint):
        check_op(op, strategy=ags.arrays((3,), domain="nonzero").map(lambda a: (a,)),
                 max_examples=10)


def test_check_op_hints_at_a_transposed_gradient():
    with pytest.raises(GradcheckError, match="hint: the gradient of input 0 is transposed"):
        check_op(scaled_square_transposed, strategy=ags.arrays((2, 2), domain="nonzero").map(
            lambda a: (a,)), max_examples=5)


# ---- strategies --------------------------------------------------------------------------------


@settings(max_examples=50)
@given(ags.arrays(domain="positive"), ags.arrays(domain="nonzero"), ags.arrays(domain="offgrid"))
def test_array_domains_hold(pos, nonzero, offgrid):
    assert np.all(pos >= 0.1)
    assert np.all(np.abs(nonzero) >= 0.1)
    assert np.all(np.abs(offgrid * 10 - np.round(offgrid * 10)) > 0.4)


@settings(max_examples=50)
@given(ags.arrays(domain="unique"))
def test_unique_arrays_have_no_ties(a):
    assert len(np.unique(a)) == a.size


@settings(max_examples=50)
@given(ags.broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3 and all(isinstance(s, tuple) for s in shapes)
    result = np.broadcast_shapes(*shapes)  # raises ValueError when they do not broadcast
    assert all(len(s) <= len(result) <= 3 and max(s, default=1) <= 3 for s in shapes)


def test_broadcastable_shapes_include_stretched_and_missing_dims():
    def stretched(shapes):  # a size-1 dim that broadcasting stretches
        return any(a == 1 < b for a, b in zip(shapes[0][::-1], shapes[1][::-1]))

    find(ags.broadcastable_shapes(2), stretched)
    find(ags.broadcastable_shapes(2), lambda shapes: len(shapes[0]) < len(shapes[1]))


@settings(max_examples=20)
@given(ags.tensors(shape=(2, 3)))
def test_tensors_are_float64_and_require_grad(t):
    assert t.shape == (2, 3) and t.dtype == np.float64 and t.requires_grad


@settings(max_examples=20)
@given(st.data())
def test_op_arguments_are_valid_for_the_op(data):
    op = ag.ops.REGISTRY["var"]
    arrays, params = data.draw(ags.op_arguments(op))
    np.testing.assert_allclose(op(*arrays, **params).numpy(), np.var(*arrays, **params))


def test_op_arguments_refuses_an_unknown_kind():
    @ag.primitive(lambda g, out, x: g, kind="mystery")
    def mystery_identity(x):
        return x * 1.0

    with pytest.raises(ValueError, match="kind='mystery'.*no argument strategy"):
        ags.op_arguments(mystery_identity)
