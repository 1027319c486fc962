"""Who leads: a lead statistic tested against circular-shift surrogates of the same session.

A peak of a windowed cross-correlation at a non-zero lag is not evidence of a lead: two
unrelated signals with their own rhythms give such peaks all the time. Here a leader and a
lag are named only when, on the same data,

1. the pair is coupled at all: the peak of the session-average lag profile (mean Fisher z
   over windows) beats the same peak of circular-shift surrogates (one-sided p < 0.05), and
2. the profile is lopsided: the **asymmetry** ``mean z at positive lags - mean z at negative
   lags`` lies beyond the two-sided 95 % range of the surrogates' asymmetries.

The reported p is the larger of the two (an intersection-union test, valid as it stands).
The lag is the peak of the session-average profile (parabolic refinement, 1/fs grid); its
spread is the inter-quartile range of the per-window peak lags of windows with a clear peak
(r >= 0.3, not at the lag limit).

Lag sign (as everywhere in :mod:`dsp.concordance`): positive = the clinician follows = the
patient leads. Window ``j`` correlates the patient's samples ``[s_j, s_j + W)`` with the
clinician's ``[s_j + k, s_j + k + W)`` at lag ``k`` (samples), ``s_j = L + j * I``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dsp.concordance.circular import Z_CLIP as _Z_CLIP
from dsp.concordance.circular import circular_zsums, constant_windows
from dsp.concordance.evidence import ALPHA, NOT_ENOUGH_DATA, StatementStatus, p_text
from dsp.concordance.indices import _as_samples
from dsp.concordance.wcc import PEAK_THRESHOLD
from dsp.surrogates import random_shifts

__all__ = [
    "EDA_BRIDGE_S",
    "LEAD_GAP_S",
    "NO_LEAD_TEST",
    "Leader",
    "LeadTest",
    "fill_short_gaps",
    "lag_profiles",
    "lead_test",
    "lead_tests",
]

#: ``source(shifts, first_row) -> (zsum, count)``, each ``(len(shifts), n_lags)``: the sum of
#: the Fisher z of the complete windows of shifted surrogates, and their number (see
#: :func:`lead_tests`).
NullSource = Callable[..., np.ndarray]

#: Holes up to this long (s) in the HR grid are bridged linearly before a lead test, live and
#: offline (the live HR grid has holes of a beat or so at its newest edge). A dropout of the
#: PPG leaves a longer hole (its length plus the beat interval that crossed it).
LEAD_GAP_S = 2.0
#: Holes bridged in the EDA grid (s): none. An EDA hole is a dropout longer than the grid's
#: ``max_gap_s`` or an excluded stretch, and a gap excludes the windows it touches (issue 18).
EDA_BRIDGE_S = 0.0

#: Largest product array (values) of one lag_profiles call in a lead test (5 MB of floats:
#: about 90 surrogates of 10 minutes at 1 Hz; larger chunks ran slower, out of cache).
_CHUNK_VALUES = 600_000
#: Series at least this long (samples) whose pool is the series itself get their surrogate
#: sums from :func:`~dsp.concordance.circular.circular_zsums` (whole-session tests of a report).
_FFT_MIN = 2000
#: Surrogates drawn before a test may stop early (``stop_early``).
_FIRST_CHUNK = 25


class Leader(enum.Enum):
    """Outcome of a lead test."""

    PATIENT = "patient"
    CLINICIAN = "clinician"
    NONE = "none"


@dataclass(frozen=True)
class LeadTest:
    """A lead statement and the evidence behind it.

    Attributes
    ----------
    status : StatementStatus
        NOT_ENOUGH_DATA when fewer than ``min_windows`` complete windows exist (then every
        number is NaN and no p-value is made up).
    leader : Leader
        PATIENT / CLINICIAN only when ``p < 0.05``; NONE otherwise.
    lag_s : float
        Peak of the session-average lag profile (s, positive = patient leads); NaN without a
        lead.
    lag_q1_s, lag_q3_s : float
        Inter-quartile range of the per-window peak lags (s) of windows with a clear peak.
    n_windows, n_peak_windows : int
        Complete windows, and those with a clear peak.
    strength, p_strength : float
        Peak of the average Fisher-z profile and its one-sided surrogate p.
    asymmetry, p_asymmetry : float
        Asymmetry statistic and its two-sided surrogate p.
    p : float
        ``max(p_strength, p_asymmetry)``: the p of the lead statement.
    n_surrogates : int
        Surrogates behind the null.
    """

    status: StatementStatus
    leader: Leader
    lag_s: float
    lag_q1_s: float
    lag_q3_s: float
    n_windows: int
    n_peak_windows: int
    strength: float
    p_strength: float
    asymmetry: float
    p_asymmetry: float
    p: float
    n_surrogates: int

    @property
    def text(self) -> str:
        """Words: "patient leads by 2.0 s (IQR 1.5-2.5 s, p = 0.005)", "no clear lead (p = 0.41)"
        or "not enough data for a test"."""
        if self.status is StatementStatus.NOT_ENOUGH_DATA:
            return NOT_ENOUGH_DATA
        if self.leader is Leader.NONE:
            pt = p_text(self.p)
            return f"no clear lead ({pt})" if pt else "no clear lead"
        iqr = ""
        if math.isfinite(self.lag_q1_s) and math.isfinite(self.lag_q3_s):
            iqr = f"IQR {abs(self.lag_q1_s):.1f}-{abs(self.lag_q3_s):.1f} s, "
            if self.leader is Leader.CLINICIAN:
                iqr = f"IQR {abs(self.lag_q3_s):.1f}-{abs(self.lag_q1_s):.1f} s, "
        return f"{self.leader.value} leads by {abs(self.lag_s):.1f} s ({iqr}{p_text(self.p)})"


def _not_enough(n_windows: int = 0) -> LeadTest:
    nan = math.nan
    return LeadTest(
        StatementStatus.NOT_ENOUGH_DATA, Leader.NONE, nan, nan, nan, n_windows, 0, nan, nan, nan,
        nan, nan, 0,
    )  # fmt: skip


#: A lead test that has not been run (too little data so far).
NO_LEAD_TEST = _not_enough()


def fill_short_gaps(x: np.ndarray, max_n: int) -> np.ndarray:
    """Copy of ``x`` with NaN runs of at most ``max_n`` samples bridged linearly.

    The lead test drops every window with a missing sample; a heart-rate grid has isolated
    one-sample holes (the newest grid point before its closing beat arrives), which would
    otherwise remove most windows. Runs at either end and longer runs stay NaN.
    """
    x = np.array(x, dtype=float)
    bad = np.isnan(x)
    if not bad.any() or bad.all():
        return x
    edges = np.flatnonzero(np.diff(np.r_[0, bad.astype(np.int8), 0]))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if a == 0 or b == x.size or b - a > max_n:
            continue
        x[a:b] = np.interp(np.arange(a, b), [a - 1, b], [x[a - 1], x[b]])
    return x


def _csum0(a: np.ndarray) -> np.ndarray:
    z = np.zeros(a.shape[:-1] + (1,))
    return np.concatenate([z, np.cumsum(a, axis=-1)], axis=-1)


def lag_profiles(x: np.ndarray, ys: np.ndarray, win: int, lag: int, inc: int) -> np.ndarray:
    """Windowed lagged Pearson r of ``x`` with every row of ``ys`` (all in samples).

    Parameters
    ----------
    x : numpy.ndarray
        ``(n,)`` patient series (e.g. EDA slope signal).
    ys : numpy.ndarray
        ``(n_rows, n)`` clinician series (the real one and/or surrogates).
    win, lag, inc : int
        Window, maximum lag and increment (samples).

    Returns
    -------
    numpy.ndarray
        ``(n_rows, n_windows, 2 * lag + 1)``; lags ascending from ``-lag``. NaN for a window
        with a missing sample or a constant series (all values identical, or a sum of squares
        below 1e-18 per sample). Sums by running totals: O(lags * n) per
        row, independent of the window length.
    """
    x = np.asarray(x, dtype=float)
    ys = np.atleast_2d(np.asarray(ys, dtype=float))
    n = x.size
    n_win = (n - 2 * lag - win) // inc + 1 if n >= 2 * lag + win else 0
    if n_win <= 0:
        return np.empty((ys.shape[0], 0, 2 * lag + 1))
    starts = lag + inc * np.arange(n_win)
    xm = np.nanmean(x) if np.isfinite(x).any() else 0.0
    ym = np.nanmean(ys, axis=1, keepdims=True) if np.isfinite(ys).any() else 0.0
    xb, yb = np.isnan(x), np.isnan(ys)
    xz = np.where(xb, 0.0, x - xm)
    yz = np.where(yb, 0.0, ys - np.nan_to_num(ym))
    cx, cxx, cnx = _csum0(xz), _csum0(xz * xz), _csum0(xb.astype(float))
    cy, cyy, cny = _csum0(yz), _csum0(yz * yz), _csum0(yb.astype(float))
    sx = cx[starts + win] - cx[starts]
    vx = cxx[starts + win] - cxx[starts] - sx * sx / win
    badx = cnx[starts + win] - cnx[starts] > 0
    ks = np.arange(-lag, lag + 1)
    at = starts[None, :] + ks[:, None]  # (lags, windows): clinician window starts
    sy = cy[:, at + win] - cy[:, at]  # (rows, lags, windows)
    vy = cyy[:, at + win] - cyy[:, at] - sy * sy / win
    bady = cny[:, at + win] - cny[:, at] > 0
    m = n - 2 * lag
    prod = sliding_window_view(yz, m, axis=1) * xz[lag : n - lag]  # (rows, lags, m)
    if win % inc == 0:  # windows are runs of whole inc-blocks: sum blocks, then runs
        nb = m // inc
        cb = _csum0(prod[..., : nb * inc].reshape(prod.shape[:2] + (nb, inc)).sum(axis=-1))
        j = np.arange(n_win)
        sxy = cb[..., j + win // inc] - cb[..., j]
    else:
        cp = _csum0(prod)
        sxy = cp[..., starts - lag + win] - cp[..., starts - lag]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (sxy - sx * sy / win) / np.sqrt(vx * vy)
    bad = badx | bady | (vx <= 1e-18 * win) | (vy <= 1e-18 * win)
    bad |= constant_windows(x, starts, win)[None, None, :] | constant_windows(ys, at, win)
    out = np.where(bad, np.nan, np.clip(r, -1.0, 1.0))
    return np.ascontiguousarray(out.transpose(0, 2, 1))


def _zsums(prof: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the Fisher z over the complete windows, and their number, per row and lag of
    ``(rows, windows, lags)`` profiles."""
    z = np.arctanh(np.clip(prof, -_Z_CLIP, _Z_CLIP))
    ok = np.isfinite(z)
    return np.where(ok, z, 0.0).sum(axis=1), ok.sum(axis=1)


def _stats(zsum: np.ndarray, cnt: np.ndarray, lag: int) -> tuple[np.ndarray, ...]:
    """Average Fisher-z profile, its peak and its asymmetry from :func:`_zsums`."""
    with np.errstate(invalid="ignore", divide="ignore"):
        zbar = zsum / cnt
    strength = np.max(zbar, axis=1)
    asym = zbar[:, lag + 1 :].mean(axis=1) - zbar[:, :lag].mean(axis=1)
    return zbar, strength, asym


def _summaries(prof: np.ndarray, lag: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average Fisher-z profile, its peak and its asymmetry per row of ``(rows, win, lags)``."""
    return _stats(*_zsums(prof), lag)


def _peak_lag(zbar: np.ndarray, lags_s: np.ndarray) -> float:
    k = int(np.argmax(zbar))
    if 0 < k < zbar.size - 1:
        a, b, c = zbar[k - 1], zbar[k], zbar[k + 1]
        den = a - 2 * b + c
        off = 0.5 * (a - c) / den if den < 0 else 0.0
        return float(lags_s[k] + off * (lags_s[1] - lags_s[0]))
    return float(lags_s[k])


def _window_lags(prof: np.ndarray, lags_s: np.ndarray) -> np.ndarray:
    """Peak lag (s) of each window whose peak is clear (>= 0.3, not at the lag limit)."""
    valid = np.isfinite(prof).all(axis=1)
    p = prof[valid]
    if p.shape[0] == 0:
        return np.empty(0)
    k = np.argmax(p, axis=1)
    clear = (p.max(axis=1) >= PEAK_THRESHOLD) & (k > 0) & (k < lags_s.size - 1)
    return lags_s[k[clear]]


def _decide(
    obs: np.ndarray,
    null: tuple[np.ndarray, np.ndarray],
    lag: int,
    fs: float,
    min_windows: int,
) -> LeadTest:
    """The lead statement from observed ``(windows, lags)`` profiles and the null's
    :func:`_zsums` over the same windows."""
    n_ok = int(np.isfinite(obs).all(axis=1).sum())
    if n_ok < min_windows:
        return _not_enough(n_ok)
    lags_s = np.arange(-lag, lag + 1) / fs
    zo, so, ao = _summaries(obs[None], lag)
    _, sn, an = _stats(*null, lag)
    sn, an = sn[np.isfinite(sn)], an[np.isfinite(an)]
    s_obs, a_obs = float(so[0]), float(ao[0])
    if sn.size < 19 or an.size < 19 or not (math.isfinite(s_obs) and math.isfinite(a_obs)):
        return _not_enough(n_ok)
    p_s = (1.0 + float((sn >= s_obs).sum())) / (1.0 + sn.size)
    hi = (1.0 + float((an >= a_obs).sum())) / (1.0 + an.size)
    lo = (1.0 + float((an <= a_obs).sum())) / (1.0 + an.size)
    p_a = min(1.0, 2.0 * min(hi, lo))
    p = max(p_s, p_a)
    wl = _window_lags(obs, lags_s)
    q1, q3 = (float(v) for v in np.percentile(wl, [25, 75])) if wl.size >= 3 else (math.nan,) * 2
    peak = _peak_lag(zo[0], lags_s)
    leader = Leader.NONE
    if p < ALPHA and abs(peak) >= 0.5 / fs and np.sign(peak) == np.sign(a_obs):
        leader = Leader.PATIENT if peak > 0 else Leader.CLINICIAN
    named = leader is not Leader.NONE
    return LeadTest(
        status=StatementStatus.TESTED,
        leader=leader,
        lag_s=peak if named else math.nan,
        lag_q1_s=q1 if named else math.nan,
        lag_q3_s=q3 if named else math.nan,
        n_windows=n_ok,
        n_peak_windows=int(wl.size),
        strength=s_obs,
        p_strength=p_s,
        asymmetry=a_obs,
        p_asymmetry=p_a,
        p=p,
        n_surrogates=int(min(sn.size, an.size)),
    )


def lead_tests(
    x: np.ndarray,
    y: np.ndarray,
    fs: float,
    groups: dict[str, list[tuple[float, float]] | None],
    win_s: float = 30.0,
    lag_s: float = 5.0,
    inc_s: float = 5.0,
    n_surrogates: int = 200,
    min_shift_s: float = 60.0,
    min_windows: int = 6,
    rng: np.random.Generator | int | None = 0,
    y_pool: np.ndarray | None = None,
    extent_s: float = 0.0,
    min_span_s: float = 0.0,
    stop_early: bool = False,
    null_source: NullSource | None = None,
    observed: np.ndarray | None = None,
) -> dict[str, LeadTest]:
    """:func:`lead_test` for several groups of windows sharing one set of surrogates.

    Parameters
    ----------
    groups : dict of name -> list of (start_s, end_s) or None
        Spans in seconds after ``x[0]``; a group uses the windows whose data (``x`` window,
        ``± lag_s``, plus ``extent_s``) lie inside one of its spans. None = every window.
    extent_s : float
        How far past its last value each value of ``x`` / ``y`` reaches in the raw data (the
        slope window for slope signals), so that a window counts for a span only when all
        the raw samples behind it are inside.
    min_span_s : float
        The shifts ``[min_shift_s, len(pool) - min_shift_s]`` must spread over at least this
        long, else NOT_ENOUGH_DATA: shifts from a narrow range are nearly the same pairing
        (on independent simulated dyads, 30 s of spread gave p < 0.05 in 20 % of them).
    stop_early : bool
        With one group of every window: stop drawing surrogates once so many reach the
        observed strength that the full set could not give p <= 0.05 (sequential Monte Carlo,
        Besag & Clifford 1991). Every decision (coupled, leader) is that of the full test;
        the p of a stopped test comes from the surrogates drawn (at least 25) and is above
        0.05. Used where a test is repeated many times and only its decisions are kept.
    null_source : callable, optional
        With one group of every window: ``null_source(shifts, first_row) -> (zsum, count)``,
        each ``(len(shifts), 2 * lag + 1)``: per lag, the sum of the Fisher z (r clipped to
        ±0.999) over the complete windows of ``x`` against the pool shifted by ``shifts``
        (samples; ``pool[(tail - shift) % len(pool)]`` as here), and their number, from sums
        computed once for many tests (:class:`dsp.concordance.shifts.ShiftTable`). The same
        shifts are drawn either way.
    observed : numpy.ndarray, optional
        With ``null_source``: the observed ``(windows, 2 * lag + 1)`` profiles of ``x``
        against ``y`` from the same precomputed table (:meth:`ShiftTable.profiles
        <dsp.concordance.shifts.ShiftTable.profiles>`; the same r, rounded differently by
        about 1e-15) instead of :func:`lag_profiles`.

    Other parameters as :func:`lead_test`.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x (patient) and y (clinician) must be 1-D arrays of equal length")
    win = _as_samples(win_s, fs, "win_s")
    lag = _as_samples(lag_s, fs, "lag_s")
    inc = _as_samples(inc_s, fs, "inc_s")
    if lag < 1 or win < 2 * lag:
        raise ValueError("need lag_s >= one sample and win_s >= 2 * lag_s")
    pool = y if y_pool is None else np.asarray(y_pool, dtype=float)
    min_shift = _as_samples(min_shift_s, fs, "min_shift_s")
    span = int(round(min_span_s * fs))
    if observed is not None and null_source is None:
        raise ValueError("observed profiles come with a null_source")
    obs = lag_profiles(x, y, win, lag, inc)[0] if observed is None else observed
    if obs.shape[0] == 0 or pool.size < 2 * min_shift + span + 1 or n_surrogates < 19:
        return {g: _not_enough(int(np.isfinite(obs).all(axis=1).sum())) for g in groups}
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    shifts = random_shifts(pool.size, n_surrogates, min_shift, gen)
    stop_at = math.nan
    if stop_early and all(v is None for v in groups.values()):
        stop_at = float(_summaries(obs[None], lag)[1][0])
    if null_source is not None:
        if any(v is not None for v in groups.values()):
            raise ValueError("null_source serves tests of every window only")
        null = _null_profiles(null_source, shifts, x.size, lag, stop_at)
        return {g: _decide(obs, null, lag, fs, min_windows) for g in groups}
    first = np.arange(obs.shape[0]) * inc / fs  # first x value of each window, minus lag
    last = first + (win + 2 * lag - 1) / fs + extent_s
    keeps = {}
    for name, spans in groups.items():
        keeps[name] = (
            np.ones(first.size, dtype=bool) if spans is None else np.zeros(first.size, dtype=bool)
        )
        for a, b in spans or ():
            keeps[name] |= (first >= a - 1e-9) & (last < b - 1e-9)
    if pool.size == y.size and x.size >= _FFT_MIN and not math.isfinite(stop_at):
        sums = circular_zsums(x, pool, win, lag, inc, shifts, list(keeps.values()))  # pool is y
        return {
            g: _decide(obs[k], s, lag, fs, min_windows)
            for (g, k), s in zip(keeps.items(), sums, strict=True)
        }
    tail = np.arange(pool.size - y.size, pool.size)
    ys = pool[(tail[None, :] - shifts[:, None]) % pool.size]

    def rows(d: np.ndarray, a: int = 0) -> np.ndarray:
        return lag_profiles(x, ys[a : a + d.size], win, lag, inc)

    null_prof = _null_profiles(rows, shifts, x.size, lag, stop_at)
    return {
        g: _decide(obs[k], _zsums(null_prof[:, k]), lag, fs, min_windows) for g, k in keeps.items()
    }


def _null_profiles(source: Callable[..., Any], shifts: np.ndarray, n_x: int, lag: int,
                   stop_at: float) -> Any:  # fmt: skip
    """The surrogates' lag profiles (``source(shifts[a:b], a)``) in memory-bounded chunks.

    With a finite ``stop_at`` (the observed strength), a first chunk of 25 rows, and no more
    chunks once ``(1 + #(strength >= stop_at)) / (1 + len(shifts)) > ALPHA``. ``n_x``: length
    of the patient series (sets the chunk size). A source gives ``(rows, windows, lags)``
    profiles, or (a :data:`NullSource`) their :func:`_zsums`; the chunks are joined alike.
    """
    n = shifts.size
    rows = max(1, _CHUNK_VALUES // ((2 * lag + 1) * n_x))  # bounded temporary memory
    bounds = [0, min(_FIRST_CHUNK, n)] if math.isfinite(stop_at) else [0]
    while bounds[-1] < n:
        bounds.append(min(bounds[-1] + rows, n))
    parts, beat = [], 0
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        parts.append(source(shifts[a:b], a))
        if math.isfinite(stop_at):
            sums = parts[-1] if isinstance(parts[-1], tuple) else _zsums(parts[-1])
            beat += int(np.sum(_stats(*sums, lag)[1] >= stop_at))
            if (1.0 + beat) / (1.0 + n) > ALPHA:
                break
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))
    return np.concatenate(parts)


def lead_test(
    x: np.ndarray,
    y: np.ndarray,
    fs: float,
    win_s: float = 30.0,
    lag_s: float = 5.0,
    inc_s: float = 5.0,
    n_surrogates: int = 200,
    min_shift_s: float = 60.0,
    min_windows: int = 6,
    rng: np.random.Generator | int | None = 0,
    y_pool: np.ndarray | None = None,
    min_span_s: float = 0.0,
    stop_early: bool = False,
    null_source: NullSource | None = None,
    observed: np.ndarray | None = None,
) -> LeadTest:
    """Test who leads between patient ``x`` and clinician ``y`` (see the module docstring).

    Parameters
    ----------
    x, y : numpy.ndarray
        Patient and clinician series at ``fs`` (slope signals: EDA 5 s slopes, HR 1 s slopes).
    win_s, lag_s, inc_s : float
        Window, maximum lag and increment (s).
    n_surrogates : int
        Circular shifts of the clinician's series, each by at least ``min_shift_s``.
    min_windows : int
        Fewer complete windows -> NOT_ENOUGH_DATA.
    rng : Generator, int or None
        Random source of the shifts.
    y_pool : numpy.ndarray, optional
        Longer clinician series whose **last** ``len(y)`` samples are ``y`` (live use: the
        whole session so far). Surrogates then shift the whole pool circularly and take its
        last ``len(y)`` samples, so a short recent window still gets a full-session null.
    min_span_s : float
        Smallest spread of the possible shifts (s; see :func:`lead_tests`).
    stop_early : bool
        Stop drawing shifts once p <= 0.05 is out of reach (see :func:`lead_tests`).
    null_source : callable, optional
        Precomputed surrogate profiles (see :func:`lead_tests`).
    observed : numpy.ndarray, optional
        Precomputed observed profiles (see :func:`lead_tests`).

    Returns
    -------
    LeadTest
    """
    return lead_tests(
        x, y, fs, {"": None}, win_s, lag_s, inc_s, n_surrogates, min_shift_s, min_windows,
        rng, y_pool, min_span_s=min_span_s, stop_early=stop_early, null_source=null_source,
        observed=observed,
    )[""]  # fmt: skip
