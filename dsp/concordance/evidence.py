"""The evidence rule: words and colours only when a statistic beats chance on the same data.

Every statement about coupling ("patient leads by 2 s", "above chance", "more concordance while
listening") comes from a test against a null built from the same session with the same
statistic (circular shifts of at least 60 s, or block permutations of labels). This module
holds what those tests share:

* :class:`StatementStatus`: whether a test could be run at all (too little data -> no p-value);
* :func:`p_text`: one way of writing a p-value;
* :class:`HighlightRule` / :func:`sustained_highlight` / :class:`HighlightTracker`: the
  session-level "above chance" highlight, calibrated so that unrelated pairs are rarely ever
  highlighted in a whole session (not just in a given moment);
* :func:`chance_statement`: the verdict of a repeated test against chance (HR coherence,
  console and headless), naming the live rule (:func:`rule_needs`), and
  :func:`not_yet_sustained` / :func:`percentile_words`, the phrases it shares with
  :func:`dsp.concordance.coupling.coupling_statement` and the meters' descriptions;
* :func:`breathing_rate` / :func:`shared_breathing_note`: the shared-breathing check beside HR
  synchrony (a shared breathing rhythm is not interpersonal coupling).

Times are seconds; rates Hz; percentiles 0-100.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
from scipy import signal as _signal

__all__ = [
    "ALPHA",
    "NOT_ENOUGH_DATA",
    "HighlightRule",
    "HighlightTracker",
    "StatementStatus",
    "breathing_rate",
    "chance_statement",
    "not_yet_sustained",
    "p_text",
    "percentile_words",
    "rule_needs",
    "shared_breathing_note",
    "sustained_highlight",
]

#: Two-sided (lead, contrasts) or one-sided (coupling) significance level of every statement.
ALPHA = 0.05
#: What is said instead of a p-value when the data cannot support a test.
NOT_ENOUGH_DATA = "not enough data for a test"


class StatementStatus(enum.Enum):
    """Whether a chance test was run."""

    TESTED = "tested"
    NOT_ENOUGH_DATA = "not enough data"


def p_text(p: float) -> str:
    """``"p = 0.012"`` style text; ``""`` for NaN (no test, so no p).

    Three decimals below 0.1, so that a p just under 0.05 never reads as "p = 0.05".
    """
    if not math.isfinite(p):
        return ""
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


# --------------------------------------------------------------------------- highlight rule
@dataclass(frozen=True)
class HighlightRule:
    """Session-level rule for an "above chance" highlight from a test repeated over a session.

    A live test is re-run every refresh (10 s); at p < 0.05 each time, most unrelated pairs
    would be called coupled at least once in a session. The highlight therefore needs the
    test's percentile among its surrogates (``100 * (1 - p)``) at or above ``percentile`` at
    refreshes spanning ``hold_s`` seconds without a break. The coupling default (99th
    percentile, 20 s = three refreshes in a row, tests from 4:40 into a session) was chosen
    on 330 simulated unrelated 10-minute dyads: 6 % of them were ever highlighted, against
    20 % for a single check at p <= 0.01; coupled dyads (0.6) were highlighted within 5
    minutes of the warm-up in 88 % of 100 (figures: README,
    ``benchmarks/bench_honesty.py --highlight-only``).

    Attributes
    ----------
    percentile : float
        Percentile of the surrogate distribution to reach (0-100).
    hold_s : float
        Seconds the run of refreshes at or above it must span before the highlight shows.
    """

    percentile: float = 99.0
    hold_s: float = 20.0

    def __post_init__(self) -> None:
        if not 50.0 <= self.percentile < 100.0 or self.hold_s < 0:
            raise ValueError("percentile must be in [50, 100) and hold_s >= 0")

    def explain(self) -> str:
        """The rule in one plain sentence for the clinician."""
        return (
            "Highlighted only when the two signals' synchrony over the last 10 minutes (at the "
            f"best lag within ±5 s) has beaten {self.percentile:.0f} % of time-shifted "
            f"pairings at every check for {self.hold_s:.0f} s, so that unrelated pairs are "
            "rarely highlighted even once in a session."
        )


def percentile_words(pct: float, n: int = 0, of: str = "shuffled pairings") -> str:
    """Where a value stands among ``n`` surrogate pairings, as a description (never a
    verdict): ``"97th percentile of 200 shuffled pairings"``, ``"99.5th percentile of ..."``,
    ``"above all 200 shuffled pairings"``, ``"below all ..."``. ``n`` 0: no count shown."""
    count = f"{n} " if n > 0 else ""
    if pct >= 99.95:
        return f"above all {count}{of}"
    if pct <= 0.05:
        return f"below all {count}{of}"
    if pct >= 99.0:
        return f"{pct:.1f}th percentile of {count}{of}"
    k = int(round(pct))
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix} percentile of {count}{of}"


def rule_needs(rule: HighlightRule, every_s: float, p_based: bool = True) -> str:
    """What ``rule`` requires, in the words every verdict quotes: ``"the rule needs
    p <= 0.01 at every 10-s check for 20 s"`` (``p_based``), or ``"the rule needs the 99th
    percentile or more at every 10-s check for 60 s"``. Read from the rule
    itself (``p <= 1 - percentile / 100``), never written by hand."""
    if p_based:
        bar = f"p \u2264 {1.0 - rule.percentile / 100.0:.4g}"
    else:
        bar = f"the {rule.percentile:g}th percentile or more"
    return f"the rule needs {bar} at every {every_s:g}-s check for {rule.hold_s:g}\u00a0s"


def chance_statement(
    rule: HighlightRule,
    highlight: bool,
    percentile: float,
    hold_s: float,
    what: str,
    every_s: float = 10.0,
    of: str = "shifted pairings",
) -> str:
    """The verdict of a rolling index tested against chance at every refresh, in words that
    name the live rule and so never read as a second verdict.

    Four cases, decided only by the inputs (the rule itself is applied elsewhere):

    * ``highlight`` (the rule met): "HR coherence above chance by the live rule (above all
      shifted pairings, held 70 s; the rule needs the 99th percentile or more ...)";
    * at or above ``rule.percentile``, the run still short: "... not yet above chance by the
      live rule (99.5th percentile of shifted pairings, held 20 of 60 s; the rule needs ...)";
    * below it: "... not above chance by the live rule (80th percentile of shifted pairings;
      the rule needs ...)";
    * no percentile: "<what>: no test".

    Parameters
    ----------
    rule : HighlightRule
        The rule the caller's ``highlight`` came from (quoted).
    highlight : bool
        Whether the rule holds now.
    percentile : float
        Percentile (0-100) of the current index among the pairings; NaN if unknown.
    hold_s : float
        Length of the current run at or above ``rule.percentile`` (s).
    what : str
        The index's name, e.g. ``"HR coherence"``.
    every_s : float
        Seconds between the checks (``DyadConfig.surrogate_every_s``).
    of : str
        What the pairings are called.
    """
    held = float(hold_s) if math.isfinite(hold_s) else 0.0
    if not math.isfinite(percentile):
        return f"{what}: no test"
    where = percentile_words(percentile, of=of)
    needs = rule_needs(rule, every_s, p_based=False)
    if highlight:
        return f"{what} above chance by the live rule ({where}, held {held:.0f}\u00a0s; {needs})"
    if percentile >= rule.percentile:
        return (
            f"{what} not yet above chance by the live rule ({where}, "
            f"{not_yet_sustained(held, rule)}; {needs})"
        )
    return f"{what} not above chance by the live rule ({where}; {needs})"


def not_yet_sustained(held_s: float, rule: HighlightRule) -> str:
    """``"held 12 of 30 s"``: a run at or above the rule's percentile that is still shorter
    than ``rule.hold_s``. The count is capped one short of the hold, so a run one step short
    never reads "30 of 30 s"; no-break spaces keep "s" from wrapping alone."""
    shown = min(math.floor(held_s), max(math.ceil(rule.hold_s) - 1, 0))
    return f"held {shown}\u00a0of\u00a0{rule.hold_s:.0f}\u00a0s"


def sustained_highlight(percentile: np.ndarray, step_s: float, rule: HighlightRule) -> np.ndarray:
    """Offline form of the rule: True where the run of ``percentile >= rule.percentile``
    ending at that step has lasted at least ``rule.hold_s`` seconds.

    Parameters
    ----------
    percentile : numpy.ndarray
        Percentile of the rolling index at consecutive steps ``step_s`` apart (NaN = no value,
        which breaks a run).
    step_s : float
        Spacing of the steps (s).
    """
    pct = np.asarray(percentile, dtype=float)
    above = np.isfinite(pct) & (pct >= rule.percentile)
    need = int(math.ceil(rule.hold_s / step_s - 1e-9)) + 1  # steps spanning hold_s
    out = np.zeros(pct.shape, dtype=bool)
    run = 0
    for i, a in enumerate(above):
        run = run + 1 if a else 0
        out[i] = run >= need
    return out


class HighlightTracker:
    """Live form of :func:`sustained_highlight`, fed one step at a time (same decisions)."""

    def __init__(self, rule: HighlightRule, step_s: float) -> None:
        self.rule = rule
        self._need = int(math.ceil(rule.hold_s / step_s - 1e-9)) + 1
        self._run = 0
        self.ever = False

    def update(self, percentile: float) -> bool:
        """Add one step's percentile (NaN allowed); return whether the highlight is on."""
        above = math.isfinite(percentile) and percentile >= self.rule.percentile
        self._run = self._run + 1 if above else 0
        on = self._run >= self._need
        self.ever = self.ever or on
        return on

    @property
    def on(self) -> bool:
        """Highlight state after the last step."""
        return self._run >= self._need

    @property
    def run_steps(self) -> int:
        """Length of the current run above the percentile (steps)."""
        return self._run


# --------------------------------------------------------------------------- breathing
#: Breathing band searched in the HR series (Hz): 6-36 breaths per minute.
BREATHING_BAND = (0.1, 0.6)
#: Two breathing rates closer than this (Hz) count as shared.
SHARED_BREATHING_HZ = 0.02


def breathing_rate(hr: np.ndarray, fs: float, min_s: float = 60.0) -> float:
    """Breathing frequency (Hz) seen in a heart-rate series through respiratory sinus arrhythmia.

    The longest NaN-free stretch of ``hr`` (bpm on a grid at ``fs``) is linearly detrended and
    its Welch spectrum (segments of up to 60 s, zero-padded to 0.002 Hz bins, parabolic peak
    refinement) searched for its peak in 0.1-0.6 Hz. NaN when the stretch is shorter than
    ``min_s`` or the peak does not stand out (below 3x the band's median power).
    """
    x = np.asarray(hr, dtype=float)
    ok = np.isfinite(x)
    if not ok.any():
        return math.nan
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
    starts, stops = edges[::2], edges[1::2]
    i = int(np.argmax(stops - starts))
    seg = x[starts[i] : stops[i]]
    if seg.size < min_s * fs:
        return math.nan
    nper = min(seg.size, int(60 * fs))
    nfft = max(nper, int(2 ** math.ceil(math.log2(fs / 0.002))))
    f, p = _signal.welch(seg, fs, nperseg=nper, nfft=nfft, detrend="linear")
    band = (f >= BREATHING_BAND[0]) & (f <= BREATHING_BAND[1])
    if band.sum() < 3:
        return math.nan
    fb, pb = f[band], p[band]
    k = int(np.argmax(pb))
    if pb[k] < 3.0 * float(np.median(pb)):
        return math.nan
    if 0 < k < pb.size - 1:
        a, b, c = pb[k - 1], pb[k], pb[k + 1]
        den = a - 2 * b + c
        off = 0.5 * (a - c) / den if den != 0 else 0.0
        return float(fb[k] + off * (fb[1] - fb[0]))
    return float(fb[k])


def shared_breathing_note(f_patient: float, f_clinician: float) -> str:
    """``"both breathing at ~15/min: HR synchrony may reflect breathing"`` when the two
    breathing rates (Hz) agree within 0.02 Hz; ``""`` otherwise or when either is unknown."""
    if not (math.isfinite(f_patient) and math.isfinite(f_clinician)):
        return ""
    if abs(f_patient - f_clinician) > SHARED_BREATHING_HZ:
        return ""
    per_min = 30.0 * (f_patient + f_clinician)
    return f"both breathing at ~{per_min:.0f}/min: HR synchrony may reflect breathing"
