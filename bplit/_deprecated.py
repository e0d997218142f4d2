"""Old names kept for one release, each warning with a ``DeprecationWarning`` that names the new one."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any


def warn_renamed(old: str, new: str, why: str = "") -> None:
    """Warn, from the caller's caller, that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(f"{old} is deprecated{why}; use {new}", DeprecationWarning, stacklevel=3)


def renamed_function(fn: Callable[..., Any], old_name: str, why: str = "") -> Callable[..., Any]:
    """``fn`` under its old name (in ``fn``'s module): the same call, warning that names ``fn``."""
    new = f"{fn.__module__}.{fn.__name__}"
    old = f"{fn.__module__}.{old_name}"

    @functools.wraps(fn)
    def deprecated(*args: Any, **kwargs: Any) -> Any:
        warn_renamed(old, new, why)
        return fn(*args, **kwargs)

    deprecated.__name__ = deprecated.__qualname__ = old_name
    deprecated.__doc__ = f"Deprecated name of :func:`{new}`{why}."
    return deprecated


class RenamedAttribute:
    """A class attribute ``old`` that reads and writes ``new``, with a ``DeprecationWarning``."""

    def __init__(self, new: str) -> None:
        self.new = new

    def __set_name__(self, owner: type, name: str) -> None:
        self.old = f"{owner.__name__}.{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        warn_renamed(self.old, f"{self.old.split('.')[0]}.{self.new}")
        return getattr(obj, self.new)

    def __set__(self, obj: Any, value: Any) -> None:
        warn_renamed(self.old, f"{self.old.split('.')[0]}.{self.new}")
        setattr(obj, self.new, value)
