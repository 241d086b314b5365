"""check_op: property-test a user's own op (or their hand-written backward) with Hypothesis."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor import Tensor
from .gradcheck import GradcheckError, gradcheck

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy


def check_op(fn: Callable[..., Tensor], reference: Callable[..., Any] | None = None,
             strategy: SearchStrategy[Any] | None = None, *, max_examples: int = 50,
             atol: float = 1e-5, rtol: float = 1e-3) -> None:
    """Check ``fn`` on Hypothesis-drawn inputs: its values against ``reference`` (a numpy
    function of the same arrays), and its gradients against finite differences.

    ``strategy`` draws a tuple of float64 arrays (default: one array of any small shape). On
    failure the error shows the inputs Hypothesis shrank to and, where one fits, a hint.

    >>> def my_softplus(x):
    ...     return ag.log(1 + ag.exp(x))
    >>> check_op(my_softplus, reference=lambda x: np.log1p(np.exp(x)))  # silent when it passes
    """
    from hypothesis import given, settings

    from .strategies import arrays

    strategy = strategy if strategy is not None else arrays().map(lambda a: (a,))

    @settings(max_examples=max_examples, deadline=None, database=None)
    @given(strategy)
    def check(arrays_):
        arrays_ = arrays_ if isinstance(arrays_, tuple) else (arrays_,)
        tensors = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays_]
        out = fn(*tensors)
        if reference is not None:
            expected = np.asarray(reference(*[np.array(a, dtype=np.float64) for a in arrays_]))
            got = out.data
            if got.shape != expected.shape:
                raise AssertionError(f"check_op: output has shape {got.shape}, the reference "
                                     f"gives {expected.shape}")
            if not np.allclose(got, expected, atol=atol, rtol=rtol, equal_nan=True):
                worst = np.max(np.abs(got - expected))
                raise AssertionError(f"check_op: forward differs from the reference (max abs "
                                     f"difference {worst:.3g})")
        try:
            gradcheck(fn, tensors, atol=atol, rtol=rtol)
        except GradcheckError as e:
            hint = _gradient_hint(fn, tensors)
            raise GradcheckError(f"{e}\nhint: {hint}" if hint else str(e)) from None
        except RuntimeError as e:  # the engine rejects a gradient of the wrong shape
            raise GradcheckError(f"check_op: {e}\nhint: {_shape_hint(str(e))}") from None

    check()


def _shape_hint(message):
    if "cannot be summed" in message:
        return ("a gradient must have its input's shape. If the forward broadcast this input, "
                "sum the gradient over the broadcast axes; if it transposed or reshaped it, undo "
                "that in the gradient")
    return ""


def _gradient_hint(fn, tensors):
    """Compare the analytic gradient with finite differences and name a likely mistake."""
    from ..engine import grad
    from .gradcheck import _central

    base = [t.data.copy() for t in tensors]
    rng = np.random.default_rng(0)
    out = fn(*tensors)
    v = rng.standard_normal(out.shape)

    def projected(arrays):
        return float(np.vdot(v, fn(*[Tensor(a) for a in arrays]).data))

    try:
        analytic = [g.data if g is not None else np.zeros(t.shape) for g, t in zip(
            grad(out, tensors, v, allow_unused=True), tensors)]
    except (ValueError, RuntimeError):
        return ""
    for i, a in enumerate(analytic):
        numeric = np.zeros(base[i].shape)
        for j in np.ndindex(*base[i].shape):
            numeric[j] = _central(projected, base, i, j, 1e-6)
        if np.allclose(a, numeric, atol=1e-5, rtol=1e-3):
            continue
        if not np.any(a) and np.any(numeric):
            return (f"the gradient of input {i} is all zeros: is the rule missing, or was the "
                    "graph cut (detach, no_grad, .data, numpy calls on Tensors)?")
        if np.allclose(a, -numeric, atol=1e-5, rtol=1e-3):
            return f"the gradient of input {i} has the wrong sign"
        for factor in (2.0, 0.5):
            if np.allclose(a, factor * numeric, atol=1e-5, rtol=1e-3):
                return f"the gradient of input {i} is {factor:g} times too large: a factor of 2?"
        if a.ndim == 2 and a.shape == numeric.shape and np.allclose(
                a, numeric.T, atol=1e-5, rtol=1e-3):
            return f"the gradient of input {i} is transposed"
    return ""
