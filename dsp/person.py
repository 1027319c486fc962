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

import bisect
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from dsp.beats import beat_series, ibi_exclusion
from dsp.ecg import ECG_PARAMS, ecg_polarity
from dsp.eda import eda_noise_us, eda_scr, scr_threshold_us
from dsp.filters import CausalSos, butter_sos, check_fs
from dsp.hrv import (
    ARTIFACT_CLASSES,
    Coherence,
    HrvFrequency,
    coherence_ratio,
    hrv_frequency,
    hrv_time,
)
from dsp.params import PERSON_PARAMS, MethodParams, reads_method_params
from dsp.ppg import PPG_PARAMS, StreamingBeatDetector
from dsp.quality import eda_quality_reason, eda_valid_mask, ppg_quality

__all__ = ["PersonConfig", "PersonMetrics", "LivePerson"]


@reads_method_params(*PERSON_PARAMS)
@dataclass(frozen=True)
class PersonConfig:
    """Settings of :class:`LivePerson` (times in s, amplitudes in µS).

    The method parameters (IBI limits, quality windows, EDA cut-off, SCR threshold, gap and
    IBI interpolation limits, coherence window) are read from ``method``, shared with the
    offline :class:`dsp.session.SessionConfig`: ``config.min_ibi_ms`` is
    ``config.method.min_ibi_ms``.

    Attributes
    ----------
    method : MethodParams
        The method parameters shared with the offline analysis.
    hrv_window_s : float
        Window of the time-domain HRV (RMSSD, ln RMSSD, SDNN, pNN50).
    spectral_window_s : float
        Window of LF/HF (>= 120 s recommended).
    scl_window_s : float
        Window of the skin-conductance level.
    scr_window_s : float
        Window of the SCR rate.
    history_s : float
        How much the object keeps (beats, EDA, SCRs, HR trend); memory is bounded by it.
    hr_window_s : float
        Current HR = 60000 / mean of the valid IBIs ending in the last ``hr_window_s``.
    min_coverage : float
        Fraction of a window that must be covered by good data for a valid metric.
    ecg_polarity_s : float
        Seconds of ECG buffered at the start to decide the lead polarity.
    spectral_update_s : float
        LF/HF and the coherence ratio are recomputed at most this often (data time), which
        keeps a snapshot cheap; HeartMath-style displays update every 5 s as well.
    scr_update_s : float
        SCR detection is re-run at most this often (data time).
    """

    hrv_window_s: float = 60.0
    spectral_window_s: float = 120.0
    scl_window_s: float = 10.0
    scr_window_s: float = 60.0
    history_s: float = 300.0
    hr_window_s: float = 5.0
    min_coverage: float = 0.8
    ecg_polarity_s: float = 5.0
    spectral_update_s: float = 5.0
    scr_update_s: float = 2.0
    method: MethodParams = MethodParams()  # noqa: RUF009 - frozen, shared default


@dataclass(frozen=True, eq=False)
class PersonMetrics:
    """One person's live metrics at time ``t`` (s, LSL clock). NaN = not enough good data.

    Attributes
    ----------
    t : float
        The ``now`` passed to :meth:`LivePerson.snapshot`.
    hr_bpm : float
        60000 / mean of the valid corrected IBIs ending in the last ``hr_window_s``.
    rmssd_ms, ln_rmssd, sdnn_ms, pnn50_pct, mean_hr_window_bpm : float
        Time-domain HRV over ``hrv_window_s`` (see :func:`dsp.hrv.hrv_time`).
    lf_ms2, hf_ms2, lf_hf : float
        Spectral HRV over ``spectral_window_s`` (see :func:`dsp.hrv.hrv_frequency`).
    coherence_ratio, breathing_hz : float
        Coherence ratio and dominant breathing-band frequency over ``coherence_window_s``.
    scl_us, scr_per_min : float
        Skin-conductance level (µS) and SCR rate (1/min).
    n_beats_window : int
        Valid IBIs in the HRV window.
    artifacts : dict
        IBI artifact class -> count in the HRV window.
    cardiac_quality, eda_quality : str
        'good', 'bad' or 'none' (no data); reasons in ``*_quality_reason``.
    cardiac_last_t, eda_last_t : float
        Newest input timestamp of each stream (s), NaN before any data.
    beat_times : ndarray
        Committed beat times (s) within the last ``history_s``.
    provisional_beat_times : ndarray
        Beat(s) not yet committed (may move or vanish).
    scr_onsets, scr_peaks, scr_amplitudes : ndarray
        SCRs within the history (s, s, µS).
    hr_trend_t, hr_trend_bpm : ndarray
        Instantaneous HR, one value per valid corrected IBI, over the last 300 s.
    hr_valid, hrv_valid, spectral_valid, coherence_valid, scl_valid, scr_valid : bool
        Validity of each metric group (the GUI dims stale/invalid values).
    eda_noise_us, scr_threshold_us : float
        The person's EDA noise SD over the history (µS) and the SCR threshold it sets
        (:func:`dsp.eda.scr_threshold_us`, causal filter gain); NaN before the first SCR run.
    """

    t: float
    hr_bpm: float
    rmssd_ms: float
    ln_rmssd: float
    sdnn_ms: float
    pnn50_pct: float
    mean_hr_window_bpm: float
    lf_ms2: float
    hf_ms2: float
    lf_hf: float
    coherence_ratio: float
    breathing_hz: float
    scl_us: float
    scr_per_min: float
    n_beats_window: int
    artifacts: dict
    cardiac_quality: str
    cardiac_quality_reason: str
    eda_quality: str
    eda_quality_reason: str
    cardiac_last_t: float
    eda_last_t: float
    beat_times: np.ndarray
    provisional_beat_times: np.ndarray
    scr_onsets: np.ndarray
    scr_peaks: np.ndarray
    scr_amplitudes: np.ndarray
    hr_trend_t: np.ndarray
    hr_trend_bpm: np.ndarray
    hr_valid: bool
    hrv_valid: bool
    spectral_valid: bool
    coherence_valid: bool
    scl_valid: bool
    scr_valid: bool
    eda_noise_us: float = float("nan")
    scr_threshold_us: float = float("nan")


# --------------------------------------------------------------------------- helpers


class _Clock:
    """Maps a stream's sample counter to time: ``t(k) = offset + k / fs``."""

    def __init__(self, fs: float, n_pushes: int = 30) -> None:
        self.fs = fs
        self._offsets: deque[float] = deque(maxlen=n_pushes)
        self.offset = float("nan")

    def update(self, k0: int, t: np.ndarray) -> None:
        ok = np.isfinite(t)
        if not ok.any():
            return
        if ok.all():
            d = t - (k0 + np.arange(t.size)) / self.fs
        else:
            d = t[ok] - (k0 + np.flatnonzero(ok)) / self.fs
        self._offsets.append(_median(np.sort(d).tolist()))
        self.offset = _median(sorted(self._offsets))

    def time(self, k: np.ndarray | float) -> np.ndarray | float:
        return self.offset + np.asarray(k) / self.fs


def _median(v: list[float]) -> float:
    """``np.median`` of an already sorted, non-empty list of floats (same value)."""
    n = len(v)
    h = n // 2
    return v[h] if n % 2 else (v[h - 1] + v[h]) / 2.0


def _validate_push(t: np.ndarray, x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    check_fs(fs)
    t = np.asarray(t, dtype=float).ravel()
    x = np.asarray(x, dtype=float).ravel()
    if t.shape != x.shape:
        raise ValueError(f"t and x must have the same length, got {t.size} and {x.size}")
    return t, x


_SMALL_GRID = 16  # grid requests up to this size are interpolated in Python floats
BEAT_CLOCK_HZ = 1000.0  # position counter of device-reported beats (push_beats)
_TAIL = 50  # IBIs re-corrected on every update (> 45 + 3 beats, > 12 s of quality delay)
_CTX = 46  # IBIs of left context for the re-correction (half the 91-beat window + margin)


def _split_at_gaps(t: np.ndarray, max_gap_s: float) -> list[tuple[int, int]]:
    """Slices of a chunk between timestamp jumps (either way) larger than ``max_gap_s`` (s)."""
    if t.size == 0:
        return []
    with np.errstate(invalid="ignore"):
        jump = np.abs(t[1:] - t[:-1]) > max_gap_s
    if not jump.any():
        return [(0, t.size)]
    cut = np.flatnonzero(jump) + 1
    bounds = np.concatenate([[0], cut, [t.size]])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


# --------------------------------------------------------------------------- LivePerson


class LivePerson:
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

    def _init_cardiac(self) -> None:
        """(Re)start the cardiac stream state (also after a backward clock jump)."""
        fs, kind = self._c_fs, self._c_kind
        self._c_clock: _Clock | None = _Clock(fs) if fs else None
        self._det: StreamingBeatDetector | None = None
        if fs and kind != "beats":
            self._det = StreamingBeatDetector(fs, PPG_PARAMS if kind == "ppg" else ECG_PARAMS)
        self._c_n = 0  # samples fed to the detector (incl. NaN fill)
        self._c_pending: list[np.ndarray] = []  # ECG samples buffered for polarity
        self._c_polarity = 1
        self._c_last_t = float("nan")
        self._c_raw = np.zeros(0)  # recent raw samples for quality, global index _c_raw0
        self._c_raw0 = 0
        self._beat_pos = np.zeros(0)  # committed beat sample positions
        self._beat_t = np.zeros(0)  # committed beat times (frozen at commit)
        self._beat_seg = np.zeros(0, dtype=np.int64)  # detector segment start per beat
        self._qwin: list[tuple[int, int, bool, str]] = []  # (k0, k1, good, reason)
        self._q_next = 0  # next quality window start (samples)
        self._ibi_cache: tuple | None = None
        self._ibi_frozen: dict | None = None
        self._spec_cache: tuple[float, object, object] | None = None

    def _init_eda(self) -> None:
        """(Re)start the EDA stream state (also after a backward clock jump)."""
        fs = self._e_fs
        self._e_clock: _Clock | None = _Clock(fs) if fs else None
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
        t, x = _validate_push(t, x, fs)
        if kind not in ("ppg", "ecg"):
            raise ValueError("kind must be 'ppg' or 'ecg'")
        if self._c_fs is None:
            self._c_fs, self._c_kind = float(fs), kind
            self._init_cardiac()
        elif float(fs) != self._c_fs or kind != self._c_kind:
            raise ValueError("cardiac fs/kind changed mid-stream; create a new LivePerson")
        for a, b in _split_at_gaps(t, self.cfg.max_gap_s):
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
                self._feed_cardiac(np.full(fill, np.nan), n_total)
                n_total += fill
        clock.update(n_total, t)
        fin = t[np.isfinite(t)]
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
        while self._q_next + n + lag <= self._c_n:
            k0, k1 = self._q_next, self._q_next + n
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

    # ------------------------------------------------------------------ EDA input
    def push_eda(self, t: np.ndarray, x: np.ndarray, fs: float) -> None:
        """Append new EDA samples (µS) with their corrected timestamps (s); NaN = missing."""
        t, x = _validate_push(t, x, fs)
        if self._e_fs is None:
            self._e_fs = float(fs)
            self._init_eda()
        elif float(fs) != self._e_fs:
            raise ValueError("EDA fs changed mid-stream; create a new LivePerson")
        for a, b in _split_at_gaps(t, self.cfg.max_gap_s):
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

    def _eda_mask(self) -> np.ndarray:
        """Kleckner validity of the kept EDA, updated incrementally.

        The rules are local (range, slope, flat runs >= 5 s, 5 s margins), so only the new
        samples and the 12 s before them are re-evaluated, with 12 s more of left context
        (longer than a flat run plus its margin).
        """
        n = self._e_raw.size
        if self._e_mask_valid >= n and self._e_mask.size == n:
            return self._e_mask
        fs = self._e_fs_kept
        ctx = int(12.0 * fs) + 1
        r0 = max(0, min(self._e_mask_valid, self._e_mask.size) - ctx)
        c0 = max(0, r0 - ctx)
        part = eda_valid_mask(self._e_raw[c0:], fs) & np.isfinite(self._e_x[c0:])
        m = np.empty(n, dtype=bool)
        m[:r0] = self._e_mask[:r0]
        m[r0:] = part[r0 - c0 :]
        self._e_mask, self._e_mask_valid = m, n
        return m

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
        raw = np.where(self._eda_mask(), self._e_raw, np.nan)
        self._e_noise = eda_noise_us(raw, fs)
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
        out: dict = {
            "t": np.zeros(0),
            "ibi": np.zeros(0),
            "flags_t": {k: np.zeros(0) for k in ARTIFACT_CLASSES},
        }
        if fs is None or pos.size < 2:
            self._ibi_cache = (out,)
            return out
        ibi = np.diff(pos) / fs * 1000.0
        ok = seg[1:] == seg[:-1]
        # exclude IBIs touching a bad quality window
        bad = [(k0, k1) for k0, k1, good, _ in self._qwin if not good]
        if bad:  # windows are consecutive: the first one ending after an IBI's start decides
            b0, b1 = np.asarray(bad, dtype=float).T
            j = b1.searchsorted(pos[:-1], side="right")
            jj = np.minimum(j, b0.size - 1)
            ok &= ~((j < b0.size) & (b0[jj] <= pos[1:]))
        usable, _ = ibi_exclusion(ibi, ok, self.cfg.min_ibi_ms, self.cfg.max_ibi_ms)
        fz = self._ibi_frozen
        if fz is None or fz["t_split"] < tb[0]:
            fz = {"t_split": -np.inf, "t": np.zeros(0), "ibi": np.zeros(0)}
            fz.update({k: np.zeros(0) for k in ARTIFACT_CLASSES})
            start = 0
        else:
            old = fz["t"] > tb[0]
            fz["t"], fz["ibi"] = fz["t"][old], fz["ibi"][old]
            for k in ARTIFACT_CLASSES:
                fz[k] = fz[k][fz[k] > tb[0]]
            start = max(0, int(tb.searchsorted(fz["t_split"])) - _CTX)
        t_prev = fz["t_split"]
        sr = beat_series(pos[start:] / fs, tb[start:], usable[start:])
        t_split = max(t_prev, float(tb[max(0, usable.size - _TAIL)]))
        newly = (sr.ibi_t > t_prev) & (sr.ibi_t <= t_split)
        tail = sr.ibi_t > t_split
        frozen = {
            "t_split": t_split,
            "t": np.concatenate([fz["t"], sr.ibi_t[newly]]),
            "ibi": np.concatenate([fz["ibi"], sr.ibi_ms[newly]]),
        }
        for k in ARTIFACT_CLASSES:
            ft = sr.changed_t[k]
            frozen[k] = np.concatenate([fz[k], ft[(ft > t_prev) & (ft <= t_split)]])
            out["flags_t"][k] = np.concatenate([frozen[k], ft[ft > t_split]])
        self._ibi_frozen = frozen
        t_all = np.concatenate([frozen["t"], sr.ibi_t[tail]])
        v_all = np.concatenate([frozen["ibi"], sr.ibi_ms[tail]])
        lead = int(np.argmax(np.isfinite(v_all))) if np.isfinite(v_all).any() else v_all.size
        out["t"], out["ibi"] = t_all[lead:], v_all[lead:]  # no separator before the first run
        self._ibi_cache = (out,)
        return out

    # ------------------------------------------------------------------ outputs
    def snapshot(self, now: float) -> PersonMetrics:
        """Current metrics at ``now`` (s, same clock as the input timestamps)."""
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
        hr = 60000.0 / float(np.mean(last)) if last.size else nan
        hr_valid = bool(last.size)
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
        # artifacts in the HRV window
        arts = {
            k: int(np.count_nonzero((v > now - cfg.hrv_window_s) & (v <= now))) if v.size else 0
            for k, v in ib["flags_t"].items()
        }
        # cardiac quality
        cq, cq_reason = self._cardiac_quality(now)
        # EDA
        scl, scl_valid, scr_rate, scr_valid, eq, eq_reason = self._eda_metrics(now)
        # trend and beats in history
        h0 = now - cfg.history_s
        bt = self._beat_t[(self._beat_t > h0) & (self._beat_t <= now)]
        prov = np.zeros(0)
        if self._det is not None and self._c_clock is not None:
            p = self._det.provisional_peak()
            if p is not None:
                prov = np.asarray([float(self._c_clock.time(p))])
        tm = (t_ibi > now - 300.0) & (t_ibi <= now) & np.isfinite(ibi)
        so = (self._scr_on > h0) & (self._scr_on <= now)
        return PersonMetrics(
            t=float(now),
            hr_bpm=hr,
            rmssd_ms=ht.rmssd_ms if hrv_valid else nan,
            ln_rmssd=ht.ln_rmssd if hrv_valid else nan,
            sdnn_ms=ht.sdnn_ms if hrv_valid else nan,
            pnn50_pct=ht.pnn50_pct if hrv_valid else nan,
            mean_hr_window_bpm=ht.mean_hr_bpm if hrv_valid else nan,
            lf_ms2=hf.lf_ms2 if spectral_valid and hf else nan,
            hf_ms2=hf.hf_ms2 if spectral_valid and hf else nan,
            lf_hf=hf.lf_hf if spectral_valid and hf else nan,
            coherence_ratio=co.ratio if coherence_valid and co else nan,
            breathing_hz=co.breathing_hz if coherence_valid and co else nan,
            scl_us=scl,
            scr_per_min=scr_rate,
            n_beats_window=n_fin,
            artifacts=arts,
            cardiac_quality=cq,
            cardiac_quality_reason=cq_reason,
            eda_quality=eq,
            eda_quality_reason=eq_reason,
            cardiac_last_t=self._c_last_t,
            eda_last_t=self._e_last_t,
            beat_times=bt,  # boolean indexing made a copy already
            provisional_beat_times=prov,
            scr_onsets=self._scr_on[so],
            scr_peaks=self._scr_pk[so],
            scr_amplitudes=self._scr_amp[so],
            hr_trend_t=t_ibi[tm],
            hr_trend_bpm=60000.0 / ibi[tm],
            hr_valid=hr_valid,
            hrv_valid=bool(hrv_valid),
            spectral_valid=spectral_valid,
            coherence_valid=coherence_valid,
            scl_valid=scl_valid,
            scr_valid=scr_valid,
            eda_noise_us=self._e_noise,
            scr_threshold_us=self._scr_thr,
        )

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
        frac = float(mw.mean()) if mw.size else nan
        scl_valid = mw.size >= cfg.min_coverage * cfg.scl_window_s * fs and frac >= cfg.min_coverage
        scl = float(np.mean(self._e_x[i0:i1][mw])) if scl_valid else nan
        j0, j1 = self._e_t.searchsorted([now - cfg.scr_window_s, now], side="right")
        ms = mask[j0:j1]
        scr_valid = bool(
            ms.size >= cfg.min_coverage * cfg.scr_window_s * fs and ms.mean() >= cfg.min_coverage
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
        if tg.ndim == 1 and tg.size <= _SMALL_GRID:
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
        if tg.ndim == 1 and tg.size <= _SMALL_GRID:  # a few points: Python floats, same values
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
