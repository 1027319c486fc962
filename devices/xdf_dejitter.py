"""Segment-wise dejitter of XDF timestamps that keeps dropouts where they happened.

pyxdf's jitter removal (``pyxdf.load_xdf(dejitter_timestamps=True)``) fits one straight line
``t = a + b * i`` through the timestamps of each segment, sample index ``i`` against time, and
starts a new segment only where the stamps jump by more than
``max(1 s, 500 sample periods)``: 125 s at 4 Hz, 15.6 s at 32 Hz. A shorter dropout (samples
the device never delivered) therefore stays inside one segment, and the line, which counts
samples, closes it: the samples before the dropout move later and those after it earlier, by
up to half its length. On a simulated coupled dyad a single 5 s dropout of the clinician's EDA
spread the clinician's samples over +-2.5 s and widened the lead's IQR from 1.8-2.2 s to
0.5-3.0 s (issue 18).

:func:`dejitter_streams` is pyxdf's jitter removal (same breaks, same least-squares line per
segment, same effective rate and warning) with one more break: a **dropout**, a forward jump
of the stamps by more than :data:`DROPOUT_MIN_S` after which the samples stay displaced from
the line through the samples before it (samples were lost). Bursty stamps (a device that
sends its samples late in chunks, e.g. a Polar H10 over BLE: bursts of identical stamps) jump
too, but the samples after such a jump lie on the same line as those before, so they are
still dejittered as one segment.

Time in seconds on the clock of the loaded stamps (pyxdf's synchronised stamps).
"""

from __future__ import annotations

import bisect
import logging
from typing import Any

import numpy as np

__all__ = ["DROPOUT_MIN_S", "PYXDF_BREAK_S", "PYXDF_BREAK_SAMPLES", "dejitter_streams", "dropouts"]

#: pyxdf's default break thresholds (``jitter_break_threshold_seconds`` / ``_samples``).
PYXDF_BREAK_S = 1.0
PYXDF_BREAK_SAMPLES = 500
#: A forward jump of the stamps longer than this (s) may be a dropout (the dyad grid's gap
#: threshold, :attr:`dsp.params.MethodParams.max_gap_s`: shorter holes are bridged there).
DROPOUT_MIN_S = 1.0
#: Seconds of samples on each side of a jump through which the local lines are fitted.
_SIDE_S = 10.0

_log = logging.getLogger("pyxdf.pyxdf")  # pyxdf's own logger: its warnings reach the notes


def _step_at(t: np.ndarray, a: int, i: int, b: int, srate: float) -> float:
    """Step (s) of the stamps between samples ``i`` and ``i + 1``: the jump of a least-squares
    fit of ``t[a:b]`` by one line with a step there (a common slope for both sides); with
    fewer than 3 samples, the jump minus one nominal sample period."""
    if b - a < 3:
        return float(t[i + 1] - t[i]) - 1.0 / srate
    idx = np.arange(a, b, dtype=float)
    x = np.column_stack([np.ones_like(idx), (idx - i - 0.5) / srate, idx > i])
    coef = np.linalg.lstsq(x, t[a:b] - t[i], rcond=None)[0]
    return float(coef[2])


def dropouts(t: np.ndarray, srate: float, breaks: np.ndarray | None = None) -> np.ndarray:
    """Indices ``i`` where samples were lost between ``t[i]`` and ``t[i + 1]``.

    A jump ``t[i + 1] - t[i] > DROPOUT_MIN_S`` is a dropout when the stamps of up to 10 s of
    samples on either side (within the same segment), fitted by one line with a step at the
    jump, step by more than half the jump: after a dropout the samples stay displaced by the
    time lost; after a late burst they return to the line. Longer jumps are judged first, and
    a dropout found bounds the fits of the others.

    Parameters
    ----------
    t : numpy.ndarray
        Timestamps (s), one per sample.
    srate : float
        Nominal rate (Hz, > 0).
    breaks : numpy.ndarray of bool, optional
        ``len(t) - 1`` breaks already found (segment limits); they bound the fits.
    """
    t = np.asarray(t, dtype=float)
    if t.size < 2:
        return np.zeros(0, dtype=np.int64)
    d = np.diff(t)
    cand = np.flatnonzero(d > DROPOUT_MIN_S)
    if breaks is not None:
        cand = cand[~breaks[cand]]
    if cand.size == 0:
        return cand
    cuts = (np.flatnonzero(breaks) + 1).tolist() if breaks is not None else []
    m = max(2, int(round(_SIDE_S * srate)))
    out = []
    # longest jumps first: a dropout found bounds the fits of the jumps next to it, so that
    # the burst boundaries around a dropout are not taken for dropouts themselves
    for i in cand[np.argsort(-d[cand], kind="stable")].tolist():
        k = bisect.bisect_right(cuts, i)  # the fits stay within [cuts[k-1], cuts[k])
        lo = cuts[k - 1] if k > 0 else 0
        hi = cuts[k] if k < len(cuts) else t.size
        step = _step_at(t, max(lo, i + 1 - m), i, min(hi, i + 1 + m), srate)
        if not step <= 0.5 * d[i]:  # NaN counts as a dropout
            out.append(i)
            bisect.insort(cuts, i + 1)
    return np.asarray(sorted(out), dtype=np.int64)


def _can_drop_samples(header: dict[str, Any]) -> bool:
    """pyxdf's rule: ``desc/synchronization/can_drop_samples`` is "true" (video, HMD).

    Read with ``get`` only: pyxdf's parsed headers are defaultdicts, which ``[]`` would grow.
    """

    def first(d: Any, key: str) -> Any:
        v = d.get(key) if isinstance(d, dict) else None
        return v[0] if isinstance(v, list) and v else None

    desc = first(header.get("info"), "desc")
    flag = first(first(desc, "synchronization"), "can_drop_samples")
    return flag is not None and str(flag).lower() == "true"


def _dejitter_one(stream: dict[str, Any]) -> None:
    """Dejitter one loaded stream dict in place (see :func:`dejitter_streams`)."""
    info = stream["info"]
    ts = np.asarray(stream["time_stamps"], dtype=float)
    n = ts.size
    srate = float(info["nominal_srate"][0]) if info.get("nominal_srate") else 0.0
    info["effective_srate"] = 0
    if n == 0:
        info["segments"] = []
        return
    if srate == 0 or _can_drop_samples(stream):
        info["segments"] = [(0, n - 1)]
        if srate != 0 and n > 1 and ts[-1] > ts[0]:
            info["effective_srate"] = (n - 1) / (ts[-1] - ts[0])
        return
    brk = np.abs(np.diff(ts)) > max(PYXDF_BREAK_S, PYXDF_BREAK_SAMPLES / srate)
    brk[dropouts(ts, srate, brk)] = True
    cut = np.flatnonzero(brk)
    starts = np.r_[0, cut + 1]
    stops = np.r_[cut, n - 1]
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        idx = np.arange(a, b + 1, 1)[:, None]
        x = np.concatenate((np.ones_like(idx), idx), axis=1)
        mapping = np.linalg.lstsq(x, ts[idx], rcond=-1)[0]
        ts[idx] = mapping[0] + mapping[1] * idx
    stream["time_stamps"] = ts
    info["segments"] = list(zip(starts.tolist(), stops.tolist(), strict=True))
    counts = stops + 1 - starts
    if np.any(counts > 1):
        info["effective_srate"] = np.sum(counts - 1) / np.sum(ts[stops] - ts[starts])
        eff = info["effective_srate"]
        if np.abs(srate - eff) / srate > 0.1:
            _log.warning(
                "Stream %d: Calculated effective sampling rate %.4f Hz is different from "
                "specified rate %.4f Hz.", info["stream_id"], eff, srate,
            )  # fmt: skip


def dejitter_streams(streams: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Dejitter the stream dicts of ``pyxdf.load_xdf(..., dejitter_timestamps=False)`` in place.

    As pyxdf's jitter removal with its default thresholds (a straight line through each
    segment's stamps against the sample index; irregular streams and streams that declare
    ``can_drop_samples`` are left alone), plus a segment break at every dropout
    (:func:`dropouts`), so that the samples after a dropout keep their time. Sets
    ``info["segments"]`` (inclusive index pairs) and ``info["effective_srate"]`` (Hz) as pyxdf
    does and logs its warning on a rate more than 10 % off the nominal one.

    Returns
    -------
    list of dict
        The same list.
    """
    for s in streams:
        _dejitter_one(s)
    return streams
