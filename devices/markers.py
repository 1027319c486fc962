"""Session markers published as an LSL ``Markers`` stream (no Qt here).

The clinician console marks what happens in the session: ``T`` clinician talking, ``L``
clinician listening, ``M`` a moment (optionally with a note). Every marker is one string sample
on an irregular-rate LSL outlet of type ``Markers``, so LabRecorder, ``attune record`` or any
other LSL tool captures it next to the physiology, on the same clock.

Marker text is ``"<code>: <words>"`` (``"T: clinician talking"``); a note for a moment is sent
as a second sample with the moment's own timestamp: ``"M: moment: <note>"``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

MARKER_TEXT = {
    "T": "clinician talking",
    "L": "clinician listening",
    "M": "moment",
}


@dataclass(frozen=True)
class Marker:
    """One published marker.

    Attributes
    ----------
    t : float
        LSL timestamp (s, this machine's clock).
    code : str
        ``T``, ``L`` or ``M``.
    text : str
        The full string sent on the stream.
    """

    t: float
    code: str
    text: str


def marker_text(code: str, note: str = "") -> str:
    """The string sent for ``code`` (and an optional note)."""
    if code not in MARKER_TEXT:
        raise ValueError(f"unknown marker code {code!r} (use one of {', '.join(MARKER_TEXT)})")
    text = f"{code}: {MARKER_TEXT[code]}"
    note = " ".join(note.split())
    return f"{text}: {note}" if note else text


class MarkerOutlet:
    """Irregular-rate, one-channel string LSL outlet of type ``Markers``.

    Parameters
    ----------
    name : str
        Stream name (default ``Attunement-Markers``).
    source_id : str
        Stable source_id so recorders reconnect to it.
    """

    def __init__(
        self, name: str = "Attunement-Markers", source_id: str = "attunement-markers"
    ) -> None:
        import pylsl

        info = pylsl.StreamInfo(name, "Markers", 1, pylsl.IRREGULAR_RATE, "string", source_id)
        desc = info.desc()
        desc.append_child_value("manufacturer", "Attunement")
        ch = desc.append_child("channels").append_child("channel")
        ch.append_child_value("label", "Marker")
        ch.append_child_value("type", "Markers")
        self.name = name
        self.source_id = source_id
        self._outlet = pylsl.StreamOutlet(info)
        self._lock = threading.Lock()
        self.sent: list[Marker] = []

    def push(self, code: str, note: str = "", t: float | None = None) -> Marker:
        """Publish a marker now (or stamped ``t``) and return it."""
        import pylsl

        text = marker_text(code, note)
        stamp = pylsl.local_clock() if t is None else float(t)
        with self._lock:
            if self._outlet is None:
                raise RuntimeError("marker outlet is closed")
            self._outlet.push_sample([text], stamp)
        marker = Marker(stamp, code, text)
        self.sent.append(marker)
        return marker

    def have_consumers(self) -> bool:
        """True when at least one inlet (recorder, viewer) is connected."""
        with self._lock:
            return self._outlet is not None and bool(self._outlet.have_consumers())

    def close(self) -> None:
        """Destroy the outlet (safe to call twice)."""
        with self._lock:
            self._outlet = None
