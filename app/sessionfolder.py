"""A recorded session's folder and the names of the files in it (no Qt).

One place for the layout every part of the app reads or writes::

    <sessions>/<date>_<time>[_<patient>_<clinician>]/
        recording.xdf     the streams (devices.recorder)
        session.json      codes, stream map, parameters, baseline, notes (app.sessionfile)
        metrics.json      the analysis (app.analysis.export), with beats_<role>.csv,
        timeseries.csv    timeseries.csv and report.html next to it
        report.html
        notes.txt         the trainer's review notes
        moment_notes.jsonl  the clinician's notes on moments (0600; never sent on LSL)

A folder written by an older version may hold its analysis in ``analysis/``; a folder made by
another recorder may hold one ``*.xdf`` under another name. Both are still found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devices.recorder import create_session_folder

RECORDING = "recording.xdf"
SESSION_JSON = "session.json"
METRICS_JSON = "metrics.json"
REPORT_HTML = "report.html"
TIMESERIES_CSV = "timeseries.csv"
NOTES_TXT = "notes.txt"
MOMENT_NOTES = "moment_notes.jsonl"


def beats_csv(role: str) -> str:
    """File name of one person's beat table."""
    return f"beats_{role}.csv"


@dataclass(frozen=True)
class SessionFolder:
    """One session folder (see the module docstring); ``path`` need not exist yet."""

    path: Path

    @classmethod
    def create(
        cls, root: str | Path, stamp: str, patient: str = "", clinician: str = ""
    ) -> SessionFolder:
        """Create ``root/<stamp>[_<patient>_<clinician>]`` (mode 0700; must not exist).

        Raises
        ------
        devices.xdf_writer.XdfWriteError
            The folder exists already or cannot be created (one clear line).
        """
        codes = "_".join(c for c in (patient.strip(), clinician.strip()) if c)
        name = stamp + (f"_{codes}" if codes else "")
        return cls(create_session_folder(root, name))

    @classmethod
    def of_recording(cls, recording: str | Path) -> SessionFolder:
        """The folder a recording file lies in."""
        return cls(Path(recording).resolve().parent)

    @property
    def name(self) -> str:
        """The folder's name (date, time and codes)."""
        return self.path.name

    @property
    def recording(self) -> Path:
        """Where the recording is written (``recording.xdf``)."""
        return self.path / RECORDING

    @property
    def session_json(self) -> Path:
        return self.path / SESSION_JSON

    @property
    def metrics_json(self) -> Path:
        return self.path / METRICS_JSON

    @property
    def report_html(self) -> Path:
        return self.path / REPORT_HTML

    @property
    def notes(self) -> Path:
        return self.path / NOTES_TXT

    @property
    def moment_notes(self) -> Path:
        """The clinician's moment notes (JSON lines, 0600), written by the live session."""
        return self.path / MOMENT_NOTES

    def find_recording(self) -> Path | None:
        """The recording to analyse: ``recording.xdf``, else the folder's only ``*.xdf``."""
        if self.recording.is_file():
            return self.recording
        xdfs = sorted(self.path.glob("*.xdf"))
        return xdfs[0] if len(xdfs) == 1 else None

    def find_metrics(self) -> Path | None:
        """``metrics.json`` of the analysis, also in an ``analysis/`` subfolder (older layout)."""
        for cand in (self.metrics_json, self.path / "analysis" / METRICS_JSON):
            if cand.is_file():
                return cand
        return None


def notes_path(recording: str | Path) -> Path:
    """Where review notes of ``recording`` go: ``notes.txt`` in a session folder, else
    ``<file stem>_notes.txt`` next to the file."""
    p = Path(recording)
    if p.name == RECORDING:
        return p.with_name(NOTES_TXT)
    return p.with_name(f"{p.name.split('.')[0]}_notes.txt")


def resolve_recording(path: str | Path) -> Path:
    """A session folder means its recording; a file means itself."""
    p = Path(path)
    if p.is_dir():
        found = SessionFolder(p).find_recording()
        if found is not None:
            return found
    return p
