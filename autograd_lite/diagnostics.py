"""Gradient-flow diagnostics: which parameters received a gradient and how large it is, and which
ReLU units never fire. Pure numpy; ``autograd_lite.plot`` draws the same numbers.

Run them after ``loss.backward()`` to spot broken wiring (a layer that gets no gradient),
vanishing or exploding gradients, and dead ReLUs:

>>> _ = ag.manual_seed(0)
>>> model = ag.nn.Sequential(ag.nn.Linear(2, 3), ag.nn.ReLU(), ag.nn.Linear(3, 1))
>>> x = ag.randn(8, 2)
>>> model[:2](x).sum().backward()        # a bug: the last layer is left out of the loss
>>> print(format_gradient_flow(gradient_flow(model)))
parameter  shape   mean |grad|  max |grad|  norm       flag
---------  ------  -----------  ----------  ---------  -------
0.weight   (3, 2)  2.009e+00    3.785e+00   5.658e+00
0.bias     (3,)    5.000e+00    6.000e+00   8.775e+00
2.weight   (1, 3)  -            -           -          no grad
2.bias     (1,)    -            -           -          no grad
2 of 4 parameters flagged: 2.weight (no grad), 2.bias (no grad)
>>> dead_relu_fraction(model, x)
{'1': 0.0}
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._tensor import Tensor, as_array
from .grad_mode import no_grad
from .nn.layers import ReLU
from .nn.module import Module

if TYPE_CHECKING:
    from ._tensor import TensorLike

# Flags, worst first. "no grad" and "zero" mean broken wiring: the parameter does not reach the
# loss (or reaches it only through a non-differentiable path).
NO_GRAD, ZERO, NON_FINITE, EXPLODING, VANISHING, FROZEN = (
    "no grad", "zero", "non-finite", "exploding", "vanishing", "frozen")
WIRING_FLAGS = (NO_GRAD, ZERO)
MAGNITUDE_FLAGS = (NON_FINITE, EXPLODING, VANISHING)


@dataclass(frozen=True)
class GradientFlowRow:
    """Gradient statistics of one parameter. The numbers are NaN when there is no gradient.

    ``flag`` is '' when nothing looks wrong, else one of: 'no grad' (``.grad`` is None),
    'zero' (all zeros), 'non-finite' (NaN or inf), 'exploding', 'vanishing', or 'frozen'
    (``requires_grad=False`` and no gradient: nothing is wrong).
    """

    name: str
    shape: tuple
    mean_abs: float
    max_abs: float
    norm: float
    flag: str = ""

    @property
    def has_grad(self) -> bool:
        return self.flag not in (NO_GRAD, FROZEN)


def _named_parameters(model_or_pairs):
    if isinstance(model_or_pairs, Module):
        return list(model_or_pairs.named_parameters())
    pairs = list(model_or_pairs)
    for item in pairs:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Tensor)):
            raise TypeError("expected a Module or (name, Tensor) pairs such as "
                            f"model.named_parameters(), got an item {item!r:.60}")
    return pairs


def gradient_flow(model: Module | Iterable[tuple[str, Tensor]], *, vanishing: float = 1e-7,
                  exploding: float = 1e3) -> list[GradientFlowRow]:
    """Per parameter (in ``named_parameters`` order): name, shape, mean |grad|, max |grad| and
    the gradient's L2 norm, with a flag for a missing, all-zero or non-finite gradient and for
    max |grad| below ``vanishing`` or above ``exploding``.

    ``model`` is a Module or an iterable of (name, Tensor) pairs. Call it after ``backward()``.

    >>> model = ag.nn.Sequential(ag.nn.Linear(2, 3), ag.nn.ReLU(), ag.nn.Linear(3, 1))
    >>> model[:2](ag.ones(4, 2)).sum().backward()    # the last layer is left out of the loss
    >>> [row.name for row in gradient_flow(model) if row.flag == "no grad"]
    ['2.weight', '2.bias']
    """
    if not 0 <= vanishing < exploding:
        raise ValueError(f"gradient_flow: need 0 <= vanishing < exploding, got vanishing="
                         f"{vanishing}, exploding={exploding}")
    rows = []
    for name, p in _named_parameters(model):
        grad = p.grad
        if grad is None:
            nan = float("nan")
            flag = NO_GRAD if p.requires_grad else FROZEN
            rows.append(GradientFlowRow(name, tuple(p.shape), nan, nan, nan, flag))
            continue
        g = np.abs(np.asarray(grad.data, dtype=np.float64))
        if g.size == 0:
            mean_abs = max_abs = norm = 0.0
        else:
            mean_abs, max_abs = float(g.mean()), float(g.max())
            norm = float(np.sqrt(np.sum(g * g)))
        if not np.all(np.isfinite(g)):
            flag = NON_FINITE
        elif max_abs == 0.0:
            flag = ZERO
        elif max_abs > exploding:
            flag = EXPLODING
        elif max_abs < vanishing:
            flag = VANISHING
        else:
            flag = ""
        rows.append(GradientFlowRow(name, tuple(p.shape), mean_abs, max_abs, norm, flag))
    return rows


def format_gradient_flow(rows: list[GradientFlowRow]) -> str:
    """``gradient_flow`` rows as a fixed-width text table, followed by a one-line summary of the
    flagged parameters.

    >>> w, b = ag.tensor([1.0, -2.0], requires_grad=True), ag.tensor([0.0], requires_grad=True)
    >>> (w * 3).sum().backward()                      # b is left out of the loss
    >>> print(format_gradient_flow(gradient_flow([("w", w), ("b", b)])))
    parameter  shape  mean |grad|  max |grad|  norm       flag
    ---------  -----  -----------  ----------  ---------  -------
    w          (2,)   3.000e+00    3.000e+00   4.243e+00
    b          (1,)   -            -           -          no grad
    1 of 2 parameters flagged: b (no grad)
    """
    header = ("parameter", "shape", "mean |grad|", "max |grad|", "norm", "flag")

    def number(v):
        return "-" if math.isnan(v) else f"{v:.3e}"

    body = [(r.name, str(r.shape), number(r.mean_abs), number(r.max_abs), number(r.norm), r.flag)
            for r in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    lines = [line(header), line(["-" * w for w in widths]), *(line(b) for b in body)]
    flagged = [r for r in rows if r.flag and r.flag != FROZEN]
    if not rows:
        lines.append("no parameters")
    elif flagged:
        listed = ", ".join(f"{r.name} ({r.flag})" for r in flagged)
        lines.append(f"{len(flagged)} of {len(rows)} parameters flagged: {listed}")
    else:
        lines.append(f"no problems found in {len(rows)} parameters")
    return "\n".join(lines)


def params_without_grad(model: Module | Iterable[tuple[str, Tensor]]) -> list[str]:
    """Names of the parameters whose ``.grad`` is None after a backward: they do not reach the
    loss (an unused layer, a detach, an output left out of the loss). Frozen parameters
    (``requires_grad=False``) are not expected to have one and are left out.

    >>> model = ag.nn.Sequential(ag.nn.Linear(2, 3), ag.nn.Linear(3, 1))
    >>> model[0](ag.ones(1, 2)).sum().backward()      # model[1] is left out of the loss
    >>> params_without_grad(model)
    ['1.weight', '1.bias']
    >>> model[1].bias.requires_grad = False            # frozen: not expected to have a grad
    >>> params_without_grad(model)
    ['1.weight']
    """
    return [name for name, p in _named_parameters(model) if p.grad is None and p.requires_grad]


def _model_input(model, x) -> Tensor:
    """``x`` as a Tensor of the dtype of the model's parameters: these helpers take numpy data
    (often float64) and convert it, as a user would with ``x.float()`` before calling a layer."""
    x = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
    dtype = next((p.dtype for p in model.parameters()), x.dtype)
    return x if x.dtype == dtype else x.astype(dtype)


@contextlib.contextmanager
def _inference(model):
    """``model`` in eval mode with grad recording off; afterwards every sub-module's own
    ``training`` flag is put back (they may differ, e.g. a BatchNorm frozen in eval)."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with no_grad():
            yield model
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)


def dead_relu_fraction(model: Module, x: TensorLike) -> dict[str, float]:
    """For every ``nn.ReLU`` module, the fraction of its units that output zero for every sample
    of ``x``: {module name: fraction}. Units are all output features except the batch (first)
    axis. Measured with forward hooks during one forward pass under ``no_grad`` in eval mode;
    the hooks are removed and each module's training mode restored afterwards, even on error.

    ReLU modules the forward pass does not call are left out; one called several times (a shared
    activation) gets one entry per call: 'act (call 1)', 'act (call 2)'. ``F.relu`` calls are
    not modules and cannot be seen.

    >>> _ = ag.manual_seed(1)
    >>> model = ag.nn.Sequential(ag.nn.Linear(2, 4), ag.nn.ReLU(), ag.nn.Linear(4, 4), ag.nn.ReLU())
    >>> dead_relu_fraction(model, ag.randn(16, 2))      # one of the last layer's 4 units is dead
    {'1': 0.0, '3': 0.25}
    """
    if not isinstance(model, Module):
        raise TypeError(f"dead_relu_fraction: expected a Module, got {type(model).__name__}")
    x = _model_input(model, x)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"dead_relu_fraction: x needs a batch of at least one sample, got shape "
                         f"{x.shape}")
    relus = [(name or "(model)", m) for name, m in model.named_modules() if isinstance(m, ReLU)]
    alive: dict[str, list[np.ndarray]] = {name: [] for name, _ in relus}

    def record(name):
        def hook(module, inputs, out):
            data = as_array(out)
            alive[name].append(np.any(data != 0, axis=0))  # ever non-zero, per unit
        return hook

    handles = []
    try:
        for name, m in relus:
            handles.append(m.register_forward_hook(record(name)))
        with _inference(model):
            model(x)
    finally:
        for h in handles:
            h.remove()
    fractions = {}
    for name, calls in alive.items():
        for i, ever_active in enumerate(calls):
            key = name if len(calls) == 1 else f"{name} (call {i + 1})"
            fractions[key] = float(np.mean(~ever_active)) if ever_active.size else 0.0
    return fractions
