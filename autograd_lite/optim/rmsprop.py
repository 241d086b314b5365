"""RMSprop, following the pseudo-code of PyTorch's documentation line by line."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .optimizer import Optimizer, _always

if TYPE_CHECKING:
    from .optimizer import ParamsT


class RMSprop(Optimizer):
    """RMSprop: divides the gradient by a running root-mean-square of recent gradients.

    ``centered`` subtracts the square of the running mean gradient (a variance estimate);
    ``momentum`` accumulates the normalised steps.

    >>> from autograd_lite import tensor
    >>> w = tensor([1.0, 2.0], requires_grad=True)
    >>> opt = RMSprop([w], lr=1e-2, alpha=0.99)
    >>> w.grad = tensor([0.5, -3.0])
    >>> opt.step()                        # the first step is lr * sign(g) / sqrt(1 - alpha)
    >>> w
    tensor([0.9, 2.1], requires_grad=True)
    """

    _STATE = {"step": _always, "square_avg": _always,
              "momentum_buffer": lambda group: group["momentum"] > 0,
              "grad_avg": lambda group: group["centered"]}

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _check(self, group, where):
        self._check_numbers(group, where, "lr", "alpha", "eps", "weight_decay", "momentum")
        self._check_flags(group, where, "centered", "maximize")

    def _update(self, p, g, state, group):
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        wd, mu = float(group["weight_decay"]), float(group["momentum"])
        g = -g if group["maximize"] else g
        if wd != 0:
            g = g + wd * p
        if not state:
            state.update(step=0, square_avg=np.zeros_like(p))
        state["step"] += 1
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * (g * g)
        if group["centered"]:
            g_ave = state.setdefault("grad_avg", np.zeros_like(p))
            g_ave *= alpha
            g_ave += (1 - alpha) * g
            denom = np.sqrt(v - g_ave * g_ave) + eps        # sqrt(v~_t) + eps, v~ = v - g_ave^2
        else:
            denom = np.sqrt(v) + eps
        if mu > 0:
            b = state.setdefault("momentum_buffer", np.zeros_like(p))
            b *= mu
            b += g / denom
            p -= lr * b
        else:
            p -= lr * (g / denom)
