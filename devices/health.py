"""Stream health: the typed states of a followed stream and a snapshot of its health.

States
------
``waiting``       never connected yet
``connected``     data arriving
``stale``         connected, but no sample for more than max(2 / nominal rate, 1 s)
``lost``          the outlet is gone; looking for it again
``reconnecting``  found again; waiting for the first sample
``unusable``      cannot be used as assigned (string format, missing channel)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class HealthState(StrEnum):
    """State of one followed stream (values are the words shown to the user)."""

    WAITING = "waiting"
    CONNECTED = "connected"
    STALE = "stale"
    LOST = "lost"
    RECONNECTING = "reconnecting"
    UNUSABLE = "unusable"

    @property
    def delivering(self) -> bool:
        """True when data is arriving now."""
        return self is HealthState.CONNECTED


@dataclass(frozen=True)
class StreamHealth:
    """Health of one stream at one moment.

    Attributes
    ----------
    key : str
        The slot key.
    state : HealthState
        See the module docstring.
    effective_rate : float
        Samples per second over the last ~5 s of arrivals (Hz); NaN before there is enough data.
    last_sample_age : float
        Seconds since the newest sample arrived (this machine's clock); inf if none yet.
    samples : int
        Samples received since the start.
    nonfinite_fraction : float
        Fraction of NaN/inf values in the newest second of the used channel.
    flat : bool
        The used channel has not changed over the newest 2 s.
    reconnects : int
        How often the stream came back after being lost.
    message : str
        Human-readable detail ('' when all is well).
    notes : tuple of str
        Standing facts about the stream's clock and rate that the user should know (for
        example a re-anchored Unix-epoch clock or a nominal rate that is wrong); empty when
        there are none.
    """

    key: str
    state: HealthState
    effective_rate: float
    last_sample_age: float
    samples: int
    nonfinite_fraction: float
    flat: bool
    reconnects: int
    message: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def flags(self) -> tuple[str, ...]:
        """Short data-quality flags: 'nan' (non-finite values), 'flat' (no change)."""
        out = []
        if self.nonfinite_fraction > 0:
            out.append("nan")
        if self.flat:
            out.append("flat")
        return tuple(out)
