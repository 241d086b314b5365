"""Anomaly mode: find the op that first made a NaN or Inf (PyTorch's ``detect_anomaly``).

Off by default, when it costs one flag test per op. On, every op records the stack that created
it, its forward output is checked, and so is every gradient backward computes.
"""

from __future__ import annotations

import contextlib
import os
import traceback

import numpy as np

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep  # frames here are not the user's
enabled = False


class detect_anomaly(contextlib.ContextDecorator):
    """Inside, the first NaN or Inf made by an op's forward or backward raises an error naming
    the op and the traceback of the line that created it (slow: every op records its stack).

    >>> x = ag.tensor([0.0], requires_grad=True)
    >>> with detect_anomaly():
    ...     (x / x).sum().backward()
    Traceback (most recent call last):
    RuntimeError: anomaly: 'div' produced NaN or Inf in its forward output from finite inputs...
    """

    def __enter__(self):
        global enabled
        self.prev, enabled = enabled, True
        return self

    def __exit__(self, *exc):
        global enabled
        enabled = self.prev
        return False


def _not_finite(a):
    return a.dtype.kind == "f" and not np.isfinite(a).all()


def check_forward(name, arrays, out):
    """Refuse a NaN/Inf output made from finite inputs."""
    if _not_finite(out) and not any(isinstance(a, np.ndarray) and _not_finite(a) for a in arrays):
        frames = [f for f in traceback.extract_stack() if not f.filename.startswith(PACKAGE_DIR)]
        stack = "".join(traceback.format_list(frames))
        raise RuntimeError(f"anomaly: '{name}' produced NaN or Inf in its forward output from "
                           f"finite inputs. The op was created at (most recent call last):\n"
                           f"{stack}")


def check_backward(node, results):
    """Refuse a NaN/Inf gradient, naming the op and where it was created."""
    needing = [i for i, dest in enumerate(node.inputs) if dest is not None]
    for i, (_, gi) in zip(needing, results):
        if _not_finite(gi if isinstance(gi, np.ndarray) else gi.data):
            file, line = node.source_line or ("?", "?")
            origin = node.stack or f'  File "{file}", line {line}\n'
            raise RuntimeError(f"anomaly: the backward of '{node.name}' produced NaN or Inf in "
                               f"the gradient of its input {i}. The op was created at (most "
                               f"recent call last):\n{origin}")
