"""Grad mode: whether ops record a graph. Thread-local, as in PyTorch (torch/autograd/grad_mode.py).

>>> x = ag.ones(2, requires_grad=True)
>>> with ag.no_grad():
...     y = x * 2
>>> y.requires_grad
False
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np


class _GradModeState(threading.local):
    enabled = True  # each thread starts with grad enabled


grad_mode = _GradModeState()


def is_grad_enabled() -> bool:
    """True when ops record a graph (the default); False inside ``no_grad()``."""
    return grad_mode.enabled


class _GradMode(contextlib.ContextDecorator):
    """Base of the grad-mode context managers: each `with` or decorated call saves and restores."""

    mode = True

    def __enter__(self):
        self.prev = is_grad_enabled()
        grad_mode.enabled = self.mode
        return self

    def __exit__(self, *exc):
        grad_mode.enabled = self.prev
        return False

    def _recreate_cm(self):  # a fresh object per decorated call: re-entrant and thread-safe
        fresh = _GradMode()
        fresh.mode = self.mode
        return fresh


class no_grad(_GradMode):
    """Context manager / decorator: ops inside record no graph (evaluation, parameter updates).

    Works as ``with no_grad():``, ``@no_grad()`` and ``@no_grad``.
    """

    mode = False

    def __new__(cls, fn=None):
        if fn is not None and not callable(fn):
            raise TypeError(f"{cls.__name__}() takes a function to decorate or nothing, got "
                            f"{type(fn).__name__}")
        self = super().__new__(cls)
        return self(fn) if callable(fn) else self

    def __init__(self, fn=None):
        pass


class enable_grad(no_grad):
    """Context manager / decorator: record a graph again inside a ``no_grad`` region."""

    mode = True


class set_grad_enabled(_GradMode):
    """Turn graph recording on or off: at once when called, or for a ``with`` block.

    >>> with set_grad_enabled(False):
    ...     is_grad_enabled()
    False
    >>> is_grad_enabled()
    True
    """

    def __init__(self, mode: bool):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled(mode): mode must be a bool, got "
                            f"{type(mode).__name__}")
        self.mode = bool(mode)
        self.prev = is_grad_enabled()
        grad_mode.enabled = self.mode  # takes effect at once, as torch.set_grad_enabled does

    def __enter__(self):
        return self  # __init__ already switched; __exit__ restores what was there before

    def __call__(self, fn):
        grad_mode.enabled = self.prev  # used as a decorator: creating it must not flip the mode
        return super().__call__(fn)
