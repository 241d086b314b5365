"""``Module`` and ``Parameter``: PyTorch's model-building API, at a size you can read.

Assigning a ``Parameter`` or a ``Module`` as an attribute registers it (``__setattr__`` routes it
into an ordered dict), so ``parameters()``, ``state_dict()``, ``train()`` and ``zero_grad()``
find everything without the user listing it.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from .._tensor import RemovableHandle, Tensor, as_array


class Parameter(Tensor):
    """A Tensor that is a module's learnable weight: requires grad by default."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True):
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(np.asarray(data), requires_grad=requires_grad)

    def __repr__(self):
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

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        # forward hooks, in registration order: ("pre", hook) and ("post", hook) entries in one
        # list, so calling a module without hooks costs a single emptiness check
        object.__setattr__(self, "_forward_hooks", [])

    # --- attribute registration ---------------------------------------------------------------

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign '{name}' before Module.__init__() is called: "
                                 "call super().__init__() first in your __init__")
        if name in self._buffers and not isinstance(value, Parameter) and (
                value is None or isinstance(value, Tensor)):
            self._buffers[name] = value  # a new value for a buffer stays a buffer, as in PyTorch
            return
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        if isinstance(value, (Parameter, Module)):
            self.__dict__.pop(name, None)  # else an old plain attribute would shadow it
            registry = self._parameters if isinstance(value, Parameter) else self._modules
            registry[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # only called when normal lookup fails: look in the registries, else a clear error
        for registry in ("_parameters", "_buffers", "_modules"):
            items = self.__dict__.get(registry)
            if items is not None and name in items:
                return items[name]
        raise AttributeError(f"'{type(self).__name__}' module has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor) -> None:
        """Register non-learnable state (e.g. BatchNorm's running mean) saved in state_dict."""
        self.__dict__.pop(name, None)
        self._buffers[name] = tensor if tensor is None or isinstance(tensor, Tensor) \
            else Tensor(np.asarray(tensor))

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    # --- calling ------------------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if not self._forward_hooks:
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

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

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
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

    def register_forward_hook(self, hook) -> RemovableHandle:
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

    def named_modules(self, prefix: str = "", memo=None):
        """(dotted name, module) for this module and every sub-module, each once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """(dotted name, Parameter), e.g. ``layers.0.weight``; a shared Parameter appears once."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, p in module._parameters.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = ""):
        for module_name, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{module_name}.{name}" if module_name else name), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    # --- modes and gradients ------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops, BatchNorm uses batch statistics); returns self."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters before the next backward()."""
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # --- state ----------------------------------------------------------------------------------

    def state_dict(self) -> OrderedDict:
        """Copies of every parameter and buffer as numpy arrays, by dotted name."""
        state = OrderedDict()
        for name, p in self.named_parameters():
            state[name] = p.data.copy()
        for name, b in self.named_buffers():
            state[name] = b.data.copy()
        return state

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values into the parameters and buffers, in place. Everything is checked first:
        missing, unexpected or wrongly shaped entries raise naming them, and change nothing."""
        targets = OrderedDict(self.named_parameters())
        targets.update(self.named_buffers())
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

    def __repr__(self):
        head = f"{type(self).__name__}({self.extra_repr()}"
        count = self.num_parameters()
        note = f"  # {count:,} parameters" if count else ""
        if not self._modules:
            return f"{head}){note}"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ")
                 for name, child in self._modules.items()]
        return f"{head}{note}\n" + "\n".join(lines) + "\n)"
