"""Adagrad, following the pseudo-code of PyTorch's documentation line by line."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .optimizer import Optimizer, _always

if TYPE_CHECKING:
    from .optimizer import ParamsT


class Adagrad(Optimizer):
    """Adagrad: divides by the root of the running sum of squared gradients, so often-updated
    coordinates take ever smaller steps; ``lr_decay`` shrinks lr as lr / (1 + (t - 1) lr_decay).

    >>> from autograd_lite import tensor
    >>> w = tensor([1.0, 2.0], requires_grad=True)
    >>> opt = Adagrad([w], lr=1e-2)
    >>> w.grad = tensor([0.5, -3.0])
    >>> opt.step()                                  # the first step is lr * sign(g)
    >>> w
    tensor([0.99, 2.01], requires_grad=True)
    """

    _STATE = {"step": _always, "sum": _always}

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _check(self, group, where):
        self._check_numbers(group, where, "lr", "lr_decay", "weight_decay",
                            "initial_accumulator_value", "eps")
        self._check_flags(group, where, "maximize")

    def _update(self, p, g, state, group):
        lr, lr_decay = float(group["lr"]), float(group["lr_decay"])
        wd, eps = float(group["weight_decay"]), float(group["eps"])
        g = -g if group["maximize"] else g
        if not state:                                       # state_sum_0 = initial value
            state.update(step=0, sum=np.full_like(p, group["initial_accumulator_value"]))
        state["step"] += 1
        t = state["step"]
        if wd != 0:
            g = g + wd * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = state["sum"]
        s += g * g
        p -= clr * (g / (np.sqrt(s) + eps))
