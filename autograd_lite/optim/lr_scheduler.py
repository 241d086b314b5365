"""Learning-rate schedulers, as torch.optim.lr_scheduler: each ``step()`` sets every group's lr."""

from __future__ import annotations

import bisect
import math
import numbers
import types
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from .._tensor import Tensor
from .optimizer import Optimizer, _from_plain, _plain

# Each group's lr when the first scheduler was attached to its optimizer. PyTorch keeps it in the
# group as 'initial_lr'; our Optimizer refuses options it does not know (and would carry this
# one into its state_dict), so it lives here, one list per optimizer, dropped with it.
_INITIAL_LRS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _initial_lrs(optimizer: Optimizer) -> list[float]:
    """PyTorch's ``group['initial_lr']`` of every group, recorded on first use (setdefault)."""
    lrs = _INITIAL_LRS.setdefault(optimizer, [])
    lrs += [float(group["lr"]) for group in optimizer.param_groups[len(lrs):]]
    return lrs


def _check_optimizer(scheduler, optimizer) -> None:
    """Refuse anything but an Optimizer, naming the scheduler's class."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(scheduler).__name__}: expected an Optimizer, got "
                        f"{type(optimizer).__name__}")


def _check_int(scheduler, name: str, value, low: int = 1) -> int:
    """``value`` as an int >= ``low``, or a ValueError naming the scheduler's class."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        what = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{type(scheduler).__name__}: {name} must be {what}, got {value!r}")
    return int(value)


def _per_group(scheduler, optimizer, name: str, value) -> list:
    """One value for each parameter group: ``value`` repeated, or a list/tuple of one per group."""
    n = len(optimizer.param_groups)
    if not isinstance(value, (list, tuple)):
        return [value] * n
    if len(value) != n:
        raise ValueError(f"{type(scheduler).__name__}: expected {n} {name} values, one per "
                         f"parameter group, got {len(value)}")
    return list(value)


class LRScheduler:
    """Base of the schedulers: ``step()`` advances ``last_epoch`` by one and sets each group's
    lr to ``get_lr()``. Creating one performs epoch 0. ``base_lrs`` are the groups' lrs when
    the first scheduler was attached to the optimizer (PyTorch's ``initial_lr``), so a second
    scheduler created after a warm-up one starts from the same lrs as the first.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        _check_optimizer(self, optimizer)
        self.optimizer = optimizer
        self.base_lrs = list(_initial_lrs(optimizer))
        self.last_epoch = -1
        self.step()

    def get_lr(self) -> list[float]:
        """The learning rate of each group for epoch ``last_epoch``."""
        raise NotImplementedError

    def _closed_form(self) -> list[float]:
        """The lr of each group at ``last_epoch`` from ``base_lrs`` alone, ignoring changes made
        by others (``get_lr`` of the chainable schedulers starts from the current lr instead)."""
        return self.get_lr()

    def step(self) -> None:
        """Advance one epoch and set each parameter group's learning rate."""
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _restart(self) -> None:
        """Jump to epoch 0 by the closed form: PyTorch's ``step(0)``, which SequentialLR takes
        when a scheduler's turn comes."""
        self.last_epoch = 0
        self._set_lrs(self._closed_form())

    def _set_lrs(self, lrs: list[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs):
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

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size, self.gamma = _check_int(self, "step_size", step_size), float(gamma)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        # chainable, as PyTorch: decays the current lr, so changes made by others are kept
        decay = self.last_epoch > 0 and self.last_epoch % self.step_size == 0
        return [g["lr"] * self.gamma if decay else g["lr"] for g in self.optimizer.param_groups]

    def _closed_form(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every epoch.

    >>> from autograd_lite import optim, tensor
    >>> opt = optim.SGD([tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = ExponentialLR(opt, gamma=0.5)
    >>> for epoch in range(3): sched.step()
    >>> sched.get_last_lr()
    [0.125]
    """

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        decay = self.last_epoch > 0
        return [g["lr"] * self.gamma if decay else g["lr"] for g in self.optimizer.param_groups]

    def _closed_form(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


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

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0) -> None:
        # (int spelled out for type checkers, to which an int is not a numbers.Real: mypy#3186)
        if isinstance(T_max, bool) or not isinstance(T_max, (int, numbers.Real)) or T_max <= 0:
            raise ValueError(f"{type(self).__name__}: T_max must be a number > 0, got {T_max!r}")
        self.T_max, self.eta_min = T_max, float(eta_min)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
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
                 cooldown: int = 0, min_lr: float | list[float] = 0, eps: float = 1e-8) -> None:
        # as PyTorch, not LRScheduler.__init__: that takes a step, and this one needs a metric
        name = type(self).__name__
        _check_optimizer(self, optimizer)
        # (float, int spelled out for type checkers, to which they are not numbers.Real: mypy#3186)
        if not (isinstance(factor, (float, int, numbers.Real)) and 0 <= factor < 1.0):
            raise ValueError(f"{name}: factor should be < 1.0 (and >= 0), got {factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode {mode!r} is unknown; use 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode {threshold_mode!r} is unknown; use 'rel' "
                             "or 'abs'")
        self.min_lrs = [float(v) for v in _per_group(self, optimizer, "min_lr", min_lr)]
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

    def step(self, metrics: float | Tensor) -> None:  # type: ignore[override]  # as PyTorch's
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


class LambdaLR(LRScheduler):
    """Set each group's lr to its initial lr times ``lr_lambda(epoch)``.

    ``lr_lambda`` is one function of the epoch, or a list with one per parameter group. In
    ``state_dict()`` a plain function is saved as None and a callable object as its attributes,
    as PyTorch does.

    >>> from autograd_lite import optim, tensor
    >>> opt = optim.SGD([tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = LambdaLR(opt, lambda epoch: 0.5**epoch)
    >>> for epoch in range(3): sched.step()
    >>> sched.get_last_lr()
    [0.125]
    """

    def __init__(self, optimizer: Optimizer,
                 lr_lambda: Callable[[int], float] | list[Callable[[int], float]]) -> None:
        _check_optimizer(self, optimizer)
        self.lr_lambdas = _per_group(self, optimizer, "lr_lambda", lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"{type(self).__name__}: lr_lambda must be a function of the "
                                f"epoch (or a list of them), got {type(fn).__name__} {fn!r}")
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for base, fn in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self) -> dict:
        """As the base's, with each lambda as None (a function) or its attributes (an object)."""
        state = super().state_dict()
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(vars(fn))
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """As the base's; the lambdas stay, callable objects get their saved attributes back."""
        lambdas = self.lr_lambdas
        super().load_state_dict(state_dict)
        saved, self.lr_lambdas = self.lr_lambdas, lambdas
        for fn, attributes in zip(lambdas, saved):
            if attributes is not None:
                vars(fn).update(attributes)


def _milestones(scheduler, values) -> list[int]:
    """Milestone epochs as a list of ints, or a ValueError naming the scheduler's class."""
    values = list(values)
    for m in values:
        _check_int(scheduler, "every milestone", m, low=0)
    return [int(m) for m in values]


class MultiStepLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` at each epoch in ``milestones`` (a milestone listed
    twice multiplies twice).

    >>> from autograd_lite import optim, tensor
    >>> opt = optim.SGD([tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = MultiStepLR(opt, milestones=[1, 3], gamma=0.5)   # lrs 1, 0.5, 0.5, 0.25, ...
    >>> for epoch in range(3): sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int],
                 gamma: float = 0.1) -> None:
        self.milestones = sorted(_milestones(self, milestones))
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        factor = self.gamma ** self.milestones.count(self.last_epoch)
        return [g["lr"] * factor for g in self.optimizer.param_groups]

    def _closed_form(self) -> list[float]:
        passed = bisect.bisect_right(self.milestones, self.last_epoch)
        return [base * self.gamma**passed for base in self.base_lrs]


class LinearLR(LRScheduler):
    """Scale each group's lr by a factor going linearly from ``start_factor`` to ``end_factor``
    over ``total_iters`` epochs, then keep it: a warm-up.

    >>> from autograd_lite import optim, tensor
    >>> opt = optim.SGD([tensor([0.0], requires_grad=True)], lr=1.0)
    >>> sched = LinearLR(opt, start_factor=0.25, total_iters=3)   # lrs 0.25, 0.5, 0.75, 1, 1, ...
    >>> for epoch in range(2): sched.step()
    >>> sched.get_last_lr()
    [0.75]
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        name = type(self).__name__
        # (float, int spelled out for type checkers, to which they are not numbers.Real: mypy#3186)
        if not (isinstance(start_factor, (float, int, numbers.Real)) and 0 < start_factor <= 1):
            raise ValueError(f"{name}: Starting multiplicative factor expected to be greater "
                             f"than 0 and less or equal to 1, got {start_factor!r}")
        if not (isinstance(end_factor, (float, int, numbers.Real)) and 0 <= end_factor <= 1):
            raise ValueError(f"{name}: Ending multiplicative factor expected to be between 0 "
                             f"and 1, got {end_factor!r}")
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = _check_int(self, "total_iters", total_iters)
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        # chainable, as PyTorch: the ratio of this epoch's factor to the last one's
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [g["lr"] * self.start_factor for g in groups]
        if self.last_epoch > self.total_iters:
            return [g["lr"] for g in groups]
        slope = self.end_factor - self.start_factor
        ratio = 1.0 + slope / (self.total_iters * self.start_factor + (self.last_epoch - 1) * slope)
        return [g["lr"] * ratio for g in groups]

    def _closed_form(self) -> list[float]:
        done = min(self.total_iters, self.last_epoch) / self.total_iters
        factor = self.start_factor + (self.end_factor - self.start_factor) * done
        return [base * factor for base in self.base_lrs]


class OneCycleLR(LRScheduler):
    """The 1cycle policy, stepped after every batch: lr rises from ``max_lr / div_factor`` to
    ``max_lr`` over the first ``pct_start`` of ``total_steps``, then anneals to
    ``max_lr / div_factor / final_div_factor``; with ``three_phase`` it first comes back down
    symmetrically, then anneals. ``anneal_strategy`` is 'cos' or 'linear'.

    With ``cycle_momentum`` the momentum (SGD's and RMSprop's ``momentum``, Adam's beta1) moves
    the other way, from ``max_momentum`` down to ``base_momentum`` and back, as in PyTorch (which
    also turns momentum on for an SGD created without it). ``total_steps`` may be given as
    ``epochs`` and ``steps_per_epoch``; stepping past it is a ValueError.

    >>> from autograd_lite import optim, tensor
    >>> opt = optim.SGD([tensor([0.0], requires_grad=True)], lr=0.1, momentum=0.9)
    >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=5, pct_start=0.4,
    ...                    anneal_strategy="linear", div_factor=4.0, final_div_factor=2.5)
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for step in range(4): opt.step(); sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> [round(lr, 6) for lr in lrs]            # up to max_lr at step 1, down to 1/4/2.5
    [0.25, 1.0, 0.7, 0.4, 0.1]
    >>> round(opt.param_groups[0]["momentum"], 6)     # momentum went down to 0.85 and back
    0.95
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float],
                 total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum: float | list[float] = 0.85,
                 max_momentum: float | list[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False) -> None:
        name = type(self).__name__
        _check_optimizer(self, optimizer)
        if total_steps is not None:
            self.total_steps = _check_int(self, "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_check_int(self, "epochs", epochs)
                                * _check_int(self, "steps_per_epoch", steps_per_epoch))
        else:
            raise ValueError(f"{name}: You must define either total_steps OR (epochs AND "
                             "steps_per_epoch)")
        if not (isinstance(pct_start, float) and 0 <= pct_start <= 1):
            raise ValueError(f"{name}: Expected float between 0 and 1 pct_start, but got "
                             f"{pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be one of 'cos' or 'linear', "
                             f"instead got {anneal_strategy!r}")
        self.pct_start, self.anneal_strategy = pct_start, anneal_strategy
        self.three_phase, self.cycle_momentum = bool(three_phase), bool(cycle_momentum)
        self.max_lrs = [float(v) for v in _per_group(self, optimizer, "max_lr", max_lr)]
        self.initial_lrs = [lr / div_factor for lr in self.max_lrs]
        self.min_lrs = [lr / final_div_factor for lr in self.initial_lrs]
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{name}: optimizer must support momentum or beta1 with "
                                 f"`cycle_momentum` option enabled ({type(optimizer).__name__} "
                                 "has neither); pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            self.max_momentums = [float(m) for m in
                                  _per_group(self, optimizer, "max_momentum", max_momentum)]
            self.base_momentums = [float(m) for m in
                                   _per_group(self, optimizer, "base_momentum", base_momentum)]
            self._set_momentums(self.max_momentums, optimizer)
        _INITIAL_LRS[optimizer] = list(self.initial_lrs)  # PyTorch overwrites 'initial_lr' too
        super().__init__(optimizer)

    def _phases(self) -> list[tuple]:
        """(last step, start lr, end lr, start momentum, end momentum) of each phase, as
        PyTorch lays them out; the values name this scheduler's per-group lists."""
        up = float(self.pct_start * self.total_steps) - 1
        last = self.total_steps - 1
        if self.three_phase:
            down = float(2 * self.pct_start * self.total_steps) - 2
            return [(up, "initial_lrs", "max_lrs", "max_momentums", "base_momentums"),
                    (down, "max_lrs", "initial_lrs", "base_momentums", "max_momentums"),
                    (last, "initial_lrs", "min_lrs", "max_momentums", "max_momentums")]
        return [(up, "initial_lrs", "max_lrs", "max_momentums", "base_momentums"),
                (last, "max_lrs", "min_lrs", "base_momentums", "max_momentums")]

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _set_momentums(self, momentums, optimizer) -> None:
        for group, m in zip(optimizer.param_groups, momentums):
            if self.use_beta1:
                group["betas"] = (m, *group["betas"][1:])
            else:
                group["momentum"] = m

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"{type(self).__name__}: Tried to step {step} times. The specified "
                             f"number of total steps is {self.total_steps}")
        phases, start_step = self._phases(), 0.0
        for phase in phases:  # the first phase not yet over, else the last one
            if step <= phase[0] or phase is phases[-1]:
                break
            start_step = phase[0]
        end_step, lr_from, lr_to, m_from, m_to = phase
        pct = (step - start_step) / (end_step - start_step)
        if self.cycle_momentum:
            self._set_momentums([self._anneal(a, b, pct) for a, b in
                                 zip(getattr(self, m_from), getattr(self, m_to))], self.optimizer)
        return [self._anneal(a, b, pct)
                for a, b in zip(getattr(self, lr_from), getattr(self, lr_to))]


def _undo_initial_step(scheduler) -> None:
    """Take back the step a scheduler made when it was created (in a nested SequentialLR, the
    steps of the schedulers it holds), as PyTorch's ``SequentialLR.recursive_undo``."""
    if isinstance(scheduler, SequentialLR):
        for inner in scheduler._schedulers:
            _undo_initial_step(inner)
    else:
        scheduler.last_epoch -= 1


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another: the i-th takes over at epoch ``milestones[i - 1]``,
    starting from its own epoch 0 (its closed form from the initial lrs).

    >>> from autograd_lite import optim, tensor
    >>> opt = optim.SGD([tensor([0.0], requires_grad=True)], lr=1.0)
    >>> warmup = LinearLR(opt, start_factor=0.5, total_iters=2)     # 0.5, 0.75
    >>> decay = ExponentialLR(opt, gamma=0.5)                        # then 1, 0.5, 0.25, ...
    >>> sched = SequentialLR(opt, [warmup, decay], milestones=[2])
    >>> lrs = [sched.get_last_lr()[0]]
    >>> for epoch in range(4): sched.step(); lrs.append(sched.get_last_lr()[0])
    >>> lrs
    [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, schedulers: Iterable[LRScheduler],
                 milestones: Iterable[int]) -> None:
        # as PyTorch, not LRScheduler.__init__: it resets the lrs and steps the first scheduler
        name = type(self).__name__
        _check_optimizer(self, optimizer)
        schedulers, milestones = list(schedulers), _milestones(self, milestones)
        if not schedulers:
            raise ValueError(f"{name} expects at least one scheduler, but got no scheduler.")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler):
                raise TypeError(f"{name}: scheduler {i} is a {type(s).__name__}, not an "
                                "LRScheduler")
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"{name} does not support `ReduceLROnPlateau` scheduler as it "
                                 "requires additional kwargs to be specified when calling `step`,"
                                 f" but got one at index {i} in the given schedulers sequence.")
            if s.optimizer is not optimizer:
                raise ValueError(f"{name} expects all schedulers to belong to the same "
                                 f"optimizer, but scheduler {i} ({type(s).__name__}) has "
                                 "another one")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{name}: expects number of schedulers provided to be one more than "
                             f"the number of milestone points, but got {len(schedulers)} "
                             f"schedulers and {len(milestones)} milestones")
        if milestones != sorted(milestones):
            raise ValueError(f"{name}: milestones must be increasing, got {milestones}")
        self._schedulers, self._milestones = schedulers, milestones
        self.last_epoch = 0
        self.optimizer = optimizer
        for group, lr in zip(optimizer.param_groups, _initial_lrs(optimizer)):
            group["lr"] = lr
        _undo_initial_step(self)
        schedulers[0].step()
        self._last_lr = schedulers[0].get_last_lr()

    def step(self) -> None:
        """Advance one epoch: step the scheduler whose turn it is (restart it at its milestone)."""
        self.last_epoch += 1
        i = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            scheduler._restart()
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict:
        """As the base's, with each scheduler as its own state_dict, as PyTorch."""
        state = super().state_dict()
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """As the base's, loading each scheduler's state into the scheduler it holds."""
        schedulers = self._schedulers
        super().load_state_dict(state_dict)
        saved: list[Any] = self._schedulers  # by now the schedulers' state dicts, just loaded
        self._schedulers = schedulers
        for scheduler, state in zip(schedulers, saved):
            scheduler.load_state_dict(state)
