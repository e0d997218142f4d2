"""Old names kept for one release, each warning with a ``DeprecationWarning`` that names the new one."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any


def warn_renamed(old: str, new: str, why: str = "", stacklevel: int = 3) -> None:
    """Warn, from the caller's caller, that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(f"{old} is deprecated{why}; use {new}", DeprecationWarning, stacklevel=stacklevel)


def renamed_function(
    fn: Callable[..., Any], old_name: str, why: str = "", module: str | None = None
) -> Callable[..., Any]:
    """``fn`` under its old name (in ``module``, by default ``fn``'s): the same call, warning that names ``fn``."""
    module = module or fn.__module__
    new = f"{module}.{fn.__name__}"
    old = f"{module}.{old_name}"

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
        self.old = name

    def _warn(self, obj: Any) -> None:
        cls = type(obj).__name__  # the class the user holds, e.g. Network, not its base
        warn_renamed(f"{cls}.{self.old}", f"{cls}.{self.new}", stacklevel=4)  # the user's line

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        self._warn(obj)
        return getattr(obj, self.new)

    def __set__(self, obj: Any, value: Any) -> None:
        self._warn(obj)
        setattr(obj, self.new, value)
