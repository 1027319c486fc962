"""The live dyad engine: rolling EDA and HR concordance with their chance tests.

Uses exactly the same slope / correlation / WCC / CI / lead-test functions as the offline
analysis. Every statement it makes (above chance, who leads, shared breathing) comes from a
test on the session's own data (:mod:`dsp.concordance.evidence`).
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque

import numpy as np

from dsp.concordance.coupling import coupling_percentile
from dsp.concordance.evidence import HighlightTracker, shared_breathing_note
from dsp.concordance.indices import _as_samples, kleinbub_index, marci_index, slope_signal
from dsp.concordance.lead import NO_LEAD_TEST, LeadTest
from dsp.concordance.live_config import DyadConfig, DyadMetrics
from dsp.concordance.live_refresh import RefreshJob, RefreshResult, run_refresh, slope_baseline
from dsp.concordance.stream import ConcordanceStream, PairBuffer
from dsp.concordance.wcc import _lagged_block_corr, wcc, wcc_peak
from dsp.surrogates import percentile_of

__all__ = ["DyadConfig", "DyadMetrics", "LiveDyad"]


class LiveDyad:
    """Rolling dyad concordance engine over the common 4 Hz grid (used by the DSP thread).

    Feed it consecutive grid samples of both people's EDA (µS) and HR (bpm) with
    :meth:`push`; read a frozen :class:`DyadMetrics` with :meth:`snapshot`. Every ``step_s``
    of new data it adds one slope per person and one 15 s slope correlation (the same
    :func:`slope_series` / :func:`rolling_pearson` arithmetic as :func:`slope_concordance`);
    every ``surrogate_every_s`` after ``warmup_s`` it rebuilds the chance baseline from
    ``n_surrogates`` circular shifts (>= ``min_shift_s``) of the clinician's session slope
    series against the patient's most recent ``rolling_n`` correlation span (EDA and HR),
    re-runs the coupling / lead tests over the last ``lead_window_s``
    (:mod:`dsp.concordance.coupling`; their percentiles feed the session-level highlight rule,
    one step per refresh), the HR coherence chance level (its own rule) and the breathing
    check. A snapshot costs O(window): rolling indices, two single-window WCCs and a
    percentile lookup.

    Time of an r value: the grid time of the newest sample it uses. The session starts at
    the first pushed grid time. Not thread-safe: call :meth:`push` and :meth:`snapshot` from
    one thread (the engine's DSP thread); the returned snapshots may be shared freely.

    With ``defer_refresh``, a refresh does not run inside :meth:`push`: its inputs are kept
    as a :class:`~dsp.concordance.live_refresh.RefreshJob` (:meth:`take_refresh_job`), to be
    computed elsewhere (:func:`~dsp.concordance.live_refresh.run_refresh`) and applied with
    :meth:`apply_refresh`; the numbers are those of the inline refresh at the same instant,
    shown from when they are applied. ``refreshes_applied`` counts the refreshes applied so
    far (the first one gives the meter its chance band).
    """

    def __init__(self, config: DyadConfig = DyadConfig(), defer_refresh: bool = False) -> None:  # noqa: B008
        self.config = cfg = config
        self.defer_refresh = defer_refresh
        self._jobs: deque[RefreshJob] = deque()
        self._job_out = False  # a job was taken and its result not applied yet
        self.refreshes_applied = 0
        fs = cfg.fs
        self._rng = np.random.default_rng(cfg.seed)
        cap_steps = int(math.ceil(cfg.max_session_s / cfg.step_s)) + 1
        self._eda = ConcordanceStream(fs, cfg.slope_s, cfg.step_s, cfg.corr_s, cap_steps)
        self._hr = ConcordanceStream(fs, cfg.hr_slope_s, cfg.step_s, cfg.corr_s, cap_steps)
        self._lag_n = _as_samples(cfg.wcc_lag_s, fs, "wcc_lag_s")
        self._eda_wcc_n = _as_samples(cfg.wcc_win_s, fs, "wcc_win_s") + self._lag_n
        self._hr_wcc_n = _as_samples(cfg.hr_wcc_win_s, fs, "hr_wcc_win_s") + self._lag_n
        need = max(
            self._eda_wcc_n + self._eda.w, self._hr_wcc_n + self._hr.w, self._eda.w + self._eda.s
        )
        self._buf_cap = 2 * need + 8
        self._eda_buf = PairBuffer(self._buf_cap)
        coh_n = _as_samples(cfg.hr_coherence_window_s, fs, "hr_coherence_window_s")
        self._hr_buf = PairBuffer(max(self._buf_cap, coh_n + 8))
        self._coh = (math.nan,) * 6  # lf, hf, lf chance, hf chance, lf pct, hf pct
        cap_session = int(math.ceil(cfg.max_session_s * fs)) + 1
        self._eda_hist = PairBuffer(cap_session)  # whole session: the lead tests' surrogates
        self._hr_hist = PairBuffer(cap_session)
        self._hr_null: np.ndarray = np.empty(0)
        self._hr_band = (math.nan, math.nan)
        # the highlight: the rule on the coupling tests, one step per refresh
        self._track = {
            "eda": HighlightTracker(cfg.highlight, cfg.surrogate_every_s),
            "hr": HighlightTracker(cfg.highlight, cfg.surrogate_every_s),
        }
        # HR coherence: the same percentile, one step per refresh
        self._coh_track = {
            band: HighlightTracker(cfg.coherence_rule, cfg.surrogate_every_s)
            for band in ("lf", "hf")
        }
        self._lead: LeadTest = NO_LEAD_TEST
        self._hr_lead: LeadTest = NO_LEAD_TEST
        self._breath = (math.nan, math.nan)
        self._k0: int | None = None  # grid index of the first sample
        self._k_next: int | None = None
        self._null: np.ndarray = np.empty(0)
        self._band = (math.nan, math.nan)
        self._last_refresh_k: int | None = None
        self._hist_t: list[float] = []
        self._hist_ci: list[float] = []
        self._hist_every = max(1, int(round(cfg.history_every_s / cfg.step_s)))
        self._hist_next_r = self._hist_every
        self._cached: DyadMetrics | None = None
        self._lags_s: np.ndarray | None = None  # lag axis of the live WCC rows (s)
        self._hist_arrays: tuple | None = None  # (history key, frozen t, frozen ci)

    # ------------------------------------------------------------------ input
    def push(
        self,
        t_grid: np.ndarray,
        eda_patient: np.ndarray,
        eda_clinician: np.ndarray,
        hr_patient: np.ndarray,
        hr_clinician: np.ndarray,
    ) -> None:
        """Append new grid samples (times ``k / fs`` in s, LSL clock) of both people.

        Samples at or before the last pushed grid time are ignored; a forward jump in
        ``t_grid`` is filled with NaN (missing data), so the grid stays consecutive. NaN marks
        missing or bad-quality samples. Cost: O(new samples) plus, every
        ``surrogate_every_s``, one baseline refresh (O(n_surrogates * rolling window)).
        """
        fs = self.config.fs
        t = np.asarray(t_grid, dtype=float)
        cols = [
            np.asarray(a, dtype=float)
            for a in (eda_patient, eda_clinician, hr_patient, hr_clinician)
        ]
        if any(c.shape != t.shape for c in cols) or t.ndim != 1:
            raise ValueError("t_grid and the four series must be 1-D arrays of equal length")
        if t.size == 0:
            return
        k = np.rint(t * fs).astype(np.int64)
        if self._k0 is None:
            self._k0 = int(k[0])
            self._k_next = int(k[0])
        keep = k >= self._k_next
        if not keep.any():
            return
        k = k[keep]
        cols = [c[keep] for c in cols]
        span = int(k.max()) - self._k_next + 1
        dense = np.full((4, span), np.nan)
        for i, c in enumerate(cols):
            dense[i, k - self._k_next] = c
        chunk = self._buf_cap // 2
        for c0 in range(0, span, chunk):
            part = dense[:, c0 : c0 + chunk]
            self._eda_buf.append(part[0], part[1])
            self._hr_buf.append(part[2], part[3])
            self._eda_hist.append(part[0], part[1])
            self._hr_hist.append(part[2], part[3])
            self._eda.update(self._eda_buf)
            self._hr.update(self._hr_buf)
            self._history()
        self._k_next += span
        self._maybe_refresh()
        self._cached = None

    def _history(self) -> None:
        """Append sparkline points (rolling CI every ``_hist_every`` correlations)."""
        cfg = self.config
        st = self._eda
        made = st.n_made
        while made >= self._hist_next_r:
            idx = self._hist_next_r - (made - st.n_r)  # array position after session-cap drops
            if idx >= 1:
                r = st.r[max(0, idx - cfg.rolling_n) : idx]
                self._hist_t.append((self._k0 + st.r_end[idx - 1]) / cfg.fs)
                self._hist_ci.append(marci_index(r))
            if len(self._hist_t) >= cfg.history_points:
                self._hist_t = self._hist_t[1::2]
                self._hist_ci = self._hist_ci[1::2]
                self._hist_every *= 2
            self._hist_next_r += self._hist_every

    # ------------------------------------------------------------------ baseline
    def _elapsed_s(self) -> float:
        return self._eda_buf.total / self.config.fs

    def _maybe_refresh(self) -> None:
        cfg = self.config
        if self._elapsed_s() < cfg.warmup_s:
            return
        k_now = self._eda_buf.total
        every = int(round(cfg.surrogate_every_s * cfg.fs))
        if self._last_refresh_k is not None and k_now - self._last_refresh_k < every:
            return
        self._last_refresh_k = k_now
        job = self._refresh_inputs()
        if self.defer_refresh:
            self._jobs.append(job)
        else:
            self.apply_refresh(run_refresh(dataclasses.replace(job, rng=self._rng)))

    def _refresh_inputs(self) -> RefreshJob:
        """Copies of what a refresh reads now (O(session))."""
        e, h = self._eda, self._hr
        ep, ec = self._eda_hist.last(self._eda_hist.count)
        hp, hc = self._hr_hist.last(self._hr_hist.count)
        return RefreshJob(
            self.config, e.sp[: e.n_slopes].copy(), e.sc[: e.n_slopes].copy(), e.m,
            h.sp[: h.n_slopes].copy(), h.sc[: h.n_slopes].copy(), h.m,
            ep.copy(), ec.copy(), hp.copy(), hc.copy(),
        )  # fmt: skip

    @property
    def refresh_pending(self) -> int:
        """Refreshes due and not applied yet (deferred mode)."""
        return len(self._jobs) + int(self._job_out)

    def take_refresh_job(self) -> RefreshJob | None:
        """The oldest deferred refresh, carrying the random generator, or None (none due, or
        the previous one's result not applied yet: the draws must follow each other)."""
        if self._job_out or not self._jobs:
            return None
        self._job_out = True
        return dataclasses.replace(self._jobs.popleft(), rng=self._rng)

    def refresh_failed(self) -> None:
        """The taken job's computation failed (its error is reported by the caller): the next
        due refresh may be taken."""
        self._job_out = False

    def apply_refresh(self, res: RefreshResult) -> None:
        """Take a refresh's results: chance bands, coupling tests (one step of each highlight
        rule), HR coherence and breathing; the generator continues from the job's."""
        self._job_out = False
        self.refreshes_applied += 1
        self._rng = res.rng
        self._null = res.eda_null
        if self._null.size:
            self._band = self._band_of(self._null)
        self._hr_null = res.hr_null
        if self._hr_null.size:
            self._hr_band = self._band_of(self._hr_null)
        self._track["eda"].update(coupling_percentile(res.eda_lead))
        self._lead = res.eda_lead
        self._track["hr"].update(coupling_percentile(res.hr_lead))
        self._hr_lead = res.hr_lead
        self._coh = res.coherence
        self._coh_track["lf"].update(res.coherence[4])
        self._coh_track["hf"].update(res.coherence[5])
        self._breath = res.breath
        self._cached = None

    def _band_of(self, null: np.ndarray) -> tuple[float, float]:
        cfg = self.config
        return (
            float(np.percentile(null, cfg.chance_lo_pct)),
            float(np.percentile(null, cfg.chance_hi_pct)),
        )

    def refresh_baseline(self) -> None:
        """Rebuild the surrogate distribution of the rolling CI now (normally automatic).

        The patient's slopes behind the last ``rolling_n`` correlations are paired with the
        clinician's session slope series circularly shifted by ``n_surrogates`` random shifts
        in ``[min_shift_s, session - min_shift_s]``; the rolling CI of each pairing forms the
        null distribution. Cost O(n_surrogates * rolling_n * corr window), independent of the
        session length.
        """
        cfg = self.config
        e, h = self._eda, self._hr
        self._null = slope_baseline(e.sp[: e.n_slopes], e.sc[: e.n_slopes], e.m, cfg, self._rng)
        if self._null.size:
            self._band = self._band_of(self._null)
        self._hr_null = slope_baseline(h.sp[: h.n_slopes], h.sc[: h.n_slopes], h.m, cfg, self._rng)
        if self._hr_null.size:
            self._hr_band = self._band_of(self._hr_null)
        self._cached = None

    # ------------------------------------------------------------------ output
    def _live_wcc(self, buf: PairBuffer, slope_s: float, n_blk: int) -> tuple[float, float, bool]:
        cfg = self.config
        w_slope = _as_samples(slope_s, cfg.fs, "slope_s")
        if buf.count < n_blk + w_slope:
            return math.nan, math.nan, False
        p, c = buf.last(n_blk + w_slope)
        sp = slope_signal(p, cfg.fs, slope_s)
        sc = slope_signal(c, cfg.fs, slope_s)
        lag = self._lag_n
        w = n_blk - lag
        if w < 2 or sp.size != n_blk:  # unusual settings: the general (validating) path
            lag_s, win_s = lag / cfg.fs, w / cfg.fs
            res = wcc(sp, sc, cfg.fs, lag_s, win_s, win_s)
            if res.matrix.shape[0] == 0:
                return math.nan, math.nan, False
            return wcc_peak(res.matrix[-1], res.lags_s, cfg.peak_threshold)
        # the single window of wcc(sp, sc, fs, lag, win=w, inc=w): the whole block
        row = _lagged_block_corr(sp[None, :], sc[None, :], w, lag)[0]
        if max(np.count_nonzero(np.isnan(sp)), np.count_nonzero(np.isnan(sc))) > n_blk / 2:
            row[:] = np.nan
        if self._lags_s is None or self._lags_s.size != 2 * lag + 1:
            self._lags_s = np.arange(-lag, lag + 1) / cfg.fs
        return wcc_peak(row, self._lags_s, cfg.peak_threshold)

    def snapshot(self) -> DyadMetrics:
        """Current metrics (frozen). O(window); cached until the next :meth:`push`."""
        if self._cached is not None:
            return self._cached
        cfg = self.config
        s, rec = self._eda, self._eda.recent_r(cfg.rolling_n)
        fin = np.isfinite(rec)
        te, th = self._track["eda"], self._track["hr"]
        pr, pl, pc = self._live_wcc(self._eda_buf, cfg.slope_s, self._eda_wcc_n)
        hist_t, hist_ci = self._history_arrays()
        snap = DyadMetrics(
            t=(self._k_next - 1) / cfg.fs if self._k_next is not None else math.nan,
            elapsed_s=self._elapsed_s(),
            slope_r=float(rec[-1]) if rec.size else math.nan,
            ksi_rolling=kleinbub_index(rec),
            mean_r_rolling=float(rec[fin].mean()) if fin.any() else math.nan,
            ci_session=s.session_ci(),
            ksi_session=s.session_ksi(),
            **self._eda_chance(rec),
            wcc_peak_r=pr,
            wcc_lag_s=pl,
            wcc_clear=pc,
            lead_text=self._lead.text,
            **self._hr_fields(),
            eda_history_t=hist_t,
            eda_history_ci=hist_ci,
            n_correlations=int(s.n_finite),
            highlight=te.on,
            highlight_ever=te.ever,
            hold_s=self._run_span(te),
            hr_highlight=th.on,
            hr_highlight_ever=th.ever,
            hr_hold_s=self._run_span(th),
            lead=self._lead,
            hr_lead=self._hr_lead,
            breathing_patient_hz=self._breath[0],
            breathing_clinician_hz=self._breath[1],
            breathing_note=shared_breathing_note(*self._breath),
        )
        self._cached = snap
        return snap

    def _eda_chance(self, rec: np.ndarray) -> dict:
        """The rolling EDA CI over ``rec`` (the last ``rolling_n`` r values), its validity and
        where it sits against the chance baseline (NaN while warming up)."""
        cfg = self.config
        valid = rec.size > 0 and np.isfinite(rec).mean() >= cfg.min_valid_fraction
        ci_roll = marci_index(rec)
        warming = self._elapsed_s() < cfg.warmup_s or self._null.size == 0
        if warming:
            pct = lo = hi = math.nan
        else:
            pct = percentile_of(ci_roll, self._null) if valid else math.nan
            lo, hi = self._band
        return {
            "ci_rolling": ci_roll,
            "percentile": pct,
            "chance_lo": lo,
            "chance_hi": hi,
            "n_surrogates": 0 if warming else int(self._null.size),
            "warming_up": bool(warming),
            "valid": bool(valid),
        }

    def _hr_fields(self) -> dict:
        """The HR half: rolling HR CI, its chance band and percentile, the live HR WCC and the
        HR coherence with its chance levels."""
        cfg = self.config
        hrec = self._hr.recent_r(cfg.rolling_n)
        hvalid = hrec.size > 0 and np.isfinite(hrec).mean() >= cfg.min_valid_fraction
        hci_roll = marci_index(hrec)
        hwarm = self._elapsed_s() < cfg.warmup_s or self._hr_null.size == 0
        hpct = percentile_of(hci_roll, self._hr_null) if hvalid and not hwarm else math.nan
        hlo, hhi = (math.nan, math.nan) if hwarm else self._hr_band
        hpr, hpl, hpc = self._live_wcc(self._hr_buf, cfg.hr_slope_s, self._hr_wcc_n)
        return {
            "hr_wcc_peak_r": hpr,
            "hr_wcc_lag_s": hpl,
            "hr_wcc_clear": hpc,
            "hr_ci_rolling": hci_roll,
            "hr_valid": bool(hvalid),
            "hr_lead_text": self._hr_lead.text,
            "hr_coherence_lf": self._coh[0],
            "hr_coherence_hf": self._coh[1],
            "hr_percentile": hpct,
            "hr_chance_lo": hlo,
            "hr_chance_hi": hhi,
            "hr_coherence_lf_chance": self._coh[2],
            "hr_coherence_hf_chance": self._coh[3],
            "hr_coherence_lf_pct": self._coh[4],
            "hr_coherence_hf_pct": self._coh[5],
            **self._coherence_fields(),
        }

    def _run_span(self, tracker: HighlightTracker) -> float:
        """Time spanned by a per-refresh rule's current run (s; 0 for one refresh or none)."""
        return float(max(tracker.run_steps - 1, 0) * self.config.surrogate_every_s)

    def _coherence_fields(self) -> dict:
        """The highlight rule on each coherence band: on/off and the time its run spans."""
        out = {}
        for band, tr in self._coh_track.items():
            out[f"hr_coherence_{band}_highlight"] = tr.on
            out[f"hr_coherence_{band}_hold_s"] = self._run_span(tr)
        return out

    def _history_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The sparkline (t, CI) arrays, rebuilt only when the history changed (frozen,
        shareable between snapshots)."""
        hk = (len(self._hist_t), self._hist_every, self._hist_next_r)
        if self._hist_arrays is None or self._hist_arrays[0] != hk:
            self._hist_arrays = (
                hk,
                _frozen(np.array(self._hist_t)),
                _frozen(np.array(self._hist_ci)),
            )
        return self._hist_arrays[1], self._hist_arrays[2]

    def eda_session(self) -> tuple[float, np.ndarray, np.ndarray]:
        """Both people's EDA on the grid over the session held in memory (up to
        ``max_session_s``): ``(time of the first sample in s on the LSL clock, patient µS,
        clinician µS)``, NaN where missing. For the session summary; O(session).
        """
        h = self._eda_hist
        if self._k0 is None or h.count == 0:
            return math.nan, np.empty(0), np.empty(0)
        p, c = h.last(h.count)
        return (self._k0 + h.total - h.count) / self.config.fs, p.copy(), c.copy()

    def r_series(self) -> tuple[np.ndarray, np.ndarray]:
        """Session EDA slope correlations held in memory: (end time in s on the LSL clock, r).

        For export and checks; O(session).
        """
        s = self._eda
        if self._k0 is None:
            return np.empty(0), np.empty(0)
        return (self._k0 + s.r_end[: s.n_r]) / self.config.fs, s.r[: s.n_r].copy()


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a
