"""Test helper: a simulated dyad written as a real XDF file (read back by pyxdf in the tests)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from devices.assign import ROLES
from devices.xdf_writer import XdfWriter


def header_xml(name: str, stype: str, fmt: str, labels: Sequence[str], unit: str, srate: float,
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
    (seconds from the simulation start, label). Used by tests and benchmarks.
    """
    with XdfWriter(path, overwrite=True, header_fields={"recorder": "attunement simulator"}) as w:
        plan = []
        for role in getattr(dyad, "roles", ROLES):
            if hasattr(dyad, "signals"):
                sigs = dyad.signals(role)
            else:
                pr = getattr(dyad, role)
                sigs = [
                    ("EDA", pr.eda, pr.eda_fs, "microsiemens"),
                    ("PPG", pr.ppg, pr.ppg_fs, "a.u."),
                ]
            for mod, x, fs, unit in sigs:
                name = f"{prefix}-{role}-{mod}"
                sid = w.add_stream(header_xml(name, mod, "float32", [mod], unit, fs, name))
                plan.append((sid, np.asarray(x, dtype=np.float32), float(fs)))
        mk = w.add_stream(
            header_xml(f"{prefix}-Markers", "Markers", "string", ["label"], "", 0.0, "mk")
        )
        dur = max(x.size / fs for _, x, fs in plan)
        for s0 in np.arange(0.0, dur, 1.0):
            for sid, x, fs in plan:
                i0, i1 = int(round(s0 * fs)), min(int(round((s0 + 1.0) * fs)), x.size)
                ok = np.isfinite(x[i0:i1])
                if i1 > i0 and ok.all():
                    w.write_samples(sid, x[i0:i1, None], t0 + np.arange(i0, i1) / fs)
                elif ok.any():  # NaN: the device was off then (a group member's span)
                    keep = np.flatnonzero(ok) + i0
                    w.write_samples(sid, x[keep, None], t0 + keep / fs)
                if int(s0) % 5 == 0:
                    w.write_clock_offset(sid, t0 + s0, 0.0)
            due = [(t, lab) for t, lab in markers if s0 <= t < s0 + 1.0]
            if due:
                w.write_samples(mk, [[lab] for _, lab in due], [t0 + t for t, _ in due])
    return Path(path)


def write_group_xdf(
    path: str | Path,
    group: Any,
    t0: float = 1000.0,
    markers: Sequence[tuple[float, str]] = (),
    prefix: str = "AttuneSim",
    offsets: dict[str, tuple[float, float]] | None = None,
) -> Path:
    """Write a simulated group (:func:`dsp.simulate_group.simulate_group`) as an XDF file.

    As :func:`write_simulated_xdf`, one EDA and one PPG stream per person named
    ``<prefix>-<name>-EDA/PPG`` (the group simulator's names), in the group's order.
    ``offsets`` keeps only a person's span ``(start s, end s)`` of the recording (a person who
    arrives late or whose device drops).
    """
    people = {name: group.people[name] for name in group.config.people}
    return write_simulated_xdf(path, _Group(people, offsets or {}), t0, markers, prefix)


class _Group:
    """Adapter: a group recording seen as the person records :func:`write_simulated_xdf`
    iterates over (``roles`` and attribute access)."""

    def __init__(self, people: dict[str, Any], spans: dict[str, tuple[float, float]]) -> None:
        self.roles = tuple(people)
        self.people = people
        self.spans = spans

    def signals(self, role: str):
        pr = self.people[role]
        span = self.spans.get(role)
        out = []
        for mod, x, fs, unit in (
            ("EDA", pr.eda, pr.eda_fs, "microsiemens"),
            ("PPG", pr.ppg, pr.ppg_fs, "a.u."),
        ):
            x = np.asarray(x, dtype=np.float32)
            if span is not None:
                x = x.copy()
                i0, i1 = int(span[0] * fs), int(span[1] * fs)
                x[:i0] = np.nan
                x[i1:] = np.nan
            out.append((mod, x, fs, unit))
        return out
