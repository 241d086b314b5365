"""nn.init (autograd_lite/nn/init.py): each initialiser's bounds and spread against PyTorch's
formulas, measured empirically on large tensors; gains; fills; seeding; errors."""

import math

import numpy as np
import pytest

import autograd_lite as ag
from autograd_lite import nn
from autograd_lite.nn import init

FAN_OUT, FAN_IN = 500, 400  # a (500, 400) weight: 200,000 draws pin a std to about 0.3%


def weight(shape=(FAN_OUT, FAN_IN), dtype=np.float32):
    return nn.Parameter(np.zeros(shape, dtype))


def assert_uniform(values, bound):
    """Within [-bound, bound], filling it, with U(-bound, bound)'s std bound / sqrt(3)."""
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.99 * bound
    np.testing.assert_allclose(values.std(), bound / math.sqrt(3), rtol=0.01)
    assert abs(values.mean()) < 0.01 * bound


def assert_normal(values, std):
    np.testing.assert_allclose(values.std(), std, rtol=0.01)
    assert abs(values.mean()) < 0.01 * std
    assert np.abs(values).max() > 3 * std  # a bell, not a box: 200,000 draws reach past 3 sigma


@pytest.mark.parametrize(("nonlinearity", "param", "gain"), [
    ("linear", None, 1.0),
    ("identity", None, 1.0),
    ("sigmoid", None, 1.0),
    ("tanh", None, 5.0 / 3),
    ("relu", None, math.sqrt(2.0)),
    ("selu", None, 3.0 / 4),
    ("leaky_relu", None, math.sqrt(2.0 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2.0 / (1 + 0.2 ** 2))),
    ("leaky_relu", 0, math.sqrt(2.0)),
])
def test_calculate_gain_matches_pytorch_table(nonlinearity, param, gain):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(gain, rel=1e-15)


def test_calculate_gain_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'.*relu"):
        init.calculate_gain("swish")


@pytest.mark.parametrize("gain", [1.0, 5.0 / 3])
def test_xavier_uniform_bound(gain):
    w = init.xavier_uniform_(weight(), gain=gain, generator=np.random.default_rng(0))
    assert_uniform(w.numpy(), gain * math.sqrt(6.0 / (FAN_IN + FAN_OUT)))


@pytest.mark.parametrize("gain", [1.0, math.sqrt(2.0)])
def test_xavier_normal_std(gain):
    w = init.xavier_normal_(weight(), gain=gain, generator=np.random.default_rng(0))
    assert_normal(w.numpy(), gain * math.sqrt(2.0 / (FAN_IN + FAN_OUT)))


@pytest.mark.parametrize(("mode", "fan"), [("fan_in", FAN_IN), ("fan_out", FAN_OUT)])
@pytest.mark.parametrize(("nonlinearity", "a", "gain"), [
    ("relu", 0.0, math.sqrt(2.0)),
    ("leaky_relu", 0.0, math.sqrt(2.0)),
    ("leaky_relu", math.sqrt(5), math.sqrt(2.0 / 6)),  # nn.Linear's default
    ("tanh", 0.0, 5.0 / 3),
])
def test_kaiming_uniform_bound(mode, fan, nonlinearity, a, gain):
    w = init.kaiming_uniform_(weight(), a=a, mode=mode, nonlinearity=nonlinearity,
                              generator=np.random.default_rng(1))
    assert_uniform(w.numpy(), gain * math.sqrt(3.0 / fan))


@pytest.mark.parametrize(("mode", "fan"), [("fan_in", FAN_IN), ("fan_out", FAN_OUT)])
@pytest.mark.parametrize(("nonlinearity", "gain"), [("relu", math.sqrt(2.0)), ("linear", 1.0)])
def test_kaiming_normal_std(mode, fan, nonlinearity, gain):
    w = init.kaiming_normal_(weight(), mode=mode, nonlinearity=nonlinearity,
                             generator=np.random.default_rng(2))
    assert_normal(w.numpy(), gain / math.sqrt(fan))


def test_kaiming_default_is_leaky_relu_with_zero_slope_fan_in():
    w = init.kaiming_normal_(weight(), generator=np.random.default_rng(3))
    assert_normal(w.numpy(), math.sqrt(2.0) / math.sqrt(FAN_IN))


def test_fans_of_a_convolution_shaped_weight_include_the_kernel():
    """(out, in, kh, kw): fan_in = in * kh * kw and fan_out = out * kh * kw, as in PyTorch."""
    w = weight((64, 32, 5, 5))
    init.xavier_uniform_(w, generator=np.random.default_rng(4))
    assert_uniform(w.numpy(), math.sqrt(6.0 / (32 * 25 + 64 * 25)))
    init.kaiming_normal_(w, mode="fan_out", generator=np.random.default_rng(5))
    assert_normal(w.numpy(), math.sqrt(2.0) / math.sqrt(64 * 25))


def test_uniform_and_normal_with_arguments():
    w = init.uniform_(weight(), -2.0, 3.0, generator=np.random.default_rng(6)).numpy()
    assert w.min() >= -2.0 and w.max() < 3.0
    np.testing.assert_allclose([w.mean(), w.std()], [0.5, 5 / math.sqrt(12)], rtol=0.01)
    w = init.normal_(weight(), mean=1.0, std=2.0, generator=np.random.default_rng(7)).numpy()
    np.testing.assert_allclose([w.mean(), w.std()], [1.0, 2.0], rtol=0.01)


def test_fills():
    w = weight((3, 4))
    assert init.ones_(w) is w
    np.testing.assert_array_equal(w.numpy(), np.ones((3, 4)))
    assert init.zeros_(w) is w
    np.testing.assert_array_equal(w.numpy(), np.zeros((3, 4)))
    assert init.constant_(w, 0.25) is w
    np.testing.assert_array_equal(w.numpy(), np.full((3, 4), 0.25))


def test_fills_work_on_one_dimensional_tensors():
    b = nn.Parameter(np.zeros(5, np.float32))
    np.testing.assert_array_equal(init.constant_(b, 2.0).numpy(), np.full(5, 2.0))


def test_init_keeps_dtype_and_records_no_graph():
    for dtype in (np.float32, np.float64):
        w = weight((20, 10), dtype)
        init.kaiming_uniform_(w)
        init.constant_(w, 1.0)
        assert w.dtype == dtype
        assert w.is_leaf and w.requires_grad and w.grad_fn is None


def test_initialised_parameter_trains_normally():
    w = init.xavier_uniform_(weight((2, 3)))
    (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((2, 3), 2.0))


@pytest.mark.parametrize("fn", [init.xavier_uniform_, init.xavier_normal_,
                                init.kaiming_uniform_, init.kaiming_normal_],
                         ids=lambda f: f.__name__)
def test_seeded_generators_reproduce_and_the_default_follows_manual_seed(fn):
    a = fn(weight((30, 20)), generator=np.random.default_rng(42)).numpy()
    b = fn(weight((30, 20)), generator=np.random.default_rng(42)).numpy()
    np.testing.assert_array_equal(a, b)
    ag.manual_seed(42)
    c = fn(weight((30, 20))).numpy()
    ag.manual_seed(42)
    d = fn(weight((30, 20))).numpy()
    e = fn(weight((30, 20))).numpy()
    np.testing.assert_array_equal(c, d)
    assert not np.array_equal(d, e)


@pytest.mark.parametrize("fn", [init.xavier_uniform_, init.xavier_normal_,
                                init.kaiming_uniform_, init.kaiming_normal_],
                         ids=lambda f: f.__name__)
def test_fan_computation_needs_two_dimensions(fn):
    before = np.arange(5, dtype=np.float32)
    b = nn.Parameter(before.copy())
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        fn(b)
    np.testing.assert_array_equal(b.numpy(), before)  # untouched


@pytest.mark.parametrize("fn", [init.kaiming_uniform_, init.kaiming_normal_],
                         ids=lambda f: f.__name__)
def test_kaiming_rejects_an_unknown_mode(fn):
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        fn(weight((3, 3)), mode="fan_avg")


# ---- eye_, trunc_normal_, orthogonal_ ---------------------------------------------------------


def test_eye_puts_ones_on_the_diagonal_of_a_matrix_only():
    w = ag.zeros(2, 3)
    assert nn.init.eye_(w) is w and w.tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    with pytest.raises(ValueError, match="eye_: needs a 2-D tensor"):
        nn.init.eye_(ag.zeros(3))


def test_trunc_normal_stays_inside_its_bounds_and_follows_the_seed():
    w = nn.init.trunc_normal_(ag.zeros(2000), std=1.0, a=-0.5, b=0.5,
                              generator=np.random.default_rng(0))
    assert w.numpy().min() >= -0.5 and w.numpy().max() <= 0.5
    assert abs(float(w.numpy().mean())) < 0.05  # symmetric bounds: mean near 0
    again = nn.init.trunc_normal_(ag.zeros(2000), std=1.0, a=-0.5, b=0.5,
                                  generator=np.random.default_rng(0))
    assert again.tolist() == w.tolist()


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 2, 2)])
def test_orthogonal_rows_or_columns_are_orthonormal_times_the_gain(shape):
    w = nn.init.orthogonal_(ag.zeros(*shape, dtype=np.float64), gain=2.0,
                            generator=np.random.default_rng(1))
    m = w.numpy().reshape(shape[0], -1)
    small = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(small, 4.0 * np.eye(min(m.shape)), atol=1e-12)
