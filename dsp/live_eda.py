"""The EDA half of the live per-person processor (:class:`dsp.person.LivePerson`).

:class:`LiveEda` holds the EDA stream state (causally low-passed µS, kept at <= ~32 Hz, with
its Kleckner validity mask), the noise floor and the SCRs, and computes SCL, SCRs per minute
and the EDA quality. It is a base class of :class:`dsp.person.LivePerson`, which sets ``cfg``
(:class:`dsp.person_metrics.PersonConfig`) and calls :meth:`_init_eda`; the time conventions
are those of :mod:`dsp.person`.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from dsp.eda import eda_scr, scr_threshold_us
from dsp.filters import CausalSos, butter_sos
from dsp.live_clock import SMALL_GRID, StreamClock, split_at_gaps, validate_push
from dsp.live_noise import NoiseFloor
from dsp.person_metrics import PersonConfig
from dsp.quality import MIN_SCL_DRIFT_US_S, eda_quality_reason, eda_valid_mask

__all__ = ["LiveEda"]


def _mask_between_gaps(
    raw: np.ndarray, fs: float, gap_n: int, quant_step_us: float = 0.0
) -> np.ndarray:
    """:func:`eda_valid_mask` of each stretch of ``raw`` between NaN runs longer than ``gap_n``
    samples (gaps), as :func:`dsp.session.analyze_person` masks each gap-free piece."""
    nan = np.isnan(raw)
    if not nan.any():
        return eda_valid_mask(raw, fs, quant_step_us=quant_step_us)
    edges = np.flatnonzero(np.diff(np.r_[0, nan.astype(np.int8), 0]))
    out = np.zeros(raw.size, dtype=bool)
    a = 0
    for r0, r1 in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if r1 - r0 > gap_n:
            if r0 > a:
                out[a:r0] = eda_valid_mask(raw[a:r0], fs, quant_step_us=quant_step_us)
            a = r1
    if a < raw.size:
        out[a:] = eda_valid_mask(raw[a:], fs, quant_step_us=quant_step_us)
    return out


class LiveEda:
    """EDA stream state and metrics of one person (see the module docstring)."""

    cfg: PersonConfig
    #: The EDA sensor's quantisation step (µS per code; 0 = unknown), set by the caller from
    #: the device profile: flat runs are judged against it as offline
    #: (:func:`dsp.quality.eda_valid_mask`).
    eda_step_us: float = 0.0

    def _init_eda(self) -> None:
        """(Re)start the EDA stream state (also after a backward clock jump)."""
        fs = self._e_fs
        self._e_clock: StreamClock | None = StreamClock(fs) if fs else None
        # after the 1 Hz low-pass, EDA is kept at <= ~32 Hz (every _e_dec-th sample)
        self._e_dec = max(1, int((fs or 1.0) // 32))
        self._e_fs_kept = (fs or 1.0) / self._e_dec
        self._e_filt: CausalSos | None = None
        if fs:
            self._e_filt = CausalSos(butter_sos("lowpass", (self.cfg.eda_cutoff_hz,), fs, 2))
        self._e_n = 0
        self._e_last_t = float("nan")
        self._e_t = np.zeros(0)
        self._e_x = np.zeros(0)  # causally low-passed EDA (µS), NaN = missing
        self._e_raw = np.zeros(0)
        self._e_mask = np.zeros(0, dtype=bool)  # Kleckner validity of the kept samples
        self._e_mask_valid = 0  # leading samples of _e_mask that are up to date
        self._scr_on = np.zeros(0)
        self._scr_pk = np.zeros(0)
        self._scr_amp = np.zeros(0)
        self._scr_last_run = -np.inf
        self._e_noise = float("nan")
        self._scr_thr = float("nan")
        self._e_cut = 0  # kept samples trimmed from the front so far
        self._noise = NoiseFloor()
        self._noise_ctx = -1  # the mask context the noise floor's settled part assumed

    # ------------------------------------------------------------------ EDA input
    def push_eda(self, t: np.ndarray, x: np.ndarray, fs: float) -> None:
        """Append new EDA samples (µS) with their corrected timestamps (s); NaN = missing."""
        t, x = validate_push(t, x, fs)
        if self._e_fs is None:
            self._e_fs = float(fs)
            self._init_eda()
        elif float(fs) != self._e_fs:
            raise ValueError("EDA fs changed mid-stream; create a new LivePerson")
        for a, b in split_at_gaps(t, self.cfg.max_gap_s):
            self._push_eda_part(t[a:b], x[a:b])

    def _push_eda_part(self, t: np.ndarray, x: np.ndarray) -> None:
        clock, fs = self._e_clock, self._e_fs
        assert clock is not None and self._e_filt is not None and fs is not None
        if np.isfinite(clock.offset) and np.isfinite(t[0]):
            if t[0] < clock.time(self._e_n) - self.cfg.max_gap_s:  # clock jumped back
                self._init_eda()
                self._push_eda_part(t, x)
                return
            missing = int(round((t[0] - clock.time(self._e_n)) * fs))
            if missing > self.cfg.max_gap_s * fs:
                fill = min(missing, int((self.cfg.history_s + 10) * fs))
                self._append_eda(np.full(fill, np.nan))
        clock.update(self._e_n, t)
        fin = t[np.isfinite(t)]
        if fin.size:
            self._e_last_t = (
                float(fin.max())
                if np.isnan(self._e_last_t)
                else max(self._e_last_t, float(fin.max()))
            )
        self._append_eda(x)

    def _append_eda(self, x: np.ndarray) -> None:
        assert self._e_clock is not None and self._e_filt is not None and self._e_fs is not None
        fin = np.isfinite(x)
        if x.size and fin.all():
            y = self._e_filt(x)
        else:
            y = np.full(x.shape, np.nan)
            edges = np.flatnonzero(np.diff(fin.astype(np.int8))) + 1
            bounds = np.concatenate([[0], edges, [x.size]])
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                if b <= a:
                    continue
                if fin[a]:
                    y[a:b] = self._e_filt(x[a:b])
                else:
                    self._e_filt.reset()
        k = self._e_n + np.arange(x.size)
        self._e_n += x.size
        if self._e_dec > 1:
            sel = k % self._e_dec == 0
            k, y, x = k[sel], y[sel], x[sel]
        self._e_t = np.concatenate([self._e_t, self._e_clock.time(k)])
        self._e_x = np.concatenate([self._e_x, y])
        self._e_raw = np.concatenate([self._e_raw, x])
        keep = int((self.cfg.history_s + 10) * self._e_fs_kept)
        if self._e_t.size > keep:
            cut = self._e_t.size - keep
            self._e_t, self._e_x, self._e_raw = self._e_t[cut:], self._e_x[cut:], self._e_raw[cut:]
            self._e_mask = self._e_mask[cut:]
            self._e_mask_valid = max(0, self._e_mask_valid - cut)
            self._e_cut += cut

    def _eda_mask(self) -> np.ndarray:
        """Kleckner validity of the kept EDA, updated incrementally.

        The rules are local (range, slope, flat runs >= 5 s, 5 s margins), so only the new
        samples and the 12 s before them are re-evaluated, with 12 s more of left context
        (longer than a flat run plus its margin). A gap (the NaN run the stream clock filled
        in) separates two stretches masked on their own, as offline, rather than costing
        them 5 s margins.
        """
        n = self._e_raw.size
        if self._e_mask_valid >= n and self._e_mask.size == n:
            return self._e_mask
        fs = self._e_fs_kept
        step = float(self.eda_step_us)
        ctx = self._mask_ctx()
        r0 = max(0, min(self._e_mask_valid, self._e_mask.size) - ctx)
        c0 = max(0, r0 - ctx)
        gap_n = int(self.cfg.max_gap_s * fs)
        part = _mask_between_gaps(self._e_raw[c0:], fs, gap_n, quant_step_us=step)
        part &= np.isfinite(self._e_x[c0:])
        m = np.empty(n, dtype=bool)
        m[:r0] = self._e_mask[:r0]
        m[r0:] = part[r0 - c0 :]
        self._e_mask, self._e_mask_valid = m, n
        return m

    def _mask_ctx(self) -> int:
        """Samples of the mask re-evaluated at each update (and as many of left context):
        older ones are final."""
        step = float(self.eda_step_us)
        # a run the step may explain lasts up to step / MIN_SCL_DRIFT_US_S: keep it in context
        ctx_s = 12.0 if step <= 0 else max(12.0, step / MIN_SCL_DRIFT_US_S + 12.0)
        return int(ctx_s * self._e_fs_kept) + 1

    def _noise_us(self) -> float:
        """:func:`dsp.eda.eda_noise_us` of the valid raw EDA over the kept history, kept up to
        date by :class:`dsp.live_noise.NoiseFloor` (same value)."""
        mask = self._eda_mask()
        ctx = self._mask_ctx()
        if ctx != self._noise_ctx:  # another context: the settled part is not known settled
            self._noise.reset()
            self._noise_ctx = ctx
        return self._noise.noise_us(self._e_raw, mask, self._e_cut, mask.size - ctx)

    def _update_scr(self) -> None:
        """Re-run SCR detection on the recent cleaned EDA at most once per second of data."""
        if self._e_fs is None or self._e_t.size == 0:
            return
        t_end = float(self._e_t[-1])
        if t_end - self._scr_last_run < self.cfg.scr_update_s:
            return
        self._scr_last_run = t_end
        fs = self._e_fs_kept
        span = 40.0  # long enough for any response (rise <= 10 s) plus 10 s of lead-in
        i0 = max(0, self._e_t.size - int(span * fs))
        x = np.where(self._eda_mask()[i0:], self._e_x[i0:], np.nan)
        if np.count_nonzero(np.isfinite(x)) < 4 * fs:
            return
        # the person's noise floor over the kept history (valid raw samples), as offline
        self._e_noise = self._noise_us()
        self._scr_thr = scr_threshold_us(
            self._e_noise, self._e_fs, self.cfg.eda_cutoff_hz, self.cfg.scr_noise_k,
            self.cfg.scr_min_amplitude_us, causal=True,
        )  # fmt: skip
        s = eda_scr(x, fs, min_amplitude_us=self._scr_thr, clean=False)
        if not len(s):
            return
        t0 = float(self._e_t[i0])
        on, pk = s.onsets + t0, s.peaks + t0
        # responses starting near the window start may be truncated: only take those well
        # inside; already known responses (onset within 1 s) are not added again
        keep = on > t0 + 10.0 if i0 > 0 else np.ones(on.size, dtype=bool)
        # Python lists while merging (a handful of responses): same tests, same order
        on_l, pk_l, amp_l = self._scr_on.tolist(), self._scr_pk.tolist(), self._scr_amp.tolist()
        added = False
        for o, p, a in zip(
            on[keep].tolist(), pk[keep].tolist(), s.amplitudes[keep].tolist(), strict=True
        ):
            if on_l and min(abs(v - o) for v in on_l) < 1.0:
                continue
            idx = bisect.bisect_left(on_l, o)
            on_l.insert(idx, o)
            pk_l.insert(idx, p)
            amp_l.insert(idx, a)
            added = True
        if added:
            self._scr_on = np.array(on_l, dtype=float)
            self._scr_pk = np.array(pk_l, dtype=float)
            self._scr_amp = np.array(amp_l, dtype=float)
        t_min = t_end - self.cfg.history_s
        j = int(self._scr_on.searchsorted(t_min))
        self._scr_on, self._scr_pk, self._scr_amp = (
            self._scr_on[j:],
            self._scr_pk[j:],
            self._scr_amp[j:],
        )

    def _eda_fields(self, now: float) -> dict:
        """SCL, SCR rate, EDA quality, noise floor and the SCRs in the history window."""
        scl, scl_valid, scr_rate, scr_valid, eq, eq_reason = self._eda_metrics(now)
        h0 = now - self.cfg.history_s
        i0, i1 = self._scr_on.searchsorted([h0, now], side="right")  # onsets increase
        so = slice(int(i0), int(i1))
        return {
            "scl_us": scl,
            "scr_per_min": scr_rate,
            "eda_quality": eq,
            "eda_quality_reason": eq_reason,
            "eda_last_t": self._e_last_t,
            "scr_onsets": self._scr_on[so].copy(),
            "scr_peaks": self._scr_pk[so].copy(),
            "scr_amplitudes": self._scr_amp[so].copy(),
            "scl_valid": scl_valid,
            "scr_valid": scr_valid,
            "eda_noise_us": self._e_noise,
            "scr_threshold_us": self._scr_thr,
        }

    def _eda_metrics(self, now: float) -> tuple[float, bool, float, bool, str, str]:
        nan = float("nan")
        cfg = self.cfg
        if self._e_fs is None or self._e_t.size == 0:
            return nan, False, nan, False, "none", "no EDA data"
        if now - self._e_last_t > 5.0:
            return nan, False, nan, False, "none", f"no EDA data for {now - self._e_last_t:.0f} s"
        self._update_scr()
        mask = self._eda_mask()
        fs = self._e_fs_kept
        i0, i1 = self._e_t.searchsorted([now - cfg.scl_window_s, now], side="right")
        mw = mask[i0:i1]
        # np.mean's arithmetic without its wrapper: a count over the size for the masks, the
        # (pairwise) sum over the size for the level
        frac = np.count_nonzero(mw) / mw.size if mw.size else nan
        scl_valid = mw.size >= cfg.min_coverage * cfg.scl_window_s * fs and frac >= cfg.min_coverage
        xw = self._e_x[i0:i1][mw] if scl_valid else None
        scl = float(xw.sum() / xw.size) if xw is not None else nan
        j0, j1 = self._e_t.searchsorted([now - cfg.scr_window_s, now], side="right")
        ms = mask[j0:j1]
        scr_valid = bool(
            ms.size >= cfg.min_coverage * cfg.scr_window_s * fs
            and np.count_nonzero(ms) / ms.size >= cfg.min_coverage
        )
        rate = nan
        if scr_valid:
            n = np.sum((self._scr_pk > now - cfg.scr_window_s) & (self._scr_pk <= now))
            rate = float(n) * 60.0 / cfg.scr_window_s
        # quality of the last 10 s
        if mw.size == 0:
            return scl, bool(scl_valid), rate, scr_valid, "none", "no EDA data"
        if frac >= 0.9:
            return scl, bool(scl_valid), rate, scr_valid, "good", ""
        why = eda_quality_reason(self._e_raw[i0:i1], frac, fs)
        return scl, bool(scl_valid), rate, scr_valid, "bad", why

    def eda_on_grid(self, t_grid: np.ndarray) -> np.ndarray:
        """Low-passed EDA (µS) linearly interpolated on ``t_grid`` (s).

        NaN where there is no data, across gaps larger than ``max_gap_s`` and where the
        Kleckner quality rules fail.
        """
        tg = np.asarray(t_grid, dtype=float)
        out = np.full(tg.shape, np.nan)
        if self._e_t.size < 2:
            return out
        mask, ex = self._eda_mask(), self._e_x
        t = self._e_t
        j = t.searchsorted(tg, side="right")
        if tg.ndim == 1 and tg.size <= SMALL_GRID:  # a few points: Python floats, same values
            n = t.size
            gap = self.cfg.max_gap_s
            x_last = float(ex[-1]) if mask[-1] else math.nan
            t_last = float(t[-1])
            res = []
            for g, jv in zip(tg.tolist(), j.tolist(), strict=True):
                v = math.nan
                if 0 < jv < n:
                    t0, t1 = float(t[jv - 1]), float(t[jv])
                    x0 = float(ex[jv - 1]) if mask[jv - 1] else math.nan
                    x1 = float(ex[jv]) if mask[jv] else math.nan
                    if math.isfinite(x0) and math.isfinite(x1) and t1 - t0 <= gap:
                        w = (g - t0) / (t1 - t0) if t1 > t0 else 0.0
                        v = x0 + w * (x1 - x0)
                if g == t_last and math.isfinite(x_last):
                    v = x_last
                res.append(v)
            return np.array(res, dtype=float)
        inside = (j > 0) & (j < t.size)
        jj = np.minimum(np.maximum(j, 1), t.size - 1)  # np.clip, cheaper
        t0, t1 = t[jj - 1], t[jj]
        # the masked EDA (np.where(mask, ex, nan)) at the few samples needed
        jr = jj.ravel()
        sel = np.concatenate([jr - 1, jr, [-1]])
        xs = np.where(mask[sel], ex[sel], np.nan)
        m = jr.size
        x0, x1 = xs[:m].reshape(jj.shape), xs[m : 2 * m].reshape(jj.shape)
        x = xs[2 * m :]  # x[-1]
        ok = inside & np.isfinite(x0) & np.isfinite(x1) & (t1 - t0 <= self.cfg.max_gap_s)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(t1 > t0, (tg - t0) / (t1 - t0), 0.0)
        out[ok] = (x0 + w * (x1 - x0))[ok]
        last = (tg == t[-1]) & np.isfinite(x[-1])
        out[last] = x[-1]
        return out
