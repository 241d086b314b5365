"""Losses (autograd_lite/nn/functional.py and nn/losses.py), each against a numpy formula
written out here for every reduction; their gradients against closed forms and finite
differences; and the clear errors for bad labels and shapes."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autograd_lite as ag
from autograd_lite import nn
from autograd_lite.nn import functional as F
from autograd_lite.testing import gradcheck

REDUCTIONS = ["mean", "sum", "none"]


def reduce(losses, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda a: a}[reduction](losses)


def close(actual, expected, rtol=1e-10, atol=1e-12):
    actual = actual.numpy() if isinstance(actual, ag.Tensor) else actual
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


REALS = st.floats(-3, 3)


@st.composite
def pairs(draw, first=REALS, second=REALS):
    """Two float64 arrays of one drawn shape."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    return (draw(hnp.arrays(np.float64, shape, elements=first)),
            draw(hnp.arrays(np.float64, shape, elements=second)))


def np_log_softmax(z, axis=-1):
    s = z - z.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def np_softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ---- regression losses -------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(xy=pairs())
def test_mse_matches_formula(reduction, xy):
    x, y = xy
    close(F.mse_loss(ag.tensor(x), ag.tensor(y), reduction), reduce((x - y) ** 2, reduction))
    close(nn.MSELoss(reduction)(ag.tensor(x), ag.tensor(y)), reduce((x - y) ** 2, reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(xy=pairs())
def test_l1_matches_formula(reduction, xy):
    x, y = xy
    close(F.l1_loss(ag.tensor(x), ag.tensor(y), reduction), reduce(np.abs(x - y), reduction))
    close(nn.L1Loss(reduction)(ag.tensor(x), ag.tensor(y)), reduce(np.abs(x - y), reduction))


def np_huber(x, y, delta):
    d = np.abs(x - y)
    return np.where(d < delta, 0.5 * d ** 2, delta * (d - 0.5 * delta))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [1.0, 0.5, 2.5])
@given(xy=pairs())
def test_huber_matches_formula(reduction, delta, xy):
    x, y = xy
    close(F.huber_loss(ag.tensor(x), ag.tensor(y), reduction, delta),
          reduce(np_huber(x, y, delta), reduction))
    close(nn.HuberLoss(reduction, delta)(ag.tensor(x), ag.tensor(y)),
          reduce(np_huber(x, y, delta), reduction))


def test_huber_both_regimes_by_hand():
    # |d| = 0.5 < 1: 0.5 * 0.25 = 0.125;  |d| = 3 >= 1: 1 * (3 - 0.5) = 2.5;  at |d| = 1: 0.5
    x = ag.tensor(np.array([0.5, -3.0, 1.0]), requires_grad=True)
    loss = F.huber_loss(x, ag.zeros(3, dtype=np.float64), "none")
    close(loss, [0.125, 2.5, 0.5])
    loss.sum().backward()
    close(x.grad, [0.5, -1.0, 1.0])  # d in the quadratic part, delta * sign(d) in the linear one


def test_mse_gradient_by_hand():
    x = ag.tensor(np.array([1.0, 2.0, 4.0]), requires_grad=True)
    F.mse_loss(x, ag.tensor(np.array([0.0, 2.0, 1.0]))).backward()
    close(x.grad, 2 * np.array([1.0, 0.0, 3.0]) / 3)


# ---- binary cross-entropy ----------------------------------------------------------------------


def np_bce(p, y):
    with np.errstate(divide="ignore"):
        return -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log(1 - p), -100))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(py=pairs(st.floats(0.01, 0.99), st.floats(0, 1)))
def test_bce_matches_formula(reduction, py):
    p, y = py
    close(F.binary_cross_entropy(ag.tensor(p), ag.tensor(y), reduction=reduction),
          reduce(-(y * np.log(p) + (1 - y) * np.log(1 - p)), reduction), rtol=1e-9)
    close(nn.BCELoss(reduction=reduction)(ag.tensor(p), ag.tensor(y)),
          reduce(-(y * np.log(p) + (1 - y) * np.log(1 - p)), reduction), rtol=1e-9)


def test_bce_with_element_weights():
    p, y, w = np.array([0.2, 0.7]), np.array([1.0, 0.0]), np.array([3.0, 0.5])
    expected = np.mean(w * -(y * np.log(p) + (1 - y) * np.log(1 - p)))
    close(F.binary_cross_entropy(ag.tensor(p), ag.tensor(y), weight=w), expected)


def test_bce_at_probabilities_exactly_zero_and_one_is_finite():
    """log(0) is clamped at -100 as in PyTorch, so a confident mistake costs 100, not inf."""
    p = ag.tensor(np.array([0.0, 1.0, 0.0, 1.0]), requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy(p, ag.tensor(y), reduction="none")
        loss.sum().backward()
    close(loss, [100.0, 100.0, 0.0, 0.0])
    grad = p.grad.numpy()
    assert np.isfinite(grad).all()
    # PyTorch's rule: (p - y) / max(p (1 - p), 1e-12)
    close(p.grad, (p.numpy() - y) / np.maximum(p.numpy() * (1 - p.numpy()), 1e-12))


def test_bce_gradient_wrt_target_is_finite_at_the_edges():
    p = ag.tensor(np.array([0.0, 1.0, 0.25]))
    y = ag.tensor(np.array([0.5, 0.5, 0.5]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.binary_cross_entropy(p, y, reduction="sum").backward()
    # d/dy = log(1 - p) - log(p), each log clamped at -100
    close(y.grad, [100.0, -100.0, np.log(0.75) - np.log(0.25)])


def test_bce_rejects_values_outside_zero_one():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\].*with_logits"):
        F.binary_cross_entropy(ag.tensor([0.5, 1.5]), ag.tensor([1.0, 0.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(xy=pairs(st.floats(-20, 20), st.floats(0, 1)))
def test_bce_with_logits_matches_formula(reduction, xy):
    x, y = xy
    expected = -(y * np.log(np_sigmoid(x)) + (1 - y) * np.log(1 - np_sigmoid(x)))
    close(F.binary_cross_entropy_with_logits(ag.tensor(x), ag.tensor(y), reduction=reduction),
          reduce(expected, reduction), rtol=1e-7, atol=1e-9)
    close(nn.BCEWithLogitsLoss(reduction=reduction)(ag.tensor(x), ag.tensor(y)),
          reduce(expected, reduction), rtol=1e-7, atol=1e-9)


def test_bce_with_logits_is_stable_for_huge_logits():
    """The naive formula gives log(0) = -inf; the loss is really |x| for a confident mistake
    and 0 for a confident hit, and the gradient is sigmoid(x) - y."""
    x = ag.tensor(np.array([1000.0, -1000.0, 1000.0, -1000.0]), requires_grad=True)
    y = np.array([0.0, 1.0, 1.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy_with_logits(x, ag.tensor(y), reduction="none")
        loss.sum().backward()
    close(loss, [1000.0, 1000.0, 0.0, 0.0])
    close(x.grad, [1.0, -1.0, 0.0, 0.0])


def test_bce_with_logits_gradient_is_sigmoid_minus_target():
    x = np.array([-2.0, 0.0, 0.0, 0.5, 3.0])
    y = np.array([1.0, 1.0, 0.0, 0.3, 0.0])
    t = ag.tensor(x, requires_grad=True)
    F.binary_cross_entropy_with_logits(t, ag.tensor(y), reduction="sum").backward()
    close(t.grad, np_sigmoid(x) - y)
    assert t.grad.numpy()[1] == -0.5 and t.grad.numpy()[2] == 0.5  # zero logits: 0.5 - y


def test_bce_with_logits_pos_weight():
    """PyTorch: -(pos_weight y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))."""
    x, y = np.array([-1.0, 0.0, 2.0, 1000.0]), np.array([1.0, 1.0, 0.0, 1.0])
    pw = np.array([3.0, 3.0, 3.0, 3.0])
    log_sig, log_one_minus = -np_softplus(-x), -np_softplus(x)
    expected = -(pw * y * log_sig + (1 - y) * log_one_minus)
    t = ag.tensor(x, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(t, ag.tensor(y), reduction="none", pos_weight=pw)
    close(loss, expected)
    loss.sum().backward()
    s = np_sigmoid(x)
    close(t.grad, -pw * y * (1 - s) + (1 - y) * s)  # d/dx of the formula above
    module = nn.BCEWithLogitsLoss(reduction="sum", pos_weight=pw)
    close(module(ag.tensor(x), ag.tensor(y)), expected.sum())


# ---- cross-entropy and nll ---------------------------------------------------------------------


def np_cross_entropy(logits, labels, weight=None, ignore_index=-100, reduction="mean",
                     smoothing=0.0, from_log_probs=False):
    """PyTorch's cross_entropy / nll_loss, one sample at a time: the class axis is 1."""
    classes = logits.shape[1]
    rows = np.moveaxis(logits, 1, -1).reshape(-1, classes)
    logp = rows if from_log_probs else np_log_softmax(rows)
    w = np.ones(classes) if weight is None else weight
    losses, total_weight = [], 0.0
    for row, label in zip(logp, labels.reshape(-1)):
        if label == ignore_index:
            losses.append(0.0)
            continue
        nll = -w[label] * row[label]
        uniform = -np.sum(w * row) / classes
        losses.append((1 - smoothing) * nll + smoothing * uniform)
        total_weight += w[label]
    losses = np.array(losses)
    if reduction == "mean":
        return losses.sum() / total_weight
    return losses.sum() if reduction == "sum" else losses.reshape(labels.shape)


@st.composite
def logits_and_labels(draw, extra_dims=0):
    """Logits (N, C, *d) and integer labels (N, *d); extra_dims=None draws 0 or 1 of them."""
    if extra_dims is None:
        extra_dims = draw(st.integers(0, 1))
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 4))
    d = tuple(draw(st.lists(st.integers(1, 3), min_size=extra_dims, max_size=extra_dims)))
    logits = draw(hnp.arrays(np.float64, (n, c) + d, elements=st.floats(-5, 5)))
    labels = draw(hnp.arrays(np.int64, (n,) + d, elements=st.integers(0, c - 1)))
    return logits, labels


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=logits_and_labels())
def test_cross_entropy_with_integer_labels(reduction, data):
    logits, labels = data
    expected = np_cross_entropy(logits, labels, reduction=reduction)
    close(F.cross_entropy(ag.tensor(logits), ag.tensor(labels), reduction=reduction), expected)
    close(nn.CrossEntropyLoss(reduction=reduction)(ag.tensor(logits), labels), expected)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=logits_and_labels(extra_dims=1))
def test_cross_entropy_with_spatial_dimensions(reduction, data):
    logits, labels = data
    close(F.cross_entropy(ag.tensor(logits), labels, reduction=reduction),
          np_cross_entropy(logits, labels, reduction=reduction))


def test_cross_entropy_by_hand():
    # logits (0, ln 3): softmax (1/4, 3/4); label 1 -> -ln(3/4); label 0 -> ln 4
    logits = ag.tensor(np.array([[0.0, np.log(3.0)], [0.0, np.log(3.0)]]))
    close(F.cross_entropy(logits, np.array([1, 0]), reduction="none"),
          [-np.log(0.75), np.log(4.0)])


def test_cross_entropy_of_integer_logits_is_computed_in_float64_as_numpy_would():
    loss = F.cross_entropy(ag.tensor([[1, 2, 3]]), np.array([1]))
    assert loss.dtype == np.float64
    close(loss, -np_log_softmax(np.array([1.0, 2.0, 3.0]))[1])


def test_cross_entropy_of_a_single_unbatched_sample():
    logits = np.array([1.0, 2.0, 0.5])
    loss = F.cross_entropy(ag.tensor(logits), np.array(1))
    close(loss, -np_log_softmax(logits)[1])


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_n():
    logits = np.array([[1.0, -0.5, 2.0], [0.0, 0.3, -1.0]])
    labels = np.array([2, 0])
    t = ag.tensor(logits, requires_grad=True)
    F.cross_entropy(t, labels).backward()
    softmax = np.exp(np_log_softmax(logits))
    close(t.grad, (softmax - np.eye(3)[labels]) / 2)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=logits_and_labels(), weighted=st.booleans(), ignore=st.booleans())
def test_cross_entropy_of_labels_is_one_op_agreeing_with_log_softmax_then_nll(
        reduction, data, weighted, ignore):
    """(N, C) logits with integer labels take the fused op: one node, same values and gradient
    as the composition, with class weights and an ignored label too."""
    logits, labels = data
    options = {"reduction": reduction, "weight": np.linspace(0.5, 2.0, logits.shape[1])
               if weighted else None, "ignore_index": int(labels[0]) if ignore else -100}
    assume(reduction != "mean" or not ignore or (labels != labels[0]).any())
    fused_x, plain_x = ag.tensor(logits, requires_grad=True), ag.tensor(logits, requires_grad=True)
    fused = F.cross_entropy(fused_x, labels, **options)
    plain = F.nll_loss(F.log_softmax(plain_x, 1), labels, **options)
    assert fused.grad_fn.name == "cross_entropy" and fused.grad_fn.next_functions == (fused_x,)
    close(fused, plain.data)
    seed = np.linspace(-1.0, 1.0, fused.numel()).reshape(fused.shape)
    fused.backward(seed)
    plain.backward(seed)
    close(fused_x.grad, plain_x.grad.data)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=logits_and_labels(), seed=st.integers(0, 2**16))
def test_cross_entropy_with_class_probabilities(reduction, data, seed):
    logits, _ = data
    probs = np.random.default_rng(seed).dirichlet(np.ones(logits.shape[1]), logits.shape[0])
    expected = reduce(-(probs * np_log_softmax(logits, 1)).sum(axis=1), reduction)
    close(F.cross_entropy(ag.tensor(logits), ag.tensor(probs), reduction=reduction), expected)


def test_cross_entropy_with_one_hot_probabilities_equals_integer_labels():
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 0.3]])
    labels = np.array([1, 2])
    close(F.cross_entropy(ag.tensor(logits), np.eye(3)[labels]),
          np_cross_entropy(logits, labels))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_with_class_weights_uses_pytorch_weighted_mean(reduction):
    """'mean' divides by the summed weights of the targets, not by N."""
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 0.3], [2.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    labels = np.array([1, 2, 0, 2])
    w = np.array([0.2, 1.0, 3.0])
    nll = -np_log_softmax(logits)[np.arange(4), labels]
    expected = {"mean": (w[labels] * nll).sum() / (0.2 + 1.0 + 3.0 + 3.0),
                "sum": (w[labels] * nll).sum(), "none": w[labels] * nll}[reduction]
    close(F.cross_entropy(ag.tensor(logits), labels, weight=w, reduction=reduction), expected)
    close(np_cross_entropy(logits, labels, weight=w, reduction=reduction), expected)


def test_cross_entropy_with_class_weights_and_probabilities_divides_by_n():
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 0.3]])
    probs = np.array([[0.2, 0.5, 0.3], [0.0, 0.0, 1.0]])
    w = np.array([0.2, 1.0, 3.0])
    expected = -(w * probs * np_log_softmax(logits)).sum(axis=1).mean()
    close(F.cross_entropy(ag.tensor(logits), ag.tensor(probs), weight=w), expected)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_ignore_index_drops_those_targets(reduction):
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 0.3], [2.0, 0.0, 0.0]])
    labels = np.array([1, -100, 0])
    kept = -np_log_softmax(logits)[[0, 2], [1, 0]]
    expected = {"mean": kept.mean(), "sum": kept.sum(),
                "none": [kept[0], 0.0, kept[1]]}[reduction]
    close(F.cross_entropy(ag.tensor(logits), labels, reduction=reduction), expected)
    custom = np.array([1, 2, 0])
    close(F.cross_entropy(ag.tensor(logits), custom, ignore_index=2, reduction=reduction),
          expected)


def test_cross_entropy_ignored_targets_get_zero_gradient():
    t = ag.tensor(np.array([[1.0, 2.0], [0.5, 0.1]]), requires_grad=True)
    F.cross_entropy(t, np.array([-100, 1])).backward()
    close(t.grad[0], [0.0, 0.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@given(data=logits_and_labels(extra_dims=None), smoothing=st.sampled_from([0.1, 0.5, 1.0]))
def test_cross_entropy_label_smoothing_matches_pytorch_formula(reduction, weighted, data,
                                                               smoothing):
    """(1 - eps) nll + eps / C * sum_c w_c (-log p_c); 'mean' divides by the target weights."""
    logits, labels = data
    w = np.linspace(0.5, 2.0, logits.shape[1]) if weighted else None
    close(F.cross_entropy(ag.tensor(logits), labels, weight=w, reduction=reduction,
                          label_smoothing=smoothing),
          np_cross_entropy(logits, labels, weight=w, reduction=reduction, smoothing=smoothing),
          rtol=1e-9)


def test_label_smoothing_by_hand_and_its_gradient():
    # two classes, eps = 0.2: the target becomes (0.9, 0.1) for label 0
    logits = np.array([[2.0, -1.0]])
    logp = np_log_softmax(logits)[0]
    expected = -(0.9 * logp[0] + 0.1 * logp[1])
    t = ag.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(t, np.array([0]), label_smoothing=0.2)
    close(loss, expected)
    loss.backward()
    close(t.grad, [np.exp(logp) - np.array([0.9, 0.1])])


def test_label_smoothing_with_ignore_index():
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 0.3], [2.0, 0.0, 0.0]])
    labels = np.array([1, -100, 0])
    close(F.cross_entropy(ag.tensor(logits), labels, label_smoothing=0.3),
          np_cross_entropy(logits, labels, smoothing=0.3))


def test_label_smoothing_with_class_probabilities():
    logits = np.array([[1.0, 2.0, 0.5]])
    probs = np.array([[0.0, 1.0, 0.0]])
    smoothed = probs * 0.7 + 0.3 / 3
    close(F.cross_entropy(ag.tensor(logits), ag.tensor(probs), label_smoothing=0.3),
          -(smoothed * np_log_softmax(logits)).sum())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@given(data=logits_and_labels(extra_dims=1))
def test_nll_loss_on_log_probabilities(reduction, data):
    logits, labels = data
    logp = np_log_softmax(logits, 1)
    expected = np_cross_entropy(logp, labels, reduction=reduction, from_log_probs=True)
    close(F.nll_loss(ag.tensor(logp), labels, reduction=reduction), expected)
    close(nn.NLLLoss(reduction=reduction)(ag.tensor(logp), labels), expected)


def test_nll_loss_by_hand_with_weights_and_ignore_index():
    logp = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]]))
    labels = np.array([0, 1, 2])
    w = np.array([1.0, 2.0, 4.0])
    expected = (np.log(2) * 1 + -np.log(0.8) * 2 + -np.log(0.6) * 4) / (1 + 2 + 4)
    close(F.nll_loss(ag.tensor(logp), labels, weight=w), expected)
    expected_ignoring = (np.log(2) * 1 + -np.log(0.6) * 4) / (1 + 4)
    close(F.nll_loss(ag.tensor(logp), np.array([0, 7, 2]), weight=w, ignore_index=7),
          expected_ignoring)


def test_log_softmax_then_nll_equals_cross_entropy():
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 0.3]])
    labels = np.array([1, 2])
    model = nn.Sequential(nn.LogSoftmax(dim=1))
    close(nn.NLLLoss()(model(ag.tensor(logits)), labels),
          nn.CrossEntropyLoss()(ag.tensor(logits), labels).numpy())


# ---- clear errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss], ids=["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("bad", [3, 7, -1])
def test_labels_out_of_range_name_the_label_and_the_class_count(fn, bad):
    with pytest.raises(ValueError, match=rf"target {bad} is out of range for 3 classes"):
        fn(ag.randn(2, 3), np.array([0, bad]))


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss], ids=["cross_entropy", "nll_loss"])
def test_float_labels_where_integers_are_needed(fn):
    with pytest.raises(TypeError, match="targets must be integers, got dtype float"):
        fn(ag.randn(3, 4), np.array([0.0, 1.0, 3.0]))


@pytest.mark.parametrize("labels_shape", [(3, 1), (2,), (3, 4)])
def test_wrong_label_shapes_name_both_shapes(labels_shape):
    labels = np.zeros(labels_shape, np.int64)
    with pytest.raises(ValueError, match=r"\(3, 4\) needs targets of shape \(3,\), got "):
        F.cross_entropy(ag.randn(3, 4), labels)


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss], ids=["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("length", [2, 4])
def test_class_weights_of_the_wrong_length(fn, length):
    with pytest.raises(ValueError, match=rf"one value per class, shape \(3,\), got shape "
                                         rf"\({length},\)"):
        fn(ag.randn(2, 3), np.array([0, 2]), weight=np.ones(length))


def test_class_probabilities_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 5\)"):
        F.cross_entropy(ag.randn(3, 4), np.full((3, 5), 0.2))


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.huber_loss, F.binary_cross_entropy,
                                F.binary_cross_entropy_with_logits],
                         ids=lambda f: f.__name__)
def test_column_against_vector_is_refused_not_broadcast(fn):
    """(N, 1) against (N,) would broadcast to (N, N) and silently compare every pair."""
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\).*must match"):
        fn(ag.rand(4, 1), ag.rand(4))


def test_unknown_reduction_is_an_error():
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.mse_loss(ag.ones(2), ag.ones(2), reduction="avg")
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none'"):
        nn.CrossEntropyLoss(reduction="avg")


def test_label_smoothing_outside_unit_interval_is_an_error():
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
        F.cross_entropy(ag.randn(2, 3), np.array([0, 1]), label_smoothing=1.5)


def test_loss_reprs():
    assert repr(nn.MSELoss()) == "MSELoss(reduction='mean')"
    assert repr(nn.CrossEntropyLoss(reduction="sum")) == "CrossEntropyLoss(reduction='sum')"


# ---- gradients against finite differences ------------------------------------------------------


def _t(a):
    return ag.Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 3))
# targets at least 0.05 away from X - 1, X, X + 1 (the kinks of l1 and huber)
Y = X + RNG.choice([-1.6, -0.7, -0.3, 0.4, 0.8, 1.7], size=X.shape)
LABELS = np.array([0, 2, 1, 2])
PROBS = RNG.dirichlet(np.ones(3), 4)
WEIGHTS = np.array([0.5, 1.0, 2.0])

LOSSES = {
    "mse": lambda x: F.mse_loss(x, Y),
    "l1": lambda x: F.l1_loss(x, Y, "sum"),
    "huber": lambda x: F.huber_loss(x, Y, delta=1.0),
    "bce": lambda x: F.binary_cross_entropy(ag.sigmoid(x), PROBS[:, :3]),
    "bce_with_logits": lambda x: F.binary_cross_entropy_with_logits(x, PROBS),
    "bce_with_logits_pos_weight": lambda x: F.binary_cross_entropy_with_logits(
        x, PROBS, pos_weight=np.array([1.0, 2.0, 3.0])),
    "cross_entropy": lambda x: F.cross_entropy(x, LABELS),
    "cross_entropy_none": lambda x: F.cross_entropy(x, LABELS, reduction="none"),
    "cross_entropy_probs": lambda x: F.cross_entropy(x, PROBS),
    "cross_entropy_weighted": lambda x: F.cross_entropy(x, LABELS, weight=WEIGHTS),
    "cross_entropy_ignore": lambda x: F.cross_entropy(x, np.array([0, -100, 1, 2])),
    "cross_entropy_smoothing": lambda x: F.cross_entropy(x, LABELS, weight=WEIGHTS,
                                                         label_smoothing=0.2),
    "cross_entropy_spatial": lambda x: F.cross_entropy(ag.reshape(x, (2, 3, 2)),
                                                       np.array([[0, 2], [1, 1]])),
    "nll": lambda x: F.nll_loss(ag.log_softmax(x, 1), LABELS, weight=WEIGHTS),
}


@pytest.mark.parametrize("name", LOSSES)
def test_loss_gradient_matches_finite_differences(name):
    assert gradcheck(LOSSES[name], _t(X))


def test_bce_gradient_on_probabilities_matches_finite_differences():
    p = _t(RNG.uniform(0.05, 0.95, (3, 2)))
    assert gradcheck(lambda p: F.binary_cross_entropy(p, PROBS[:3, :2], reduction="sum"), p)


# ---- slopes exactly at 0 -----------------------------------------------------------------------


def test_leaky_relu_and_elu_take_the_negative_sides_slope_at_zero_as_pytorch_does():
    """PyTorch's backward: x > 0 ? g : g * slope (leaky_relu), x <= 0 ? g * alpha * e^x : g
    (elu). So at 0 the slope is negative_slope, and alpha."""
    x = ag.tensor(np.zeros(1, np.float64), requires_grad=True)
    F.leaky_relu(x, negative_slope=0.2).sum().backward()
    assert x.grad.tolist() == [0.2]
    x.grad = None
    F.elu(x, alpha=1.5).sum().backward()
    assert x.grad.tolist() == [1.5]


# ---- PyTorch's other activations and helpers: silu, mish, log_sigmoid, normalize, one_hot, pad --


def test_silu_mish_and_log_sigmoid_values_by_hand():
    x = ag.tensor([-1.0, 0.0, 2.0], dtype=np.float64)
    s = 1 / (1 + np.exp(-x.numpy()))
    np.testing.assert_allclose(F.silu(x).numpy(), x.numpy() * s)
    softplus = np.log1p(np.exp(x.numpy()))
    np.testing.assert_allclose(F.mish(x).numpy(), x.numpy() * np.tanh(softplus))
    np.testing.assert_allclose(F.log_sigmoid(x).numpy(), np.log(s))
    assert F.log_sigmoid(ag.tensor([-1000.0])).item() == -1000.0  # no log(0)


def test_normalize_divides_by_the_norm_along_dim_and_never_by_zero():
    x = ag.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=np.float64)
    assert F.normalize(x).tolist() == [[0.6, 0.8], [0.0, 0.0]]
    assert F.normalize(x, p=1.0).tolist() == [[3 / 7, 4 / 7], [0.0, 0.0]]
    np.testing.assert_allclose(F.normalize(x, dim=0).numpy(), [[1.0, 1.0], [0.0, 0.0]])


def test_one_hot_counts_classes_from_the_largest_label_or_takes_num_classes():
    assert F.one_hot(ag.tensor([1, 0])).tolist() == [[0, 1], [1, 0]]
    assert F.one_hot(ag.tensor([1]), num_classes=3).tolist() == [[0, 1, 0]]
    assert F.one_hot(ag.tensor([1])).dtype == np.int64
    with pytest.raises(ValueError, match="smaller than num_classes=2"):
        F.one_hot(ag.tensor([2]), num_classes=2)
    with pytest.raises(TypeError, match="one_hot: class values must be integers"):
        F.one_hot(ag.tensor([1.0]))


def test_pad_pads_the_last_dims_first_and_negative_sizes_crop():
    x = ag.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = F.pad(x, (1, 0, 0, 1), value=9.0)
    assert out.tolist() == [[9.0, 1.0, 2.0], [9.0, 3.0, 4.0], [9.0, 9.0, 9.0]]
    out.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert F.pad(x, (-1, 0)).tolist() == [[2.0], [4.0]]
    with pytest.raises(ValueError, match="only mode='constant'"):
        F.pad(x, (1, 1), mode="reflect")
    with pytest.raises(ValueError, match="pairs"):
        F.pad(x, (1,))
