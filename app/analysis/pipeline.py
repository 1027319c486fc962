"""The offline pipeline: one XDF file -> :class:`SessionAnalysis` (frozen, no I/O after loading).

No Qt here. The numbers come from :mod:`dsp.session` and :mod:`dsp.concordance.dyad`, which
apply the live engine's detectors, HRV, EDA and concordance functions to whole recordings.
Every marker starts a block that lasts until the next marker.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from app.analysis.group import GroupAnalysis, analyze_group
from app.analysis.inputs import (
    EDA_UNITS,
    AnalysisError,
    AnalysisOptions,
    InputChannel,
    channel_resolution,
    channel_signal,
    choose_streams,
    read_markers,
    recording_map,
    stream_origin,
    streams_summary,
)
from app.heartpy_peer import HeartpyEstimate, PeerCheck, heartpy_ppg_estimate, longest_span
from app.people import People, people_model
from devices.assign import ROLES, Assignment, Channel, MapError
from devices.intervals import IntervalBeats
from devices.markers import block_label, marker_blocks
from devices.profiles import ConversionKind
from devices.xdf_reader import (
    XdfReadError,
    XdfRecording,
    XdfStream,
    XdfTruncatedWarning,
    load_recording,
)
from dsp.concordance.dyad import DyadSession, analyze_dyad
from dsp.session import (
    PersonInterval,
    PersonSession,
    SessionConfig,
    analyze_person,
    person_interval,
)

Progress = Callable[[float, str], None]
"""``progress(fraction 0..1, stage text)``."""

Signals = dict[str, dict[str, tuple[np.ndarray, np.ndarray, float, str]]]
"""role -> modality -> (values, timestamps s, sampling rate Hz, unit)."""

#: Recordings at least this long (s) are analysed on two cores: the clinician's beats, HRV
#: and EDA and the HR concordance in a second process while this one computes the patient's
#: and the EDA concordance (the same functions, so the same numbers). Shorter ones run in one
#: process, where starting a second would cost more than it saves.
PARALLEL_MIN_S = 600.0


@contextmanager
def _second_core(signals: Signals, wanted: bool | None = None) -> Iterator[Executor | None]:
    """A one-worker process pool when the recording is long, two or more cores exist and this
    is not already a worker (a batch's pool uses the cores; ``wanted`` True: even so; False:
    never), else None."""
    span = max(
        (float(v[1][-1] - v[1][0]) for sig in signals.values() for v in sig.values() if v[1].size),
        default=0.0,
    )
    if (
        span < PARALLEL_MIN_S
        or (os.cpu_count() or 1) < 2
        or (multiprocessing.parent_process() is not None and wanted is not True)
        or wanted is False
        or len(signals) < 2
    ):
        yield None
        return
    # fork starts at once and needs no imports; with other threads alive (a GUI) fork could
    # copy a held lock, so a fresh interpreter is started instead
    method = "fork" if threading.active_count() == 1 else "spawn"
    with ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context(method), initializer=_helper_start
    ) as pool:
        yield pool


def _helper_start() -> None:
    """The helper process runs unprofiled (a fork inherits ``attune analyze --profile``'s
    profiler, which would slow it several times over)."""
    sys.setprofile(None)


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
    heartpy : dict
        role -> :class:`app.heartpy_peer.PeerCheck`, heartpy's second opinion on the PPG.
    people : tuple of str
        The session's people in order (``ROLES`` for a dyad or a one-person file).
    group : GroupAnalysis or None
        Pairwise matrix, group index and pair contrasts of a session with other people than
        exactly the patient and the clinician (3-8 people, or two with other role names);
        None otherwise (then ``dyad`` holds the two-person analysis).
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
    heartpy: dict = field(default_factory=dict)
    people: tuple[str, ...] = ROLES
    group: GroupAnalysis | None = None

    @property
    def duration_s(self) -> float:
        """Analysed span (s)."""
        return float(self.t_end - self.t_start) if math.isfinite(self.t_start) else 0.0

    @property
    def roles(self) -> tuple[str, ...]:
        """Roles present, in the session's order (patient first in a dyad)."""
        return tuple(r for r in self.people if r in self.persons)

    @property
    def people_info(self) -> People:
        """Names, colours and pairs of the people present (of the session's people when
        fewer than two are present)."""
        if self.group is not None:
            return self.group.people
        return people_model(self.roles if len(self.roles) >= 2 else self.people)


def _load(path: Path, rec: XdfRecording | None = None) -> tuple[XdfRecording, list[str]]:
    """Read the file (unless ``rec`` is its recording, read already); warnings for a
    truncated file and the reader's other notes."""
    warn: list[str] = []
    try:
        if rec is None:
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
    return rec, warn


def _assignment(
    path: Path, rec: XdfRecording, options: AnalysisOptions
) -> tuple[Assignment, dict[str, XdfStream], list[str]]:
    """The role assignment of the file's streams, or :class:`AnalysisError` (one line)."""
    try:
        assignment, by_uid, notes = choose_streams(rec.streams, options)
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
            f"{streams_summary(rec.streams)}. Map them with --role ROLE=GLOB or --map FILE.toml"
        )
    if assignment.problems and (options.roles or options.map_path):
        bad = [p for p in assignment.problems if p.blocks_assigned]
        if bad and not _group_goes_on(assignment, bad):
            raise AnalysisError(f"{path}: " + " | ".join(str(p) for p in bad))
        if bad:  # a group: the others' pairs go on (one line per problem)
            notes.extend(f"{p}; the others are analysed without it" for p in bad)
    return assignment, by_uid, notes


def _stored_pairs(rec: XdfRecording, options: AnalysisOptions) -> AnalysisOptions:
    """``options`` with the pairs the recording's stream map declares, when none are given."""
    if options.pairs:
        return options
    stored, _ = recording_map(rec.streams, options)
    return replace(options, pairs=stored.pairs) if stored is not None and stored.pairs else options


def _group_goes_on(assignment: Assignment, bad: list) -> bool:
    """A group of 3 or more goes on without what the problems concern while two people
    still have a signal; two people (or fewer left) stop with the problems' line."""
    if len(assignment.people) < 3:
        return False
    return len({c.role for c in assignment.channels}) >= 2


def _signals(
    assignment: Assignment,
    by_uid: dict[str, XdfStream],
    options: AnalysisOptions,
    warn: list[str],
) -> tuple[list[InputChannel], Signals]:
    """The assigned channels' data; unusable ones are skipped with a warning in ``warn``."""
    channels: list[InputChannel] = []
    signals: Signals = {}
    for ch in assignment.channels:
        s = by_uid[ch.stream.uid]
        if ch.modality == "ibi":
            _intervals(ch, s, channels, signals, warn)
            continue
        x, t, fs = channel_signal(s, ch.channel)
        unit = s.units[ch.channel] if ch.channel < len(s.units) else ""
        if fs <= 0:
            warn.append(f"{ch.role} {ch.modality}: {s.name!r} has no usable sampling rate; skipped")
            continue
        conv = ch.conversion
        if ch.modality == "eda" and options.eda_scale is not None:
            x = x * float(options.eda_scale)
            unit = f"µS (= {unit or 'stored value'} x {options.eda_scale:g})"
        elif ch.modality == "eda" and ch.use is not None and conv.usable:
            # the device profile knows the true unit (kΩ, ADC codes, µS without a label)
            x = conv.apply(x)
            unit = "µS" if conv.kind.value == "identity" else f"µS ({conv.text()})"
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
                resolution=_resolution(ch, s), origin=stream_origin(s),
            )
        )  # fmt: skip
        signals.setdefault(ch.role, {})[ch.modality] = (x, t, fs, unit)
    return channels, signals


def _resolution(ch: Channel, s: XdfStream) -> float:
    """Quantisation step of a channel in the unit analysed: one ADC code through the device
    profile's ADC conversion, else the ``<resolution>`` an imported stream states."""
    conv = ch.conversion
    if ch.use is not None and conv.kind is ConversionKind.ADC_TO_US:
        return float(conv.vcc / conv.gain / 2**conv.bits)
    if conv.kind in (ConversionKind.IDENTITY, ConversionKind.NONE) or ch.use is None:
        return channel_resolution(s, ch.channel)
    return 0.0


def _intervals(
    ch: Channel, s: XdfStream, channels: list[InputChannel], signals: Signals, warn: list[str]
) -> None:
    """Beat times from an IBI/RR stream, rebuilt as live (:class:`IntervalBeats`).

    The stamps are the sender's, mapped by the recorded clock offsets but not dejittered
    (a dejittered grid at the declared 1 Hz of an E4 IBI stream would move every beat); the
    intervals, converted to ms by the device profile, chain the beats between anchors.
    """
    raw = np.asarray(s.raw_timestamps, dtype=float)
    offsets = np.asarray(s.clock_values, dtype=float)
    stamps = raw + (np.interp(raw, s.clock_times, offsets) if offsets.size else 0.0)
    x = np.asarray(s.values[:, ch.channel], dtype=float) if len(s.values) else np.zeros(0)
    beats = IntervalBeats().push(stamps, ch.conversion.apply(x))
    if beats.size < 2:
        warn.append(f"{ch.role} ibi: {s.name!r} holds fewer than 2 usable intervals; skipped")
        return
    rate = (beats.size - 1) / (beats[-1] - beats[0]) if beats[-1] > beats[0] else math.nan
    channels.append(
        InputChannel(
            role=ch.role, modality="ibi", stream=s.name, stream_type=s.type,
            source_id=s.source_id, channel=ch.channel, label=ch.label, unit="ms",
            nominal_srate=float(s.nominal_srate), srate_used=float(rate), n_samples=int(x.size),
            t_first=float(beats[0]), t_last=float(beats[-1]), why=ch.why,
            origin=stream_origin(s),
        )
    )  # fmt: skip
    signals.setdefault(ch.role, {})["ibi"] = (beats, beats, math.nan, "ms")


def _person_kwargs(
    sig: dict, role: str, cfg: SessionConfig, eda_steps: dict[str, float] | None
) -> dict:
    """:func:`analyze_person`'s arguments for one role's signals (ECG before PPG)."""
    card = sig.get("ecg") or sig.get("ppg") or sig.get("ibi")
    kind = "ecg" if "ecg" in sig else "ppg" if "ppg" in sig else "beats"
    eda = sig.get("eda")
    return dict(
        cardiac=card[0] if card and kind != "beats" else None,
        cardiac_t=card[1] if card else None,
        cardiac_fs=card[2] if card else math.nan,
        cardiac_kind=kind,
        eda=eda[0] if eda else None,
        eda_t=eda[1] if eda else None,
        eda_fs=eda[2] if eda else math.nan,
        config=cfg,
        eda_step_us=(eda_steps or {}).get(role, 0.0),
    )


def _persons(
    signals: Signals,
    cfg: SessionConfig,
    step: Progress,
    warn: list[str],
    eda_steps: dict[str, float] | None = None,
    people: tuple[str, ...] | None = None,
    executor: Executor | None = None,
) -> dict[str, PersonSession]:
    """Each role's beats, HRV and EDA (ECG preferred over PPG when both exist); with an
    executor, the last role's there while this thread computes the others."""
    persons: dict[str, PersonSession] = {}
    order = people if people is not None else ROLES
    roles_present = [r for r in order if r in signals]
    jobs = {}
    # the helper's role is submitted first, so that both cores work from the start
    helped = roles_present[-1] if executor is not None and len(roles_present) > 1 else None
    if helped is not None:
        jobs[helped] = executor.submit(analyze_person, **_person_kwargs(signals[helped], helped,
                                                                        cfg, eda_steps))  # fmt: skip
    for i, role in enumerate(roles_present):
        step(0.1 + 0.4 * i / len(roles_present), f"{role}: beats, HRV, EDA")
        if role != helped:
            persons[role] = analyze_person(**_person_kwargs(signals[role], role, cfg, eda_steps))
    persons.update({role: job.result() for role, job in jobs.items()})
    for role in roles_present:
        p = persons[role]
        kind = "ecg" if "ecg" in signals[role] else "ppg" if "ppg" in signals[role] else "beats"
        if p.has_cardiac and p.n_beats == 0:
            warn.append(f"{role}: no heart beat found in the {kind.upper()} signal")
    return persons


def _person_segments(
    persons: dict[str, PersonSession],
    intervals: list[tuple[float, float, str]],
    t_start: float,
    t_end: float,
    cfg: SessionConfig,
) -> tuple[dict, dict, dict]:
    """Per role: metrics per label, per block, and of the baseline (marker or first minutes)."""
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
    return person_labels, person_blocks, baseline


def _heartpy_start(
    signals: Signals,
    persons: dict[str, PersonSession],
    cfg: SessionConfig,
    executor: Executor | None = None,
) -> dict[str, Future | HeartpyEstimate]:
    """heartpy on each person's PPG (longest unbroken stretch, <= 10 min; the last person's
    in ``executor`` when given, this thread waits for it in :func:`_heartpy_finish`)."""
    out: dict[str, Future | HeartpyEstimate] = {}
    last = list(persons)[-1] if persons else None
    if executor is not None and last in signals and "ppg" in signals[last]:
        sig = signals[last]
        if "ecg" not in sig:
            x, t, fs, _ = sig["ppg"]
            i0, i1 = longest_span(t, cfg.max_gap_s)
            out[last] = executor.submit(heartpy_ppg_estimate, x[i0:i1], fs)
    for role in persons:
        sig = signals.get(role, {})
        if role in out or "ppg" not in sig or "ecg" in sig:
            continue
        x, t, fs, _ = sig["ppg"]
        i0, i1 = longest_span(t, cfg.max_gap_s)
        out[role] = heartpy_ppg_estimate(x[i0:i1], fs)
    return out


def _heartpy_finish(
    started: dict[str, Future | HeartpyEstimate],
    signals: Signals,
    persons: dict[str, PersonSession],
    cfg: SessionConfig,
) -> dict[str, PeerCheck]:
    """heartpy's estimates beside our HR and RMSSD over the same span. heartpy never breaks
    the analysis: it returns "unavailable"."""
    out: dict[str, PeerCheck] = {}
    for role, p in persons.items():
        sig = signals.get(role, {})
        if "ppg" not in sig or "ecg" in sig:
            why = "ECG session: heartpy runs on PPG only" if "ecg" in sig else "no PPG"
            out[role] = PeerCheck(role, math.nan, math.nan, HeartpyEstimate(False, why))
            continue
        _, t, fs, _ = sig["ppg"]
        i0, i1 = longest_span(t, cfg.max_gap_s)
        est = started[role]
        est = est.result() if isinstance(est, Future) else est
        t0, t1 = (float(t[i0]), float(t[i1 - 1]) + 1.0 / fs) if i1 > i0 else (math.nan, math.nan)
        ours = person_interval(p, [(t0, t1)]) if i1 > i0 else None
        out[role] = PeerCheck(
            role, t0, t1, est,
            our_hr_bpm=ours.mean_hr_bpm if ours else math.nan,
            our_rmssd_ms=ours.rmssd_ms if ours else math.nan,
        )  # fmt: skip
    return out


def _heartpy_peers(
    signals: Signals,
    persons: dict[str, PersonSession],
    cfg: SessionConfig,
    executor: Executor | None = None,
) -> dict[str, PeerCheck]:
    """heartpy on each person's PPG beside our HR and RMSSD over the same span (the last
    person's in ``executor`` when given)."""
    started = _heartpy_start(signals, persons, cfg, executor)
    return _heartpy_finish(started, signals, persons, cfg)


def _prepare_report() -> None:
    """Import the report's plotting library (~0.4 s) now: called while the second process
    still computes, so that the report does not wait for it after the analysis."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.patches  # noqa: F401


def _dyad(
    persons: dict[str, PersonSession],
    intervals: list[tuple[float, float, str]],
    rec: XdfRecording,
    cfg: SessionConfig,
    step: Progress,
    notes: list[str],
    surrogates: str = "circular",
    executor: Executor | None = None,
    while_waiting: Callable[[], None] | None = None,
) -> DyadSession | None:
    """The concordance of the two people, or None (with the reason in ``notes``);
    ``while_waiting``: this process's other work while ``executor`` computes its share."""
    dyad = None
    if "patient" in persons and "clinician" in persons and not rec.aligned:
        notes.append(f"no concordance: {rec.alignment}")
    elif "patient" in persons and "clinician" in persons:
        step(0.55, "concordance (EDA, HR, surrogates)")
        dyad = analyze_dyad(
            persons["patient"], persons["clinician"], intervals, cfg, surrogates, executor,
            while_waiting,
        )  # fmt: skip
        notes.extend(sig.note for sig in (dyad.eda, dyad.hr) if sig.note)
    else:
        notes.append(
            f"only one person ({next(iter(persons))}) in this file: concordance needs two "
            "people, so only the per-person part is reported"
        )
    return dyad


def _is_group(people: tuple[str, ...], persons: dict[str, PersonSession]) -> bool:
    """A group analysis when the people are not exactly the patient and the clinician and
    at least two of them have signals."""
    return set(people) != set(ROLES) and len(persons) >= 2


def _group(
    persons: dict[str, PersonSession],
    people: tuple[str, ...],
    options: AnalysisOptions,
    intervals: list[tuple[float, float, str]],
    rec: XdfRecording,
    step: Progress,
    notes: list[str],
) -> GroupAnalysis | None:
    """The pairwise matrix and group index, or None (with the reason in ``notes``)."""
    if not rec.aligned:
        notes.append(f"no concordance: {rec.alignment}")
        return None
    step(0.55, f"group of {len(persons)}: pairwise matrix, group index")
    try:
        model = people_model(people, options.pairs)
    except MapError as exc:
        raise AnalysisError(str(exc)) from None
    g = analyze_group(persons, model, intervals, options.config)
    notes.extend(g.notes)
    return g


def _recorded_at(rec: XdfRecording) -> str:
    recorded = rec.file_header.get("datetime") if isinstance(rec.file_header, dict) else None
    return str((recorded[0] if isinstance(recorded, list) and recorded else "") or "")


def analyze_file(
    path: str | Path,
    options: AnalysisOptions = AnalysisOptions(),  # noqa: B008
    progress: Progress | None = None,
    on_persons: Callable[[SessionAnalysis], None] | None = None,
    second_core: bool | None = None,
    recording: XdfRecording | None = None,
) -> SessionAnalysis:
    """Analyse one XDF file.

    Parameters
    ----------
    path : str or Path
        ``.xdf`` (or ``.xdfz``) recording.
    options : AnalysisOptions
    progress : callable, optional
        ``progress(fraction 0..1, stage text)``.
    on_persons : callable, optional
        Called with the per-person part (a :class:`SessionAnalysis` without concordance or
        heartpy, ``dyad`` None) as soon as it is known, before the dyadic statistics (a review
        window shows it while the rest is computed).
    second_core : bool, optional
        Use a second process for long recordings (:data:`PARALLEL_MIN_S`): None decides by
        itself (not inside another process's worker), True also inside one (the review's
        analysis process), False never.
    recording : XdfRecording, optional
        The file's recording when it was read already (:func:`devices.xdf_reader.load_recording`
        with its defaults); else it is read here.

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
    rec, warn = _load(path, recording)
    assignment, by_uid, notes = _assignment(path, rec, options)
    options = _stored_pairs(rec, options)
    markers, marker_names = read_markers(rec.streams, options.segments_from)
    channels, signals = _signals(assignment, by_uid, options, warn)
    if not signals:
        raise AnalysisError(
            f"{path}: no usable EDA/PPG/ECG signal; "
            + " | ".join(warn[-3:] or [str(p) for p in assignment.problems])
        )
    eda_steps = {c.role: c.resolution for c in channels if c.modality == "eda"}
    with _second_core(signals, second_core) as helper:
        persons = _persons(signals, cfg, step, warn, eda_steps, assignment.people, helper)
        t_start = min(p.t_start for p in persons.values())
        t_end = max(p.t_end for p in persons.values())
        if rec.truncated:
            notes.append(f"the file is truncated: analysed up to {t_end - t_start:.1f} s")
        intervals = marker_blocks([(t, block_label(x)) for t, x in markers], t_start, t_end)

        def session(dyad: DyadSession | None, **late) -> SessionAnalysis:
            labels, blocks, base = _person_segments(persons, intervals, t_start, t_end, cfg)
            return SessionAnalysis(
                path=path, recorded_at=_recorded_at(rec), t_start=float(t_start),
                t_end=float(t_end), channels=tuple(channels), persons=persons, dyad=dyad,
                markers=tuple(markers), marker_stream=marker_names, intervals=tuple(intervals),
                person_labels=labels, person_blocks=blocks, baseline=base,
                warnings=tuple(warn), notes=tuple(notes), config=cfg,
                elapsed_s=time.perf_counter() - t_clock, people=assignment.people, **late,
            )  # fmt: skip

        if on_persons is not None:  # the per-person part first (a review window shows it)
            on_persons(session(None))
        # ``attune analyze`` on two cores: heartpy of both people and the report's imports
        # here while the helper computes the HR concordance and both signals' replayed
        # coupling tests, so that both processes' shares are about equal (and the helper
        # never imports heartpy's matplotlib); a review's analysis keeps the old order
        started: dict[str, Future | HeartpyEstimate] = {}

        def here() -> None:
            started.update(_heartpy_start(signals, persons, cfg, None))
            if "html" in options.formats:
                _prepare_report()

        early = helper is not None and on_persons is None
        dyad, group = None, None
        if _is_group(assignment.people, persons):
            group = _group(persons, assignment.people, options, intervals, rec, step, notes)
        else:
            dyad = _dyad(
                persons, intervals, rec, cfg, step, notes, options.surrogate_method, helper,
                here if early else None,
            )  # fmt: skip
        step(0.85, "heartpy second opinion")
        if started:
            peers = _heartpy_finish(started, signals, persons, cfg)
        else:
            peers = _heartpy_peers(signals, persons, cfg, helper)
    step(0.9, "segments")
    out = session(dyad, heartpy=peers, group=group)
    step(1.0, "done")
    return out
