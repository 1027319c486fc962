"""HR synchrony: slope concordance on HR and magnitude-squared coherence of two HR series."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal as _signal

from dsp.concordance.baselines import SessionConcordance, analyze_session
from dsp.concordance.indices import _as_samples, _pair
from dsp.surrogates import empirical_test, random_shifts

__all__ = [
    "HF_BAND",
    "LF_BAND",
    "CoherenceTest",
    "HRCoherence",
    "HRSynchrony",
    "analyze_hr_session",
    "hr_coherence",
    "hr_coherence_session_test",
    "hr_coherence_shift_test",
    "hr_coherence_test",
]


@dataclass(frozen=True)
class HRCoherence:
    """Magnitude-squared coherence of two HR series (Welch, linear detrend per segment).

    Attributes
    ----------
    lf, hf : float
        Mean coherence (0..1) in the LF (0.04-0.15 Hz) and HF (0.15-0.40 Hz) bands.
    f, cxy : numpy.ndarray
        Frequency axis (Hz) and coherence.
    duration_s : float
        Length of the analysed stretch (s).
    n_segments : int
        Welch segments averaged. Coherence of unrelated signals is biased upward by about
        ``1 / n_segments``; compare with a surrogate baseline before interpreting.
    """

    lf: float
    hf: float
    f: np.ndarray
    cxy: np.ndarray
    duration_s: float
    n_segments: int


def _msc(
    a: np.ndarray, b: np.ndarray, fs: float, nper: int, nover: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Welch magnitude-squared coherence, same numbers as ``scipy.signal.coherence`` with a
    periodic Hann window, linear detrend per segment and mean averaging (vectorised, ~10x
    cheaper because it skips scipy's per-segment least squares)."""
    step = nper - nover
    sa = sliding_window_view(a, nper)[::step]
    sb = sliding_window_view(b, nper)[::step]
    u1, u2, win = _segment_basis(nper)
    sa = sa - np.outer(sa @ u1, u1) - np.outer(sa @ u2, u2)
    sb = sb - np.outer(sb @ u1, u1) - np.outer(sb @ u2, u2)
    fa = np.fft.rfft(sa * win, axis=1)
    fb = np.fft.rfft(sb * win, axis=1)
    pxx = (fa.real**2 + fa.imag**2).mean(axis=0)
    pyy = (fb.real**2 + fb.imag**2).mean(axis=0)
    pxy = (np.conj(fa) * fb).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.abs(pxy) ** 2 / (pxx * pyy)
    return np.fft.rfftfreq(nper, 1.0 / fs), c, int(sa.shape[0])


def _gap_free_stretch(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """``(start, stop)`` of the longest run where both are finite (the latest on ties;
    ``(0, 0)`` when there is none)."""
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.all():
        return 0, int(a.size)
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
    starts, stops = edges[::2], edges[1::2]
    if starts.size == 0:
        return 0, 0
    lengths = stops - starts
    i = int(np.flatnonzero(lengths == lengths.max())[-1])
    return int(starts[i]), int(stops[i])


LF_BAND = (0.04, 0.15)
HF_BAND = (0.15, 0.40)


def hr_coherence(
    hr_patient: np.ndarray,
    hr_clinician: np.ndarray,
    fs: float = 4.0,
    window_s: float = 300.0,
    min_s: float = 120.0,
    nperseg_s: float = 64.0,
) -> HRCoherence:
    """LF / HF magnitude-squared coherence of the two HR series over their last 2-5 minutes.

    Uses the last ``window_s`` seconds (default 300) of data; the analysed stretch is the
    longest NaN-free run inside that window and must last at least ``min_s`` (default 120 s),
    otherwise the result is NaN. Welch segments of ``nperseg_s`` (default 64 s, i.e.
    1/64 Hz resolution) with 50 % overlap.
    """
    a, b = _pair(hr_patient, hr_clinician)
    nwin = _as_samples(window_s, fs, "window_s")
    a, b = a[-nwin:], b[-nwin:]
    i0, i1 = _gap_free_stretch(a, b)
    a, b = a[i0:i1], b[i0:i1]
    dur = a.size / fs
    nper = _as_samples(nperseg_s, fs, "nperseg_s")
    if dur < min_s or a.size < nper:
        return HRCoherence(math.nan, math.nan, np.empty(0), np.empty(0), dur, 0)
    f, c, nseg = _msc(a, b, fs, nper, nper // 2)
    lf = (f >= LF_BAND[0]) & (f < LF_BAND[1])
    hf = (f >= HF_BAND[0]) & (f <= HF_BAND[1])
    return HRCoherence(float(c[lf].mean()), float(c[hf].mean()), f, c, dur, int(nseg))


@dataclass(frozen=True)
class HRSynchrony:
    """Offline HR synchrony of a session.

    Attributes
    ----------
    session : SessionConcordance
        Slope concordance, WCC and surrogate test on the HR series (``hr_slope_s`` slopes).
    coherence : HRCoherence
        LF / HF coherence over the last ``coherence_window_s``.
    """

    session: SessionConcordance
    coherence: HRCoherence


def analyze_hr_session(
    hr_patient: np.ndarray,
    hr_clinician: np.ndarray,
    fs: float = 4.0,
    hr_slope_s: float = 1.0,
    wcc_win_s: float = 60.0,
    wcc_lag_s: float = 5.0,
    wcc_inc_s: float = 10.0,
    coherence_window_s: float = 300.0,
    n_surrogates: int = 200,
    seed: int | np.random.Generator | None = 0,
) -> HRSynchrony:
    """HR synchrony with the EDA machinery: slope concordance / CI / WCC on HR slopes.

    HR (bpm on the grid, from corrected IBIs) drifts like SC, so the two HR series are
    compared through their ``hr_slope_s`` slopes (default 1 s: first differences, bpm/s).
    """
    s = analyze_session(
        hr_patient, hr_clinician, fs, slope_s=hr_slope_s, wcc_win_s=wcc_win_s,
        wcc_lag_s=wcc_lag_s, wcc_inc_s=wcc_inc_s, n_surrogates=n_surrogates, seed=seed,
    )  # fmt: skip
    return HRSynchrony(s, hr_coherence(hr_patient, hr_clinician, fs, coherence_window_s))


@dataclass(frozen=True)
class CoherenceTest:
    """HR magnitude-squared coherence against its chance level on the same data.

    Coherence of two unrelated series is biased upward (about ``1 / n_segments`` for white
    noise, far more for two people breathing at similar rates). The chance level is the mean
    coherence of surrogates that keep each person's rhythms, made by the function that
    returned it: circular shifts wrapping inside the stretch (:func:`hr_coherence_test`, kept
    as a peer), or unwrapped clinician stretches from other times of the session
    (:func:`hr_coherence_shift_test` live, :func:`hr_coherence_session_test` offline).

    Attributes
    ----------
    coherence : HRCoherence
        Observed LF / HF coherence.
    lf_chance, hf_chance : float
        Mean surrogate coherence (the bias).
    lf_excess, hf_excess : float
        Observed minus chance (bias-corrected coherence).
    lf_percentile, hf_percentile : float
        Percentile of the observed value among the surrogates (0-100).
    lf_p, hf_p : float
        One-sided empirical p; NaN when not enough data (no test).
    """

    coherence: HRCoherence
    lf_chance: float
    hf_chance: float
    lf_excess: float
    hf_excess: float
    lf_percentile: float
    hf_percentile: float
    lf_p: float
    hf_p: float


def hr_coherence_test(
    hr_patient: np.ndarray,
    hr_clinician: np.ndarray,
    fs: float = 4.0,
    window_s: float = 300.0,
    min_s: float = 120.0,
    nperseg_s: float = 64.0,
    n_surrogates: int = 100,
    min_shift_s: float = 60.0,
    seed: int | np.random.Generator | None = 0,
) -> CoherenceTest:
    """:func:`hr_coherence` with a circular-shift chance level (see :class:`CoherenceTest`)."""
    obs = hr_coherence(hr_patient, hr_clinician, fs, window_s, min_s, nperseg_s)
    nan = math.nan
    shift = _as_samples(min_shift_s, fs, "min_shift_s")
    n = int(round(obs.duration_s * fs))
    if not math.isfinite(obs.lf) or n < 2 * shift + 1:
        return CoherenceTest(obs, nan, nan, nan, nan, nan, nan, nan, nan)
    a, b = _pair(hr_patient, hr_clinician)
    nwin = _as_samples(window_s, fs, "window_s")
    a, b = a[-nwin:], b[-nwin:]
    i0, i1 = _gap_free_stretch(a, b)
    a, b = a[i0:i1], b[i0:i1]
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    nper = _as_samples(nperseg_s, fs, "nperseg_s")
    lf_n, hf_n = [], []
    lfm = None
    for d in random_shifts(a.size, n_surrogates, shift, rng):
        f, c, _ = _msc(a, np.roll(b, int(d)), fs, nper, nper // 2)
        if lfm is None:
            lfm = (f >= LF_BAND[0]) & (f < LF_BAND[1])
            hfm = (f >= HF_BAND[0]) & (f <= HF_BAND[1])
        lf_n.append(float(c[lfm].mean()))
        hf_n.append(float(c[hfm].mean()))
    lt = empirical_test(obs.lf, np.array(lf_n), "circular")
    ht = empirical_test(obs.hf, np.array(hf_n), "circular")
    lc, hc = float(np.mean(lf_n)), float(np.mean(hf_n))
    return CoherenceTest(
        obs, lc, hc, obs.lf - lc, obs.hf - hc, lt.percentile, ht.percentile, lt.p_value, ht.p_value
    )


def _band_means(f: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    lf = (f >= LF_BAND[0]) & (f < LF_BAND[1])
    hf = (f >= HF_BAND[0]) & (f <= HF_BAND[1])
    return float(c[lf].mean()), float(c[hf].mean())


def hr_coherence_shift_test(
    hr_patient: np.ndarray,
    hr_clinician: np.ndarray,
    fs: float = 4.0,
    window_s: float = 300.0,
    min_s: float = 120.0,
    nperseg_s: float = 64.0,
    n_surrogates: int = 50,
    min_shift_s: float = 60.0,
    min_span_s: float = 120.0,
    seed: int | np.random.Generator | None = 0,
) -> CoherenceTest:
    """:func:`hr_coherence` over the last ``window_s`` against time-shifted, unwrapped stretches.

    The observed value is :func:`hr_coherence` of the last ``window_s`` (its longest gap-free
    stretch, ``n`` samples). Each surrogate pairs the same patient stretch with a contiguous
    gap-free ``n``-sample stretch of the clinician's whole series starting at least
    ``min_shift_s`` away from the observed one. Unlike :func:`hr_coherence_test`, nothing
    wraps around inside the window: a wrap puts a phase jump into every narrow-band rhythm
    (breathing, Mayer waves), which lowers the surrogates' coherence and makes two unrelated
    people sharing a rhythm look coupled (live, on simulated independent dyads sharing the
    breathing and Mayer frequencies, the highlight rule on wrapped surrogates claimed coupling
    in 11.8 % of snapshots, on these in 0.6 %: ``benchmarks/bench_coherence_words.py``).

    The test needs ``n_surrogates`` distinct start offsets spread over at least
    ``min_span_s`` seconds (surrogates all taken from one short stretch are too alike to be a
    null); with less history the percentiles and p are NaN ("not enough data for a test")
    while the observed coherence is still given. Series are on one grid at ``fs`` Hz,
    the last sample now; the patient's series is used only in the last ``window_s``.
    """
    obs = hr_coherence(hr_patient, hr_clinician, fs, window_s, min_s, nperseg_s)
    nan = math.nan
    untested = CoherenceTest(obs, nan, nan, nan, nan, nan, nan, nan, nan)
    if not math.isfinite(obs.lf):
        return untested
    a, b = _pair(hr_patient, hr_clinician)
    nwin = min(_as_samples(window_s, fs, "window_s"), a.size)
    i0, i1 = _gap_free_stretch(a[-nwin:], b[-nwin:])
    start, n = a.size - nwin + i0, i1 - i0
    x = a[start : start + n]
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    nper = _as_samples(nperseg_s, fs, "nperseg_s")
    shift = _as_samples(min_shift_s, fs, "min_shift_s")
    span = _as_samples(min_span_s, fs, "min_span_s")
    null = _stretch_null(x, b, start, fs, nper, n_surrogates, shift, span, rng)
    if null is None:
        return untested
    lt = empirical_test(obs.lf, null[:, 0], "time shift")
    ht = empirical_test(obs.hf, null[:, 1], "time shift")
    lc, hc = float(null[:, 0].mean()), float(null[:, 1].mean())
    return CoherenceTest(
        obs, lc, hc, obs.lf - lc, obs.hf - hc, lt.percentile, ht.percentile, lt.p_value, ht.p_value
    )


def _stretch_null(
    x: np.ndarray, b: np.ndarray, start: int, fs: float, nper: int, n_surrogates: int,
    shift: int, span: int, rng: np.random.Generator,
) -> np.ndarray | None:  # fmt: skip
    """``(n_surrogates, 2)`` LF/HF coherence of ``x`` (which sits at ``start`` in the session)
    with gap-free, unwrapped clinician stretches of ``b`` starting at least ``shift`` samples
    away; None when fewer than ``n_surrogates`` such stretches exist or they span less than
    ``span`` samples."""
    n = x.size
    bad = np.r_[0, np.cumsum(np.isnan(b))]
    offsets = np.arange(0, b.size - n + 1)
    offsets = offsets[(np.abs(offsets - start) >= shift) & (bad[offsets + n] == bad[offsets])]
    if offsets.size < n_surrogates or offsets[-1] - offsets[0] < span:
        return None
    return np.array(
        [_band_means(*_msc(x, b[s : s + n], fs, nper, nper // 2)[:2])
         for s in rng.choice(offsets, size=n_surrogates, replace=False)]
    )  # fmt: skip


def _segment_spectra(segs: np.ndarray) -> np.ndarray:
    """Per-segment spectra as :func:`_msc` makes them (linear detrend, periodic Hann)."""
    u1, u2, win = _segment_basis(segs.shape[1])
    segs = segs - np.outer(segs @ u1, u1) - np.outer(segs @ u2, u2)
    return np.fft.rfft(segs * win, axis=1)


@lru_cache(maxsize=8)
def _segment_basis(nper: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The linear-detrend basis (constant and ramp, unit length) and the periodic Hann
    window of ``nper``-sample segments (read-only; the same for every segment, so computed
    once: the offline coherence test asks for them ~1000 times)."""
    t = np.arange(nper, dtype=float)
    u1 = np.full(nper, 1.0 / math.sqrt(nper))
    tc = t - t.mean()
    u2 = tc / np.sqrt(tc @ tc)
    win = _signal.get_window("hann", nper)
    for a in (u1, u2, win):
        a.setflags(write=False)
    return u1, u2, win


def _bands_of(fa: np.ndarray, fb: np.ndarray, f: np.ndarray) -> tuple[float, float]:
    pxy = (np.conj(fa) * fb).mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.abs(pxy) ** 2 / ((np.abs(fa) ** 2).mean(axis=0) * (np.abs(fb) ** 2).mean(axis=0))
    return _band_means(f, c)


def _longest_run(cont: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Indices of the longest run of usable segments (``ok``) in which each follows the
    previous one in the clinician's series (``cont``: contiguous with its predecessor)."""
    best, cur = np.zeros(0, int), []
    for k in range(ok.size):
        if not ok[k]:
            cur = []
            continue
        cur = [*cur, k] if cur and cont[k] else [k]
        if len(cur) > best.size:
            best = np.array(cur)
    return best


def _circular_null(
    x: np.ndarray, b: np.ndarray, start: int, fs: float, nper: int, shifts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """LF/HF coherence of ``x`` (at ``start`` in the session) with the clinician's series
    ``b`` circularly shifted by each shift, and the observed coherence on the same Welch
    segments (of :func:`_msc`): two ``(len(shifts), 2)`` arrays. Only the longest run of
    segments that neither straddle nor cross the wrap (nor a gap) is used, so every surrogate
    keeps the clinician's rhythms continuous, as the real pairing does (NaN with fewer than two
    such segments)."""
    step = nper - nper // 2
    fa = _segment_spectra(sliding_window_view(x, nper)[::step])
    pos = start + np.arange(fa.shape[0]) * step
    fb0 = _segment_spectra(sliding_window_view(b[start : start + x.size], nper)[::step])
    f = np.fft.rfftfreq(nper, 1.0 / fs)
    sur = np.full((shifts.size, 2), np.nan)
    obs = np.full((shifts.size, 2), np.nan)
    for i, d in enumerate(shifts):
        q = (pos - int(d)) % b.size
        ok = q + nper <= b.size
        ok[ok] = np.isfinite(b[q[ok][:, None] + np.arange(nper)]).all(axis=1)
        use = _longest_run(ok & np.r_[True, np.diff(q) == step], ok)
        if use.size < 2:
            continue
        segs = b[q[use][:, None] + np.arange(nper)]
        sur[i] = _bands_of(fa[use], _segment_spectra(segs), f)
        obs[i] = _bands_of(fa[use], fb0[use], f)
    return sur, obs


def hr_coherence_session_test(
    hr_patient: np.ndarray,
    hr_clinician: np.ndarray,
    fs: float = 4.0,
    window_s: float = 300.0,
    min_s: float = 120.0,
    nperseg_s: float = 64.0,
    n_surrogates: int = 50,
    min_shift_s: float = 60.0,
    min_span_s: float = 240.0,
    seed: int | np.random.Generator | None = 0,
) -> CoherenceTest:
    """Whole-session HR coherence: the mean over consecutive ``window_s`` windows, against the
    same windows with the clinician's whole-session series circularly shifted.

    The session is cut into consecutive non-overlapping windows (the last one ending with the
    session); in each, the longest gap-free stretch of at least ``min_s`` is analysed as in
    :func:`hr_coherence`. Surrogate ``i`` shifts the clinician's whole series circularly by
    ``d_i`` (at least ``min_shift_s`` either way; one shift for all windows), pairs every
    window's patient stretch with the shifted clinician over the same samples and averages
    over the windows like the observed value (windows whose shifted stretch holds a gap are
    left out of that surrogate). The shifts form a circle, so the real pairing is one of the
    pairings compared (exchangeable with them). The earlier null (unwrapped clinician
    stretches from elsewhere, as :func:`hr_coherence_shift_test` live) was optimistic
    offline: in a 10-minute session those stretches overlap each other far more than they
    overlap the real one, so their spread is too narrow (independent dyads of
    ``benchmarks/bench_calibration.py``: HF p <= 0.05 in 9-12 %). The wrap puts one junction
    into the circle; it falls inside a window for some shifts only. Sessions whose shifts
    cannot spread over ``min_span_s`` (``duration - 2 min_shift_s < min_span_s``) have no test
    (percentiles and p NaN). The observed :class:`HRCoherence` is the window average (its
    spectrum the mean spectrum, its duration the analysed seconds).
    """
    a, b = _pair(hr_patient, hr_clinician)
    nwin = min(_as_samples(window_s, fs, "window_s"), a.size)
    nper = _as_samples(nperseg_s, fs, "nperseg_s")
    shift, span = (
        _as_samples(min_shift_s, fs, "min_shift_s"),
        _as_samples(min_span_s, fs, "min_span_s"),
    )
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    testable = a.size - 2 * shift >= max(span, 1)
    shifts = random_shifts(a.size, n_surrogates, shift, rng) if testable else np.zeros(0, int)
    spectra, obs, nulls, dur, nseg = [], [], [], 0.0, 0
    for end in range(a.size, nwin - 1, -nwin):
        i0, i1 = _gap_free_stretch(a[end - nwin : end], b[end - nwin : end])
        start, n = end - nwin + i0, i1 - i0
        if n < max(min_s * fs, nper):
            continue
        x = a[start : start + n]
        f, c, k = _msc(x, b[start : start + n], fs, nper, nper // 2)
        spectra.append(c)
        obs.append(_band_means(f, c))
        nulls.append(_circular_null(x, b, start, fs, nper, shifts))
        dur, nseg = dur + n / fs, nseg + int(k)
    nan = math.nan
    if not obs:
        whole = hr_coherence(a, b, fs, a.size / fs, min_s, nperseg_s)
        return CoherenceTest(whole, nan, nan, nan, nan, nan, nan, nan, nan)
    lf, hf = np.mean(obs, axis=0)
    coh = HRCoherence(float(lf), float(hf), f, np.mean(spectra, axis=0), dur, nseg)
    if not testable:
        return CoherenceTest(coh, nan, nan, nan, nan, nan, nan, nan, nan)
    # (windows, surrogates, 2), each surrogate averaged over its windows, and the observed
    # coherence on the same segments (so both carry the same small-sample bias)
    sur, ref = np.array([n[0] for n in nulls]), np.array([n[1] for n in nulls])
    cnt = np.isfinite(sur).sum(axis=0)
    null = np.where(cnt > 0, np.nansum(sur, axis=0) / np.maximum(cnt, 1), np.nan)
    same = np.where(cnt > 0, np.nansum(ref, axis=0) / np.maximum(cnt, 1), np.nan)
    keep = np.isfinite(null[:, 0])
    if not keep.any():
        return CoherenceTest(coh, nan, nan, nan, nan, nan, nan, nan, nan)
    null, same = null[keep], same[keep]
    p = (1.0 + (null >= same - 1e-12).sum(axis=0)) / (1.0 + keep.sum())
    pct = 100.0 * ((null < same).sum(axis=0) + 0.5 * (null == same).sum(axis=0)) / keep.sum()
    lc, hc = float(null[:, 0].mean()), float(null[:, 1].mean())
    return CoherenceTest(
        coh, lc, hc, coh.lf - lc, coh.hf - hc, float(pct[0]), float(pct[1]), float(p[0]),
        float(p[1]),
    )  # fmt: skip
