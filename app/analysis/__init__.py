"""Offline analysis of recorded sessions: XDF file -> frozen result -> metrics.json, CSVs, report.

No Qt here. Modules, in the order the data flows:

- :mod:`~app.analysis.inputs`: which streams/channels of a file are analysed, the markers,
  :class:`AnalysisOptions` and :class:`AnalysisError`.
- :mod:`~app.analysis.pipeline`: :func:`analyze_file` -> :class:`SessionAnalysis`.
- :mod:`~app.analysis.export`: ``metrics.json``, CSV tables, ``summary.csv`` rows,
  :func:`write_outputs`.
- :mod:`~app.analysis.tables`: every table a person reads (the view model the review window and
  the report both render); :mod:`~app.analysis.statements`: the dyad statements and their
  evidence.
- :mod:`~app.analysis.report`: the self-contained HTML report.
- :mod:`~app.analysis.cache`: the per-user cache of analyses (review opens fast).
- :mod:`~app.analysis.batch`: many files in a process pool with a progress bar;
  :mod:`~app.analysis.study`: many sessions against chance (pseudo-dyads).
"""

from app.analysis.batch import (
    FileOutcome,
    ProgressBar,
    analyze_paths,
    analyze_to_folder,
    output_dirs,
)
from app.analysis.cache import cache_dir, cache_load, cache_store
from app.analysis.export import (
    SUMMARY_FIELDS,
    beat_rows,
    listening_minus_talking,
    metrics_dict,
    summary_row,
    timeseries_rows,
    write_outputs,
)
from app.analysis.inputs import FORMATS, AnalysisError, AnalysisOptions, InputChannel
from app.analysis.pipeline import SessionAnalysis, analyze_file
from app.analysis.statements import tested_contrast

__all__ = [
    "FORMATS",
    "SUMMARY_FIELDS",
    "AnalysisError",
    "AnalysisOptions",
    "FileOutcome",
    "InputChannel",
    "ProgressBar",
    "SessionAnalysis",
    "analyze_file",
    "analyze_paths",
    "analyze_to_folder",
    "beat_rows",
    "cache_dir",
    "cache_load",
    "cache_store",
    "listening_minus_talking",
    "metrics_dict",
    "output_dirs",
    "summary_row",
    "tested_contrast",
    "timeseries_rows",
    "write_outputs",
]
