"""What each visible stream is, how it is converted and whose it is: ``attune streams``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from devices.assign import Assignment
from devices.lsl import StreamDescription
from devices.profiles import identify


@dataclass(frozen=True)
class StreamRow:
    """One stream as ``attune streams`` shows it.

    Attributes
    ----------
    stream : StreamDescription
    device : str
        Device family and title from its profile ('not recognised' when none matched).
    signals : tuple of str
        One entry per usable channel: ``modality ch (label): conversion``.
    role : str
        The roles/modalities it feeds, or why it feeds none.
    notes : tuple of str
        Profile notes (wrong unit labels, Unix-epoch clocks, bursts, irregular rates).
    """

    stream: StreamDescription
    device: str
    signals: tuple[str, ...]
    role: str
    notes: tuple[str, ...]

    def text(self) -> str:
        """The row as one line."""
        d = self.stream
        rate = f"{d.nominal_srate:g} Hz" if d.nominal_srate > 0 else "irregular"
        head = (
            f"{d.name}  type={d.type}  source_id={d.source_id or '-'}  host={d.hostname}  "
            f"{rate}  {d.channel_count} ch"
        )
        sig = "; ".join(self.signals) or "no usable channel"
        note = f"  [{'; '.join(self.notes)}]" if self.notes else ""
        return f"{head}  device={self.device}  {sig}  -> {self.role}{note}"


def inventory(streams: Sequence[StreamDescription], assignment: Assignment) -> list[StreamRow]:
    """Rows for every stream: device, channel conversions and assigned role."""
    rows = []
    for d in streams:
        prof = identify(d, siblings=streams, desc_xml=d.desc_xml)
        signals = tuple(
            f"{u.modality} ch{u.index}{f' ({u.label})' if u.label else ''}: {u.conversion_text}"
            for u in prof.channels
            if u.modality not in ("other", "seq")
        )
        used = [c for c in assignment.channels if c.stream.uid == d.uid and c.stream.name == d.name]
        role = ", ".join(f"{c.role} {c.modality} ({c.label})" for c in used)
        if not role:
            if not any(u.modality in ("eda", "ppg", "ecg", "ibi") for u in prof.channels):
                role = "not assigned: no EDA/PPG/ECG/IBI channel"
            else:
                role = "not assigned"
        notes: list[str] = []
        rule = prof.rule
        if rule is not None:
            if rule.note:
                notes.append(rule.note)
            if rule.timestamps.value == "unix":
                notes.append("Unix-epoch timestamps expected (re-anchored to the LSL clock)")
            if rule.bursty:
                notes.append("bursty stamps (dejittered for the DSP)")
            if (
                rule.rate > 0
                and d.nominal_srate > 0
                and abs(d.nominal_srate / rule.rate - 1) > 0.01
            ):
                notes.append(f"declared {d.nominal_srate:g} Hz, device runs at {rule.rate:g} Hz")
        rows.append(StreamRow(d, prof.title, signals, role, tuple(notes)))
    return rows
