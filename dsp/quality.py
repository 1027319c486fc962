"""Per-window signal quality for PPG/ECG and EDA.

Cardiac (Orphanidou et al. 2015, "Signal-quality indices for the electrocardiogram and
photoplethysmogram: derivation and applications to wireless monitoring", IEEE JBHI 19(3)):
a window is *good* when all of

* HR from the detected beats is within 40-180 bpm,
* the longest gap between beats (and from the window edges) is < 3 s,
* max IBI / min IBI < 2.2,
* the mean correlation of each beat with the window's average beat template is >= 0.86 for
  PPG (0.66 for ECG, as in the paper).

The skewness SQI (Elgendi 2016; skewness of the 0.5-8 Hz band-passed window) is reported as
well; it is informative, not a gate.

EDA (Kleckner et al. 2018, "Simple, transparent, and flexible automated quality assessment
procedures for ambulatory electrodermal activity data", IEEE TBME 65(7)): a sample is invalid
when it is outside 0.05-60 µS, when the signal changes faster than 10 µS/s around it, when it
belongs to a flat line (no change over >= ``flat_s`` seconds, e.g. a disconnected or saturated
sensor) or sits at the saturation value of the device; invalid samples are extended by
``margin_s`` on each side (transitional artefacts; 5 s as in the paper). A window is good when >= 90 % of its
samples are valid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from dsp.filters import butter_sos, check_fs, true_runs, zero_phase_sos

__all__ = [
    "CardiacQuality",
    "EdaQuality",
    "ppg_quality",
    "eda_quality",
    "eda_quality_reason",
    "eda_valid_mask",
    "quality_windows",
    "EventMatch",
    "match_events",
]


@dataclass(frozen=True)
class CardiacQuality:
    """Quality of one PPG/ECG window; ``reason`` is '' when good, else the failed rule(s)."""

    good: bool
    reason: str
    hr_bpm: float
    max_gap_s: float
    ibi_ratio: float
    template_corr: float
    skewness: float
    n_beats: int


def _template_corr(x: np.ndarray, peaks: np.ndarray, half: int) -> float:
    idx = np.round(peaks).astype(int)
    idx = idx[(idx - half >= 0) & (idx + half < x.size)]
    if idx.size < 2 or half < 2:
        return float("nan")
    beats = np.stack([x[i - half : i + half + 1] for i in idx])
    tmpl = beats.mean(axis=0)
    bc = beats - beats.mean(axis=1, keepdims=True)
    tc = tmpl - tmpl.mean()
    den = np.sqrt((bc**2).sum(axis=1) * (tc**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (bc @ tc) / den
    r = r[np.isfinite(r)]
    return float(np.mean(r)) if r.size else float("nan")


def _failed_rules(
    hr: float,
    gap: float,
    ratio: float,
    corr: float,
    hr_range: tuple[float, float],
    max_gap_s: float,
    max_ibi_ratio: float,
    corr_min: float,
) -> list[str]:
    """The Orphanidou rules a window fails, each as a short reason."""
    reasons = []
    if not hr_range[0] <= hr <= hr_range[1]:
        reasons.append(f"HR {hr:.0f} bpm outside {hr_range[0]:.0f}-{hr_range[1]:.0f}")
    if gap >= max_gap_s:
        reasons.append(f"gap {gap:.1f} s")
    if ratio >= max_ibi_ratio:
        reasons.append(f"max/min IBI {ratio:.2f}")
    if not corr >= corr_min:
        reasons.append(f"template r {corr:.2f} < {corr_min:.2f}")
    return reasons


def ppg_quality(
    signal: np.ndarray,
    fs: float,
    peaks: np.ndarray | None = None,
    kind: str = "ppg",
    hr_range: tuple[float, float] = (40.0, 180.0),
    max_gap_s: float = 3.0,
    max_ibi_ratio: float = 2.2,
    min_corr: float | None = None,
) -> CardiacQuality:
    """Orphanidou (2015) quality of one PPG (or ECG) window.

    Parameters
    ----------
    signal : ndarray
        Raw samples of the window (typically 10 s).
    fs : float
        Sampling rate in Hz.
    peaks : ndarray, optional
        Beat positions (samples, relative to the window start); detected with
        :func:`dsp.ppg.ppg_peaks` / :func:`dsp.ecg.ecg_peaks` when omitted.
    kind : {'ppg', 'ecg'}
        Selects the default template-correlation threshold (0.86 PPG, 0.66 ECG) and detector.

    Returns
    -------
    CardiacQuality
        ``good`` False with a reason for: empty/NaN/constant windows, fewer than 3 beats, or
        any failed rule.
    """
    fs = check_fs(fs)
    x = np.asarray(signal, dtype=float).ravel()
    if kind not in ("ppg", "ecg"):
        raise ValueError("kind must be 'ppg' or 'ecg'")
    corr_min = min_corr if min_corr is not None else (0.86 if kind == "ppg" else 0.66)
    nan = float("nan")
    if x.size < 3 or not np.all(np.isfinite(x)):
        why = "empty" if x.size == 0 else "missing samples"
        return CardiacQuality(False, why, nan, nan, nan, nan, nan, 0)
    if not np.ptp(x) > 0:
        return CardiacQuality(False, "flat signal", nan, nan, nan, nan, nan, 0)
    if peaks is None:
        if kind == "ppg":
            from dsp.ppg import ppg_peaks

            peaks = ppg_peaks(x, fs)
        else:
            from dsp.ecg import ecg_peaks

            peaks = ecg_peaks(x, fs)
    pk = np.sort(np.asarray(peaks, dtype=float))
    band = (0.5, 8.0) if kind == "ppg" else (5.0, 25.0)
    y = zero_phase_sos(x, butter_sos("bandpass", band, fs, 2))
    yc = y - y.mean()
    m2 = float(np.mean(yc**2))
    skew = float(np.mean(yc**3) / m2**1.5) if m2 > 0 else nan  # biased skewness
    if pk.size < 3:
        gap = x.size / fs
        return CardiacQuality(False, "fewer than 3 beats", nan, gap, nan, nan, skew, int(pk.size))
    ibi = np.diff(pk) / fs
    hr = 60.0 / float(np.mean(ibi))
    gap = float(max(ibi.max(), pk[0] / fs, (x.size - 1 - pk[-1]) / fs))
    ratio = float(ibi.max() / ibi.min())
    half = int(round(0.5 * np.median(ibi) * fs))
    corr = _template_corr(y, pk, half)
    reasons = _failed_rules(hr, gap, ratio, corr, hr_range, max_gap_s, max_ibi_ratio, corr_min)
    return CardiacQuality(
        good=not reasons,
        reason="; ".join(reasons),
        hr_bpm=hr,
        max_gap_s=gap,
        ibi_ratio=ratio,
        template_corr=corr,
        skewness=skew,
        n_beats=int(pk.size),
    )


#: Slowest skin-conductance drift taken as physiological (µS/s, = 0.03 µS/min): how long a
#: flat run may last before a quantisation step can no longer explain it.
MIN_SCL_DRIFT_US_S = 0.0005


@dataclass(frozen=True)
class EdaQuality:
    """Quality of one EDA window; ``reason`` is '' when good."""

    good: bool
    reason: str
    valid_fraction: float
    mask: np.ndarray


def eda_valid_mask(
    signal: np.ndarray,
    fs: float,
    valid_range_us: tuple[float, float] = (0.05, 60.0),
    max_slope_us_s: float = 10.0,
    flat_s: float = 5.0,
    flat_tol_us: float = 1e-6,
    saturation_us: float | None = None,
    margin_s: float = 5.0,
    quant_step_us: float = 0.0,
    min_drift_us_s: float = MIN_SCL_DRIFT_US_S,
) -> np.ndarray:
    """Per-sample validity of EDA by the Kleckner (2018) rules (see module docstring).

    Parameters
    ----------
    quant_step_us : float
        The sensor's quantisation step (µS per ADC code, from its device profile; 0 = not
        known). A flat run is then *resolution*, not a lost contact, and stays valid, when it
        lasts no longer than one step takes at the slowest drift taken as physiological
        (``quant_step_us / min_drift_us_s`` s) and the signal enters and leaves it by at most
        1.5 steps (single codes, not a jump to a rail). A 10-bit BITalino EDA channel
        (0.024 µS per code) may so sit on one code for up to 49 s; a 16-bit channel's step
        allows less than ``flat_s`` and changes nothing.
    min_drift_us_s : float
        Slowest SCL drift taken as physiological (µS/s; 0.0005 = 0.03 µS/min).

    Returns a boolean array, True where the sample is valid. NaN samples are invalid.
    """
    fs = check_fs(fs)
    x = np.asarray(signal, dtype=float).ravel()
    ok = np.isfinite(x)
    with np.errstate(invalid="ignore"):
        ok &= (x >= valid_range_us[0]) & (x <= valid_range_us[1])
        if saturation_us is not None:
            ok &= x < saturation_us
    if x.size >= 2:
        adx = np.abs(x[1:] - x[:-1])
        steep = np.zeros(x.size, dtype=bool)
        with np.errstate(invalid="ignore"):
            s = adx * fs > max_slope_us_s
        steep[:-1] |= s
        steep[1:] |= s
        ok &= ~steep
        # flat lines: runs with no change for >= flat_s seconds
        same = np.zeros(x.size, dtype=bool)
        with np.errstate(invalid="ignore"):
            same[1:] = adx <= flat_tol_us
        n_flat = max(2, int(round(flat_s * fs)))
        if same.any():
            max_res_s = quant_step_us / min_drift_us_s if quant_step_us > 0 else 0.0
            for a, b in true_runs(same):
                if b - a + 1 >= n_flat and not (
                    (b - a + 1) / fs <= max_res_s and _stepped_run(x, a, b, quant_step_us)
                ):
                    ok[max(a - 1, 0) : b] = False
    m = int(round(margin_s * fs))
    if m > 0 and not ok.all():
        ok = ~ndimage.binary_dilation(~ok, iterations=m)
    return ok


def _stepped_run(x: np.ndarray, a: int, b: int, step: float) -> bool:
    """True when the flat samples ``x[a-1:b]`` are entered and left by at most 1.5 ``step``
    (the file's edge counts as either side, but not as both)."""
    level = x[b - 1]
    sides = [x[a - 2] if a >= 2 else None, x[b] if b < x.size else None]
    if all(v is None for v in sides):
        return False
    return all(v is None or (np.isfinite(v) and 0 < abs(v - level) <= 1.5 * step) for v in sides)


def eda_quality(signal: np.ndarray, fs: float, min_valid: float = 0.9, **rules) -> EdaQuality:
    """Kleckner (2018) quality of one EDA window (µS); good if >= ``min_valid`` samples valid.

    Extra keyword arguments are passed to :func:`eda_valid_mask`.
    """
    fs = check_fs(fs)
    x = np.asarray(signal, dtype=float).ravel()
    if x.size == 0:
        return EdaQuality(False, "empty", 0.0, np.zeros(0, dtype=bool))
    mask = eda_valid_mask(x, fs, **rules)
    frac = float(mask.mean())
    if frac >= min_valid:
        return EdaQuality(True, "", frac, mask)
    return EdaQuality(False, eda_quality_reason(x, frac, fs), frac, mask)


def eda_quality_reason(raw: np.ndarray, valid_fraction: float, fs: float) -> str:
    """Why an EDA window (raw µS) fails the Kleckner rules, e.g. ``'slope > 10 uS/s (62 % valid)'``.

    One wording for the live view, the offline analysis and the report.
    """
    x = np.asarray(raw, dtype=float).ravel()
    reasons = []
    fin = x[np.isfinite(x)]
    if fin.size < x.size:
        reasons.append("missing samples")
    if fin.size and (fin.min() < 0.05 or fin.max() > 60.0):
        reasons.append("out of range 0.05-60 uS")
    if fin.size > 1 and np.nanmax(np.abs(np.diff(x))) * fs > 10.0:
        reasons.append("slope > 10 uS/s")
    if not reasons:
        reasons.append("flat line or saturation")
    return "; ".join(reasons) + f" ({100 * valid_fraction:.0f} % valid)"


def quality_windows(
    signal: np.ndarray,
    fs: float,
    window_s: float = 10.0,
    kind: str = "ppg",
    peaks: np.ndarray | None = None,
) -> tuple[np.ndarray, list]:
    """Quality of consecutive non-overlapping windows of a whole recording.

    Parameters
    ----------
    kind : {'ppg', 'ecg', 'eda'}
    peaks : ndarray, optional
        Beat positions (samples from the first sample) of the whole recording, e.g. from
        :func:`dsp.ppg.ppg_peaks`; avoids detecting beats again in every window.

    Returns
    -------
    starts_s : ndarray
        Window start times (s from the first sample).
    results : list of CardiacQuality or EdaQuality
    """
    fs = check_fs(fs)
    x = np.asarray(signal, dtype=float).ravel()
    n = int(round(window_s * fs))
    if n < 1:
        raise ValueError("window_s too short for this sampling rate")
    starts = np.arange(0, max(x.size - n + 1, 0), n)
    pk = None if peaks is None else np.sort(np.asarray(peaks, dtype=float))
    res = []
    for s in starts:
        w = x[s : s + n]
        if kind == "eda":
            res.append(eda_quality(w, fs))
            continue
        wp = None
        if pk is not None:
            i0, i1 = np.searchsorted(pk, [s, s + n])
            wp = pk[i0:i1] - s
        res.append(ppg_quality(w, fs, peaks=wp, kind=kind))
    return starts / fs, res


@dataclass(frozen=True)
class EventMatch:
    """One-to-one matching of detected events to reference events (evaluation helper).

    Attributes
    ----------
    tp, fp, fn : int
        Matched, unmatched detected and unmatched reference events.
    f1 : float
        ``2 tp / (2 tp + fp + fn)`` (NaN when both lists are empty).
    errors_s : ndarray
        ``detected - reference`` (s) of the matched pairs, in reference order.
    matched_ref : ndarray of bool
        Which reference events were matched.
    """

    tp: int
    fp: int
    fn: int
    f1: float
    errors_s: np.ndarray
    matched_ref: np.ndarray


def match_events(detected: np.ndarray, reference: np.ndarray, tol_s: float = 0.05) -> EventMatch:
    """Greedy nearest-first one-to-one matching within ``tol_s`` seconds.

    Every pair closer than ``tol_s`` is considered, closest first; each event is used once.
    Used to score beat and SCR detectors against ground truth (beat F1 within 50 ms).
    """
    d = np.sort(np.asarray(detected, dtype=float).ravel())
    r = np.asarray(reference, dtype=float).ravel()
    order = np.argsort(r)
    rs = r[order]
    pairs: list[tuple[float, int, int]] = []
    for i, t in enumerate(rs):
        j0, j1 = np.searchsorted(d, [t - tol_s, t + tol_s])
        for j in range(j0, j1):
            e = abs(d[j] - t)
            if e <= tol_s:
                pairs.append((e, i, j))
    pairs.sort()
    used_r = np.zeros(rs.size, dtype=bool)
    used_d = np.zeros(d.size, dtype=bool)
    err = np.full(rs.size, np.nan)
    for _, i, j in pairs:
        if not used_r[i] and not used_d[j]:
            used_r[i] = used_d[j] = True
            err[i] = d[j] - rs[i]
    tp = int(used_r.sum())
    fp = int(d.size - tp)
    fn = int(rs.size - tp)
    f1 = 2 * tp / (2 * tp + fp + fn) if (2 * tp + fp + fn) else float("nan")
    matched = np.zeros(r.size, dtype=bool)
    matched[order] = used_r
    errs = np.full(r.size, np.nan)
    errs[order] = err
    return EventMatch(tp, fp, fn, float(f1), errs[matched], matched)
