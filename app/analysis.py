"""Offline analysis of recorded sessions: XDF file -> frozen result -> metrics.json, CSVs, report.

No Qt here. The numbers come from :mod:`dsp.session` and :mod:`dsp.concordance.dyad`, which apply the live engine's
detectors, HRV, EDA and concordance functions to whole recordings.

Stream choice: the file's stream headers become :class:`devices.lsl.StreamDescription` objects
and go through :func:`devices.assign.assign` exactly like live streams (``--role``, ``--map``,
role words in names). A file with one person's streams and no role words (a LabRecorder file
of one participant) is analysed as that one person. Marker streams (type ``Markers`` or string
format, or the one chosen by ``--segments-from``) give the session's blocks: every marker
starts a block that lasts until the next marker.

Output files (per session folder)
---------------------------------
``metrics.json``, ``beats_patient.csv``, ``beats_clinician.csv``, ``timeseries.csv``,
``report.html``; several input files add ``summary.csv`` (one row per session).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from devices.assign import ROLES, Assignment, MapError, assign, load_map, modality_of
from devices.lsl import StreamDescription
from devices.xdf_reader import XdfReadError, XdfStream, XdfTruncatedWarning, load_recording
from dsp.concordance.dyad import DyadSession, DyadSignal, analyze_dyad
from dsp.concordance.segments import SegmentStats, intervals_from_markers
from dsp.session import (
    PersonInterval,
    PersonSession,
    SessionConfig,
    analyze_person,
    person_interval,
)

SCHEMA_VERSION = 1
FORMATS = ("json", "csv", "html")
EDA_UNITS = ("", "us", "µs", "μs", "microsiemens", "micro siemens", "usiemens", "µsiemens")

Progress = Callable[[float, str], None]


class AnalysisError(Exception):
    """The file cannot be analysed (one clear line, exit status 2)."""


@dataclass(frozen=True)
class AnalysisOptions:
    """What to analyse and how.

    Attributes
    ----------
    roles : dict
        ``{"patient": GLOB, "clinician": GLOB}`` from ``--role``.
    map_path : str or None
        TOML stream map (``--map``).
    segments_from : str or None
        Glob on the name/type/source_id of the marker stream defining the blocks.
    eda_scale : float or None
        Factor turning the EDA channels' stored values into µS (for amplifiers that store
        skin conductance in other units, e.g. a GSR module's voltage); None: the stream must
        already be in µS (unit empty or microsiemens), otherwise its EDA is skipped.
    formats : tuple of str
        Any of 'json', 'csv', 'html'.
    config : SessionConfig
        DSP parameters.
    """

    roles: dict = field(default_factory=dict)
    map_path: str | None = None
    segments_from: str | None = None
    formats: tuple[str, ...] = FORMATS
    config: SessionConfig = SessionConfig()  # noqa: RUF009
    eda_scale: float | None = None


@dataclass(frozen=True)
class InputChannel:
    """One signal taken from the file.

    Attributes
    ----------
    role, modality : str
        'patient'/'clinician' and 'eda'/'ppg'/'ecg'.
    stream, stream_type, source_id : str
        The stream's header fields.
    channel, label, unit : int, str, str
        0-based channel index, its label and unit.
    nominal_srate, srate_used : float
        Declared rate and the rate used for analysis (Hz).
    n_samples : int
        Samples in the file.
    t_first, t_last : float
        First and last timestamp (s, LSL clock).
    why : str
        How the assignment was made.
    """

    role: str
    modality: str
    stream: str
    stream_type: str
    source_id: str
    channel: int
    label: str
    unit: str
    nominal_srate: float
    srate_used: float
    n_samples: int
    t_first: float
    t_last: float
    why: str


@dataclass(frozen=True, eq=False)
class SessionAnalysis:
    """Everything computed for one file.

    Attributes
    ----------
    path : Path
        The XDF file.
    recorded_at : str
        FileHeader datetime ('' when absent).
    t_start, t_end : float
        Earliest and latest sample of the analysed signals (s, LSL clock).
    channels : tuple of InputChannel
    persons : dict
        role -> PersonSession (only the roles present).
    dyad : DyadSession or None
        None for one-person files.
    markers : tuple of (float, str)
        Marker time (s) and label.
    marker_stream : str
        Name(s) of the marker stream(s) used.
    intervals : tuple of (float, float, str)
        Blocks from the markers.
    person_labels : dict
        role -> {label -> PersonInterval}.
    person_blocks : dict
        role -> list of PersonInterval, one per interval.
    baseline : dict
        role -> (PersonInterval, source text).
    warnings : tuple of str
    notes : tuple of str
        Statements for the reader (e.g. concordance needs two people).
    config : SessionConfig
    elapsed_s : float
        Analysis time (s).
    """

    path: Path
    recorded_at: str
    t_start: float
    t_end: float
    channels: tuple[InputChannel, ...]
    persons: dict
    dyad: DyadSession | None
    markers: tuple[tuple[float, str], ...]
    marker_stream: str
    intervals: tuple[tuple[float, float, str], ...]
    person_labels: dict
    person_blocks: dict
    baseline: dict
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    config: SessionConfig
    elapsed_s: float

    @property
    def duration_s(self) -> float:
        """Analysed span (s)."""
        return float(self.t_end - self.t_start) if math.isfinite(self.t_start) else 0.0

    @property
    def roles(self) -> tuple[str, ...]:
        """Roles present, patient first."""
        return tuple(r for r in ROLES if r in self.persons)


# --------------------------------------------------------------------------- input


def describe_stream(s: XdfStream) -> StreamDescription:
    """A :class:`StreamDescription` built from an XDF stream header (for role assignment)."""
    host = s.info.get("hostname") if isinstance(s.info, dict) else None
    hostname = host[0] if isinstance(host, list) and host and isinstance(host[0], str) else ""
    uid = s.info.get("uid") if isinstance(s.info, dict) else None
    return StreamDescription(
        name=s.name,
        type=s.type,
        source_id=s.source_id,
        hostname=hostname or "",
        nominal_srate=float(s.nominal_srate),
        channel_count=int(s.n_channels),
        channel_format=s.channel_format or "float32",
        uid=f"xdf{s.stream_id}:{uid[0] if isinstance(uid, list) and uid else ''}",
        labels=s.labels,
        units=s.units,
    )


def _is_marker_stream(s: XdfStream) -> bool:
    return s.type.strip().lower() in ("markers", "marker", "events") or (
        s.is_string and s.nominal_srate == 0
    )


def _srate(s: XdfStream) -> float:
    if s.nominal_srate > 0:
        return float(s.nominal_srate)
    if s.effective_srate > 0:
        return float(s.effective_srate)
    if s.n_samples > 2:
        d = np.diff(s.timestamps)
        d = d[d > 0]
        if d.size:
            return float(1.0 / np.median(d))
    return 0.0


def _choose(
    streams: Sequence[XdfStream], options: AnalysisOptions
) -> tuple[Assignment, dict[str, XdfStream], list[str]]:
    """Assign usable streams; falls back to one person when the file holds one person."""
    notes: list[str] = []
    usable = [s for s in streams if not s.is_string and s.n_samples >= 2]
    descs = [describe_stream(s) for s in usable]
    by_uid = {d.uid: s for d, s in zip(descs, usable, strict=True)}
    roles = options.roles or None
    mapping = load_map(options.map_path) if options.map_path and not roles else None
    result = assign(descs, roles=roles, mapping=mapping)
    if not result.channels and not roles and not mapping:
        typed = [d for d in descs if modality_of(d.type)]
        per_mod: dict[str, list[StreamDescription]] = {}
        for d in typed:
            m = modality_of(d.type)
            assert m is not None
            per_mod.setdefault(m, []).append(d)
        if typed and all(len(v) == 1 for v in per_mod.values()):
            mods = {m: v[0] for m, v in per_mod.items()}
            if "ppg" in mods and "ecg" in mods:
                mods.pop("ppg")  # ECG beats are the better reference when both exist
            fake_roles: dict[str, dict[str, dict[str, str | int]]] = {
                "patient": {
                    m: {"stream": d.name, "channel": _default_channel(d, m)}
                    for m, d in mods.items()
                }
            }
            result = assign(list(mods.values()), mapping=fake_roles)
            result = Assignment(
                tuple(replace(c, why="the only such stream in the file") for c in result.channels),
                result.problems,
            )
            notes.append(
                "one person in this file: analysed as 'patient' (use --role or --map to name "
                "the roles)"
            )
    return result, by_uid, notes


def _default_channel(d: StreamDescription, modality: str) -> int:
    from devices.assign import LABEL_WORDS

    labels = [lab.lower() for lab in d.labels]
    for i, lab in enumerate(labels):
        if lab in LABEL_WORDS[modality]:
            return i
    if modality == "ppg":
        # multi-wavelength optical sensors (e.g. Muse: LUX, IR, RED): the pulse is in IR/green
        for want in ("ir", "infrared", "green", "ppg2", "red"):
            if want in labels:
                return labels.index(want)
    return 0


def _usable_summary(streams: Sequence[XdfStream]) -> str:
    parts = []
    for s in streams:
        what = "markers" if s.is_string else f"{s.n_channels} ch"
        parts.append(f"{s.name or '?'} [{s.type or '?'}] {what}, {s.n_samples} samples")
    return "; ".join(parts) or "none"


def _markers(
    streams: Sequence[XdfStream], pattern: str | None
) -> tuple[list[tuple[float, str]], str, list[str]]:
    warn: list[str] = []
    if pattern:
        chosen = [s for s in streams if s.matches(pattern)]
        if not chosen:
            raise AnalysisError(
                f"no marker stream matches --segments-from {pattern!r} "
                f"(streams: {_usable_summary(streams)})"
            )
    else:
        chosen = [s for s in streams if _is_marker_stream(s)]
    out: list[tuple[float, str]] = []
    for s in chosen:
        for row, t in zip(s.values, s.timestamps, strict=False):
            v = row[0] if len(row) else ""
            if isinstance(v, (float, np.floating)) and float(v).is_integer():
                v = int(v)
            label = str(v).strip()
            if label and math.isfinite(float(t)):
                out.append((float(t), label))
    out.sort(key=lambda m: m[0])
    names = ", ".join(sorted({s.name for s in chosen if s.n_samples}))
    return out, names, warn


def _signal(rec_stream: XdfStream, channel: int) -> tuple[np.ndarray, np.ndarray, float]:
    x = np.asarray(rec_stream.values[:, channel], dtype=float)
    t = np.asarray(rec_stream.timestamps, dtype=float)
    order_ok = np.all(np.diff(t) >= 0) if t.size > 1 else True
    if not order_ok:
        idx = np.argsort(t, kind="stable")
        x, t = x[idx], t[idx]
    return x, t, _srate(rec_stream)


# --------------------------------------------------------------------------- analysis


def analyze_file(
    path: str | Path,
    options: AnalysisOptions = AnalysisOptions(),  # noqa: B008
    progress: Progress | None = None,
) -> SessionAnalysis:
    """Analyse one XDF file.

    Parameters
    ----------
    path : str or Path
        ``.xdf`` (or ``.xdfz``) recording.
    options : AnalysisOptions
    progress : callable, optional
        ``progress(fraction 0..1, stage text)``.

    Returns
    -------
    SessionAnalysis

    Raises
    ------
    AnalysisError
        Unreadable, empty or non-XDF file, or no usable EDA/PPG/ECG signal (one line).
    """
    t_clock = time.perf_counter()
    step = progress or (lambda f, s: None)
    path = Path(path)
    cfg = options.config
    step(0.0, "loading")
    warn: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", XdfTruncatedWarning)
            rec = load_recording(path)
    except XdfReadError as exc:
        raise AnalysisError(str(exc)) from None
    if rec.truncated:
        warn.append(
            f"{rec.warnings[0]}; the session is analysed up to where the file ends"
            if rec.warnings
            else f"{path}: file is truncated; analysed up to where it ends"
        )
    warn.extend(w for w in rec.warnings[1 if rec.truncated else 0 :] if "Segments and" not in w)
    try:
        assignment, by_uid, notes = _choose(rec.streams, options)
    except MapError as exc:
        raise AnalysisError(str(exc)) from None
    if not assignment.channels:
        if options.roles or options.map_path:
            why = assignment.problem_text
        else:
            why = (
                "no stream with data is typed EDA/GSR/SCL/PPG/BVP/ECG or named for a role "
                "(patient/clinician)"
            )
        raise AnalysisError(
            f"{path}: no usable EDA/PPG/ECG signal: {why}. Streams in the file: "
            f"{_usable_summary(rec.streams)}. Map them with --role ROLE=GLOB or --map FILE.toml"
        )
    if assignment.problems and (options.roles or options.map_path):
        bad = [p for p in assignment.problems if p.blocks_assigned]
        if bad:
            raise AnalysisError(f"{path}: " + " | ".join(str(p) for p in bad))
    markers, marker_names, mwarn = _markers(rec.streams, options.segments_from)
    warn.extend(mwarn)
    channels: list[InputChannel] = []
    signals: dict[str, dict[str, tuple[np.ndarray, np.ndarray, float, str]]] = {}
    for ch in assignment.channels:
        s = by_uid[ch.stream.uid]
        x, t, fs = _signal(s, ch.channel)
        unit = s.units[ch.channel] if ch.channel < len(s.units) else ""
        if fs <= 0:
            warn.append(f"{ch.role} {ch.modality}: {s.name!r} has no usable sampling rate; skipped")
            continue
        if ch.modality == "eda" and options.eda_scale is not None:
            x = x * float(options.eda_scale)
            unit = f"µS (= {unit or 'stored value'} x {options.eda_scale:g})"
        elif ch.modality == "eda" and unit.strip().lower() not in EDA_UNITS:
            warn.append(
                f"{ch.role} EDA: channel {ch.label!r} of {s.name!r} is in {unit!r}, not µS; "
                "EDA metrics (µS quality rules, SCR threshold) are not computed for it "
                "(give --eda-scale FACTOR to convert it to µS)"
            )
            continue
        if not np.isfinite(x).any():
            warn.append(f"{ch.role} {ch.modality}: {s.name!r} holds no finite value; skipped")
            continue
        channels.append(
            InputChannel(
                role=ch.role, modality=ch.modality, stream=s.name, stream_type=s.type,
                source_id=s.source_id, channel=ch.channel, label=ch.label, unit=unit,
                nominal_srate=float(s.nominal_srate), srate_used=fs, n_samples=int(x.size),
                t_first=float(t[0]), t_last=float(t[-1]), why=ch.why,
            )
        )  # fmt: skip
        signals.setdefault(ch.role, {})[ch.modality] = (x, t, fs, unit)
    if not signals:
        raise AnalysisError(
            f"{path}: no usable EDA/PPG/ECG signal; "
            + " | ".join(warn[-3:] or [str(p) for p in assignment.problems])
        )
    persons: dict[str, PersonSession] = {}
    roles_present = [r for r in ROLES if r in signals]
    for i, role in enumerate(roles_present):
        step(0.1 + 0.4 * i / len(roles_present), f"{role}: beats, HRV, EDA")
        sig = signals[role]
        card = sig.get("ecg") or sig.get("ppg")
        kind = "ecg" if "ecg" in sig else "ppg"
        eda = sig.get("eda")
        persons[role] = analyze_person(
            cardiac=card[0] if card else None,
            cardiac_t=card[1] if card else None,
            cardiac_fs=card[2] if card else math.nan,
            cardiac_kind=kind,
            eda=eda[0] if eda else None,
            eda_t=eda[1] if eda else None,
            eda_fs=eda[2] if eda else math.nan,
            config=cfg,
        )
        p = persons[role]
        if p.has_cardiac and p.n_beats == 0:
            warn.append(f"{role}: no heart beat found in the {kind.upper()} signal")
    t_start = min(p.t_start for p in persons.values())
    t_end = max(p.t_end for p in persons.values())
    if rec.truncated:
        notes.append(f"the file is truncated: analysed up to {t_end - t_start:.1f} s")
    # blocks from markers, clipped to the session
    inside = [(t, lab) for t, lab in markers if t < t_end]
    intervals: list[tuple[float, float, str]] = []
    if inside:
        iv = intervals_from_markers(
            [max(t, t_start) for t, _ in inside], [m for _, m in inside], t_end
        )
        intervals = [(a, b, lab) for a, b, lab in iv if b > a]
    dyad = None
    if "patient" in persons and "clinician" in persons:
        step(0.55, "concordance (EDA, HR, surrogates)")
        dyad = analyze_dyad(persons["patient"], persons["clinician"], intervals, cfg)
        for sig in (dyad.eda, dyad.hr):
            if sig.note:
                notes.append(sig.note)
    else:
        only = roles_present[0]
        notes.append(
            f"only one person ({only}) in this file: concordance needs two people, so only the "
            "per-person part is reported"
        )
    step(0.9, "segments")
    person_labels: dict[str, dict[str, PersonInterval]] = {}
    person_blocks: dict[str, list[PersonInterval]] = {}
    baseline: dict[str, tuple[PersonInterval, str]] = {}
    for role, p in persons.items():
        labs: dict[str, list[tuple[float, float]]] = {}
        for a, b, lab in intervals:
            labs.setdefault(lab, []).append((a, b))
        person_labels[role] = {lab: person_interval(p, spans) for lab, spans in labs.items()}
        person_blocks[role] = [person_interval(p, [(a, b)]) for a, b, _ in intervals]
        base_key = next((k for k in labs if k.lower().startswith("baseline")), None)
        if base_key is not None:
            baseline[role] = (person_labels[role][base_key], f"marker {base_key!r}")
        else:
            b1 = min(t_start + cfg.baseline_s, t_end)
            baseline[role] = (
                person_interval(p, [(t_start, b1)]),
                f"first {b1 - t_start:.0f} s (no 'baseline' marker)",
            )
    recorded = rec.file_header.get("datetime") if isinstance(rec.file_header, dict) else None
    recorded_at = recorded[0] if isinstance(recorded, list) and recorded else ""
    step(1.0, "done")
    return SessionAnalysis(
        path=path,
        recorded_at=str(recorded_at or ""),
        t_start=float(t_start),
        t_end=float(t_end),
        channels=tuple(channels),
        persons=persons,
        dyad=dyad,
        markers=tuple(markers),
        marker_stream=marker_names,
        intervals=tuple(intervals),
        person_labels=person_labels,
        person_blocks=person_blocks,
        baseline=baseline,
        warnings=tuple(warn),
        notes=tuple(notes),
        config=cfg,
        elapsed_s=time.perf_counter() - t_clock,
    )


# --------------------------------------------------------------------------- metrics.json


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
    d = {k: _num(v) for k, v in asdict(s).items()}
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


def method_parameters() -> dict[str, Any]:
    """Defaults of the DSP functions the analysis calls (read from their signatures)."""
    import inspect

    from dsp.ecg import ECG_PARAMS
    from dsp.eda import eda_scr
    from dsp.hrv import coherence_ratio, hrv_frequency, ibi_correct
    from dsp.ppg import PPG_PARAMS
    from dsp.quality import eda_valid_mask, ppg_quality

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
    """The content of ``metrics.json`` (schema version 1)."""
    from app import __version__

    t0 = a.t_start
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generator": f"attunement {__version__}",
        "analysed_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "file": str(a.path),
        "file_name": a.path.name,
        "recorded_at": a.recorded_at or None,
        "t_start_lsl_s": _num(a.t_start),
        "t_end_lsl_s": _num(a.t_end),
        "duration_s": _num(a.duration_s),
        "inputs": [{k: _num(v) for k, v in asdict(c).items()} for c in a.channels],
        "marker_stream": a.marker_stream or None,
        "markers": [{"t_rel_s": _num(t - t0), "label": lab} for t, lab in a.markers],
        "parameters": {k: _num(v) for k, v in asdict(a.config).items()},
        "method_parameters": method_parameters(),
        "warnings": list(a.warnings),
        "notes": list(a.notes),
        "persons": {},
        "concordance": None,
        "segments": {"per_label": [], "per_interval": []},
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
    for role in ROLES:
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
    rows = []
    for i, ti in enumerate(t):
        rows.append([_fmt(ti, 3), _fmt(ti - a.t_start, 3)] + [_fmt(c[i], 4) for c in cols])
    return header, rows


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_outputs(
    a: SessionAnalysis, outdir: str | Path, formats: Sequence[str] = FORMATS
) -> list[Path]:
    """Write the requested files of one session into ``outdir`` (created if needed)."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    m = metrics_dict(a)
    if "json" in formats:
        p = out / "metrics.json"
        p.write_text(json.dumps(m, indent=2, ensure_ascii=False, allow_nan=False) + "\n", "utf-8")
        written.append(p)
    if "csv" in formats:
        for role in ROLES:
            if role in a.persons:
                written.append(
                    _write_csv(out / f"beats_{role}.csv", BEAT_HEADER, beat_rows(a.persons[role]))
                )
        h, rows = timeseries_rows(a)
        written.append(_write_csv(out / "timeseries.csv", h, rows))
    if "html" in formats:
        from app.report import write_report

        written.append(write_report(a, out / "report.html", metrics=m))
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
    return row


# --------------------------------------------------------------------------- cache

CACHE_VERSION = 1


def cache_dir() -> Path:
    """Folder of cached analyses: ``$ATTUNE_CACHE_DIR``, else ``<user cache>/attunement/analysis``."""
    env = os.environ.get("ATTUNE_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "attunement" / "analysis"


def _cache_file(path: Path, options: AnalysisOptions) -> Path:
    import hashlib

    st = path.stat()
    what = (
        options.roles,
        options.map_path,
        options.segments_from,
        options.config,
        options.eda_scale,
    )
    text = f"{CACHE_VERSION}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{what!r}"
    return cache_dir() / f"{hashlib.sha256(text.encode('utf-8')).hexdigest()[:32]}.pkl"


def cache_load(path: str | Path, options: AnalysisOptions) -> SessionAnalysis | None:
    """The cached analysis of ``path`` with these options (None when absent or stale).

    The key holds the file's resolved path, size and modification time and the options that
    change the numbers; the cache is the user's own (0700 folder, 0600 files).
    """
    import pickle

    try:
        f = _cache_file(Path(path), options)
        with open(f, "rb") as fh:
            a = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None
    return a if isinstance(a, SessionAnalysis) else None


def cache_store(path: str | Path, options: AnalysisOptions, a: SessionAnalysis) -> None:
    """Save ``a`` for :func:`cache_load` (best effort: errors are ignored)."""
    import pickle

    try:
        f = _cache_file(Path(path), options)
        f.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = f.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(a, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, f)
    except (OSError, pickle.PicklingError):
        pass


# --------------------------------------------------------------------------- batch


def _job(path: str, outdir: str, options: AnalysisOptions) -> tuple[str, Any, list[str]]:
    """Worker: analyse and write one file; returns (status, summary row or message, warnings)."""
    try:
        a = analyze_file(path, options)
        write_outputs(a, outdir, options.formats)
        cache_store(path, options, a)
        m = metrics_dict(a)
        return "ok", summary_row(m, str(outdir)), list(a.warnings)
    except AnalysisError as exc:
        return "error", str(exc), []
    except (OSError, ValueError, MemoryError) as exc:
        return "error", f"{path}: {type(exc).__name__}: {exc}", []


def output_dirs(paths: Sequence[str | Path], outdir: str | Path) -> list[Path]:
    """One output folder per input: ``outdir`` itself for one file, ``outdir/<stem>`` else."""
    out = Path(outdir)
    if len(paths) == 1:
        return [out]
    seen: dict[str, int] = {}
    dirs = []
    for p in paths:
        stem = Path(p).name.split(".")[0] or "session"
        if Path(p).name == "recording.xdf":
            stem = Path(p).resolve().parent.name or stem
        n = seen.get(stem, 0)
        seen[stem] = n + 1
        dirs.append(out / (stem if n == 0 else f"{stem}-{n + 1}"))
    return dirs


class ProgressBar:
    """A one-line progress bar on stderr (only drawn when stderr is a terminal)."""

    def __init__(self, label: str, stream: Any = None, width: int = 30) -> None:
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.label = label
        self.width = width
        self.t0 = time.monotonic()

    def __call__(self, frac: float, stage: str) -> None:
        if not self.enabled:
            return
        n = int(round(max(0.0, min(1.0, frac)) * self.width))
        bar = "#" * n + "-" * (self.width - n)
        line = f"\r{self.label} [{bar}] {100 * frac:3.0f}% {stage:<36.36} {time.monotonic() - self.t0:5.1f} s"
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def analyze_paths(
    paths: Sequence[str | Path],
    outdir: str | Path,
    options: AnalysisOptions,
    jobs: int | None = None,
    log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True),
) -> tuple[int, list[dict[str, Any]]]:
    """Analyse several files in parallel (process pool); write ``summary.csv`` when > 1.

    Returns
    -------
    (n_failed, summary rows)
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed

    dirs = output_dirs(paths, outdir)
    rows: list[dict[str, Any] | None] = [None] * len(paths)
    failed = 0
    if len(paths) == 1:
        bar = ProgressBar(Path(paths[0]).name)
        try:
            a = analyze_file(paths[0], options, progress=bar)
            bar(0.95, "writing report")
            write_outputs(a, dirs[0], options.formats)
            cache_store(paths[0], options, a)
            bar(1.0, "done")
        finally:
            bar.close()
        for w in a.warnings:
            log(f"attune: warning: {w}")
        rows[0] = summary_row(metrics_dict(a), str(dirs[0]))
        return 0, [r for r in rows if r is not None]
    n_workers = max(1, min(len(paths), jobs or os.cpu_count() or 1))
    bar = ProgressBar(f"{len(paths)} files")
    done = 0
    with ProcessPoolExecutor(max_workers=n_workers) as pool:
        futs = {
            pool.submit(_job, str(p), str(d), options): i
            for i, (p, d) in enumerate(zip(paths, dirs, strict=True))
        }
        for fut in as_completed(futs):
            i = futs[fut]
            status, payload, warns = fut.result()
            done += 1
            bar(done / len(paths), Path(paths[i]).name)
            if status == "ok":
                rows[i] = payload
                for w in warns:
                    log(f"attune: warning: {w}")
            else:
                failed += 1
                log(f"attune: error: {payload}")
                r = {k: "" for k in SUMMARY_FIELDS}
                r.update(file=Path(paths[i]).name, status="error", warnings=payload)
                rows[i] = r
    bar.close()
    Path(outdir).mkdir(parents=True, exist_ok=True)
    with open(Path(outdir) / "summary.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=SUMMARY_FIELDS)
        w.writeheader()
        for r in rows:
            if r is not None:
                w.writerow(r)
    return failed, [r for r in rows if r is not None]


# --------------------------------------------------------------------------- demo files


def _header_xml(name: str, stype: str, fmt: str, labels: Sequence[str], unit: str, srate: float,
                source_id: str) -> str:  # fmt: skip
    chans = "".join(
        f"<channel><label>{lab}</label><unit>{unit}</unit><type>{stype}</type></channel>"
        for lab in labels
    )
    return (
        '<?xml version="1.0"?><info>'
        f"<name>{name}</name><type>{stype}</type><channel_count>{len(labels)}</channel_count>"
        f"<channel_format>{fmt}</channel_format><source_id>{source_id}</source_id>"
        f"<nominal_srate>{srate}</nominal_srate><version>1.1</version>"
        f"<created_at>0</created_at><uid>{source_id}</uid><session_id>default</session_id>"
        f"<hostname>simulator</hostname><desc><channels>{chans}</channels></desc></info>"
    )


def write_simulated_xdf(
    path: str | Path,
    dyad: Any,
    t0: float = 1000.0,
    markers: Sequence[tuple[float, str]] = (),
    prefix: str = "AttuneSim",
) -> Path:
    """Write a simulated dyad (:func:`dsp.simulate.simulate_dyad`) as an XDF recording.

    Per person an EDA stream (type EDA, µS) and a PPG stream (type PPG) named
    ``<prefix>-<role>-EDA/PPG``, the simulator's sample ``i`` stamped ``t0 + i / fs`` (s), in
    1 s chunks with a clock offset every 5 s, plus a ``Markers`` stream with ``markers``
    (seconds from the simulation start, label). Used for demos, tests and benchmarks.
    """
    from devices.xdf_writer import XdfWriter

    with XdfWriter(path, overwrite=True, header_fields={"recorder": "attunement simulator"}) as w:
        plan = []
        for role in ROLES:
            pr = getattr(dyad, role)
            for mod, x, fs, unit in (
                ("EDA", pr.eda, pr.eda_fs, "microsiemens"),
                ("PPG", pr.ppg, pr.ppg_fs, "a.u."),
            ):
                name = f"{prefix}-{role}-{mod}"
                sid = w.add_stream(_header_xml(name, mod, "float32", [mod], unit, fs, name))
                plan.append((sid, np.asarray(x, dtype=np.float32), float(fs)))
        mk = w.add_stream(
            _header_xml(f"{prefix}-Markers", "Markers", "string", ["label"], "", 0.0, "mk")
        )
        dur = max(x.size / fs for _, x, fs in plan)
        for s0 in np.arange(0.0, dur, 1.0):
            for sid, x, fs in plan:
                i0, i1 = int(round(s0 * fs)), min(int(round((s0 + 1.0) * fs)), x.size)
                if i1 > i0:
                    w.write_samples(sid, x[i0:i1, None], t0 + np.arange(i0, i1) / fs)
                if int(s0) % 5 == 0:
                    w.write_clock_offset(sid, t0 + s0, 0.0)
            due = [(t, lab) for t, lab in markers if s0 <= t < s0 + 1.0]
            if due:
                w.write_samples(mk, [[lab] for _, lab in due], [t0 + t for t, _ in due])
    return Path(path)
