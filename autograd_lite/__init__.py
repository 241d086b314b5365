"""autograd_lite: reverse-mode automatic differentiation on numpy, shaped like PyTorch."""

from . import autograd, data, datasets, diagnostics, functions, io, nn, ops, optim, plot, utils
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
    "ops", "nn", "optim", "data", "datasets", "diagnostics", "plot", "io", "autograd", "utils",
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
