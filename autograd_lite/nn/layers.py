"""Layers: Linear, Sequential, Flatten, Identity, Dropout, BatchNorm1d and activation modules.
Each forward is a call into ``functional``; the modules hold parameters and settings."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np

from .. import creation
from .. import ops as _ops
from . import functional as F
from . import init
from .module import Module, Parameter


class Linear(Module):
    """y = x W^T + b, with ``weight`` (out_features, in_features) and ``bias`` (out_features,),
    both initialised from U(-1/sqrt(in_features), 1/sqrt(in_features)) as in PyTorch."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype=np.float32, generator=None):
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

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input: a placeholder that keeps a model's structure."""

    def forward(self, x):
        return x


class Flatten(Module):
    """Merge dims start_dim..end_dim (by default all but the batch dimension)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return _ops.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Sequential(Module):
    """Modules applied in order; indexable and iterable. Named ``0``, ``1``, ... or, given one
    ``OrderedDict``, by its keys (``Sequential(OrderedDict(hidden=..., out=...))``), as in
    PyTorch. A slice is a Sequential of the same modules under the same names."""

    def __init__(self, *modules: Module):
        super().__init__()
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

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Sequential(OrderedDict(list(self._modules.items())[i]))
        items = list(self._modules.values())
        if not -len(items) <= i < len(items):
            raise IndexError(f"Sequential: index {i} is out of range for {len(items)} modules")
        return items[i]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end, named by its position (as PyTorch names it)."""
        name = str(len(self))
        if name in self._modules:
            raise ValueError(f"Sequential.append: a module is already named '{name}' (this "
                             "Sequential was sliced or built from named modules); build a new "
                             "Sequential instead")
        setattr(self, name, module)
        return self


class Dropout(Module):
    """Randomly zero elements with probability p while training (scaling the rest by
    1/(1-p)); the identity in eval mode."""

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p, self.generator = p, generator

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self):
        return f"p={self.p}"


class BatchNorm1d(Module):
    """Normalise each of ``num_features`` features over the batch (inputs (N, C) or (N, C, L)),
    then scale and shift. Training uses batch statistics and updates running estimates; eval
    uses the running estimates. As in PyTorch, ``momentum`` weighs each new batch in the running
    estimates, and ``momentum=None`` makes them the plain average over all batches so far
    (``num_batches_tracked`` counts them)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=np.float32):
        super().__init__()
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1] or None, got {momentum}")
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

    def forward(self, x):
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}): expected input of shape (N, "
                             f"{self.num_features}) or (N, {self.num_features}, L), got {x.shape}")
        use_batch = self.training or not self.track_running_stats
        momentum = self.momentum
        if self.training and self.track_running_stats:
            batches = self.num_batches_tracked.data
            if momentum is None:  # the running estimates average every batch so far equally
                momentum = 1.0 / (int(batches) + 1)
            out = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                               use_batch, momentum, self.eps)
            batches += 1  # after the forward: a batch that raised is not counted
            return out
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch, 0.0 if momentum is None else momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


# ---- activation modules ------------------------------------------------------------------------


class Step(Module):
    """Heaviside step, the perceptron's activation: 1 where x >= 0, else 0. Not differentiable:
    a backward through it raises an error explaining why."""

    def forward(self, x):
        return F.step(x)


class Sigmoid(Module):
    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return F.tanh(x)


class ReLU(Module):
    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class GELU(Module):
    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x):
        return F.log_softmax(x, self.dim)
