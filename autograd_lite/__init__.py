"""autograd_lite: reverse-mode automatic differentiation on numpy, shaped like PyTorch.

Every public submodule is an attribute (``ag.viz.draw_graph(loss)``, as ``np.linalg``). Those
not imported here (``viz``, ``plot``, ``testing``...) use optional packages (graphviz,
matplotlib, hypothesis...), so they load on first use: the import pays for none of them.

>>> x = ag.tensor([0.5, -1.0], dtype=ag.float64, requires_grad=True)
>>> ag.testing.gradcheck(ag.tanh, x)  # autograd_lite.testing is imported here
True
"""

from . import autograd, data, datasets, diagnostics, functions, io, nn, ops, optim, utils
from ._tensor import Tensor
from .anomaly_mode import detect_anomaly
from .compiler import CompileError, compile
from .creation import (
    arange,
    default_generator,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    manual_seed,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .debug import (
    ForgottenZeroGradWarning,
    GraphGrowthGuard,
    GraphGrowthWarning,
    graph_size,
    is_debug_enabled,
    set_debug,
)
from .dtypes import bool, float32, float64, get_default_dtype, int32, int64, set_default_dtype
from .engine import backward, grad
from .function import Function, FunctionCtx
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .io import load, save
from .ops import *  # noqa: F403  (every op, by name: ag.exp, ag.matmul, ...)
from .training import EarlyStopping, History, accuracy, evaluate, fit

# Where a Tensor method shares an op's name, ag.<name> is the method's PyTorch meaning (ag.var(x)
# is x.var()); the op, numpy's meaning, stays ag.ops.<name> (what np.var(t) runs).
globals().update({name: getattr(functions, name) for name in functions.__all__})

__version__ = "0.1.0"

__all__ = [
    "__version__", "Tensor", "Function", "FunctionCtx", "compile", "CompileError",
    # modules
    "ops", "nn", "optim", "data", "datasets", "diagnostics", "io", "autograd", "utils",
    "plot", "testing", "viz",  # noqa: F405  (imported by __getattr__, below)
    "float32", "float64", "int32", "int64", "bool", "get_default_dtype", "set_default_dtype",
    # making tensors
    "tensor", "from_numpy", "zeros", "ones", "full", "zeros_like", "ones_like", "arange",
    "randn", "rand", "manual_seed", "default_generator", "full_like", "empty", "eye", "linspace",
    "logspace", "randint", "randperm",
    # autograd
    "backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
    "detect_anomaly", "GraphGrowthGuard", "GraphGrowthWarning", "graph_size",
    # debug mode (autograd_lite's own)
    "set_debug", "is_debug_enabled", "ForgottenZeroGradWarning",
    # training and checkpoints
    "fit", "evaluate", "History", "EarlyStopping", "accuracy", "save", "load",
] + sorted({name for name in ops.__all__ if name not in ("REGISTRY", "COMPOSITES", "Op",
                                                          "Composite")} | set(functions.__all__))


def _lazy_submodules() -> frozenset:
    """The public submodules not imported above: found on disk, so a new one needs no entry."""
    import pkgutil

    found = pkgutil.iter_modules(__path__)  # noqa: F405  (every package has a __path__)
    return frozenset(m.name for m in found if not m.name.startswith("_")) - set(globals())


_LAZY_SUBMODULES = _lazy_submodules()


def __getattr__(name: str):
    """PEP 562: ``ag.viz`` imports ``autograd_lite.viz`` on first use (which binds it here)."""
    if name in _LAZY_SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The package's names, the lazy submodules included before their first use."""
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))
