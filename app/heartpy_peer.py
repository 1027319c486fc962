"""heartpy as an independent, offline peer estimate (never in the live path).

heartpy 1.2.7 (the last release, 2021) imports ``pkg_resources`` at import time (removed from
setuptools >= 81; the project pins ``setuptools<81``) and calls ``np.trapz`` (removed in
numpy 2.4) when its frequency analysis is on. This module therefore

* imports heartpy lazily, inside ``try``, once, and remembers why it failed;
* only calls ``heartpy.process`` with ``calc_freq=False`` (time domain only, no ``np.trapz``);
* catches every exception heartpy raises and returns a result marked unavailable, so a review
  screen or report can show "heartpy: n/a (reason)" beside our numbers instead of crashing.

What it is used for: :func:`app.analysis.analyze_file` runs it on each person's PPG
(:class:`PeerCheck`), and the review window and the report show heartpy's HR and RMSSD next to
ours over the same stretch as a second opinion; the peer tests compare beat accuracy against
it. A heartpy failure only makes that column read "n/a (reason)".
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

__all__ = [
    "MAX_SPAN_S",
    "HeartpyEstimate",
    "PeerCheck",
    "heartpy_ppg_estimate",
    "heartpy_status",
    "longest_span",
]

_STATE: dict[str, object] = {}


def _import_heartpy() -> ModuleType:
    # heartpy 1.2.7 imports pkg_resources, whose deprecation warning would reach every user of
    # `attune analyze`; it says nothing about our data, so it is silenced for this import only.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="pkg_resources is deprecated", category=UserWarning
        )
        import heartpy  # noqa: PLC0415  (lazy on purpose)

    return heartpy


def _heartpy() -> tuple[ModuleType | None, str]:
    if "module" not in _STATE:
        try:
            _STATE["module"] = _import_heartpy()
            _STATE["error"] = ""
        except Exception as exc:  # ImportError, pkg_resources errors, anything at import
            _STATE["module"] = None
            _STATE["error"] = f"heartpy unavailable: {type(exc).__name__}: {exc}"
    return _STATE["module"], str(_STATE["error"])  # type: ignore[return-value]


def heartpy_status() -> tuple[bool, str]:
    """(True, version) if heartpy imports, else (False, reason)."""
    mod, err = _heartpy()
    if mod is None:
        return False, err
    return True, str(getattr(mod, "__version__", "unknown version"))


@dataclass(frozen=True)
class HeartpyEstimate:
    """heartpy's time-domain estimate of one PPG segment.

    Attributes
    ----------
    available : bool
        False when heartpy could not be imported or failed on this signal (``error`` says why);
        then every number is NaN and the arrays are empty.
    bpm, rmssd_ms, sdnn_ms : float
        heartpy's ``bpm``, ``rmssd``, ``sdnn`` (its own peak rejection applied).
    peaks_s : ndarray
        Accepted peak times (s from the first sample).
    rejected_s : ndarray
        Peaks heartpy rejected (s).
    """

    available: bool
    error: str = ""
    bpm: float = float("nan")
    rmssd_ms: float = float("nan")
    sdnn_ms: float = float("nan")
    peaks_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rejected_s: np.ndarray = field(default_factory=lambda: np.zeros(0))


def heartpy_ppg_estimate(
    signal: np.ndarray, fs: float, windowsize: float = 0.75
) -> HeartpyEstimate:
    """Run ``heartpy.process`` (time domain only) on a PPG segment; never raises.

    Parameters
    ----------
    signal : ndarray
        Raw PPG samples; NaN samples are replaced by linear interpolation (heartpy cannot
        handle NaN), and the result is marked unavailable if more than 20 % are NaN.
    fs : float
        Sampling rate in Hz.
    windowsize : float
        heartpy's moving-average window (s).
    """
    mod, err = _heartpy()
    if mod is None:
        return HeartpyEstimate(False, err)
    try:
        x = np.asarray(signal, dtype=float).ravel()
        fs = float(fs)
        if not fs > 0 or x.size < 3 * fs:
            return HeartpyEstimate(False, "signal too short or invalid fs")
        bad = ~np.isfinite(x)
        if bad.mean() > 0.2:
            return HeartpyEstimate(False, "more than 20 % missing samples")
        if bad.any():
            idx = np.arange(x.size)
            x = np.interp(idx, idx[~bad], x[~bad])
        wd, m = mod.process(x, fs, windowsize=windowsize, calc_freq=False)
        peaks = np.asarray(wd["peaklist"], dtype=float)
        ok = np.asarray(wd["binary_peaklist"], dtype=bool)
        return HeartpyEstimate(
            available=True,
            bpm=float(m.get("bpm", np.nan)),
            rmssd_ms=float(m.get("rmssd", np.nan)),
            sdnn_ms=float(m.get("sdnn", np.nan)),
            peaks_s=peaks[ok] / fs,
            rejected_s=peaks[~ok] / fs,
        )
    except Exception as exc:  # heartpy raises BadSignalWarning and others on poor signals
        return HeartpyEstimate(False, f"heartpy failed: {type(exc).__name__}: {exc}")


MAX_SPAN_S = 600.0
"""heartpy is run on at most this much PPG (s): it takes ~2 s per 10 min of 128 Hz signal."""


@dataclass(frozen=True)
class PeerCheck:
    """heartpy's second opinion on one person's PPG, and ours over exactly the same span.

    Attributes
    ----------
    role : str
        'patient' or 'clinician'.
    t0, t1 : float
        The span heartpy saw (s, LSL clock): the longest stretch of the recording without a
        timestamp gap, capped at :data:`MAX_SPAN_S` (heartpy assumes uniform sampling).
        NaN when heartpy did not run.
    estimate : HeartpyEstimate
        heartpy's HR, RMSSD and SDNN (``available`` False with the reason otherwise).
    our_hr_bpm, our_rmssd_ms : float
        This app's mean HR and RMSSD over ``[t0, t1)`` (NaN when heartpy did not run).
    """

    role: str
    t0: float
    t1: float
    estimate: HeartpyEstimate
    our_hr_bpm: float = float("nan")
    our_rmssd_ms: float = float("nan")


def longest_span(t: np.ndarray, max_gap_s: float, max_s: float = MAX_SPAN_S) -> tuple[int, int]:
    """Index range ``[i0, i1)`` of the longest run of ``t`` (s) without a step above
    ``max_gap_s``, cut to its first ``max_s`` seconds ((0, 0) for an empty ``t``)."""
    t = np.asarray(t, dtype=float)
    if t.size == 0:
        return 0, 0
    d = np.diff(t)
    cut = np.flatnonzero((d > max_gap_s) | (d < 0) | ~np.isfinite(d)) + 1
    bounds = np.concatenate([[0], cut, [t.size]])
    k = int(np.argmax(np.diff(bounds)))
    i0, i1 = int(bounds[k]), int(bounds[k + 1])
    i1 = min(i1, i0 + int(np.searchsorted(t[i0:i1], t[i0] + max_s)))
    return i0, i1
