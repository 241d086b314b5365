"""``ag.var``, ``ag.max``, ``ag.transpose``...: where PyTorch has a function under a Tensor
method's name, ``ag.<name>(x, ...)`` is ``x.<name>(...)``, with PyTorch's meaning (``torch.var``
divides by n - 1; ``torch.max(x, 1)`` gives ``(values, indices)``; ``dim=``/``keepdim=`` work).
The ops of the same names, ``ag.ops.var`` and friends, keep numpy's meaning: they are what
``np.var(t)`` runs on a Tensor.

>>> x = ag.tensor([[1.0, 5.0], [3.0, 2.0]])
>>> ag.var(x).item(), ag.max(x, dim=1).indices.tolist(), ag.transpose(x, 0, 1).tolist()
(2.9166667461395264, [1, 0], [[1.0, 3.0], [5.0, 2.0]])
"""

from __future__ import annotations

from ._tensor import Tensor
from .errors import named

METHODS_AS_FUNCTIONS = (
    "sum", "mean", "var", "std", "max", "min", "argmax", "argmin", "logsumexp", "softmax",
    "log_softmax", "cumsum", "norm", "transpose", "t", "permute", "flip", "roll", "chunk",
    "split", "allclose", "equal", "sort", "topk",
)


def _function(name):
    method = getattr(Tensor, name)

    def function(input, *args, **kwargs):
        return method(input if isinstance(input, Tensor) else Tensor(input), *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``{name}(input, ...)`` is ``input.{name}(...)``: " + (
        method.__doc__ or "").split("\n")[0]
    return named(function)


globals().update({name: _function(name) for name in METHODS_AS_FUNCTIONS})
__all__ = list(METHODS_AS_FUNCTIONS)
