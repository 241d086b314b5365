"""Every op, by name: the primitives in ``REGISTRY`` and the composites built from them in
``COMPOSITES``, as declared in the family files. Nothing here is listed by hand: declaring an op
(``@primitive`` or ``@composite``) in one of those files is what makes it ``ag.ops.<name>``,
and, unless declared ``public=False``, ``ag.<name>``."""

# importing the family files declares their ops
from . import compare, conv, elementwise, indexing, linalg, recurrent, reduce, shape  # noqa: F401
from .registry import COMPOSITES, REGISTRY, Composite, Op, composite, primitive

_DECLARED = {op.name: op for op in [*REGISTRY.values(), *COMPOSITES.values()]
             if op.__module__.startswith(__name__ + ".")}  # composites replace primitives
globals().update(_DECLARED)
cat = concatenate  # noqa: F821  (PyTorch's name for it)

__all__ = ["REGISTRY", "COMPOSITES", "Op", "Composite", "primitive", "composite", "cat",
           *sorted(name for name, op in _DECLARED.items() if op.public)]
