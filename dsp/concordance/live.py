"""The live dyad engine: rolling EDA and HR concordance, chance baseline and WCC lead.

Uses exactly the same slope / correlation / WCC / CI functions as the offline analysis.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

from dsp.concordance.baselines import stat_rows
from dsp.concordance.hr import hr_coherence
from dsp.concordance.indices import (
    _as_samples,
    _corr_values,
    kleinbub_index,
    marci_from_sums,
    marci_index,
    rolling_pearson,
    slope_signal,
)
from dsp.concordance.wcc import PEAK_THRESHOLD, _lagged_block_corr, lead_text, wcc, wcc_peak
from dsp.params import DYAD_PARAMS, MethodParams, reads_method_params
from dsp.surrogates import percentile_of, random_shifts

__all__ = ["DyadConfig", "DyadMetrics", "LiveDyad"]


@reads_method_params(*DYAD_PARAMS, fs="grid_fs")
@dataclass(frozen=True)
class DyadConfig:
    """Settings of :class:`LiveDyad` (all times in seconds, rates in Hz).

    The method parameters (grid rate ``fs``, slope/correlation windows, WCC, rolling CI,
    surrogates, chance band) are read from ``method``, shared with the offline
    :class:`dsp.session.SessionConfig`: ``config.rolling_n`` is ``config.method.rolling_n``
    and ``config.fs`` is ``config.method.grid_fs``.

    Attributes
    ----------
    method : MethodParams
        The method parameters shared with the offline analysis.
    warmup_s : float
        Data needed before a chance baseline (percentile, chance band) is shown (150 s).
    surrogate_every_s : float
        Baseline refresh interval (10 s).
    hr_coherence_window_s, hr_coherence_min_s : float
        HR coherence (LF/HF) over the last 300 s, needing at least 120 s without gaps
        (:func:`hr_coherence`); refreshed with the baseline.
    peak_threshold : float
        Minimum WCC peak r for a clear peak / lead statement (0.3).
    max_session_s : float
        Session memory cap (4 h); older steps leave the session indices.
    history_points : int
        Maximum points of the CI sparkline; when full, it is decimated by 2.
    history_every_s : float
        Initial sparkline spacing (10 s); doubles at each decimation.
    seed : int or None
        Seed of the surrogate shifts (None: non-reproducible).
    """

    warmup_s: float = 150.0
    surrogate_every_s: float = 10
    hr_coherence_window_s: float = 300.0
    hr_coherence_min_s: float = 120.0
    peak_threshold: float = PEAK_THRESHOLD
    max_session_s: float = 4 * 3600.0
    history_points: int = 720
    history_every_s: float = 10.0
    seed: int | None = 0
    method: MethodParams = MethodParams()  # noqa: RUF009 - frozen, shared default

    def __post_init__(self) -> None:
        if self.fs <= 0 or self.rolling_n < 2 or self.n_surrogates < 1:
            raise ValueError("fs must be > 0, rolling_n >= 2 and n_surrogates >= 1")
        for name in ("slope_s", "step_s", "hr_slope_s", "wcc_win_s", "wcc_lag_s", "hr_wcc_win_s"):
            _as_samples(getattr(self, name), self.fs, name)
        _corr_values(self.corr_s, self.step_s)
        if self.warmup_s < 2 * self.min_shift_s + self.corr_s + self.slope_s:
            raise ValueError("warmup_s must leave room for circular shifts >= min_shift_s")


@dataclass(frozen=True)
class DyadMetrics:
    """One frozen snapshot of the live dyad (x = patient, y = clinician).

    Attributes
    ----------
    t : float
        Grid time (s, LSL clock) of the newest sample pushed; NaN before any data.
    elapsed_s : float
        Seconds of grid data pushed so far.
    slope_r : float
        Newest 15 s slope correlation r (patient vs clinician EDA slopes).
    ci_rolling, ksi_rolling, mean_r_rolling : float
        Marci CI, Kleinbub KSI, mean r over the last ``rolling_n`` correlations.
    ci_session, ksi_session : float
        Same over the session (capped at ``max_session_s``).
    percentile : float
        Percentile (0-100) of ``ci_rolling`` among circular-shift surrogates of the session so
        far; NaN while warming up or invalid.
    chance_lo, chance_hi : float
        ``chance_lo_pct`` / ``chance_hi_pct`` percentiles of that surrogate distribution.
    n_surrogates : int
        Finite surrogate values behind the baseline (0 while warming up).
    warming_up : bool
        True until ``warmup_s`` of data and the first baseline exist.
    valid : bool
        False when either person's EDA is missing/bad in the rolling window (fewer than
        ``min_valid_fraction`` finite correlations) or no correlation exists yet.
    wcc_peak_r, wcc_lag_s : float
        Live EDA WCC peak nearest lag 0 and its lag (s, positive = patient leads).
    wcc_clear : bool
        Peak >= ``peak_threshold`` and not at the lag limit.
    lead_text : str
        Words for the EDA lead ("patient leads by 2.0 s", "no clear lead", ...).
    hr_wcc_peak_r, hr_wcc_lag_s : float
        Same on HR (60 s window).
    hr_wcc_clear : bool
        Clear HR peak.
    hr_ci_rolling : float
        Rolling Marci CI of the HR slope correlations.
    hr_valid : bool
        HR rolling window complete for both people.
    hr_lead_text : str
        Words for the HR lead.
    hr_coherence_lf, hr_coherence_hf : float
        Magnitude-squared coherence of the two HR series in LF / HF over the last 2-5 min
        (refreshed every ``surrogate_every_s``; NaN with less than 2 min of gap-free HR).
    eda_history_t, eda_history_ci : numpy.ndarray
        Session sparkline of ``ci_rolling`` (time in s, LSL clock), bounded and decimated.
    n_correlations : int
        Finite EDA slope correlations in the session.
    """

    t: float
    elapsed_s: float
    slope_r: float
    ci_rolling: float
    ksi_rolling: float
    mean_r_rolling: float
    ci_session: float
    ksi_session: float
    percentile: float
    chance_lo: float
    chance_hi: float
    n_surrogates: int
    warming_up: bool
    valid: bool
    wcc_peak_r: float
    wcc_lag_s: float
    wcc_clear: bool
    lead_text: str
    hr_wcc_peak_r: float
    hr_wcc_lag_s: float
    hr_wcc_clear: bool
    hr_ci_rolling: float
    hr_valid: bool
    hr_lead_text: str
    hr_coherence_lf: float
    hr_coherence_hf: float
    eda_history_t: np.ndarray
    eda_history_ci: np.ndarray
    n_correlations: int


class _PairBuffer:
    """Last ``cap`` grid samples of a patient/clinician pair, with absolute sample indices."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.p = np.full(cap, np.nan)
        self.c = np.full(cap, np.nan)
        self.count = 0
        self.total = 0  # samples ever appended

    def append(self, p: np.ndarray, c: np.ndarray) -> None:
        n = n_in = p.size
        if n > self.cap:
            p, c = p[-self.cap :], c[-self.cap :]
            n = self.cap
        keep = min(self.count, self.cap - n)
        if keep < self.count:
            self.p[:keep] = self.p[self.count - keep : self.count]
            self.c[:keep] = self.c[self.count - keep : self.count]
        self.p[keep : keep + n] = p
        self.c[keep : keep + n] = c
        self.count = keep + n
        self.total += n_in

    def span(self, i0: int, i1: int) -> tuple[np.ndarray, np.ndarray]:
        """Samples with absolute indices ``[i0, i1)`` (must still be held)."""
        base = self.total - self.count
        return self.p[i0 - base : i1 - base], self.c[i0 - base : i1 - base]

    def last(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        n = min(n, self.count)
        return self.p[self.count - n : self.count], self.c[self.count - n : self.count]


class _ConcordanceStream:
    """Slope series and slope correlations of one modality, step by step (O(1) per step)."""

    def __init__(self, fs: float, slope_s: float, step_s: float, corr_s: float, cap: int) -> None:
        self.fs = fs
        self.slope_s = slope_s
        self.step_s = step_s
        self.w = _as_samples(slope_s, fs, "slope_s")
        self.s = _as_samples(step_s, fs, "step_s")
        self.m = _corr_values(corr_s, step_s)
        self.cap = cap
        self.sp = np.full(cap, np.nan)
        self.sc = np.full(cap, np.nan)
        self.n_slopes = 0
        self.r = np.full(cap, np.nan)
        self.r_end = np.full(cap, np.nan)  # end sample index (absolute) of each r
        self.n_r = 0
        self.n_made = 0  # correlations ever made (n_r plus those dropped by the session cap)
        self.next_step = 0
        self.pos_sum = 0.0
        self.neg_sum = 0.0
        self.n_finite = 0
        self.pos_sorted: list[float] = []

    def _drop(self, arr_n: str, k: int) -> None:
        """Drop the oldest ``k`` slopes / correlations when the session cap is reached."""
        if arr_n == "slopes":
            self.sp[: self.n_slopes - k] = self.sp[k : self.n_slopes]
            self.sc[: self.n_slopes - k] = self.sc[k : self.n_slopes]
            self.n_slopes -= k
        else:
            gone = self.r[:k]
            fin = gone[~np.isnan(gone)]
            self.n_finite -= int(fin.size)
            self.pos_sum -= float(fin[fin > 0].sum())
            self.neg_sum -= float(fin[fin < 0].sum())
            self.r[: self.n_r - k] = self.r[k : self.n_r]
            self.r_end[: self.n_r - k] = self.r_end[k : self.n_r]
            self.n_r -= k
            kept = self.r[: self.n_r]
            self.pos_sorted = sorted(kept[kept > 0].tolist())

    def _account(self, v: float) -> None:
        """Add a new correlation to the running session sums (O(log n) + list insert)."""
        if math.isnan(v):
            return
        self.n_finite += 1
        if v > 0:
            self.pos_sum += v
            bisect.insort(self.pos_sorted, v)
        elif v < 0:
            self.neg_sum += v

    def update(self, buf: _PairBuffer) -> None:
        while self.next_step * self.s + self.w < buf.total:
            i0 = self.next_step * self.s
            p, c = buf.span(i0, i0 + self.w + 1)
            sp = (p[-1] - p[0]) / self.slope_s
            sc = (c[-1] - c[0]) / self.slope_s
            if np.isnan(p).any():
                sp = math.nan
            if np.isnan(c).any():
                sc = math.nan
            if self.n_slopes == self.cap:
                self._drop("slopes", max(1, self.cap // 10))
            self.sp[self.n_slopes] = sp
            self.sc[self.n_slopes] = sc
            self.n_slopes += 1
            self.next_step += 1
            if self.n_slopes >= self.m:
                a = self.sp[self.n_slopes - self.m : self.n_slopes]
                b = self.sc[self.n_slopes - self.m : self.n_slopes]
                r = float(rolling_pearson(a, b, self.m)[0])
                if self.n_r == self.cap:
                    self._drop("r", max(1, self.cap // 10))
                self.r[self.n_r] = r
                self.r_end[self.n_r] = i0 + self.w
                self.n_r += 1
                self.n_made += 1
                self._account(r)

    def recent_r(self, n: int) -> np.ndarray:
        return self.r[max(0, self.n_r - n) : self.n_r]

    def session_ci(self) -> float:
        if self.n_finite == 0:
            return math.nan
        # running sums can leave a tiny residue after session-cap drops: clamp it at 0
        return float(marci_from_sums(max(self.pos_sum, 0.0), abs(self.neg_sum)))

    def session_ksi(self) -> float:
        k = len(self.pos_sorted)
        if self.n_finite == 0 or k == 0:
            return math.nan
        med = (
            self.pos_sorted[k // 2]
            if k % 2
            else 0.5 * (self.pos_sorted[k // 2 - 1] + self.pos_sorted[k // 2])
        )
        return float(med * k / self.n_finite)


class LiveDyad:
    """Rolling dyad concordance engine over the common 4 Hz grid (used by the DSP thread).

    Feed it consecutive grid samples of both people's EDA (µS) and HR (bpm) with
    :meth:`push`; read a frozen :class:`DyadMetrics` with :meth:`snapshot`. Every ``step_s``
    of new data it adds one slope per person and one 15 s slope correlation (the same
    :func:`slope_series` / :func:`rolling_pearson` arithmetic as :func:`slope_concordance`);
    every ``surrogate_every_s`` after ``warmup_s`` it rebuilds the chance baseline from
    ``n_surrogates`` circular shifts (>= ``min_shift_s``) of the clinician's session slope
    series against the patient's most recent ``rolling_n`` correlation span. A snapshot costs
    O(window): rolling indices, two single-window WCCs and a percentile lookup.

    Time of an r value: the grid time of the newest sample it uses. The session starts at
    the first pushed grid time. Not thread-safe: call :meth:`push` and :meth:`snapshot` from
    one thread (the engine's DSP thread); the returned snapshots may be shared freely.
    """

    def __init__(self, config: DyadConfig = DyadConfig()) -> None:  # noqa: B008
        self.config = cfg = config
        fs = cfg.fs
        self._rng = np.random.default_rng(cfg.seed)
        cap_steps = int(math.ceil(cfg.max_session_s / cfg.step_s)) + 1
        self._eda = _ConcordanceStream(fs, cfg.slope_s, cfg.step_s, cfg.corr_s, cap_steps)
        self._hr = _ConcordanceStream(fs, cfg.hr_slope_s, cfg.step_s, cfg.corr_s, cap_steps)
        self._lag_n = _as_samples(cfg.wcc_lag_s, fs, "wcc_lag_s")
        self._eda_wcc_n = _as_samples(cfg.wcc_win_s, fs, "wcc_win_s") + self._lag_n
        self._hr_wcc_n = _as_samples(cfg.hr_wcc_win_s, fs, "hr_wcc_win_s") + self._lag_n
        need = max(
            self._eda_wcc_n + self._eda.w, self._hr_wcc_n + self._hr.w, self._eda.w + self._eda.s
        )
        self._buf_cap = 2 * need + 8
        self._eda_buf = _PairBuffer(self._buf_cap)
        coh_n = _as_samples(cfg.hr_coherence_window_s, fs, "hr_coherence_window_s")
        self._hr_buf = _PairBuffer(max(self._buf_cap, coh_n + 8))
        self._coh = (math.nan, math.nan)
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
        self.refresh_baseline()
        p, c = self._hr_buf.last(self._hr_buf.count)
        coh = hr_coherence(p, c, cfg.fs, cfg.hr_coherence_window_s, cfg.hr_coherence_min_s)
        self._coh = (coh.lf, coh.hf)

    def refresh_baseline(self) -> None:
        """Rebuild the surrogate distribution of the rolling CI now (normally automatic).

        The patient's slopes behind the last ``rolling_n`` correlations are paired with the
        clinician's session slope series circularly shifted by ``n_surrogates`` random shifts
        in ``[min_shift_s, session - min_shift_s]``; the rolling CI of each pairing forms the
        null distribution. Cost O(n_surrogates * rolling_n * corr window), independent of the
        session length.
        """
        cfg = self.config
        s = self._eda
        big_l = s.n_slopes
        m = s.m
        nwin = cfg.rolling_n + m - 1
        min_shift = int(round(cfg.min_shift_s / cfg.step_s))
        if big_l < max(nwin, 2 * min_shift + 1):
            self._null = np.empty(0)
            return
        shifts = random_shifts(big_l, cfg.n_surrogates, min_shift, self._rng)
        idx = (np.arange(big_l - nwin, big_l)[None, :] - shifts[:, None]) % big_l
        sp = s.sp[big_l - nwin : big_l]
        sc = s.sc[:big_l][idx]
        r = rolling_pearson(sp[None, :], sc, m)
        null = stat_rows(r, "ci")
        self._null = np.sort(null[np.isfinite(null)])
        if self._null.size:
            self._band = (
                float(np.percentile(self._null, cfg.chance_lo_pct)),
                float(np.percentile(self._null, cfg.chance_hi_pct)),
            )

    # ------------------------------------------------------------------ output
    def _live_wcc(self, buf: _PairBuffer, slope_s: float, n_blk: int) -> tuple[float, float, bool]:
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
        s, h = self._eda, self._hr
        rec = s.recent_r(cfg.rolling_n)
        hrec = h.recent_r(cfg.rolling_n)
        fin = np.isfinite(rec)
        valid = rec.size > 0 and fin.mean() >= cfg.min_valid_fraction
        hvalid = hrec.size > 0 and np.isfinite(hrec).mean() >= cfg.min_valid_fraction
        ci_roll = marci_index(rec)
        warming = self._elapsed_s() < cfg.warmup_s or self._null.size == 0
        if warming:
            pct = lo = hi = math.nan
        else:
            pct = percentile_of(ci_roll, self._null) if valid else math.nan
            lo, hi = self._band
        pr, pl, pc = self._live_wcc(self._eda_buf, cfg.slope_s, self._eda_wcc_n)
        hpr, hpl, hpc = self._live_wcc(self._hr_buf, cfg.hr_slope_s, self._hr_wcc_n)
        t_last = (self._k_next - 1) / cfg.fs if self._k_next is not None else math.nan
        # the sparkline arrays are rebuilt only when the history changed (frozen, shareable)
        hk = (len(self._hist_t), self._hist_every, self._hist_next_r)
        if self._hist_arrays is None or self._hist_arrays[0] != hk:
            self._hist_arrays = (
                hk,
                _frozen(np.array(self._hist_t)),
                _frozen(np.array(self._hist_ci)),
            )
        hist_t, hist_ci = self._hist_arrays[1], self._hist_arrays[2]
        snap = DyadMetrics(
            t=t_last,
            elapsed_s=self._elapsed_s(),
            slope_r=float(rec[-1]) if rec.size else math.nan,
            ci_rolling=ci_roll,
            ksi_rolling=kleinbub_index(rec),
            mean_r_rolling=float(rec[fin].mean()) if fin.any() else math.nan,
            ci_session=s.session_ci(),
            ksi_session=s.session_ksi(),
            percentile=pct,
            chance_lo=lo,
            chance_hi=hi,
            n_surrogates=0 if warming else int(self._null.size),
            warming_up=bool(warming),
            valid=bool(valid),
            wcc_peak_r=pr,
            wcc_lag_s=pl,
            wcc_clear=pc,
            lead_text=lead_text(pl, pr, cfg.peak_threshold, pc),
            hr_wcc_peak_r=hpr,
            hr_wcc_lag_s=hpl,
            hr_wcc_clear=hpc,
            hr_ci_rolling=marci_index(hrec),
            hr_valid=bool(hvalid),
            hr_lead_text=lead_text(hpl, hpr, cfg.peak_threshold, hpc),
            hr_coherence_lf=self._coh[0],
            hr_coherence_hf=self._coh[1],
            eda_history_t=hist_t,
            eda_history_ci=hist_ci,
            n_correlations=int(s.n_finite),
        )
        self._cached = snap
        return snap

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
