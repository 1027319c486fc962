"""Thin helpers over pylsl: local-only configuration, stream descriptions, discovery.

``use_local_lsl()`` must run before pylsl is first imported, which is why pylsl is imported
lazily inside the functions of this module.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

LOCAL_CFG_TEXT = """\
[ports]
IPv6 = disable
PortRange = 256
[multicast]
ResolveScope = machine
[lab]
KnownPeers = {127.0.0.1}
[log]
level = -3
"""

NUMERIC_FORMATS = {"float32", "double64", "int8", "int16", "int32", "int64"}


def use_local_lsl() -> str:
    """Confine LSL to this machine (resolve scope 'machine', IPv4 loopback peers).

    Sets ``LSLAPICFG`` to the repository's ``resources/lsl_local.cfg`` (or an equivalent
    temporary file when running from an installed copy) unless it is already set.

    Returns
    -------
    str
        The config path in force.

    Raises
    ------
    RuntimeError
        If pylsl was already imported with another configuration (too late to change it).
    """
    if os.environ.get("LSLAPICFG"):
        return os.environ["LSLAPICFG"]
    if "pylsl" in sys.modules:
        raise RuntimeError("use_local_lsl() must run before pylsl is imported")
    path = Path(__file__).resolve().parents[1] / "resources" / "lsl_local.cfg"
    if not path.is_file():
        fd, name = tempfile.mkstemp(prefix="attune-lsl-", suffix=".cfg")
        with os.fdopen(fd, "w") as fh:
            fh.write(LOCAL_CFG_TEXT)
        path = Path(name)
    os.environ["LSLAPICFG"] = str(path)
    return str(path)


def use_quiet_lsl() -> None:
    """Keep liblsl's default network settings but silence its INFO log lines on stderr.

    Does nothing when ``LSLAPICFG`` is already set (a lab's own config wins) or pylsl is loaded.
    """
    if os.environ.get("LSLAPICFG") or "pylsl" in sys.modules:
        return
    path = Path(__file__).resolve().parents[1] / "resources" / "lsl_quiet.cfg"
    if path.is_file():
        os.environ["LSLAPICFG"] = str(path)


def lsl_scope() -> str:
    """Where this process's LSL outlets can be found: 'machine' or 'network'.

    'machine' when the configuration in force (``LSLAPICFG``) sets ``ResolveScope = machine``
    (``--local-only``, the demo, the tests): other computers' resolvers do not see the
    outlets. Otherwise liblsl's default applies and any computer on the local network can
    find and read them.
    """
    path = os.environ.get("LSLAPICFG")
    if not path:
        return "network"
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "network"
    found = re.search(r"^\s*ResolveScope\s*=\s*(\w+)", text, re.MULTILINE | re.IGNORECASE)
    return "machine" if found and found.group(1).lower() == "machine" else "network"


@dataclass(frozen=True)
class StreamDescription:
    """What is known about an LSL stream, without holding any LSL object.

    Attributes
    ----------
    name, type, source_id, hostname, uid : str
        As announced by the outlet.
    nominal_srate : float
        Declared rate (Hz); 0 for irregular streams.
    channel_count : int
        Channels per sample.
    channel_format : str
        'float32', 'double64', 'int8'...'int64' or 'string'.
    labels, units : tuple of str
        Per-channel labels and units from the description (``<label>`` or ``<name>``), empty
        strings where the outlet gave none; only filled when the full info was fetched.
    desc_xml : str
        The full info XML when it was fetched ('' otherwise); used to recognise devices.
    """

    name: str
    type: str
    source_id: str
    hostname: str
    nominal_srate: float
    channel_count: int
    channel_format: str
    uid: str = ""
    labels: tuple[str, ...] = field(default=())
    units: tuple[str, ...] = field(default=())
    desc_xml: str = field(default="", repr=False, compare=False)

    @property
    def is_numeric(self) -> bool:
        return self.channel_format in NUMERIC_FORMATS

    @property
    def identity(self) -> tuple[str, str, str, str, int]:
        """What identifies the same device across reconnects.

        source_id, name, type, hostname and channel count together: several bridges give
        every device the same source_id (PolarBand2lsl ``myuid2424``, BLE ``RR_markers``, all
        streams of one E4 bridge), so the source_id alone is not enough. Streams whose bridge
        draws a new random source_id on every run use :attr:`identity_without_source_id`.
        """
        return (self.source_id, self.name, self.type, self.hostname, self.channel_count)

    @property
    def identity_without_source_id(self) -> tuple[str, str, str, str, int]:
        """:attr:`identity` for bridges whose source_id changes on every run (Biopac)."""
        return ("", self.name, self.type, self.hostname, self.channel_count)


_FORMATS = {
    1: "float32",
    2: "double64",
    3: "string",
    4: "int32",
    5: "int16",
    6: "int8",
    7: "int64",
}


def describe(info, xml: str | None = None) -> StreamDescription:
    """Build a :class:`StreamDescription` from a ``pylsl.StreamInfo`` (and its full XML)."""
    labels: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    if xml:
        labels, units = channel_labels_from_xml(xml, info.channel_count())
    return StreamDescription(
        name=info.name(),
        type=info.type(),
        source_id=info.source_id(),
        hostname=info.hostname(),
        nominal_srate=float(info.nominal_srate()),
        channel_count=int(info.channel_count()),
        channel_format=_FORMATS.get(int(info.channel_format()), "undefined"),
        uid=info.uid(),
        labels=labels,
        units=units,
        desc_xml=xml or "",
    )


def channel_labels_from_xml(xml: str, n_channels: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Channel labels and units from a stream info XML (``<label>`` or ``<name>`` per channel)."""
    labels = [""] * n_channels
    units = [""] * n_channels
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return tuple(labels), tuple(units)
    chans = root.findall("./desc/channels/channel")
    for i, ch in enumerate(chans[:n_channels]):
        labels[i] = (ch.findtext("label") or ch.findtext("name") or "").strip()
        units[i] = (ch.findtext("unit") or ch.findtext("units") or "").strip()
    return tuple(labels), tuple(units)


_RESOLVER = None
_RESOLVER_SINCE = 0.0


def resolve_streams(wait_s: float = 1.0) -> list[tuple[StreamDescription, object]]:
    """Streams visible now, as (description, pylsl.StreamInfo).

    One continuous resolver lives for the whole process and keeps asking; this call waits until
    it has been listening for at least ``wait_s`` seconds and returns what it knows (streams
    gone for more than 5 s are forgotten). Fresh one-shot resolves are unreliable on a busy
    machine: liblsl outlets may not answer a repeated query soon after the previous one, so
    short resolves often return only part of the streams.
    """
    global _RESOLVER, _RESOLVER_SINCE
    import pylsl

    if _RESOLVER is None:
        _RESOLVER = pylsl.ContinuousResolver(forget_after=5.0)
        _RESOLVER_SINCE = time.monotonic()
    left = _RESOLVER_SINCE + max(wait_s, 0.05) - time.monotonic()
    if left > 0:
        time.sleep(left)
    return [(describe(i), i) for i in _RESOLVER.results()]


def resolve_named(name: str, timeout: float = 0.2) -> list[tuple[StreamDescription, object]]:
    """Streams called exactly ``name``, by a targeted query (waits up to ``timeout`` s)."""
    import pylsl

    return [(describe(i), i) for i in pylsl.resolve_byprop("name", name, 0, timeout)]


def full_info(info, timeout: float = 2.0) -> tuple[StreamDescription, str]:
    """Fetch a stream's full info (with ``<desc>``) by briefly opening an inlet."""
    import pylsl

    inlet = pylsl.StreamInlet(info, max_buflen=1, recover=False)
    try:
        full = inlet.info(timeout=timeout)
        xml = full.as_xml()
        return describe(full, xml), xml
    finally:
        inlet.close_stream()
        del inlet


def make_outlet(
    name: str,
    stype: str,
    source_id: str,
    srate: float,
    labels: list[str],
    units: list[str] | str,
    channel_format: str = "float32",
    manufacturer: str = "Attunement",
    chunk_size: int = 0,
):
    """Create a ``pylsl.StreamOutlet`` with channel labels, units and types in its description."""
    import pylsl

    info = pylsl.StreamInfo(name, stype, len(labels), srate, channel_format, source_id)
    desc = info.desc()
    desc.append_child_value("manufacturer", manufacturer)
    chans = desc.append_child("channels")
    unit_list = [units] * len(labels) if isinstance(units, str) else list(units)
    for label, unit in zip(labels, unit_list, strict=True):
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", unit)
        ch.append_child_value("type", stype)
    return pylsl.StreamOutlet(info, chunk_size=chunk_size, max_buffered=360)


def local_clock() -> float:
    """This machine's LSL clock (s)."""
    import pylsl

    return pylsl.local_clock()
