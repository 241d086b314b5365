"""``ag.autograd``: the autograd names at torch.autograd's path (the same objects as ``ag.*``).

>>> x = ag.tensor([2.0], requires_grad=True)
>>> ag.autograd.grad((x * x).sum(), x)
(tensor([4.]),)
"""

from .anomaly_mode import detect_anomaly
from .engine import backward, grad
from .function import Function, FunctionCtx
from .grad_mode import enable_grad, no_grad, set_grad_enabled

__all__ = ["grad", "backward", "Function", "FunctionCtx", "no_grad", "enable_grad",
           "set_grad_enabled", "detect_anomaly"]
