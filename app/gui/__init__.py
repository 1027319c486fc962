"""The clinician console: a PySide6 + pyqtgraph view over :class:`app.engine.Engine`.

The GUI computes no DSP and polls no device. Metric snapshots arrive through
:class:`app.gui.bridge.EngineBridge` (a Qt signal emitted from the engine thread); trace data
is copied from the ring buffers by :meth:`app.engine.Engine.traces` on a ~30 Hz render timer.
"""

from app.gui.compat import pin_none

pin_none()
