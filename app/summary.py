"""The console's session summary: the tested listening-vs-talking contrast of the live session.

No Qt here. When a recording stops, the console says whether concordance differed between the
talking (``T``) and listening (``L``) blocks the clinician marked, with the same block
permutation test and statistic as the report (:func:`dsp.concordance.contrast.label_contrast`),
from the live engine's own session EDA. Too few blocks: "not enough data for a test".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from devices.markers import BLOCK_LABELS, Marker, marker_blocks
from dsp.concordance import LiveDyad
from dsp.concordance.contrast import (
    ContrastMeasure,
    LabelContrast,
    contrast_blocks,
    label_contrast,
)

__all__ = ["session_contrast"]


def session_contrast(
    dyad: LiveDyad, markers: Sequence[Marker], t_end: float
) -> LabelContrast | None:
    """EDA concordance while listening vs talking over the live session (None without any
    listening or talking marker).

    Parameters
    ----------
    dyad : LiveDyad
        The engine's dyad (its session EDA on the grid).
    markers : sequence of Marker
        Markers sent in this session; each ``T`` / ``L`` starts a block lasting until the
        next ``T`` / ``L`` (``M`` moments do not end a block).
    t_end : float
        End of the last block (s, LSL clock).
    """
    iv = marker_blocks([(m.t, BLOCK_LABELS.get(m.code)) for m in markers], -math.inf, t_end)
    if not iv:
        return None
    t0, p, c = dyad.eda_session()
    cfg = dyad.config
    blocks = contrast_blocks(
        p, c, cfg.fs, iv, t0, cfg.slope_s, cfg.corr_s, cfg.step_s, cfg.wcc_win_s,
        cfg.wcc_lag_s, cfg.lead_inc_s, measure=ContrastMeasure.SHARED_SCR, method=cfg.method,
    )  # fmt: skip
    return label_contrast(blocks, "listening", "talking")
