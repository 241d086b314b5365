"""The ops (autograd_lite/ops): forward values against numpy, dtypes, operators, errors.

Gradients of every primitive are checked generically against finite differences in
test_registry.py; the gradient tests here document conventions (ties, kinks, repeated indices)
and the shape/indexing cases a generic strategy is unlikely to draw.
"""

import math
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as ag
from autograd_lite import ops
from autograd_lite.testing import gradcheck, gradgradcheck

REALS = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
POSITIVE = st.floats(0.1, 10)
NONZERO = REALS.filter(lambda v: abs(v) > 0.1)
SMALL_INTS = st.integers(-3, 3).map(float)  # makes ties and equalities likely


def arrays(elements=REALS, min_dims=0, max_dims=3, min_side=1, max_side=4, shape=None):
    if shape is None:
        shape = hnp.array_shapes(min_dims=min_dims, max_dims=max_dims,
                                 min_side=min_side, max_side=max_side)
    return hnp.arrays(np.float64, shape, elements=elements)


def numerical_gradient(f, x, eps=1e-6):
    """Central differences of the scalar numpy function ``f`` at ``x``."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def close(actual, expected, rtol=1e-7, atol=1e-12):
    actual = actual.numpy() if isinstance(actual, ag.Tensor) else actual
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# ---- elementwise forward values ------------------------------------------------------------

UNARY = {
    "neg": (ag.neg, lambda x: -x, REALS),
    "exp": (ag.exp, np.exp, REALS),
    "log": (ag.log, np.log, POSITIVE),
    "sqrt": (ag.sqrt, np.sqrt, POSITIVE),
    "abs": (ag.abs, np.abs, REALS),
    "sin": (ag.sin, np.sin, REALS),
    "cos": (ag.cos, np.cos, REALS),
    "tanh": (ag.tanh, lambda x: (np.exp(2 * x) - 1) / (np.exp(2 * x) + 1), REALS),
    "sigmoid": (ag.sigmoid, lambda x: 1 / (1 + np.exp(-x)), REALS),
    "relu": (ag.relu, lambda x: np.where(x > 0, x, 0.0), REALS),
    "softplus": (ag.softplus, lambda x: np.log(1 + np.exp(x)), REALS),
    "erf": (ag.erf, np.vectorize(math.erf), REALS),
    "square": (ag.square, lambda x: x * x, REALS),
    "clone": (ag.clone, np.copy, REALS),
    "sign": (ag.sign, np.sign, SMALL_INTS),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=15)
@given(data=st.data())
def test_unary_op_matches_its_numpy_formula(name, data):
    op, expected, elements = UNARY[name]
    x = data.draw(arrays(elements), label="x")
    out = op(ag.tensor(x))
    assert isinstance(out, ag.Tensor)
    assert out.shape == x.shape
    close(out, expected(x), rtol=1e-6)


BINARY = {
    "add": (ag.add, operator.add, REALS, REALS),
    "sub": (ag.sub, operator.sub, REALS, REALS),
    "mul": (ag.mul, operator.mul, REALS, REALS),
    "div": (ag.div, operator.truediv, REALS, NONZERO),
    "pow": (ag.pow, lambda x, y: np.exp(y * np.log(x)), POSITIVE, st.floats(-3, 3)),
    "maximum": (ag.maximum, lambda x, y: np.where(x >= y, x, y), SMALL_INTS, SMALL_INTS),
    "minimum": (ag.minimum, lambda x, y: np.where(x <= y, x, y), SMALL_INTS, SMALL_INTS),
    "eq": (ag.eq, operator.eq, SMALL_INTS, SMALL_INTS),
    "ne": (ag.ne, operator.ne, SMALL_INTS, SMALL_INTS),
    "lt": (ag.lt, operator.lt, SMALL_INTS, SMALL_INTS),
    "le": (ag.le, operator.le, SMALL_INTS, SMALL_INTS),
    "gt": (ag.gt, operator.gt, SMALL_INTS, SMALL_INTS),
    "ge": (ag.ge, operator.ge, SMALL_INTS, SMALL_INTS),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=15)
@given(data=st.data())
def test_binary_op_broadcasts_and_matches_numpy(name, data):
    op, expected, left, right = BINARY[name]
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
                       label="shapes")
    x = data.draw(arrays(left, shape=shapes.input_shapes[0]), label="x")
    y = data.draw(arrays(right, shape=shapes.input_shapes[1]), label="y")
    out = op(ag.tensor(x), ag.tensor(y))
    assert out.shape == shapes.result_shape
    close(out, expected(x, y), rtol=1e-6)


@settings(max_examples=20)
@given(x=arrays(), lo=st.floats(-5, 0), hi=st.floats(0, 5))
def test_clip_limits_to_either_or_both_bounds(x, lo, hi):
    t = ag.tensor(x)
    close(ag.clip(t, lo, hi), np.where(x < lo, lo, np.where(x > hi, hi, x)))
    close(t.clip(min=lo), np.where(x < lo, lo, x))
    close(t.clamp(max=hi), np.where(x > hi, hi, x))


def test_clip_needs_at_least_one_bound():
    with pytest.raises(ValueError, match="clip"):
        ag.clip(ag.ones(2))


@settings(max_examples=20)
@given(data=st.data())
def test_where_selects_from_x_where_the_condition_holds_else_from_y(data):
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3))
    cond = data.draw(hnp.arrays(np.bool_, shapes.input_shapes[0]))
    x = data.draw(arrays(shape=shapes.input_shapes[1]))
    y = data.draw(arrays(shape=shapes.input_shapes[2]))
    out = ag.where(ag.tensor(cond), ag.tensor(x), ag.tensor(y))
    expected = cond * x + (~cond) * y
    assert out.shape == shapes.result_shape
    close(out, expected)


def test_astype_converts_and_its_gradient_comes_back_in_the_input_dtype():
    x = ag.tensor([1.25, -2.0], requires_grad=True)
    y = ag.ops.astype(x, np.float64)
    assert y.dtype == np.float64 and y.tolist() == [1.25, -2.0]
    (y * np.array([3.0, 4.0])).sum().backward()
    assert x.grad.dtype == np.float32
    assert x.grad.tolist() == [3.0, 4.0]
    assert x.float().dtype == np.float32 and x.long().tolist() == [1, -2]


# ---- reductions ----------------------------------------------------------------------------


@st.composite
def array_axis_keepdims(draw, min_side=1, elements=REALS):
    """An array, an axis (None, an int, possibly negative, or a tuple) and keepdims."""
    x = draw(arrays(elements, min_dims=1, max_dims=3, min_side=min_side), label="x")
    axis = draw(st.none() | st.integers(-x.ndim, x.ndim - 1)
                | hnp.valid_tuple_axes(x.ndim, min_size=1), label="axis")
    return x, axis, draw(st.booleans(), label="keepdims")


REDUCTIONS = {  # name -> numpy reference taking (x, axis, keepdims)
    "sum": lambda x, a, k: np.sum(x, axis=a, keepdims=k),
    "mean": lambda x, a, k: np.sum(x, axis=a, keepdims=k) * np.size(np.sum(x, axis=a)) / x.size,
    "max": lambda x, a, k: np.max(x, axis=a, keepdims=k),
    "min": lambda x, a, k: -np.max(-x, axis=a, keepdims=k),
    "logsumexp": lambda x, a, k: np.log(np.sum(np.exp(x), axis=a, keepdims=k)),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@settings(max_examples=25)
@given(args=array_axis_keepdims())
def test_reduction_over_any_axis_with_keepdims_matches_numpy(name, args):
    x, axis, keepdims = args
    want = np.asarray(REDUCTIONS[name](x, axis, keepdims))
    out = getattr(ops, name)(ag.tensor(x), axis=axis, keepdims=keepdims)
    assert out.shape == want.shape
    close(out, want, rtol=1e-9)
    if name not in ("max", "min") or isinstance(axis, int):  # methods: PyTorch's one dim
        method = getattr(ag.tensor(x), name)(axis=axis, keepdims=keepdims)
        close(getattr(method, "values", method), want, rtol=1e-9)


@settings(max_examples=25)
@given(args=array_axis_keepdims(min_side=2), ddof=st.sampled_from([0, 1]))
def test_var_and_std_use_ddof_like_numpy(args, ddof):
    x, axis, keepdims = args
    mean = np.mean(x, axis=axis, keepdims=True)
    n = x.size // mean.size
    var = np.sum((x - mean) ** 2, axis=axis, keepdims=keepdims) / (n - ddof)
    t = ag.tensor(x)
    close(ag.var(t, axis=axis, ddof=ddof, keepdims=keepdims), var, rtol=1e-9)
    close(t.std(axis=axis, ddof=ddof, keepdims=keepdims), np.sqrt(var), rtol=1e-9)


def test_var_ddof_by_hand():
    x = ag.tensor([1.0, 2.0, 3.0, 4.0])
    assert x.var().item() == pytest.approx(5 / 3)  # PyTorch's default: correction=1
    assert x.var(correction=0).item() == pytest.approx(1.25)
    assert ag.ops.var(x).item() == pytest.approx(1.25)  # numpy's meaning: ddof=0
    assert x.var(ddof=1).item() == pytest.approx(5 / 3)
    assert x.std(ddof=1).item() == pytest.approx((5 / 3) ** 0.5)


@settings(max_examples=25)
@given(data=st.data())
def test_argmax_and_argmin_match_numpy_including_first_of_ties(data):
    x = data.draw(arrays(SMALL_INTS, min_dims=1))
    axis = data.draw(st.none() | st.integers(-x.ndim, x.ndim - 1))
    keepdims = data.draw(st.booleans())
    t = ag.tensor(x)
    for op, ref in [(ag.argmax, np.argmax), (ag.argmin, np.argmin)]:
        out = op(t, axis=axis, keepdims=keepdims)
        np.testing.assert_array_equal(out.numpy(), ref(x, axis=axis, keepdims=keepdims))
        assert out.dtype.kind == "i"
        assert not out.requires_grad


@settings(max_examples=25)
@given(data=st.data())
def test_softmax_and_log_softmax_along_any_axis(data):
    x = data.draw(arrays(min_dims=1))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    e = np.exp(x)
    expected = e / e.sum(axis=axis, keepdims=True)
    close(ag.softmax(ag.tensor(x), axis=axis), expected, rtol=1e-9)
    close(ag.tensor(x).log_softmax(axis), np.log(expected), rtol=1e-9, atol=1e-9)


def test_softmax_defaults_to_the_last_axis():
    x = ag.tensor([[1.0, 2.0], [3.0, 5.0]])
    np.testing.assert_allclose(x.softmax().sum(axis=-1).numpy(), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(x.softmax().numpy()[1], [1 / (1 + np.e ** 2),
                                                        np.e ** 2 / (1 + np.e ** 2)], rtol=1e-6)


# ---- numerical stability -------------------------------------------------------------------


@pytest.mark.filterwarnings("error")  # any overflow / invalid-value RuntimeWarning fails
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_family_is_stable_for_huge_inputs(dtype):
    big = ag.tensor([1000.0, -1000.0], dtype=dtype, requires_grad=True)
    same = ag.tensor([1000.0, 1000.0], dtype=dtype)
    low = ag.tensor([-1000.0, -1000.0], dtype=dtype)
    log2 = np.log(2.0)

    close(ag.softmax(big), [1.0, 0.0])
    close(ag.softmax(same), [0.5, 0.5])
    close(ag.softmax(low), [0.5, 0.5])
    close(ag.log_softmax(big), [0.0, -2000.0])
    close(ag.log_softmax(same), [-log2, -log2], rtol=1e-6)
    close(ag.logsumexp(big), 1000.0)
    close(ag.logsumexp(same), 1000.0 + log2, rtol=1e-6)
    close(ag.logsumexp(low), -1000.0 + log2, rtol=1e-6)

    ag.logsumexp(big).backward()  # d/dx logsumexp = softmax
    close(big.grad, [1.0, 0.0])
    big.grad = None
    (ag.log_softmax(big) * np.array([1.0, 0.0])).sum().backward()
    close(big.grad, [0.0, 0.0], atol=1e-30)
    assert all(np.isfinite(big.grad.numpy()))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_huge_inputs_of_either_sign(dtype):
    x = ag.tensor([1000.0, -1000.0, 0.0, 10.0, -10.0], dtype=dtype, requires_grad=True)
    s = ag.sigmoid(x)
    e10 = np.exp(-10.0)
    expected = np.array([1.0, 0.0, 0.5, 1 / (1 + e10), e10 / (1 + e10)])
    close(s, expected, rtol=1e-6, atol=0)
    s.sum().backward()
    # s (1 - s); at +10 in float32, 1 - s keeps only a few significant digits
    close(x.grad, expected * (1 - expected), rtol=1e-2 if dtype == np.float32 else 1e-6, atol=0)


# ---- matmul --------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)),            # vector . vector -> scalar
    ((3,), (3, 4)),          # vector @ matrix
    ((2, 3), (3,)),          # matrix @ vector
    ((2, 3), (3, 4)),        # matrix @ matrix
    ((5, 2, 3), (3, 4)),     # batch @ matrix
    ((2, 3), (5, 3, 4)),     # matrix @ batch
    ((5, 2, 3), (3,)),       # batch @ vector
    ((3,), (5, 3, 4)),       # vector @ batch
    ((2, 1, 2, 3), (4, 3, 2)),  # batch dims broadcast against each other
]


@pytest.mark.parametrize("xshape, yshape", MATMUL_SHAPES, ids=str)
def test_matmul_matches_numpy_and_its_gradients_have_the_input_shapes(xshape, yshape):
    rng = np.random.default_rng(0)
    xv, yv = rng.standard_normal(xshape), rng.standard_normal(yshape)
    want = np.matmul(xv, yv)
    w = rng.standard_normal(want.shape)
    x = ag.tensor(xv, requires_grad=True)
    y = ag.tensor(yv, requires_grad=True)
    out = x @ y
    assert out.shape == want.shape
    close(out, want, rtol=1e-10)
    (out * w).sum().backward()
    assert x.grad.shape == xshape and y.grad.shape == yshape
    close(x.grad, numerical_gradient(lambda a: np.sum(w * np.matmul(a, yv)), xv), rtol=1e-6)
    close(y.grad, numerical_gradient(lambda b: np.sum(w * np.matmul(xv, b)), yv), rtol=1e-6)


def test_matmul_method_dot_and_function_agree():
    a = np.arange(6.0).reshape(2, 3)
    b = np.arange(3.0)
    want = [5.0, 14.0]
    assert ag.matmul(a, b).tolist() == want
    assert ag.tensor(a).matmul(b).tolist() == want
    assert ag.tensor(a).dot(b).tolist() == want


# ---- shape ops: forward like numpy, gradient moves the elements back -----------------------

X234 = np.arange(24.0).reshape(2, 3, 4)

SHAPE_CASES = {
    "reshape": (lambda t: t.reshape(4, 6), lambda a: a.reshape(4, 6), (2, 3, 4)),
    "reshape-tuple-minus-one": (lambda t: ag.reshape(t, (-1, 2)), lambda a: a.reshape(-1, 2),
                                (2, 3, 4)),
    "view": (lambda t: t.view((3, 8)), lambda a: a.reshape(3, 8), (2, 3, 4)),
    "transpose-reverse": (lambda t: ag.ops.transpose(t), lambda a: a.transpose(2, 1, 0), (2, 3, 4)),
    "transpose-axes": (lambda t: t.permute(1, 2, 0), lambda a: a.transpose(1, 2, 0),
                       (2, 3, 4)),
    "transpose-negative": (lambda t: ag.ops.transpose(t, (-1, 0, 1)),
                           lambda a: a.transpose(2, 0, 1), (2, 3, 4)),
    "permute": (lambda t: t.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1), (2, 3, 4)),
    "T": (lambda t: t.T, lambda a: a.transpose(2, 1, 0), (2, 3, 4)),
    "mT": (lambda t: t.mT, lambda a: a.transpose(0, 2, 1), (2, 3, 4)),
    "swapaxes": (lambda t: ag.swapaxes(t, 0, -1), lambda a: a.transpose(2, 1, 0), (2, 3, 4)),
    "broadcast_to": (lambda t: ag.broadcast_to(t, (2, 3, 4)),
                     lambda a: a * np.ones((2, 3, 4)), (3, 1)),
    "expand": (lambda t: t.expand(2, 3, 4), lambda a: a * np.ones((2, 3, 4)), (3, 1)),
    "expand-tuple": (lambda t: t.expand((5, 4)), lambda a: a * np.ones((5, 4)), (4,)),
    "squeeze-all": (lambda t: ag.squeeze(t), lambda a: a.reshape(3, 4), (1, 3, 1, 4)),
    "squeeze-axis": (lambda t: t.squeeze(2), lambda a: a.reshape(1, 3, 4), (1, 3, 1, 4)),
    "squeeze-negative": (lambda t: t.squeeze(-4), lambda a: a.reshape(3, 1, 4), (1, 3, 1, 4)),
    "unsqueeze": (lambda t: ag.unsqueeze(t, 1), lambda a: a.reshape(3, 1, 4), (3, 4)),
    "unsqueeze-negative": (lambda t: t.unsqueeze(-1), lambda a: a.reshape(3, 4, 1), (3, 4)),
    "unsqueeze-tuple": (lambda t: t.unsqueeze((0, 2)), lambda a: a.reshape(1, 3, 1, 4), (3, 4)),
    "flatten": (lambda t: ag.flatten(t), lambda a: a.reshape(24), (2, 3, 4)),
    "flatten-from-1": (lambda t: t.flatten(1), lambda a: a.reshape(2, 12), (2, 3, 4)),
    "flatten-0-to-1": (lambda t: t.flatten(0, 1), lambda a: a.reshape(6, 4), (2, 3, 4)),
    "flatten-negative": (lambda t: t.flatten(-2, -1), lambda a: a.reshape(2, 12), (2, 3, 4)),
    "flatten-scalar": (lambda t: t.flatten(), lambda a: a.reshape(1), ()),
}


@pytest.mark.parametrize("case", sorted(SHAPE_CASES))
def test_shape_op_matches_numpy_and_sends_gradients_back_to_their_elements(case):
    fn, reference, shape = SHAPE_CASES[case]
    rng = np.random.default_rng(1)
    xv = rng.standard_normal(shape)
    want = reference(xv)
    x = ag.tensor(xv, requires_grad=True)
    out = fn(x)
    assert out.shape == want.shape
    close(out, want)
    w = rng.standard_normal(want.shape)
    (out * w).sum().backward()
    assert x.grad.shape == shape
    close(x.grad, numerical_gradient(lambda a: np.sum(w * reference(a)), xv), rtol=1e-6)


def test_broadcast_to_gradient_sums_over_the_copies():
    x = ag.tensor([[1.0], [2.0], [3.0]], requires_grad=True)  # (3, 1) -> (2, 3, 4)
    x.broadcast_to((2, 3, 4)).sum().backward()
    assert x.grad.tolist() == [[8.0], [8.0], [8.0]]


# ---- indexing ------------------------------------------------------------------------------

INDICES = {
    "int": 1,
    "negative-int": -1,
    "slice": slice(1, 3),
    "step-slice": (slice(None), slice(None, None, 2)),
    "reversed": (slice(None, None, -1), 0),
    "mixed": (0, slice(1, None), 2),
    "ellipsis": (Ellipsis, 1),
    "ellipsis-none-slice": (Ellipsis, None, slice(1, 3)),
    "none": (None, 1),
    "int-array-repeated": np.array([1, 0, 1, 1]),
    "int-list-repeated": [0, 0, 1],
    "int-arrays-paired": (np.array([0, 1, 1]), np.array([2, 2, 0])),
    "int-array-and-slice": (slice(None), np.array([0, 2, 2]), slice(1, 3)),
    "bool-mask-full": X234 % 3 == 0,
    "bool-mask-axis": (slice(None), np.array([True, False, True])),
}


@pytest.mark.parametrize("case", sorted(INDICES))
def test_getitem_matches_numpy_and_scatters_the_gradient_back(case):
    index = INDICES[case]
    rng = np.random.default_rng(2)
    xv = rng.standard_normal((2, 3, 4))
    want = xv[index]
    x = ag.tensor(xv, requires_grad=True)
    out = x[index]
    assert out.shape == want.shape
    close(out, want)
    w = rng.standard_normal(want.shape)
    (out * w).sum().backward()
    close(x.grad, numerical_gradient(lambda a: np.sum(w * a[index]), xv), rtol=1e-6)


def test_repeated_integer_indices_accumulate_their_gradient():
    x = ag.tensor([10.0, 20.0, 30.0], requires_grad=True)
    y = x[[0, 0, 2, 0]]
    assert y.tolist() == [10.0, 10.0, 30.0, 10.0]
    (y * np.array([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert x.grad.tolist() == [1.0 + 2.0 + 4.0, 0.0, 3.0]


def test_tensors_can_be_used_as_indices():
    """An integer Tensor or a bool Tensor (e.g. from a comparison) indexes like an array."""
    x = ag.tensor([1.0, -2.0, 3.0, -4.0], requires_grad=True)
    positive = x[x > 0]
    assert positive.tolist() == [1.0, 3.0]
    positive.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0, 0.0]

    x.grad = None
    picked = x[ag.tensor([3, 3, 0])]
    assert picked.tolist() == [-4.0, -4.0, 1.0]
    picked.sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0, 2.0]


def test_add_at_adds_into_zeros_and_accumulates_repeats():
    out = ag.ops.add_at(ag.tensor([1.0, 2.0, 3.0]), np.array([0, 0, 2]), (4,))
    assert out.tolist() == [3.0, 0.0, 3.0, 0.0]
    sliced = ag.ops.add_at(ag.tensor([[5.0, 6.0]]), (slice(1, 2), slice(None)), (3, 2))
    assert sliced.tolist() == [[0.0, 0.0], [5.0, 6.0], [0.0, 0.0]]


def test_setitem_writes_a_copy_and_splits_the_gradient_between_kept_and_written():
    x = ag.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    v = ag.tensor([10.0, 20.0], requires_grad=True)
    out = ag.ops.setitem(x, v, (slice(None), 1))
    assert out.tolist() == [[1.0, 10.0, 3.0], [4.0, 20.0, 6.0]]
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]  # out of place
    (out * ag.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 3.0], [4.0, 0.0, 6.0]]
    assert v.grad.tolist() == [2.0, 5.0]


# ---- joining -------------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_cat_join_along_an_axis_and_split_the_gradient(axis):
    rng = np.random.default_rng(3)
    shapes = [(2, 3), (2, 1), (2, 2)] if axis != 0 else [(2, 3), (1, 3), (3, 3)]
    values = [rng.standard_normal(s) for s in shapes]
    xs = [ag.tensor(v, requires_grad=True) for v in values]
    want = np.concatenate(values, axis=axis)
    out = ag.concatenate(xs, axis=axis)
    close(out, want)
    close(ag.cat(xs, axis=axis), want)
    w = rng.standard_normal(want.shape)
    (out * w).sum().backward()
    bounds = np.cumsum([0] + [s[axis] for s in shapes])
    for x, start, stop in zip(xs, bounds[:-1], bounds[1:]):
        close(x.grad, np.take(w, np.arange(start, stop), axis=axis))


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_stack_joins_along_a_new_axis_and_hands_each_input_its_slice(axis):
    rng = np.random.default_rng(4)
    values = [rng.standard_normal((2, 3)) for _ in range(3)]
    xs = [ag.tensor(v, requires_grad=True) for v in values]
    want = np.stack(values, axis=axis)
    out = ag.stack(xs, axis=axis)
    assert out.shape == want.shape
    close(out, want)
    w = rng.standard_normal(want.shape)
    (out * w).sum().backward()
    for i, x in enumerate(xs):
        close(x.grad, np.take(w, i, axis=axis))


def test_joining_mixes_tensors_and_arrays():
    out = ag.concatenate([ag.tensor([1.0]), np.array([2.0, 3.0]), [4.0]])
    assert out.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert ag.stack([ag.tensor([1.0]), np.array([2.0])]).tolist() == [[1.0], [2.0]]


# ---- gradient conventions at kinks and ties ------------------------------------------------


def test_abs_and_relu_have_zero_gradient_at_zero():
    x = ag.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    x.abs().sum().backward()
    assert x.grad.tolist() == [-1.0, 0.0, 1.0]
    x.grad = None
    x.relu().sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]


def test_maximum_and_minimum_split_the_gradient_evenly_on_ties():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = ag.tensor([2.0, 2.0, 2.0], requires_grad=True)
    ag.maximum(x, y).sum().backward()
    assert x.grad.tolist() == [0.0, 0.5, 1.0]
    assert y.grad.tolist() == [1.0, 0.5, 0.0]
    x.grad = y.grad = None
    ag.minimum(x, y).sum().backward()
    assert x.grad.tolist() == [1.0, 0.5, 0.0]
    assert y.grad.tolist() == [0.0, 0.5, 1.0]


def test_max_and_min_reductions_share_the_gradient_among_tied_extremes():
    x = ag.tensor([[1.0, 3.0, 3.0], [0.0, 0.0, 5.0]], requires_grad=True)
    ag.ops.max(x, axis=1).sum().backward()  # the op (numpy's max); Tensor.max(dim) picks one index
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [0.0, 0.0, 1.0]]
    x.grad = None
    x.min().backward()  # the two zeros share it
    assert x.grad.tolist() == [[0.0, 0.0, 0.0], [0.5, 0.5, 0.0]]


def test_clip_passes_the_gradient_only_inside_the_bounds():
    x = ag.tensor([-2.0, 0.5, 3.0], requires_grad=True)
    x.clip(-1.0, 1.0).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


def test_comparisons_and_sign_carry_no_gradient():
    x = ag.tensor([1.0, -2.0], requires_grad=True)
    for result in [x > 0, x == x, ag.ne(x, 1.0), ag.sign(x), x.argmax(), ag.argmin(x)]:
        assert result.requires_grad is False and result.grad_fn is None


SCALAR_EXPRESSIONS = {
    "x * 2.0": (lambda x: x * 2.0, lambda v: v * 2.0),
    "2 * x": (lambda x: 2 * x, lambda v: 2 * v),
    "1 - x": (lambda x: 1 - x, lambda v: 1 - v),
    "x - 0.5": (lambda x: x - 0.5, lambda v: v - 0.5),
    "x + 1": (lambda x: x + 1, lambda v: v + 1),
    "x / 3": (lambda x: x / 3, lambda v: v / 3),
    "1 / x": (lambda x: 1 / x, lambda v: 1 / v),
    "x ** 2": (lambda x: x ** 2, lambda v: v * v),
    "x ** 0.5": (lambda x: x ** 0.5, np.sqrt),
    "2 ** x": (lambda x: 2 ** x, lambda v: np.exp(v * np.log(2.0))),
    "-x": (lambda x: -x, lambda v: -v),
    "np.float64(2.0) * x": (lambda x: np.float64(2.0) * x, lambda v: 2.0 * v),
    "x * np.float64(2.0)": (lambda x: x * np.float64(2.0), lambda v: 2.0 * v),
    "x + np.float64(1.5)": (lambda x: x + np.float64(1.5), lambda v: v + 1.5),
    "np.float64(1.0) - x": (lambda x: np.float64(1.0) - x, lambda v: 1.0 - v),
    "x / np.float64(4.0)": (lambda x: x / np.float64(4.0), lambda v: v / 4.0),
    "x ** np.float64(2.0)": (lambda x: x ** np.float64(2.0), lambda v: v * v),
    "np.float64(2.0) ** x": (lambda x: np.float64(2.0) ** x, lambda v: 2.0 ** v),
    "np.int64(3) * x": (lambda x: np.int64(3) * x, lambda v: 3 * v),
    "maximum(x, np.float64(1.0))": (lambda x: ag.maximum(x, np.float64(1.0)),
                                    lambda v: np.where(v > 1, v, 1.0)),
    "clip(x, np.float64(0.8), np.float64(1.2))": (
        lambda x: ag.clip(x, np.float64(0.8), np.float64(1.2)),
        lambda v: np.where(v < 0.8, 0.8, np.where(v > 1.2, 1.2, v))),
    "where(c, x, np.float64(0.0))": (lambda x: ag.where(x > 1, x, np.float64(0.0)),
                                     lambda v: np.where(v > 1, v, 0.0)),
}


@pytest.mark.parametrize("expression", sorted(SCALAR_EXPRESSIONS))
def test_python_and_numpy_scalars_do_not_upcast_float32(expression):
    fn, reference = SCALAR_EXPRESSIONS[expression]
    values = np.array([0.5, 1.25, 2.0], dtype=np.float32)
    x = ag.tensor(values, requires_grad=True)
    out = fn(x)
    assert isinstance(out, ag.Tensor)
    assert out.dtype == np.float32, f"{expression} gave {out.dtype}"
    close(out, reference(values.astype(np.float64)), rtol=1e-6)
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_float64_tensors_stay_float64():
    x = ag.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    y = (2 * x + 1) ** 2 / 3
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float64
    close(x.grad, [4 * (2 * 1.0 + 1) / 3, 4 * (2 * 2.0 + 1) / 3])


# ---- operators, reflected operators and mixed operands -------------------------------------


def test_arithmetic_operators_match_numpy():
    a, b = np.array([1.0, -2.0, 3.0]), np.array([4.0, 5.0, -6.0])
    x, y = ag.tensor(a), ag.tensor(b)
    close(x + y, a + b)
    close(x - y, a - b)
    close(x * y, a * b)
    close(x / y, a / b)
    close(abs(x) ** y, np.abs(a) ** b)
    close(-x, -a)
    close(+x, a)
    close(abs(x), np.abs(a))


def test_reflected_operators_with_a_python_number_on_the_left():
    x = ag.tensor([1.0, 2.0, 4.0], requires_grad=True)
    close(2 * x, [2.0, 4.0, 8.0])
    close(1 - x, [0.0, -1.0, -3.0])
    close(1 / x, [1.0, 0.5, 0.25])
    close(3 + x, [4.0, 5.0, 7.0])
    close(2 ** x, [2.0, 4.0, 16.0])
    (1 / x).sum().backward()
    close(x.grad, [-1.0, -0.25, -0.0625])


def test_numpy_array_on_the_left_gives_a_tensor_in_the_graph():
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    x = ag.tensor([1.0, 0.0, -1.0], requires_grad=True)
    for result, expected in [(a + x, a + [1.0, 0.0, -1.0]), (a - x, a - [1.0, 0.0, -1.0]),
                             (a * x, a * [1.0, 0.0, -1.0]), (a @ x, [-2.0, -2.0])]:
        assert isinstance(result, ag.Tensor)
        assert result.grad_fn is not None
        close(result, expected, rtol=1e-6)
    (a @ x).sum().backward()
    close(x.grad, a.sum(axis=0))


def test_comparisons_return_bool_tensors_that_do_not_require_grad():
    x = ag.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = np.array([3.0, 2.0, 1.0])
    cases = [(x < y, [True, False, False]), (x <= y, [True, True, False]),
             (x > y, [False, False, True]), (x >= y, [False, True, True]),
             (x == y, [False, True, False]), (x != y, [True, False, True]),
             (x > 1.5, [False, True, True]), (2 < x, [False, False, True]),
             (y == x, [False, True, False])]
    for result, expected in cases:
        assert isinstance(result, ag.Tensor)
        assert result.dtype == np.bool_
        assert result.requires_grad is False
        assert result.tolist() == expected


@pytest.mark.parametrize("left", [ag.tensor([1.0, 2.0]), np.array([1.0, 2.0]), [1.0, 2.0]],
                         ids=["tensor", "array", "list"])
@pytest.mark.parametrize("right", [ag.tensor(3.0), np.array(3.0), 3.0, 3],
                         ids=["tensor", "array", "float", "int"])
def test_functions_accept_tensors_arrays_and_python_numbers_alike(left, right):
    out = ag.mul(left, right)
    assert isinstance(out, ag.Tensor)
    assert out.tolist() == [3.0, 6.0]
    assert ag.add(right, left).tolist() == [4.0, 5.0]


def test_unary_functions_accept_plain_numbers_and_arrays():
    assert ag.exp(0.0).item() == 1.0
    assert ag.sqrt(np.array([4.0, 9.0])).tolist() == [2.0, 3.0]
    assert ag.sum([[1, 2], [3, 4]], axis=0).tolist() == [4, 6]
    assert isinstance(ag.maximum(np.array([-1.0, 1.0]), 0.0), ag.Tensor)


# ---- errors name the op and the shapes -----------------------------------------------------


@pytest.mark.parametrize("call, op, shapes", [
    (lambda: ag.add(ag.ones(2, 3), ag.ones(4)), "add", ["(2, 3)", "(4,)"]),
    (lambda: ag.ones(2, 3) * ag.ones(3, 2), "mul", ["(2, 3)", "(3, 2)"]),
    (lambda: ag.ones(2, 3) @ ag.ones(4, 5), "matmul", ["(2, 3)", "(4, 5)"]),
    (lambda: ag.concatenate([ag.ones(2, 3), ag.ones(4, 5)]), "concatenate",
     ["(2, 3)", "(4, 5)"]),
    (lambda: ag.stack([ag.ones(2, 3), ag.ones(3, 2)]), "stack", ["(2, 3)", "(3, 2)"]),
    (lambda: ag.ones(2, 3).reshape(4, 2), "reshape", ["(2, 3)"]),
    (lambda: ag.ones(2, 3).broadcast_to((4, 3)), "broadcast_to", ["(2, 3)"]),
    (lambda: ag.where(ag.ones(2) > 0, ag.ones(3), 0.0), "where", ["(2,)", "(3,)"]),
    (lambda: ag.ones(2, 3).sum(axis=2), "sum", ["(2, 3)"]),
], ids=["add", "mul", "matmul", "concatenate", "stack", "reshape", "broadcast_to", "where",
        "sum-axis"])
def test_shape_errors_are_value_errors_naming_the_op_and_the_shapes(call, op, shapes):
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert message.startswith(op)
    for shape in shapes:
        assert shape in message


def test_an_out_of_range_index_is_an_index_error_naming_getitem():
    with pytest.raises(IndexError, match="getitem"):
        ag.ones(2, 3)[5]


@pytest.mark.parametrize("call, op, error", [
    (lambda: ag.add(ag.ones(2), "a"), "add", TypeError),
    (lambda: ag.sub(ag.ones(2), object()), "sub", TypeError),
    (lambda: ag.exp(np.array([1j])), "exp", TypeError),
    (lambda: ag.mul(ag.ones(2), np.array(["x", "y"])), "mul", TypeError),
    (lambda: ag.add(ag.ones(2), [[1.0], [2.0, 3.0]]), "add", ValueError),
], ids=["string", "object", "complex", "string-array", "ragged-list"])
def test_unsupported_operands_are_rejected_naming_the_op(call, op, error):
    with pytest.raises(error, match=f"^{op}"):
        call()


# ---- numpy functions dispatch to the ops ---------------------------------------------------


def test_numpy_functions_on_tensors_return_tensors_in_the_graph():
    xv = np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.5]])
    x = ag.tensor(xv, requires_grad=True)
    cases = [
        (np.exp(x), np.exp(xv)),
        (np.sum(x, axis=0), xv.sum(axis=0)),
        (np.mean(x, axis=1, keepdims=True), xv.mean(axis=1, keepdims=True)),
        (np.max(x), xv.max()),
        (np.tanh(x), np.tanh(xv)),
        (np.maximum(x, 0.0), np.maximum(xv, 0.0)),
        (np.where(xv > 0, x, 0.0), np.where(xv > 0, xv, 0.0)),
        (np.transpose(x), xv.T),
        (np.reshape(x, (3, 2)), xv.reshape(3, 2)),
        (np.concatenate([x, x]), np.concatenate([xv, xv])),
        (np.matmul(x, xv.T), xv @ xv.T),
        (np.clip(x, -0.75, 0.75), np.clip(xv, -0.75, 0.75)),
        (np.var(x, ddof=1), xv.var(ddof=1)),
        (np.add(x, 1.0), xv + 1.0),
    ]
    for result, expected in cases:
        assert isinstance(result, ag.Tensor)
        assert result.grad_fn is not None
        close(result, expected)


def test_gradients_flow_through_numpy_functions():
    xv = np.array([0.5, -1.0, 2.0])
    x = ag.tensor(xv, requires_grad=True)
    np.sum(np.exp(x) * np.sin(x)).backward()
    close(x.grad, np.exp(xv) * (np.sin(xv) + np.cos(xv)))


def test_numpy_comparisons_on_tensors_give_bool_tensors():
    x = ag.tensor([1.0, 2.0], requires_grad=True)
    result = np.greater(x, 1.5)
    assert isinstance(result, ag.Tensor)
    assert result.tolist() == [False, True] and not result.requires_grad


# ---- every op is covered -------------------------------------------------------------------

COVERED_ELSEWHERE = {"clip", "where", "astype", "var", "std", "argmax", "argmin", "softmax",
                     "log_softmax", "matmul", "transpose", "reshape", "broadcast_to", "squeeze",
                     "unsqueeze", "flatten", "swapaxes", "getitem", "add_at", "setitem",
                     "concatenate", "linear",
                     "cat", "stack", "gather", "scatter_add", "index_select", "masked_select",
                     "nonzero", "einsum"}


def test_every_exported_op_has_a_forward_test():
    """Gradients and float32 are checked for every op by tests/test_registry.py."""
    names = set(ops.__all__) - {"REGISTRY", "COMPOSITES", "Op", "Composite", "primitive",
                                "composite"}
    forward = set(UNARY) | set(BINARY) | set(REDUCTIONS) | COVERED_ELSEWHERE
    assert names - forward == set()


def test_linear_is_x_times_weight_transposed_plus_bias_with_the_matching_gradients():
    rng = np.random.default_rng(3)
    xv, wv, bv = rng.standard_normal((5, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    x, w, b = (ag.tensor(v, requires_grad=True) for v in (xv, wv, bv))
    out = ag.linear(x, w, b)
    np.testing.assert_allclose(out.numpy(), xv @ wv.T + bv)
    g = rng.standard_normal((5, 4))
    out.backward(g)
    np.testing.assert_allclose(x.grad.numpy(), g @ wv)
    np.testing.assert_allclose(w.grad.numpy(), g.T @ xv)
    np.testing.assert_allclose(b.grad.numpy(), g.sum(axis=0))


# ---- pow at base 0 -----------------------------------------------------------------------------


def test_pow_gradient_for_the_exponent_at_base_zero_is_zero():
    """d/dy x^y = x^y log(x) is 0 * -inf at x = 0; like PyTorch, pow takes it as 0 (y >= 0)."""
    x = ag.tensor(np.zeros(3, np.float64))
    y = ag.tensor(np.array([2.0, 0.5, 0.0]), requires_grad=True)
    ag.pow(x, y).sum().backward()
    assert y.grad.tolist() == [0.0, 0.0, 0.0]


def test_internal_primitives_are_not_exported_at_the_top_level():
    """Indexing and casts are reached through Tensor methods (x[i], x.astype), not ag.*."""
    for name in ["getitem", "setitem", "add_at", "astype", "sort_values", "topk_values"]:
        assert not hasattr(ag, name), name
    assert ag.ops.getitem(ag.tensor([1.0, 2.0]), 1).item() == 2.0


# ---- indexing along a dim: gather, scatter_add, index_select, masked_select, nonzero, sort ---


def grad_of(x, out, weights=None):
    """d(sum(weights * out))/dx, the weights 1 unless given."""
    x.grad = None
    (out * (1.0 if weights is None else ag.tensor(weights, dtype=np.float64))).sum().backward()
    return x.grad.tolist()


def test_gather_picks_along_dim_and_its_gradient_adds_back_at_the_picked_places():
    x = ag.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float64, requires_grad=True)
    out = ag.gather(x, 1, ag.tensor([[2, 2], [0, 1]]))  # index shorter than x along dim 1
    assert out.tolist() == [[3.0, 3.0], [4.0, 5.0]]
    out.backward(ag.tensor([[1.0, 10.0], [100.0, 1000.0]], dtype=np.float64))
    assert x.grad.tolist() == [[0.0, 0.0, 11.0], [100.0, 1000.0, 0.0]]
    assert x.gather(0, ag.tensor([[1, 0, 1]])).tolist() == [[4.0, 2.0, 6.0]]
    assert ag.gather(x, -2, np.array([[1], [1], [0]])).tolist() == [[4.0], [4.0], [1.0]]
    assert ag.gather(ag.tensor(5.0), 0, ag.tensor(0)).item() == 5.0


def test_scatter_add_adds_src_at_index_and_repeated_indices_accumulate():
    x = ag.tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], dtype=np.float64, requires_grad=True)
    src = ag.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float64, requires_grad=True)
    out = ag.scatter_add(x, 1, ag.tensor([[0, 0], [2, 1]]), src)  # src[:, 2] is unused
    assert out.tolist() == [[4.0, 1.0, 1.0], [1.0, 6.0, 5.0]]
    out.backward(ag.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float64))
    assert x.grad.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert src.grad.tolist() == [[1.0, 1.0, 0.0], [6.0, 5.0, 0.0]]
    assert x.scatter_add(0, ag.tensor([[1, 1, 0]]), src[:1]).tolist() == [[1.0, 1.0, 4.0],
                                                                           [2.0, 3.0, 1.0]]
    assert x.tolist() == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]  # out of place


def test_gather_and_scatter_add_give_second_derivatives():
    x = ag.tensor([1.0, 2.0, 3.0], dtype=np.float64, requires_grad=True)
    index = ag.tensor([2, 2, 0])
    y = (ag.gather(x, 0, index) ** 2).sum()  # x2^2 + x2^2 + x0^2
    (gx,) = ag.grad(y, [x], create_graph=True)
    assert gx.tolist() == [2.0, 0.0, 12.0]
    (ggx,) = ag.grad((gx * ag.tensor([1.0, 1.0, 1.0], dtype=np.float64)).sum(), [x])
    assert ggx.tolist() == [2.0, 0.0, 4.0]


def test_index_select_masked_select_and_nonzero():
    x = ag.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float64, requires_grad=True)
    out = ag.index_select(x, 1, ag.tensor([2, 0, 2]))
    assert out.tolist() == [[3.0, 1.0, 3.0], [6.0, 4.0, 6.0]]
    assert grad_of(x, out) == [[1.0, 0.0, 2.0], [1.0, 0.0, 2.0]]
    assert x.index_select(0, ag.tensor(1)).tolist() == [[4.0, 5.0, 6.0]]
    picked = ag.masked_select(x, ag.tensor([True, False, True]))  # the mask is broadcast
    assert picked.tolist() == [1.0, 3.0, 4.0, 6.0]
    assert grad_of(x, picked) == [[1.0, 0.0, 1.0], [1.0, 0.0, 1.0]]
    v = ag.tensor([1.0, 2.0], dtype=np.float64, requires_grad=True)
    both = v.masked_select(ag.tensor([[True, False], [True, True]]))  # input broadcast too
    assert both.tolist() == [1.0, 1.0, 2.0] and grad_of(v, both) == [2.0, 1.0]
    nz = ag.nonzero(ag.tensor([[0.0, 1.5], [2.0, 0.0]]))
    assert nz.tolist() == [[0, 1], [1, 0]] and nz.dtype == np.int64 and not nz.requires_grad
    assert x.nonzero().shape == (6, 2) and ag.zeros(0, 3).nonzero().shape == (0, 2)


def test_sort_and_topk_give_values_and_indices_and_the_gradient_follows_the_values():
    x = ag.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], dtype=np.float64, requires_grad=True)
    values, indices = x.sort()
    assert values.tolist() == [[1.0, 2.0, 3.0], [0.0, 4.0, 5.0]]
    assert indices.tolist() == [[1, 2, 0], [0, 2, 1]] and indices.dtype == np.int64
    assert grad_of(x, values, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]) == [[3.0, 1.0, 2.0],
                                                                       [4.0, 6.0, 5.0]]
    assert ag.sort(x, dim=0, descending=True).indices.tolist() == [[0, 1, 1], [1, 0, 0]]
    ties = ag.tensor([2.0, 1.0, 2.0, 1.0])  # equal values keep their order, both ways
    assert ties.sort(stable=True).indices.tolist() == [1, 3, 0, 2]
    assert ties.sort(descending=True, stable=True).indices.tolist() == [0, 2, 1, 3]
    top = x.topk(2)
    assert top.values.tolist() == [[3.0, 2.0], [5.0, 4.0]]
    assert top.indices.tolist() == [[0, 2], [1, 2]]
    assert grad_of(x, top.values) == [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]
    low = ag.topk(x, 1, dim=0, largest=False)
    assert low.values.tolist() == [[0.0, 1.0, 2.0]] and low.indices.tolist() == [[1, 0, 0]]


def test_indexing_ops_refuse_bad_input_naming_themselves():
    x = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    with pytest.raises(TypeError, match="gather: index must be an integer"):
        ag.gather(x, 1, ag.tensor([[0.0]]))
    with pytest.raises(IndexError, match="gather: index 2 is out of bounds"):
        ag.gather(x, 1, ag.tensor([[2]]))
    with pytest.raises(IndexError, match="gather: index -1 is out of bounds"):
        x.gather(1, ag.tensor([[-1]]))
    with pytest.raises(ValueError, match="gather: index must have as many dims"):
        ag.gather(x, 0, ag.tensor([0]))
    with pytest.raises(ValueError, match=r"gather: index shape \(3, 1\) is longer"):
        ag.gather(x, 1, ag.tensor([[0], [0], [0]]))
    with pytest.raises(ValueError, match="gather: axis 2 is out of bounds"):
        ag.gather(x, 2, ag.tensor([[0]]))
    with pytest.raises(ValueError, match="scatter_add: index shape"):
        ag.scatter_add(x, 1, ag.tensor([[0, 1]]), ag.tensor([[1.0]]))
    with pytest.raises(TypeError, match="scatter_add: src must have input's dtype"):
        x.scatter_add(1, ag.tensor([[0]]), ag.tensor([[1]]))
    with pytest.raises(ValueError, match="index_select: index must be 1-D"):
        ag.index_select(x, 0, ag.tensor([[0]]))
    with pytest.raises(IndexError, match="index_select: index 5 is out of bounds"):
        x.index_select(0, ag.tensor([5]))
    with pytest.raises(TypeError, match="masked_select: mask must be bool"):
        ag.masked_select(x, ag.tensor([1, 0]))
    with pytest.raises(ValueError, match="masked_select"):
        x.masked_select(ag.tensor([True, False, True]))
    with pytest.raises(TypeError, match="nonzero"):
        ag.nonzero("ab")
    with pytest.raises(ValueError, match="topk: k=3 is out of range"):
        x.topk(3)
    with pytest.raises(TypeError, match="topk: k must be an integer"):
        ag.topk(x, 1.5)
    with pytest.raises(ValueError, match="sort: axis 2 is out of bounds"):
        x.sort(2)
    assert x.grad is None and x.tolist() == [[1.0, 2.0], [3.0, 4.0]]


# ---- einsum ---------------------------------------------------------------------------------

EINSUM_CASES = [  # equation, operand shapes: numpy.einsum gives the expected values
    ("ij,jk->ik", [(2, 3), (3, 4)]),   # matrix product
    ("ij,jk", [(2, 3), (3, 4)]),       # the same, output implicit
    ("ii", [(3, 3)]),                  # trace
    ("ii->i", [(3, 3)]),               # diagonal
    ("ij->ji", [(2, 3)]),              # transpose
    ("ij->", [(2, 3)]),                # sum of everything
    ("i,j->ij", [(2,), (3,)]),         # outer product
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),   # batched matrix product
    ("...ij,...jk", [(5, 2, 3), (3, 4)]),       # "..." broadcasts batches
    ("i,i,i->", [(3,), (3,), (3,)]),   # three operands, contracted pairwise
    ("ijk,ik->j", [(2, 3, 4), (2, 4)]),
    ("iij,j->i", [(3, 3, 2), (2,)]),   # a diagonal inside a contraction
    ("ij,kj->ikj", [(1, 3), (4, 3)]),  # a size-1 dim broadcasts, as numpy and torch allow
]


@pytest.mark.parametrize(("equation", "shapes"), EINSUM_CASES)
def test_einsum_matches_numpy_and_its_gradient_matches_finite_differences(equation, shapes):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=s) for s in shapes]
    inputs = [ag.tensor(a, requires_grad=True) for a in arrays]
    np.testing.assert_allclose(ag.einsum(equation, *inputs).numpy(), np.einsum(equation, *arrays))
    np.testing.assert_allclose(np.einsum(equation, *inputs).numpy(),  # numpy's own name routes
                               np.einsum(equation, *arrays))
    assert gradcheck(lambda *xs: ag.einsum(equation, *xs), inputs)
    assert gradgradcheck(lambda *xs: ag.einsum(equation, *xs), inputs)


def test_einsum_takes_its_operands_as_a_list_too_and_keeps_float32():
    a = ag.ones(2, 3)
    assert ag.einsum("ij,jk->ik", [a, ag.ones(3, 4)]).shape == (2, 4)
    assert ag.einsum("ij->j", a).dtype == np.float32


def test_einsum_refuses_bad_equations_naming_itself():
    a = ag.ones(2, 3)
    with pytest.raises(ValueError, match="einsum: the equation 'ij,jk' has 2 operand"):
        ag.einsum("ij,jk", a)
    with pytest.raises(ValueError, match=r"einsum: operand 0 has subscripts 'ijk' for 3 dim\(s\), "
                                         r"but shape \(2, 3\)"):
        ag.einsum("ijk", a)
    with pytest.raises(ValueError, match="einsum: subscript 'j' has size 3 in one place and 2"):
        ag.einsum("ij,jk", a, ag.ones(2, 2))
    with pytest.raises(ValueError, match="einsum: the output 'ik' must name each input letter"):
        ag.einsum("ij->ik", a)
    with pytest.raises(ValueError, match="einsum: the output 'ii' must name"):
        ag.einsum("ij->ii", a)
    with pytest.raises(ValueError, match="einsum: subscripts are letters"):
        ag.einsum("i2", a)
    with pytest.raises(TypeError, match="einsum: the equation comes first"):
        ag.einsum(a, "ij")
