"""The cardiac half of the live per-person processor (:class:`dsp.person.LivePerson`).

:class:`LiveCardiac` holds the cardiac stream state (PPG/ECG samples or device-reported beats),
the streaming beat detector, the 10 s quality windows and the corrected IBIs, and computes HR,
spectral HRV and coherence from them. It is a base class of :class:`dsp.person.LivePerson`,
which sets ``cfg`` (:class:`dsp.person_metrics.PersonConfig`) and calls :meth:`_init_cardiac`;
the time conventions are those of :mod:`dsp.person`.
"""

from __future__ import annotations

import math

import numpy as np

from dsp.beats import beat_series, ibi_exclusion
from dsp.ecg import ECG_PARAMS, ecg_polarity
from dsp.hrv import Coherence, HrvFrequency, coherence_ratio, hrv_frequency
from dsp.ibi_artifacts import ARTIFACT_CLASSES
from dsp.live_clock import (
    BEAT_CLOCK_HZ,
    SMALL_GRID,
    StreamClock,
    split_at_gaps,
    validate_push,
)
from dsp.person_metrics import PersonConfig
from dsp.ppg import PPG_PARAMS, StreamingBeatDetector
from dsp.quality import ppg_quality

__all__ = ["LiveCardiac"]

_TAIL = 50  # IBIs re-corrected on every update (> 45 + 3 beats, > 12 s of quality delay)
_CTX = 46  # IBIs of left context for the re-correction (half the 91-beat window + margin)


def _split_frozen(fz: dict, sr, t_prev: float, t_split: float) -> tuple[dict, dict]:
    """The frozen corrected IBIs extended by those of ``sr`` (a :class:`dsp.beats.BeatSeries`
    of the tail) up to ``t_split``, and the whole series (frozen + tail) with its flags."""
    # the series and its flag times increase: slices instead of masks
    a, b = (int(i) for i in sr.ibi_t.searchsorted([t_prev, t_split], side="right"))
    frozen = {
        "t_split": t_split,
        "t": np.concatenate([fz["t"], sr.ibi_t[a:b]]),
        "ibi": np.concatenate([fz["ibi"], sr.ibi_ms[a:b]]),
    }
    flags = {}
    for k in ARTIFACT_CLASSES:
        ft = sr.changed_t[k]
        if not ft.size:  # the usual case: nothing flagged in the tail
            frozen[k] = flags[k] = fz[k]
            continue
        i, j = (int(v) for v in ft.searchsorted([t_prev, t_split], side="right"))
        frozen[k] = np.concatenate([fz[k], ft[i:j]]) if j > i else fz[k]
        flags[k] = np.concatenate([frozen[k], ft[j:]]) if j < ft.size else frozen[k]
    t_all = np.concatenate([frozen["t"], sr.ibi_t[b:]])
    v_all = np.concatenate([frozen["ibi"], sr.ibi_ms[b:]])
    lead = 0
    if v_all.size and not math.isfinite(v_all[0]):
        fin = np.isfinite(v_all)
        lead = int(np.argmax(fin)) if fin.any() else v_all.size
    return frozen, {"t": t_all[lead:], "ibi": v_all[lead:], "flags_t": flags}


class LiveCardiac:
    """Cardiac stream state and metrics of one person (see the module docstring)."""

    cfg: PersonConfig

    def _init_cardiac(self) -> None:
        """(Re)start the cardiac stream state (also after a backward clock jump)."""
        fs, kind = self._c_fs, self._c_kind
        self._c_clock: StreamClock | None = StreamClock(fs) if fs else None
        self._det: StreamingBeatDetector | None = None
        if fs and kind != "beats":
            self._det = StreamingBeatDetector(fs, PPG_PARAMS if kind == "ppg" else ECG_PARAMS)
        self._c_n = 0  # samples fed to the detector (incl. NaN fill)
        self._c_pending: list[np.ndarray] = []  # ECG samples buffered for polarity
        self._c_polarity = 1
        self._c_last_t = float("nan")
        self._c_restart_t = float("nan")  # first sample of the current gap-free piece
        self._c_raw = np.zeros(0)  # recent raw samples for quality, global index _c_raw0
        self._c_raw0 = 0
        self._beat_pos = np.zeros(0)  # committed beat sample positions
        self._beat_t = np.zeros(0)  # committed beat times (frozen at commit)
        self._beat_seg = np.zeros(0, dtype=np.int64)  # detector segment start per beat
        self._qwin: list[tuple[int, int, bool, str]] = []  # (k0, k1, good, reason)
        self._q_next = 0  # next quality window start (samples)
        self._q_gaps: list[tuple[int, int]] = []  # NaN-filled dropouts (first, end sample)
        self._ibi_cache: tuple | None = None
        self._ibi_frozen: dict | None = None
        self._spec_cache: tuple[float, object, object] | None = None

    # ------------------------------------------------------------------ cardiac input
    def push_cardiac(self, t: np.ndarray, x: np.ndarray, fs: float, kind: str) -> None:
        """Append new cardiac samples.

        Parameters
        ----------
        t : ndarray
            Corrected LSL timestamps (s), one per sample, non-decreasing overall.
        x : ndarray
            Samples (PPG any unit, ECG any unit); NaN = missing.
        fs : float
            Nominal sampling rate (Hz); must not change between calls.
        kind : {'ppg', 'ecg'}
        """
        t, x = validate_push(t, x, fs)
        if kind not in ("ppg", "ecg"):
            raise ValueError("kind must be 'ppg' or 'ecg'")
        if self._c_fs is None:
            self._c_fs, self._c_kind = float(fs), kind
            self._init_cardiac()
        elif float(fs) != self._c_fs or kind != self._c_kind:
            raise ValueError("cardiac fs/kind changed mid-stream; create a new LivePerson")
        for a, b in split_at_gaps(t, self.cfg.max_gap_s):
            self._push_cardiac_part(t[a:b], x[a:b])

    def push_beats(self, t: np.ndarray) -> None:
        """Append beat times reported by a device (E4 IBI, BLE RR) instead of a waveform.

        Parameters
        ----------
        t : ndarray
            Beat times (s, corrected LSL clock), one per beat, increasing; non-finite times
            and times not after the previous beat are ignored.

        The beats take the place of detected peaks and go through the same IBI exclusion and
        correction (:meth:`_ibis`). Positions are kept on a ``BEAT_CLOCK_HZ`` counter (1 ms,
        finer than the 1/1024 s of BLE RR). The device judged its own beats, so there are no
        waveform quality windows: cardiac quality is 'good' while beats arrive. A person fed
        beats cannot also be fed a waveform (``ValueError``).
        """
        t = np.asarray(t, dtype=float).ravel()
        t = t[np.isfinite(t)]
        if self._c_fs is None:
            self._c_fs, self._c_kind = BEAT_CLOCK_HZ, "beats"
            self._init_cardiac()
        elif self._c_kind != "beats":
            raise ValueError("cardiac kind changed mid-stream; create a new LivePerson")
        if not t.size:
            return
        if np.isfinite(self._c_last_t) and t[0] < self._c_last_t - self.cfg.max_gap_s:
            self._init_cardiac()  # the clock jumped back: start afresh
        prev = float(self._beat_t[-1]) if self._beat_t.size else -np.inf
        t = t[t > np.maximum.accumulate(np.concatenate([[prev], t]))[:-1]]
        if not t.size:
            return
        clock = self._c_clock
        assert clock is not None
        if not np.isfinite(clock.offset):
            clock.offset = float(t[0])
        pos = np.round((t - clock.offset) * BEAT_CLOCK_HZ)
        self._beat_pos = np.concatenate([self._beat_pos, pos])
        self._beat_t = np.concatenate([self._beat_t, t])
        self._beat_seg = np.concatenate([self._beat_seg, np.zeros(t.size, dtype=np.int64)])
        self._c_n = int(pos[-1]) + 1
        self._c_last_t = float(t[-1])
        self._ibi_cache = None
        self._trim_cardiac()

    def _push_cardiac_part(self, t: np.ndarray, x: np.ndarray) -> None:
        clock = self._c_clock
        assert clock is not None and self._c_fs is not None
        fs = self._c_fs
        # gap detection: fill missing samples with NaN to keep the counter aligned with time
        n_total = self._c_n + sum(p.size for p in (self._c_pending or []))
        if np.isfinite(clock.offset) and np.isfinite(t[0]):
            expected = clock.time(n_total)
            if t[0] < expected - self.cfg.max_gap_s:  # clock jumped back: start afresh
                self._init_cardiac()
                self._push_cardiac_part(t, x)
                return
            missing = int(round((t[0] - expected) * fs))
            if missing > self.cfg.max_gap_s * fs:
                fill = min(missing, int((self.cfg.history_s + 10) * fs))
                self._q_gaps.append((n_total, n_total + fill))
                self._c_restart_t = float(t[0])
                self._feed_cardiac(np.full(fill, np.nan), n_total)
                n_total += fill
        clock.update(n_total, t)
        fin = t[np.isfinite(t)]
        if fin.size and np.isnan(self._c_restart_t):
            self._c_restart_t = float(fin[0])
        if fin.size:
            self._c_last_t = (
                float(fin.max())
                if np.isnan(self._c_last_t)
                else max(self._c_last_t, float(fin.max()))
            )
        self._feed_cardiac(x, n_total)

    def _feed_cardiac(self, x: np.ndarray, n_total: int) -> None:
        assert self._det is not None and self._c_fs is not None
        if self._c_kind == "ecg" and self._c_pending is not None:
            self._c_pending.append(x)
            buf = np.concatenate(self._c_pending)
            if np.sum(np.isfinite(buf)) < self.cfg.ecg_polarity_s * self._c_fs:
                return
            self._c_polarity = ecg_polarity(buf, self._c_fs)
            self._c_pending = None  # type: ignore[assignment]
            x = buf
        if self._c_kind == "ecg":
            x = x * self._c_polarity
        # long inputs (a big first push, a NaN-filled gap) go in pieces so that each quality
        # window is assessed while its samples are still held
        step = max(1, int(self.cfg.quality_window_s * self._c_fs / 2))
        for i in range(0, x.size, step):
            self._feed_piece(x[i : i + step])

    def _feed_piece(self, x: np.ndarray) -> None:
        assert self._det is not None and self._c_fs is not None
        det = self._det
        peaks = det.push(x)
        self._c_n += x.size
        # raw history for quality
        self._c_raw = np.concatenate([self._c_raw, x])
        keep = int((self.cfg.quality_window_s + 5.0) * self._c_fs)
        if self._c_raw.size > keep:
            cut = self._c_raw.size - keep
            self._c_raw = self._c_raw[cut:]
            self._c_raw0 += cut
        if peaks.size:
            assert self._c_clock is not None
            seg = det.seg_start if det.seg_start is not None else -1
            self._beat_pos = np.concatenate([self._beat_pos, peaks])
            self._beat_t = np.concatenate([self._beat_t, self._c_clock.time(peaks)])
            self._beat_seg = np.concatenate([self._beat_seg, np.full(peaks.size, seg)])
            self._ibi_cache = None
        self._assess_quality()
        self._trim_cardiac()

    def _assess_quality(self) -> None:
        fs = self._c_fs
        assert fs is not None
        n = int(round(self.cfg.quality_window_s * fs))
        lag = int(1.5 * fs)  # wait until the window's beats are committed
        det = self._det
        while self._q_next + n + lag <= self._c_n:
            k0, k1 = self._q_next, self._q_next + n
            if self._q_gaps and self._q_gaps[0][0] < k1:
                # as offline (dsp.session): windows restart after a dropout; the piece's tail
                # shorter than a window gets no verdict, the dropout itself is 'no data'
                g0, g1 = self._q_gaps.pop(0)
                self._qwin.append((g0, g1, False, "no data"))
                self._q_next = g1
                self._ibi_cache = None
                continue
            held = det.pending_start if det is not None else None
            if held is not None and held < k1:
                break  # the start-up rule still holds beats of this window
            self._q_next = k1
            if k0 < self._c_raw0:
                self._qwin.append((k0, k1, False, "no data"))
                continue
            w = self._c_raw[k0 - self._c_raw0 : k1 - self._c_raw0]
            pk = self._beat_pos[(self._beat_pos >= k0) & (self._beat_pos < k1)] - k0
            if np.all(np.isnan(w)):
                self._qwin.append((k0, k1, False, "no data"))
                continue
            q = ppg_quality(w, fs, peaks=pk, kind=self._c_kind or "ppg")
            self._qwin.append((k0, k1, q.good, q.reason))
            self._ibi_cache = None

    def _trim_cardiac(self) -> None:
        fs = self._c_fs
        assert fs is not None
        k_min = self._c_n - int(self.cfg.history_s * fs) - int(10 * fs)
        i = int(self._beat_pos.searchsorted(k_min))
        if i > 0:
            self._beat_pos = self._beat_pos[i:]
            self._beat_t = self._beat_t[i:]
            self._beat_seg = self._beat_seg[i:]
        while self._qwin and self._qwin[0][1] < k_min:
            self._qwin.pop(0)

    @property
    def cardiac_restart_t(self) -> float:
        """Time (s) of the first waveform sample of the current gap-free piece: the stream's
        start or the end of its last dropout, after which the beat detector holds its first
        beats (NaN before any waveform sample and for device-reported beats)."""
        return self._c_restart_t

    # ------------------------------------------------------------------ IBIs
    def _ibis(self) -> dict:
        """Corrected IBIs of the whole history, cached until new beats or quality verdicts.

        The steps are those of the offline analysis (:func:`dsp.beats.ibi_exclusion`,
        :func:`dsp.beats.beat_series`). IBIs more than ``_TAIL`` intervals old can no longer
        change (their 91-beat thresholds are settled and quality verdicts arrive within
        ~12 s), so they are kept and only the tail is corrected again, with ``_CTX`` intervals
        of context on the left.
        """
        if self._ibi_cache is not None:
            return self._ibi_cache[0]
        fs = self._c_fs
        pos, tb, seg = self._beat_pos, self._beat_t, self._beat_seg
        if fs is None or pos.size < 2:
            out: dict = {
                "t": np.zeros(0),
                "ibi": np.zeros(0),
                "flags_t": {k: np.zeros(0) for k in ARTIFACT_CLASSES},
            }
            self._ibi_cache = (out,)
            return out
        fz = self._ibi_frozen
        t0 = tb[0]
        if fz is None or fz["t_split"] < t0:
            fz = {"t_split": -np.inf, "t": np.zeros(0), "ibi": np.zeros(0)}
            fz.update({k: np.zeros(0) for k in ARTIFACT_CLASSES})
            start = 0
        else:  # the frozen times increase: drop those the history trim dropped
            ft = fz["t"]
            if ft.size and ft[0] <= t0:
                i = int(ft.searchsorted(t0, side="right"))
                fz["t"], fz["ibi"] = ft[i:], fz["ibi"][i:]
            for k in ARTIFACT_CLASSES:
                fk = fz[k]
                if fk.size and fk[0] <= t0:
                    fz[k] = fk[int(fk.searchsorted(t0, side="right")) :]
            start = max(0, int(tb.searchsorted(fz["t_split"])) - _CTX)
        n_ibi = pos.size - 1
        # only IBIs from ``start`` on are corrected again: exclusion of those alone (the
        # steps are per IBI)
        p, sg = pos[start:], seg[start:]
        ibi = np.diff(p) / fs * 1000.0
        ok = sg[1:] == sg[:-1]
        # exclude IBIs touching a bad quality window
        bad = [(k0, k1) for k0, k1, good, _ in self._qwin if not good and k1 > p[0]]
        if bad:  # windows are consecutive: the first one ending after an IBI's start decides
            b0, b1 = np.asarray(bad, dtype=float).T
            j = b1.searchsorted(p[:-1], side="right")
            jj = np.minimum(j, b0.size - 1)
            ok &= ~((j < b0.size) & (b0[jj] <= p[1:]))
        usable, why = ibi_exclusion(ibi, ok, self.cfg.min_ibi_ms, self.cfg.max_ibi_ms)
        t_prev = fz["t_split"]
        sr = beat_series(p / fs, tb[start:], usable, why)
        t_split = max(t_prev, float(tb[max(0, n_ibi - _TAIL)]))
        self._ibi_frozen, out = _split_frozen(fz, sr, t_prev, t_split)
        self._ibi_cache = (out,)
        return out

    def _spectral(self, window) -> tuple[HrvFrequency | None, Coherence | None]:
        cfg = self.cfg
        _, s_ibi = window(cfg.spectral_window_s)
        hf = None
        if s_ibi.size and np.all(np.isfinite(s_ibi)):
            hf = hrv_frequency(s_ibi, min_duration_s=cfg.min_coverage * cfg.spectral_window_s)
        _, c_ibi = window(cfg.coherence_window_s)
        co = None
        if c_ibi.size and np.all(np.isfinite(c_ibi)):
            co = coherence_ratio(c_ibi, window_s=cfg.coherence_window_s)
        return hf, co

    def _beat_fields(self, now: float) -> dict:
        """Cardiac quality, last sample time and the beats in the history window at ``now``."""
        h0 = now - self.cfg.history_s
        i0, i1 = self._beat_t.searchsorted([h0, now], side="right")  # beat times increase
        bt = self._beat_t[i0:i1].copy()
        prov = np.zeros(0)
        if self._det is not None and self._c_clock is not None:
            p = self._det.provisional_peak()
            if p is not None:
                prov = np.asarray([float(self._c_clock.time(p))])
        cq, cq_reason = self._cardiac_quality(now)
        return {
            "cardiac_quality": cq,
            "cardiac_quality_reason": cq_reason,
            "cardiac_last_t": self._c_last_t,
            "beat_times": bt,
            "provisional_beat_times": prov,
        }

    def _cardiac_quality(self, now: float) -> tuple[str, str]:
        if self._c_fs is None or not np.isfinite(self._c_last_t):
            return "none", "no cardiac data"
        if now - self._c_last_t > 5.0:
            return "none", f"no cardiac data for {now - self._c_last_t:.0f} s"
        if self._c_kind == "beats":
            return "good", ""  # beats judged by the device
        if not self._qwin:
            return "none", "assessing the first quality window"
        _, _, good, reason = self._qwin[-1]
        return ("good", "") if good else ("bad", reason)

    def hr_on_grid(self, t_grid: np.ndarray) -> np.ndarray:
        """Instantaneous HR (bpm) from corrected IBIs, linearly interpolated on ``t_grid`` (s).

        Each IBI's HR is placed at its closing beat; between two consecutive valid IBIs that
        are at most ``max_ibi_s`` apart the HR is interpolated. NaN outside the history,
        before the first / after the last committed valid IBI, across gaps and across IBIs
        excluded for bad quality.
        """
        tg = np.asarray(t_grid, dtype=float)
        out = np.full(tg.shape, np.nan)
        ib = self._ibis()
        t, ibi = ib["t"], ib["ibi"]
        if t.size < 2:
            return out
        j = t.searchsorted(tg, side="right")
        if tg.ndim == 1 and tg.size <= SMALL_GRID:
            small = self._hr_small(tg, j, t, ibi)
            if small is not None:
                return small
        hr = 60000.0 / ibi
        inside = (j > 0) & (j < t.size)
        jj = np.minimum(np.maximum(j, 1), t.size - 1)  # np.clip, cheaper
        t0, t1 = t[jj - 1], t[jj]
        h0, h1 = hr[jj - 1], hr[jj]
        ok = inside & np.isfinite(h0) & np.isfinite(h1) & (t1 - t0 <= self.cfg.max_ibi_s)
        # exact hit on the last beat
        last = tg == t[-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            w = (tg - t0) / (t1 - t0)
        out[ok] = (h0 + w * (h1 - h0))[ok]
        out[last & np.isfinite(hr[-1])] = hr[-1]
        return out

    def _hr_small(
        self, tg: np.ndarray, j: np.ndarray, t: np.ndarray, ibi: np.ndarray
    ) -> np.ndarray | None:
        """:meth:`hr_on_grid` for a few grid points in Python floats (same arithmetic);
        None when two beats share a time (the array path handles that)."""
        n = t.size
        max_ibi = self.cfg.max_ibi_s
        t_last = float(t[-1])
        hr_last = 60000.0 / float(ibi[-1])
        res = []
        for g, jv in zip(tg.tolist(), j.tolist(), strict=True):
            v = math.nan
            if 0 < jv < n:
                t0, t1 = float(t[jv - 1]), float(t[jv])
                h0, h1 = 60000.0 / float(ibi[jv - 1]), 60000.0 / float(ibi[jv])
                if math.isfinite(h0) and math.isfinite(h1) and t1 - t0 <= max_ibi:
                    if t1 == t0:
                        return None
                    v = h0 + (g - t0) / (t1 - t0) * (h1 - h0)
            if g == t_last and math.isfinite(hr_last):
                v = hr_last
            res.append(v)
        return np.array(res, dtype=float)
