"""What the dyad meters say, from one :class:`~dsp.concordance.DyadMetrics` (no Qt here).

The console's meters (:mod:`app.gui.meters`) only paint a :class:`MeterState`; every word and
number on them is decided here, from the snapshot: the coupling words of
:func:`dsp.concordance.coupling.coupling_statement` and the HR-coherence words of
:func:`dsp.concordance.evidence.chance_statement`. The headless view prints the same lines
(:func:`coupling_words`, :func:`coherence_lines`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from app.formatting import MISSING
from app.preroll import PREROLL_LABEL
from dsp.concordance import CI_CLIP, DyadConfig
from dsp.concordance.coupling import coupling_statement
from dsp.concordance.evidence import (
    NOT_ENOUGH_DATA,
    HighlightRule,
    chance_statement,
    percentile_words,
)
from dsp.concordance.lead import NO_LEAD_TEST

__all__ = [
    "DASH",
    "HIGHLIGHT_RULE",
    "CoherenceLines",
    "MeterState",
    "coherence_lines",
    "concordance_state",
    "coupling_words",
    "finite",
    "fmt",
    "hr_sync_state",
    "preroll_state",
]

#: The live defaults (the engine's DyadConfig): the highlight rule and when its test starts.
LIVE = DyadConfig()
HIGHLIGHT_RULE = LIVE.highlight
#: The live default rule on HR coherence (DyadConfig.coherence_rule).
COHERENCE_RULE = LIVE.coherence_rule

#: Minutes of session before HR coherence can be tested: its 5 min window, the 60 s minimum
#: shift and 2 min of spread for the time-shifted pairings (DyadConfig).
COHERENCE_MIN_MIN = (
    LIVE.hr_coherence_window_s + LIVE.min_shift_s + LIVE.coherence_min_span_s
) / 60.0

DASH = MISSING


def finite(v) -> bool:
    """True for a real finite number."""
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def fmt(v, spec: str) -> str:
    """Format ``v`` or return an en dash when it is not a finite number."""
    return format(float(v), spec) if finite(v) else DASH


@dataclass(frozen=True, eq=False)
class MeterState:
    """What a meter draws (from one DyadMetrics).

    Attributes
    ----------
    value : float
        The number on the bar (NaN: nothing drawn).
    text : str
        The big text (value or state words).
    status : str
        Line under the bar (chance relation, percentile or why it is greyed).
    lead : str
        Leader/follower words.
    band : tuple of float or None
        Chance band (lo, hi) on the bar's scale.
    active : bool
        False = greyed (warming up / invalid).
    history_t, history_v : ndarray
        Session sparkline (time s, value).
    progress : float
        Warm-up progress 0..1 (NaN when not warming up).
    highlight : bool
        Draw the value in the dyad colour: only when the session-level "above chance" rule
        holds (:class:`dsp.concordance.evidence.HighlightRule`); neutral otherwise.
    note : str
        An extra caution under the lead (e.g. shared breathing), '' for none.
    tag : str
        Words beside the title, always shown (the demo's pre-roll label), '' for none.
    detail : str
        A second measure's numbers under the lead (HR coherence), '' for none.
    detail_status : str
        Its chance words, '' for none.
    detail_highlight : bool
        Those words in the dyad colour: only when that measure's own rule holds.
    """

    value: float = float("nan")
    text: str = "waiting for data"
    status: str = ""
    lead: str = ""
    band: tuple[float, float] | None = None
    active: bool = False
    history_t: np.ndarray = field(default_factory=lambda: np.empty(0))
    history_v: np.ndarray = field(default_factory=lambda: np.empty(0))
    progress: float = float("nan")
    highlight: bool = False
    note: str = ""
    tag: str = ""
    detail: str = ""
    detail_status: str = ""
    detail_highlight: bool = False


def preroll_state(state: MeterState, preroll_s: float) -> MeterState:
    """``state`` tagged as resting on the demo's simulated history (``preroll_s`` seconds)."""
    return replace(state, tag=f"{PREROLL_LABEL}, first {preroll_s:.0f} s")


def coupling_words(dyad, hr: bool = False) -> str:
    """What the EDA (or HR) coupling test says about a ``DyadMetrics``, then where the last
    minute's rolling index stands: "above chance over the last 7 min · sustained 20 s
    (p = 0.005) · last minute: 97th percentile of chance".

    One source for the console meters and the headless view
    (:func:`dsp.concordance.coupling.coupling_statement`).
    """
    pre = "hr_" if hr else ""
    elapsed = float(dyad.elapsed_s) if finite(dyad.elapsed_s) else 0.0
    words = coupling_statement(
        HIGHLIGHT_RULE,
        bool(getattr(dyad, f"{pre}highlight", False)),
        getattr(dyad, f"{pre}lead", NO_LEAD_TEST),
        getattr(dyad, f"{pre}hold_s", 0.0),
        min(elapsed, LIVE.lead_window_s),
        "HR synchrony" if hr else "concordance",
        LIVE.coupling_from_s,
    )
    pct = getattr(dyad, f"{pre}percentile", math.nan)
    return words + (f" · last minute: {percentile_words(pct)}" if finite(pct) else "")


def concordance_state(dyad, warmup_s: float, quality_note: str = "") -> MeterState:
    """The EDA concordance meter's state for a ``DyadMetrics`` (or None).

    Colour and "above chance" only when ``dyad.highlight`` (the session-level rule); the
    percentile among shuffled pairings is shown beside it either way.
    """
    if dyad is None:
        return MeterState(text="waiting for data", status="both people's EDA is needed")
    hist_t, hist_v = np.asarray(dyad.eda_history_t), np.asarray(dyad.eda_history_ci)
    if dyad.warming_up:
        left = max(warmup_s - float(dyad.elapsed_s), 0.0) if finite(dyad.elapsed_s) else warmup_s
        m, s = divmod(int(round(left)), 60)
        return MeterState(
            text="warming up",
            status=f"chance baseline in {m}:{s:02d}" if left > 0 else "building chance baseline",
            history_t=hist_t,
            history_v=hist_v,
            progress=1.0 - left / warmup_s if warmup_s > 0 else 1.0,
        )
    if not dyad.valid or not finite(dyad.ci_rolling):
        why = quality_note or "EDA missing or poor in the last minute"
        return MeterState(
            text="paused", status=f"signal quality: {why}", history_t=hist_t, history_v=hist_v
        )
    band = (
        (float(dyad.chance_lo), float(dyad.chance_hi))
        if finite(dyad.chance_lo) and finite(dyad.chance_hi)
        else None
    )
    ci = float(dyad.ci_rolling)
    highlight = bool(getattr(dyad, "highlight", False))
    status = coupling_words(dyad)
    if abs(ci) >= CI_CLIP:  # ln(x/0): every correlation in the window had the same sign
        text = "all together" if ci > 0 else "all apart"
        status = f"every 15 s correlation of the last minute {'positive' if ci > 0 else 'negative'} · {status}"
    else:
        text = f"{ci:+.2f}"
    return MeterState(
        value=ci,
        text=text,
        highlight=highlight,
        status=status,
        lead=dyad.lead_text,
        band=band,
        active=True,
        history_t=hist_t,
        history_v=hist_v,
    )


def hr_sync_state(dyad, warmup_s: float = 150.0) -> MeterState:
    """The HR synchrony meter's state for a ``DyadMetrics`` (or None): the rolling HR CI with
    its chance band, the same highlight rule as EDA, the tested HR lead and the shared-breathing
    check."""
    if dyad is None:
        return MeterState(text=DASH, status="both people's heart rate is needed")
    elapsed = float(dyad.elapsed_s) if finite(dyad.elapsed_s) else 0.0
    if dyad.warming_up or not finite(getattr(dyad, "hr_chance_lo", math.nan)):
        if elapsed < warmup_s:
            return MeterState(
                text="warming up",
                status=f"chance baseline after {warmup_s:g} s of both heart rates",
                progress=min(elapsed / warmup_s, 1.0),
            )
    if not dyad.hr_valid or not finite(dyad.hr_ci_rolling):
        return MeterState(text="paused", status="heart rate missing or poor in the last minute")
    ci = float(dyad.hr_ci_rolling)
    lo, hi = getattr(dyad, "hr_chance_lo", math.nan), getattr(dyad, "hr_chance_hi", math.nan)
    highlight = bool(getattr(dyad, "hr_highlight", False))
    status = coupling_words(dyad, hr=True)
    coh = coherence_lines(dyad)
    return MeterState(
        value=ci,
        text=f"{ci:+.2f}" if abs(ci) < CI_CLIP else ("all together" if ci > 0 else "all apart"),
        status=status,
        highlight=highlight,
        lead=f"HR lead: {dyad.hr_lead_text}",
        note=getattr(dyad, "breathing_note", ""),
        band=(float(lo), float(hi)) if finite(lo) and finite(hi) else None,
        active=True,
        detail=coh.numbers,
        detail_status=coh.words,
        detail_highlight=coh.highlight,
    )


@dataclass(frozen=True)
class CoherenceLines:
    """HR coherence in words for a person (console meter, headless view).

    Attributes
    ----------
    numbers : str
        Each band's coherence, chance level and percentile among the surrogates, e.g.
        ``"HR coherence LF 0.31 (chance 0.22, percentile 80) · HF 0.18 (chance 0.17,
        percentile 55)"``.
    words : str
        What that means against chance, from
        :func:`~dsp.concordance.evidence.chance_statement` for the deciding band (the one
        the rule holds for, else the one with the higher percentile), e.g. ``"LF: no
        evidence of above-chance HR coherence · 80th percentile of chance"``;
        ``"HR coherence: not enough data for a test yet (needs ~8 min)"`` while the session
        is too short for the surrogates.
    highlight : bool
        The rule holds for a band (the only case where the words say "above chance").
    """

    numbers: str
    words: str
    highlight: bool


def _band_numbers(value: float, chance: float, pct: float) -> str:
    if not finite(chance):
        return fmt(value, ".2f")
    return f"{fmt(value, '.2f')} (chance {fmt(chance, '.2f')}, percentile {fmt(pct, '.0f')})"


def coherence_lines(dyad, rule: HighlightRule = COHERENCE_RULE) -> CoherenceLines:
    """The HR coherence of a ``DyadMetrics`` with its chance level, percentile and words.

    Parameters
    ----------
    dyad : DyadMetrics
        The snapshot (``hr_coherence_{lf,hf}`` with ``_chance``, ``_pct``, ``_highlight``
        and ``_hold_s``).
    rule : HighlightRule
        The rule the engine applied (``DyadConfig.coherence_rule``); quoted in the words.
    """
    bands = {}
    for band in ("lf", "hf"):
        pre = f"hr_coherence_{band}"
        bands[band] = (
            getattr(dyad, pre, math.nan),
            getattr(dyad, f"{pre}_chance", math.nan),
            getattr(dyad, f"{pre}_pct", math.nan),
            bool(getattr(dyad, f"{pre}_highlight", False)),
            float(getattr(dyad, f"{pre}_hold_s", 0.0)),
        )
    if not any(finite(b[0]) for b in bands.values()):
        return CoherenceLines(
            "HR coherence: needs 2 min of both heart rates without gaps", "", False
        )
    numbers = "HR coherence " + " · ".join(
        f"{band.upper()} {_band_numbers(*b[:3])}" for band, b in bands.items()
    )
    tested = [band for band, b in bands.items() if finite(b[2])]
    if not tested:
        if not any(finite(b[1]) for b in bands.values()):
            numbers += " (no chance level yet)"
        return CoherenceLines(
            numbers,
            f"HR coherence: {NOT_ENOUGH_DATA} yet (needs ~{COHERENCE_MIN_MIN:.0f} min)",
            False,
        )
    on = [band for band in tested if bands[band][3]]
    # the deciding band: one the rule holds for, else the highest percentile (LF on ties)
    band = on[0] if on else max(tested, key=lambda b: bands[b][2])
    _, _, pct, highlight, hold = bands[band]
    words = chance_statement(rule, highlight, pct, hold, "HR coherence")
    name = " and ".join(b.upper() for b in on) if len(on) > 1 else band.upper()
    return CoherenceLines(numbers, f"{name}: {words}", bool(on))
