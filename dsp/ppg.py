"""PPG cleaning and systolic-peak detection, identical live (chunked) and offline.

Detector
--------
An Elgendi (2013) two-moving-average detector made causal so that it can run on a ring
buffer:

1. causal Butterworth band-pass 0.5-8 Hz (order 2 per edge), state kept between chunks;
2. ``z = max(y, 0)**2``;
3. trailing moving averages of ``z`` over 111 ms (``MA_peak``) and 667 ms (``MA_beat``);
   ``MA_peak`` is delayed by half the length difference so both are centred on the same
   instant (the comparison is therefore made ~333 ms after the instant it describes);
4. offset ``beta * mean(z)`` with ``beta = 0.02``, where ``mean(z)`` is a bias-corrected
   exponential mean with a 10 s time constant (Elgendi uses the whole-record mean; a running
   mean is what a live detector can know);
5. a block of interest is where ``MA_peak > MA_beat + offset``; blocks shorter than
   ``MA_peak`` or starting before ``MA_beat`` has filled after a (re)start are rejected;
6. the systolic peak is the maximum, inside the block shifted back by the band-pass group
   delay, of the raw signal smoothed by a symmetric (zero-phase) ~15 Hz FIR, refined to
   sub-sample precision by a parabola through the three samples around it;
7. a peak closer than 0.3 s (200 bpm) to the previous accepted one is rejected. Amplitude
   gate against the median band-passed amplitude of the last 8 accepted beats: a wave arriving
   on time (>= 0.75 times the recent median interval after the last beat) is a beat between 0.2
   and 4.5 times that median (a pulse weakened by vasoconstriction, or enlarged after a baseline
   dip); an early wave only between 0.4 and 3 times it (motion artefacts, noise). An abrupt
   x0.3 or x2.5 amplitude step so loses at most one beat (tests/test_ppg.py). A weak wave
   arriving earlier than 0.55 times the recent median interval after a beat is rejected as a
   secondary (diastolic) wave.
8. search-back (``search_back``): a beat arriving 1.5-2.5 median intervals after the previous
   one makes the detector look back for one missed pulse between them (a small pulse after a
   large one forms no block, because the large pulse's energy holds ``MA_beat`` up); the
   most prominent band-passed local maximum >= 0.6 median intervals from both beats, with a
   prominence >= 0.15 times the median recent amplitude, is committed as a beat before the
   current one. On PhysioNet a103l this raised F1 against ECG R-peaks from 0.886 to 0.898.
   The search is bounded by the retained history (a few seconds), so live == offline.
9. start-up (``startup_s``, :mod:`dsp.beat_startup`): with no rhythm history (a segment's
   start, or after the amplitude reference was rebuilt) the candidates of the first 4 s are
   held and the rhythm is established from them before any is committed, so a diastolic wave
   half-way through the cycle is not taken for a beat (on heartpy's ``data3.csv`` the detector
   otherwise counted pulse + wave, twice the heart rate, for its first 250 s).
10. rhythm history: an interval longer than 1.5 times the median of the last 8 spans a missed
   beat (the heart rate does not halve from one beat to the next) and is not learnt (after 8
   in a row the rhythm is learnt afresh). Learning them after the PPG dropout of a103l doubled
   the rhythm, and the weak real pulses after it were rejected as diastolic waves (F1 over
   173-185 s 0.82, now 0.94).
11. lock check: when the last 8 beats alternate pulse, weak wave (:func:`dsp.beat_startup.
   alternates`), the rhythm was learnt while the diastolic wave was as large as the pulse;
   the start-up rule runs again.

Timing (PPG)
------------
The systolic peak is broad and noise moves it by several ms, which at 25-64 Hz dominates
RMSSD. The beat is therefore timed by the *mid-upstroke point*: the raw signal is low-passed
(symmetric FIR, 5 Hz) over 0.5 s before to 0.15 s after the peak, and the beat is where it
crosses 60 % of the way from the preceding minimum (within 0.45 s) to the systolic maximum (both
refined by a parabola); the crossing is the root of the local cubic through the four samples
around it, so sub-sample at any rate (:func:`dsp.fiducial.mid_upstroke`). On simulated PPG
with white noise, respiration and baseline wander the 50 % point had the smallest timing
jitter of the four usual candidates (peak, maximum of the first derivative,
tangent-intersection foot, 50 % point) at 25, 64 and 128 Hz, as in the pulse-rate-variability
literature; 60 % has less still and less bias from the previous beat's diastolic wave, on
rendered and on real PPG against ECG R-peaks (:data:`dsp.fiducial.UPSTROKE_LEVEL`). So that beat times still sit on the
systolic peaks (where displays, peers and the simulator put them), the reported time is the
mid-upstroke point plus the running mean (``rise_beats`` = 16 beats, per detector segment) of
the interval from it to the peak of step 6; that mean changes by well under 1 ms from one beat
to the next, so beat-to-beat timing (IBIs, RMSSD) is that of the mid-upstroke point. When the
point cannot be found (a partial pulse at a segment start), or when a deformed pulse's
upstroke-to-peak interval differs from the running mean by more than 60 ms, the
parabola-refined peak is used for that beat.

A beat is *committed* when its block closes (typically ~0.5 s after the systolic peak; the
beats of the start-up 4-8 s after the first of them) and can never change afterwards. ``ppg_peaks`` runs the same streaming detector over the whole
signal, so live and offline results are identical except for a still-open block at the end.
NaN runs reset the detector (no beat is reported across a gap); so, for PPG, does a run of
exactly equal samples longer than 0.5 s (``hold_s``: a monitor holding its last value or sending
0 while the sensor is off), from 0.5 s into the run until the value changes.

Time convention: positions are in samples from the first sample of the signal given to
``ppg_peaks`` (or, for :class:`StreamingBeatDetector`, from the first sample ever pushed);
divide by ``fs`` for seconds.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy import signal as sps

from dsp.beat_params import BeatDetectorParams
from dsp.beat_startup import alternates, startup_keep
from dsp.fiducial import Fiducial, mid_upstroke
from dsp.filters import (
    CausalFir,
    CausalSos,
    butter_sos,
    check_fs,
    ema_filter,
    fir_lowpass_taps,
    parabolic_offset,
    zero_phase_sos,
)

__all__ = [
    "BeatDetectorParams",
    "Fiducial",
    "mid_upstroke",
    "PPG_PARAMS",
    "StreamingBeatDetector",
    "ppg_clean",
    "ppg_peaks",
]


PPG_PARAMS = BeatDetectorParams(
    fiducial=Fiducial.MID_UPSTROKE, search_back=0.15, startup_s=4.0, hold_s=0.5
)


def _odd(n: float) -> int:
    return max(1, int(round(n)) | 1)


class StreamingBeatDetector:
    """Chunk-invariant beat detector (see the module docstring for the algorithm).

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (> 0).
    params : BeatDetectorParams
        Detector parameters; ``PPG_PARAMS`` by default.

    Notes
    -----
    ``push(x)`` returns the peaks committed by this chunk as float sample positions counted
    from the first sample ever pushed. Feeding a signal in any chunking gives the same peaks
    as feeding it at once. Memory is bounded (a few seconds of history).
    """

    def __init__(self, fs: float, params: BeatDetectorParams = PPG_PARAMS) -> None:
        self.fs = check_fs(fs)
        self.p = params
        fs = self.fs
        self.w1 = _odd(params.w_peak_s * fs)
        self.w2 = _odd(params.w_beat_s * fs)
        if self.w2 <= self.w1:
            self.w2 = self.w1 + 2
        self.d_w = (self.w2 - self.w1) // 2
        self.h = (self.w2 - 1) // 2
        self.delay = int(round(params.delay_s * fs))
        self.pad = max(1, int(round(params.pad_s * fs)))
        self.refractory = params.refractory_s * fs
        self.taps = fir_lowpass_taps(params.smooth_hz, fs, params.smooth_len_s)
        self.taps_fid = fir_lowpass_taps(params.fiducial_hz, fs, params.fiducial_len_s)
        self.a = 1.0 / (params.mean_tau_s * fs)
        self.bp = CausalSos(butter_sos("bandpass", tuple(params.band_hz), fs, params.order))
        self.ma1 = CausalFir(np.full(self.w1, 1.0 / self.w1))
        self.ma2 = CausalFir(np.full(self.w2, 1.0 / self.w2))
        self.keep = int(4.0 * fs) + self.w2 + self.taps.size
        self.n = 0  # samples ever pushed
        self._raw = np.zeros(0)  # raw history, global index of first element = _raw0
        self._raw0 = 0
        self._y = np.zeros(0)  # band-passed history, same indexing as _raw
        self._hold_val = np.nan  # last finite sample and the length of its run of equal values
        self._hold_len = 0
        self._hold = None if params.hold_s is None else max(2, int(round(params.hold_s * fs)))
        self._reset_segment()
        self.last_peak = -np.inf

    # -- state -------------------------------------------------------------------------------
    def _reset_segment(self) -> None:
        self.bp.reset()
        self.ma1.reset()
        self.ma2.reset()
        self.seg_start: int | None = None
        self._ema = 0.0
        self._ema_n = 0
        self._m1_tail: np.ndarray | None = None
        self.in_block = False
        self.block_start = 0
        self._amps: deque[float] = deque(maxlen=8)
        self._ibis: deque[float] = deque(maxlen=8)
        self._n_rejected = 0
        self._n_long = 0  # long intervals in a row not learnt (see _learn_ibi)
        self._seq: deque[float] = deque(maxlen=8)  # amplitudes of the last committed beats
        self._rise: float | None = None  # running mean of peak - mid-upstroke (samples)
        self._start_hold()

    def _start_hold(self) -> None:
        """Hold candidates until the rhythm is known (``startup_s``; no-op when None)."""
        self._held: list[tuple[float, float]] | None = None  # (peak, amplitude)
        if self.p.startup_s is not None:
            self._held = []
            self._held_prev = getattr(self, "last_peak", -np.inf)

    @property
    def pending_start(self) -> float | None:
        """Position of the oldest candidate held by the start-up rule, or None."""
        return self._held[0][0] if self._held else None

    @property
    def open_block_start(self) -> int | None:
        """Global index where the currently open block began, or None."""
        return self.block_start if self.in_block else None

    def provisional_peak(self) -> float | None:
        """Best current guess (sample position) for a beat whose block is still open."""
        if not self.in_block or self.seg_start is None:
            return None
        return self._localise(self.block_start, self.n)

    # -- processing --------------------------------------------------------------------------
    def push(self, x: np.ndarray) -> np.ndarray:
        """Feed new samples (NaN marks missing data); return newly committed peaks."""
        x = np.asarray(x, dtype=float).ravel()
        out: list[float] = []
        if x.size == 0:
            return np.zeros(0)
        if self._hold is not None:
            x = self._mask_held(x)
        finite = np.isfinite(x)
        if finite.all():
            self._push_finite(x, out)
            return np.asarray(out, dtype=float)
        # split into runs of finite / non-finite samples
        edges = np.flatnonzero(np.diff(finite.astype(np.int8))) + 1
        bounds = np.concatenate([[0], edges, [x.size]])
        for i0, i1 in zip(bounds[:-1], bounds[1:], strict=True):
            seg = x[i0:i1]
            if finite[i0]:
                self._push_finite(seg, out)
            else:
                self._resolve_held(out)  # a gap ends the start-up: decide on what is held
                self._append_hist(np.full(seg.size, np.nan), np.full(seg.size, np.nan))
                self.n += seg.size
                self._reset_segment()
                self._trim_hist()
        return np.asarray(out, dtype=float)

    def _mask_held(self, x: np.ndarray) -> np.ndarray:
        """``x`` with the part of each equal-value run beyond ``hold_s`` set to NaN."""
        assert self._hold is not None
        prev = np.concatenate([[self._hold_val], x[:-1]])
        same = x == prev  # False next to NaN
        idx = np.arange(x.size)
        start = np.maximum.accumulate(np.where(same, 0, idx))
        run = idx - start + 1
        lead = x.size if same.all() else int(np.argmin(same))  # continues the previous run
        run[:lead] += self._hold_len
        self._hold_val = float(x[-1])
        self._hold_len = int(run[-1]) if np.isfinite(x[-1]) else 0
        held = run > self._hold
        if not held.any():
            return x
        return np.where(held, np.nan, x)

    def _append_hist(self, raw: np.ndarray, y: np.ndarray) -> None:
        self._raw = np.concatenate([self._raw, raw])
        self._y = np.concatenate([self._y, y])

    def _trim_hist(self) -> None:
        keep = self.keep
        if self.in_block:
            keep = max(keep, self.n - self.block_start + self.h + self.delay + self.keep)
        if self._held:  # the held beats are timed when committed
            keep = max(keep, self.n - int(self._held[0][0]) + self.keep)
        if self._raw.size > keep:
            cut = self._raw.size - keep
            self._raw = self._raw[cut:]
            self._y = self._y[cut:]
            self._raw0 += cut

    def _push_finite(self, x: np.ndarray, out: list[float]) -> None:
        if self.seg_start is None:
            self.seg_start = self.n
        y = self.bp(x)
        z = np.maximum(y, 0.0) if self.p.rectify else y
        z = z * z
        m1 = self.ma1(z)
        m2 = self.ma2(z)
        # bias-corrected exponential mean of z
        a = self.a
        e = ema_filter(a, z, (1.0 - a) * self._ema)
        if (1.0 - a) ** (self._ema_n + 1) < 2.0**-55:
            mean_z = e  # the bias correction 1 - (1 - a)**k is exactly 1.0 from here on
        else:
            k = self._ema_n + np.arange(1, z.size + 1)
            mean_z = e / (1.0 - (1.0 - a) ** k)
        self._ema = float(e[-1])
        self._ema_n += z.size
        if self._m1_tail is None:
            self._m1_tail = np.full(self.d_w, m1[0])
        m1ext = np.concatenate([self._m1_tail, m1])
        m1_al = m1ext[: m1.size]
        self._m1_tail = m1ext[m1.size :] if self.d_w > 0 else np.zeros(0)
        on = m1_al > m2 + self.p.beta * mean_z
        n0 = self.n
        self._append_hist(x, y)
        self.n += x.size
        # transitions
        prev = np.concatenate([[self.in_block], on])
        d = np.diff(prev.astype(np.int8))
        starts = (np.flatnonzero(d == 1) + n0).tolist()
        stops = (np.flatnonzero(d == -1) + n0).tolist()
        events = sorted([(s, 1) for s in starts] + [(s, 0) for s in stops])
        for idx, kind in events:
            if self._held and idx >= self._held[0][0] + 2.0 * self._startup_n():
                self._resolve_held(out)
            if kind == 1:
                self.in_block = True
                self.block_start = idx
            else:
                bs = self.block_start
                self.in_block = False
                if idx - bs >= self.w1 and bs >= self.seg_start + self.w2:
                    pk = self._localise(bs, idx)
                    if pk is None or pk - self.last_peak < self.refractory:
                        continue
                    if self._held is not None:
                        self._hold_candidate(bs, idx, pk, out)
                    else:
                        missed = self._search_back(pk)
                        if self._amplitude_ok(bs, idx, pk, missed):
                            for q in [*missed, pk]:
                                self._commit(q, out)
                            self.last_peak = pk
                            self._check_lock()
        if self._held and self.n >= self._held[0][0] + 2.0 * self._startup_n():
            self._resolve_held(out)
        self._trim_hist()

    def _commit(self, q: float, out: list[float]) -> None:
        """Commit the beat whose peak is at ``q``; note its band-passed amplitude."""
        out.append(self._beat_time(q))
        c = int(round(q)) + self.delay
        a0, a1 = max(c - self.pad, self._raw0), min(c + self.pad + 1, self.n)
        seg = self._y[a0 - self._raw0 : a1 - self._raw0]
        self._seq.append(float(np.max(seg)) if seg.size and np.isfinite(seg).all() else np.nan)

    def _check_lock(self) -> None:
        """Re-run the start-up when the last 8 beats alternate pulse, weak wave (item 11)."""
        if self.p.startup_s is not None and alternates(np.asarray(self._seq)):
            self._amps.clear()
            self._ibis.clear()
            self._seq.clear()
            self._start_hold()

    def _startup_n(self) -> float:
        return (self.p.startup_s or 0.0) * self.fs

    def _hold_candidate(self, bs: int, be: int, pk: float, out: list[float]) -> None:
        """Hold a start-up candidate; decide once ``startup_s`` of candidates are held."""
        assert self._held is not None
        self._held.append((pk, self._block_amp(bs, be)))
        self.last_peak = pk
        if len(self._held) >= 4 and pk - self._held[0][0] >= self._startup_n():
            self._resolve_held(out)

    def _resolve_held(self, out: list[float]) -> None:
        """Commit the held candidates that the start-up rule keeps; seed the history."""
        held, self._held = self._held, None
        if not held:
            return
        pos = np.array([h[0] for h in held])
        amp = np.array([h[1] for h in held])
        keep = startup_keep(pos, amp, self.p.amplitude_gate, self.p.early_weak, 3.0 * self.fs)
        prev = self._held_prev
        for q, a in zip(pos[keep].tolist(), amp[keep].tolist(), strict=True):
            self.last_peak = prev
            for m in [*self._search_back(q), q]:  # search-back once 3 intervals are known
                self._learn_ibi(m - prev)
                self._commit(m, out)
                prev = m
            self._amps.append(a)
        self.last_peak = prev

    def _search_back(self, pk: float) -> list[float]:
        """Missed beats between the last accepted beat and ``pk`` (see ``search_back``)."""
        thr = self.p.search_back
        if thr is None or len(self._ibis) < 3 or not self._amps or self.seg_start is None:
            return []
        med = sorted(self._ibis)[len(self._ibis) // 2]
        last = self.last_peak
        if not 1.5 * med < pk - last < 2.5 * med or pk - last > 3.0 * self.fs:
            return []
        srt = sorted(self._amps)
        ref = srt[len(srt) // 2]
        # band-passed history, delayed by the filter: search there, localise on the raw signal
        a0 = int(np.ceil(last + 0.6 * med)) + self.delay
        a1 = int(np.floor(pk - 0.6 * med)) + self.delay
        w0 = max(int(np.floor(last)) + self.delay, self._raw0, self.seg_start)
        w1 = min(int(np.ceil(pk)) + self.delay + 1, self.n)
        if a1 <= a0 or w1 - w0 < 5:
            return []
        y = self._y[w0 - self._raw0 : w1 - self._raw0]
        if not np.all(np.isfinite(y)):
            return []
        cand, props = sps.find_peaks(y, prominence=thr * ref)
        at = cand + w0
        ok = (at >= a0) & (at <= a1)
        if not ok.any():
            return []
        best = int(at[ok][np.argmax(props["prominences"][ok])]) - self.delay
        q = self._localise_window(best - self.pad - self.delay, best + self.pad + self.delay)
        if q is None or q - last < 0.5 * med or pk - q < 0.5 * med:
            return []
        return [q]

    def _amplitude_ok(self, bs: int, be: int, pk: float, missed: list[float] | None = None) -> bool:
        """Amplitude gates: the block's band-passed peak vs recent accepted beats."""
        gate = self.p.amplitude_gate
        amp = self._block_amp(bs, be)
        hist = self._amps
        if gate is not None and len(hist) >= 3:
            srt = sorted(hist)
            k = len(srt)
            med = srt[k // 2] if k % 2 else 0.5 * (srt[k // 2 - 1] + srt[k // 2])
            low, high = amp < gate[0] * med, amp > gate[1] * med
            if (low or high) and len(self._ibis) >= 3:
                # a weaker (vasoconstriction) or stronger (after a baseline dip) pulse on time
                # is a beat, not an artefact, down to half the lower / up to 1.5x the upper gate
                on_time = pk - self.last_peak >= 0.75 * sorted(self._ibis)[len(self._ibis) // 2]
                low = low and not (on_time and amp >= 0.5 * gate[0] * med)
                high = high and not (on_time and amp <= 1.5 * gate[1] * med)
            if low or high:
                self._n_rejected += 1
                if self._n_rejected >= 4:  # the signal changed for good: start afresh
                    hist.clear()
                    self._ibis.clear()
                    self._n_rejected = 0
                    self._start_hold()
                return False
        ew = self.p.early_weak
        if ew is not None and len(self._ibis) >= 3 and hist:
            srt = sorted(self._ibis)
            med_ibi = srt[len(srt) // 2]
            if pk - self.last_peak < ew[0] * med_ibi and amp < ew[1] * hist[-1]:
                return False  # a secondary (dicrotic/diastolic) wave, not a beat
        self._n_rejected = 0
        prev = self.last_peak
        for q in [*(missed or []), pk]:
            self._learn_ibi(q - prev)
            prev = q
        hist.append(amp)
        return True

    def _learn_ibi(self, d: float) -> None:
        """Learn the interval ``d`` (samples) unless it spans a missed beat (item 10)."""
        if not np.isfinite(d) or d >= 3.0 * self.fs:
            return
        if len(self._ibis) >= 3 and d > 1.5 * sorted(self._ibis)[len(self._ibis) // 2]:
            self._n_long += 1
            if self._n_long < 8:
                return
            self._ibis.clear()
        self._n_long = 0
        self._ibis.append(d)

    def _block_amp(self, bs: int, be: int) -> float:
        """Band-passed peak amplitude of the block [bs, be) (comparison time)."""
        a0 = max(bs - self.h, self._raw0)
        a1 = max(be - self.h, a0 + 1)
        seg = self._y[a0 - self._raw0 : a1 - self._raw0]
        return float(np.max(np.abs(seg))) if seg.size else 0.0

    def _beat_time(self, pk: float) -> float:
        """Reported position of an accepted beat whose peak is at ``pk`` (see *Timing*)."""
        if self.p.fiducial is not Fiducial.MID_UPSTROKE:
            return pk
        fid = self._mid_upstroke(pk)
        if fid is None:
            return pk
        mid = fid[0]
        rise = pk - mid  # to the refined peak of step 6 (the 5 Hz spline's maximum is late)
        if self._rise is None:
            self._rise = rise
        elif abs(rise - self._rise) > 0.06 * self.fs:
            return pk  # a deformed pulse: its upstroke does not time it, its peak does
        else:
            self._rise += (rise - self._rise) / self.p.rise_beats
        return mid + self._rise

    def _mid_upstroke(self, pk: float) -> tuple[float, float] | None:
        """(mid-upstroke point, spline maximum) near the peak ``pk`` (global samples)."""
        assert self.seg_start is not None
        fs, taps = self.fs, self.taps_fid
        half = taps.size // 2
        lo = int(np.floor(pk - 0.5 * fs))
        hi = int(np.ceil(pk + 0.15 * fs)) + 1
        a0, a1 = lo - half, min(hi + half, self.n)
        if a0 < max(self.seg_start, self._raw0) or hi - lo < 4 or a1 - a0 < taps.size + 4:
            return None
        raw = self._raw[a0 - self._raw0 : a1 - self._raw0]
        if not np.all(np.isfinite(raw)):
            return None
        sm = np.convolve(raw, taps, mode="valid")  # values at samples lo .. a1 - half - 1
        fid = mid_upstroke(sm, pk - lo, fs, self.p.fiducial_level)
        return None if fid is None else (fid[0] + lo, fid[1] + lo)

    def _localise(self, bs: int, be: int) -> float | None:
        """Peak position (global samples) for the block [bs, be) in comparison time."""
        assert self.seg_start is not None
        return self._localise_window(
            bs - self.h - self.delay - self.pad, be - self.h - self.delay + self.pad
        )

    def _localise_window(self, lo: int, hi: int) -> float | None:
        """Peak position (global samples) of the smoothed raw signal inside [lo, hi)."""
        assert self.seg_start is not None
        lo = max(lo, self.seg_start, self._raw0)
        hi = min(hi, self.n)
        if hi - lo < 3:
            return None
        half = self.taps.size // 2
        a0 = max(lo - half, self.seg_start, self._raw0)
        a1 = min(hi + half, self.n)
        raw = self._raw[a0 - self._raw0 : a1 - self._raw0]
        if raw.size < 3 or not np.all(np.isfinite(raw)):
            return None
        left = np.full(a0 - (lo - half), raw[0])
        right = np.full(hi + half - a1, raw[-1])
        sm = np.convolve(np.concatenate([left, raw, right]), self.taps, mode="valid")
        if self.p.detrend_window and sm.size > 1:
            sm = sm - np.linspace(sm[0], sm[-1], sm.size)  # remove the baseline tilt
        if self.p.use_abs:
            sm = np.abs(sm - np.median(sm))
        i = int(np.argmax(sm))
        if i == 0 or i == sm.size - 1:
            # not a local maximum inside the search window (e.g. a partial pulse at the
            # start of a segment): no beat
            return None
        off = parabolic_offset(sm[i - 1], sm[i], sm[i + 1])
        return float(lo + i + off)


def ppg_clean(signal: np.ndarray, fs: float, causal: bool = False) -> np.ndarray:
    """Band-pass a PPG signal 0.5-8 Hz (Butterworth, order 2 per edge).

    Parameters
    ----------
    signal : ndarray
        Raw PPG samples (any unit), uniformly sampled.
    fs : float
        Sampling rate in Hz.
    causal : bool
        False (offline): zero-phase forward-backward filtering. True (live): a single causal
        pass started at the steady state of the first sample (delays the waveform ~50 ms).

    Returns
    -------
    ndarray
        Filtered signal, same length; NaN samples stay NaN and each finite run is filtered
        on its own.
    """
    fs = check_fs(fs)
    x = np.asarray(signal, dtype=float).ravel()
    out = np.full(x.shape, np.nan)
    sos = butter_sos("bandpass", (0.5, 8.0), fs, 2)
    from dsp.filters import nan_segments

    for a, b in nan_segments(x):
        if causal:
            out[a:b] = CausalSos(sos)(x[a:b])
        else:
            out[a:b] = zero_phase_sos(x[a:b], sos)
    return out


def ppg_peaks(signal: np.ndarray, fs: float, params: BeatDetectorParams = PPG_PARAMS) -> np.ndarray:
    """Systolic peak positions of a PPG signal.

    Parameters
    ----------
    signal : ndarray
        Raw PPG samples (any unit, larger = more blood volume), uniformly sampled; NaN runs
        mark missing data.
    fs : float
        Sampling rate in Hz (> 0). Works from ~25 Hz upwards.
    params : BeatDetectorParams
        Detector parameters.

    Returns
    -------
    ndarray of float
        Peak positions in samples from the first sample (sub-sample precision by parabolic
        interpolation at every rate, which matters at fs <= 64 Hz). Empty when no beat was
        found (e.g. empty, constant or all-NaN input).

    Raises
    ------
    ValueError
        If ``fs`` is not a finite positive number or the signal is not 1-D.
    """
    fs = check_fs(fs)
    x = np.asarray(signal, dtype=float)
    if x.ndim != 1:
        raise ValueError("signal must be 1-D")
    det = StreamingBeatDetector(fs, params)
    return det.push(x)
