"""What the dyad meters say, from one :class:`~dsp.concordance.DyadMetrics` (no Qt here).

The console's meters (:mod:`app.gui.meters`) only paint a :class:`MeterState`; every word and
number on them is decided here, from the snapshot. Each meter has **one verdict**: the live
rule's decision with its p and its threshold
(:func:`dsp.concordance.coupling.coupling_statement`), or why there is none yet, or
"paused" naming whose signal is missing (:func:`pause_words`). Under it, visibly a
description, the last minute's rolling CI and where it stands among the shuffled pairings
(:func:`description_words`); the big number, the bar and its grey band show the same
minute. HR coherence has its own verdict line
(:func:`dsp.concordance.evidence.chance_statement`). :func:`meter_states` builds both
meters from an engine snapshot; the headless view prints the same words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from app.dyad_grid import rolling_span_s
from app.formatting import MISSING
from app.preroll import PREROLL_LABEL
from devices.health import HealthState
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
    "description_words",
    "finite",
    "fmt",
    "hr_sync_state",
    "meter_states",
    "pause_words",
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
    verdict : str
        The meter's one verdict, shown first: the live rule's decision with its p and
        threshold, why there is none yet, or "paused" with whose signal is missing.
    status : str
        The description of the last minute under the verdict ("last minute, descriptive:
        CI +4.62, above all 200 shuffled pairings"), '' for none.
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
    verdict: str = ""
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
    """The meter's verdict from the coupling test of a ``DyadMetrics``: "not above chance by
    the live rule (p = 0.045 over the last 6 min; the rule needs p <= 0.01 at every 10-s
    check for 20 s, see README)" (:func:`~dsp.concordance.coupling.coupling_statement`,
    the rule and its numbers read from the live :class:`~dsp.concordance.DyadConfig`)."""
    pre = "hr_" if hr else ""
    elapsed = float(dyad.elapsed_s) if finite(dyad.elapsed_s) else 0.0
    return coupling_statement(
        HIGHLIGHT_RULE,
        bool(getattr(dyad, f"{pre}highlight", False)),
        getattr(dyad, f"{pre}lead", NO_LEAD_TEST),
        getattr(dyad, f"{pre}hold_s", 0.0),
        min(elapsed, LIVE.lead_window_s),
        LIVE.coupling_from_s,
        elapsed,
        LIVE.surrogate_every_s,
    )


def description_words(dyad, hr: bool = False) -> str:
    """The last minute described, never judged: "last minute, descriptive: CI +4.62, above
    all 200 shuffled pairings"; a clipped CI reads "every 15 s slope correlation positive
    (CI +10, the cap)". '' when the CI is unknown."""
    pre = "hr_" if hr else ""
    ci = float(getattr(dyad, f"{pre}ci_rolling", math.nan))
    if math.isnan(ci):
        return ""
    name = "HR CI" if hr else "CI"
    if abs(ci) >= CI_CLIP:  # ln(x/0): every correlation in the window had the same sign
        sign = "positive" if ci > 0 else "negative"
        value = f"every {LIVE.corr_s:g} s slope correlation {sign} ({name} {math.copysign(CI_CLIP, ci):+.0f}, the cap)"
    else:
        value = f"{name} {ci:+.2f}"
    pct = getattr(dyad, f"{pre}percentile", math.nan)
    n = 0 if hr else int(getattr(dyad, "n_surrogates", 0) or 0)
    where = percentile_words(pct, n) if finite(pct) else "no shuffled pairings yet"
    return f"last minute, descriptive: {value}, {where}"


def pause_words(snap, signal: str) -> str:
    """Why a meter is paused, naming each person and signal: "paused - clinician's heart rate
    missing for 6 s of the last 75 s"; a stream that stopped or a signal judged poor is named
    as such. ``signal``: 'eda' or 'hr'. From the snapshot's ``dyad_missing_s`` (what the
    dyad grid received), the people's quality verdicts and stream health."""
    span = rolling_span_s(LIVE, signal)
    label = "EDA" if signal == "eda" else "heart rate"
    stale = _stale_roles(snap)
    parts = []
    for role in getattr(snap, "pair", None) or ("patient", "clinician"):
        pm = (getattr(snap, "persons", None) or {}).get(role)
        who = f"{role}'s {label}"
        quality = getattr(pm, "eda_quality" if signal == "eda" else "cardiac_quality", "none")
        reason = getattr(
            pm, "eda_quality_reason" if signal == "eda" else "cardiac_quality_reason", ""
        )
        gone = float((getattr(snap, "dyad_missing_s", None) or {}).get(f"{role}/{signal}", 0.0))
        if ("eda" if signal == "eda" else "cardiac") in stale.get(role, ()):
            parts.append(f"{who} stream not delivering")
        elif pm is not None and quality == "bad":
            parts.append(f"{who} poor ({reason})" if reason else f"{who} poor")
        elif gone > 0:
            parts.append(f"{who} missing for {max(gone, 1.0):.0f} s of the last {span:.0f} s")
    if parts:
        return "paused \u2013 " + "; ".join(parts)
    return (
        f"paused \u2013 too few usable {LIVE.corr_s:g} s correlations of the two {label} "
        f"signals in the last {span:.0f} s (a flat signal has none)"
    )


def _stale_roles(snap) -> dict[str, set[str]]:
    """role -> {'eda', 'cardiac'} whose assigned stream is not connected now."""
    stale: dict[str, set[str]] = {}
    health = getattr(snap, "health", None) or {}
    for rm, key in (getattr(snap, "channels", None) or {}).items():
        role, mod = rm.split("/")
        h = health.get(key)
        if h is None or h.state is not HealthState.CONNECTED:
            stale.setdefault(role, set()).add("eda" if mod == "eda" else "cardiac")
    return stale


def name_leader(text: str, a: str, b: str) -> str:
    """Lead words of a group's pair: the dyad code calls the pair's first person "patient"
    and the second "clinician"; ``"patient leads by 2.0 s"`` becomes ``"<a> leads by 2.0 s"``."""
    for word, name in (("patient leads", f"{a} leads"), ("clinician leads", f"{b} leads")):
        text = text.replace(word, name)
    return text


def meter_states(snap, warmup_s: float) -> tuple[MeterState, MeterState]:
    """Both meters' states (EDA concordance, HR synchrony) from an engine snapshot, with the
    words a paused meter shows and the demo's pre-roll tag; the console and the headless
    view both use this."""
    d = snap.dyad
    eda = concordance_state(d, warmup_s, pause_words(snap, "eda"))
    hr = hr_sync_state(d, warmup_s, pause_words(snap, "hr"))
    if getattr(snap, "preroll_s", 0.0) > 0:
        eda, hr = preroll_state(eda, snap.preroll_s), preroll_state(hr, snap.preroll_s)
    pair = getattr(snap, "pair", None)
    if pair is not None and pair != ("patient", "clinician"):  # a group's pair: its names
        eda = replace(eda, lead=name_leader(eda.lead, *pair))
        hr = replace(hr, lead=name_leader(hr.lead, *pair))
    return eda, hr


def concordance_state(dyad, warmup_s: float, paused: str = "") -> MeterState:
    """The EDA concordance meter's state for a ``DyadMetrics`` (or None).

    The verdict is the live rule's (colour only when ``dyad.highlight``); the last minute's
    CI and percentile are a description under it. ``paused``: the words when the rolling
    CI is invalid (:func:`pause_words`).
    """
    if dyad is None:
        return MeterState(
            text="waiting for data", verdict="no verdict: both people's EDA is needed"
        )
    hist_t, hist_v = np.asarray(dyad.eda_history_t), np.asarray(dyad.eda_history_ci)
    if dyad.warming_up:
        left = max(warmup_s - float(dyad.elapsed_s), 0.0) if finite(dyad.elapsed_s) else warmup_s
        m, s = divmod(int(round(left)), 60)
        return MeterState(
            text="warming up",
            verdict=(
                f"no verdict yet: chance baseline in {m}:{s:02d}"
                if left > 0
                else "no verdict yet: building the chance baseline"
            ),
            history_t=hist_t,
            history_v=hist_v,
            progress=1.0 - left / warmup_s if warmup_s > 0 else 1.0,
        )
    if not dyad.valid or _unknown(dyad.ci_rolling):
        return MeterState(
            text="paused",
            verdict=paused or "paused \u2013 EDA missing or poor in the last minute",
            history_t=hist_t,
            history_v=hist_v,
        )
    band = (
        (float(dyad.chance_lo), float(dyad.chance_hi))
        if finite(dyad.chance_lo) and finite(dyad.chance_hi)
        else None
    )
    ci = float(dyad.ci_rolling)
    return MeterState(
        value=ci,
        text=_big_text(ci),
        verdict=coupling_words(dyad),
        highlight=bool(getattr(dyad, "highlight", False)),
        status=description_words(dyad),
        lead=dyad.lead_text,
        band=band,
        active=True,
        history_t=hist_t,
        history_v=hist_v,
    )


def _unknown(ci) -> bool:
    """True when a CI is missing (NaN or not a number); +-inf (every correlation of one
    sign, unclipped) is the strongest value there is, never missing data."""
    try:
        return math.isnan(float(ci))
    except (TypeError, ValueError):
        return True


def _big_text(ci: float) -> str:
    """The big number; a clipped CI (every correlation of one sign) in words."""
    if abs(ci) < CI_CLIP:
        return f"{ci:+.2f}"
    return "all together" if ci > 0 else "all apart"


def hr_sync_state(dyad, warmup_s: float = 150.0, paused: str = "") -> MeterState:
    """The HR synchrony meter's state for a ``DyadMetrics`` (or None): the verdict of the HR
    coupling test by the same live rule as EDA, the rolling HR CI with its chance band as a
    description, the tested HR lead, HR coherence and the shared-breathing check. A clipped
    HR CI (every correlation of one sign) reads "all together" / "all apart", as on the EDA
    meter; ``paused`` only when the rolling HR CI is invalid (:func:`pause_words`)."""
    if dyad is None:
        return MeterState(text=DASH, verdict="no verdict: both people's heart rate is needed")
    elapsed = float(dyad.elapsed_s) if finite(dyad.elapsed_s) else 0.0
    if (dyad.warming_up or not finite(getattr(dyad, "hr_chance_lo", math.nan))) and (
        elapsed < warmup_s
    ):
        return MeterState(
            text="warming up",
            verdict=f"no verdict yet: chance baseline after {warmup_s:g} s of both heart rates",
            progress=min(elapsed / warmup_s, 1.0),
        )
    if not dyad.hr_valid or _unknown(dyad.hr_ci_rolling):
        return MeterState(
            text="paused",
            verdict=paused or "paused \u2013 heart rate missing or poor in the last minute",
        )
    ci = float(dyad.hr_ci_rolling)
    lo, hi = getattr(dyad, "hr_chance_lo", math.nan), getattr(dyad, "hr_chance_hi", math.nan)
    coh = coherence_lines(dyad)
    return MeterState(
        value=ci,
        text=_big_text(ci),
        verdict=coupling_words(dyad, hr=True),
        status=description_words(dyad, hr=True),
        highlight=bool(getattr(dyad, "hr_highlight", False)),
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
        the rule holds for, else the one with the higher percentile), e.g. ``"HR coherence
        (LF) not above chance by the live rule (80th percentile of shifted pairings; the rule
        needs the 99th percentile or more at every 10-s check for 60 s)"``;
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
    name = " and ".join(b.upper() for b in on) if len(on) > 1 else band.upper()
    words = chance_statement(
        rule, highlight, pct, hold, f"HR coherence ({name})", LIVE.surrogate_every_s
    )
    return CoherenceLines(numbers, words, bool(on))
