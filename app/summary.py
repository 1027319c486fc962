"""The console's session summary: the tested listening-vs-talking contrast of the live session.

No Qt here. When a recording stops, the console says whether concordance differed between the
talking (``T``) and listening (``L``) blocks the clinician marked, with the same block
permutation test as the report (:func:`dsp.concordance.contrast.label_contrast`), from the
live engine's own EDA slope correlations. Too few blocks: "not enough data for a test".
"""

from __future__ import annotations

from collections.abc import Sequence

from devices.markers import Marker
from dsp.concordance import LiveDyad
from dsp.concordance.contrast import LabelContrast, block_sums, label_contrast
from dsp.concordance.segments import intervals_from_markers

__all__ = ["LABELS", "session_contrast"]

#: Marker codes of the blocks and their names.
LABELS = {"L": "listening", "T": "talking"}


def session_contrast(
    dyad: LiveDyad, markers: Sequence[Marker], t_end: float
) -> LabelContrast | None:
    """EDA concordance while listening vs talking over the live session (None without any
    listening or talking marker).

    Parameters
    ----------
    dyad : LiveDyad
        The engine's dyad (its EDA slope correlations, stamped with their newest sample).
    markers : sequence of Marker
        Markers sent in this session; each ``T`` / ``L`` starts a block lasting until the
        next ``T`` / ``L`` (``M`` moments do not end a block).
    t_end : float
        End of the last block (s, LSL clock).
    """
    blocks = [m for m in markers if m.code in LABELS]
    if not blocks:
        return None
    iv = intervals_from_markers([m.t for m in blocks], [LABELS[m.code] for m in blocks], t_end)
    t_r, r = dyad.r_series()
    cfg = dyad.config
    span = (cfg.corr_s / cfg.step_s - 1) * cfg.step_s + cfg.slope_s
    return label_contrast(block_sums(r, t_r - span, t_r, iv), "listening", "talking")
