"""Gradient checking for your own ops and models.

``gradcheck``/``gradgradcheck`` compare the engine's first and second derivatives with finite
differences; ``check_op`` and ``strategies`` (which need Hypothesis, in the ``dev`` extra)
property-test an op over generated inputs. ``array_allocations`` counts the numpy arrays a
block of code makes (does a compiled step reuse its arrays?).
"""

from .check_op import check_op
from .gradcheck import GradcheckError, NonDifferentiableError, gradcheck, gradgradcheck

__all__ = ["gradcheck", "gradgradcheck", "check_op", "GradcheckError", "NonDifferentiableError",
           "array_allocations"]


def __getattr__(name: str):
    """Submodules load on first use: ``strategies`` needs Hypothesis (the dev extra), and
    ``allocations`` builds its numpy memory handler (through ctypes) when first imported."""
    import importlib

    if name in ("strategies", "allocations"):
        return importlib.import_module(f"{__name__}.{name}")
    if name == "array_allocations":
        return importlib.import_module(f"{__name__}.allocations").array_allocations
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
