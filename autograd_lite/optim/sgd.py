"""SGD, following the pseudo-code of PyTorch's documentation line by line."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .optimizer import Optimizer

if TYPE_CHECKING:
    from .optimizer import ParamsT


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (heavy-ball or Nesterov).

    PyTorch's form: the momentum buffer starts as the first gradient, b = mu b + (1 - tau) g,
    and the step is lr * b (or lr * (g + mu b) with Nesterov).

    >>> from autograd_lite import tensor
    >>> w = tensor([1.0, 2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    >>> w.grad = tensor([1.0, -1.0])
    >>> opt.step()                                  # w -= lr * (g + mu * b), with b_1 = g
    >>> w
    tensor([0.81, 2.19], requires_grad=True)
    """

    _STATE = {"momentum_buffer": lambda group: group["momentum"] != 0}

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check(self, group, where):
        self._check_numbers(group, where, "lr", "momentum", "weight_decay")
        self._check_numbers(group, where, "dampening", low=-math.inf)
        self._check_flags(group, where, "nesterov", "maximize")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"{type(self).__name__}: Nesterov momentum requires a momentum > 0 "
                             f"and zero dampening{where}, got momentum={group['momentum']}, "
                             f"dampening={group['dampening']}")

    def _update(self, p, g, state, group):
        lr, mu = float(group["lr"]), float(group["momentum"])
        wd, tau = float(group["weight_decay"]), float(group["dampening"])
        # maximize negates the gradient first, as PyTorch's code (and its other optimizers) do
        g = -g if group["maximize"] else g
        if wd != 0:
            g = g + wd * p
        s = self._scratch(p)  # the products below are made in s, one after the other
        if mu != 0:
            b = state.get("momentum_buffer")
            if b is None:                                   # t = 1: b_1 = g_1
                b = state["momentum_buffer"] = np.array(g)  # an array even when 0-d
            else:
                b *= mu
                b += np.multiply(g, 1 - tau, out=s)
            g = np.add(g, np.multiply(b, mu, out=s), out=s) if group["nesterov"] else b
        p -= np.multiply(g, lr, out=s)
