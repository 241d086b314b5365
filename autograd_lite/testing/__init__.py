"""Gradient checking for your own ops and models.

``gradcheck``/``gradgradcheck`` compare the engine's first and second derivatives with finite
differences; ``check_op`` and ``strategies`` (which need Hypothesis, in the ``dev`` extra)
property-test an op over generated inputs.
"""

from .check_op import check_op
from .gradcheck import GradcheckError, NonDifferentiableError, gradcheck, gradgradcheck

__all__ = ["gradcheck", "gradgradcheck", "check_op", "GradcheckError", "NonDifferentiableError"]


def __getattr__(name: str):
    """``ag.testing.strategies`` loads on first use: it needs Hypothesis (the dev extra)."""
    if name == "strategies":
        import importlib

        return importlib.import_module(f"{__name__}.strategies")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
