"""Every op, by name: the primitives in ``REGISTRY`` and the composites built from them in
``COMPOSITES``, as declared in the family files. Nothing here is listed by hand: declaring an op
(``@primitive`` or ``@composite``) in one of those files is what makes it ``ag.ops.<name>``,
and, unless declared ``public=False``, ``ag.<name>``."""

from typing import TYPE_CHECKING

# importing the family files declares their ops
from . import compare, conv, elementwise, indexing, linalg, recurrent, reduce, shape  # noqa: F401
from .registry import COMPOSITES, REGISTRY, Composite, Op, composite, primitive

_OPS: list[Op | Composite] = [*REGISTRY.values(), *COMPOSITES.values()]
_DECLARED = {op.name: op for op in _OPS
             if op.__module__.startswith(__name__ + ".")}  # composites replace primitives
globals().update(_DECLARED)
cat = _DECLARED["concatenate"]  # PyTorch's name for it

if TYPE_CHECKING:  # the ops are made at import, by name: to a type checker, ops.<name> is one
    def __getattr__(name: str) -> Op | Composite: ...

__all__ = ["REGISTRY", "COMPOSITES", "Op", "Composite", "primitive", "composite", "cat",
           *sorted(name for name, op in _DECLARED.items() if op.public)]
