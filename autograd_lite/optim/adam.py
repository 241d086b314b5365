"""Adam and AdamW, following the pseudo-code of PyTorch's documentation line by line."""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING

import numpy as np

from .optimizer import Optimizer, _always

if TYPE_CHECKING:
    from .optimizer import ParamsT


class Adam(Optimizer):
    """Adam: steps by bias-corrected first and second moment estimates of the gradient.

    ``weight_decay`` adds an L2 term to the gradient (use AdamW for decoupled decay);
    ``amsgrad`` divides by the running maximum of the second moment.

    >>> from autograd_lite import tensor
    >>> w = tensor([1.0, 2.0], requires_grad=True)
    >>> opt = Adam([w], lr=1e-3, betas=(0.9, 0.999))
    >>> w.grad = tensor([0.5, -3.0])
    >>> opt.step()                                  # the first step is lr * sign(g)
    >>> w
    tensor([0.999, 2.001], requires_grad=True)
    """

    _STATE = {"step": _always, "exp_avg": _always, "exp_avg_sq": _always,
              "max_exp_avg_sq": lambda group: group["amsgrad"]}
    _decoupled = False

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _check(self, group, where):
        name = type(self).__name__
        self._check_numbers(group, where, "lr", "eps", "weight_decay")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2){where}, got "
                             f"{betas!r}")
        for i, beta in enumerate(betas):
            if not (isinstance(beta, numbers.Real) and 0.0 <= beta < 1.0):  # type: ignore[operator]
                # (numbers.Real declares no comparisons: mypy#3186)
                raise ValueError(f"{name}: Invalid beta parameter at index {i}: {beta!r}{where} "
                                 "(must be in [0, 1))")
        self._check_flags(group, where, "amsgrad", "maximize")

    def _update(self, p, g, state, group):
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        g = -g if group["maximize"] else g
        if self._decoupled:
            p *= 1 - lr * wd                                # AdamW: theta <- theta - lr wd theta
        elif wd != 0:
            g = g + wd * p                                  # Adam: L2 term in the gradient
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        s = self._scratch(p)  # the intermediate values below are made in s, one after the other
        m *= beta1
        m += np.multiply(g, 1 - beta1, out=s)
        v *= beta2
        v += np.multiply(np.multiply(g, g, out=s), 1 - beta2, out=s)
        if group["amsgrad"]:
            v_max = state.setdefault("max_exp_avg_sq", np.zeros_like(p))
            np.maximum(v_max, v, out=v_max)                 # v_max_t = max(v_max_{t-1}, v_t)
            v = v_max
        # theta -= lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - beta1^t), etc.
        denom = np.add(np.divide(np.sqrt(v, out=s), math.sqrt(1 - beta2 ** t), out=s), eps, out=s)
        p -= np.multiply(np.divide(m, denom, out=s), lr / (1 - beta1 ** t), out=s)


class AdamW(Adam):
    """Adam with decoupled weight decay: theta shrinks by lr * weight_decay * theta each step,
    outside the moment estimates (Loshchilov & Hutter).

    >>> from autograd_lite import tensor
    >>> w = tensor([1.0, 2.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = tensor([0.0, 0.0])
    >>> opt.step()                                  # no gradient: only the decay, 1 - lr * wd
    >>> w
    tensor([0.95, 1.9 ], requires_grad=True)
    """

    _decoupled = True

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
