"""Gradient clipping, in place on ``.grad``, as ``torch.nn.utils.clip_grad_norm_`` and
``clip_grad_value_``, and the parameters as one flat vector (``parameters_to_vector`` /
``vector_to_parameters``)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from .. import ops
from .._tensor import Tensor
from ..engine import version_counter

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _tensors(parameters, name) -> list[Tensor]:
    """``parameters`` (one Tensor or an iterable of them) as a list, refusing anything else."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor")
    return params


def _grads(parameters, name):
    """The Tensors of ``parameters`` (one Tensor or an iterable) that have a ``.grad``."""
    return [p for p in _tensors(parameters, name) if p.grad is not None]


def _set_grad(p, value):
    """Write ``value`` into p.grad in place, as PyTorch does; if that buffer is read-only or
    part of a graph (create_graph=True), give p a new detached grad instead."""
    g = p.grad
    if g.grad_fn is None and g.data.flags.writeable:
        np.copyto(g.data, value, casting="same_kind")
        version_counter(g).value += 1
    else:
        p.grad = Tensor(np.array(np.broadcast_to(value, g.shape), dtype=g.dtype))


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients in place so their joint ``norm_type``-norm is at most ``max_norm``.

    The norm is taken over all gradients together, as if concatenated (``norm_type=inf`` is
    the largest absolute value); gradients are multiplied by max_norm / (norm + 1e-6) when that
    is below 1. Returns the norm before clipping, a 0-d tensor in the gradients' dtype, as
    PyTorch does.

    >>> from autograd_lite import tensor
    >>> w = tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = tensor([3.0, 4.0])
    >>> clip_grad_norm_([w], max_norm=1.0)
    tensor(5.)
    >>> w.grad
    tensor([0.6, 0.8])
    """
    params = _grads(parameters, "clip_grad_norm_")
    if not isinstance(max_norm, numbers.Real) or max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be a number >= 0, got {max_norm!r}")
    return Tensor._make(_clip_norm(params, max_norm, float(norm_type), error_if_nonfinite), None)


def _clip_norm(params, max_norm, norm_type, error_if_nonfinite):
    """clip_grad_norm_'s work on checked parameters, as one call (``ag.compile`` replays it):
    scale their gradients, and return the total norm as a 0-d array."""
    if not params:
        return np.array(0.0, np.float32)
    grads = [p.grad.data.astype(np.float64).ravel() for p in params]
    if norm_type == math.inf:
        total = max((float(np.max(np.abs(g))) for g in grads if g.size), default=0.0)
    else:
        total = float(np.linalg.norm([np.linalg.norm(g, norm_type) for g in grads], norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}, so they cannot be clipped; pass "
                           "error_if_nonfinite=False to clip anyway")
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:  # also NaN, which spreads to the gradients as in PyTorch
        for p in params:
            _set_grad(p, p.grad.data * coef)
    return np.array(total, np.result_type(*(p.grad.dtype for p in params)))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient in place to [-clip_value, clip_value].

    >>> from autograd_lite import tensor
    >>> w = tensor([0.0, 0.0, 0.0], requires_grad=True)
    >>> w.grad = tensor([-3.0, 0.2, 2.0])
    >>> clip_grad_value_([w], 0.5)
    >>> w.grad
    tensor([-0.5,  0.2,  0.5])
    """
    params = _grads(parameters, "clip_grad_value_")
    if not isinstance(clip_value, numbers.Real) or clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be a number >= 0, got "
                         f"{clip_value!r}")
    _clip_value(params, clip_value)


def _clip_value(params, clip_value):
    """clip_grad_value_'s work on checked parameters, as one call (``ag.compile`` replays it)."""
    for p in params:
        _set_grad(p, np.clip(p.grad.data, -clip_value, clip_value))


def parameters_to_vector(parameters: Tensor | Iterable[Tensor]) -> Tensor:
    """All parameters (an iterable, or one Tensor) flattened and joined into one 1-D tensor,
    differentiably (as PyTorch).

    >>> a, b = ag.tensor([[1.0, 2.0]], requires_grad=True), ag.tensor([3.0], requires_grad=True)
    >>> parameters_to_vector([a, b])
    tensor([1., 2., 3.], grad_fn=<concatenate>)
    """
    params = _tensors(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters; there is nothing to join")
    return ops.concatenate([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Tensor | Iterable[Tensor]) -> None:
    """Make each parameter's ``.data`` the next slice of the 1-D ``vec``, reshaped: a view that
    shares vec's memory and dtype, as PyTorch's ``param.data = ...``; extra entries are unused.

    >>> a, b = ag.zeros(1, 2, requires_grad=True), ag.zeros(1, requires_grad=True)
    >>> vector_to_parameters(ag.tensor([1.0, 2.0, 3.0]), [a, b])
    >>> a, b
    (tensor([[1., 2.]], requires_grad=True), tensor([3.], requires_grad=True))
    """
    name = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{name}: expected a Tensor as vec, got {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"{name}: vec must be 1-D, got shape {vec.shape}")
    params = _tensors(parameters, name)
    needed = sum(p.numel() for p in params)
    if vec.numel() < needed:
        raise ValueError(f"{name}: vec has {vec.numel()} entries, the parameters need {needed}")
    start = 0
    for p in params:
        p.data = vec.data[start:start + p.numel()].reshape(p.shape)
        start += p.numel()
