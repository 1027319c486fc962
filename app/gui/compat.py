"""Work-around for a PySide6 6.12 reference-counting bug on Python < 3.12.

PySide6/shiboken6 6.12 wheels return ``None`` from every void C++ method without taking a
reference to it (harmless on Python >= 3.12, where ``None`` is immortal). On Python 3.11
each such call lowers ``None``'s reference count by one; after a few thousand calls (seconds
of a live window) the interpreter aborts with "Fatal Python error: none_dealloc". Measured
here: ``QObject.setObjectName`` 1000 times -> refcount(None) - 1000. ``True``/``False``
lose references the same way on other paths (virtual overrides returning bool), crashing a
live window with "bool_dealloc".

:func:`pin_none` first measures the leak; only when the installed binding has it (pyproject
pins ``PySide6-Essentials!=6.12.*`` on Python < 3.12, so an install made by this project does
not), it gives these singletons a huge extra reference count once, which makes them
effectively immortal as on 3.12 (they are static objects, never freed anyway). It is a no-op
on Python >= 3.12.
"""

from __future__ import annotations

import sys

_EXTRA = 1 << 40  # ~1e12 calls: centuries of a 30 Hz window
_done = False


def pin_none() -> None:
    """Make ``None``, ``True`` and ``False`` effectively immortal on Python < 3.12 (idempotent)."""
    global _done
    if _done or sys.version_info >= (3, 12):
        return
    _done = True
    if none_refcount_leak(8) == 0:
        return  # a healthy binding (pyproject pins one): nothing to do
    import ctypes

    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA


def none_refcount_leak(calls: int = 1000) -> int:
    """How much ``None``'s refcount drops over ``calls`` void Qt calls (0 when healthy)."""
    from PySide6.QtCore import QObject

    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(calls):
        obj.setObjectName("probe")
    return before - sys.getrefcount(None)
