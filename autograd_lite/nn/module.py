"""``Module`` and ``Parameter``: PyTorch's model-building API, at a size you can read.

Assigning a ``Parameter`` or a ``Module`` as an attribute registers it (``__setattr__`` routes it
into an ordered dict), so ``parameters()``, ``state_dict()``, ``train()`` and ``zero_grad()``
find everything without the user listing it.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from .._tensor import RemovableHandle, Tensor, as_array
from ..grad_mode import grad_mode
from . import calls

if TYPE_CHECKING:
    from .._tensor import TensorLike

_M = TypeVar("_M", bound="Module")  # the methods that return self return the module's own type

_TRAINABLE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class Parameter(Tensor):
    """A Tensor that is a module's learnable weight: requires grad by default."""

    __slots__ = ()

    def __init__(self, data: TensorLike, requires_grad: bool = True) -> None:
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(np.asarray(data), requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class for layers and models: subclass it, assign layers/Parameters in ``__init__``,
    compute in ``forward``; call the module like a function.

    >>> class MLP(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1, self.fc2 = ag.nn.Linear(2, 8), ag.nn.Linear(8, 1)
    ...     def forward(self, x):
    ...         return self.fc2(ag.relu(self.fc1(x)))
    >>> model = MLP()
    >>> [name for name, p in model.named_parameters()]
    ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    >>> model(ag.ones(4, 2)).shape
    (4, 1)
    """

    _parameters: OrderedDict[str, Parameter | None]
    _buffers: OrderedDict[str, Tensor | None]
    _modules: OrderedDict[str, Module]  # (add_module(name, None) leaves a None, as PyTorch)
    _non_persistent_buffers_set: set[str]
    training: bool
    _forward_hooks: list[tuple[str, Callable[..., Any]]]

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "training", True)
        # forward hooks, in registration order: ("pre", hook) and ("post", hook) entries in one
        # list, so calling a module without hooks costs a single emptiness check
        object.__setattr__(self, "_forward_hooks", [])

    # --- attribute registration ---------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        """Register a Parameter or Module by its attribute name. Unlike PyTorch, which silently
        registers nothing, a plain list/tuple/dict holding Modules or Parameters is a TypeError
        pointing to ModuleList/ModuleDict (ParameterList/ParameterDict).

        >>> class Bad(ag.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.layers = [ag.nn.Linear(2, 2)]
        >>> Bad()
        Traceback (most recent call last):
        TypeError: cannot assign a plain list holding Modules to 'layers': ...
        """
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign '{name}' before Module.__init__() is called: "
                                 "call super().__init__() first in your __init__")
        if isinstance(value, (list, tuple, dict)):
            _refuse_plain_container(name, value)
        if value is not None:
            _refuse_replacing(name, value, self._parameters, Parameter, "parameter")
            _refuse_replacing(name, value, self._modules, Module, "child module")
        if name in self._buffers and not isinstance(value, Parameter) and (
                value is None or isinstance(value, Tensor)):
            self._buffers[name] = value  # a new value for a buffer stays a buffer, as in PyTorch
            return
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers_set.discard(name)
        if isinstance(value, (Parameter, Module)):
            self.__dict__.pop(name, None)  # else an old plain attribute would shadow it
            if isinstance(value, Parameter):
                self._parameters[name] = value
            else:
                self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    # a registered Parameter, buffer or sub-module: Any, so that each is typed as its subclass's
    # __init__ assigned it (mypy reads those assignments), and other names are not refused
    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: look in the registries, else a clear error
        for registry in ("_parameters", "_buffers", "_modules"):
            items = self.__dict__.get(registry)
            if items is not None and name in items:
                return items[name]
        raise AttributeError(f"'{type(self).__name__}' module has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def _check_name(self, kind, name, registry):
        # PyTorch's checks on a name to register, with its error types
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{kind} name must be non-empty and contain no '.', got {name!r}")
        if name not in registry and hasattr(self, name):
            raise KeyError(f"attribute '{name}' already exists")

    def register_buffer(self, name: str, tensor: TensorLike | None,
                        persistent: bool = True) -> None:
        """Register non-learnable state (e.g. BatchNorm's running mean), saved in state_dict
        unless ``persistent=False``; a numpy array is wrapped in a Tensor.

        >>> m = ag.nn.Module()
        >>> m.register_buffer("steps", ag.zeros(1))
        >>> m.register_buffer("scratch", ag.zeros(2), persistent=False)
        >>> list(m.state_dict()), [name for name, _ in m.named_buffers()]
        (['steps'], ['steps', 'scratch'])
        """
        self._check_name("buffer", name, self._buffers)
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor if tensor is None or isinstance(tensor, Tensor) \
            else Tensor(np.asarray(tensor))
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None: a declared but absent parameter, like ``bias=False``).

        >>> m = ag.nn.Module()
        >>> m.register_parameter("bias", None)
        >>> m.bias is None, list(m.state_dict())
        (True, [])
        """
        self._check_name("parameter", name, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot register a {type(param).__name__} as parameter '{name}' "
                            "(a Parameter or None is required)")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` under ``name`` (which need not be an identifier, e.g. ``"0"``).

        >>> m = ag.nn.Module()
        >>> m.add_module("0", ag.nn.Linear(1, 1))
        >>> [name for name, _ in m.named_parameters()]
        ['0.weight', '0.bias']
        """
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_name("module", name, self._modules)
        self.__dict__.pop(name, None)
        self._modules[name] = module  # type: ignore[assignment]  # (None: see _modules)

    # --- calling ------------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # (any override fits)
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not grad_mode.enabled:  # no graph is recorded: nothing to note
            if not self._forward_hooks:
                return self.forward(*args, **kwargs)
            return self._call_with_hooks(args, kwargs)
        first = calls.next_number()  # the call is noted so viz can draw it as one box
        if not self._forward_hooks:
            output = self.forward(*args, **kwargs)
        else:
            output = self._call_with_hooks(args, kwargs)
        calls.note(self, args, output, first)
        return output

    def _call_with_hooks(self, args, kwargs):
        # snapshots: a hook may remove itself (or another) while running
        for kind, hook in tuple(self._forward_hooks):
            if kind == "pre":
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for kind, hook in tuple(self._forward_hooks):
            if kind == "post":
                result = hook(self, args, output)
                if result is not None:
                    output = result
        return output

    def register_forward_pre_hook(
            self, hook: Callable[[Module, tuple[Any, ...]], Any]) -> RemovableHandle:
        """Call ``hook(module, inputs)`` before each forward; ``inputs`` is the tuple of
        positional arguments. A non-None return replaces them (a non-tuple is wrapped in one).
        Returns a handle whose ``remove()`` unregisters the hook.

        >>> layer = ag.nn.Identity()
        >>> handle = layer.register_forward_pre_hook(lambda m, inputs: (inputs[0] * 2,))
        >>> layer(ag.tensor([1.0, 2.0]))
        tensor([2., 4.])
        >>> handle.remove()
        >>> layer(ag.tensor([1.0, 2.0]))
        tensor([1., 2.])
        """
        return self._add_forward_hook("pre", hook, "register_forward_pre_hook")

    def register_forward_hook(
            self, hook: Callable[[Module, tuple[Any, ...], Any], Any]) -> RemovableHandle:
        """Call ``hook(module, inputs, output)`` after each forward (``inputs``: the tuple of
        positional arguments forward received); a non-None return replaces the output.
        Returns a handle whose ``remove()`` unregisters the hook.

        >>> model, seen = ag.nn.Sequential(ag.nn.Linear(2, 3), ag.nn.ReLU()), []
        >>> handle = model[0].register_forward_hook(lambda m, inputs, out: seen.append(out.shape))
        >>> _ = model(ag.ones(4, 2))
        >>> seen
        [(4, 3)]
        >>> handle.remove()
        """
        return self._add_forward_hook("post", hook, "register_forward_hook")

    def _add_forward_hook(self, kind, hook, caller):
        if not callable(hook):
            raise TypeError(f"{caller}: expected a callable, got {type(hook).__name__}")
        entry = (kind, hook)
        self._forward_hooks.append(entry)
        return RemovableHandle(self._forward_hooks, entry)

    # --- traversal ----------------------------------------------------------------------------

    def named_modules(self, memo: set[Module] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every sub-module, depth first; a module
        already in ``memo`` (or seen before, with ``remove_duplicate``) is skipped.

        >>> shared = ag.nn.Linear(1, 1)
        >>> model = ag.nn.Sequential(shared, ag.nn.ReLU(), shared)
        >>> [name for name, _ in model.named_modules(prefix="net")]
        ['net', 'net.0', 'net.1']
        >>> [name for name, _ in model.named_modules(remove_duplicate=False)]
        ['', '0', '1', '2']
        """
        memo = set() if memo is None else memo
        if self in memo:
            return
        if remove_duplicate:
            memo.add(self)
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry, prefix, recurse, remove_duplicate):
        # (dotted name, tensor) from each module's ``registry``; a shared tensor once
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_name, module in modules:
            for name, t in getattr(module, registry).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{module_name}.{name}" if module_name else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter), e.g. ``layers.0.weight``; a shared Parameter appears once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer), persistent or not; a shared buffer appears once."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # --- modes and gradients ------------------------------------------------------------------

    def train(self: _M, mode: bool = True) -> _M:
        """Training mode (Dropout drops, BatchNorm uses batch statistics); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self: _M) -> _M:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def apply(self: _M, fn: Callable[[Module], object]) -> _M:
        """Call ``fn(module)`` on every child (recursively), then on self; returns self.

        >>> model = ag.nn.Sequential(ag.nn.Linear(2, 2), ag.nn.ReLU())
        >>> seen = []
        >>> model.apply(lambda m: seen.append(type(m).__name__)) is model
        True
        >>> seen
        ['Linear', 'ReLU', 'Sequential']
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self: _M, requires_grad: bool = True) -> _M:
        """Set ``requires_grad`` on every parameter (e.g. False to freeze them); returns self.

        >>> layer = ag.nn.Linear(2, 1).requires_grad_(False)
        >>> [p.requires_grad for p in layer.parameters()]
        [False, False]
        """
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def to(self: _M, device: str | Tensor | npt.DTypeLike | None = None,
           dtype: npt.DTypeLike | None = None, non_blocking: bool = False) -> _M:
        """Cast the floating-point parameters and buffers in place (``to(np.float64)``,
        ``to(dtype=...)``, or ``to(tensor)`` for that tensor's dtype); returns self. The only
        device is ``"cpu"``: naming it changes nothing, any other device is a RuntimeError.

        >>> layer = ag.nn.Linear(2, 1)
        >>> layer.to(np.float64) is layer, layer.weight.dtype
        (True, dtype('float64'))
        >>> layer.to("cpu").weight.dtype
        dtype('float64')
        """
        if isinstance(device, Tensor):
            dtype, device = device.dtype, None
        elif device is not None and not isinstance(device, str) and dtype is None:
            device, dtype = None, device  # to(np.float64): a dtype in the device's place
        if device is not None:
            _check_device(device)
        return self if dtype is None else self._cast(dtype, "to")

    def float(self: _M) -> _M:
        """Cast floating-point parameters and buffers to float32 (in place); returns self.

        >>> ag.nn.Linear(2, 1, dtype=np.float64).float().weight.dtype
        dtype('float32')
        """
        return self._cast(np.float32, "float")

    def double(self: _M) -> _M:
        """Cast floating-point parameters and buffers to float64 (in place); returns self.

        >>> ag.nn.Linear(2, 1).double().weight.dtype
        dtype('float64')
        """
        return self._cast(np.float64, "double")

    def half(self: _M) -> _M:
        """Refused: autograd_lite does not train in float16 (numpy has no fast half math).

        >>> ag.nn.Linear(2, 1).half()
        Traceback (most recent call last):
        TypeError: Module.half: autograd_lite does not train in float16; ...
        """
        return self._cast(np.float16, "half")

    def _cast(self: _M, dtype: npt.DTypeLike, caller: str) -> _M:
        # PyTorch's rule: only floating-point tensors change (num_batches_tracked stays int64);
        # the Parameter objects stay the same, so an optimizer holding them keeps working
        dtype = _trainable_dtype(dtype, caller)
        for module in self.modules():
            for registry in (module._parameters, module._buffers):
                for t in registry.values():
                    if t is not None and t.dtype.kind == "f" and t.dtype != dtype:
                        grad = t.grad
                        t.data = t.data.astype(dtype)
                        t.grad = None if grad is None else grad.data.astype(dtype)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters before the next backward()."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    # --- state ----------------------------------------------------------------------------------

    def _state_entries(self):
        # PyTorch's state_dict order: each module's parameters, then its persistent buffers,
        # then its children; a shared tensor appears under every name it has
        for module_name, module in self.named_modules(remove_duplicate=False):
            dot = f"{module_name}." if module_name else ""
            for name, p in module._parameters.items():
                if p is not None:
                    yield dot + name, p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent_buffers_set:
                    yield dot + name, b

    def state_dict(self, *, prefix: str = "",
                   keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name, as Tensors detached from the
        graph but sharing memory with the model (as in PyTorch: copy them to keep a snapshot,
        e.g. ``{k: v.clone() for k, v in model.state_dict().items()}``). ``keep_vars=True``
        gives the Parameters themselves.

        >>> layer = ag.nn.Linear(2, 1)
        >>> state = layer.state_dict()
        >>> list(state), type(state["weight"]).__name__
        (['weight', 'bias'], 'Tensor')
        >>> np.shares_memory(state["weight"].data, layer.weight.data)
        True
        """
        return OrderedDict((prefix + name, t if keep_vars else t.detach())
                           for name, t in self._state_entries())

    def load_state_dict(self, state_dict: Mapping[str, TensorLike],
                        strict: bool = True) -> IncompatibleKeys:
        """Copy values (Tensors or arrays) into the parameters and buffers, in place; the model
        never aliases them. Everything is checked first: missing, unexpected or wrongly shaped
        entries raise naming them, and change nothing.

        >>> layer = ag.nn.Linear(1, 1)
        >>> layer.load_state_dict({"weight": np.array([[2.0]]), "bias": ag.tensor([0.5])})
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        >>> layer.weight
        Parameter containing:
        tensor([[2.]], requires_grad=True)
        """
        targets = OrderedDict(self._state_entries())
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        values = {}
        problems = []
        for name, target in targets.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            value = as_array(value)
            if value.shape != target.shape:
                problems.append(f"'{name}' has shape {value.shape} in the state_dict but "
                                f"{target.shape} in the model")
            elif not np.can_cast(value.dtype, target.dtype, "same_kind"):
                problems.append(f"'{name}' has dtype {value.dtype}, the model expects "
                                f"{target.dtype}")
            values[name] = value
        if strict and missing:
            problems.append(f"missing keys: {missing}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        if problems:
            raise ValueError(f"load_state_dict for {type(self).__name__}: "
                             + "; ".join(problems))
        for name, value in values.items():
            np.copyto(targets[name].data, value, casting="same_kind")
        return IncompatibleKeys(missing, unexpected)

    # --- display --------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The layer's own settings, shown in its repr (e.g. ``in_features=2, ...``)."""
        return ""

    def _repr_lines(self) -> list[str]:
        # one "(name): ..." line (or block) per child; ParameterList/Dict list their entries
        return [f"({name}): " + repr(child).replace("\n", "\n  ")
                for name, child in self._modules.items()]

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        count = self.num_parameters()
        note = f"  # {count:,} parameters" if count else ""
        lines = self._repr_lines()
        if not lines:
            return f"{head}){note}"
        return f"{head}{note}\n" + "\n".join("  " + line for line in lines) + "\n)"


def _refuse_replacing(name, value, registry, kind, what):
    """A registered parameter (child module) is replaced by another or by None, never by a
    value of another kind: PyTorch's TypeError, so ``self.weight = tensor`` cannot silently
    stop training the weight."""
    if name in registry and not isinstance(value, kind):
        raise TypeError(f"cannot assign '{type(value).__name__}' as {what} '{name}' "
                        f"(ag.nn.{kind.__name__} or None expected)")


def _refuse_plain_container(name, value):
    """A plain list/tuple/dict would hide the Modules or Parameters in it from parameters(),
    state_dict(), train() and to(): refuse it, naming the container to use instead."""
    items = list(value.values() if isinstance(value, dict) else value)
    kind = ("Module" if any(isinstance(v, Module) for v in items)
            else "Parameter" if any(isinstance(v, Parameter) for v in items) else None)
    if kind is not None:
        wrapper = f"{kind}{'Dict' if isinstance(value, dict) else 'List'}"
        raise TypeError(f"cannot assign a plain {type(value).__name__} holding {kind}s to "
                        f"'{name}': they would not be registered (no parameters(), state_dict(), "
                        f"train() or to() for them); use nn.{wrapper} instead, or "
                        f"object.__setattr__ to keep them unregistered on purpose")


def _trainable_dtype(dtype, caller):
    """``dtype`` as a numpy dtype a module can hold: float32 or float64."""
    dtype = np.dtype(dtype)
    if dtype == np.float16:
        raise TypeError(f"Module.{caller}: autograd_lite does not train in float16; use "
                        "float() (float32) or double() (float64)")
    if dtype not in _TRAINABLE_DTYPES:
        raise TypeError(f"Module.{caller}: only floating-point dtypes are accepted (float32 or "
                        f"float64), got {dtype}")
    return dtype


def _check_device(device):
    """Accept the CPU (``"cpu"``, ``"cpu:0"``); any other device is an error naming it."""
    if not isinstance(device, str):
        raise TypeError(f"Module.to: expected a device such as 'cpu' or a dtype such as "
                        f"np.float64, got {device!r}")
    if device.partition(":")[0] != "cpu":
        raise RuntimeError(f"Module.to: device {device!r} is not available: autograd_lite runs "
                           "on the CPU only (a dtype is given as np.float32 or np.float64)")
