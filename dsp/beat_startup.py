"""Start-up rule of the PPG beat detector: establish the rhythm before committing any beat.

Why
---
A PPG pulse is often followed by a diastolic (reflected) wave. Once the detector knows the
rhythm, such a wave is rejected because it is weak and arrives early in the cycle
(``BeatDetectorParams.early_weak``). With no rhythm history (the start of a stream, after a
gap, or after the amplitude reference was rebuilt) nothing tells the two apart: if the first
candidates are pulse, wave, pulse, wave, ... the median interval becomes half the true one,
every wave is then "on time", and the detector's search-back even re-inserts the waves it did
not detect, so the lock can last minutes (heartpy's bundled ``data3.csv``: a wrist PPG whose
diastolic wave is 0.3 times the pulse, half-way through the cycle, was counted at twice its
heart rate for its first 250 s).

Rule
----
The detector holds the candidates of its first ``startup_s`` seconds (at least 4 of them, at
most ``2 startup_s`` seconds) and then decides which are beats, as its steady-state rules
would with a history:

1. the amplitude reference is the 75th percentile of the held candidates' band-passed
   amplitudes (a pulse's, also when up to half the candidates are secondary waves);
2. candidates weaker than ``amplitude_gate[0] / 2`` times that reference (the steady
   state's bound for a wave on time) or stronger than ``amplitude_gate[1]`` times it (its
   bound for an early wave) are artefacts;
3. the rhythm is the median interval between consecutive *strong* candidates (at least 0.6
   times the reference: a pulse, not a diastolic wave, whose amplitude is 0.15-0.5 times the
   pulse's in ``data3.csv``);
4. walking in time order, a candidate closer to the previous kept beat than ``early_weak[0]``
   times that interval and weaker than ``early_weak[1]`` times that beat is a secondary wave.

The kept candidates are committed in order, and they seed the detector's interval and
amplitude history. The decision uses only the held candidates, so it is causal and
chunk-invariant; live beats of the first seconds arrive up to ``2 startup_s`` s late.
A true alternation of strong and weak beats at the same interval (severe pulsus alternans)
would be read as pulse plus diastolic wave; its weak beats are then dropped.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STRONG", "alternates", "startup_keep"]

STRONG = 0.6
"""Amplitude (times the reference) of a candidate that counts in the start-up rhythm."""


def startup_keep(
    pos: np.ndarray,
    amp: np.ndarray,
    gate: tuple[float, float] | None,
    early_weak: tuple[float, float] | None,
    max_ibi: float,
) -> np.ndarray:
    """Which held start-up candidates are beats (see the module docstring).

    Parameters
    ----------
    pos : ndarray
        Candidate peak positions (samples), increasing.
    amp : ndarray
        Their band-passed peak amplitudes (signal units).
    gate : (float, float) or None
        Amplitude gate ``(lo, hi)`` relative to the reference; None: no gate.
    early_weak : (float, float) or None
        ``(interval fraction, amplitude fraction)`` of a secondary wave; None: no such rule.
    max_ibi : float
        Longest interval (samples) counted in the rhythm.

    Returns
    -------
    ndarray of bool
        True for the candidates to commit as beats.
    """
    p = np.asarray(pos, dtype=float)
    a = np.asarray(amp, dtype=float)
    if p.shape != a.shape or p.ndim != 1:
        raise ValueError("pos and amp must be 1-D and of equal length")
    keep = np.ones(p.size, dtype=bool)
    if p.size < 3:
        return keep
    ref = float(np.percentile(a, 75))
    if gate is not None and ref > 0:
        keep &= (a >= 0.5 * gate[0] * ref) & (a <= gate[1] * ref)
    strong = keep & (a >= STRONG * ref)
    if early_weak is None or strong.sum() < 3:
        return keep
    d = np.diff(p[strong])
    d = d[d < max_ibi]
    if d.size == 0:
        return keep
    med = float(np.median(d))
    last = -1
    for i in np.flatnonzero(keep).tolist():
        if last >= 0 and p[i] - p[last] < early_weak[0] * med and a[i] < early_weak[1] * a[last]:
            keep[i] = False  # a secondary (diastolic) wave
            continue
        last = i
    return keep


def alternates(amp: np.ndarray) -> bool:
    """True when the last 8 beats alternate pulse, weak wave, pulse, ... (a locked detector).

    Parameters
    ----------
    amp : ndarray
        Band-passed amplitudes of the last committed beats, oldest first.

    Returns
    -------
    bool
        True for 8 finite amplitudes of which every other one is below ``STRONG`` times both
        its neighbours: the rhythm history is half the true interval (learnt while the
        diastolic wave was as large as the pulse, e.g. before vascular tone shrank it) and the
        waves are being counted. A real rhythm does not alternate like that (severe pulsus
        alternans aside, as at start-up).
    """
    a = np.asarray(amp, dtype=float)
    if a.size < 8 or not np.all(np.isfinite(a)):
        return False
    v = a.tolist()  # Python floats: the same comparisons, without numpy scalars (every beat)
    n = len(v)
    nb = [v[1]] + [min(v[i - 1], v[i + 1]) for i in range(1, n - 1)] + [v[n - 2]]
    return any(all(v[i] < STRONG * nb[i] for i in range(par, n, 2)) for par in (0, 1))
