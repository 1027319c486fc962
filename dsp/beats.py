"""Per-person beat steps shared by the live (:mod:`dsp.person`) and offline (:mod:`dsp.session`)
pipelines: IBI exclusion, artifact correction anchored to the detected beats, and the IBI series.

Both pipelines call :func:`beat_series` on the same inputs, so the beats CSV, the 4 Hz HR grid,
the live view and the offline analysis use one definition.

Time conventions
----------------
* ``beat_s`` are beat positions on the stream's *sample clock* in seconds (sample position /
  fs, a NaN-filled gap advancing it like real time). IBIs are differences of ``beat_s``, so
  timestamp jitter never reaches HRV.
* ``beat_t`` are the same beats on the LSL clock (s); outputs are placed on it.

Correction anchored to detection
--------------------------------
Each unbroken run of usable IBIs is classified by Lipponen & Tarvainen (2019)
(:func:`dsp.hrv.ibi_classify`). Their thresholds adapt to the spread of the last 91 beats, but
a healthy, young heart's own large successive differences (respiratory sinus arrhythmia, vagal
pauses, alternation) still cross them: on pyhrv's real 20-min NN series they flag 1.9 % of the
intervals, and correcting those took 8 % off its RMSSD. So a flag is only acted on when an
artifact explains it and sinus rhythm does not. A correction only edits the beats it has to:

* *extra* beat (a short interval split in two): that beat is removed;
* *missed* beat (an interval of about ``k`` median intervals, at least
  :data:`MISSED_MIN_RATIO`): ``k - 1`` beats are inserted at equal spacing between its two
  detected beats; a shorter flagged "missed" interval is a real long interval and kept;
* *ectopic* and *long/short* intervals are misplaced beats: each flagged interval is paired
  with the neighbouring interval that deviates most in the opposite direction from the local
  median; premature beats the adaptive thresholds miss are added
  (:func:`dsp.ibi_artifacts.ibi_misplaced`). Of these, only a beat whose misplacement
  (:func:`dsp.ibi_artifacts.ibi_misplacement_z`) is at least :data:`MISPLACED_MIN_Z` local
  units, whose two intervals keep their sum and straddle their neighbours (the early one
  shorter than the one before it, the late one longer than the one after it, by
  :data:`STRADDLE_MARGIN` of the misplacement) moves, to where the clean intervals around it
  put it (the two intervals keep their total duration); of two adjacent such beats only the
  one misplaced more (an early beat's misplacement weighted by :data:`EARLY_WEIGHT`). A
  flagged interval without such a partner is real and kept, unless it is outside
  ``[SINUS_MIN_RATIO, MISSED_MIN_RATIO]`` local medians (a premature beat that reset the
  rhythm, a pause of several missed beats): then it is excluded (NaN), never made up.

Every other beat keeps its detected time exactly, and ``corrected`` marks exactly the moved
and inserted beats (removed beats are reported with their detected IBI as excluded,
``'extra beat removed'``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from dsp.filters import nan_segments, true_runs
from dsp.ibi_artifacts import (
    ARTIFACT_CLASSES,
    EARLY_WEIGHT,
    MISPLACED_MIN_Z,
    MISSED_MIN_RATIO,
    SINUS_MAX_SD,
    SINUS_MIN_RATIO,
    STRADDLE_MARGIN,
    SUM_KEPT_MAX,
    Gates,
    IbiCorrection,
    ibi_classify,
    ibi_misplaced,
    ibi_misplacement_z,
)

__all__ = [
    "DEVICE_BEAT_CLOCK_HZ",
    "BeatSeries",
    "IbiExclusion",
    "beat_series",
    "device_beat_series",
    "finite_runs",
    "ibi_correct",
    "ibi_exclusion",
]

finite_runs = nan_segments
"""Half-open ``(start, stop)`` ranges of the finite runs of an array (one idiom everywhere)."""


class IbiExclusion(StrEnum):
    """Why a detected IBI is not used (the text goes to the beats CSV)."""

    QUALITY = "bad signal quality"
    RANGE = "out of range"
    EXTRA = "extra beat removed"
    UNCORRECTABLE = "artifact without a usable neighbour"


def ibi_exclusion(
    ibi_ms: np.ndarray, quality_ok: np.ndarray, min_ibi_ms: float, max_ibi_ms: float
) -> tuple[np.ndarray, tuple[IbiExclusion | None, ...]]:
    """Usable IBIs: inside the quality-good windows and within ``(min_ibi_ms, max_ibi_ms)``.

    Parameters
    ----------
    ibi_ms : ndarray
        Detected IBIs (ms).
    quality_ok : ndarray of bool
        False where the IBI touches a bad quality window (or crosses a gap).
    min_ibi_ms, max_ibi_ms : float
        Plausible IBI range (ms), exclusive.

    Returns
    -------
    usable : ndarray of bool
    reasons : tuple
        :class:`IbiExclusion` per IBI (quality before range), None where usable.
    """
    ibi = np.asarray(ibi_ms, dtype=float)
    q = np.asarray(quality_ok, dtype=bool)
    if ibi.shape != q.shape:
        raise ValueError("ibi_ms and quality_ok differ in length")
    if not min_ibi_ms < max_ibi_ms:
        raise ValueError("min_ibi_ms must be below max_ibi_ms")
    with np.errstate(invalid="ignore"):
        in_range = (ibi > min_ibi_ms) & (ibi < max_ibi_ms)
    usable = q & in_range
    reasons: list[IbiExclusion | None] = [None] * ibi.size
    for i in np.flatnonzero(~usable).tolist():
        reasons[i] = IbiExclusion.QUALITY if not q[i] else IbiExclusion.RANGE
    return usable, tuple(reasons)


@dataclass(frozen=True, eq=False)
class BeatSeries:
    """Corrected IBIs of one person and what the correction did (times s on the LSL clock).

    Attributes
    ----------
    ibi_t, ibi_ms : ndarray
        Used IBIs (ms) at their closing beat's time; every unbroken run is preceded by one NaN
        IBI placed 1 µs before its first IBI (so nothing is interpolated between runs, also
        when a live caller joins a stored head to a re-corrected tail).
    ibi_corrected : ndarray of bool
        True where the closing beat was moved or inserted by the correction.
    ibi_artifact : tuple of str
        Artifact class of that beat ('' when untouched).
    beat_t : ndarray
        All beats after correction (detected beats minus removed ones plus inserted ones), s.
    beat_corrected : ndarray of bool
        True for moved and inserted beats.
    excluded_t, excluded_ms : ndarray
        Detected IBIs not used (closing beat time s, IBI ms) and ``excluded_reason``.
    excluded_reason : tuple of str
        :class:`IbiExclusion` values.
    changed_t : dict
        Artifact class -> times (s) of the beats it moved, inserted (``missed``) or removed
        (``extra``).
    """

    ibi_t: np.ndarray
    ibi_ms: np.ndarray
    ibi_corrected: np.ndarray
    ibi_artifact: tuple[str, ...]
    beat_t: np.ndarray
    beat_corrected: np.ndarray
    excluded_t: np.ndarray
    excluded_ms: np.ndarray
    excluded_reason: tuple[str, ...]
    changed_t: dict

    @property
    def counts(self) -> dict[str, int]:
        """Changed beats per artifact class and excluded IBIs per reason."""
        out = {k: int(self.changed_t[k].size) for k in ARTIFACT_CLASSES}
        for r in (IbiExclusion.QUALITY, IbiExclusion.RANGE):
            out[str(r)] = sum(1 for x in self.excluded_reason if x == r)
        return out


@dataclass
class _RunEdit:
    """Edits of one run in local beat indices (beat k closes interval k - 1)."""

    moved: dict[int, tuple[float, str]]  # beat -> (new position s, class)
    inserted: dict[int, list[float]]  # beat after which to insert -> positions s
    removed: set[int]
    dropped: set[int]  # intervals excluded as uncorrectable


def _edit_run(s: np.ndarray, classify: dict | None = None, gates: Gates | None = None) -> _RunEdit:
    """Anchored correction of one run of beat positions ``s`` (s; len >= 2); ``classify``:
    keyword arguments of :func:`dsp.hrv.ibi_classify` (its defaults when None); ``gates``:
    the module's gates when None."""
    g = gates or Gates()
    rr = np.diff(s) * 1000.0
    edit = _RunEdit({}, {}, set(), set())
    fl = ibi_classify(rr, **(classify or {}))
    med = fl.median_ms
    n = rr.size
    blocked = np.zeros(n, dtype=bool)
    for j in fl.extra:
        edit.removed.add(int(j) + 1)
        blocked[j] = True
        if j + 1 < n:
            blocked[j + 1] = True
    for j in fl.missed:
        if rr[j] < g.missed_min_ratio * med[j]:
            continue  # a real long interval (vagal pause), not two beats
        k = max(2, int(round(rr[j] / med[j]))) if med[j] > 0 else 2
        edit.inserted[int(j)] = [s[j] + (s[j + 1] - s[j]) * q / k for q in range(1, k)]
        blocked[j] = True
    bad, cls, drop = ibi_misplaced(rr, fl, blocked, g, *ibi_misplacement_z(rr))
    edit.dropped.update(drop)
    clean = np.flatnonzero(~bad & ~blocked)
    for a, b in finite_runs(np.where(bad, 1.0, np.nan)):
        if clean.size < 2:
            edit.dropped.update(range(a, b))
            continue
        want = np.interp(np.arange(a, b), clean, rr[clean])
        pos = s[a] + np.cumsum(want)[:-1] / want.sum() * (s[b] - s[a])
        name = "ectopic" if "ectopic" in cls[a:b] else "longshort"
        for q, p in enumerate(pos):
            edit.moved[a + 1 + q] = (float(p), name)
    return edit


def _run_rows(
    s: np.ndarray, t: np.ndarray, edit: _RunEdit, changed: dict[str, list[float]], ex: list
) -> tuple[list[tuple[float, float, bool, str]], list[tuple[float, bool]]]:
    """IBI rows and beats of one run with edits (``s``/``t``: its detected beats)."""
    m = s.size - 1
    rr = np.diff(s) * 1000.0
    seq: list[tuple[float, float, bool, str, int]] = []  # (s, t, changed, class, detected k)
    for k in range(m + 1):
        if k in edit.removed:
            changed["extra"].append(float(t[k]))
            ex.append((float(t[k]), float(rr[k - 1]), str(IbiExclusion.EXTRA)))
            continue
        if k in edit.moved:
            p, name = edit.moved[k]
            tt = float(np.interp(p, s, t))
            changed[name].append(tt)
            seq.append((p, tt, True, name, k))
        else:
            seq.append((float(s[k]), float(t[k]), False, "", k))
        for p in edit.inserted.get(k, ()):
            tt = float(np.interp(p, s, t))
            changed["missed"].append(tt)
            seq.append((p, tt, True, "missed", -1))
    rows: list[tuple[float, float, bool, str]] = []
    for (p0, _, _, _, k0), (p1, t1, c1, a1, k1) in zip(seq[:-1], seq[1:], strict=True):
        if k1 == k0 + 1 and k0 in edit.dropped:
            ex.append((t1, float(rr[k0]), str(IbiExclusion.UNCORRECTABLE)))
            rows.append((t1, np.nan, False, ""))
            continue
        rows.append((t1, (p1 - p0) * 1000.0, c1, a1))
    return rows, [(tt, c) for _, tt, c, _, _ in seq]


def _run_arrays(
    sr: np.ndarray, tr: np.ndarray, changed: dict[str, list[float]], ex: list
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray, np.ndarray]:
    """IBI rows (t, ms, corrected, class) and beats (t, corrected) of one unbroken run."""
    edit = _edit_run(sr) if sr.size >= 5 else None
    if edit is None or not (edit.moved or edit.inserted or edit.removed or edit.dropped):
        rt = tr[1:]  # the usual case: nothing to change
        return (
            rt,
            np.diff(sr) * 1000.0,
            np.zeros(rt.size, bool),
            [""] * rt.size,
            tr,
            np.zeros(tr.size, bool),
        )
    rows, beats = _run_rows(sr, tr, edit, changed, ex)
    return (
        np.array([r[0] for r in rows], dtype=float),
        np.array([r[1] for r in rows], dtype=float),
        np.array([r[2] for r in rows], dtype=bool),
        [r[3] for r in rows],
        np.array([v for v, _ in beats], dtype=float),
        np.array([c for _, c in beats], dtype=bool),
    )


def beat_series(
    beat_s: np.ndarray,
    beat_t: np.ndarray,
    usable: np.ndarray,
    reasons: tuple[IbiExclusion | None, ...] | None = None,
) -> BeatSeries:
    """Correct each unbroken run of usable IBIs, keeping every other beat where it was detected.

    Parameters
    ----------
    beat_s : ndarray
        Detected beats on the sample clock (s, see module docstring), increasing.
    beat_t : ndarray
        The same beats on the LSL clock (s).
    usable : ndarray of bool
        One per IBI (``len(beat_s) - 1``): False for IBIs excluded before correction.
    reasons : tuple, optional
        Exclusion reason per IBI (from :func:`ibi_exclusion`), reported for unusable IBIs.

    Returns
    -------
    BeatSeries

    Raises
    ------
    ValueError
        For mismatched lengths or non-increasing beats.
    """
    s = np.asarray(beat_s, dtype=float)
    t = np.asarray(beat_t, dtype=float)
    ok = np.asarray(usable, dtype=bool)
    if s.shape != t.shape or ok.size != max(s.size - 1, 0):
        raise ValueError("beat_s, beat_t and usable (one per IBI) differ in length")
    if s.size > 1 and not np.all(np.diff(s) > 0):
        raise ValueError("beat positions must be strictly increasing")
    if reasons is None:
        reasons = tuple(None if u else IbiExclusion.QUALITY for u in ok.tolist())
    ibi_raw = np.diff(s) * 1000.0
    ex: list[tuple[float, float, str]] = []
    for i in np.flatnonzero(~ok).tolist():
        if reasons[i] is not None:
            ex.append((float(t[i + 1]), float(ibi_raw[i]), str(reasons[i])))
    changed: dict[str, list[float]] = {k: [] for k in ARTIFACT_CLASSES}
    p_t: list[np.ndarray] = []
    p_v: list[np.ndarray] = []
    p_c: list[np.ndarray] = []
    arts: list[str] = []
    b_t: list[np.ndarray] = []
    b_c: list[np.ndarray] = []
    covered = np.zeros(s.size, dtype=bool)
    for a, b in finite_runs(np.where(ok, 1.0, np.nan)):
        covered[a : b + 1] = True
        rt, rv, rc, ra, bt, bc = _run_arrays(s[a : b + 1], t[a : b + 1], changed, ex)
        if rt.size:  # a NaN before every run: interpolation never bridges two runs
            p_t += [np.array([rt[0] - 1e-6]), rt]
            p_v += [np.array([np.nan]), rv]
            p_c += [np.zeros(1, dtype=bool), rc]
            arts += ["", *ra]
        b_t.append(bt)
        b_c.append(bc)
    b_t.append(t[~covered])
    b_c.append(np.zeros(int((~covered).sum()), dtype=bool))
    beat_t = np.concatenate(b_t)
    order = np.argsort(beat_t, kind="stable")
    ex.sort()
    cat = lambda parts, dt=float: np.concatenate(parts) if parts else np.zeros(0, dtype=dt)  # noqa: E731
    return BeatSeries(
        ibi_t=cat(p_t),
        ibi_ms=cat(p_v),
        ibi_corrected=cat(p_c, bool),
        ibi_artifact=tuple(arts),
        beat_t=beat_t[order],
        beat_corrected=np.concatenate(b_c)[order],
        excluded_t=np.array([e[0] for e in ex], dtype=float),
        excluded_ms=np.array([e[1] for e in ex], dtype=float),
        excluded_reason=tuple(e[2] for e in ex),
        changed_t={k: np.asarray(sorted(v), dtype=float) for k, v in changed.items()},
    )


def _run_flags(edit: _RunEdit, a: int, out: dict[str, list[int]]) -> None:
    """Input indices (run offset ``a``) of the intervals an edit changed, per class."""
    for k, (_, name) in edit.moved.items():
        out[name] += [a + k - 1, a + k]
    out["missed"] += [a + j for j in edit.inserted]
    out["extra"] += [a + k - 1 for k in edit.removed]
    out["longshort"] += [a + i for i in edit.dropped]


def ibi_correct(
    ibi_ms: np.ndarray,
    alpha: float = 5.2,
    c1: float = 0.13,
    c2: float = 0.17,
    window_beats: int = 91,
    median_beats: int = 11,
    missed_min_ratio: float = MISSED_MIN_RATIO,
    sinus_min_ratio: float = SINUS_MIN_RATIO,
    misplaced_min_z: float = MISPLACED_MIN_Z,
    sum_kept_max: float = SUM_KEPT_MAX,
    sinus_max_sd: float = SINUS_MAX_SD,
    early_weight: float = EARLY_WEIGHT,
    straddle_margin: float = STRADDLE_MARGIN,
) -> IbiCorrection:
    """Correct an IBI series exactly as :func:`beat_series` corrects beats (module docstring).

    Parameters
    ----------
    ibi_ms : ndarray
        Interbeat intervals in ms; NaN entries split the series into runs processed
        independently (and are kept, as NaN, in the output).
    alpha, c1, c2, window_beats, median_beats
        Lipponen-Tarvainen classification (:func:`dsp.hrv.ibi_classify`).
    missed_min_ratio, sinus_min_ratio, misplaced_min_z, sum_kept_max, sinus_max_sd, \
    early_weight, straddle_margin
        The gates (:class:`dsp.ibi_artifacts.Gates`, defaults its module constants), stated
        here so that exports record them. The live and offline pipelines use the defaults.

    Returns
    -------
    IbiCorrection
        Corrected IBIs (a moved beat changes its two intervals and keeps their sum; a missed
        beat splits one interval; an extra beat merges two; an uncorrectable interval becomes
        NaN) and the input indices of the intervals each class changed (excluded intervals
        under ``longshort``). Runs shorter than 4 intervals are passed through unchanged.

    Raises
    ------
    ValueError
        If the input is not 1-D or contains non-positive finite values.
    """
    x = np.asarray(ibi_ms, dtype=float)
    if x.ndim != 1:
        raise ValueError("ibi_ms must be 1-D")
    finite = np.isfinite(x)
    if np.any(x[finite] <= 0):
        raise ValueError("IBIs must be positive (ms)")
    classify = {"alpha": alpha, "c1": c1, "c2": c2, "window_beats": window_beats}
    classify["median_beats"] = median_beats
    flags: dict[str, list[int]] = {k: [] for k in ARTIFACT_CLASSES}
    pieces: list[np.ndarray] = []
    pos = 0
    gates = Gates(
        missed_min_ratio, sinus_min_ratio, misplaced_min_z, sum_kept_max, sinus_max_sd,
        early_weight, straddle_margin,
    )  # fmt: skip
    for a, b in true_runs(finite):
        pieces.append(np.full(a - pos, np.nan))
        rr = x[a:b]
        edit = None
        if rr.size >= 4:
            sr = np.concatenate([[0.0], np.cumsum(rr)]) / 1000.0
            edit = _edit_run(sr, classify, gates)
        if edit is None or not (edit.moved or edit.inserted or edit.removed or edit.dropped):
            pieces.append(rr.copy())
        else:
            rows, _ = _run_rows(sr, sr, edit, {k: [] for k in ARTIFACT_CLASSES}, [])
            pieces.append(np.array([r[1] for r in rows], dtype=float))
            _run_flags(edit, a, flags)
        pos = b
    pieces.append(np.full(x.size - pos, np.nan))
    arr = {k: np.asarray(sorted(set(v)), dtype=int) for k, v in flags.items()}
    return IbiCorrection(
        ibi_ms=np.concatenate(pieces),
        ectopic=arr["ectopic"],
        missed=arr["missed"],
        extra=arr["extra"],
        longshort=arr["longshort"],
        n_input=int(x.size),
    )


DEVICE_BEAT_CLOCK_HZ = 1000.0
"""Position clock of device-reported beats (Hz): 1 ms, finer than BLE RR's 1/1024 s; the same
clock that live ``LivePerson.push_beats`` uses (``dsp.live_clock.BEAT_CLOCK_HZ`` is this value)."""


def device_beat_series(
    beat_t: np.ndarray, min_ibi_ms: float, max_ibi_ms: float
) -> tuple[np.ndarray, BeatSeries]:
    """Exclusion and correction of beats a device reported (E4 IBI, BLE RR), offline.

    The steps of ``LivePerson.push_beats``: non-finite beats and beats not after the previous
    one are dropped, positions are counted on the :data:`DEVICE_BEAT_CLOCK_HZ` clock (beats
    closer than one tick merge), every IBI is judged by :func:`ibi_exclusion` (the device
    judged its own beats: no waveform quality windows), then :func:`beat_series`.

    Parameters
    ----------
    beat_t : ndarray
        Beat times (s, LSL clock), e.g. from ``devices.intervals.IntervalBeats``.
    min_ibi_ms, max_ibi_ms : float
        Plausible IBI range (ms).

    Returns
    -------
    beats : ndarray
        The beats kept (s), increasing.
    series : BeatSeries
    """
    t = np.asarray(beat_t, dtype=float).ravel()
    t = t[np.isfinite(t)]
    if t.size:
        t = t[t >= np.maximum.accumulate(t)]  # drop beats earlier than one before them
    pos = np.round((t - t[0]) * DEVICE_BEAT_CLOCK_HZ) if t.size else t
    keep = np.concatenate([[True], np.diff(pos) > 0]) if t.size else np.zeros(0, dtype=bool)
    t, pos = t[keep], pos[keep]
    ibi = np.diff(pos) / DEVICE_BEAT_CLOCK_HZ * 1000.0
    usable, why = ibi_exclusion(ibi, np.ones(ibi.size, dtype=bool), min_ibi_ms, max_ibi_ms)
    return t, beat_series(pos / DEVICE_BEAT_CLOCK_HZ, t, usable, why)
