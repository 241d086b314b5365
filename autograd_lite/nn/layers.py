"""Layers: Linear, Sequential, Flatten, Identity, Dropout, BatchNorm1d and activation modules,
and the containers ModuleList, ModuleDict, ParameterList and ParameterDict. Each forward is a
call into ``functional``; the modules hold parameters and settings."""

from __future__ import annotations

import math
import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import numpy.typing as npt

from .. import creation
from .. import ops as _ops
from .._tensor import Tensor, as_array
from . import functional as F
from . import init
from .module import Module, Parameter

if TYPE_CHECKING:
    from .._tensor import TensorLike
    from ..creation import SeedLike


def _check_input_dtype(layer, x, name, reference):
    """Refuse an input whose dtype differs from the layer's ``reference`` tensor (numpy would
    silently upcast; PyTorch raises), or that is not floating-point at all."""
    dtype = as_array(x).dtype
    want = reference.dtype if reference is not None else dtype
    if dtype == want and dtype.kind == "f":
        return
    kind = type(layer).__name__
    if reference is None:
        raise RuntimeError(f"{kind}: input is {dtype}, a floating-point input is required; "
                           "convert it with x.float()")
    fix = "x.float()" if want == np.float32 else "x.double()"
    layer_fix = {"float32": " or the layer with model.float()",
                 "float64": " or the layer with model.double()"}.get(str(dtype), "")
    raise RuntimeError(f"{kind}: input is {dtype} but the layer's {name} is {want}; convert the "
                       f"input with {fix}{layer_fix}")


def _position(container, i, what):
    """``i`` as a position 0..len-1 in ``container``, counting from the end when negative."""
    i = operator.index(i)
    n = len(container)
    if not -n <= i < n:
        raise IndexError(f"{type(container).__name__}: index {i} is out of range for {n} "
                         f"{what}")
    return i % n


class Linear(Module):
    """y = x W^T + b, with ``weight`` (out_features, in_features) and ``bias`` (out_features,),
    both initialised from U(-1/sqrt(in_features), 1/sqrt(in_features)) as in PyTorch."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: npt.DTypeLike = np.float32, generator: SeedLike = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        # PyTorch's default: kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
            bound = 1 / math.sqrt(in_features) if in_features else 0.0
            init.uniform_(self.bias, -bound, bound, generator)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        _check_input_dtype(self, x, "weight", self.weight)
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by integer
    index: ``Embedding(10, 3)(ag.tensor([[1, 2]]))`` has shape (1, 2, 3). ``weight`` starts
    from N(0, 1) as in PyTorch; the row ``padding_idx`` (if given) starts at zero and gets no
    gradient, so it stays what it is while the rest trains.

    >>> emb = ag.nn.Embedding(5, 2, padding_idx=0)
    >>> emb(ag.tensor([0, 3])).shape, emb.weight[0].tolist()
    ((2, 2), [0.0, 0.0])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: TensorLike | None = None, _freeze: bool = False,
                 dtype: npt.DTypeLike = np.float32, generator: SeedLike = None) -> None:
        super().__init__()
        unsupported = {"max_norm": max_norm is not None, "scale_grad_by_freq": scale_grad_by_freq,
                       "sparse": sparse}
        if any(unsupported.values()):
            raise NotImplementedError(f"Embedding: {[k for k, v in unsupported.items() if v]} "
                                      "are not supported (PyTorch renormalises or scales "
                                      "gradients there; autograd_lite does not)")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings "
                                 f"({num_embeddings}), got {padding_idx}")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype))
            init.normal_(self.weight, generator=generator)
            if padding_idx is not None:
                self.weight.data[padding_idx] = 0
        else:
            weight = as_array(_weight)
            if weight.shape != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight must have shape ({num_embeddings}, "
                                 f"{embedding_dim}), got {weight.shape}")
            self.weight = Parameter(weight)
        self.weight.requires_grad_(not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings: TensorLike, freeze: bool = True,
                        padding_idx: int | None = None, **kwargs: Any) -> Embedding:
        """An Embedding holding ``embeddings`` (a 2-D Tensor or array), frozen by default."""
        embeddings = as_array(embeddings)
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{embeddings.shape}")
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx=padding_idx, _weight=embeddings, _freeze=freeze,
                   **kwargs)

    def forward(self, input: Tensor) -> Tensor:
        weight: Tensor = self.weight
        if self.padding_idx is not None and weight.requires_grad:
            trains = np.ones((self.num_embeddings, 1), bool)
            trains[self.padding_idx] = False  # the padding row's values, without a gradient
            weight = _ops.where(trains, weight, weight.detach())
        return F.embedding(input, weight)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"


class Identity(Module):
    """Returns its input: a placeholder that keeps a model's structure."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Merge dims start_dim..end_dim (by default all but the batch dimension)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return _ops.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (Flatten's inverse), as PyTorch's.

    >>> ag.nn.Unflatten(1, (2, 3))(ag.zeros(4, 6)).shape
    (4, 2, 3)
    """

    def __init__(self, dim: int, unflattened_size: Iterable[int]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        d = _ops.registry.axis_index(self.dim, x.ndim, "Unflatten", x.shape)
        sizes = self.unflattened_size
        known = math.prod(n for n in sizes if n != -1)
        if sizes.count(-1) > 1 or (x.shape[d] % max(known, 1) if -1 in sizes
                                   else x.shape[d] != known):
            raise ValueError(f"Unflatten: cannot split dim {self.dim} of size {x.shape[d]} (input "
                             f"shape {x.shape}) into {sizes}")
        return _ops.reshape(x, x.shape[:d] + sizes + x.shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Sequential(Module):
    """Modules applied in order; indexable and iterable. Named ``0``, ``1``, ... or, given one
    ``OrderedDict``, by its keys (``Sequential(OrderedDict(hidden=..., out=...))``), as in
    PyTorch. A slice is a Sequential of the same modules under the same names."""

    def __init__(self, *modules: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        named: list[tuple[Any, Any]]  # (checked below)
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            named = list(modules[0].items())
        else:
            named = [(str(i), m) for i, m in enumerate(modules)]
        for i, (name, m) in enumerate(named):
            where = f"argument {i}" if name == str(i) else f"'{name}'"
            if not isinstance(m, Module):
                raise TypeError(f"Sequential: {where} is a {type(m).__name__}, not a Module")
            if not isinstance(name, str) or not name or "." in name:
                raise ValueError(f"Sequential: a module's name must be a non-empty string "
                                 f"without '.', got {name!r}")
            setattr(self, name, m)

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m(x)
        return x

    @overload
    def __getitem__(self, i: int) -> Module: ...
    @overload
    def __getitem__(self, i: slice) -> Sequential: ...

    def __getitem__(self, i: int | slice) -> Module | Sequential:
        if isinstance(i, slice):
            return Sequential(OrderedDict(list(self._modules.items())[i]))
        return list(self._modules.values())[_position(self, i, "modules")]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __setitem__(self, i, module: Module):
        """Replace the module at position ``i``, under the same name."""
        self.add_module(list(self._modules)[_position(self, i, "modules")], module)

    def __delitem__(self, i):
        """Remove the module(s) at ``i``; the rest are renamed "0", "1", ..., as PyTorch does
        (named modules lose their names)."""
        modules = list(self._modules.values())
        del modules[i if isinstance(i, slice) else _position(self, i, "modules")]
        _renumber(self, modules)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end, named by its position (as PyTorch names it)."""
        self._check_numbered("append")
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        """Append each of ``modules``."""
        _check_iterable(self, "extend", modules)
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert ``module`` before position ``index`` (-len..len), renumbering those after it.

        >>> ag.nn.Sequential(ag.nn.ReLU()).insert(0, ag.nn.Tanh())
        Sequential(
          (0): Tanh()
          (1): ReLU()
        )
        """
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.insert: {type(module).__name__} is not a Module")
        self._check_numbered("insert")
        n, index = len(self), operator.index(index)
        if not -n <= index <= n:
            raise IndexError(f"Sequential.insert: index {index} is out of range for {n} modules")
        modules = list(self._modules.values())
        modules.insert(index, module)
        _renumber(self, modules)
        return self

    def pop(self, key: int | slice) -> Module | Sequential:
        """Remove and return the module (or Sequential, for a slice) at ``key``."""
        value = self[key]
        del self[key]
        return value

    def _check_numbered(self, method):
        if list(self._modules) != [str(k) for k in range(len(self))]:
            raise ValueError(f"Sequential.{method}: this Sequential's modules are named "
                             f"{list(self._modules)}, not numbered 0..{len(self) - 1} (it was "
                             "sliced or built from named modules); build a new Sequential "
                             "instead")


# ---- containers --------------------------------------------------------------------------------


def _renumber(container, modules):
    """Register ``modules`` under "0".."n-1", as PyTorch renames them after a deletion or an
    insertion."""
    container._modules.clear()
    container._modules.update((str(k), m) for k, m in enumerate(modules))


class ModuleList(Module):
    """A list of modules registered under ``"0"``, ``"1"``, ... (so ``layers.0.weight`` is in
    ``named_parameters()`` and ``state_dict()``); indexes, slices, iterates, appends, extends,
    inserts and deletes like a list, renumbering after a change. It has no forward.

    >>> layers = ag.nn.ModuleList([ag.nn.Linear(2, 2) for _ in range(2)])
    >>> layers.append(ag.nn.ReLU())
    ModuleList(  # 12 parameters
      (0): Linear(in_features=2, out_features=2, bias=True)  # 6 parameters
      (1): Linear(in_features=2, out_features=2, bias=True)  # 6 parameters
      (2): ReLU()
    )
    >>> len(layers), [name for name, _ in layers.named_parameters()][:2]
    (3, ['0.weight', '0.bias'])
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @overload
    def __getitem__(self, i: int) -> Module: ...
    @overload
    def __getitem__(self, i: slice) -> ModuleList: ...

    def __getitem__(self, i: int | slice) -> Module | ModuleList:
        if isinstance(i, slice):
            return type(self)(list(self._modules.values())[i])
        return self._modules[str(_position(self, i, "modules"))]

    def __setitem__(self, i, module: Module):
        self.add_module(str(_position(self, i, "modules")), module)

    def __delitem__(self, i):
        modules = list(self._modules.values())
        del modules[i if isinstance(i, slice) else _position(self, i, "modules")]
        _renumber(self, modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of ``modules``."""
        _check_iterable(self, "extend", modules)
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before ``index`` (as ``list.insert``)."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        modules = list(self._modules.values())
        modules.insert(operator.index(index), module)
        _renumber(self, modules)

    def pop(self, key: int | slice) -> Module | ModuleList:
        """Remove and return the module (or ModuleList, for a slice) at ``key``."""
        value = self[key]
        del self[key]
        return value


class _Dict(Module):
    if TYPE_CHECKING:  # each subclass has its own
        def __getitem__(self, key: str) -> Any: ...
        def __setitem__(self, key: str, value: Any) -> None: ...
        def __delitem__(self, key: str) -> None: ...

    # what ModuleDict and ParameterDict share: a dict's methods over the keys of _ordered()

    def _ordered(self) -> dict:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._ordered())

    def __iter__(self):
        return iter(self._ordered())

    def __contains__(self, key):
        return key in self._ordered()

    def keys(self):
        return self._ordered().keys()

    def values(self):
        return (self[k] for k in self._ordered())

    def items(self):
        return ((k, self[k]) for k in self._ordered())

    def update(self, values) -> None:
        """Add or replace entries from a mapping or an iterable of (key, value) pairs."""
        for key, value in _pairs(self, values):
            self[key] = value

    def pop(self, key: str):
        """Remove and return the value under ``key``."""
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        for key in list(self):
            del self[key]


class ModuleDict(_Dict):
    """A dict of modules registered under their keys (``blocks.encoder.weight``), in insertion
    order; indexes, iterates over keys, and has ``keys``, ``values``, ``items``, ``update``,
    ``pop`` and ``clear`` like a dict. It has no forward.

    >>> heads = ag.nn.ModuleDict({"cls": ag.nn.Linear(4, 3), "box": ag.nn.Linear(4, 2)})
    >>> list(heads), "cls" in heads, heads["box"].out_features
    (['cls', 'box'], True, 2)
    >>> [name for name, _ in heads.named_parameters()]
    ['cls.weight', 'cls.bias', 'box.weight', 'box.bias']
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None
                 ) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _ordered(self):
        return self._modules

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]


class ParameterList(Module):
    """A list of Parameters registered under ``"0"``, ``"1"``, ...; a Tensor or array put in
    becomes a Parameter (other objects are kept as they are, as in PyTorch). Indexes, slices,
    iterates, appends and extends like a list.

    >>> params = ag.nn.ParameterList([ag.zeros(2, 3), ag.ones(3)])
    >>> params
    ParameterList(  # 9 parameters
      (0): Parameter containing: [float32 of size 2x3]
      (1): Parameter containing: [float32 of size 3]
    )
    >>> [name for name, _ in params.named_parameters()], params[-1].requires_grad
    (['0', '1'], True)
    """

    def __init__(self, values: Iterable[TensorLike] | None = None) -> None:
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self.extend(values)

    @overload
    def __getitem__(self, i: int) -> Parameter: ...
    @overload
    def __getitem__(self, i: slice) -> ParameterList: ...

    def __getitem__(self, i: int | slice) -> Parameter | ParameterList:
        if isinstance(i, slice):
            return type(self)(list(self)[i])
        return getattr(self, str(_position(self, i, "entries")))

    def __setitem__(self, i, value) -> None:
        setattr(self, str(_position(self, i, "entries")), _as_parameter(value))

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Parameter]:
        return (self[i] for i in range(len(self)))

    def __iadd__(self, values: Iterable) -> ParameterList:
        return self.extend(values)

    def append(self, value: TensorLike) -> ParameterList:
        """Add ``value`` at the end (a Tensor or array becomes a Parameter)."""
        setattr(self, str(len(self)), _as_parameter(value))
        object.__setattr__(self, "_size", self._size + 1)
        return self

    def extend(self, values: Iterable) -> ParameterList:
        """Append each of ``values``."""
        _check_iterable(self, "extend", values)
        for value in values:
            self.append(value)
        return self

    def _repr_lines(self) -> list[str]:
        return [_entry_line(i, value) for i, value in enumerate(self)]


class ParameterDict(_Dict):
    """A dict of Parameters registered under their keys, in insertion order; a Tensor or array
    put in becomes a Parameter (other objects are kept as they are, as in PyTorch). Indexes,
    iterates over keys, and has ``keys``, ``values``, ``items``, ``get``, ``update``, ``pop``
    and ``clear`` like a dict.

    >>> scales = ag.nn.ParameterDict({"alpha": ag.ones(1), "beta": ag.zeros(2)})
    >>> list(scales.keys()), "beta" in scales, scales["beta"].shape
    (['alpha', 'beta'], True, (2,))
    >>> scales
    ParameterDict(  # 3 parameters
      (alpha): Parameter containing: [float32 of size 1]
      (beta): Parameter containing: [float32 of size 2]
    )
    """

    def __init__(self, parameters: Mapping[str, TensorLike] | Iterable[tuple[str, TensorLike]]
                 | None = None) -> None:
        super().__init__()
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter:
        if key not in self._keys:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value) -> None:
        value = _as_parameter(value)
        if key not in self._keys:
            self._check_name("parameter", key, self._parameters)
        setattr(self, key, value)
        self._keys[key] = None

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, key)

    def _ordered(self):
        return self._keys

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def _repr_lines(self) -> list[str]:
        return [_entry_line(key, value) for key, value in self.items()]


def _as_parameter(value):
    """A Tensor or numpy array as a Parameter (PyTorch wraps Tensors); anything else as is."""
    if isinstance(value, (Tensor, np.ndarray)) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


def _entry_line(key, value) -> str:
    """One line of a ParameterList/ParameterDict repr, as PyTorch writes it."""
    if isinstance(value, Tensor):
        kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
        size = "x".join(str(n) for n in value.shape)
        return f"({key}): {kind} containing: [{value.dtype} of size {size}]"
    return f"({key}): Object of type: {type(value).__name__}"


def _check_iterable(container, method, values):
    if not isinstance(values, Iterable) or isinstance(values, (Tensor, np.ndarray)):
        raise TypeError(f"{type(container).__name__}.{method} should be called with an "
                        f"iterable, but got {type(values).__name__}")


def _pairs(container, values):
    """The (key, value) pairs of a mapping, a ModuleDict/ParameterDict or an iterable of pairs,
    all checked before anything is added."""
    if isinstance(values, (Mapping, ModuleDict, ParameterDict)):
        return list(values.items())
    _check_iterable(container, "update", values)
    pairs = []
    for j, pair in enumerate(values):
        if not isinstance(pair, Iterable) or isinstance(pair, str):
            raise TypeError(f"{type(container).__name__}.update: element #{j} should be a "
                            f"(key, value) pair, got {type(pair).__name__}")
        pair = tuple(pair)
        if len(pair) != 2:
            raise ValueError(f"{type(container).__name__}.update: element #{j} has length "
                             f"{len(pair)}; 2 is required")
        pairs.append(pair)
    return pairs


class Dropout(Module):
    """Randomly zero elements with probability p while training (scaling the rest by
    1/(1-p)); the identity in eval mode."""

    _drop = staticmethod(F.dropout)

    def __init__(self, p: float = 0.5, generator: SeedLike = None) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p, self.generator = p, generator

    def forward(self, x: Tensor) -> Tensor:
        return self._drop(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout2d(Dropout):
    """Zero whole channels with probability p while training (inputs (N, C, H, W) or unbatched
    (C, H, W)), scaling the rest by 1/(1-p); the identity in eval mode."""

    _drop = staticmethod(F.dropout2d)


class _BatchNorm(Module):
    """Normalise each of ``num_features`` channels (dim 1) over the batch and the other dims,
    then scale and shift. Training uses batch statistics and updates running estimates; eval
    uses the running estimates. As in PyTorch, ``momentum`` weighs each new batch in the running
    estimates, and ``momentum=None`` makes them the plain average over all batches so far
    (``num_batches_tracked`` counts them)."""

    weight: Parameter | None
    bias: Parameter | None
    running_mean: Tensor | None
    running_var: Tensor | None
    num_batches_tracked: Tensor | None

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: npt.DTypeLike = np.float32) -> None:
        super().__init__()
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1] or None, got "
                             f"{momentum}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype))
            self.bias = Parameter(np.zeros(num_features, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", creation.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", creation.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, np.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self._ndims or x.shape[1] != self.num_features:
            shapes = self._shapes.format(c=self.num_features)
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected input of "
                             f"shape {shapes}, got {x.shape}")
        if self.affine:
            _check_input_dtype(self, x, "weight", self.weight)
        else:
            _check_input_dtype(self, x, "running_mean", self.running_mean)
        if self.training and self.track_running_stats:
            mean, var, n = F._batch_statistics(x)
            self._track(mean.data, var.data, n)
            return F._normalize(x, mean, var, self.weight, self.bias, self.eps)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            not self.track_running_stats, self.momentum, self.eps)

    def _track(self, mean, var, n):
        """Fold one batch's statistics (arrays) into the running estimates and count it: the
        step's only change of state, one call (``ag.compile`` replays it)."""
        # (the buffers are None only without track_running_stats, when this is never called)
        batches = self.num_batches_tracked.data  # type: ignore[union-attr]
        # momentum None: the running estimates average every batch so far equally
        momentum = 1.0 / (int(batches) + 1) if self.momentum is None else self.momentum
        F._update_running_stats(self.running_mean.data,  # type: ignore[union-attr]  # (as above)
                                self.running_var.data, mean, var, momentum, n)  # type: ignore[union-attr]
        batches += 1

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C (see ``_BatchNorm``)."""

    _ndims, _shapes = (2, 3), "(N, {c}) or (N, {c}, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) images, per channel C over N, H and W, as after a
    convolution (see ``_BatchNorm``).

    >>> bn = ag.nn.BatchNorm2d(3)
    >>> y = bn(ag.randn(4, 3, 5, 5))
    >>> np.allclose(y.numpy().mean(axis=(0, 2, 3)), 0, atol=1e-5)
    True
    """

    _ndims, _shapes = (4,), "(N, {c}, H, W)"


# ---- activation modules ------------------------------------------------------------------------


class Step(Module):
    """Heaviside step, the perceptron's activation: 1 where x >= 0, else 0. Not differentiable:
    a backward through it raises an error explaining why."""

    def forward(self, x: Tensor) -> Tensor:
        return F.step(x)


class Sigmoid(Module):
    """1 / (1 + e^-x) elementwise, as a layer (``F.sigmoid``)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """Hyperbolic tangent elementwise, as a layer (``F.tanh``)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class ReLU(Module):
    """max(x, 0) elementwise, as a layer (``F.relu``; its gradient at 0 is 0, as PyTorch's)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """x where x > 0, else ``negative_slope`` * x, as a layer (``F.leaky_relu``)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """x where x > 0, else ``alpha`` (e^x - 1), as a layer (``F.elu``)."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class GELU(Module):
    """x Phi(x), exact or with ``approximate="tanh"``, as a layer (``F.gelu``)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """Softmax along ``dim`` (default -1: PyTorch asks for it), as a layer (``F.softmax``)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """Log-softmax along ``dim``, as a layer (``F.log_softmax``)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.log_softmax(x, self.dim)
