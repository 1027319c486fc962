"""The settling baseline of a live session: which values count and what is stored (no Qt).

During the baseline (default 60 s) every engine snapshot offers each person's live metrics;
a value counts only when the engine marked it valid. At the end the baseline of each metric
is the median of the values that counted (NaN when none did). The console's threshold dialog
only shows the ritual and the countdown; this model decides the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from app.engine import EngineSnapshot
from devices.assign import ROLES

BASELINE_METRICS = ("hr_bpm", "rmssd_ms", "coherence_ratio", "scl_us", "scr_per_min")
"""The live metrics a baseline stores (names of :class:`dsp.person.PersonMetrics` fields)."""

VALID_FLAG = {
    "hr_bpm": "hr_valid",
    "rmssd_ms": "hrv_valid",
    "coherence_ratio": "coherence_valid",
    "scl_us": "scl_valid",
    "scr_per_min": "scr_valid",
}
"""The validity flag of each baseline metric."""

BaselineValues = dict[str, dict[str, float]]
"""``{role: {metric: median}}`` (stored in session.json; NaN when no valid value came)."""


@dataclass
class Baseline:
    """Collects valid live values for ``duration_s`` seconds and gives their medians.

    Times are the caller's monotonic clock (s). Not thread-safe: feed it from one thread.
    ``people``: the role names whose values are kept (the patient and the clinician by
    default; a group's 3-8 people).
    """

    duration_s: float = 60.0
    started_at: float | None = None
    people: Sequence[str] = ROLES
    _samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.people = tuple(self.people)
        self._samples = {r: {m: [] for m in BASELINE_METRICS} for r in self.people}

    def begin(self, now: float) -> None:
        """Start (or restart) the baseline clock; earlier values are dropped."""
        self.started_at = float(now)
        for per_role in self._samples.values():
            for values in per_role.values():
                values.clear()

    def elapsed(self, now: float) -> float:
        """Seconds since :meth:`begin` (0 before it)."""
        return 0.0 if self.started_at is None else max(float(now) - self.started_at, 0.0)

    def remaining(self, now: float) -> float:
        """Seconds left (the whole duration before :meth:`begin`)."""
        return max(self.duration_s - self.elapsed(now), 0.0)

    def running(self, now: float) -> bool:
        """True between :meth:`begin` and the end of the duration."""
        return self.started_at is not None and self.remaining(now) > 0.0

    def add(self, snap: EngineSnapshot, now: float) -> int:
        """Take the valid values of ``snap`` while running; returns how many counted."""
        if not self.running(now):
            return 0
        n = 0
        for role in self.people:
            pm = snap.persons.get(role)
            if pm is None:
                continue
            for m in BASELINE_METRICS:
                v = getattr(pm, m, math.nan)
                if getattr(pm, VALID_FLAG[m], False) and v is not None and math.isfinite(v):
                    self._samples[role][m].append(float(v))
                    n += 1
        return n

    def counts(self) -> dict[str, dict[str, int]]:
        """How many values counted so far, per role and metric."""
        return {r: {m: len(v) for m, v in per.items()} for r, per in self._samples.items()}

    def result(self) -> BaselineValues:
        """The median of the counted values per role and metric (NaN where none counted)."""
        return {
            r: {m: float(np.median(v)) if v else math.nan for m, v in per.items()}
            for r, per in self._samples.items()
        }
