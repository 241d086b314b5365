"""Check the engine's gradients against central finite differences, in float64.

The check projects every output on a fixed random direction ``v`` (a vector-Jacobian product,
exactly what backward computes) and compares ``d<v, f(x)>/dx`` from the engine with
``(<v, f(x + eps e_j)> - <v, f(x - eps e_j)>) / (2 eps)`` for every input element ``j``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._tensor import Tensor, as_array
from ..engine import grad
from ..grad_mode import enable_grad

if TYPE_CHECKING:
    from .._tensor import TensorLike


class GradcheckError(AssertionError):
    """The analytic and numeric gradients disagree; the message holds the mismatch table."""


class NonDifferentiableError(GradcheckError):
    """The function has a kink (relu at 0, a tie in max, abs at 0) at the point checked."""


def gradcheck(fn: Callable[..., Any], inputs: TensorLike | Sequence[TensorLike],
              eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, *,
              fast_mode: bool = False, seed: int = 0) -> bool:
    """Return True if ``fn``'s gradients match finite differences, else raise ``GradcheckError``.

    ``inputs`` is a Tensor or a sequence of Tensors / arrays / numbers. Inputs with
    ``requires_grad=True`` are checked (all floating ones if none is marked). Everything is
    computed in float64: float32 inputs are upcast, with a warning saying so. ``fast_mode``
    checks one random direction per input instead of every element (for large inputs).

    >>> x = ag.randn(3, dtype=np.float64, requires_grad=True)
    >>> gradcheck(lambda x: (x * x).sum(), x)
    True
    """
    xs, checked = _float64_inputs(inputs)
    rng = np.random.default_rng(seed)
    with enable_grad():
        outs = _outputs(fn(*xs))
    vs = [rng.standard_normal(o.shape) for o in outs]
    analytic = _analytic(outs, vs, [xs[i] for i in checked])

    def projected(arrays):
        """<v, fn(arrays)> as a float: the scalar whose derivative the engine computed."""
        trial = [Tensor(a, requires_grad=x.requires_grad) if isinstance(x, Tensor) else x
                 for a, x in zip(arrays, xs)]
        with enable_grad():
            return float(sum(np.vdot(v, o.data) for v, o in zip(vs, _outputs(fn(*trial)))))

    base = [x.data.copy() if isinstance(x, Tensor) else x for x in xs]
    if fast_mode:
        return _check_direction(projected, base, checked, analytic, eps, atol, rtol, rng)
    f0 = projected(base)
    rows = []
    for slot, i in enumerate(checked):
        for j in np.ndindex(*base[i].shape):
            up, down = projected(_shifted(base, i, j, eps)), projected(_shifted(base, i, j, -eps))
            numeric = (up - down) / (2 * eps)
            # The one-sided slopes come free; if they disagree, look closer for a kink.
            if abs(up - 2 * f0 + down) / eps > atol and _has_kink(
                    projected, base, i, j, eps, atol, rtol):
                raise NonDifferentiableError(
                    f"gradcheck: the function is not differentiable at input {i}, element "
                    f"{j} (value {float(base[i][j])!r}): its left and right slopes differ, "
                    "as at relu(0), abs(0) or a tie in max. Check a point away from the kink.")
            a = float(analytic[slot][j])
            if abs(a - numeric) > atol + rtol * abs(numeric):
                rows.append((i, j, a, numeric))
    if rows:
        raise GradcheckError(_mismatch_table(rows, len(checked), base))
    return True


def gradgradcheck(fn: Callable[..., Any], inputs: TensorLike | Sequence[TensorLike],
                  grad_outputs: TensorLike | Sequence[TensorLike] | None = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, *,
                  seed: int = 0) -> bool:
    """Check second derivatives: gradcheck of ``x, v -> d<v, fn(x)>/dx`` (create_graph=True).

    ``grad_outputs`` (the ``v``) defaults to random directions; both ``x`` and ``v`` are checked.
    """
    xs, checked = _float64_inputs(inputs)
    with enable_grad():
        outs = _outputs(fn(*xs))
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        grad_outputs = [rng.standard_normal(o.shape) for o in outs]
    vs = [Tensor(np.asarray(v.data if isinstance(v, Tensor) else v, dtype=np.float64),
                 requires_grad=True)
          for v in _outputs(grad_outputs, allow_arrays=True)]
    n = len(xs)

    def first_derivatives(*args):
        outs = [o for o in _outputs(fn(*args[:n]))]
        wrt = [args[i] for i in checked]
        pairs = [(o, v) for o, v in zip(outs, args[n:]) if o.requires_grad]
        if not pairs:
            return tuple(Tensor(np.zeros(w.shape)) for w in wrt)
        grads = grad([o for o, _ in pairs], wrt, [v for _, v in pairs], create_graph=True,
                     allow_unused=True)
        return tuple(g if g is not None else Tensor(np.zeros(w.shape))
                     for g, w in zip(grads, wrt))

    marked = [x if i in checked else _frozen(x) for i, x in enumerate(xs)]
    return gradcheck(first_derivatives, marked + vs, eps, atol, rtol, seed=seed)


# ---------------------------------------------------------------------------------------------


def _float64_inputs(inputs):
    """Float64 copies of the inputs, and the positions of those to check."""
    if isinstance(inputs, (Tensor, np.ndarray)) or np.isscalar(inputs):
        inputs = (inputs,)
    marked = any(isinstance(x, Tensor) and x.requires_grad for x in inputs)
    xs, checked = [], []
    for i, x in enumerate(inputs):
        data = as_array(x)
        floating = data.dtype.kind == "f"
        wanted = x.requires_grad if marked and isinstance(x, Tensor) else (not marked and floating)
        if floating and data.dtype != np.float64:
            warnings.warn(f"gradcheck: input {i} is {data.dtype}; it was upcast to float64, since "
                          "finite differences are meaningless in lower precision", stacklevel=3)
        if floating:
            x = Tensor(data.astype(np.float64), requires_grad=wanted)
        xs.append(x)
        if wanted:
            checked.append(i)
    if not checked:
        raise ValueError("gradcheck: no floating-point input to check; mark inputs with "
                         "requires_grad=True")
    return xs, checked


def _frozen(x):
    return Tensor(x.data) if isinstance(x, Tensor) else x


def _outputs(result, allow_arrays=False):
    items = result if isinstance(result, (tuple, list)) else (result,)
    for o in items:
        if not isinstance(o, Tensor) and not allow_arrays:
            raise TypeError(f"gradcheck: fn must return Tensors, got {type(o).__name__}")
    return list(items)


def _analytic(outs, vs, wrt):
    """d<v, outs>/d(wrt) from the engine; zeros where an input does not reach the outputs."""
    pairs = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
    if not pairs:
        return [np.zeros(w.shape) for w in wrt]
    grads = grad([o for o, _ in pairs], wrt, [v for _, v in pairs], allow_unused=True)
    return [np.zeros(w.shape) if g is None else g.data for g, w in zip(grads, wrt)]


def _shifted(base, i, j, delta):
    arrays = list(base)
    arrays[i] = base[i].copy()
    arrays[i][j] += delta
    return arrays


def _central(f, base, i, j, h):
    return (f(_shifted(base, i, j, h)) - f(_shifted(base, i, j, -h))) / (2 * h)


def _has_kink(f, base, i, j, h, atol, rtol):
    """True when the slope at element j jumps: one-sided slopes differ at two step sizes, or
    the central estimate changes with the step (a kink closer than the step)."""
    f0 = f(base)

    def jump(step):
        right = (f(_shifted(base, i, j, step)) - f0) / step
        left = (f0 - f(_shifted(base, i, j, -step))) / step
        return abs(right - left), max(abs(right), abs(left))

    big, scale = jump(h)
    small, _ = jump(h / 10)
    tol = atol + rtol * scale
    unstable = abs(_central(f, base, i, j, h) - _central(f, base, i, j, h / 10)) > tol
    return unstable or (big > tol and small > big / 2)


def _check_direction(f, base, checked, analytic, eps, atol, rtol, rng):
    """One random direction u per input: compare <grad, u> with the directional derivative."""
    us = {i: rng.standard_normal(base[i].shape) for i in checked}
    a = sum(float(np.vdot(analytic[slot], us[i])) for slot, i in enumerate(checked))

    def along(t):
        return [b + t * us[k] if k in us else b for k, b in enumerate(base)]

    numeric = (f(along(eps)) - f(along(-eps))) / (2 * eps)
    if abs(a - numeric) > atol + rtol * abs(numeric):
        raise GradcheckError(
            "gradcheck (fast_mode): along a random direction the analytic directional "
            f"derivative is {a:.6g} but finite differences give {numeric:.6g} "
            f"(abs error {abs(a - numeric):.3g}); rerun without fast_mode for the elements")
    return True


def _mismatch_table(rows, n_checked, base, limit=10):
    rows = sorted(rows, key=lambda r: -abs(r[2] - r[3]))
    total = sum(base[i].size for i in {r[0] for r in rows})
    lines = [f"gradcheck: {len(rows)} gradient element(s) differ from finite differences "
             f"(of {total} checked in the failing inputs), worst first:",
             f"{'input':>5}  {'element':<12} {'analytic':>12} {'numeric':>12} {'abs err':>10} "
             f"{'rel err':>10}"]
    for i, j, a, n in rows[:limit]:
        err = abs(a - n)
        lines.append(f"{i:>5}  {str(j):<12} {a:>12.6g} {n:>12.6g} {err:>10.3g} "
                     f"{err / max(abs(n), 1e-12):>10.3g}")
    if len(rows) > limit:
        lines.append(f"... and {len(rows) - limit} more")
    return "\n".join(lines)
