"""Tensor: a numpy array plus what autograd needs (requires_grad, grad, the node it came from).

Every operator and method calls a registered op from ``ops``; the Tensor itself computes
nothing, so each gradient rule lives in exactly one place.
"""

from __future__ import annotations

import weakref

import numpy as np

from .engine import version_counter
from .errors import prefixed
from .grad_mode import is_grad_enabled, set_grad_enabled
from .ops.registry import NUMPY_DISPATCH, bind_tensor_class, check_dtype, to_array


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    >>> x = ag.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    # _version is made on first use; _base (the tensor this is a view of), _hooks when needed.
    __slots__ = ("data", "_requires_grad", "_grad", "grad_fn", "_name", "_version", "_base",
                 "_hooks", "__weakref__")
    __array_priority__ = 1000  # numpy defers ``ndarray + Tensor`` to Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
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
    def _make(data, grad_fn):
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
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
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
    def grad(self, value):
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
    def name(self, value):
        self._name = None if value is None else str(value)
        if value is not None:  # the graph keeps arrays, not tensors: name the array
            key = id(self.data)
            NAMED_DATA[key] = (weakref.ref(self.data, lambda _: NAMED_DATA.pop(key, None)),
                               self._name)

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user rather than by an op that recorded a graph."""
        return self.grad_fn is None

    def backward(self, gradient=None, retain_graph: bool = False, create_graph: bool = False):
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

    def clone(self) -> Tensor:
        """A copy with its own memory; gradients flow back to this tensor."""
        return ops.clone(self)

    # --- hooks -------------------------------------------------------------------------------

    def register_hook(self, hook) -> RemovableHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned Tensor
        replaces the gradient. Returns a handle whose ``remove()`` unregisters the hook."""
        if not callable(hook):
            raise TypeError(f"register_hook: expected a callable, got {type(hook).__name__}")
        if not self._requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so no gradient "
                               "will ever reach it")
        if self.grad_fn is None:
            if getattr(self, "_hooks", None) is None:
                self._hooks = []
            hooks = self._hooks
        else:
            if self.grad_fn.hooks is None:
                self.grad_fn.hooks = []
            hooks = self.grad_fn.hooks
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if self.grad_fn is None or self.retains_grad:
            return
        ref = weakref.ref(self)  # the hook must not keep the tensor (and its graph) alive

        def retain(grad):
            t = ref()
            if t is not None:
                g = Tensor._make(np.array(grad.data), None)
                t._grad = g if t._grad is None else Tensor._make(t._grad.data + g.data, None)

        retain.retains_grad = True
        self.register_hook(retain)

    @property
    def retains_grad(self) -> bool:
        hooks = self.grad_fn.hooks if self.grad_fn is not None else None
        return any(getattr(h, "retains_grad", False) for h in hooks or ())

    # --- in-place operations, with PyTorch's rules ---------------------------------------------

    def _inplace(self, name, compute, *others):
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

    def add_(self, other): return self._inplace("add_", lambda t: ops.add(t, other), other)
    def sub_(self, other): return self._inplace("sub_", lambda t: ops.sub(t, other), other)
    def mul_(self, other): return self._inplace("mul_", lambda t: ops.mul(t, other), other)
    def div_(self, other): return self._inplace("div_", lambda t: ops.div(t, other), other)
    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_

    def fill_(self, value) -> Tensor:
        """Set every element to ``value`` in place."""
        return self._inplace("fill_", lambda t: ops.where(True, value, t), value)

    def zero_(self) -> Tensor:
        """Set every element to zero in place (e.g. ``x.grad.zero_()``)."""
        return self.fill_(0)

    def copy_(self, src) -> Tensor:
        """Copy ``src`` (broadcast to this shape) into this tensor in place."""
        return self._inplace("copy_", lambda t: ops.where(True, src, t), src)

    def __setitem__(self, index, value):
        self._inplace("__setitem__", lambda t: ops.setitem(t, value, index), value)

    # --- array attributes ----------------------------------------------------------------------

    shape = property(lambda self: self.data.shape, doc="Tuple of dimensions, as numpy's.")
    ndim = property(lambda self: self.data.ndim, doc="Number of dimensions.")
    size = property(lambda self: self.data.size, doc="Number of elements.")
    dtype = property(lambda self: self.data.dtype, doc="The numpy dtype of the data.")

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied); never part of the graph."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape "
                             f"{self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter: the repr, plus a picture of the graph when small (needs Graphviz)."""
        from . import viz

        return viz.tensor_mimebundle(self)

    def __array__(self, dtype=None, copy=None):
        """numpy 2's protocol: ``np.array(t)`` copies, ``np.asarray(t)`` shares the memory."""
        if copy is False and dtype is not None and np.dtype(dtype) != self.data.dtype:
            raise ValueError(f"np.asarray(copy=False): a {self.data.dtype} tensor cannot be "
                             f"viewed as {np.dtype(dtype)} without a copy")
        return np.array(self.data, dtype, copy=copy)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iub" or self.data.size != 1:
            raise TypeError(f"only integer tensors of one element can be used as an index, got "
                            f"dtype {self.dtype} shape {self.shape}")
        return int(self.data.item())

    __hash__ = object.__hash__

    def __repr__(self):
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

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        op = NUMPY_DISPATCH.get(ufunc) if method == "__call__" and not kwargs else None
        if op is None:
            return NotImplemented
        return op(*inputs)

    def __array_function__(self, func, types, args, kwargs):
        op = NUMPY_DISPATCH.get(func)
        if op is None:
            return NotImplemented
        return op(*args, **kwargs)

    # --- operators -----------------------------------------------------------------------------

    def __add__(self, other): return ops.add(self, other)
    def __radd__(self, other): return ops.add(other, self)
    def __sub__(self, other): return ops.sub(self, other)
    def __rsub__(self, other): return ops.sub(other, self)
    def __mul__(self, other): return ops.mul(self, other)
    def __rmul__(self, other): return ops.mul(other, self)
    def __truediv__(self, other): return ops.div(self, other)
    def __rtruediv__(self, other): return ops.div(other, self)
    def __pow__(self, other): return ops.pow(self, other)
    def __rpow__(self, other): return ops.pow(other, self)
    def __matmul__(self, other): return ops.matmul(self, other)
    def __rmatmul__(self, other): return ops.matmul(other, self)
    def __neg__(self): return ops.neg(self)
    def __pos__(self): return self
    def __abs__(self): return ops.abs(self)
    def __getitem__(self, index): return ops.getitem(self, index)
    def __eq__(self, other): return ops.eq(self, other)
    def __ne__(self, other): return ops.ne(self, other)
    def __lt__(self, other): return ops.lt(self, other)
    def __le__(self, other): return ops.le(self, other)
    def __gt__(self, other): return ops.gt(self, other)
    def __ge__(self, other): return ops.ge(self, other)

    # --- methods (numpy / PyTorch names) -------------------------------------------------------

    def add(self, other): return ops.add(self, other)
    def sub(self, other): return ops.sub(self, other)
    def mul(self, other): return ops.mul(self, other)
    def div(self, other): return ops.div(self, other)
    def neg(self): return ops.neg(self)
    def square(self): return ops.square(self)
    def exp(self): return ops.exp(self)
    def log(self): return ops.log(self)
    def sqrt(self): return ops.sqrt(self)
    def abs(self): return ops.abs(self)
    def sin(self): return ops.sin(self)
    def cos(self): return ops.cos(self)
    def tanh(self): return ops.tanh(self)
    def sigmoid(self): return ops.sigmoid(self)
    def softplus(self): return ops.softplus(self)
    def erf(self): return ops.erf(self)
    def relu(self): return ops.relu(self)
    def sign(self): return ops.sign(self)
    def pow(self, exponent): return ops.pow(self, exponent)
    def maximum(self, other): return ops.maximum(self, other)
    def minimum(self, other): return ops.minimum(self, other)
    def clip(self, min=None, max=None): return ops.clip(self, min, max)
    clamp = clip
    def matmul(self, other): return ops.matmul(self, other)
    def dot(self, other): return ops.matmul(self, other)

    # numpy's axis/keepdims; PyTorch's dim/keepdim also work where the meaning is the same
    # (not for max/min, which return (values, indices) in PyTorch, nor var/std's default ddof)
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.sum(self, *_torch_axis(axis, keepdims, dim, keepdim))

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.mean(self, *_torch_axis(axis, keepdims, dim, keepdim))

    def max(self, axis=None, keepdims=False): return ops.max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return ops.min(self, axis, keepdims)
    def var(self, axis=None, ddof=0, keepdims=False): return ops.var(self, axis, ddof, keepdims)
    def std(self, axis=None, ddof=0, keepdims=False): return ops.std(self, axis, ddof, keepdims)
    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.logsumexp(self, *_torch_axis(axis, keepdims, dim, keepdim))

    def softmax(self, axis=-1, *, dim=None):
        return ops.softmax(self, _torch_axis(axis, False, dim, None)[0])

    def log_softmax(self, axis=-1, *, dim=None):
        return ops.log_softmax(self, _torch_axis(axis, False, dim, None)[0])

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.argmax(self, *_torch_axis(axis, keepdims, dim, keepdim))

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.argmin(self, *_torch_axis(axis, keepdims, dim, keepdim))

    def reshape(self, *shape): return ops.reshape(self, shape_arg(shape))
    view = reshape
    def flatten(self, start_dim=0, end_dim=-1): return ops.flatten(self, start_dim, end_dim)
    def transpose(self, *axes): return ops.transpose(self, _axes_arg(axes))
    def permute(self, *axes): return ops.transpose(self, shape_arg(axes))
    def swapaxes(self, axis1, axis2): return ops.swapaxes(self, axis1, axis2)
    T = property(lambda self: ops.transpose(self), doc="The tensor with its axes reversed.")
    mT = property(lambda self: ops.swapaxes(self, -2, -1), doc="Transpose of the last 2 axes.")
    def broadcast_to(self, shape): return ops.broadcast_to(self, shape)
    def expand(self, *shape):
        """torch.Tensor.expand: broadcast_to, where -1 keeps a dimension's size."""
        shape = shape_arg(shape)
        lead = len(shape) - self.ndim
        return ops.broadcast_to(self, tuple(self.shape[i - lead] if n == -1 and i >= lead else n
                                            for i, n in enumerate(shape)))
    def squeeze(self, axis=None): return ops.squeeze(self, axis)
    def unsqueeze(self, axis): return ops.unsqueeze(self, axis)

    def astype(self, dtype): return ops.astype(self, dtype)
    def float(self): return ops.astype(self, np.float32)
    def double(self): return ops.astype(self, np.float64)
    def long(self): return ops.astype(self, np.int64)


_new = object.__new__


def as_array(x) -> np.ndarray:
    """The array behind a Tensor, or ``np.asarray`` of anything else (lists, numbers, arrays)."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)

NAMED_DATA = {}  # id(array) -> (weak reference to the array, the name of a tensor holding it)


def name_of_array(array) -> str | None:
    """The name given to a tensor whose data is ``array`` (kept while the array lives)."""
    entry = NAMED_DATA.get(id(array))
    return entry[1] if entry is not None and entry[0]() is array else None


class RemovableHandle:
    """Returned by ``register_hook``: ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _torch_axis(axis, keepdims, dim, keepdim):
    """numpy's (axis, keepdims), also accepted as PyTorch's (dim, keepdim)."""
    return (axis if dim is None else dim), (keepdims if keepdim is None else keepdim)


def shape_arg(shape):
    """Accept both ``t.reshape(2, 3)`` and ``t.reshape((2, 3))``."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _axes_arg(axes):
    """Accept ``t.transpose()``, ``t.transpose(None)``, ``(1, 0)`` or ``((1, 0),)``."""
    return None if not axes or axes == (None,) else shape_arg(axes)


# The ops make Tensors, so they are imported (and told the class) after it is defined.
bind_tensor_class(Tensor)
from . import ops  # noqa: E402
