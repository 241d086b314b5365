"""Gradient checking for your own ops and models.

``gradcheck``/``gradgradcheck`` compare the engine's first and second derivatives with finite
differences; ``check_op`` and ``strategies`` (which need Hypothesis, in the ``dev`` extra)
property-test an op over generated inputs.
"""

from .check_op import check_op
from .gradcheck import GradcheckError, NonDifferentiableError, gradcheck, gradgradcheck

__all__ = ["gradcheck", "gradgradcheck", "check_op", "GradcheckError", "NonDifferentiableError"]
