"""What a session's analysis writes: ``metrics.json``, the CSV tables and ``summary.csv`` rows.

Output files (per session folder)
---------------------------------
``metrics.json``, ``beats_patient.csv``, ``beats_clinician.csv``, ``timeseries.csv``,
``report.html`` (:mod:`app.analysis.report`); several input files add ``summary.csv``
(one row per session, :data:`SUMMARY_FIELDS`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import inspect
import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from app import __version__
from app.analysis.group import group_json, pairs_json
from app.analysis.inputs import FORMATS
from app.analysis.moments import moments_json
from app.analysis.pipeline import SessionAnalysis
from app.analysis.report import write_report
from app.analysis.statements import (
    STATEMENT_FIELDS,
    contrast_dict,
    lead_dict,
    statement_columns,
    statements_dict,
)
from app.sessionfolder import METRICS_JSON, REPORT_HTML, TIMESERIES_CSV, beats_csv
from dsp.concordance.dyad import DyadSignal
from dsp.concordance.segments import SegmentStats
from dsp.ecg import ECG_PARAMS
from dsp.eda import eda_scr
from dsp.hrv import coherence_ratio, hrv_frequency, ibi_correct
from dsp.ppg import PPG_PARAMS
from dsp.quality import eda_valid_mask, ppg_quality
from dsp.session import PersonInterval, PersonSession, SessionConfig

SCHEMA_VERSION = 2
"""Version of ``metrics.json``'s layout.

2 (groups): adds ``people`` (each analysed person's role and colour, in the session's order),
``pairs`` (one entry per pair that matters: ``people`` [a, b], the pair's numbers and its
``statement`` with evidence; for a dyad the one pair, its full analysis staying in
``concordance``) and ``group`` (the group index and its test; null for a dyad). Every key of
version 1 is kept with its meaning, so a reader of version 1 reads a two-person file of
version 2 unchanged; a group's file has ``concordance`` null and its numbers in ``pairs`` and
``group``.
"""


def _num(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(float(v)) else None
    return v


def person_dict(p: PersonSession) -> dict[str, Any]:
    """JSON-ready per-person summary (units in the key names)."""
    reasons = dict(sorted(p.cardiac_quality_reasons.items(), key=lambda kv: -kv[1]))
    return {
        "cardiac_signal": p.cardiac_kind.upper() or None,
        "beats": p.n_beats,
        "ibis_used": p.n_ibi,
        "mean_hr_bpm": _num(p.mean_hr_bpm),
        "mean_nn_ms": _num(p.mean_nn_ms),
        "sdnn_ms": _num(p.sdnn_ms),
        "rmssd_ms": _num(p.rmssd_ms),
        "ln_rmssd": _num(p.ln_rmssd),
        "pnn50_pct": _num(p.pnn50_pct),
        "lf_ms2": _num(p.lf_ms2),
        "hf_ms2": _num(p.hf_ms2),
        "lf_hf": _num(p.lf_hf),
        "spectral_duration_s": _num(p.spectral_duration_s),
        "coherence_ratio": _num(p.coherence_ratio),
        "coherence_windows": p.n_coherence_windows,
        "artifacts": {k: int(v) for k, v in p.artifacts.items()},
        "scl_us": _num(p.scl_us),
        "scl_p5_us": _num(p.scl_min_us),
        "scl_p95_us": _num(p.scl_max_us),
        "scr_count": p.scr_count,
        "scr_per_min": _num(p.scr_per_min),
        "eda_noise_us": _num(p.eda_noise_us),
        "scr_threshold_us": _num(p.scr_threshold_us),
        "quality": {
            "cardiac_windows": int(p.cardiac_quality_good.size),
            "cardiac_good_fraction": _num(p.cardiac_good_fraction),
            "cardiac_bad_reasons": reasons,
            "eda_valid_fraction": _num(p.eda_valid_fraction),
            "eda_valid_minutes": _num(p.eda_valid_minutes),
        },
    }


def _interval_dict(pi: PersonInterval) -> dict[str, Any]:
    return {k: _num(v) for k, v in asdict(pi).items()}


def _seg_dict(s: SegmentStats, t0: float) -> dict[str, Any]:
    d = {k: _num(v) for k, v in asdict(s).items() if k != "lead"}
    d["lead"] = lead_dict(s.lead)
    d["t0_rel_s"] = _num(s.t0 - t0)
    d["t1_rel_s"] = _num(s.t1 - t0)
    return d


def signal_dict(sig: DyadSignal) -> dict[str, Any]:
    """JSON-ready summary of one signal's concordance."""
    sc, su = sig.session, sig.susy
    if sc is None:
        return {"available": False, "note": sig.note}
    return {
        "available": True,
        "marci_ci": _num(sc.ci),
        "ksi": _num(sc.ksi),
        "mean_r": _num(sc.mean_r),
        "n_correlations": int(np.isfinite(sc.r).sum()),
        "surrogate": {
            "method": sc.surrogate.method,
            "n": int(sc.surrogate.null.size),
            "p_value": _num(sc.surrogate.p_value),
            "effect_size": _num(sc.surrogate.effect_size),
            "percentile": _num(sc.surrogate.percentile),
        },
        "wcc": {
            "windows": int(sc.wcc.matrix.shape[0]),
            "grand_average_r": _num(sc.wcc.grand_average),
            "median_best_lag_s": _num(sc.median_best_lag_s),
            "median_peak_lag_s": _num(sc.median_peak_lag_s),
            "median_peak_r": _num(sc.median_peak_r),
            "clear_windows": sc.n_clear_windows,
            "fraction_patient_leads": _num(sig.frac_patient_leads),
            "fraction_clinician_leads": _num(sig.frac_clinician_leads),
            "lead": sc.lead_text,
        },
        "statements": statements_dict(sig),
        "susy": {
            "z": _num(su.z) if su else None,
            "z_pseudo": _num(su.z_pseudo) if su else None,
            "es": _num(su.es) if su else None,
            "z_noabs": _num(su.z_noabs) if su else None,
            "es_noabs": _num(su.es_noabs) if su else None,
            "segments": su.n_segments if su else 0,
        },
        "chance_band_rolling_ci": [_num(sig.timeline.chance_lo), _num(sig.timeline.chance_hi)],
    }


def parameters_dict(config: SessionConfig) -> dict[str, Any]:
    """The analysis parameters, flat: the shared method parameters and the offline ones."""
    own = {k: v for k, v in asdict(config).items() if k != "method"}
    return {k: _num(v) for k, v in {**asdict(config.method), **own}.items()}


def method_parameters() -> dict[str, Any]:
    """Defaults of the DSP functions the analysis calls (read from their signatures)."""

    def defaults(fn: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
        out = {}
        for name, prm in inspect.signature(fn).parameters.items():
            if prm.default is not inspect.Parameter.empty and name not in skip:
                v = prm.default
                out[name] = list(v) if isinstance(v, tuple) else _num(v)
        return out

    def fields(obj: Any) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else _num(v) for k, v in asdict(obj).items()}

    return {
        "ppg_detector": fields(PPG_PARAMS),
        "ecg_detector": fields(ECG_PARAMS),
        "cardiac_quality": defaults(ppg_quality, ("peaks", "kind")),
        "ibi_correction": defaults(ibi_correct),
        "hrv_frequency": defaults(hrv_frequency, ("min_duration_s",)),
        "coherence_ratio": defaults(coherence_ratio, ("window_s",)),
        "eda_quality": defaults(eda_valid_mask),
        "scr_detection": defaults(eda_scr, ("min_amplitude_us", "clean")),
    }


def metrics_dict(a: SessionAnalysis) -> dict[str, Any]:
    """The content of ``metrics.json`` (:data:`SCHEMA_VERSION`)."""
    t0 = a.t_start
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generator": f"attunement {__version__}",
        "analysed_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "file": str(a.path),
        "file_name": a.path.name,
        "recorded_at": a.recorded_at or None,
        "t_start_lsl_s": _num(a.t_start),
        "t_end_lsl_s": _num(a.t_end),
        "duration_s": _num(a.duration_s),
        "inputs": [{k: _num(v) for k, v in asdict(c).items()} for c in a.channels],
        "marker_stream": a.marker_stream or None,
        "markers": [{"t_rel_s": _num(t - t0), "label": lab} for t, lab in a.markers],
        "parameters": parameters_dict(a.config),
        "method_parameters": method_parameters(),
        "warnings": list(a.warnings),
        "notes": list(a.notes),
        "persons": {},
        "concordance": None,
        "segments": {"per_label": [], "per_interval": []},
        # high / low concordance moments, marked moments, blocks (app.analysis.moments; video review)
        "moments": moments_json(a),
    }
    for role, p in a.persons.items():
        d = person_dict(p)
        base, src = a.baseline[role]
        d["baseline"] = {"source": src, **_interval_dict(base)}
        out["persons"][role] = d
    if a.dyad is not None:
        out["concordance"] = {
            "eda": signal_dict(a.dyad.eda),
            "hr": signal_dict(a.dyad.hr),
        }
    info = a.people_info
    out["people"] = [
        {"role": p.role, "colour": p.colour} for p in info.persons if p.role in a.persons
    ]
    out["pairs"] = pairs_json(a.group, contrast_dict) if a.group is not None else _dyad_pairs(a)
    out["group"] = group_json(a.group) if a.group is not None else None
    labels = list(dict.fromkeys(lab for _, _, lab in a.intervals))
    for lab in labels:
        row: dict[str, Any] = {"label": lab}
        for role in a.roles:
            row[role] = _interval_dict(a.person_labels[role][lab])
        if a.dyad is not None:
            for sig in (a.dyad.eda, a.dyad.hr):
                if sig.segments is not None:
                    row[f"{sig.signal}_concordance"] = _seg_dict(sig.segments.by_label(lab), t0)
        out["segments"]["per_label"].append(row)
    for i, (a0, a1, lab) in enumerate(a.intervals):
        row = {"label": lab, "t0_rel_s": _num(a0 - t0), "t1_rel_s": _num(a1 - t0)}
        for role in a.roles:
            row[role] = _interval_dict(a.person_blocks[role][i])
        if a.dyad is not None:
            for sig in (a.dyad.eda, a.dyad.hr):
                if sig.segments is not None:
                    row[f"{sig.signal}_concordance"] = _seg_dict(sig.segments.intervals[i], t0)
        out["segments"]["per_interval"].append(row)
    return out


def _dyad_pairs(a: SessionAnalysis) -> list[dict[str, Any]]:
    """``pairs`` of a two-person session: the one pair, pointing at ``concordance``."""
    if a.dyad is None or len(a.roles) < 2:
        return []
    sig = a.dyad.eda
    sc = sig.session
    st = statements_dict(sig) if sc is not None else {}
    return [
        {
            "people": list(a.roles),
            "signal": "eda",
            "status": "tested" if sc is not None else "not enough data",
            "ci": _num(sc.ci) if sc is not None else None,
            "ci_p_value": _num(sc.surrogate.p_value) if sc is not None else None,
            "statement": (st.get("lead") or {}).get("text") if st else sig.note,
            "details": "concordance.eda (the dyad's full analysis)",
        }
    ]


def listening_minus_talking(m: dict[str, Any], signal: str = "eda") -> float | None:
    """EDA (or HR) CI while listening minus while talking, from a metrics dict (None if absent)."""
    vals = {}
    for row in m.get("segments", {}).get("per_label", []):
        c = row.get(f"{signal}_concordance")
        if c is not None:
            vals[str(row["label"]).lower()] = c.get("ci")
    a, b = vals.get("listening"), vals.get("talking")
    return a - b if a is not None and b is not None else None


# --------------------------------------------------------------------------- CSV outputs


def _fmt(v: Any, nd: int = 4) -> str:
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (float, np.floating)):
        return "" if not math.isfinite(float(v)) else f"{float(v):.{nd}f}"
    return str(v)


def beat_rows(p: PersonSession) -> list[list[str]]:
    """Rows of ``beats_<role>.csv``: used corrected IBIs and excluded detected IBIs, by time."""
    rows: list[tuple[float, list[str]]] = []
    for t, v, c, art in zip(p.ibi_t, p.ibi_ms, p.ibi_corrected, p.ibi_artifact, strict=True):
        if np.isfinite(v):
            rows.append((float(t), [_fmt(t, 4), _fmt(v, 2), _fmt(bool(c)), "1", art]))
    for t, v, why in zip(p.excluded_t, p.excluded_ms, p.excluded_reason, strict=True):
        rows.append((float(t), [_fmt(t, 4), _fmt(v, 2), "0", "0", why]))
    rows.sort(key=lambda r: r[0])
    return [r for _, r in rows]


BEAT_HEADER = ["lsl_time_s", "ibi_ms", "corrected", "used", "artifact"]


def timeseries_rows(a: SessionAnalysis) -> tuple[list[str], list[list[str]]]:
    """1 Hz table: HR and SCL of both people, rolling concordance, WCC peak, percentile."""
    t = np.arange(math.floor(a.t_start), math.floor(a.t_end) + 1, 1.0)
    if a.dyad is not None and a.dyad.eda.timeline.t.size:
        t = a.dyad.eda.timeline.t
    header = ["lsl_time_s", "t_rel_s"]
    cols: list[np.ndarray] = []
    for role in a.people:
        p = a.persons.get(role)
        header += [f"hr_{role}_bpm", f"scl_{role}_us"]
        if p is None:
            cols += [np.full(t.shape, np.nan)] * 2
            continue
        cols.append(p.hr_on_grid(t))
        cols.append(p.eda_on_grid(t) if p.has_eda else np.full(t.shape, np.nan))
    for sig in ("eda", "hr"):
        header += [
            f"{sig}_ci_rolling",
            f"{sig}_ci_percentile",
            f"{sig}_chance_lo",
            f"{sig}_chance_hi",
            f"{sig}_wcc_peak_r",
            f"{sig}_wcc_lag_s",
        ]
        if a.dyad is None:
            cols += [np.full(t.shape, np.nan)] * 6
            continue
        tl = getattr(a.dyad, sig).timeline

        def on(v: np.ndarray, tl=tl) -> np.ndarray:
            out = np.full(t.shape, np.nan)
            if tl.t.size:
                k = np.rint(t - tl.t[0]).astype(int)
                ok = (k >= 0) & (k < tl.t.size)
                out[ok] = v[k[ok]]
            return out

        cols += [
            on(tl.ci_rolling),
            on(tl.percentile),
            np.full(t.shape, tl.chance_lo),
            np.full(t.shape, tl.chance_hi),
            on(tl.wcc_peak_r),
            on(tl.wcc_lag_s),
        ]
    texts = [_fmt_column(t, 3), _fmt_column(t - a.t_start, 3)]
    texts += [_fmt_column(c, 4) for c in cols]
    return header, [list(row) for row in zip(*texts, strict=True)]


def _fmt_column(values: np.ndarray, nd: int) -> list[str]:
    """:func:`_fmt` of every value of a float column (the same text, without a call per
    value: a 60-min timeseries holds ~100 000 of them)."""
    return [
        f"{v:.{nd}f}" if math.isfinite(v) else "" for v in np.asarray(values, dtype=float).tolist()
    ]


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_outputs(
    a: SessionAnalysis,
    outdir: str | Path,
    formats: Sequence[str] = FORMATS,
    thumbnails: bool = False,
) -> list[Path]:
    """Write the requested files of one session into ``outdir`` (created if needed);
    ``thumbnails``: the report shows a video frame per moment."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    m = metrics_dict(a)
    if "json" in formats:
        p = out / METRICS_JSON
        p.write_text(json.dumps(m, indent=2, ensure_ascii=False, allow_nan=False) + "\n", "utf-8")
        written.append(p)
    if "csv" in formats:
        for role in a.roles:
            if role in a.persons:
                written.append(
                    _write_csv(out / beats_csv(role), BEAT_HEADER, beat_rows(a.persons[role]))
                )
        h, rows = timeseries_rows(a)
        written.append(_write_csv(out / TIMESERIES_CSV, h, rows))
    if "html" in formats:
        written.append(write_report(a, out / REPORT_HTML, metrics=m, thumbnails=thumbnails))
    return written


# --------------------------------------------------------------------------- summary


SUMMARY_FIELDS = [
    "file",
    "status",
    "recorded_at",
    "duration_s",
    "persons",
    "patient_mean_hr_bpm",
    "patient_rmssd_ms",
    "patient_sdnn_ms",
    "patient_lf_hf",
    "patient_coherence_ratio",
    "patient_scl_us",
    "patient_scr_per_min",
    "clinician_mean_hr_bpm",
    "clinician_rmssd_ms",
    "clinician_sdnn_ms",
    "clinician_lf_hf",
    "clinician_coherence_ratio",
    "clinician_scl_us",
    "clinician_scr_per_min",
    "eda_ci",
    "eda_ksi",
    "eda_p_value",
    "eda_median_peak_lag_s",
    "eda_fraction_patient_leads",
    "eda_susy_es",
    "hr_ci",
    "hr_p_value",
    "eda_ci_listening_minus_talking",
    "group_people",
    "group_index",
    "group_index_p_value",
    "group_coupled_pairs",
    *STATEMENT_FIELDS,
    "warnings",
    "output",
]


def summary_row(m: dict[str, Any], output: str) -> dict[str, Any]:
    """One ``summary.csv`` row from a metrics dict."""
    row: dict[str, Any] = {k: "" for k in SUMMARY_FIELDS}
    row.update(
        file=m["file_name"],
        status="ok",
        recorded_at=m.get("recorded_at") or "",
        duration_s=_fmt(m["duration_s"], 1),
        persons="+".join(m["persons"]),
        warnings=" | ".join(m["warnings"]),
        output=output,
    )
    for role, p in m["persons"].items():
        if role not in ("patient", "clinician"):
            continue  # a group's people: group_* columns and each session's metrics.json
        for k in ("mean_hr_bpm", "rmssd_ms", "sdnn_ms", "lf_hf", "coherence_ratio", "scl_us"):
            row[f"{role}_{k}"] = _fmt(p.get(k), 3)
        row[f"{role}_scr_per_min"] = _fmt(p.get("scr_per_min"), 3)
    c = m.get("concordance") or {}
    e, h = c.get("eda") or {}, c.get("hr") or {}
    if e.get("available"):
        row.update(
            eda_ci=_fmt(e["marci_ci"], 4),
            eda_ksi=_fmt(e["ksi"], 4),
            eda_p_value=_fmt(e["surrogate"]["p_value"], 4),
            eda_median_peak_lag_s=_fmt(e["wcc"]["median_peak_lag_s"], 2),
            eda_fraction_patient_leads=_fmt(e["wcc"]["fraction_patient_leads"], 3),
            eda_susy_es=_fmt(e["susy"]["es"], 3),
        )
    if h.get("available"):
        row.update(hr_ci=_fmt(h["marci_ci"], 4), hr_p_value=_fmt(h["surrogate"]["p_value"], 4))
    row["eda_ci_listening_minus_talking"] = _fmt(listening_minus_talking(m), 4)
    g = m.get("group") or {}
    if g:
        gi = g.get("index") or {}
        row.update(
            group_people="+".join(g.get("people", [])),
            group_index=_fmt(gi.get("value"), 4),
            group_index_p_value=_fmt(gi.get("p_value"), 4),
            group_coupled_pairs=" ".join("-".join(pr) for pr in g.get("coupled_pairs", [])),
        )
    row.update(statement_columns(m))
    return row
