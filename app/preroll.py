"""The demo's pre-roll: the simulated dyad's first minutes, computed before the window opens.

The concordance meter needs ``DyadConfig.warmup_s`` (150 s) of both people's data before it
has a chance baseline, and its "above chance" test needs ``DyadConfig.coupling_from_s``
(4:40) before it runs. A demo should show a working meter at once, so ``attune demo`` starts
the engine with the same seeded simulator's first :attr:`Preroll.seconds` already processed:
:meth:`Preroll.history` renders them in-process (:class:`dsp.simulate.DyadModel`, no LSL)
with LSL timestamps ending at :attr:`Preroll.end_t`, the engine feeds them through the same
``dsp`` code as live data, and the child simulator publishes the same seed from simulator
time ``seconds`` on, stamped from ``end_t``, so the signals run on without a seam. The
console labels the result "pre-rolled (simulated history)". Real sessions never pre-roll.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dsp.simulate import DyadModel, DyadSimConfig

PREROLL_S = 320.0
"""Default pre-roll (s): past the coupling test's start (280 s) and its 20 s rule, with room
for the dyad grid's delay."""

PREROLL_LABEL = "pre-rolled (simulated history)"


@dataclass(frozen=True)
class Preroll:
    """Simulated history to feed the engine before live data.

    Attributes
    ----------
    sim : DyadSimConfig
        The dyad the child simulator publishes (same seed and parameters).
    seconds : float
        Length of the history (s): simulator times ``0 .. seconds``.
    end_t : float
        LSL time (s) at which the history ends and the live stream (simulator time
        ``seconds``) begins.
    """

    sim: DyadSimConfig
    seconds: float
    end_t: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.seconds) and self.seconds > 0):
            raise ValueError("the pre-roll must be a positive number of seconds")
        if not math.isfinite(self.end_t):
            raise ValueError("the pre-roll's end time must be finite")

    @property
    def label(self) -> str:
        """Words for the console: what is simulated history."""
        return f"{PREROLL_LABEL}: the first {self.seconds:.0f} s were computed at start"

    def rate(self, modality: str) -> float | None:
        """Sampling rate (Hz) of ``modality`` ('eda', 'ppg', 'ecg'), None if not simulated."""
        return {"eda": self.sim.eda_fs, "ppg": self.sim.ppg_fs, "ecg": self.sim.ecg_fs}.get(
            modality
        )

    def history(
        self, model: DyadModel, role: str, modality: str
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """``(t, x, fs)``: the history of one stream, LSL times ending before ``end_t``.

        Sample ``i`` (simulator time ``i / fs``) gets the LSL time
        ``end_t - seconds + i / fs``, exactly as the child simulator stamps its samples, so
        the child's first sample (index ``ceil(seconds * fs)``) follows the last one here.
        """
        fs = self.rate(modality)
        if fs is None:
            raise ValueError(f"the simulated dyad has no {modality} stream")
        n = int(np.ceil(self.seconds * fs - 1e-9))
        x = model.render(role, modality, 0, n)
        t = self.end_t - self.seconds + np.arange(n) / fs
        return t, x, float(fs)
