"""Session markers published as an LSL ``Markers`` stream (no Qt here).

The clinician console marks what happens in the session: ``T`` clinician talking, ``L``
clinician listening, ``M`` a moment (optionally with a note). The group console (3-8 people)
marks who is talking: ``S`` with the person's role name (``"S: partner talking"``), each such
marker starting a block named ``"partner talking"`` until the next one. Every marker is one string sample
on an irregular-rate LSL outlet of type ``Markers``, so LabRecorder, ``attune record`` or any
other LSL tool captures it next to the physiology, on the same clock.

Marker text is ``"<code>: <words>"`` (``"T: clinician talking"``). Free-text notes never go on
the network (an LSL outlet is visible to every machine the LSL configuration reaches): a note is
kept in a :class:`NoteLog` on this machine, saved owner-only (0600) in the session folder, and
the stream only carries its number, as a second sample with the moment's own timestamp:
``"M: moment: note 3"``. The outlets' metadata hold fixed fields only (no participant codes).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dsp.concordance.segments import intervals_from_markers

MARKER_TEXT = {
    "T": "clinician talking",
    "L": "clinician listening",
    "M": "moment",
    "S": "talking",  # a group: "S: <role> talking"
}
#: The code of a group's "who is talking" marker (its text names the person).
TALKER = "S"


#: Console codes that start a block, and the block's name in reports and statements.
BLOCK_LABELS = {"T": "talking", "L": "listening"}


def block_label(text: str) -> str | None:
    """The block a recorded marker starts: ``"listening"`` / ``"talking"`` for the console's
    ``L`` / ``T`` markers, None for a moment (``M ...``: a point in time that neither starts
    nor ends a block), ``"<role> talking"`` for the group console's ``S`` markers, and the
    text itself for any other tool's marker."""
    code, sep, words = text.partition(": ")
    if sep and code == TALKER and words.endswith(f" {MARKER_TEXT[TALKER]}"):
        return words
    if sep and code in MARKER_TEXT and words.startswith(MARKER_TEXT[code]):
        return BLOCK_LABELS.get(code)
    return text


def marker_blocks(
    markers: Sequence[tuple[float, str | None]], t_start: float, t_end: float
) -> list[tuple[float, float, str]]:
    """Blocks ``(t0 s, t1 s, label)`` from markers ``(t s, block label or None)``, clipped to
    ``[t_start, t_end]``: each labelled marker starts a block lasting until the next one;
    a marker labelled None (a moment) neither starts nor ends a block. The console's session
    summary (labels from the marker codes, :data:`BLOCK_LABELS`) and the offline analysis
    (labels from the recorded text, :func:`block_label`) both cut a session this way."""
    inside = [(max(t, t_start), lab) for t, lab in markers if lab is not None and t < t_end]
    if not inside:
        return []
    iv = intervals_from_markers([t for t, _ in inside], [lab for _, lab in inside], t_end)
    return [(a, b, lab) for a, b, lab in iv if b > a]


@dataclass(frozen=True)
class Marker:
    """One published marker.

    Attributes
    ----------
    t : float
        LSL timestamp (s, this machine's clock).
    code : str
        ``T``, ``L``, ``M`` or ``S`` (a group's talking person).
    text : str
        The full string sent on the stream.
    """

    t: float
    code: str
    text: str


def marker_text(code: str, note_id: int | None = None, label: str = "") -> str:
    """The string sent for ``code``: plus the number of a note kept on this machine, or a
    fixed label the app itself sets (``"baseline end"``; never free text typed by a user);
    for :data:`TALKER` ``label`` is the talking person's role name (``"S: partner talking"``).
    """
    if code not in MARKER_TEXT:
        raise ValueError(f"unknown marker code {code!r} (use one of {', '.join(MARKER_TEXT)})")
    if code == TALKER:
        who = label.strip()
        if not who.isidentifier():
            raise ValueError(f"a talking marker names one person by role name, got {label!r}")
        return f"{code}: {who} {MARKER_TEXT[code]}"
    text = f"{code}: {MARKER_TEXT[code]}"
    if note_id is not None:
        return f"{text}: note {int(note_id)}"
    return f"{text}: {label}" if label else text


@dataclass(frozen=True)
class Note:
    """A free-text note on a moment, kept on this machine.

    Attributes
    ----------
    number : int
        1, 2, ... within the session; the Markers stream carries only this.
    t : float
        LSL timestamp of the moment (s, this machine's clock).
    text : str
        The note.
    """

    number: int
    t: float
    text: str


class NoteLog:
    """The session's moment notes, saved owner-only (0600) as JSON lines; never published."""

    def __init__(self) -> None:
        self.notes: list[Note] = []
        self._lock = threading.Lock()

    def add(self, t: float, text: str) -> Note:
        """Keep a note (whitespace collapsed) and return it with its number."""
        with self._lock:
            note = Note(len(self.notes) + 1, float(t), " ".join(text.split()))
            self.notes.append(note)
        return note

    def save(self, path: str | Path) -> Path:
        """Write every note to ``path`` (JSON lines, mode 0600, replaced atomically)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with self._lock:
            lines = [json.dumps(n.__dict__, ensure_ascii=False) + "\n" for n in self.notes]
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, "".join(lines).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        return path


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

    def push(
        self, code: str, note_id: int | None = None, t: float | None = None, label: str = ""
    ) -> Marker:
        """Publish a marker now (or stamped ``t``) and return it (see :func:`marker_text`)."""
        import pylsl

        text = marker_text(code, note_id, label)
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
