"""Device profiles: how each wearable's LSL bridge names, types, scales and stamps its streams.

Profiles are data, one TOML file per device family in ``resources/devices/`` (adding a device
means adding a file). A profile lists the streams of its family; each stream entry says how
to *recognise* it (``match``: globs on name, type, source_id, channel labels or units, the
description XML, the channel count or a sibling stream of the same source_id) and what it
*carries* (``channels``: modality, channel, true unit and conversion; the expected rate; the
timestamp convention; whether samples arrive in bursts). Any one ``match`` table must match,
and within it every key. The ``generic`` profile is consulted last.

File format::

    family = "shimmer"
    title = "Shimmer3 GSR+"
    bridge = "community LSL bridges"
    tested = "what was verified, and how"

    [[stream]]
    match = [{ name = "Shimmer*" }, { label = "GSR*", channels = "5-13" }]
    rate = 51.2                 # expected Hz; 0 = take the declared rate
    events = false              # true: one sample per event (beat), no sampling rate
    timestamps = "arrival"      # lsl | arrival | unix
    bursty = false
    note = "..."
    channels = [
      { modality = "eda", labels = ["GSR*"], unit = "kOhm", convert = "by_unit" },
      { modality = "ppg", labels = ["PPG*"], index = 1, unit = "mV" },
    ]

Conversions (``convert``): ``identity``; ``kohm_to_us`` (µS = 1000 / kΩ); ``adc_to_us`` with
``bits``, ``vcc`` (V) and ``gain`` (µS = ADC / 2^bits x vcc / gain, the PLUX/BITalino EDA
transfer function); ``scale`` with ``factor`` (value x factor, e.g. IBI seconds -> ms);
``by_unit`` (decided from the unit the stream publishes, falling back to ``unit``);
``none`` (waveform shape only: PPG/ECG amplitude is not used). Modalities: ``eda``, ``ppg``,
``ecg``, ``ibi`` (inter-beat intervals in ms after conversion), ``hr`` (device heart rate,
shown only), ``seq`` (a sequence counter) and ``other``.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

import numpy as np

from devices.lsl import StreamDescription

PROFILE_DIR_ENV = "ATTUNE_DEVICE_PROFILES"
MODALITIES = ("eda", "ppg", "ecg", "ibi", "hr", "seq", "other")
SIGNAL_MODALITIES = ("eda", "ppg", "ecg", "ibi")  # the ones the app computes from

# unit spellings (lower case) -> what they mean
_US_UNITS = {"us", "µs", "μs", "microsiemens", "micro siemens", "usiemens", "µsiemens", "micros"}
_KOHM_UNITS = {"kohm", "kohms", "kω", "kΩ".lower(), "kiloohm", "kiloohms", "k ohm", "k ohms"}
_OHM_UNITS = {"ohm", "ohms", "ω"}
_S_UNITS = {"s", "sec", "secs", "second", "seconds"}
_MS_UNITS = {"ms", "msec", "millisecond", "milliseconds"}
_1024_UNITS = {"1/1024 s", "1/1024s", "1/1024 seconds"}


class ProfileError(ValueError):
    """A profile file that cannot be used (one clear line naming the file)."""


class ConversionKind(StrEnum):
    """How stored values become the unit the app computes in (µS for EDA, ms for IBI)."""

    IDENTITY = "identity"
    KOHM_TO_US = "kohm_to_us"
    OHM_TO_US = "ohm_to_us"
    ADC_TO_US = "adc_to_us"
    SCALE = "scale"
    NONE = "none"  # waveform shape only
    UNKNOWN = "unknown"  # an EDA/IBI unit nobody knows how to convert


class Timestamps(StrEnum):
    """The clock a bridge stamps samples with."""

    LSL = "lsl"  # the bridge PC's LSL clock at acquisition
    ARRIVAL = "arrival"  # the LSL clock when the bridge received the packet
    UNIX = "unix"  # Unix epoch seconds (time.time()), not the LSL clock


@dataclass(frozen=True)
class Conversion:
    """A conversion of stored values.

    Attributes
    ----------
    kind : ConversionKind
    factor : float
        Multiplier for ``SCALE``.
    bits, vcc, gain : float
        ADC resolution (bits), supply voltage (V) and sensor gain for ``ADC_TO_US``.
    source_unit : str
        The unit the values are stored in (for the text).
    """

    kind: ConversionKind
    factor: float = 1.0
    bits: int = 10
    vcc: float = 3.3
    gain: float = 0.132
    source_unit: str = ""

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Converted copy of ``x`` (float). Non-positive resistances become NaN."""
        x = np.asarray(x, dtype=float)
        k = self.kind
        if k is ConversionKind.KOHM_TO_US or k is ConversionKind.OHM_TO_US:
            num = 1000.0 if k is ConversionKind.KOHM_TO_US else 1e6
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(x > 0, num / np.where(x > 0, x, 1.0), np.nan)
        if k is ConversionKind.ADC_TO_US:
            return x / float(2**self.bits) * self.vcc / self.gain
        if k is ConversionKind.SCALE:
            return x * self.factor
        return x.copy()

    @property
    def usable(self) -> bool:
        """False when the values cannot be put into the app's unit."""
        return self.kind is not ConversionKind.UNKNOWN

    def text(self, target: str = "µS") -> str:
        """Human-readable formula, e.g. ``µS = 1000 / kΩ``."""
        k, src = self.kind, self.source_unit or "stored value"
        if k is ConversionKind.IDENTITY:
            return f"{target} as published ({src})"
        if k is ConversionKind.KOHM_TO_US:
            return "µS = 1000 / kΩ (skin resistance)"
        if k is ConversionKind.OHM_TO_US:
            return "µS = 1e6 / Ω (skin resistance)"
        if k is ConversionKind.ADC_TO_US:
            return f"µS = ADC / 2^{self.bits} x {self.vcc:g} V / {self.gain:g}"
        if k is ConversionKind.SCALE:
            return f"{target} = {src} x {self.factor:g}"
        if k is ConversionKind.NONE:
            return "shape only (amplitude unused)"
        return f"unknown unit {src!r}: not converted"


@dataclass(frozen=True)
class ChannelRule:
    """Which channel of a stream carries a modality, and how to convert it.

    ``labels`` (globs) are tried first, then ``index``; neither found = not present.
    """

    modality: str
    labels: tuple[str, ...] = ()
    index: int | None = None
    unit: str = ""
    convert: str = "none"
    factor: float = 1.0
    bits: int = 10
    vcc: float = 3.3
    gain: float = 0.132


@dataclass(frozen=True)
class MatchRule:
    """All given keys must match (case-insensitive globs; ``channels`` an int or 'a-b')."""

    name: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    source_id: tuple[str, ...] = ()
    label: tuple[str, ...] = ()
    unit: tuple[str, ...] = ()
    desc: tuple[str, ...] = ()
    sibling_type: tuple[str, ...] = ()
    channels: tuple[int, int] | None = None
    rate: tuple[float, float] | None = None


@dataclass(frozen=True)
class StreamRule:
    """One kind of stream a device family publishes."""

    match: tuple[MatchRule, ...]
    channels: tuple[ChannelRule, ...]
    rate: float = 0.0
    timestamps: Timestamps = Timestamps.LSL
    bursty: bool = False
    events: bool = False
    stable_source_id: bool = True
    note: str = ""


@dataclass(frozen=True)
class DeviceProfile:
    """A device family's streams, from one TOML file."""

    family: str
    title: str
    bridge: str
    tested: str
    streams: tuple[StreamRule, ...]
    path: str = ""


@dataclass(frozen=True)
class ChannelUse:
    """A channel of one concrete stream, as its profile reads it.

    Attributes
    ----------
    modality : str
        One of :data:`MODALITIES`.
    index : int
        0-based channel index.
    label : str
        The channel's label ('' when none).
    unit : str
        The true unit of the stored values (the profile's, where the published one is wrong).
    conversion : Conversion
        Stored values -> µS (EDA) or ms (IBI); shape only for waveforms.
    """

    modality: str
    index: int
    label: str
    unit: str
    conversion: Conversion

    @property
    def conversion_text(self) -> str:
        """How the values are read: the conversion (EDA, IBI) or the unit (the others)."""
        if self.modality in ("eda", "ibi"):
            return self.conversion.text("ms" if self.modality == "ibi" else "µS")
        if self.modality in ("ppg", "ecg"):
            return self.conversion.text()
        return f"in {self.unit}" if self.unit else "as published"


@dataclass(frozen=True)
class StreamProfile:
    """What a concrete stream is: its device family and channel uses.

    Attributes
    ----------
    family, title : str
        From the matched profile ('generic' / 'unknown' when nothing matched).
    rule : StreamRule or None
        The matched stream entry (None: nothing in any profile matched).
    channels : tuple of ChannelUse
        Channels the app can use, in the profile's order.
    """

    family: str
    title: str
    rule: StreamRule | None
    channels: tuple[ChannelUse, ...] = field(default=())

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.modality for c in self.channels))

    def channel(self, modality: str) -> ChannelUse | None:
        """The first channel of ``modality``, or None."""
        return next((c for c in self.channels if c.modality == modality), None)

    def use_at(self, index: int, modality: str) -> ChannelUse | None:
        """The use of channel ``index`` as ``modality`` (None when the profile has none)."""
        for c in self.channels:
            if c.index == index and c.modality == modality:
                return c
        return None

    @property
    def expected_rate(self) -> float:
        return self.rule.rate if self.rule is not None else 0.0

    @property
    def events(self) -> bool:
        """True for event streams (one sample per beat): no sampling rate applies."""
        return bool(self.rule is not None and self.rule.events)

    @property
    def timestamps(self) -> Timestamps:
        return self.rule.timestamps if self.rule is not None else Timestamps.LSL

    @property
    def bursty(self) -> bool:
        return bool(self.rule is not None and self.rule.bursty)

    @property
    def stable_source_id(self) -> bool:
        return self.rule is None or self.rule.stable_source_id


# ----------------------------------------------------------------------------- loading
def profile_dirs() -> list[Path]:
    """Where profile files are looked for, in order (later files never override earlier).

    ``$ATTUNE_DEVICE_PROFILES`` (os.pathsep-separated folders, for a lab's own devices), the
    ``resources/devices`` folder beside the package (source checkout and editable install),
    and ``<sys.prefix>/share/attunement/devices`` (where a wheel installs them).
    """
    out = [Path(p) for p in os.environ.get(PROFILE_DIR_ENV, "").split(os.pathsep) if p]
    out.append(Path(__file__).resolve().parents[1] / "resources" / "devices")
    out.append(Path(sys.prefix) / "share" / "attunement" / "devices")
    return [p for p in out if p.is_dir()]


def _globs(v: object, where: str) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return tuple(v)
    raise ProfileError(f"{where}: expected a string or a list of strings, got {v!r}")


def _range(v: object, where: str) -> tuple[float, float]:
    if isinstance(v, (int, float)):
        return (float(v), float(v))
    if isinstance(v, str) and re.fullmatch(r"\s*[\d.]+\s*-\s*[\d.]+\s*", v):
        a, b = v.split("-")
        return (float(a), float(b))
    raise ProfileError(f"{where}: expected a number or 'a-b', got {v!r}")


_MATCH_KEYS = {"name", "type", "source_id", "label", "unit", "desc", "sibling_type"}
_CONVERT = {"identity", "kohm_to_us", "adc_to_us", "scale", "by_unit", "none"}


def _match_rule(d: object, where: str) -> MatchRule:
    if not isinstance(d, dict) or not d:
        raise ProfileError(f"{where}: a match must be a non-empty table")
    unknown = set(d) - _MATCH_KEYS - {"channels", "rate"}
    if unknown:
        raise ProfileError(f"{where}: unknown match key(s) {sorted(unknown)}")
    kw: dict[str, object] = {k: _globs(v, f"{where}.{k}") for k, v in d.items() if k in _MATCH_KEYS}
    if "channels" in d:
        lo, hi = _range(d["channels"], f"{where}.channels")
        kw["channels"] = (int(lo), int(hi))
    if "rate" in d:
        kw["rate"] = _range(d["rate"], f"{where}.rate")
    return MatchRule(**kw)  # type: ignore[arg-type]


def _channel_rule(d: object, where: str) -> ChannelRule:
    if not isinstance(d, dict):
        raise ProfileError(f"{where}: a channel must be a table")
    mod = d.get("modality")
    if mod not in MODALITIES:
        raise ProfileError(f"{where}: modality must be one of {', '.join(MODALITIES)}")
    conv = d.get("convert", "none")
    if conv not in _CONVERT:
        raise ProfileError(f"{where}: convert must be one of {', '.join(sorted(_CONVERT))}")
    index = d.get("index")
    if index is not None and (not isinstance(index, int) or index < 0):
        raise ProfileError(f"{where}: index must be a non-negative integer")
    labels = _globs(d.get("labels", []), f"{where}.labels")
    if index is None and not labels:
        raise ProfileError(f"{where}: give labels, index or both")
    try:
        return ChannelRule(
            modality=mod,
            labels=labels,
            index=index,
            unit=str(d.get("unit", "")),
            convert=conv,
            factor=float(d.get("factor", 1.0)),
            bits=int(d.get("bits", 10)),
            vcc=float(d.get("vcc", 3.3)),
            gain=float(d.get("gain", 0.132)),
        )
    except (TypeError, ValueError) as exc:
        raise ProfileError(f"{where}: {exc}") from None


def _stream_rule(d: object, where: str) -> StreamRule:
    if not isinstance(d, dict):
        raise ProfileError(f"{where}: [[stream]] must be a table")
    matches = d.get("match")
    if isinstance(matches, dict):
        matches = [matches]
    if not isinstance(matches, list) or not matches:
        raise ProfileError(f"{where}: needs match = [{{...}}, ...]")
    chans = d.get("channels", [])
    if not isinstance(chans, list):
        raise ProfileError(f"{where}: channels must be a list of tables")
    try:
        ts = Timestamps(d.get("timestamps", "lsl"))
    except ValueError:
        raise ProfileError(f"{where}: timestamps must be lsl, arrival or unix") from None
    return StreamRule(
        match=tuple(_match_rule(m, f"{where}.match[{i}]") for i, m in enumerate(matches)),
        channels=tuple(_channel_rule(c, f"{where}.channels[{i}]") for i, c in enumerate(chans)),
        rate=float(d.get("rate", 0.0)),
        timestamps=ts,
        bursty=bool(d.get("bursty", False)),
        events=bool(d.get("events", False)),
        stable_source_id=bool(d.get("stable_source_id", True)),
        note=str(d.get("note", "")),
    )


def load_profile(path: str | Path) -> DeviceProfile:
    """Read one profile file; raises :class:`ProfileError` with one clear line."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"device profile {p}: cannot read it ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"device profile {p}: not valid TOML ({exc})") from None
    for key in ("family", "title"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ProfileError(f'device profile {p}: needs {key} = "..."')
    streams = data.get("stream", [])
    if not isinstance(streams, list) or not streams:
        raise ProfileError(f"device profile {p}: needs at least one [[stream]]")
    return DeviceProfile(
        family=data["family"],
        title=data["title"],
        bridge=str(data.get("bridge", "")),
        tested=str(data.get("tested", "")),
        streams=tuple(_stream_rule(s, f"{p.name} stream[{i}]") for i, s in enumerate(streams)),
        path=str(p),
    )


@lru_cache(maxsize=8)
def _load_all(dirs: tuple[str, ...]) -> tuple[DeviceProfile, ...]:
    seen: dict[str, DeviceProfile] = {}
    for d in dirs:
        for f in sorted(Path(d).glob("*.toml")):
            prof = load_profile(f)
            seen.setdefault(prof.family, prof)
    generic = [p for f, p in seen.items() if f == "generic"]
    return tuple([p for f, p in seen.items() if f != "generic"] + generic)


def load_profiles() -> tuple[DeviceProfile, ...]:
    """Every profile found by :func:`profile_dirs`; ``generic`` last."""
    return _load_all(tuple(str(d) for d in profile_dirs()))


# ----------------------------------------------------------------------------- matching
def _glob_any(patterns: Iterable[str], *values: str) -> bool:
    return any(fnmatch.fnmatchcase(v.lower(), p.lower()) for p in patterns for v in values)


def _rule_matches(
    m: MatchRule, s: StreamDescription, desc_xml: str, siblings: Sequence[StreamDescription]
) -> bool:
    if m.name and not _glob_any(m.name, s.name):
        return False
    if m.type and not _glob_any(m.type, s.type):
        return False
    if m.source_id and not _glob_any(m.source_id, s.source_id):
        return False
    if m.label and not _glob_any(m.label, *[x for x in s.labels if x]):
        return False
    if m.unit and not _glob_any(m.unit, *[x for x in s.units if x]):
        return False
    if m.desc and not _glob_any(m.desc, desc_xml):
        return False
    if m.channels is not None and not m.channels[0] <= s.channel_count <= m.channels[1]:
        return False
    if m.rate is not None and not m.rate[0] <= s.nominal_srate <= m.rate[1]:
        return False
    if m.sibling_type:
        sib = [o for o in siblings if o.source_id == s.source_id and o.uid != s.uid]
        if not s.source_id or not any(_glob_any(m.sibling_type, o.type) for o in sib):
            return False
    return True


def conversion_for(rule: ChannelRule, published_unit: str) -> tuple[Conversion, str]:
    """The conversion and true unit of one channel, given the unit the stream publishes."""
    pub = published_unit.strip()
    if rule.convert == "by_unit":
        unit = pub or rule.unit
        low = unit.lower()
        if rule.modality == "ibi":
            if low in _S_UNITS:
                return Conversion(ConversionKind.SCALE, factor=1000.0, source_unit=unit), unit
            if low in _1024_UNITS:
                return Conversion(ConversionKind.SCALE, 1000.0 / 1024.0, source_unit=unit), unit
            if low in _MS_UNITS:
                return Conversion(ConversionKind.IDENTITY, source_unit=unit), unit
            return Conversion(ConversionKind.UNKNOWN, source_unit=unit), unit
        if low in _US_UNITS:
            return Conversion(ConversionKind.IDENTITY, source_unit=unit), unit
        if low in _KOHM_UNITS:
            return Conversion(ConversionKind.KOHM_TO_US, source_unit=unit), unit
        if low in _OHM_UNITS:
            return Conversion(ConversionKind.OHM_TO_US, source_unit=unit), unit
        return Conversion(ConversionKind.UNKNOWN, source_unit=unit), unit
    unit = rule.unit or pub
    kind = {
        "identity": ConversionKind.IDENTITY,
        "kohm_to_us": ConversionKind.KOHM_TO_US,
        "adc_to_us": ConversionKind.ADC_TO_US,
        "scale": ConversionKind.SCALE,
        "none": ConversionKind.NONE,
    }[rule.convert]
    conv = Conversion(kind, rule.factor, rule.bits, rule.vcc, rule.gain, source_unit=unit)
    return conv, unit


def _find_channel(rule: ChannelRule, s: StreamDescription) -> int | None:
    for pat in rule.labels:
        for i, lab in enumerate(s.labels):
            if lab and fnmatch.fnmatchcase(lab.lower(), pat.lower()):
                return i
    if rule.index is not None and rule.index < s.channel_count:
        return rule.index
    return None


def _uses(rule: StreamRule, s: StreamDescription) -> tuple[ChannelUse, ...]:
    out: list[ChannelUse] = []
    for cr in rule.channels:
        i = _find_channel(cr, s)
        if i is None:
            continue
        label = s.labels[i] if i < len(s.labels) else ""
        published = s.units[i] if i < len(s.units) else ""
        conv, unit = conversion_for(cr, published)
        out.append(ChannelUse(cr.modality, i, label, unit, conv))
    return tuple(out)


def identify(
    s: StreamDescription,
    siblings: Sequence[StreamDescription] = (),
    desc_xml: str = "",
    profiles: Sequence[DeviceProfile] | None = None,
) -> StreamProfile:
    """The device family and channel uses of one stream.

    Parameters
    ----------
    s : StreamDescription
        The stream (with labels and units when its full info was fetched).
    siblings : sequence of StreamDescription
        The other visible streams (for ``sibling_type`` matches).
    desc_xml : str
        The stream's full info XML, for ``desc`` matches ('' when unknown).
    profiles : sequence of DeviceProfile, optional
        Defaults to :func:`load_profiles`.
    """
    for prof in load_profiles() if profiles is None else profiles:
        for rule in prof.streams:
            if any(_rule_matches(m, s, desc_xml, siblings) for m in rule.match):
                uses = _uses(rule, s)
                if rule.channels and not uses:
                    continue  # looks like the device but lacks its channels: try the rest
                return StreamProfile(prof.family, prof.title, rule, uses)
    return StreamProfile("unknown", "not recognised", None, ())
