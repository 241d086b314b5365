"""Optimizers, learning-rate schedulers and gradient clipping, with PyTorch's names and rules.

An optimizer holds ``param_groups`` (dicts: the parameters and their options, such as ``lr``)
and ``state`` (per parameter: momentum buffers, moment estimates, step counts). ``step()`` reads
each parameter's ``.grad`` and updates ``p.data`` in place with plain numpy: no graph is ever
recorded, the dtype is kept (float32 stays float32), and the parameter's version counter is
bumped so a graph that saved the old value refuses to backward through it, as in PyTorch.
Each ``_update`` follows the pseudo-code of PyTorch's documentation line by line.

>>> opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .engine import enable_grad, version_counter
from .tensor import Tensor

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
    "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau",
    "clip_grad_norm_", "clip_grad_value_",
]


# ---------------------------------------------------------------------------------------------
# Optimizer: parameter groups, state, zero_grad, state_dict


class Optimizer:
    """Base class: parameter groups with their options, per-parameter state, (de)serialisation.

    ``params`` is an iterable of Tensors, or of dicts (parameter groups) such as
    ``{'params': [w], 'lr': 0.01}``; options a group leaves out come from ``defaults``.
    A subclass defines ``_check`` (validate a group's options), ``_update`` (one parameter's
    step) and ``_STATE_KEYS`` / ``_required_state`` (what its per-parameter state holds).
    """

    _STATE_KEYS: frozenset = frozenset()

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self._check(self.defaults, "")
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, got a "
                            "single Tensor; wrap it in a list: [t]")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: params must be an ordered iterable (list, tuple, "
                            "generator), not a set: the order of the state_dict depends on it")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, got "
                            f"{type(params).__name__}") from None
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        kinds = {isinstance(p, dict) for p in params}
        if kinds == {True, False}:
            raise TypeError(f"{name}: params mixes Tensors and dicts; give either Tensors or "
                            "parameter groups (dicts), not both")
        for group in params if kinds == {True} else [{"params": params}]:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (e.g. to fine-tune a new layer)."""
        name, i = type(self).__name__, len(self.param_groups)
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a parameter group must be a dict, got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: parameter group {i} has no 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameter group {i}: 'params' must be ordered, not a set")
        else:
            params = list(params)
        unknown = sorted(set(param_group) - set(self.defaults) - {"params"})
        if unknown:
            raise ValueError(f"{name}: parameter group {i} has unknown option(s) {unknown}; "
                             f"{name} accepts {sorted(self.defaults)}")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        for j, p in enumerate(params):
            where = f"{name}: parameter {j} of group {i}"
            if not isinstance(p, Tensor):
                hint = (" (pass model.parameters(), not named_parameters())"
                        if isinstance(p, tuple) else "")
                raise TypeError(f"{where} is a {type(p).__name__}, not a Tensor{hint}")
            if not p.requires_grad:
                raise ValueError(f"{where} (shape {p.shape}) does not require grad, so it "
                                 "would never be updated; create it with requires_grad=True")
            if not p.is_leaf:
                raise ValueError(f"{where} (shape {p.shape}) is not a leaf tensor (it was "
                                 "computed by an op); optimize the leaves it came from")
            if not p.data.flags.writeable:
                raise ValueError(f"{where} (shape {p.shape}) has read-only memory and cannot "
                                 "be updated in place")
            if id(p) in seen:
                raise ValueError(f"{where} (shape {p.shape}) appears more than once; each "
                                 "parameter may be in one group, once")
            seen.add(id(p))
        group = {"params": params}
        for key, default in self.defaults.items():
            group[key] = param_group.get(key, default)
        self._check(group, f" in parameter group {i}")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to None (the default, as PyTorch) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    _set_grad(p, 0)

    def step(self, closure=None):
        """Update every parameter that has a ``.grad`` (those with None are skipped).

        ``closure``, if given, re-evaluates the model and returns the loss, which ``step``
        returns; it runs with gradients enabled.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.get(p, {})
                self._update(p.data, p.grad.data, state, group)
                if state:
                    self.state[p] = state
                version_counter(p).value += 1  # graphs that saved the old value now refuse it
        return loss

    def _update(self, p, g, state, group):
        raise NotImplementedError

    def _check(self, group, where):
        pass

    def _required_state(self, group) -> set:
        """The state keys a parameter that has taken a step must have, under ``group``."""
        return set()

    # --- serialisation -------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """The optimizer's state as plain data (copies): PyTorch's layout, checkpoint-ready.

        ``{'state': {index: {name: array or number}}, 'param_groups': [{options...,
        'params': [index, ...]}]}``, where parameters are numbered in group order.
        """
        index, groups = {}, []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index[id(p)] = len(index)
                ids.append(index[id(p)])
            options = {k: _plain(v) for k, v in group.items() if k != "params"}
            groups.append({**options, "params": ids})
        state = sorted((index[id(p)], {k: _plain(v) for k, v in s.items()})
                       for p, s in self.state.items() if id(p) in index)
        return {"state": dict(state), "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and state from ``state_dict()`` (values are copied in).

        The groups must match this optimizer's in number and size, and state arrays the shapes
        of the parameters; anything else is a ValueError naming what differs, raised before
        anything changes. The restored optimizer continues exactly as the saved one would.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict)
            raise ValueError(f"{name}: expected a dict with keys 'state' and 'param_groups', "
                             f"got {keys}")
        saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)) or not isinstance(saved_state, dict):
            raise ValueError(f"{name}: 'param_groups' must be a list and 'state' a dict")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: the state_dict has {len(saved_groups)} parameter "
                             f"group(s), this optimizer has {len(self.param_groups)}")
        new_groups, owner = [], {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if not isinstance(saved, dict) or "params" not in saved:
                raise ValueError(f"{name}: parameter group {i} of the state_dict is not a dict "
                                 "with a 'params' entry")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}: parameter group {i} has {len(saved['params'])} "
                                 f"parameter(s) in the state_dict but {len(group['params'])} "
                                 "in this optimizer")
            options = {k: v for k, v in saved.items() if k != "params"}
            missing = sorted(set(self.defaults) - set(options))
            unexpected = sorted(set(options) - set(self.defaults))
            if missing or unexpected:
                raise ValueError(f"{name}: parameter group {i} of the state_dict lacks options "
                                 f"{missing} and has unexpected options {unexpected} (is it "
                                 f"from another optimizer than {type(self).__name__}?)")
            new = {"params": group["params"]}
            for key, default in self.defaults.items():
                new[key] = _from_plain(options[key], default)
            self._check(new, f" in parameter group {i} of the state_dict")
            new_groups.append(new)
            for saved_id, p in zip(saved["params"], group["params"]):
                owner[_index(saved_id, name)] = (p, new)
        new_state = {}
        for key, saved in saved_state.items():
            idx = _index(key, name)
            if idx not in owner:
                raise ValueError(f"{name}: the state_dict has state for parameter {key!r}, "
                                 "which none of its parameter groups lists")
            p, group = owner[idx]
            if not isinstance(saved, dict):
                raise ValueError(f"{name}: the state of parameter {idx} is a "
                                 f"{type(saved).__name__}, not a dict")
            unknown = sorted(set(saved) - self._STATE_KEYS)
            missing = sorted(self._required_state(group) - set(saved))
            if unknown or missing:
                raise ValueError(f"{name}: the state of parameter {idx} lacks {missing} and has "
                                 f"unknown entries {unknown}")
            new_state[p] = {k: _state_value(v, k, p, idx, name) for k, v in saved.items()}
        for group, new in zip(self.param_groups, new_groups):
            group.clear()
            group.update(new)
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])


def _plain(value):
    """A state_dict value as checkpoint-ready plain data: arrays copied, tuples as lists."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _from_plain(value, default):
    """A loaded option back in its Python form (betas as a tuple, numpy scalars as numbers)."""
    if isinstance(value, np.ndarray) and value.ndim == 0 or isinstance(value, np.generic):
        value = value.item()
    if isinstance(default, tuple) and isinstance(value, (list, tuple, np.ndarray)):
        value = tuple(_from_plain(v, None) for v in value)
    return value


def _index(key, name):
    """A parameter index from a state_dict (an int, or a str of digits from a text format)."""
    if isinstance(key, (numbers.Integral, np.integer)) and not isinstance(key, bool):
        return int(key)
    if isinstance(key, str) and key.isdigit():
        return int(key)
    raise ValueError(f"{name}: parameter indices must be integers, got {key!r}")


def _state_value(value, key, p, idx, name):
    """A loaded per-parameter state entry: 'step' as an int, arrays copied in p's shape/dtype."""
    if key == "step":
        step = _from_plain(value, None)
        if not isinstance(step, numbers.Real) or step != int(step) or step < 0:
            raise ValueError(f"{name}: 'step' of parameter {idx} must be a whole number >= 0, "
                             f"got {value!r}")
        return int(step)
    arr = np.asarray(value)
    if arr.shape != p.shape:
        raise ValueError(f"{name}: state '{key}' of parameter {idx} has shape {arr.shape}, but "
                         f"the parameter has shape {p.shape}")
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name}: state '{key}' of parameter {idx} has dtype {arr.dtype}, "
                         "not a number")
    return np.array(arr, dtype=p.dtype)


def _check_number(name, group, key, where, low=0.0):
    """Refuse a hyperparameter below ``low`` (or not a number) with PyTorch's message."""
    value = group[key]
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and value >= low):
        bound = f" >= {low}" if low > -math.inf else ""
        what = {"lr": "learning rate", "eps": "epsilon value"}.get(key, f"{key} value")
        raise ValueError(f"{name}: Invalid {what}: {value!r}{where} (must be a number{bound})")


def _check_flags(name, group, where, *keys):
    for key in keys:
        if not isinstance(group[key], (bool, np.bool_)):
            raise TypeError(f"{name}: {key} must be True or False{where}, got {group[key]!r}")


# ---------------------------------------------------------------------------------------------
# The optimizers. ``_update(p, g, state, group)`` works on numpy arrays: ``p`` is the
# parameter's data (updated in place), ``g`` its gradient (never modified).


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (heavy-ball or Nesterov).

    PyTorch's form: the momentum buffer starts as the first gradient, b = mu b + (1 - tau) g,
    and the step is lr * b (or lr * (g + mu b) with Nesterov).

    >>> opt = SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    """

    _STATE_KEYS = frozenset({"momentum_buffer"})

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check(self, group, where):
        for key in ("lr", "momentum", "weight_decay"):
            _check_number("SGD", group, key, where)
        _check_number("SGD", group, "dampening", where, low=-math.inf)
        _check_flags("SGD", group, where, "nesterov", "maximize")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum > 0 and zero "
                             f"dampening{where}, got momentum={group['momentum']}, "
                             f"dampening={group['dampening']}")

    def _required_state(self, group):
        return {"momentum_buffer"} if group["momentum"] != 0 else set()

    def _update(self, p, g, state, group):
        lr, mu = float(group["lr"]), float(group["momentum"])
        wd, tau = float(group["weight_decay"]), float(group["dampening"])
        # maximize negates the gradient first, as PyTorch's code (and its other optimizers) do
        g = -g if group["maximize"] else g
        if wd != 0:
            g = g + wd * p
        if mu != 0:
            b = state.get("momentum_buffer")
            if b is None:                                   # t = 1: b_1 = g_1
                b = state["momentum_buffer"] = np.array(g)  # an array even when 0-d
            else:
                b *= mu
                b += (1 - tau) * g
            g = g + mu * b if group["nesterov"] else b
        p -= lr * g


class Adam(Optimizer):
    """Adam: steps by bias-corrected first and second moment estimates of the gradient.

    ``weight_decay`` adds an L2 term to the gradient (use AdamW for decoupled decay);
    ``amsgrad`` divides by the running maximum of the second moment.

    >>> opt = Adam([w], lr=1e-3, betas=(0.9, 0.999))
    """

    _STATE_KEYS = frozenset({"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"})
    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def _check(self, group, where):
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            _check_number(name, group, key, where)
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2){where}, got "
                             f"{betas!r}")
        for i, beta in enumerate(betas):
            if not (isinstance(beta, numbers.Real) and 0.0 <= beta < 1.0):
                raise ValueError(f"{name}: Invalid beta parameter at index {i}: {beta!r}{where} "
                                 "(must be in [0, 1))")
        _check_flags(name, group, where, "amsgrad", "maximize")

    def _required_state(self, group):
        return {"step", "exp_avg", "exp_avg_sq"} | ({"max_exp_avg_sq"} if group["amsgrad"]
                                                     else set())

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
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        if group["amsgrad"]:
            v_max = state.setdefault("max_exp_avg_sq", np.zeros_like(p))
            np.maximum(v_max, v, out=v_max)                 # v_max_t = max(v_max_{t-1}, v_t)
            v = v_max
        # theta -= lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - beta1^t), etc.
        denom = np.sqrt(v) / math.sqrt(1 - beta2 ** t) + eps
        p -= (lr / (1 - beta1 ** t)) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: theta shrinks by lr * weight_decay * theta each step,
    outside the moment estimates (Loshchilov & Hutter).

    >>> opt = AdamW([w], lr=1e-3, weight_decay=1e-2)
    """

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


class RMSprop(Optimizer):
    """RMSprop: divides the gradient by a running root-mean-square of recent gradients.

    ``centered`` subtracts the square of the running mean gradient (a variance estimate);
    ``momentum`` accumulates the normalised steps.

    >>> opt = RMSprop([w], lr=1e-2, alpha=0.99)
    """

    _STATE_KEYS = frozenset({"step", "square_avg", "momentum_buffer", "grad_avg"})

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _check(self, group, where):
        for key in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            _check_number("RMSprop", group, key, where)
        _check_flags("RMSprop", group, where, "centered", "maximize")

    def _required_state(self, group):
        return ({"step", "square_avg"} | ({"momentum_buffer"} if group["momentum"] > 0 else set())
                | ({"grad_avg"} if group["centered"] else set()))

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


class Adagrad(Optimizer):
    """Adagrad: divides by the root of the running sum of squared gradients, so often-updated
    coordinates take ever smaller steps; ``lr_decay`` shrinks lr as lr / (1 + (t - 1) lr_decay).

    >>> opt = Adagrad([w], lr=1e-2)
    """

    _STATE_KEYS = frozenset({"step", "sum"})

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))

    def _check(self, group, where):
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            _check_number("Adagrad", group, key, where)
        _check_flags("Adagrad", group, where, "maximize")

    def _required_state(self, group):
        return {"step", "sum"}

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


# ---------------------------------------------------------------------------------------------
# Learning-rate schedulers: each step() sets every group's 'lr'.


class LRScheduler:
    """Base of the epoch-indexed schedulers: ``step()`` advances ``last_epoch`` by one and sets
    each group's lr to ``get_lr()``. Creating one performs epoch 0 (the optimizer's lr).
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [float(group["lr"]) for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def get_lr(self) -> list[float]:
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

    >>> sched = StepLR(opt, step_size=30, gamma=0.1)   # lr 0.05 for epochs 0-29, 0.005 ...
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if isinstance(step_size, bool) or not isinstance(step_size, numbers.Integral) \
                or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size, self.gamma = int(step_size), float(gamma)
        super().__init__(optimizer)

    def get_lr(self):
        # chainable, as PyTorch: decays the current lr, so changes made by others are kept
        decay = self.last_epoch > 0 and self.last_epoch % self.step_size == 0
        return [g["lr"] * self.gamma if decay else g["lr"] for g in self.optimizer.param_groups]


class ExponentialLR(LRScheduler):
    """Multiply each group's lr by ``gamma`` every epoch.

    >>> sched = ExponentialLR(opt, gamma=0.9)
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

    >>> sched = CosineAnnealingLR(opt, T_max=100)
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0):
        if isinstance(T_max, bool) or not isinstance(T_max, numbers.Real) or T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be a number > 0, got {T_max!r}")
        self.T_max, self.eta_min = T_max, float(eta_min)
        super().__init__(optimizer)

    def get_lr(self):
        cos = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cos for base in self.base_lrs]


class ReduceLROnPlateau:
    """Multiply lr by ``factor`` once a metric has not improved for more than ``patience`` steps.

    An improvement beats the best value so far by more than ``threshold`` (relative, or absolute
    with ``threshold_mode='abs'``); after a reduction, ``cooldown`` steps pass before bad steps
    count again; lr never goes below ``min_lr`` (a number, or one per group), and a reduction
    smaller than ``eps`` is skipped.

    >>> sched = ReduceLROnPlateau(opt, mode="min", patience=5)
    >>> sched.step(val_loss)
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr=0, eps: float = 1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected an Optimizer, got "
                            f"{type(optimizer).__name__}")
        if not (isinstance(factor, numbers.Real) and 0 <= factor < 1.0):
            raise ValueError(f"ReduceLROnPlateau: factor should be < 1.0 (and >= 0), got "
                             f"{factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode {mode!r} is unknown; use 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode {threshold_mode!r} is unknown; "
                             "use 'rel' or 'abs'")
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"ReduceLROnPlateau: expected {n} min_lr values, one per "
                                 f"parameter group, got {len(min_lr)}")
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

    get_last_lr = LRScheduler.get_last_lr
    state_dict = LRScheduler.state_dict
    load_state_dict = LRScheduler.load_state_dict


# ---------------------------------------------------------------------------------------------
# Gradient clipping (in place on .grad, as torch.nn.utils.clip_grad_*_)


def _grads(parameters, name):
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor")
    return [p for p in params if p.grad is not None]


def _set_grad(p, value):
    """Write ``value`` into p.grad in place, as PyTorch does; if that buffer is read-only or
    part of a graph (create_graph=True), give p a new detached grad instead."""
    g = p.grad
    if g.grad_fn is None and g.data.flags.writeable:
        np.copyto(g.data, value, casting="same_kind")
        version_counter(g).value += 1
    else:
        p.grad = Tensor(np.array(np.broadcast_to(value, g.shape), dtype=g.dtype))


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """Scale the gradients in place so their joint ``norm_type``-norm is at most ``max_norm``.

    The norm is taken over all gradients together, as if concatenated (``norm_type=inf`` is
    the largest absolute value); gradients are multiplied by max_norm / (norm + 1e-6) when that
    is below 1. Returns the norm before clipping, as a float.

    >>> total = clip_grad_norm_(model.parameters(), max_norm=1.0)
    """
    params = _grads(parameters, "clip_grad_norm_")
    if not isinstance(max_norm, numbers.Real) or max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be a number >= 0, got {max_norm!r}")
    norm_type = float(norm_type)
    if not params:
        return 0.0
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
    return total


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clip every gradient in place to [-clip_value, clip_value].

    >>> clip_grad_value_(model.parameters(), 0.5)
    """
    params = _grads(parameters, "clip_grad_value_")
    if not isinstance(clip_value, numbers.Real) or clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be a number >= 0, got "
                         f"{clip_value!r}")
    for p in params:
        _set_grad(p, np.clip(p.grad.data, -clip_value, clip_value))
