"""Error messages that name what failed: one helper for each way an error is reworded.

Every public function, op and layer raises plain ``TypeError``/``ValueError``/``IndexError``
(``RuntimeError`` for misuse of the graph) whose text starts with its own name, so a student
reading a traceback sees which call was wrong, not which numpy function deep inside.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

# what a call may raise for bad arguments; each is reworded as the plain error class below
_ARGUMENT_ERRORS = (TypeError, ValueError, IndexError, ZeroDivisionError, OverflowError)


def with_message(e: Exception, text: str) -> Exception:
    """An error of ``e``'s class with the message ``text`` (a RuntimeError for a class whose
    constructor takes something else)."""
    try:
        return type(e)(text)
    except TypeError:
        return RuntimeError(text)


def prefixed(name: str, e: Exception, suffix: str = "") -> Exception:
    """``e`` as a plain TypeError, IndexError or ValueError reading ``name: <message><suffix>``.

    numpy's own classes become the builtin they extend (AxisError is a ValueError here).

    >>> prefixed("reshape", ValueError("cannot reshape array of size 6 into shape (4,)"))
    ValueError('reshape: cannot reshape array of size 6 into shape (4,)')
    """
    cls: type[Exception]
    if isinstance(e, TypeError):
        cls = TypeError
    elif isinstance(e, IndexError) and not isinstance(e, ValueError):
        cls = IndexError
    else:
        cls = ValueError
    text = str(e).removeprefix(f"{name}: ")
    return cls(f"{name}: {text}{suffix}")


def named(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorator: bad-argument errors raised inside ``fn`` name it (``flatten: ...``), unless
    they already do."""
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return fn(*args, **kwargs)
        except _ARGUMENT_ERRORS as e:
            if str(e).startswith((f"{name}:", f"{name}(")):
                raise
            raise prefixed(name, e) from None

    return wrapper
