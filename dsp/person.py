"""Rolling per-person physiology for the live engine (and the same numbers offline).

:class:`LivePerson` receives new samples of one cardiac stream (PPG or ECG) and one EDA stream,
with their (clock-corrected) LSL timestamps, and on demand returns a frozen
:class:`PersonMetrics` and the person's HR / EDA on the dyad grid.

Time conventions
----------------
* Input timestamps are seconds on the LSL clock, one per sample; they may be jittery or come
  in bursts (a Polar H10 stamps ~74 samples with one value). Each stream keeps a sample
  counter and maps sample ``k`` to ``offset + k / fs``; ``offset`` is the running median of
  ``stamp - k / fs`` over recent pushes (robust to jitter and bursts; bursty stamps make the
  offset late by about half a burst, which no receiver can know better).
* A jump of the stamps by more than ``max_gap_s`` beyond the expected time is a gap: the
  missing samples are filled with NaN (the beat detector restarts, EDA filtering restarts)
  so the sample counter stays aligned with time.
* IBIs come from sample positions (``diff(k) / fs``), not from timestamps, so timestamp
  jitter never reaches HRV.
* Beats are committed when the detector can no longer change them (median ~0.5 s after the
  systolic peak) and are reported once; the beat whose block is still open is reported as
  provisional.

Windows (all trailing, ending at the ``now`` passed to :meth:`LivePerson.snapshot`):
RMSSD/SDNN/pNN50/mean HR over ``hrv_window_s``; LF/HF over ``spectral_window_s``; the
coherence ratio over ``coherence_window_s``; SCL over ``scl_window_s``; SCRs per minute over
``scr_window_s``. A metric is NaN with its ``*_valid`` flag False when its window holds less
than ``min_coverage`` of good data. Cardiac quality is assessed on consecutive 10 s windows
(Orphanidou rules, :mod:`dsp.quality`); IBIs touching a bad window are excluded. EDA samples
failing the Kleckner rules are excluded.
"""

from __future__ import annotations

import numpy as np

from dsp.hrv import (
    hrv_time,
)
from dsp.live_cardiac import LiveCardiac
from dsp.live_clock import BEAT_CLOCK_HZ
from dsp.live_eda import LiveEda
from dsp.person_metrics import PersonConfig, PersonMetrics

__all__ = ["BEAT_CLOCK_HZ", "PersonConfig", "PersonMetrics", "LivePerson"]


class LivePerson(LiveCardiac, LiveEda):
    """Rolling per-person processor (see the module docstring).

    Parameters
    ----------
    config : PersonConfig
        Window lengths and thresholds.

    Notes
    -----
    Not thread-safe: call ``push_*``, ``snapshot`` and ``*_on_grid`` from one thread (the
    engine's DSP thread). Bad input raises ``ValueError`` (wrong shapes, fs <= 0, switching
    fs/kind mid-stream); NaN samples are accepted and treated as missing data.
    """

    def __init__(self, config: PersonConfig = PersonConfig()) -> None:  # noqa: B008
        self.cfg = config
        self._c_fs: float | None = None
        self._c_kind: str | None = None
        self._e_fs: float | None = None
        self._init_cardiac()
        self._init_eda()

    # ------------------------------------------------------------------ outputs
    def snapshot(self, now: float) -> PersonMetrics:
        """Current metrics at ``now`` (s, same clock as the input timestamps)."""
        return PersonMetrics(
            t=float(now),
            **self._hrv_fields(now),
            **self._beat_fields(now),
            **self._eda_fields(now),
        )

    def _hrv_fields(self, now: float) -> dict:
        """HR, HRV, spectral HRV, coherence, artifacts and the HR trend at ``now``."""
        cfg = self.cfg
        nan = float("nan")
        ib = self._ibis()
        t_ibi, ibi = ib["t"], ib["ibi"]

        def window(w: float) -> tuple[np.ndarray, np.ndarray]:
            i0, i1 = t_ibi.searchsorted([now - w, now], side="right")
            return t_ibi[i0:i1], ibi[i0:i1]

        # current HR
        _, last = window(cfg.hr_window_s)
        last = last[np.isfinite(last)]
        # time-domain HRV
        _, w_ibi = window(cfg.hrv_window_s)
        w_nan = np.isnan(w_ibi)
        n_fin = w_ibi.size - int(np.count_nonzero(w_nan))
        # np.nansum(w_ibi), without its copy when there is no NaN
        cover = float((np.where(w_nan, 0.0, w_ibi) if n_fin < w_ibi.size else w_ibi).sum())
        cover = cover / 1000.0 if w_ibi.size else 0.0
        ht = hrv_time(w_ibi)
        hrv_valid = ht.valid and cover >= cfg.min_coverage * cfg.hrv_window_s
        # spectral + coherence need unbroken series; recomputed every spectral_update_s
        sc = self._spec_cache
        if sc is None or not (0.0 <= now - sc[0] < cfg.spectral_update_s):
            sc = (now, *self._spectral(window))
            self._spec_cache = sc
        hf, co = sc[1], sc[2]
        spectral_valid = bool(hf is not None and hf.valid)
        coherence_valid = bool(co is not None and co.valid)
        # the HR trend: valid IBIs of the last 300 s (the series' times increase)
        tr_t, tr_ibi = window(300.0)
        tm = np.isfinite(tr_ibi)
        lo_art = now - cfg.hrv_window_s
        return {
            "hr_bpm": 60000.0 / float(np.mean(last)) if last.size else nan,
            "rmssd_ms": ht.rmssd_ms if hrv_valid else nan,
            "ln_rmssd": ht.ln_rmssd if hrv_valid else nan,
            "sdnn_ms": ht.sdnn_ms if hrv_valid else nan,
            "pnn50_pct": ht.pnn50_pct if hrv_valid else nan,
            "mean_hr_window_bpm": ht.mean_hr_bpm if hrv_valid else nan,
            "lf_ms2": hf.lf_ms2 if spectral_valid and hf else nan,
            "hf_ms2": hf.hf_ms2 if spectral_valid and hf else nan,
            "lf_hf": hf.lf_hf if spectral_valid and hf else nan,
            "coherence_ratio": co.ratio if coherence_valid and co else nan,
            "breathing_hz": co.breathing_hz if coherence_valid and co else nan,
            "n_beats_window": n_fin,
            "artifacts": {  # artifacts in the HRV window (flag times increase)
                k: int(np.subtract(*v.searchsorted([now, lo_art], side="right"))) if v.size else 0
                for k, v in ib["flags_t"].items()
            },
            "hr_trend_t": tr_t[tm],
            "hr_trend_bpm": 60000.0 / tr_ibi[tm],
            "hr_valid": bool(last.size),
            "hrv_valid": bool(hrv_valid),
            "spectral_valid": spectral_valid,
            "coherence_valid": coherence_valid,
        }
