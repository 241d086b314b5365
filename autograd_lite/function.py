"""``Function``: a differentiable op written as a class with forward and backward, as in PyTorch.

>>> class Cube(Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x * x
...
...     @staticmethod
...     def backward(ctx, grad):
...         (x,) = ctx.saved_tensors
...         return grad * 3 * x * x
>>> x = ag.tensor([1.0, 2.0], requires_grad=True)
>>> y = Cube.apply(x)
>>> y
tensor([1., 8.], grad_fn=<Cube>)
>>> y.sum().backward()
>>> x.grad
tensor([ 3., 12.])

``forward`` runs without recording a graph; ``backward`` receives and returns Tensors, one
gradient per ``forward`` argument (None for arguments that need none). Registering a
``primitive`` (see ``ops/registry.py``) is the lighter way for numpy-level ops.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import numpy as np

from . import anomaly_mode, engine
from ._tensor import Tensor, as_array
from .engine import Node, Version, fit_gradient, version_counter
from .grad_mode import is_grad_enabled, no_grad, set_grad_enabled

_OUTPUT = object()  # stands for the forward's own output among the saved tensors


class FunctionCtx:
    """The ``ctx`` passed to forward and backward: saved tensors and which inputs need grads."""

    def __init__(self, needs_input_grad: tuple[bool, ...]) -> None:
        self.needs_input_grad = needs_input_grad
        # the saved tensors (the output as _OUTPUT once apply() made it); None once freed
        self._saved: tuple[Any, ...] | None = ()
        self._versions: tuple[tuple[Version, int], ...] = ()
        self._node: FunctionNode | None = None  # set while backward runs

    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors for backward; modifying them in place afterwards makes backward fail."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward takes Tensors (or None), got "
                                f"{type(t).__name__}; keep other values as attributes of ctx")
        self._saved = tensors
        self._versions = tuple((version_counter(t), version_counter(t).value)
                               for t in tensors if t is not None)

    @property
    def saved_tensors(self) -> tuple[Tensor, ...]:  # (None where None was saved, as PyTorch)
        if self._saved is None:
            raise RuntimeError("saved_tensors were freed by a previous backward(); pass "
                               "retain_graph=True to backward through the graph again")
        node = self._node
        for counter, version in self._versions:
            if counter.value != version:
                owner = "a Function" if node is None else node.name  # None: read in forward
                raise RuntimeError(f"a tensor saved by {owner}.forward was modified "
                                   f"in place: it is at version {counter.value}, but was at "
                                   f"version {version} when saved")
        return tuple(Tensor._make(node.out,  # type: ignore[union-attr]  # _OUTPUT: in backward
                                  node if is_grad_enabled() else None)
                     if t is _OUTPUT else t for t in self._saved)


class FunctionNode(Node):
    """The graph node of a ``Function.apply``: backward calls the user's ``backward`` once."""

    __slots__ = ("fn", "ctx")
    fn: type[Function]
    ctx: FunctionCtx

    @property
    def name(self) -> str:
        return self.fn.__name__

    def reads_output(self) -> bool:
        return False  # what ``forward`` saved is checked by the ctx, the output included

    def release(self):
        super().release()
        self.ctx._saved = None

    def vjp(self, g, create_graph):
        fn, ctx = self.fn, self.ctx
        ctx._node = self
        try:
            with set_grad_enabled(create_graph):
                grads = fn.backward(ctx, g if isinstance(g, Tensor) else Tensor._make(g, None))
        finally:
            ctx._node = None
        grads = grads if isinstance(grads, tuple) else (grads,)
        if len(grads) != len(self.args):
            raise RuntimeError(f"{self.name}.backward returned {len(grads)} gradient(s), but "
                               f"forward took {len(self.args)} input(s): return one per input "
                               "(None where there is none)")
        result = []
        gi: Tensor | np.ndarray | None
        for i, dest in enumerate(self.inputs):
            if dest is None:
                continue
            gi, saved = grads[i], self.args[i]
            if gi is None:
                gi = np.zeros(saved.shape, saved.dtype)
            else:
                gi = gi if isinstance(gi, Tensor) else Tensor(np.asarray(gi))
                if not create_graph:
                    gi = gi.data
            result.append((dest, fit_gradient(gi, saved.shape, saved.dtype, self.name, i)))
        return result


class Function:
    """Base class for user-defined differentiable operations (see the module docstring)."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:  # (any override fits)
        raise NotImplementedError("a Function subclass must define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grads: Any, **kwargs: Any) -> Any:  # (any override fits)
        raise NotImplementedError("a Function subclass must define a static backward(ctx, grad)")

    @classmethod
    def apply(cls, *args: Any) -> Tensor:
        """Run ``forward`` and, if any input requires grad, record a node whose gradient is
        computed by ``backward``."""
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx = FunctionCtx(needs)
        with no_grad():
            out = cls.forward(ctx, *args)
        if not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return one Tensor, got "
                            f"{type(out).__name__}")
        if not (any(needs) and is_grad_enabled() and out.dtype.kind == "f"):
            return Tensor._make(out.data, None)
        arrays = tuple(as_array(a) for a in args)
        inputs = tuple((a if a.grad_fn is None else a.grad_fn) if need else None
                       for a, need in zip(args, needs))
        node = FunctionNode(None, arrays, None, out.data, inputs)
        node.fn, node.ctx = cls, ctx
        frame = engine.user_frame(sys._getframe(1))
        node.code, node.offset = frame.f_code, frame.f_lasti
        if anomaly_mode.enabled:
            node.stack = "".join(traceback.format_stack(frame))
        assert ctx._saved is not None  # (freed only by a backward, which cannot have run)
        ctx._saved = tuple(_OUTPUT if t is out else t for t in ctx._saved)
        result = Tensor._make(out.data, node)
        result._version = version_counter(out)  # in-place changes to it invalidate what was saved
        return result

