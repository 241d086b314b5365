"""Diagnostics for training loops: how big a tensor's history is, a guard against the classic
leak of keeping it alive across iterations (``total_loss += loss``), and debug mode.

Debug mode is autograd_lite's own switch (PyTorch has none; its nearest is
``torch.autograd.set_detect_anomaly``, which autograd_lite has as ``detect_anomaly``). It is off
unless ``set_debug(True)`` is called or ``AUTOGRAD_LITE_DEBUG=1`` is set when autograd_lite is
imported; off, it costs one flag test per ``optimizer.step()``. On, it makes two silent traps
loud:

- ``optimizer.step()`` warns (``ForgottenZeroGradWarning``, once per optimizer) when a gradient
  was added into since the previous step without being zeroed or replaced: ``zero_grad()`` was
  forgotten, so each step uses the sum of all gradients so far. Accumulating over several
  ``backward()`` calls between two steps is legitimate and never warns.
- ``fit`` also puts a ``GraphGrowthGuard`` on each metric's running sum over an epoch (a metric
  returning a Tensor with a history, such as a loss function, would keep every batch's graph);
  it guards the loss always, debug mode or not.
"""

from __future__ import annotations

import hashlib
import os
import warnings
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from .engine import Node

if TYPE_CHECKING:
    from ._tensor import Tensor
    from .optim.optimizer import Optimizer

ENV_VAR = "AUTOGRAD_LITE_DEBUG"
_ON, _OFF = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def debug_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``AUTOGRAD_LITE_DEBUG`` in ``environ`` (default ``os.environ``) asks for debug mode.

    >>> debug_from_env({"AUTOGRAD_LITE_DEBUG": "1"}), debug_from_env({})
    (True, False)
    """
    value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip().lower()
    if value not in _ON + _OFF:
        raise ValueError(f"{ENV_VAR}={value!r}: expected 1 or 0 (or true/false, yes/no, on/off)")
    return value in _ON


enabled = debug_from_env()  # read once, at import; set_debug changes it


def set_debug(mode: bool) -> None:
    """Turn debug mode on or off (autograd_lite's own switch: PyTorch has none).

    >>> before = is_debug_enabled()
    >>> set_debug(True); is_debug_enabled()
    True
    >>> set_debug(before)
    """
    global enabled
    if not isinstance(mode, bool):
        raise TypeError(f"set_debug: mode must be True or False, got {mode!r}")
    enabled = mode


def is_debug_enabled() -> bool:
    """Whether debug mode is on (see ``set_debug``)."""
    return enabled


class ForgottenZeroGradWarning(UserWarning):
    """An optimizer stepped with gradients added into since its previous step: no zero_grad()."""


# optimizer -> {id(parameter): what its .grad was at that optimizer's last step}
_LAST_STEP: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_WARNED: weakref.WeakSet = weakref.WeakSet()


def _grad_record(g):
    """Which buffer ``g`` is, its in-place version, and a digest of its values."""
    version = g._version.value if g._version is not None else 0  # None: never written in place
    # an ndarray is a buffer; numpy's stubs declare __buffer__ only for Python >= 3.12
    contiguous = np.ascontiguousarray(g.data)
    digest = hashlib.blake2b(contiguous, digest_size=16).digest()  # type: ignore[arg-type]
    return weakref.ref(g), version, digest


def check_step(optimizer: Optimizer) -> None:
    """In debug mode, at each ``optimizer.step()``: warn if a parameter's ``.grad`` is the
    buffer seen at the previous step, not written in place since (as ``zero_grad(set_to_none=
    False)`` or ``zero_()`` do), yet holds other values: backward() added into it unzeroed.

    In-place writes by ``clip_grad_norm_``/``clip_grad_value_`` count as zeroing too, so a loop
    that clips can hide a forgotten zero_grad() from this check.
    """
    if optimizer in _WARNED:
        return
    before, now = _LAST_STEP.get(optimizer, {}), {}
    for i, group in enumerate(optimizer.param_groups):
        for j, p in enumerate(group["params"]):
            if p.grad is None:
                continue
            _, version, digest = now[id(p)] = _grad_record(p.grad)
            old = before.get(id(p))
            if old and old[0]() is p.grad and old[1] == version and old[2] != digest:
                _WARNED.add(optimizer)
                label = f" ({p.name!r})" if p.name else ""
                warnings.warn(
                    f"{type(optimizer).__name__}.step(): the gradient of parameter {j} of group "
                    f"{i}{label}, shape {p.shape}, was added into by backward() since the previous "
                    "step() without being zeroed, so this step used the gradients of every step "
                    "so far. Call optimizer.zero_grad() (or model.zero_grad()) before each "
                    "backward(); to accumulate gradients on purpose, zero them after each "
                    "step(). (autograd_lite debug mode; warned once per optimizer)",
                    ForgottenZeroGradWarning, stacklevel=3)
                return
    _LAST_STEP[optimizer] = now


class GraphGrowthWarning(UserWarning):
    """A tensor kept across iterations drags an ever-growing graph behind it."""


def graph_size(tensor: Tensor, limit: int = 10**7) -> int:
    """Number of ops in ``tensor``'s recorded history (counting stops at ``limit``)."""
    from ._tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise TypeError(f"graph_size: expected a Tensor, got {type(tensor).__name__}")
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise TypeError(f"graph_size: limit must be an int, got {type(limit).__name__}")
    start = tensor.grad_fn
    if start is None:
        return 0
    seen = {start}
    stack = [start]
    while stack and len(seen) < limit:
        for dest in stack.pop().inputs:
            if isinstance(dest, Node) and dest not in seen:
                seen.add(dest)
                stack.append(dest)
    return len(seen)


class GraphGrowthGuard:
    """Call ``check(t)`` once per iteration on a tensor you keep across iterations; it warns
    (once) when that tensor's history has grown ``patience`` iterations in a row.

    >>> import warnings
    >>> guard, x, total = GraphGrowthGuard(patience=3), ag.tensor(1.0, requires_grad=True), 0.0
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     for step in range(4):
    ...         total = total + x * 2                 # leaks: total keeps every step's graph
    ...         size = guard.check(total, "total")    # its history: 2, 4, 6, then 8 ops
    >>> print(caught[0].message)  # doctest: +ELLIPSIS
    total carries a computation graph that has grown for 3 iterations in a row (now 8 ops): ...
    """

    def __init__(self, patience: int = 3) -> None:
        if not isinstance(patience, int) or isinstance(patience, bool):
            raise TypeError(f"GraphGrowthGuard: patience must be an int, got "
                            f"{type(patience).__name__}")
        if patience < 1:
            raise ValueError(f"GraphGrowthGuard: patience must be at least 1, got {patience}")
        self.patience = patience
        self.sizes: list[int] = []
        self.warned = False

    def check(self, tensor: Tensor, name: str = "this tensor") -> int:
        """Record the size of ``tensor``'s history; warn if it keeps growing. Returns the size."""
        size = graph_size(tensor)
        self.sizes.append(size)
        recent = self.sizes[-self.patience - 1:]
        growing = len(recent) > self.patience and all(a < b for a, b in zip(recent, recent[1:]))
        if growing and not self.warned:
            self.warned = True
            warnings.warn(
                f"{name} carries a computation graph that has grown for {self.patience} "
                f"iterations in a row (now {size} ops): it keeps every iteration's history alive, "
                "so memory and backward time grow without bound. To accumulate a loss for "
                "logging, add loss.item() (a Python float); to keep a tensor without its "
                "history, use .detach().", GraphGrowthWarning, stacklevel=2)
        return size
