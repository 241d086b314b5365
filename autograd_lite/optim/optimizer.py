"""The Optimizer base class: parameter groups, per-parameter state, zero_grad, step, state_dict.

An optimizer holds ``param_groups`` (dicts: the parameters and their options, such as ``lr``)
and ``state`` (per parameter: momentum buffers, moment estimates, step counts). ``step()`` reads
each parameter's ``.grad`` and updates ``p.data`` in place with plain numpy: no graph is ever
recorded, the dtype is kept (float32 stays float32), and the parameter's version counter is
bumped so a graph that saved the old value refuses to backward through it, as in PyTorch.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import debug
from .._tensor import Tensor
from ..engine import version_counter
from ..grad_mode import enable_grad
from ..nn.utils import _set_grad

if TYPE_CHECKING:
    from typing import TypeAlias

    # what an optimizer takes: Tensors, or parameter groups ({'params': [...], 'lr': ...})
    ParamsT: TypeAlias = "Iterable[Tensor] | Iterable[dict[str, Any]]"


def _always(group: dict) -> bool:
    """The condition of state every step keeps (step counts, moment estimates)."""
    return True


class Optimizer:
    """Base class: parameter groups with their options, per-parameter state, (de)serialisation.

    ``params`` is an iterable of Tensors, or of dicts (parameter groups) such as
    ``{'params': [w], 'lr': 0.01}``; options a group leaves out come from ``defaults``.
    A subclass defines ``_check`` (validate a group's options), ``_update`` (one parameter's
    step, on numpy arrays) and ``_STATE``, its per-parameter state declared once: each key,
    mapped to whether a parameter that has taken a step holds it under its group's options.
    ``load_state_dict`` derives from ``_STATE`` the keys it accepts and those it requires.
    """

    _STATE: dict[str, Callable[[dict], bool]] = {}

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self._check(self.defaults, "")
        self.state: dict[Tensor, dict] = {}
        self.param_groups: list[dict] = []
        self._work = np.empty(0, np.uint8)  # ``_scratch``'s memory, grown to the largest need
        self._scratch_views: dict[tuple[tuple[int, ...], np.dtype], np.ndarray] = {}  # of it
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, got a "
                            "single Tensor; wrap it in a list: [t]")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: params must be an ordered iterable (list, tuple, "
                            "generator), not a set: the order of the state_dict depends on it")
        try:
            items: list[Any] = list(params)
        except TypeError:
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts, got "
                            f"{type(params).__name__}") from None
        if not items:
            raise ValueError(f"{name}: got an empty parameter list")
        kinds = {isinstance(p, dict) for p in items}
        if kinds == {True, False}:
            raise TypeError(f"{name}: params mixes Tensors and dicts; give either Tensors or "
                            "parameter groups (dicts), not both")
        for group in items if kinds == {True} else [{"params": items}]:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
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
        group: dict[str, Any] = {"params": params}
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

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a ``.grad`` (those with None are skipped).

        ``closure``, if given, re-evaluates the model and returns the loss, which ``step``
        returns; it runs with gradients enabled. In debug mode (``ag.set_debug``), a gradient
        added into since the previous step without a ``zero_grad()`` warns.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        if debug.enabled:
            debug.check_step(self)
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
        """Step one parameter: ``p`` its data (updated in place), ``g`` its gradient (read)."""
        raise NotImplementedError

    def _scratch(self, like: np.ndarray) -> np.ndarray:
        """An array of ``like``'s shape and dtype for ``_update``'s intermediate values, in memory
        the optimizer keeps (as large as its largest parameter): a step makes no new arrays."""
        key = (like.shape, like.dtype)
        view = self._scratch_views.get(key)
        if view is None:
            if self._work.nbytes < like.nbytes:
                self._work, self._scratch_views = np.empty(like.nbytes, np.uint8), {}
            view = self._work[:like.nbytes].view(like.dtype).reshape(like.shape)
            self._scratch_views[key] = view
        return view

    def _check(self, group, where):
        """Refuse invalid options of ``group`` (``where`` says which group, for the message)."""

    def _check_numbers(self, group, where, *keys, low=0.0):
        """Refuse an option below ``low`` (or not a number) with PyTorch's message."""
        for key in keys:
            value = group[key]
            if not (isinstance(value, numbers.Real) and not isinstance(value, bool)
                    and value >= low):
                bound = f" >= {low}" if low > -math.inf else ""
                what = {"lr": "learning rate", "eps": "epsilon value"}.get(key, f"{key} value")
                raise ValueError(f"{type(self).__name__}: Invalid {what}: {value!r}{where} "
                                 f"(must be a number{bound})")

    def _check_flags(self, group, where, *keys):
        """Refuse an option that should be True or False and is anything else."""
        for key in keys:
            if not isinstance(group[key], (bool, np.bool_)):
                raise TypeError(f"{type(self).__name__}: {key} must be True or False{where}, "
                                f"got {group[key]!r}")

    # --- serialisation -------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data (copies): PyTorch's layout, checkpoint-ready.

        ``{'state': {index: {name: array or number}}, 'param_groups': [{options...,
        'params': [index, ...]}]}``, where parameters are numbered in group order.
        """
        index: dict[int, int] = {}
        groups: list[dict[str, Any]] = []
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

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
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
            unknown = sorted(set(saved) - set(self._STATE))
            missing = sorted(k for k, held in self._STATE.items() if held(group) and k not in saved)
            if unknown or missing:
                raise ValueError(f"{name}: the state of parameter {idx} lacks {missing} and has "
                                 f"unknown entries {unknown}")
            new_state[p] = {k: _state_value(v, k, p, idx, name) for k, v in saved.items()}
        for group, new in zip(self.param_groups, new_groups):
            group.clear()
            group.update(new)
        self.state = new_state

    def __repr__(self) -> str:
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
        # (numbers.Real has no int() or comparison types: mypy#3186)
        if not isinstance(step, numbers.Real) or step != int(step) or step < 0:  # type: ignore[call-overload]
            raise ValueError(f"{name}: 'step' of parameter {idx} must be a whole number >= 0, "
                             f"got {value!r}")
        return int(step)  # type: ignore[call-overload]  # (as above)
    arr = np.asarray(value)
    if arr.shape != p.shape:
        raise ValueError(f"{name}: state '{key}' of parameter {idx} has shape {arr.shape}, but "
                         f"the parameter has shape {p.shape}")
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"{name}: state '{key}' of parameter {idx} has dtype {arr.dtype}, "
                         "not a number")
    return np.array(arr, dtype=p.dtype)
