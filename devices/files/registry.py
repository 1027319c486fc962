"""Which reader reads a file: the ``[files]`` tables of the device profiles (no Qt, no app).

A device profile (``resources/devices/<family>.toml``) that has files of its own names its
reader beside its LSL streams::

    [files]
    reader = "e4"                       # module devices.files.<reader>
    device = "..."                      # optional: the device's name if not the family's
    title = "Empatica E4 session zip"
    names = ["*.zip"]                   # file-name globs the format uses
    clock = "E4 clock, set from the phone or PC at each sync"
    clock_uncertainty_s = 1.0           # how far the file's absolute times may be off UTC

and any reader-specific keys (the PLUX transfer functions, for instance). Each reader module
has ``sniff(path) -> bool`` (a cheap look at the content) and
``read(path, spec) -> DeviceRecording``.
"""

from __future__ import annotations

import fnmatch
import importlib
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from devices.files.base import DeviceFileError, DeviceRecording
from devices.profiles import ProfileError, profile_dirs

READERS = ("e4", "embraceplus", "emotibit", "opensignals", "shimmer", "polar", "biopac", "csvtoml")


@dataclass(frozen=True)
class FileSpec:
    """A profile's ``[files]`` table.

    Attributes
    ----------
    family, reader, title : str
    names : tuple of str
        File-name globs (case-insensitive).
    clock : str
        Where the file's absolute times come from.
    clock_uncertainty_s : float
        How far they may be from UTC (s, either way).
    extra : dict
        The table's other keys, for the reader (e.g. ``transfer``).
    """

    family: str
    reader: str
    title: str
    names: tuple[str, ...]
    clock: str
    clock_uncertainty_s: float
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def module(self) -> ModuleType:
        """The reader module ``devices.files.<reader>``."""
        return importlib.import_module(f"devices.files.{self.reader}")

    def name_matches(self, path: Path) -> bool:
        return any(fnmatch.fnmatchcase(path.name.lower(), g.lower()) for g in self.names)


def _spec(family: str, d: object, where: str) -> FileSpec:
    if not isinstance(d, dict):
        raise ProfileError(f"{where}: [files] must be a table")
    reader = d.get("reader")
    if reader not in READERS:
        raise ProfileError(f"{where}: files.reader must be one of {', '.join(READERS)}")
    try:
        unc = float(d.get("clock_uncertainty_s", 1.0))
    except (TypeError, ValueError):
        raise ProfileError(f"{where}: files.clock_uncertainty_s must be a number") from None
    names = d.get("names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ProfileError(f"{where}: files.names must be a list of strings")
    known = {"reader", "title", "names", "clock", "clock_uncertainty_s", "device"}
    return FileSpec(
        family=str(d.get("device", family)),
        reader=str(reader),
        title=str(d.get("title", reader)),
        names=tuple(names),
        clock=str(d.get("clock", "")),
        clock_uncertainty_s=unc,
        extra={k: v for k, v in d.items() if k not in known},
    )


@lru_cache(maxsize=4)
def _load(dirs: tuple[str, ...]) -> tuple[FileSpec, ...]:
    out: dict[str, FileSpec] = {}
    for d in dirs:
        for f in sorted(Path(d).glob("*.toml")):
            try:
                data = tomllib.loads(f.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ProfileError(f"device profile {f}: cannot read it ({exc})") from None
            fam, tables = data.get("family"), data.get("files")
            if not isinstance(fam, str) or tables is None:
                continue
            for i, t in enumerate(tables if isinstance(tables, list) else [tables]):
                spec = _spec(fam, t, f"{f.name} files[{i}]")
                out.setdefault(spec.reader, spec)
    return tuple(out[r] for r in READERS if r in out)


def file_specs() -> tuple[FileSpec, ...]:
    """Every ``[files]`` table of the profiles found by :func:`devices.profiles.profile_dirs`."""
    return _load(tuple(str(d) for d in profile_dirs()))


def spec_for(reader: str) -> FileSpec:
    """The spec of one reader (``KeyError`` when no profile registers it)."""
    for s in file_specs():
        if s.reader == reader:
            return s
    raise KeyError(reader)


def detect(path: str | Path) -> FileSpec:
    """The reader for ``path``: the first whose ``sniff`` accepts the content, else the one
    whose file names match (its ``read`` then says what is wrong), else an error."""
    p = Path(path)
    if not p.exists():
        raise DeviceFileError(p, "no such file")
    specs = file_specs()
    for s in specs:
        if s.module().sniff(p):
            return s
    by_name = [s for s in specs if s.name_matches(p)]
    if len(by_name) == 1:
        return by_name[0]
    known = "; ".join(f"{s.title} ({', '.join(s.names)})" for s in specs)
    if by_name:
        raise DeviceFileError(
            p,
            "content not recognised as any of "
            + ", ".join(s.title for s in by_name)
            + " (give --format to say which it is)",
        )
    raise DeviceFileError(p, f"not a device file Attunement reads (it reads: {known})")


def read_device_file(path: str | Path, reader: str | None = None) -> DeviceRecording:
    """Read one device file with its reader (detected unless ``reader`` is given)."""
    if reader:
        try:
            spec = spec_for(reader)
        except KeyError:
            known = ", ".join(s.reader for s in file_specs())
            raise DeviceFileError(path, f"no reader {reader!r} (readers: {known})") from None
    else:
        spec = detect(path)
    try:
        return spec.module().read(Path(path), spec)
    except DeviceFileError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, OSError, UnicodeError) as exc:
        # a layout the reader did not foresee: still one line naming the file
        raise DeviceFileError(
            path, f"cannot read it as {spec.title} ({type(exc).__name__}: {exc})"
        ) from None
