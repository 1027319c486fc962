"""The clinician console: a PySide6 + pyqtgraph view over :class:`app.engine.Engine`.

The GUI computes no DSP and polls no device. The session lifecycle is the Qt-free
:class:`app.controller.LiveController`; :class:`app.gui.session.SessionController` is its thin
Qt adapter, and metric snapshots arrive through :class:`app.gui.session.EngineBridge` (a Qt
signal emitted from the engine thread). Trace data is copied from the ring buffers by
:meth:`app.engine.Engine.traces` on a ~30 Hz render timer.

Modules: ``launch`` (``attune demo`` / ``attune run``), ``main_window`` (the console),
``session`` (Qt adapter), ``dialogs`` (streams, source choice, baseline ritual: they collect
values), ``meters``, ``traces``, ``patient`` (patient screen), ``theme`` (settings), ``qtapp``
(the QApplication, screenshots), ``compat`` (PySide6 6.12 work-around).
"""

from app.gui.compat import pin_none

pin_none()
