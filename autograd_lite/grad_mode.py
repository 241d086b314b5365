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
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import numpy as np

_F = TypeVar("_F", bound=Callable[..., Any])


class _GradModeState(threading.local):
    enabled = True  # each thread starts with grad enabled


grad_mode = _GradModeState()


def is_grad_enabled() -> bool:
    """True when ops record a graph (the default); False inside ``no_grad()``."""
    return grad_mode.enabled


class _GradMode(contextlib.ContextDecorator):
    """Base of the grad-mode context managers: each `with` or decorated call saves and restores."""

    mode = True

    def __enter__(self) -> _GradMode:
        self.prev = is_grad_enabled()
        grad_mode.enabled = self.mode
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        grad_mode.enabled = self.prev
        return False

    # a fresh object per decorated call: re-entrant and thread-safe
    def _recreate_cm(self) -> _GradMode:
        fresh = _GradMode()
        fresh.mode = self.mode
        return fresh


class no_grad(_GradMode):
    """Context manager / decorator: ops inside record no graph (evaluation, parameter updates).

    Works as ``with no_grad():``, ``@no_grad()`` and ``@no_grad``.
    """

    mode = False

    def __new__(cls, fn: Callable[..., Any] | None = None) -> Any:  # (a decorated fn, or self)
        if fn is not None and not callable(fn):
            raise TypeError(f"{cls.__name__}() takes a function to decorate or nothing, got "
                            f"{type(fn).__name__}")
        self = super().__new__(cls)
        return self(fn) if callable(fn) else self

    def __init__(self, fn: Callable[..., Any] | None = None) -> None:
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

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled(mode): mode must be a bool, got "
                            f"{type(mode).__name__}")
        self.mode = bool(mode)
        self.prev = is_grad_enabled()
        grad_mode.enabled = self.mode  # takes effect at once, as torch.set_grad_enabled does

    def __enter__(self) -> set_grad_enabled:
        return self  # __init__ already switched; __exit__ restores what was there before

    def __call__(self, fn: _F) -> _F:
        grad_mode.enabled = self.prev  # used as a decorator: creating it must not flip the mode
        return super().__call__(fn)
