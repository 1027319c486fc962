"""Session library: the sessions folder listed, and one clinician's progress across sessions.

A session is a folder holding ``recording.xdf`` and ``session.json`` (written by the console
when it records) and, once analysed, ``metrics.json`` (``attune analyze`` or ``attune library
--analyze`` writes it, with the CSVs and ``report.html``, into the same folder). The library
reads, from ``session.json`` (each key optional; the first present wins):

* participant codes: ``patient`` / ``patient_code`` / ``participants.patient``, and
  ``clinician`` / ``clinician_code`` / ``participants.clinician``;
* start: ``started_at`` / ``start`` / ``date`` / ``created`` (ISO 8601), else the recording's
  FileHeader datetime from ``metrics.json``, else the folder's modification time;
* baseline: ``baseline.clinician.ln_rmssd`` (or ``baseline.clinician.rmssd_ms``), else the
  analysed baseline of ``metrics.json`` (the "baseline" marker block or the first 5 minutes);
* ``notes``.

No Qt here (the window is :mod:`app.review.library_view`).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.analysis import AnalysisOptions, analyze_to_folder, tested_contrast
from app.formatting import MISSING, fmt_mmss, fmt_value
from app.sessionfolder import SessionFolder
from devices.datadir import app_data_dir
from dsp.concordance.evidence import p_text


def default_sessions_dir() -> Path:
    """The platform data folder's ``sessions`` (:func:`devices.datadir.app_data_dir`);
    ``$ATTUNE_SESSIONS_DIR`` overrides it."""
    return app_data_dir("sessions", "ATTUNE_SESSIONS_DIR")


@dataclass(frozen=True)
class SessionEntry:
    """One session of the library (NaN / '' where unknown).

    Attributes
    ----------
    folder : Path
    recording : Path or None
        ``recording.xdf`` (or the folder's only ``.xdf``) if present.
    started : datetime or None
        Session start (timezone-aware when the source says so).
    patient, clinician : str
        Pseudonymous participant codes.
    duration_s : float
        Analysed duration (s).
    analysed : bool
        ``metrics.json`` found.
    eda_ci, eda_p, hr_ci : float
        Session EDA Marci CI, its surrogate p-value, HR Marci CI.
    patient_hr_bpm, clinician_hr_bpm, patient_rmssd_ms, clinician_rmssd_ms : float
        Whole-session mean HR (bpm) and RMSSD (ms).
    clinician_baseline_ln_rmssd : float
        Clinician's baseline ln RMSSD (ln ms).
    baseline_source : str
        Where that baseline comes from.
    listening_vs_talking, listening_vs_talking_p : float
        The session's tested EDA contrast: shared SCRs above chance while listening minus
        while talking (:mod:`dsp.concordance.contrast`) and its block-permutation p (NaN
        without both labels; p NaN when the session allowed no test).
    listening_vs_talking_text : str
        That contrast in words ("" without one).
    notes : str
    people : tuple of str
        The session's people when they are not the patient and the clinician (a group; then
        ``eda_ci``/``eda_p`` are the group index, the mean pairwise EDA CI, and its p); ().
    """

    folder: Path
    recording: Path | None
    started: _dt.datetime | None
    patient: str
    clinician: str
    duration_s: float
    analysed: bool
    eda_ci: float
    eda_p: float
    hr_ci: float
    patient_hr_bpm: float
    clinician_hr_bpm: float
    patient_rmssd_ms: float
    clinician_rmssd_ms: float
    clinician_baseline_ln_rmssd: float
    baseline_source: str
    listening_vs_talking: float
    listening_vs_talking_p: float
    listening_vs_talking_text: str
    notes: str
    people: tuple[str, ...] = ()

    @property
    def date_text(self) -> str:
        """``YYYY-MM-DD HH:MM`` or '?'."""
        return self.started.strftime("%Y-%m-%d %H:%M") if self.started else "?"


def _first(d: dict[str, Any], *paths: str) -> Any:
    for p in paths:
        cur: Any = d
        for part in p.split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            else:
                cur = None
                break
        if cur not in (None, ""):
            return cur
    return None


def _float(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def _parse_date(v: Any) -> _dt.datetime | None:
    if not isinstance(v, str) or not v:
        return None
    try:
        return _dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None


def _read_json(p: Path) -> dict[str, Any]:
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


def read_session(folder: str | Path) -> SessionEntry | None:
    """The library entry of one session folder (None when it is not a session)."""
    folder = Path(folder)
    sf = SessionFolder(folder)
    sj = sf.session_json
    mf = sf.find_metrics()
    rec = sf.find_recording()
    if not (sj.is_file() or mf is not None or rec is not None):
        return None
    s = _read_json(sj) if sj.is_file() else {}
    m = _read_json(mf) if mf is not None else {}
    started = _parse_date(_first(s, "started_at", "start", "date", "created"))
    if started is None:
        started = _parse_date(m.get("recorded_at"))
    if started is None:
        started = _dt.datetime.fromtimestamp(folder.stat().st_mtime)
    conc = m.get("concordance") or {}
    eda = conc.get("eda") or {}
    hr = conc.get("hr") or {}
    persons = m.get("persons") or {}
    pat, cli = persons.get("patient") or {}, persons.get("clinician") or {}
    base = _float(_first(s, "baseline.clinician.ln_rmssd"))
    src = "session.json"
    if not math.isfinite(base):
        rm = _float(_first(s, "baseline.clinician.rmssd_ms", "baseline.clinician.rmssd"))
        base = math.log(rm) if rm > 0 else math.nan
    if not math.isfinite(base):
        base = _float((cli.get("baseline") or {}).get("ln_rmssd"))
        src = (cli.get("baseline") or {}).get("source", "") if math.isfinite(base) else ""
    names = tuple(str(p.get("role", "")) for p in m.get("people") or [] if isinstance(p, dict))
    group = (m.get("group") or {}).get("index") or {} if m.get("group") else {}
    if m.get("group"):
        eda = {"marci_ci": group.get("value"), "surrogate": {"p_value": group.get("p_value")}}
    lvt = tested_contrast(m) if m else None
    lvt_d, lvt_p, lvt_text = lvt if lvt is not None else (math.nan, math.nan, "")
    return SessionEntry(
        folder=folder,
        recording=rec,
        started=started,
        patient=str(_first(s, "patient", "patient_code", "participants.patient") or ""),
        clinician=str(_first(s, "clinician", "clinician_code", "participants.clinician") or ""),
        duration_s=_float(m.get("duration_s", _first(s, "duration_s"))),
        analysed=bool(m),
        eda_ci=_float(eda.get("marci_ci")),
        eda_p=_float((eda.get("surrogate") or {}).get("p_value")),
        hr_ci=_float(hr.get("marci_ci")),
        patient_hr_bpm=_float(pat.get("mean_hr_bpm")),
        clinician_hr_bpm=_float(cli.get("mean_hr_bpm")),
        patient_rmssd_ms=_float(pat.get("rmssd_ms")),
        clinician_rmssd_ms=_float(cli.get("rmssd_ms")),
        clinician_baseline_ln_rmssd=base,
        baseline_source=src,
        listening_vs_talking=lvt_d,
        listening_vs_talking_p=lvt_p,
        listening_vs_talking_text=lvt_text,
        notes=str(s.get("notes") or ""),
        people=names if m.get("group") is not None or set(names) - {"patient", "clinician"} else (),
    )


def _sort_key(e: SessionEntry) -> float:
    if e.started is None:
        return 0.0
    st = e.started if e.started.tzinfo else e.started.astimezone()
    return st.timestamp()


def scan_sessions(root: str | Path) -> list[SessionEntry]:
    """All sessions directly under ``root``, oldest first (empty if ``root`` is missing)."""
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for d in sorted(root.iterdir()):
        if d.is_dir():
            e = read_session(d)
            if e is not None:
                out.append(e)
    out.sort(key=_sort_key)
    return out


@dataclass(frozen=True)
class ClinicianTrend:
    """One clinician's sessions in time order (arrays aligned with ``sessions``).

    Attributes
    ----------
    clinician : str
    sessions : tuple of SessionEntry
    baseline_ln_rmssd, session_ci : tuple of float
        Clinician's baseline ln RMSSD, session EDA CI.
    listening_vs_talking, listening_vs_talking_p : tuple of float
        The tested EDA listening-minus-talking contrast and its p (see :class:`SessionEntry`).
    """

    clinician: str
    sessions: tuple[SessionEntry, ...]
    baseline_ln_rmssd: tuple[float, ...]
    session_ci: tuple[float, ...]
    listening_vs_talking: tuple[float, ...]
    listening_vs_talking_p: tuple[float, ...]


def clinician_trend(entries: Sequence[SessionEntry], clinician: str) -> ClinicianTrend:
    """Trend of the sessions of ``clinician`` (code compared case-insensitively)."""
    mine = tuple(e for e in entries if e.clinician.strip().lower() == clinician.strip().lower())
    return ClinicianTrend(
        clinician=clinician,
        sessions=mine,
        baseline_ln_rmssd=tuple(e.clinician_baseline_ln_rmssd for e in mine),
        session_ci=tuple(e.eda_ci for e in mine),
        listening_vs_talking=tuple(e.listening_vs_talking for e in mine),
        listening_vs_talking_p=tuple(e.listening_vs_talking_p for e in mine),
    )


def clinicians(entries: Sequence[SessionEntry]) -> list[str]:
    """Clinician codes present, in order of first session."""
    return list(dict.fromkeys(e.clinician for e in entries if e.clinician))


def contrast_cell(e: SessionEntry) -> str:
    """``0.51 (p = 0.008)``, ``0.05 (p = 0.62)``, ``0.30 (no test)`` or ``–``."""
    if not math.isfinite(e.listening_vs_talking):
        return MISSING
    why = p_text(e.listening_vs_talking_p) or "no test"
    return f"{fmt_value(e.listening_vs_talking, 2)} ({why})"


def format_table(entries: Sequence[SessionEntry]) -> list[str]:
    """Plain-text lines of the library list."""
    head = (
        f"{'date':<16}  {'patient':<8}  {'clinician':<9}  {'duration':>8}  {'EDA CI':>6}  "
        f"{'p':>5}  {'HR CI':>6}  {'C base lnRMSSD':>14}  {'listen-talk (tested)':>22}  folder"
    )
    lines = [head]
    for e in entries:
        dur = fmt_mmss(e.duration_s)
        lines.append(
            f"{e.date_text:<16}  {e.patient or '?':<8}  {e.clinician or '?':<9}  {dur:>8}  "
            f"{fmt_value(e.eda_ci):>6}  {fmt_value(e.eda_p, 3):>5}  {fmt_value(e.hr_ci):>6}  "
            f"{fmt_value(e.clinician_baseline_ln_rmssd):>14}  {contrast_cell(e):>22}  "
            f"{e.folder.name}{'' if e.analysed else '  (not analysed: attune library --analyze)'}"
            + (
                f"  (group of {len(e.people)}: {', '.join(e.people)}; EDA CI = mean pairwise "
                "CI, p against surrogate groups)"
                if e.people
                else ""
            )
        )
    return lines


def analyze_missing(
    entries: Sequence[SessionEntry], jobs: int | None = None, log: Any = print
) -> int:
    """Analyse the sessions with a recording but no ``metrics.json`` (in parallel), writing
    the outputs into each session folder. Returns the number of failures."""
    pending = [e for e in entries if not e.analysed and e.recording is not None]
    if not pending:
        return 0
    opts = AnalysisOptions()
    failed = 0
    workers = max(1, min(len(pending), jobs or os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futs = [
            pool.submit(analyze_to_folder, str(e.recording), str(e.folder), opts) for e in pending
        ]
        for e, f in zip(pending, futs, strict=True):
            outcome = f.result()
            if outcome.ok:
                log(f"analysed {e.folder.name}")
            else:
                failed += 1
                log(f"attune: error: {outcome.error}")
    return failed


def format_trend(entries: Sequence[SessionEntry], clinician: str) -> list[str]:
    """Plain-text lines of one clinician's sessions over time (``attune library --list``)."""
    tr = clinician_trend(entries, clinician)
    lines = [f"clinician {clinician}: {len(tr.sessions)} session(s)"]
    for e, b, c in zip(tr.sessions, tr.baseline_ln_rmssd, tr.session_ci, strict=True):
        lines.append(f"  {e.date_text}  baseline ln RMSSD {fmt_value(b)}  session CI "
                     f"{fmt_value(c)}  listening - talking {contrast_cell(e)}")  # fmt: skip
    return lines
