"""Learning-rate schedulers, as torch.optim.lr_scheduler: each ``step()`` sets every group's lr."""

from __future__ import annotations

import math
import numbers

from .optimizer import Optimizer, _from_plain, _plain


def _check_optimizer(scheduler, optimizer) -> None:
    """Refuse anything but an Optimizer, naming the scheduler's class."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(scheduler).__name__}: expected an Optimizer, got "
                        f"{type(optimizer).__name__}")


class LRScheduler:
    """Base of the schedulers: ``step()`` advances ``last_epoch`` by one and sets each group's
    lr to ``get_lr()``. Creating one performs epoch 0 (the optimizer's lr).
    """

    def __init__(self, optimizer: Optimizer):
        _check_optimizer(self, optimizer)
        self.optimizer = optimizer
        self.base_lrs = [float(group["lr"]) for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def get_lr(self) -> list[float]:
        """The learning rate of each group for epoch ``last_epoch``."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and set each parameter group's learning rate."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [float(group["lr"]) for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group, as set by the last ``step()``."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer, as plain data (PyTorch's layout)."""
        return {k: _plain(v) for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore from ``state_dict()``; the keys and the number of groups must match."""
        name = f"{type(self).__name__}.load_state_dict"
        mine = self.state_dict()
        if not isinstance(state_dict, dict) or set(state_dict) != set(mine):
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict)
            raise ValueError(f"{name}: expected keys {sorted(mine)}, got {got} (is it from "
                             "another scheduler?)")
        for key, value in mine.items():
            if isinstance(value, list) and len(state_dict[key]) != len(value):
                raise ValueError(f"{name}: '{key}' has {len(state_dict[key])} entries, one per "
                                 f"parameter group; this optimizer has {len(value)} groups")
        self.__dict__.update({k: _from_plain(_plain(v), None) for k, v in state_dict.items()})


class StepLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every ``step_size`` epochs.

    >>> from autograd_lite import optim, tensor
    >>> opt = optim.SGD([tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)    # lr 1.0 for epochs 0-1, 0.5 for 2-3 ...
    >>> for epoch in range(4): sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if isinstance(step_size, bool) or not isinstance(step_size, numbers.Integral) \
                or step_size < 1:
            raise ValueError(f"{type(self).__name__}: step_size must be a positive integer, "
                             f"got {step_size!r}")
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer)

    def get_lr(self):
        # chainable, as PyTorch: decays the current lr, so changes made by others are kept
        decay = self.last_epoch > 0 and self.last_epoch % self.step_size == 0
        return [g["lr"] * self.gamma if decay else g["lr"] for g in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every epoch.

    >>> from autograd_lite import optim, tensor
    >>> opt = optim.SGD([tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = ExponentialLR(opt, gamma=0.5)
    >>> for epoch in range(3): sched.step()
    >>> sched.get_last_lr()
    [0.125]
    """

    def __init__(self, optimizer: Optimizer, gamma: float):
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def get_lr(self):
        decay = self.last_epoch > 0
        return [g["lr"] * self.gamma if decay else g["lr"] for g in self.optimizer.param_groups]


class CosineAnnealingLR(LRScheduler):
    """Anneal lr from its initial value to ``eta_min`` along half a cosine over ``T_max`` epochs:
    eta_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2 (the closed form).

    >>> from autograd_lite import optim, tensor
    >>> opt = optim.SGD([tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = CosineAnnealingLR(opt, T_max=4)
    >>> for epoch in range(2): sched.step()
    >>> sched.get_last_lr()                            # half way: half the initial lr
    [0.5]
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0):
        if isinstance(T_max, bool) or not isinstance(T_max, numbers.Real) or T_max <= 0:
            raise ValueError(f"{type(self).__name__}: T_max must be a number > 0, got {T_max!r}")
        self.T_max, self.eta_min = T_max, float(eta_min)
        super().__init__(optimizer)

    def get_lr(self):
        cos = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cos for base in self.base_lrs]


class ReduceLROnPlateau(LRScheduler):
    """Multiply lr by ``factor`` once a metric has not improved for more than ``patience`` steps.

    An improvement beats the best value so far by more than ``threshold`` (relative, or absolute
    with ``threshold_mode='abs'``); after a reduction, ``cooldown`` steps pass before bad steps
    count again; lr never goes below ``min_lr`` (a number, or one per group), and a reduction
    smaller than ``eps`` is skipped.

    >>> from autograd_lite import optim, tensor
    >>> opt = optim.SGD([tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = ReduceLROnPlateau(opt, mode="min", patience=1)
    >>> for val_loss in [0.5, 0.6, 0.7]: sched.step(val_loss)    # two epochs without progress
    >>> sched.get_last_lr()
    [0.1]
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr=0, eps: float = 1e-8):
        # as PyTorch, not LRScheduler.__init__: that takes a step, and this one needs a metric
        name = type(self).__name__
        _check_optimizer(self, optimizer)
        if not (isinstance(factor, numbers.Real) and 0 <= factor < 1.0):
            raise ValueError(f"{name}: factor should be < 1.0 (and >= 0), got {factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode {mode!r} is unknown; use 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode {threshold_mode!r} is unknown; use 'rel' "
                             "or 'abs'")
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"{name}: expected {n} min_lr values, one per parameter group, "
                                 f"got {len(min_lr)}")
            self.min_lrs = [float(v) for v in min_lr]
        else:
            self.min_lrs = [float(min_lr)] * n
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, float(factor), int(patience)
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown, self.eps = int(cooldown), float(eps)
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.best = self.mode_worse
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [float(group["lr"]) for group in optimizer.param_groups]

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min":
            edge = best * (1 - self.threshold) if self.threshold_mode == "rel" \
                else best - self.threshold
            return a < edge
        edge = best * (1 + self.threshold) if self.threshold_mode == "rel" \
            else best + self.threshold
        return a > edge

    def step(self, metrics) -> None:
        """Record this epoch's metric (a number or a one-element Tensor) and reduce if due."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [float(group["lr"]) for group in self.optimizer.param_groups]
