"""Diagnostics for training loops: how big a tensor's history is, and a guard against the
classic leak of keeping it alive across iterations (``total_loss += loss``)."""

from __future__ import annotations

import warnings

from .engine import Node


class GraphGrowthWarning(UserWarning):
    """A tensor kept across iterations drags an ever-growing graph behind it."""


def graph_size(tensor, limit: int = 10**7) -> int:
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

    def __init__(self, patience: int = 3):
        if not isinstance(patience, int) or isinstance(patience, bool):
            raise TypeError(f"GraphGrowthGuard: patience must be an int, got "
                            f"{type(patience).__name__}")
        if patience < 1:
            raise ValueError(f"GraphGrowthGuard: patience must be at least 1, got {patience}")
        self.patience = patience
        self.sizes: list[int] = []
        self.warned = False

    def check(self, tensor, name: str = "this tensor") -> int:
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
