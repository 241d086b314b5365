"""nn.functional: activations, layers and losses as functions, with PyTorch's names.

Everything is composed from the engine's ops, so gradients come from the chain rule; each such
function is declared ``@composite`` with the hints (kind, domain, values to draw, kinks) that let
the registry test gradcheck it like an op. The two exceptions are registered primitives: binary
cross-entropy on probabilities (its log must be clamped, and only a fused rule keeps the gradient
finite there), and cross-entropy of logits against class labels (softmax - one_hot in one step,
the loss of every classifier, where a dozen small ops would cost more than the layers).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import creation
from .. import ops as _ops
from .._tensor import Tensor
from ..function import Function
from ..ops.conv import (  # noqa: F401 (nn.functional's names for them)
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    embedding,
    max_pool1d,
    max_pool2d,
)
from ..ops.elementwise import relu, sigmoid, softplus, tanh  # noqa: F401 (the same ops)
from ..ops.registry import composite, primitive

if TYPE_CHECKING:
    from .._tensor import TensorLike
    from ..creation import SeedLike

# ---- activations -------------------------------------------------------------------------------


@composite(domain="nonzero", draw={"negative_slope": (0.01, 0.2, 2.0)}, kinks="x=0: left")
def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    return _ops.where(_ops.gt(x, 0), x, _ops.mul(x, negative_slope))


@composite(domain="nonzero", draw={"alpha": (1.0, 0.5, 2.0)}, kinks="x=0: left")
def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x where x > 0, else alpha * (e^x - 1); at 0 the slope is alpha, as in PyTorch."""
    negative = _ops.where(_ops.gt(x, 0), 0, x)  # exp of this cannot overflow
    return _ops.where(_ops.gt(x, 0), x, alpha * (_ops.exp(negative) - 1))


@composite(draw={"approximate": ("none", "tanh")})
def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal CDF; ``approximate='tanh'`` uses the tanh formula."""
    if approximate == "tanh":
        inner = math.sqrt(2 / math.pi) * (x + 0.044715 * _ops.pow(x, 3))
        return 0.5 * x * (1 + _ops.tanh(inner))
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return 0.5 * x * (1 + _ops.erf(_ops.mul(x, 1 / math.sqrt(2))))


@composite()
def silu(x: Tensor) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return _ops.mul(x, _ops.sigmoid(x))


@composite()
def mish(x: Tensor) -> Tensor:
    """x * tanh(softplus(x))."""
    return _ops.mul(x, _ops.tanh(_ops.softplus(x)))


@composite()
def log_sigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)), computed as -softplus(-x) so it never overflows or takes log(0)."""
    return _ops.neg(_ops.softplus(_ops.neg(x)))


logsigmoid = log_sigmoid  # PyTorch's spelling in torch.nn.functional


@composite(kind="softmax", domain="nonzero", draw={"p": (2.0, 1.0, 3.0)})
def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """``input`` divided by its ``p``-norm along ``dim`` (at least ``eps``), as PyTorch's.

    >>> normalize(ag.tensor([[3.0, 4.0]]))
    tensor([[0.6, 0.8]])
    """
    input = _as_tensor(input)
    return _ops.div(input, _ops.maximum(input.norm(p, dim, keepdim=True), eps))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Integer class labels as one-hot rows (int64), with ``num_classes`` columns (max + 1 when
    -1), as PyTorch's. It has no gradient.

    >>> one_hot(ag.tensor([0, 2]))
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    labels = _data(tensor)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: class values must be integers, got dtype {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {labels.min()}")
    classes = (int(labels.max()) + 1 if labels.size else 0) if num_classes == -1 else num_classes
    if labels.size and labels.max() >= classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes={classes}, "
                         f"got {labels.max()}")
    return Tensor(np.eye(classes, dtype=np.int64)[labels])


@composite(kind="pad", draw={"value": (0.0, 1.5)})
def pad(input: Tensor, pad: tuple[int, ...] | list[int], mode: str = "constant",
        value: float = 0.0) -> Tensor:
    """Pad (or, with negative sizes, crop) the last dims: ``pad`` is (left, right) of the last
    dim, then of the one before, ..., as PyTorch's. Only ``mode="constant"``.

    >>> pad(ag.tensor([[1.0, 2.0]]), (1, 0, 0, 1))
    tensor([[0., 1., 2.],
            [0., 0., 0.]])
    """
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    input = _as_tensor(input)
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: pad must hold (left, right) pairs for at most {input.ndim} "
                         f"dims of a tensor of shape {input.shape}, got {pad}")
    out = input
    for i in range(len(pad) // 2):
        out = _pad_dim(out, input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1], value)
    return out


def _pad_dim(x, dim, left, right, value):
    """``x`` with ``left``/``right`` entries of ``value`` added along ``dim`` (removed if < 0)."""
    n = x.shape[dim]
    if n - max(-left, 0) - max(-right, 0) < 0:
        raise ValueError(f"pad: cropping ({left}, {right}) leaves dim {dim} of size {n} negative")
    index = [slice(None)] * x.ndim
    index[dim] = slice(max(-left, 0), n - max(-right, 0))

    def block(count):  # count entries of value along dim, or none
        shape = list(x.shape)
        shape[dim] = count
        return [np.full(shape, value, x.dtype)] if count > 0 else []

    parts = block(left) + [x[tuple(index)]] + block(right)
    return _ops.concatenate(parts, axis=dim) if len(parts) > 1 else parts[0]


@composite(kind="softmax")
def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``."""
    return _ops.softmax(x, dim)


@composite(kind="softmax")
def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    """log(softmax(x)) along ``dim``, computed without overflow."""
    return _ops.log_softmax(x, dim)


class _Step(Function):
    """Heaviside step: 1 where x >= 0, else 0. Its derivative is 0 almost everywhere, so its
    backward refuses rather than silently passing zeros."""

    @staticmethod
    def forward(ctx, x):
        return _ops.astype(_ops.ge(x, 0), x.dtype)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(
            "step (the perceptron's Heaviside activation) is not differentiable: its derivative "
            "is 0 everywhere except at 0, where it does not exist, so backpropagation cannot "
            "train through it. Train a perceptron with its own learning rule, or use sigmoid or "
            "tanh where gradients must flow.")


def step(x: Tensor) -> Tensor:
    """Heaviside step, 1.0 where x >= 0 else 0.0 (the perceptron's activation; no gradient)."""
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    if x.dtype.kind != "f":
        x = _ops.astype(x, np.float32)
    return _Step.apply(x)


# ---- layers ------------------------------------------------------------------------------------


@composite(kind="linear")
def linear(x: Tensor, weight: TensorLike, bias: TensorLike | None = None) -> Tensor:
    """x @ weight.T + bias, with weight of shape (out_features, in_features) as in PyTorch."""
    if bias is None:
        return _ops.matmul(x, _ops.transpose(weight))
    return _ops.linear(x, weight, bias)


@composite(kind="random", draw={"p": (0.0, 0.3, 1.0), "training": (True, False)})
def dropout(x: Tensor, p: float = 0.5, training: bool = True,
            generator: SeedLike = None) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p); identity when not
    training. ``generator`` (a numpy Generator) defaults to the one ``manual_seed`` seeds."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return x
    shape = np.shape(x.data if isinstance(x, Tensor) else x)
    return _ops.mul(x, _dropout_mask(generator, shape, p, _dtype(x), "dropout"))


@composite(kind="random_channels", draw={"p": (0.0, 0.3, 1.0), "training": (True, False)})
def dropout2d(x: Tensor, p: float = 0.5, training: bool = True,
              generator: SeedLike = None) -> Tensor:
    """Zero each channel (dim 1 of (N, C, H, W); dim 0 of unbatched (C, H, W)) with
    probability p and scale the rest by 1/(1-p); identity when not training, as PyTorch's."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout2d: p must be in [0, 1], got {p}")
    shape = np.shape(x.data if isinstance(x, Tensor) else x)
    if len(shape) not in (3, 4):
        raise ValueError(f"dropout2d: expected input of shape (N, C, H, W) or (C, H, W), got "
                         f"{shape}")
    if not training or p == 0:
        return x
    channels = shape[:len(shape) - 2]
    return _ops.mul(x, _dropout_mask(generator, channels + (1, 1), p, _dtype(x), "dropout2d"))


def _dropout_mask(generator, shape, p, dtype, name):
    """Dropout's random draw: 1/(1-p) where an element is kept (probability 1-p), else 0. One
    function, so that ``ag.compile`` replays it as a fresh draw."""
    keep = creation.random_generator(generator, name, seeds=False).random(shape) >= p
    scale = 0.0 if p == 1 else 1 / (1 - p)
    return (keep * scale).astype(dtype)


def _dtype(x):
    dtype = x.dtype if isinstance(x, Tensor) else np.asarray(x).dtype
    return dtype if dtype.kind == "f" else np.float32


@composite(kind="batch_norm", nin=5, domain=("unique", "real", "positive", "real", "real"),
           draw={"training": (True, False)})
def batch_norm(x: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float | None = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each feature (axis 1) by batch statistics when training (and update the running
    ones in place), by the running statistics otherwise; then scale by weight, shift by bias."""
    if training:
        mean, var, n = _batch_statistics(x)
        if running_mean is not None:
            _update_running_stats(running_mean.data,
                                  running_var.data,  # type: ignore[union-attr]  # (given with it)
                                  mean.data, var.data, momentum, n)
    else:
        shape = (1, -1) + (1,) * (x.ndim - 2)
        mean, var = _ops.reshape(running_mean, shape), _ops.reshape(running_var, shape)
    return _normalize(x, mean, var, weight, bias, eps)


def _batch_statistics(x):
    """The mean and biased variance of each feature (axis 1) over the batch and the other axes,
    kept as (1, C, 1, ...), and how many values each is over."""
    n = x.numel() // x.shape[1]
    if n < 2:
        raise ValueError(f"batch_norm: expected more than 1 value per feature in training, got "
                         f"input of shape {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    return _ops.mean(x, axis=axes, keepdims=True), _ops.var(x, axis=axes, keepdims=True), n


def _update_running_stats(running_mean, running_var, mean, var, momentum, n):
    """running = (1 - momentum) running + momentum batch, in place on the arrays, with the
    variance unbiased (times n / (n - 1)), as PyTorch."""
    running_mean *= 1 - momentum
    running_mean += momentum * mean.reshape(-1)
    running_var *= 1 - momentum
    running_var += momentum * var.reshape(-1) * n / (n - 1)


def _normalize(x, mean, var, weight, bias, eps):
    """(x - mean) / sqrt(var + eps), then times weight and plus bias per feature (axis 1)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    out = (x - mean) / _ops.sqrt(var + eps)
    if weight is not None:
        out = out * _ops.reshape(weight, shape)
    if bias is not None:
        out = out + _ops.reshape(bias, shape)
    return out


# ---- losses ------------------------------------------------------------------------------------

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss, reduction, name):
    if reduction == "mean":
        return _ops.mean(loss)
    if reduction == "sum":
        return _ops.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _same_shape(input, target, name):
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: input has shape {input.shape} but target has shape {target.shape}; they "
            "must match (broadcasting (N, 1) against (N,) would silently compare every pair, "
            "so reshape one of them)")


def _as_tensor(x: TensorLike) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


@composite(kind="loss")
def mse_loss(input: Tensor, target: TensorLike, reduction: str = "mean") -> Tensor:
    """Mean squared error: mean((input - target)^2)."""
    input, target = _as_tensor(input), _as_tensor(target)
    _same_shape(input, target, "mse_loss")
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


@composite(kind="loss", domain=("offgrid", "ongrid"),
           kinks=("input=target: mean", "target=input: mean"))
def l1_loss(input: Tensor, target: TensorLike, reduction: str = "mean") -> Tensor:
    """Mean absolute error: mean(|input - target|)."""
    input, target = _as_tensor(input), _as_tensor(target)
    _same_shape(input, target, "l1_loss")
    return _reduce(_ops.abs(input - target), reduction, "l1_loss")


@composite(kind="loss", domain=("offgrid", "ongrid"), draw={"delta": (1.0, 0.5)})
def huber_loss(input: Tensor, target: TensorLike, reduction: str = "mean",
               delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - delta/2): MSE near 0, L1 far away."""
    input, target = _as_tensor(input), _as_tensor(target)
    _same_shape(input, target, "huber_loss")
    d = input - target
    a = _ops.abs(d)
    loss = _ops.where(_ops.lt(a, delta), 0.5 * d * d, delta * (a - 0.5 * delta))
    return _reduce(loss, reduction, "huber_loss")


def _bce_grad_p(g, out, p, y):
    # the derivative of the clamped loss, with PyTorch's floor on p (1 - p) against 0/0
    return g * (p - y) / np.maximum(p * (1 - p), 1e-12)


def _bce_grad_y(g, out, p, y):
    with np.errstate(divide="ignore"):  # log(0) = -inf, clamped at -100 like the forward
        return g * (np.maximum(np.log(1 - p), -100) - np.maximum(np.log(p), -100))


@primitive(_bce_grad_p, _bce_grad_y, saves=("p y", "p"),
           kind="elementwise", domain=("probability", "probability"),
           derivative=("(p - y) / (p (1 - p))", "log(1 - p) - log(p)"))
def binary_cross_entropy_elementwise(p, y):
    """-(y log p + (1 - y) log(1 - p)) per element, each log clamped at -100 (as PyTorch)."""
    with np.errstate(divide="ignore"):
        return -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))


@composite(kind="loss", domain=("probability", "probability"))
def binary_cross_entropy(input: Tensor, target: TensorLike, weight: TensorLike | None = None,
                         reduction: str = "mean") -> Tensor:
    """Log loss on probabilities in [0, 1] (after a sigmoid). Prefer
    ``binary_cross_entropy_with_logits``, which is exact for large logits."""
    input, target = _as_tensor(input), _as_tensor(target)
    _same_shape(input, target, "binary_cross_entropy")
    data = input.data
    if data.size and (np.nanmin(data) < 0 or np.nanmax(data) > 1):
        raise ValueError("binary_cross_entropy: input must hold probabilities in [0, 1] (apply "
                         "sigmoid first, or use binary_cross_entropy_with_logits)")
    loss = binary_cross_entropy_elementwise(input, target)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


@composite(kind="loss", domain=("real", "probability"))
def binary_cross_entropy_with_logits(input: Tensor, target: TensorLike,
                                     weight: TensorLike | None = None, reduction: str = "mean",
                                     pos_weight: TensorLike | None = None) -> Tensor:
    """Log loss of sigmoid(input), computed from the logits: softplus(x) - y x, which never
    overflows or takes log(0), however large the logits."""
    input, target = _as_tensor(input), _as_tensor(target)
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    if pos_weight is None:
        loss = _ops.softplus(input) - target * input
    else:  # -(pos_weight y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))
        loss = pos_weight * target * _ops.softplus(-input) + (1 - target) * _ops.softplus(input)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def _class_targets(input, target, name, ignore_index):
    """Check integer class labels against the logits: shape (N,) or (N, d1...) and range."""
    labels = target.data if isinstance(target, Tensor) else np.asarray(target)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name}: class-index targets must be integers, got dtype {labels.dtype} "
                        "(for class probabilities pass a float target shaped like the input)")
    if input.ndim < 1:
        raise ValueError(f"{name}: input must have a class dimension, got shape {input.shape}")
    expected = (input.shape[0],) + input.shape[2:] if input.ndim > 1 else ()
    if labels.shape != expected:
        raise ValueError(f"{name}: input of shape {input.shape} needs targets of shape "
                         f"{expected}, got {labels.shape}")
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    valid = labels != ignore_index
    if labels.size and (labels.min() < 0 or labels.max() >= classes):  # or only ignored ones
        bad = labels[valid & ((labels < 0) | (labels >= classes))]
        if bad.size:
            raise ValueError(f"{name}: target {int(bad[0])} is out of range for {classes} "
                             f"classes (labels must be in [0, {classes - 1}])")
    return labels, valid, classes


def _check_class_weight(weight, classes, name):
    if weight is not None and np.shape(_data(weight)) != (classes,):
        raise ValueError(f"{name}: weight must hold one value per class, shape ({classes},), "
                         f"got shape {np.shape(_data(weight))}")


@composite(kind="class_logits")
def nll_loss(input: Tensor, target: TensorLike, weight: TensorLike | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer class labels, given log-probabilities (N, C, ...).

    With class ``weight``s, 'mean' divides by the summed weights of the counted targets, as in
    PyTorch; targets equal to ``ignore_index`` count for nothing.
    """
    input = _as_tensor(input)
    labels, valid, classes = _class_targets(input, target, "nll_loss", ignore_index)
    _check_class_weight(weight, classes, "nll_loss")
    logp = input if input.ndim > 1 else _ops.reshape(input, (1, classes))
    shape = labels.shape  # 'none' returns one loss per target, in the targets' shape
    labels = labels.reshape(-1) if input.ndim > 1 else labels.reshape(1)
    valid = valid.reshape(-1) if input.ndim > 1 else valid.reshape(1)
    if logp.ndim > 2:  # (N, C, d1, ...) -> (N * d1 * ..., C)
        logp = _ops.reshape(_ops.transpose(logp, (0,) + tuple(range(2, logp.ndim)) + (1,)),
                            (-1, classes))
    safe = np.where(valid, labels, 0)
    picked = logp[np.arange(len(safe)), safe]
    if weight is None and valid.all():  # the plain case: no weights to multiply by
        losses = -picked
        if reduction == "mean":
            return _ops.mean(losses)
        return _ops.reshape(losses, shape) if reduction == "none" else \
            _reduce(losses, reduction, "nll_loss")
    w = np.where(valid, 1.0 if weight is None else _data(weight)[safe], 0.0).astype(logp.dtype)
    losses = -picked * w
    if reduction == "mean":
        return _ops.sum(losses) / w.sum()
    if reduction == "none":
        return _ops.reshape(losses, shape)
    return _reduce(losses, reduction, "nll_loss")


def _data(x: TensorLike) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _label_weights(target, weight, ignore_index, dtype):
    """Each row's class (0 where ignored) and its weight in the loss (0 where ignored)."""
    valid = target != ignore_index
    safe = np.where(valid, target, 0)
    w = valid if weight is None else np.where(valid, weight[safe], 0)
    return safe, w.astype(dtype)


def _cross_entropy_labels_grad(g, out, input, target, weight=None, ignore_index=-100,
                               reduction="mean"):
    safe, w = _label_weights(target, weight, ignore_index, input.dtype)
    one_hot = np.eye(input.shape[1], dtype=input.dtype)[safe]
    scale = g * (w / w.sum() if reduction == "mean" else w)  # (N,): each row's share of g
    return (_ops.reduce.softmax.dispatch(input, 1) - one_hot) * scale[:, None]


@primitive(_cross_entropy_labels_grad, saves="input", kind="class_logits", nin=1,
           name="cross_entropy",
           derivative="softmax(x) - one_hot(target)")
def _cross_entropy_labels(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Softmax cross-entropy of logits (N, C) against integer labels (N,), as one op."""
    return _cross_entropy_labels_into(input, target, weight, ignore_index, reduction, into=None)


@_cross_entropy_labels.writes_into(like="input")
def _cross_entropy_labels_into(input, target, weight=None, ignore_index=-100, reduction="mean",
                               *, into):
    """The loss, with the shifted logits and their exponentials made in ``into`` (a new array
    when None)."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    safe, w = _label_weights(target, weight, ignore_index, input.dtype)
    # exp never overflows; it is taken in place but for integer logits (whose exp is float64)
    shifted = np.subtract(input, input.max(axis=1, keepdims=True), out=into)
    picked = shifted[np.arange(len(safe)), safe]
    exps = np.exp(shifted, out=shifted if shifted.dtype.kind == "f" else None)
    losses = (np.log(exps.sum(axis=1)) - picked) * w
    if reduction == "none":
        return losses
    return losses.sum() / w.sum() if reduction == "mean" else losses.sum()


@_cross_entropy_labels.writes_into(0)
def _cross_entropy_labels_grad_into(g, out, input, target, weight=None, ignore_index=-100,
                                    reduction="mean", *, into):
    """The gradient, made in ``into``: the softmax, minus 1 at each label (where the one-hot
    rows are 1; minus 0 elsewhere changes no bit), times each row's share."""
    safe, w = _label_weights(target, weight, ignore_index, input.dtype)
    scale = g * (w / w.sum() if reduction == "mean" else w)
    grad = _ops.reduce.softmax_into(input, 1, into=into)
    grad[np.arange(len(safe)), safe] -= 1
    return np.multiply(grad, scale[:, None], out=into)


@composite(kind="class_targets", draw={"label_smoothing": (0.0, 0.2)})
def cross_entropy(input: Tensor, target: TensorLike, weight: TensorLike | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits (N, C, ...) against integer class labels, or against class
    probabilities (a float target shaped like the input); ``label_smoothing`` mixes the labels
    with the uniform distribution, as in PyTorch."""
    input = _as_tensor(input)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    if input.ndim == 2 and not label_smoothing and _data(target).dtype.kind in "iu":
        labels, _, classes = _class_targets(input, target, "cross_entropy", ignore_index)
        _check_class_weight(weight, classes, "cross_entropy")
        if reduction not in _REDUCTIONS:
            raise ValueError(f"cross_entropy: reduction must be one of {_REDUCTIONS}, got "
                             f"{reduction!r}")
        return _cross_entropy_labels(input, target=labels, ignore_index=ignore_index,
                                     weight=None if weight is None else _data(weight),
                                     reduction=reduction)
    axis = 1 if input.ndim > 1 else 0
    logp = _ops.log_softmax(input, axis)
    classes = input.shape[axis]
    _check_class_weight(weight, classes, "cross_entropy")
    if _data(target).dtype.kind == "f":  # class probabilities
        target = _as_tensor(target)
        if input.ndim > 1 and target.shape == (input.shape[0],) + input.shape[2:]:
            raise TypeError(f"cross_entropy: class-index targets must be integers, got dtype "
                            f"{target.dtype} (float targets are class probabilities, shaped "
                            f"like the input {input.shape})")
        _same_shape(input, target, "cross_entropy")
        if label_smoothing:
            target = target * (1 - label_smoothing) + label_smoothing / classes
        w = 1.0 if weight is None else _ops.reshape(_as_tensor(weight), (-1,) + (1,) * (
            input.ndim - 2) if input.ndim > 1 else (-1,))
        losses = -_ops.sum(logp * target * w, axis=axis)
        return _reduce(losses, reduction, "cross_entropy")
    nll = nll_loss(logp, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return nll
    labels, valid, _ = _class_targets(input, target, "cross_entropy", ignore_index)
    w = np.ones(classes, logp.dtype) if weight is None else _data(weight).astype(logp.dtype)
    shape = (1, classes) + (1,) * (input.ndim - 2) if input.ndim > 1 else (classes,)
    smooth = -_ops.sum(logp * w.reshape(shape), axis=axis) * valid.astype(logp.dtype) / classes
    if reduction == "mean":
        denom = np.where(valid, 1.0 if weight is None else w[np.where(valid, labels, 0)], 0).sum()
        smooth = _ops.sum(smooth) / denom
    else:
        smooth = _reduce(smooth, reduction, "cross_entropy")
    return nll * (1 - label_smoothing) + smooth * label_smoothing
