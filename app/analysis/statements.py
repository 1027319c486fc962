"""The tested statements of a session's analysis as JSON-ready dicts and summary columns.

Every statement about coupling (lead, above chance, label contrasts, SUSY, HR coherence,
shared breathing) comes with the test behind it: its p-value or percentile, the surrogates
or permutations used, and its words. ``not enough data for a test`` stands where no test was
possible; no p-value is made up. Computed by :mod:`dsp.concordance` (no Qt here).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dsp.concordance.contrast import ContrastMeasure, LabelContrast
from dsp.concordance.dyad import HIGHLIGHT, DyadSignal
from dsp.concordance.hr import CoherenceTest
from dsp.concordance.lead import LeadTest
from dsp.params import MethodParams
from dsp.surrogates import SurrogateTest

__all__ = [
    "SUSY_NAME",
    "STATEMENT_FIELDS",
    "contrast_dict",
    "lead_dict",
    "statement_columns",
    "tested_contrast",
    "statements_dict",
]

#: How the SUSY effect size is named everywhere it is shown.
SUSY_NAME = "SUSY effect size (Tschacher & Meier 2020)"


def json_number(v: Any) -> float | None:
    """``v`` as a JSON number: a finite float, else None (NaN, inf, missing, not a number)."""
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def lead_dict(lead: LeadTest) -> dict[str, Any]:
    """A lead test: words, leader, lag with its IQR, p and the evidence behind them."""
    return {
        "text": lead.text,
        "tested": lead.status.value == "tested",
        "leader": lead.leader.value,
        "lag_s": json_number(lead.lag_s),
        "lag_iqr_s": [json_number(lead.lag_q1_s), json_number(lead.lag_q3_s)],
        "p_value": json_number(lead.p),
        "p_coupling": json_number(lead.p_strength),
        "p_asymmetry": json_number(lead.p_asymmetry),
        "windows": lead.n_windows,
        "windows_with_clear_peak": lead.n_peak_windows,
        "surrogates": lead.n_surrogates,
        "method": "circular shifts >= 60 s; asymmetry two-sided, coupling one-sided",
    }


def contrast_dict(c: LabelContrast) -> dict[str, Any]:
    """A label contrast: the difference of the tested value (EDA shared SCRs, HR lagged
    synchrony) with its interval, p and words; each label's Marci CI beside it as a
    description."""
    return {
        "text": c.text,
        "label_a": c.label_a,
        "label_b": c.label_b,
        "tested": c.status.value == "tested",
        "measure": c.measure.value,
        "statistic": _CONTRAST_STATISTIC[c.measure],
        "value_a": json_number(c.value_a),
        "value_b": json_number(c.value_b),
        "chance_a": json_number(c.chance_a),
        "chance_b": json_number(c.chance_b),
        "lag_s": json_number(c.lag_s),
        "difference": json_number(c.difference),
        "interval_95": [json_number(c.low), json_number(c.high)],
        "p_value": json_number(c.p),
        "ci_a": json_number(c.ci_a),
        "ci_b": json_number(c.ci_b),
        "blocks_a": c.n_blocks_a,
        "blocks_b": c.n_blocks_b,
        "permutations": c.n_permutations,
        "method": "labels permuted between blocks; interval inverts the permutation test",
    }


_CONTRAST_STATISTIC = {
    ContrastMeasure.SHARED_SCR: "shared SCRs above chance: per block, patient SCRs with a "
    f"clinician SCR starting the dyad's lag later (±{MethodParams().scr_match_s:g} s), divided "
    "by sqrt(patient SCRs x clinician SCRs), minus the same share with the clinician's SCRs "
    "rotated around the block (chance); averaged over the label's blocks (chance_a/chance_b: "
    "the chance share; value + chance = the share seen). The dyad's lag is the "
    "lagged-synchrony peak of both labels' blocks together",
    ContrastMeasure.LAGGED_SYNCHRONY: "lagged synchrony r: windowed cross-correlation of the "
    "slope signals, Fisher-z averaged over the label's windows, at the dyad's lag (the peak of "
    "both labels' blocks together, within the lead test's ±lag)",
}


def _test_dict(t: SurrogateTest | None) -> dict[str, Any]:
    if t is None:
        return {"p_value": None, "percentile": None, "surrogates": 0}
    return {
        "observed": json_number(t.observed),
        "p_value": json_number(t.p_value),
        "percentile": json_number(t.percentile),
        "surrogates": int(t.null.size),
        "null_5_95": [json_number(np.percentile(t.null, 5)), json_number(np.percentile(t.null, 95))]
        if t.null.size
        else [None, None],
    }


def _coherence_dict(c: CoherenceTest | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "lf": json_number(c.coherence.lf),
        "hf": json_number(c.coherence.hf),
        "lf_chance": json_number(c.lf_chance),
        "hf_chance": json_number(c.hf_chance),
        "lf_bias_corrected": json_number(c.lf_excess),
        "hf_bias_corrected": json_number(c.hf_excess),
        "lf_percentile": json_number(c.lf_percentile),
        "hf_percentile": json_number(c.hf_percentile),
        "lf_p_value": json_number(c.lf_p),
        "hf_p_value": json_number(c.hf_p),
        "duration_s": json_number(c.coherence.duration_s),
        "method": "Welch MSC (64 s segments), mean over consecutive 5-min windows; chance = "
        "mean over the same windows paired with the clinician's HR from other times (>= 60 s "
        "away, unwrapped)",
    }


def _highlight_dict(sig: DyadSignal) -> dict[str, Any]:
    """Where the console would have said "above chance" (the live test replayed offline)."""
    tl = sig.timeline
    hl = tl.highlight if tl.highlight is not None else np.zeros(tl.t.shape, dtype=bool)
    cp = tl.coupling_p if tl.coupling_p is not None else np.full(tl.t.shape, np.nan)
    tested = np.isfinite(cp)
    return {
        "rule": HIGHLIGHT.explain(),
        "ever": bool(hl.any()),
        "seconds": int(np.sum(hl)),
        "first_s": json_number(tl.t[np.argmax(hl)] - tl.t[0]) if hl.any() else None,
        "last_p_value": json_number(cp[tested][-1]) if tested.any() else None,
    }


def statements_dict(sig: DyadSignal) -> dict[str, Any]:
    """Every tested statement about one signal (EDA or HR)."""
    out: dict[str, Any] = {
        "lead": lead_dict(sig.lead),
        "contrasts": [contrast_dict(c) for c in sig.contrasts],
        "susy_test": {"name": SUSY_NAME, **_test_dict(sig.susy_test)},
        "highlight": _highlight_dict(sig),
    }
    if sig.signal == "hr":
        out["coherence"] = _coherence_dict(sig.coherence)
        out["breathing"] = {
            "patient_hz": json_number(sig.breathing_patient_hz),
            "clinician_hz": json_number(sig.breathing_clinician_hz),
            "note": sig.breathing_note,
        }
    return out


#: summary.csv columns added by :func:`statement_columns`.
STATEMENT_FIELDS = [
    "eda_lead",
    "eda_lead_lag_s",
    "eda_lead_p",
    "hr_lead",
    "hr_lead_lag_s",
    "hr_lead_p",
    "eda_contrast",
    "eda_contrast_difference",
    "eda_contrast_p",
    "eda_susy_percentile",
    "eda_highlight_ever",
    "hr_highlight_ever",
    "shared_breathing",
]


def tested_contrast(
    m: dict[str, Any], label_a: str = "listening", label_b: str = "talking", signal: str = "eda"
) -> tuple[float, float, str] | None:
    """The tested contrast of two labels from a metrics dict: ``(difference a - b, p, words)``.

    The difference is the one the test is about (EDA: shared SCRs above chance), oriented
    ``a - b`` whichever order the analysis used; p is NaN when no test was possible. None
    when the session has no contrast of those labels.
    """
    st = ((m.get("concordance") or {}).get(signal) or {}).get("statements") or {}
    for c in st.get("contrasts") or ():
        pair = (str(c["label_a"]).lower(), str(c["label_b"]).lower())
        if set(pair) != {label_a, label_b}:
            continue
        d = c.get("difference")
        d = math.nan if d is None else float(d) * (1.0 if pair[0] == label_a else -1.0)
        p = math.nan if c.get("p_value") is None else float(c["p_value"])
        return d, p, str(c["text"])
    return None


def statement_columns(m: dict[str, Any]) -> dict[str, str]:
    """The :data:`STATEMENT_FIELDS` of one ``summary.csv`` row from a metrics dict."""
    out = {k: "" for k in STATEMENT_FIELDS}
    c = m.get("concordance") or {}

    def g(v: Any, nd: int) -> str:
        return "" if v is None else f"{v:.{nd}f}"

    for sig in ("eda", "hr"):
        st = (c.get(sig) or {}).get("statements")
        if not st:
            continue
        out[f"{sig}_lead"] = st["lead"]["text"]
        out[f"{sig}_lead_lag_s"] = g(st["lead"]["lag_s"], 2)
        out[f"{sig}_lead_p"] = g(st["lead"]["p_value"], 4)
        out[f"{sig}_highlight_ever"] = str(st["highlight"]["ever"]).lower()
        if sig == "eda":
            if st["contrasts"]:
                first = st["contrasts"][0]
                out["eda_contrast"] = first["text"]
                out["eda_contrast_difference"] = g(first["difference"], 4)
                out["eda_contrast_p"] = g(first["p_value"], 4)
            out["eda_susy_percentile"] = g(st["susy_test"]["percentile"], 1)
        else:
            out["shared_breathing"] = st["breathing"]["note"]
    return out
