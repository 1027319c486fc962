"""A per-user cache of whole analyses, so a reviewed session opens fast.

``attune analyze`` and ``attune review`` share it. The key holds the file's resolved path, size
and modification time and the options that change the numbers.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

from app.analysis.inputs import AnalysisOptions
from app.analysis.pipeline import SessionAnalysis

CACHE_VERSION = 4
"""Bumped when the pickled types move or change (2: app.analysis became a package;
3: heartpy second opinion)."""


def cache_dir() -> Path:
    """Folder of cached analyses: ``$ATTUNE_CACHE_DIR``, else ``<user cache>/attunement/analysis``."""
    env = os.environ.get("ATTUNE_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "attunement" / "analysis"


def _cache_file(path: Path, options: AnalysisOptions) -> Path:
    st = path.stat()
    what = (
        options.roles,
        options.map_path,
        options.segments_from,
        options.config,
        options.eda_scale,
        options.surrogate_method,
    )
    text = f"{CACHE_VERSION}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{what!r}"
    return cache_dir() / f"{hashlib.sha256(text.encode('utf-8')).hexdigest()[:32]}.pkl"


def cache_load(path: str | Path, options: AnalysisOptions) -> SessionAnalysis | None:
    """The cached analysis of ``path`` with these options (None when absent or stale).

    The key holds the file's resolved path, size and modification time and the options that
    change the numbers; the cache is the user's own (0700 folder, 0600 files).
    """
    try:
        f = _cache_file(Path(path), options)
        with open(f, "rb") as fh:
            a = pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None
    return a if isinstance(a, SessionAnalysis) else None


def cache_store(path: str | Path, options: AnalysisOptions, a: SessionAnalysis) -> None:
    """Save ``a`` for :func:`cache_load` (best effort: errors are ignored)."""
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
