"""Tensor: a numpy array plus what autograd needs (requires_grad, grad, the node it came from).

Every operator and method calls a registered op from ``ops``; the Tensor itself computes
nothing, so each gradient rule lives in exactly one place.
"""

from __future__ import annotations

import builtins
import collections
import math
import operator
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple, overload

import numpy as np
import numpy.typing as npt

from .engine import version_counter
from .errors import prefixed
from .grad_mode import is_grad_enabled, set_grad_enabled
from .ops.registry import NUMPY_DISPATCH, axis_index, bind_tensor_class, check_dtype, to_array

if TYPE_CHECKING:
    from typing import TypeAlias

    from .engine import Node, Version

    # what ops take for an operand: a Tensor, an array, a Python number or a (nested) list
    TensorLike: TypeAlias = "Tensor | npt.ArrayLike"
    # dim/axis arguments: one dim, several, or None for all
    Dims: TypeAlias = "int | tuple[int, ...] | None"
    Hook: TypeAlias = "Callable[[Tensor], Tensor | None]"

    class ValuesIndices(NamedTuple):
        """What ``max(dim)``, ``min(dim)``, ``sort`` and ``topk`` return."""
        values: Tensor
        indices: Tensor


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    >>> x = ag.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    # _version is made on first use; _base (the tensor this is a view of), _hooks and
    # _post_accumulate_grad_hooks when needed.
    # A dict, so the two public slots have docstrings (``inspect.getdoc(Tensor.data)``).
    __slots__ = {"data": "The numpy array holding the values (shared, never copied on access).",
                 "grad_fn": "The graph node of the op that made this tensor (None for a leaf).",
                 "_requires_grad": None, "_grad": None, "_name": None, "_version": None,
                 "_base": None, "_hooks": None, "_post_accumulate_grad_hooks": None,
                 "__weakref__": None}
    __array_priority__ = 1000  # numpy defers ``ndarray + Tensor`` to Tensor.__radd__
    data: np.ndarray
    grad_fn: Node | None
    _requires_grad: bool
    _grad: Tensor | None
    _name: str | None
    _version: Version | None
    _base: Tensor | None
    _hooks: list[Hook] | None
    _post_accumulate_grad_hooks: list[Callable[[Tensor], None]] | None

    def __init__(self, data: TensorLike, requires_grad: bool = False,
                 dtype: npt.DTypeLike | None = None, name: str | None = None) -> None:
        """Wrap ``data``; an ndarray (or a Tensor's array) is shared, not copied: ``ag.tensor``
        copies, as ``torch.tensor`` does, and is the usual way to make one."""
        if isinstance(data, Tensor):
            data = data.data
        if isinstance(data, np.ndarray):
            check_dtype(data.dtype, "Tensor")
            if dtype is not None and data.dtype != dtype:
                check_dtype(np.dtype(dtype), "Tensor")
                data = data.astype(dtype)
        else:
            data = to_array(data, "Tensor", dtype)
        self.data = data
        self._requires_grad = False
        self._grad = None
        self.grad_fn = None
        self._name = None
        if name is not None:
            self.name = name
        self._version = None
        if requires_grad:
            self.requires_grad = True

    @staticmethod
    def _make(data: np.ndarray, grad_fn: Node | None) -> Tensor:
        """Fast internal constructor: ``data`` is already a valid ndarray."""
        t = _new(Tensor)
        t.data = data
        t._requires_grad = grad_fn is not None
        t._grad = None
        t.grad_fn = grad_fn
        t._name = None
        t._version = None
        return t

    # --- autograd attributes -------------------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        """Whether ops on this tensor are recorded so gradients can flow back to it."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        flag = bool(flag)
        if self.grad_fn is not None:
            if not flag:
                raise RuntimeError("requires_grad can only be changed on leaf tensors; use "
                                   "detach() to get a tensor cut from the graph")
            return
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype "
                            f"{self.data.dtype}; convert first, e.g. x.float()")
        self._requires_grad = flag

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self."""
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient of a leaf after ``backward()`` (None before)."""
        return self._grad

    @grad.setter
    def grad(self, value: TensorLike | None) -> None:
        if value is not None:
            value = value if isinstance(value, Tensor) else Tensor(np.asarray(value))
            if value.shape != self.shape:
                raise ValueError(f"assigned grad has shape {value.shape}, but the tensor has "
                                 f"shape {self.shape}")
            if value.dtype != self.dtype:
                raise TypeError(f"assigned grad has dtype {value.dtype}, but the tensor has "
                                f"dtype {self.dtype}")
        self._grad = value

    @property
    def name(self) -> str | None:
        """A label for pictures of the graph (``viz.draw_graph``), e.g. ``"x"`` or ``"y"``."""
        return self._name

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = None if value is None else str(value)
        if value is not None:  # the graph keeps arrays, not tensors: name the array
            key = id(self.data)
            NAMED_DATA[key] = (weakref.ref(self.data, lambda _: NAMED_DATA.pop(key, None)),
                               self._name)

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user rather than by an op that recorded a graph."""
        return self.grad_fn is None

    def backward(self, gradient: TensorLike | None = None, retain_graph: bool = False,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf that requires grad.

        ``gradient`` is required unless self has a single element (a loss). The graph's saved
        arrays are freed afterwards unless ``retain_graph=True``; ``create_graph=True`` records
        the backward pass itself so the gradients can be differentiated again.
        """
        from .engine import backward

        backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

    def detach(self) -> Tensor:
        """A tensor sharing this data (and its version counter), cut from the graph."""
        t = Tensor._make(self.data, None)
        t._version = version_counter(self)
        return t

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place (it no longer requires grad); returns self.

        >>> y = ag.tensor([1.0], requires_grad=True) * 2
        >>> y.detach_().requires_grad
        False
        """
        if self.grad_fn is not None and getattr(self, "_base", None) is not None:
            raise RuntimeError("detach_: a view of another tensor cannot be detached in place; "
                               "use detach()")
        self.grad_fn = None
        self._requires_grad = False
        return self

    def clone(self) -> Tensor:
        """A copy with its own memory; gradients flow back to this tensor."""
        return ops.clone(self)

    # --- hooks -------------------------------------------------------------------------------

    def register_hook(self, hook: Hook) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor
        replaces the gradient. Returns a handle whose ``remove()`` unregisters the hook."""
        if not callable(hook):
            raise TypeError(f"register_hook: expected a callable, got {type(hook).__name__}")
        if not self._requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so no gradient "
                               "will ever reach it")
        hooks: list[Hook] | None
        if self.grad_fn is None:
            hooks = getattr(self, "_hooks", None)
            if hooks is None:
                hooks = self._hooks = []
        else:
            hooks = self.grad_fn.hooks
            if hooks is None:
                hooks = self.grad_fn.hooks = []
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(
            self, hook: Callable[[Tensor], None]) -> RemovableHandle:
        """Call ``hook(self)`` after ``backward()`` has added a gradient into this leaf's
        ``.grad`` (``ag.grad`` adds none). Returns a handle whose ``remove()`` unregisters it."""
        if not callable(hook):
            raise TypeError(f"register_post_accumulate_grad_hook: expected a callable, got "
                            f"{type(hook).__name__}")
        if self.grad_fn is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad hooks "
                               "cannot be registered on non-leaf tensors")
        if not self._requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: this tensor does not require "
                               "grad, so no gradient will ever be accumulated into it")
        hooks = getattr(self, "_post_accumulate_grad_hooks", None)  # (a slot, unset until used)
        if hooks is None:
            hooks = self._post_accumulate_grad_hooks = []
            if getattr(self, "_hooks", None) is None:
                self._hooks = []  # backward looks for these hooks only on a leaf with _hooks set
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if self.grad_fn is None or self.retains_grad:
            return
        ref = weakref.ref(self)  # the hook must not keep the tensor (and its graph) alive

        def retain(grad: Tensor) -> None:
            t = ref()
            if t is not None:
                g = Tensor._make(np.array(grad.data), None)
                t._grad = g if t._grad is None else Tensor._make(t._grad.data + g.data, None)

        retain.retains_grad = True  # type: ignore[attr-defined]  # a marker retains_grad reads
        self.register_hook(retain)

    @property
    def retains_grad(self) -> bool:
        """Whether ``retain_grad()`` was called on this non-leaf tensor."""
        hooks = self.grad_fn.hooks if self.grad_fn is not None else None
        return any(getattr(h, "retains_grad", False) for h in hooks or ())

    # --- in-place operations, with PyTorch's rules ---------------------------------------------

    def _inplace(self, name: str, compute: Callable[[Tensor], Tensor], *others: Any) -> Tensor:
        """Write ``compute(self)`` into this tensor's memory; views of it see the change.

        While grad is recorded, this tensor takes the op into its history; a leaf that requires
        grad, or a view, cannot be modified so. Every graph node that saved these values notices
        (version counter) and refuses to backward with them.
        """
        graph = is_grad_enabled() and (self._requires_grad or any(
            isinstance(o, Tensor) and o._requires_grad for o in others))
        if graph and self.grad_fn is None and self._requires_grad:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad cannot be modified in place while "
                "gradients are recorded; update parameters inside `with ag.no_grad():`, or use "
                "an out-of-place op")
        if graph and getattr(self, "_base", None) is not None:
            raise RuntimeError(
                f"{name}: in-place modification of a view (a slice or reshape of another tensor) "
                "is not recorded in the graph; use an out-of-place op, e.g. torch-style "
                "ag.where or ag.concatenate, or modify the view under no_grad()")
        with set_grad_enabled(graph):
            try:
                result = compute(self)
            except (TypeError, ValueError, IndexError) as e:
                raise prefixed(name, e) from None
        if result.shape != self.shape:
            raise ValueError(f"{name}: the result has shape {result.shape}, which cannot be "
                             f"written into this tensor of shape {self.shape}")
        if not np.can_cast(result.dtype, self.dtype, "same_kind"):
            raise TypeError(f"{name}: cannot write a {result.dtype} result into a {self.dtype} "
                            "tensor in place")
        if not self.data.flags.writeable:
            raise ValueError(f"{name}: this tensor's memory is read-only (a broadcast_to view or "
                             "a read-only numpy array); use an out-of-place op")
        node = result.grad_fn
        if node is not None and any(a is self.data for a in node.args):
            # the new node saved the values about to be overwritten: give it its own copy
            mine = self._version
            node.args = tuple(np.array(a) if a is self.data else a for a in node.args)
            node.versions = tuple(v for v in node.versions if v[0] is not mine)
        np.copyto(self.data, result.data, casting="same_kind")
        version_counter(self).value += 1
        if node is not None:
            self.grad_fn = node
            self._requires_grad = True
        return self

    def add_(self, other: TensorLike) -> Tensor:
        return self._inplace("add_", lambda t: ops.add(t, other), other)
    def sub_(self, other: TensorLike) -> Tensor:
        return self._inplace("sub_", lambda t: ops.sub(t, other), other)
    def mul_(self, other: TensorLike) -> Tensor:
        return self._inplace("mul_", lambda t: ops.mul(t, other), other)
    def div_(self, other: TensorLike) -> Tensor:
        return self._inplace("div_", lambda t: ops.div(t, other), other)
    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_

    def fill_(self, value: TensorLike) -> Tensor:
        """Set every element to ``value`` in place."""
        return self._inplace("fill_", lambda t: ops.where(True, value, t), value)

    def zero_(self) -> Tensor:
        """Set every element to zero in place (e.g. ``x.grad.zero_()``)."""
        return self.fill_(0)

    def copy_(self, src: TensorLike) -> Tensor:
        """Copy ``src`` (broadcast to this shape) into this tensor in place."""
        return self._inplace("copy_", lambda t: ops.where(True, src, t), src)

    def __setitem__(self, index: Any, value: TensorLike) -> None:
        """``self[index] = value`` in place, with the rules of the other in-place ops."""
        self._inplace("__setitem__", lambda t: ops.setitem(t, value, index), value)

    # --- array attributes ----------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """Tuple of dimensions, as numpy's."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype of the data."""
        return self.data.dtype

    def numel(self) -> int:
        """Number of elements (numpy's ``.size``)."""
        return self.data.size

    @overload
    def size(self, dim: None = None) -> tuple[int, ...]: ...
    @overload
    def size(self, dim: int) -> int: ...

    def size(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The shape (a tuple), or the length of ``dim``, as PyTorch's ``size()``. (numpy's
        ``.size``, the element count, is ``numel()``.)

        >>> ag.zeros(2, 3).size(), ag.zeros(2, 3).size(-1)
        ((2, 3), 3)
        """
        shape = self.data.shape
        return shape if dim is None else shape[axis_index(dim, len(shape), "size", shape)]

    def dim(self) -> int:
        """Number of dimensions (``ndim``), as torch.Tensor.dim."""
        return self.data.ndim

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied); never part of the graph."""
        return self.data

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape "
                             f"{self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        """The values as (nested) Python lists of numbers; never part of the graph."""
        return self.data.tolist()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter: the repr, plus a picture of the graph when small (needs Graphviz)."""
        from . import viz

        return viz.tensor_mimebundle(self)

    def __array__(self, dtype: npt.DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        """numpy 2's protocol: ``np.array(t)`` copies, ``np.asarray(t)`` shares the memory."""
        if copy is False and dtype is not None and np.dtype(dtype) != self.data.dtype:
            raise ValueError(f"np.asarray(copy=False): a {self.data.dtype} tensor cannot be "
                             f"viewed as {np.dtype(dtype)} without a copy")
        return np.array(self.data, dtype, copy=copy)

    def __len__(self) -> int:
        """Length of the first dimension (a TypeError for a 0-d tensor)."""
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        """The sub-tensors along the first dimension, each ``self[i]`` (in the graph)."""
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        """Truth of a one-element tensor (more elements: numpy's ValueError)."""
        return bool(self.data)

    def __float__(self) -> float:
        """``float(t)`` of a one-element tensor."""
        return float(self.item())

    def __int__(self) -> int:
        """``int(t)`` of a one-element tensor (truncated toward zero)."""
        return int(self.item())

    def __index__(self) -> int:
        """A one-element integer tensor used as an index, e.g. ``range(t)`` or ``xs[t]``."""
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError(f"only integer tensors of one element can be used as an index, got "
                            f"dtype {self.dtype} shape {self.shape}")
        return int(self.data.item())

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        """PyTorch's form: ``tensor([...])``, plus dtype, grad_fn or requires_grad if notable."""
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    # --- numpy interoperability: numpy functions on Tensors call our ops -----------------------

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """``np.exp(t)``, ``np.add(t, 1)``...: the matching op, so gradients flow through."""
        op = NUMPY_DISPATCH.get(ufunc) if method == "__call__" and not kwargs else None
        if op is None:
            return NotImplemented
        return op(*inputs)

    def __array_function__(self, func: Callable[..., Any], types: Any, args: Any,
                           kwargs: Any) -> Any:
        """``np.sum(t)``, ``np.transpose(t)``...: the matching op, with numpy's meaning."""
        op = NUMPY_DISPATCH.get(func)
        if op is None:
            return NotImplemented
        return op(*args, **kwargs)

    # --- operators -----------------------------------------------------------------------------

    def __add__(self, other: TensorLike) -> Tensor: return ops.add(self, other)
    def __radd__(self, other: TensorLike) -> Tensor: return ops.add(other, self)
    def __sub__(self, other: TensorLike) -> Tensor: return ops.sub(self, other)
    def __rsub__(self, other: TensorLike) -> Tensor: return ops.sub(other, self)
    def __mul__(self, other: TensorLike) -> Tensor: return ops.mul(self, other)
    def __rmul__(self, other: TensorLike) -> Tensor: return ops.mul(other, self)
    def __truediv__(self, other: TensorLike) -> Tensor: return ops.div(self, other)
    def __rtruediv__(self, other: TensorLike) -> Tensor: return ops.div(other, self)
    def __pow__(self, other: TensorLike) -> Tensor: return ops.pow(self, other)
    def __rpow__(self, other: TensorLike) -> Tensor: return ops.pow(other, self)
    def __matmul__(self, other: TensorLike) -> Tensor: return ops.matmul(self, other)
    def __rmatmul__(self, other: TensorLike) -> Tensor: return ops.matmul(other, self)
    def __neg__(self) -> Tensor: return ops.neg(self)
    def __pos__(self) -> Tensor: return self
    def __abs__(self) -> Tensor: return ops.abs(self)
    def __getitem__(self, index: Any) -> Tensor: return ops.getitem(self, index)
    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]  # elementwise
        return ops.eq(self, other)
    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]  # elementwise
        return ops.ne(self, other)
    def __lt__(self, other: TensorLike) -> Tensor: return ops.lt(self, other)
    def __le__(self, other: TensorLike) -> Tensor: return ops.le(self, other)
    def __gt__(self, other: TensorLike) -> Tensor: return ops.gt(self, other)
    def __ge__(self, other: TensorLike) -> Tensor: return ops.ge(self, other)

    # --- methods: PyTorch's names with PyTorch's meanings --------------------------------------
    # dim/keepdim as in PyTorch, numpy's axis/keepdims accepted as synonyms. numpy's functions
    # on a Tensor (np.std(t), np.transpose(t)) keep numpy's meaning: they reach the ops through
    # __array_function__, not through these methods.

    def add(self, other: TensorLike) -> Tensor: return ops.add(self, other)
    def sub(self, other: TensorLike) -> Tensor: return ops.sub(self, other)
    def mul(self, other: TensorLike) -> Tensor: return ops.mul(self, other)
    def div(self, other: TensorLike) -> Tensor: return ops.div(self, other)
    def neg(self) -> Tensor: return ops.neg(self)
    def square(self) -> Tensor: return ops.square(self)
    def exp(self) -> Tensor: return ops.exp(self)
    def log(self) -> Tensor: return ops.log(self)
    def sqrt(self) -> Tensor: return ops.sqrt(self)
    def abs(self) -> Tensor: return ops.abs(self)
    def sin(self) -> Tensor: return ops.sin(self)
    def cos(self) -> Tensor: return ops.cos(self)
    def tanh(self) -> Tensor: return ops.tanh(self)
    def sigmoid(self) -> Tensor: return ops.sigmoid(self)
    def softplus(self) -> Tensor: return ops.softplus(self)
    def erf(self) -> Tensor: return ops.erf(self)
    def relu(self) -> Tensor: return ops.relu(self)
    def sign(self) -> Tensor: return ops.sign(self)
    def pow(self, exponent: TensorLike) -> Tensor: return ops.pow(self, exponent)
    def maximum(self, other: TensorLike) -> Tensor: return ops.maximum(self, other)
    def minimum(self, other: TensorLike) -> Tensor: return ops.minimum(self, other)
    def clip(self, min: TensorLike | None = None, max: TensorLike | None = None) -> Tensor:
        return ops.clip(self, min, max)
    clamp = clip
    def matmul(self, other: TensorLike) -> Tensor: return ops.matmul(self, other)
    def dot(self, other: TensorLike) -> Tensor: return ops.matmul(self, other)

    def sum(self, axis: Dims = None, keepdims: bool = False, *, dim: Dims = None,
            keepdim: bool | None = None) -> Tensor:
        """Sum over ``dim`` (all elements when None), as torch.sum; numpy's axis/keepdims too."""
        return ops.sum(self, *_torch_axis(axis, keepdims, dim, keepdim))

    def mean(self, axis: Dims = None, keepdims: bool = False, *, dim: Dims = None,
             keepdim: bool | None = None) -> Tensor:
        """Mean over ``dim`` (all elements when None), as torch.mean; numpy's axis/keepdims too."""
        return ops.mean(self, *_torch_axis(axis, keepdims, dim, keepdim))

    @overload
    def max(self, dim: None = None, keepdim: bool = False, *, axis: None = None,
            keepdims: bool | None = None) -> Tensor: ...
    @overload
    def max(self, dim: Tensor, keepdim: bool = False, *, axis: None = None,
            keepdims: bool | None = None) -> Tensor: ...
    @overload
    def max(self, dim: int, keepdim: bool = False, *, axis: None = None,
            keepdims: bool | None = None) -> ValuesIndices: ...
    @overload
    def max(self, dim: None = None, keepdim: bool = False, *, axis: int,
            keepdims: bool | None = None) -> ValuesIndices: ...

    def max(self, dim: int | Tensor | None = None, keepdim: bool = False, *,
            axis: int | None = None, keepdims: bool | None = None) -> Tensor | ValuesIndices:
        """The largest element (0-d); along ``dim`` a named tuple ``(values, indices)``; against
        a Tensor the elementwise larger, as torch.max. Ties: the gradient of ``max(dim)`` goes
        to the returned index (the first), that of ``max()`` is shared, as in PyTorch.

        >>> ag.tensor([[1.0, 5.0], [4.0, 2.0]]).max(1)
        max(values=tensor([5., 4.]), indices=tensor([1, 0]))
        """
        return _extreme(self, "max", *_torch_axis(dim, keepdim, axis, keepdims))

    @overload
    def min(self, dim: None = None, keepdim: bool = False, *, axis: None = None,
            keepdims: bool | None = None) -> Tensor: ...
    @overload
    def min(self, dim: Tensor, keepdim: bool = False, *, axis: None = None,
            keepdims: bool | None = None) -> Tensor: ...
    @overload
    def min(self, dim: int, keepdim: bool = False, *, axis: None = None,
            keepdims: bool | None = None) -> ValuesIndices: ...
    @overload
    def min(self, dim: None = None, keepdim: bool = False, *, axis: int,
            keepdims: bool | None = None) -> ValuesIndices: ...

    def min(self, dim: int | Tensor | None = None, keepdim: bool = False, *,
            axis: int | None = None, keepdims: bool | None = None) -> Tensor | ValuesIndices:
        """The smallest element (0-d); along ``dim`` a named tuple ``(values, indices)``; against
        a Tensor the elementwise smaller, as torch.min (gradients as for ``max``).

        >>> ag.tensor([[1.0, 5.0], [4.0, 2.0]]).min(dim=0).indices
        tensor([0, 1])
        """
        return _extreme(self, "min", *_torch_axis(dim, keepdim, axis, keepdims))

    def var(self, dim: Dims | bool = None, unbiased: bool | None = None,
            keepdim: bool = False, *, correction: int | None = None, axis: Dims = None,
            keepdims: bool | None = None, ddof: int | None = None) -> Tensor:
        """Variance over ``dim`` (all elements when None) dividing by N - ``correction``
        (default 1, Bessel's), as torch.var; ``unbiased=False`` or numpy's ``ddof=0`` divide by N.

        >>> ag.tensor([1.0, 2.0, 3.0, 4.0], dtype=np.float64).var()
        tensor(1.6667, dtype=float64)
        """
        return ops.var(self, *_correction_args("var", dim, unbiased, keepdim, correction, axis,
                                               keepdims, ddof))

    def std(self, dim: Dims | bool = None, unbiased: bool | None = None,
            keepdim: bool = False, *, correction: int | None = None, axis: Dims = None,
            keepdims: bool | None = None, ddof: int | None = None) -> Tensor:
        """Standard deviation, the square root of ``var`` with the same arguments, as torch.std.

        >>> ag.tensor([1.0, 3.0]).std(), ag.tensor([1.0, 3.0]).std(correction=0)
        (tensor(1.4142), tensor(1.))
        """
        return ops.std(self, *_correction_args("std", dim, unbiased, keepdim, correction, axis,
                                               keepdims, ddof))

    def norm(self, p: float | str = "fro", dim: Dims = None, keepdim: bool = False) -> Tensor:
        """The vector ``p``-norm over ``dim`` (all elements when None; ``"fro"`` is p=2; inf, -inf
        and 0 as in PyTorch), as torch.Tensor.norm; ``"nuc"`` (needs an SVD) is not available.
        As in PyTorch, the gradient at a zero norm is 0.

        >>> ag.tensor([3.0, -4.0]).norm(), ag.tensor([3.0, -4.0]).norm(1)
        (tensor(5.), tensor(7.))
        """
        return _norm(self, p, dim, keepdim)

    def logsumexp(self, axis: Dims = None, keepdims: bool = False, *, dim: Dims = None,
                  keepdim: bool | None = None) -> Tensor:
        """log(sum(exp(self))) over ``dim`` without overflow; unlike torch.logsumexp, ``dim`` may
        be None (all elements)."""
        return ops.logsumexp(self, *_torch_axis(axis, keepdims, dim, keepdim))

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        """exp(self) / sum(exp(self)) along ``dim``; ``dim`` defaults to -1 (PyTorch has no
        default)."""
        return ops.softmax(self, _torch_axis(axis, False, dim, None)[0])

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        """log(softmax(self)) along ``dim``, computed stably; ``dim`` defaults to -1 (PyTorch has
        no default)."""
        return ops.log_softmax(self, _torch_axis(axis, False, dim, None)[0])

    def argmax(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> Tensor:
        """Index of the largest element (of the flattened tensor when ``dim`` is None), as
        torch.argmax; not differentiable."""
        return ops.argmax(self, *_torch_axis(axis, keepdims, dim, keepdim))

    def argmin(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> Tensor:
        """Index of the smallest element (of the flattened tensor when ``dim`` is None), as
        torch.argmin; not differentiable."""
        return ops.argmin(self, *_torch_axis(axis, keepdims, dim, keepdim))

    def cumsum(self, dim: int) -> Tensor:
        """Running sums along ``dim``, as torch.cumsum (integers and bools sum as int64); built
        as a product with a triangular matrix, so O(n^2) in the length of ``dim``.

        >>> ag.tensor([1.0, 2.0, 3.0]).cumsum(0)
        tensor([1., 3., 6.])
        """
        x = self if self.dtype.kind == "f" else ops.astype(self, np.int64)
        d = axis_index(dim, self.ndim, "cumsum", self.shape)
        n = self.shape[d]
        upper = np.triu(np.ones((n, n), x.dtype))  # column j sums the elements 0..j
        return ops.swapaxes(ops.matmul(ops.swapaxes(x, d, -1), upper), d, -1)

    # --- shape ---------------------------------------------------------------------------------

    def reshape(self, *shape: int | tuple[int, ...] | list[int]) -> Tensor:
        return ops.reshape(self, shape_arg(shape))
    view = reshape
    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return ops.flatten(self, start_dim, end_dim)

    def transpose(self, *dims: int) -> Tensor:
        """Swap two dims, as torch.transpose (``permute`` reorders them all; ``np.transpose(t)``
        keeps numpy's meaning).

        >>> ag.zeros(2, 3, 4).transpose(0, 2).shape
        (4, 3, 2)
        """
        if len(dims) != 2:
            raise TypeError(f"transpose: expected two dims (dim0, dim1), got {dims!r}; "
                            "permute(*dims) reorders them all")
        try:
            return ops.swapaxes(self, *dims)
        except (TypeError, ValueError) as e:
            raise prefixed("transpose", e) from None

    def t(self) -> Tensor:
        """The transpose of a matrix; 0-d and 1-d tensors come back as they are, as torch.t.

        >>> ag.zeros(2, 3).t().shape
        (3, 2)
        """
        if self.ndim > 2:
            raise RuntimeError(f"t(): expects a tensor with <= 2 dimensions, got shape "
                               f"{self.shape}; use transpose(dim0, dim1) or mT")
        return ops.transpose(self)

    def permute(self, *dims: int | tuple[int, ...] | list[int]) -> Tensor:
        return ops.transpose(self, shape_arg(dims))
    def swapaxes(self, axis1: int, axis2: int) -> Tensor: return ops.swapaxes(self, axis1, axis2)

    @property
    def T(self) -> Tensor:
        """The tensor with its axes reversed."""
        return ops.transpose(self)

    @property
    def mT(self) -> Tensor:
        """Transpose of the last 2 axes."""
        return ops.swapaxes(self, -2, -1)

    def broadcast_to(self, shape: tuple[int, ...]) -> Tensor: return ops.broadcast_to(self, shape)
    def expand(self, *shape: int | tuple[int, ...] | list[int]) -> Tensor:
        """torch.Tensor.expand: broadcast_to, where -1 keeps a dimension's size."""
        shape = shape_arg(shape)
        lead = len(shape) - self.ndim
        return ops.broadcast_to(self, tuple(self.shape[i - lead] if n == -1 and i >= lead else n
                                            for i, n in enumerate(shape)))

    def expand_as(self, other: Tensor) -> Tensor:
        """``expand(other.shape)``, as torch.Tensor.expand_as.

        >>> ag.tensor([1.0, 2.0]).expand_as(ag.zeros(3, 2)).shape
        (3, 2)
        """
        return self.expand(other.shape)

    def view_as(self, other: Tensor) -> Tensor:
        """``view(other.shape)``, as torch.Tensor.view_as (like ``view``, it may copy).

        >>> ag.zeros(6).view_as(ag.zeros(2, 3)).shape
        (2, 3)
        """
        return self.view(other.shape)

    def squeeze(self, axis: Dims = None) -> Tensor: return ops.squeeze(self, axis)
    def unsqueeze(self, axis: int | tuple[int, ...]) -> Tensor: return ops.unsqueeze(self, axis)

    def contiguous(self) -> Tensor:
        """Self when its memory is C-contiguous, else a C-contiguous copy, as in PyTorch.

        >>> x = ag.zeros(2, 3)
        >>> x.contiguous() is x, x.t().contiguous().numpy().flags.c_contiguous
        (True, True)
        """
        if self.data.flags.c_contiguous:
            return self
        return ops.getitem(self, np.arange(len(self)))  # a gather allocates in C order

    def repeat(self, *sizes: int | tuple[int, ...] | list[int]) -> Tensor:
        """Tile the tensor ``sizes[i]`` times along dim i (leading sizes add dims), as
        torch.Tensor.repeat (numpy's ``np.repeat`` repeats elements instead).

        >>> ag.tensor([1.0, 2.0]).repeat(2)
        tensor([1., 2., 1., 2.])
        """
        sizes = shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"repeat: got {len(sizes)} sizes for a tensor of shape "
                               f"{self.shape}; give at least one per dimension")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        spaced = ops.reshape(self, tuple(n for s in shape for n in (1, s)))
        tiled = ops.broadcast_to(spaced, tuple(n for r, s in zip(sizes, shape) for n in (r, s)))
        return ops.reshape(tiled, tuple(r * s for r, s in zip(sizes, shape)))

    def flip(self, *dims: int | tuple[int, ...] | list[int]) -> Tensor:
        """Reverse the order of the elements along each of ``dims``, as torch.flip.

        >>> ag.tensor([1.0, 2.0, 3.0]).flip(0)
        tensor([3., 2., 1.])
        """
        index = [slice(None)] * self.ndim
        for d in _dims_arg(dims, self, "flip"):
            index[d] = slice(None, None, -1)
        return ops.getitem(self, tuple(index))

    def roll(self, shifts: int | tuple[int, ...] | list[int],
             dims: int | tuple[int, ...] | list[int] | None = None) -> Tensor:
        """Shift elements ``shifts`` places along ``dims``, wrapping around (the flattened tensor
        when ``dims`` is None), as torch.roll.

        >>> ag.tensor([1.0, 2.0, 3.0]).roll(1)
        tensor([3., 1., 2.])
        """
        if dims is None:
            return ops.reshape(ops.flatten(self).roll(shifts, 0), self.shape)
        dims = _dims_arg((dims,), self, "roll")
        steps = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
        if len(steps) != len(dims):
            raise RuntimeError(f"roll: got {len(steps)} shifts for {len(dims)} dims")
        out = self
        for s, d in zip(steps, dims):
            index: list[Any] = [slice(None)] * self.ndim
            index[d] = (np.arange(self.shape[d]) - s) % builtins.max(self.shape[d], 1)
            out = ops.getitem(out, tuple(index))
        return out

    def split(self, split_size_or_sections: int | tuple[int, ...] | list[int],
              dim: int = 0) -> tuple[Tensor, ...]:
        """Views of consecutive pieces along ``dim``: of ``split_size`` each (the last may be
        smaller), or of the listed sizes, as torch.split (numpy's split counts pieces).

        >>> [p.tolist() for p in ag.tensor([1.0, 2.0, 3.0]).split(2)]
        [[1.0, 2.0], [3.0]]
        """
        d = axis_index(dim, self.ndim, "split", self.shape)
        n = self.shape[d]
        if isinstance(split_size_or_sections, (tuple, list)):
            sizes = list(split_size_or_sections)
            if builtins.sum(sizes) != n or builtins.min(sizes, default=0) < 0:
                raise RuntimeError(f"split: sizes {sizes} must be non-negative and sum to {n}, "
                                   f"the length of dim {dim} of shape {self.shape}")
        else:
            size = operator.index(split_size_or_sections)
            if size < 0 or (size == 0 and n > 0):
                raise RuntimeError(f"split: split_size must be positive, got {size}")
            sizes = [builtins.min(size, n - start) for start in range(0, n, size)] or [0]
        starts = np.cumsum([0] + sizes)
        return tuple(ops.getitem(self, (slice(None),) * d + (slice(a, b),))
                     for a, b in zip(starts[:-1], starts[1:]))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """At most ``chunks`` views along ``dim``, each of ceil(n / chunks) elements but the
        last, as torch.chunk (so there may be fewer than ``chunks``).

        >>> [p.tolist() for p in ag.tensor([1.0, 2.0, 3.0, 4.0]).chunk(3)]
        [[1.0, 2.0], [3.0, 4.0]]
        """
        if operator.index(chunks) <= 0:
            raise RuntimeError(f"chunk: chunks must be positive, got {chunks}")
        n = self.shape[axis_index(dim, self.ndim, "chunk", self.shape)]
        return self.split(-(-n // chunks), dim)

    def masked_fill(self, mask: TensorLike, value: TensorLike) -> Tensor:
        """``value`` where the bool ``mask`` (broadcast) is True, else self, as
        torch.masked_fill; a 0-d Tensor ``value`` gets the gradient of the filled places.

        >>> ag.tensor([1.0, 2.0, 3.0]).masked_fill(ag.tensor([True, False, True]), 0.0)
        tensor([0., 2., 0.])
        """
        if as_array(mask).dtype != np.bool_:
            raise RuntimeError(f"masked_fill: the mask must be bool, got {as_array(mask).dtype}")
        value = value if isinstance(value, Tensor) else np.asarray(value)
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill: value must be a number or a 0-d Tensor, got shape "
                               f"{value.shape}")
        if value.dtype != self.dtype:
            value = value.astype(self.dtype)  # the result keeps self's dtype, as in PyTorch
        return ops.where(mask, value, self)

    def masked_fill_(self, mask: TensorLike, value: TensorLike) -> Tensor:
        """``masked_fill`` written into this tensor, with the rules of the other in-place ops.

        >>> x = ag.tensor([1.0, -2.0, 3.0])
        >>> x.masked_fill_(x < 0, 0.0)
        tensor([1., 0., 3.])
        """
        return self._inplace("masked_fill_", lambda t: t.masked_fill(mask, value), value)

    # --- indexing along a dim ------------------------------------------------------------------

    def gather(self, dim: int, index: TensorLike) -> Tensor:
        """Values along ``dim`` at ``index`` (int64, self's ndim), as torch.Tensor.gather.

        >>> ag.tensor([[1.0, 2.0], [3.0, 4.0]]).gather(1, ag.tensor([[1], [0]]))
        tensor([[2.],
                [3.]])
        """
        return ops.gather(self, dim, index)

    def scatter_add(self, dim: int, index: TensorLike, src: TensorLike) -> Tensor:
        """A copy with ``src`` added at ``index`` along ``dim`` (repeats add up), as
        torch.Tensor.scatter_add.

        >>> ag.zeros(3).scatter_add(0, ag.tensor([1, 1]), ag.tensor([1.0, 2.0]))
        tensor([0., 3., 0.])
        """
        return ops.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim: int, index: TensorLike, src: TensorLike) -> Tensor:
        """``scatter_add`` written into this tensor, with the rules of the other in-place ops.

        >>> counts = ag.zeros(3)
        >>> counts.scatter_add_(0, ag.tensor([2, 0, 2]), ag.ones(3))
        tensor([1., 0., 2.])
        """
        return self._inplace("scatter_add_", lambda t: ops.scatter_add(t, dim, index, src), src)

    def index_select(self, dim: int, index: TensorLike) -> Tensor:
        """The slices along ``dim`` at the positions in the 1-D ``index``, as
        torch.Tensor.index_select.

        >>> ag.tensor([1.0, 2.0, 3.0]).index_select(0, ag.tensor([2, 0]))
        tensor([3., 1.])
        """
        return ops.index_select(self, dim, index)

    def masked_select(self, mask: TensorLike) -> Tensor:
        """The elements where the bool ``mask`` (broadcast) is True, 1-D, as
        torch.Tensor.masked_select.

        >>> ag.tensor([1.0, 2.0, 3.0]).masked_select(ag.tensor([True, False, True]))
        tensor([1., 3.])
        """
        return ops.masked_select(self, mask)

    def nonzero(self) -> Tensor:
        """The indices of the nonzero elements, an int64 tensor (count, ndim), as
        torch.Tensor.nonzero (``as_tuple`` is not available).

        >>> ag.tensor([0.0, 2.0, 3.0]).nonzero()
        tensor([[1],
                [2]])
        """
        return ops.nonzero(self)

    def sort(self, dim: int = -1, descending: bool = False,
             stable: bool = False) -> ValuesIndices:
        """A named tuple ``(values, indices)``: self sorted along ``dim``, as torch.sort (the
        sort is always stable); the gradient of the values goes to where each came from.

        >>> ag.tensor([3.0, 1.0, 2.0]).sort(descending=True)
        sort(values=tensor([3., 2., 1.]), indices=tensor([0, 2, 1]))
        """
        return ops.indexing.sort(self, dim, descending, stable)

    def topk(self, k: int, dim: int = -1, largest: bool = True,
             sorted: bool = True) -> ValuesIndices:
        """A named tuple ``(values, indices)`` of the ``k`` largest (``largest=False``:
        smallest) elements along ``dim``, as torch.topk; always in sorted order.

        >>> ag.tensor([3.0, 1.0, 2.0]).topk(2)
        topk(values=tensor([3., 2.]), indices=tensor([0, 2]))
        """
        return ops.indexing.topk(self, k, dim, largest, sorted)

    # --- comparisons that answer with a Python bool --------------------------------------------

    def allclose(self, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
                 equal_nan: bool = False) -> bool:
        """Whether |self - other| <= atol + rtol |other| everywhere (broadcast), as
        torch.allclose; both must be Tensors of one dtype.

        >>> ag.tensor([1.0, 2.0]).allclose(ag.tensor([1.0, 2.0 + 1e-7]))
        True
        """
        _check_same_dtype(self, other, "allclose")
        return builtins.bool(np.allclose(self.data, other.data, rtol, atol, equal_nan))

    def equal(self, other: Tensor) -> bool:
        """Whether ``other`` has the same shape and elements (NaN equals nothing), as
        torch.equal.

        >>> ag.tensor([1, 2]).equal(ag.tensor([1, 2])), ag.tensor([1, 2]).equal(ag.tensor([1]))
        (True, False)
        """
        _check_same_dtype(self, other, "equal")
        return np.array_equal(self.data, other.data)

    # --- dtype and device ----------------------------------------------------------------------

    def astype(self, dtype: npt.DTypeLike) -> Tensor: return ops.astype(self, dtype)

    def to(self, *args: Tensor | str | npt.DTypeLike, dtype: npt.DTypeLike | None = None,
           device: str | None = None, copy: bool = False, non_blocking: bool = False) -> Tensor:
        """``to(dtype)``, ``to("cpu")``, ``to(device, dtype)``, ``to(other)``: self when nothing
        changes (unless ``copy``), else a converted copy, as torch.Tensor.to. The only device
        is the CPU: any other is a RuntimeError; ``non_blocking`` has no effect.

        >>> x = ag.tensor([1.5])
        >>> x.to("cpu") is x, x.to(np.float64).dtype, x.to(ag.tensor([1])).tolist()
        (True, dtype('float64'), [1])
        """
        if len(args) > 2:
            raise TypeError(f"to: expected at most 2 positional arguments, got {len(args)}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, str):
                device = arg
            else:
                dtype = arg
        if device is not None:
            check_device(device, "to")
        dtype = self.dtype if dtype is None else np.dtype(dtype)
        if dtype == self.dtype:
            return ops.clone(self) if copy else self
        return ops.astype(self, dtype)

    def cpu(self) -> Tensor:
        """Self: autograd_lite's tensors are always on the CPU.

        >>> x = ag.zeros(2)
        >>> x.cpu() is x
        True
        """
        return self

    def cuda(self, device: int | str | None = None, non_blocking: bool = False) -> None:
        """Always a RuntimeError: autograd_lite runs on the CPU only."""
        check_device("cuda" if device is None else f"cuda:{device}", "cuda")

    @property
    def device(self) -> str:
        """Always "cpu" (a string, where PyTorch has a torch.device)."""
        return "cpu"

    def type(self, dtype: npt.DTypeLike | str | None = None) -> str | Tensor:
        """PyTorch's type name (``"torch.FloatTensor"`` for float32, ...), or with ``dtype`` (a
        dtype or such a name) the tensor converted, self if it already is, as torch.Tensor.type.

        >>> ag.tensor([1.0]).type(), ag.tensor([1.0]).type("torch.DoubleTensor").dtype
        ('torch.FloatTensor', dtype('float64'))
        """
        if dtype is None:
            if self.dtype not in _TYPE_NAMES:
                raise TypeError(f"type(): PyTorch has no tensor type name for {self.dtype}; "
                                "read .dtype instead")
            return _TYPE_NAMES[self.dtype]
        if isinstance(dtype, str):
            names = {name: d for d, name in _TYPE_NAMES.items()}
            if dtype not in names:
                raise TypeError(f"type(): unknown type name {dtype!r}; expected one such as "
                                "'torch.DoubleTensor', or a dtype")
            dtype = names[dtype]
        return self.to(dtype=dtype)

    def float(self) -> Tensor:
        """``to(float32)``: self if already float32, as torch.Tensor.float."""
        return self.to(np.float32)

    def double(self) -> Tensor:
        """``to(float64)``: self if already float64, as torch.Tensor.double."""
        return self.to(np.float64)

    def long(self) -> Tensor:
        """``to(int64)``: self if already int64 (no gradient flows), as torch.Tensor.long."""
        return self.to(np.int64)

    def int(self) -> Tensor:
        """``to(int32)``: self if already int32 (no gradient flows), as torch.Tensor.int."""
        return self.to(np.int32)

    def bool(self) -> Tensor:
        """``to(bool)``: self if already bool (no gradient flows), as torch.Tensor.bool.

        >>> ag.tensor([0.0, 2.0]).bool()
        tensor([False,  True])
        """
        return self.to(np.bool_)

    # --- new tensors with this one's dtype -----------------------------------------------------

    def new_zeros(self, *size: builtins.int | tuple[builtins.int, ...]
                  | list[builtins.int], dtype: npt.DTypeLike | None = None,
                  requires_grad: builtins.bool = False) -> Tensor:
        """Zeros of ``size`` with this tensor's dtype unless given, as torch.Tensor.new_zeros.

        >>> ag.tensor([1], dtype=np.int32).new_zeros(2)
        tensor([0, 0], dtype=int32)
        """
        return self.new_full(shape_arg(size), 0, dtype=dtype, requires_grad=requires_grad)

    def new_ones(self, *size: builtins.int | tuple[builtins.int, ...]
                  | list[builtins.int], dtype: npt.DTypeLike | None = None,
                 requires_grad: builtins.bool = False) -> Tensor:
        """Ones of ``size`` with this tensor's dtype unless given, as torch.Tensor.new_ones.

        >>> ag.tensor([1.0]).new_ones(2, 1).shape
        (2, 1)
        """
        return self.new_full(shape_arg(size), 1, dtype=dtype, requires_grad=requires_grad)

    def new_full(self, size: builtins.int | tuple[builtins.int, ...] | list[builtins.int],
                 fill_value: builtins.float, *, dtype: npt.DTypeLike | None = None,
                 requires_grad: builtins.bool = False) -> Tensor:
        """``fill_value`` in ``size`` with this tensor's dtype unless given, as
        torch.Tensor.new_full.

        >>> ag.tensor([1.0]).new_full((2,), 7)
        tensor([7., 7.])
        """
        from .creation import full

        return full(size, fill_value, dtype=self.dtype if dtype is None else dtype,
                    requires_grad=requires_grad)

    def new_tensor(self, data: TensorLike, *, dtype: npt.DTypeLike | None = None,
                   requires_grad: builtins.bool = False) -> Tensor:
        """A new leaf from ``data`` (copied) with this tensor's dtype unless given, as
        torch.Tensor.new_tensor.

        >>> ag.tensor([1.0], dtype=np.float64).new_tensor([1, 2]).dtype
        dtype('float64')
        """
        return Tensor(np.array(as_array(data)), requires_grad=requires_grad,
                      dtype=self.dtype if dtype is None else dtype)


_new = object.__new__


def as_array(x: TensorLike) -> np.ndarray:
    """The array behind a Tensor, or ``np.asarray`` of anything else (lists, numbers, arrays)."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)

# id(array) -> (weak reference to the array, the name of a tensor holding it)
NAMED_DATA: dict[int, tuple[weakref.ref[np.ndarray], str | None]] = {}


def name_of_array(array: np.ndarray) -> str | None:
    """The name given to a tensor whose data is ``array`` (kept while the array lives)."""
    entry = NAMED_DATA.get(id(array))
    return entry[1] if entry is not None and entry[0]() is array else None


class RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks: list[Any], hook: Any) -> None:  # a hook of any kind, its list
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _torch_axis(axis, keepdims, dim, keepdim):
    """numpy's (axis, keepdims), also accepted as PyTorch's (dim, keepdim)."""
    return (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)


def shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept both ``t.reshape(2, 3)`` and ``t.reshape((2, 3))``."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _dims_arg(dims: tuple[Any, ...], x: Tensor, name: str) -> tuple[int, ...]:
    """``flip(0, 1)``, ``flip((0, 1))`` or ``flip(0)`` as non-negative dims of ``x``."""
    return tuple(axis_index(d, x.ndim, name, x.shape) for d in shape_arg(dims))


# namedtuple classes made at run time; to a type checker, ValuesIndices
_RESULTS: dict[str, Callable[..., Any]] = {
    name: collections.namedtuple(name, ["values", "indices"]) for name in ("max", "min")}


def _extreme(x, name, dim, keepdim):
    """Tensor.max/min: of all elements, elementwise against a Tensor, or (values, indices)."""
    reduce, pairwise, arg = ((ops.max, ops.maximum, ops.argmax) if name == "max"
                             else (ops.min, ops.minimum, ops.argmin))
    if dim is None or isinstance(dim, Tensor):
        if keepdim:
            raise TypeError(f"{name}: keepdim needs a dim")
        return reduce(x) if dim is None else pairwise(x, dim)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{name}: dim must be one int, got {dim!r} (ag.{name}(x, axis={dim!r}) "
                        "reduces several axes, as numpy)")
    d = axis_index(dim, x.ndim, name, x.shape)
    indices = arg(x, d, True)
    where = list(np.indices(indices.shape, sparse=True))
    where[d] = indices.data
    values = ops.getitem(x, tuple(where))  # a gather: the gradient goes to the index returned
    if not keepdim:
        values, indices = ops.squeeze(values, d), ops.squeeze(indices, d)
    return _RESULTS[name](values, indices)


def _correction_args(name, dim, unbiased, keepdim, correction, axis, keepdims, ddof):
    """torch.var/std's arguments (and numpy's synonyms) as ops.var's (axis, ddof, keepdims)."""
    if isinstance(dim, bool):  # PyTorch's var(unbiased) form
        if unbiased is not None:
            raise TypeError(f"{name}: unbiased given twice")
        dim, unbiased = None, dim
    given = [c for c in (unbiased, correction, ddof) if c is not None]
    if len(given) > 1:
        raise TypeError(f"{name}: give one of unbiased, correction and ddof")
    if unbiased is not None:
        correction = int(unbiased)
    elif correction is None:
        correction = 1 if ddof is None else ddof
    dim, keepdim = _torch_axis(dim, keepdim, axis, keepdims)
    return dim, correction, keepdim


def _norm(x, p, dim, keepdim):
    """Tensor.norm as sums and powers of |x|; a zero norm passes on a zero gradient."""
    if x.dtype.kind != "f":
        raise RuntimeError(f"norm: expected a floating-point tensor, got {x.dtype}")
    if p == "fro":
        p = 2
    elif isinstance(p, str):
        raise ValueError(f"norm: p={p!r} is not available (only numbers, inf and 'fro')")
    a = ops.abs(x)
    if p in (math.inf, -math.inf):
        return (ops.max if p > 0 else ops.min)(a, dim, keepdim)
    if p == 0:
        return ops.sum(ops.astype(ops.ne(x, 0), x.dtype), dim, keepdim)
    s = ops.sum(ops.pow(a, p), dim, keepdim)
    zero = ops.eq(s, 0)  # d(s^(1/p))/ds is infinite at 0: send 0 there instead of nan
    return ops.where(zero, 0, ops.pow(ops.where(zero, 1, s), 1 / p))


def _check_same_dtype(x, other, name):
    if not isinstance(other, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(other).__name__}")
    if other.dtype != x.dtype:
        raise RuntimeError(f"{name}: the tensors have different dtypes, {x.dtype} and "
                           f"{other.dtype}")


def check_device(device: object, op_name: str) -> None:
    """Accept the CPU (``"cpu"``, ``"cpu:0"``); any other device is an error naming it."""
    if not isinstance(device, str):
        raise TypeError(f"{op_name}: expected a device such as 'cpu', got {device!r}")
    if device.partition(":")[0] != "cpu":
        raise RuntimeError(f"{op_name}: device {device!r} is not available: autograd_lite runs "
                           "on the CPU only")


_TYPE_NAMES = {np.dtype(k): f"torch.{v}Tensor" for k, v in [
    (np.float16, "Half"), (np.float32, "Float"), (np.float64, "Double"), (np.int8, "Char"),
    (np.int16, "Short"), (np.int32, "Int"), (np.int64, "Long"), (np.uint8, "Byte"),
    (np.bool_, "Bool")]}


# The ops make Tensors, so they are imported (and told the class) after it is defined.
bind_tensor_class(Tensor)
from . import ops  # noqa: E402

# --- docstrings of the one-line methods above, kept here so the class reads as a table ---------

_OPERATORS = [  # (method, the expression it implements, the op it calls)
    ("__add__", "self + other", "add"), ("__radd__", "other + self", "add"),
    ("__sub__", "self - other", "sub"), ("__rsub__", "other - self", "sub"),
    ("__mul__", "self * other", "mul"), ("__rmul__", "other * self", "mul"),
    ("__truediv__", "self / other", "div"), ("__rtruediv__", "other / self", "div"),
    ("__pow__", "self ** other", "pow"), ("__rpow__", "other ** self", "pow"),
    ("__matmul__", "self @ other", "matmul"), ("__rmatmul__", "other @ self", "matmul"),
    ("__neg__", "-self", "neg"), ("__abs__", "abs(self)", "abs"),
    ("__getitem__", "self[index]", "getitem"),
    ("__eq__", "self == other", "eq"), ("__ne__", "self != other", "ne"),
    ("__lt__", "self < other", "lt"), ("__le__", "self <= other", "le"),
    ("__gt__", "self > other", "gt"), ("__ge__", "self >= other", "ge"),
]
# methods that call the op of the same name, which PyTorch's Tensor has with the same meaning
_SAME_AS_OP = ["add", "sub", "mul", "div", "neg", "square", "exp", "log", "sqrt", "abs", "sin",
               "cos", "tanh", "sigmoid", "erf", "relu", "sign", "pow", "maximum", "minimum",
               "matmul", "flatten", "swapaxes", "broadcast_to"]
_OWN_DOCS = {  # the rest: where PyTorch differs, the docstring says how
    "add_": "``self += other`` in place (also ``__iadd__``), as torch.Tensor.add_.",
    "sub_": "``self -= other`` in place (also ``__isub__``), as torch.Tensor.sub_.",
    "mul_": "``self *= other`` in place (also ``__imul__``), as torch.Tensor.mul_.",
    "div_": "``self /= other`` in place (also ``__itruediv__``), as torch.Tensor.div_.",
    "__pos__": "``+self``: self itself.",
    "clip": "Limit to [min, max] (either may be None), as torch.clamp (``clamp`` is this method).",
    "dot": "``self @ other``; unlike torch.dot (two 1-d tensors only), any shapes matmul takes.",
    "reshape": "The same elements in ``shape`` (ints or one tuple; one may be -1), as "
               "torch.reshape; ``view`` is this method, so unlike PyTorch's it copies where "
               "the memory does not allow a view.",
    "permute": "Reorder all dims, ``permute(1, 0)`` or ``permute((1, 0))``, as torch.permute.",
    "squeeze": "Drop size-1 dims (all, or those in ``axis``); unlike torch.squeeze the keyword is "
               "numpy's ``axis``, and naming a dim whose size is not 1 is an error.",
    "unsqueeze": "Insert a size-1 dim at ``axis``, as torch.unsqueeze; the keyword is numpy's "
                 "``axis``, and a tuple inserts several.",
    "astype": "numpy's ``astype``: a converted copy; PyTorch has no astype (its ``to(dtype)`` "
              "returns self when the dtype is unchanged).",
    "softplus": "log(1 + e^self) without overflow, as torch.nn.functional.softplus with beta=1 "
                "(PyTorch's Tensor has no such method).",
}
for _name, _expr, _op in _OPERATORS:
    getattr(Tensor, _name).__doc__ = f"``{_expr}``, as ``ag.{_op}``."
for _name in _SAME_AS_OP:
    _summary = getattr(ops, _name).__doc__.strip().splitlines()[0]
    getattr(Tensor, _name).__doc__ = f"As torch.Tensor.{_name}, by ``ag.{_name}``: {_summary}"
for _name, _doc in _OWN_DOCS.items():
    getattr(Tensor, _name).__doc__ = _doc

