"""Recordings from two PCs: clock offsets applied even where pyxdf fails, or no concordance.

The synthetic files hold a dyad whose clinician streams were stamped on a second PC whose LSL
clock runs 60 s ahead of the recording PC (ClockOffset chunks say -60 s), with footers that
give the sample count as a float (``94176.0``), as some recorders write them.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import pyxdf

from devices.xdf_reader import _scan, load_recording
from devices.xdf_writer import TAG_STREAM_FOOTER, XdfWriter, chunk_bytes
from dsp.simulate import simulate_dyad
from tests.xdf_sim import header_xml

T0 = 1000.0
SKEW = 60.0


def _write_two_pc(path: Path, offsets: int = 13, duration: float = 60.0) -> Path:
    dyad = simulate_dyad(duration_s=duration, seed=4)
    with XdfWriter(path, overwrite=True) as w:
        for role, skew, host in (("patient", 0.0, "pc-a"), ("clinician", SKEW, "pc-b")):
            pr = getattr(dyad, role)
            for mod, x, fs in (("EDA", pr.eda, pr.eda_fs), ("PPG", pr.ppg, pr.ppg_fs)):
                name = f"PC-{role}-{mod}"
                unit = "microsiemens" if mod == "EDA" else "a.u."
                xml = header_xml(name, mod, "float32", [mod], unit, fs, name)
                sid = w.add_stream(xml.replace("<hostname>simulator<", f"<hostname>{host}<"))
                ts = T0 + skew + np.arange(x.size) / fs  # the sender PC's own LSL clock
                for i0 in range(0, x.size, int(fs)):
                    w.write_samples(sid, x[i0 : i0 + int(fs), None].astype(np.float32),
                                    ts[i0 : i0 + int(fs)])  # fmt: skip
                for k in range(13 if role == "patient" else offsets):
                    w.write_clock_offset(sid, T0 + skew + 5.0 * k, -skew)
    return _float_footers(path)


def _float_footers(path: Path) -> Path:
    """Rewrite every footer's integer sample count as a float (chunk lengths updated)."""
    data = path.read_bytes()
    scan = _scan(path, data)
    out, pos = bytearray(data[:4]), 4
    for tag, body, end in scan.chunks:  # body: the chunk's tag; before it its length field
        if tag == TAG_STREAM_FOOTER:
            content = data[body + 2 : end]
            sid = content[:4]
            xml = content[4:].decode()
            a = xml.index("<sample_count>") + len("<sample_count>")
            b = xml.index("</sample_count>")
            xml = xml[:a] + f"{int(xml[a:b])}.0" + xml[b:]
            out += chunk_bytes(TAG_STREAM_FOOTER, sid + xml.encode())
        else:
            out += data[pos:end]
        pos = end
    path.write_bytes(bytes(out))
    return path


def test_float_footer_counts_break_pyxdf_but_not_us(tmp_path: Path) -> None:
    f = _write_two_pc(tmp_path / "two_pc.xdf")
    assert b"<sample_count>" in f.read_bytes() and b".0</sample_count>" in f.read_bytes()
    try:
        pyxdf.load_xdf(str(f))
    except ValueError as exc:  # the quirk as met in the wild (pyxdf 1.17)
        assert "94" in str(exc) or ".0" in str(exc)
    rec = load_recording(f)
    assert rec.aligned and rec.alignment == ""
    assert not any("failed" in w for w in rec.warnings)
    assert any("sample count as a float" in w for w in rec.warnings)
    by = {s.name: s for s in rec.streams}
    p, c = by["PC-patient-EDA"], by["PC-clinician-EDA"]
    # partners line up within 0.1 s on the recording PC's clock ...
    assert abs(c.timestamps[0] - p.timestamps[0]) < 0.1
    assert abs(by["PC-clinician-PPG"].timestamps[0] - by["PC-patient-PPG"].timestamps[0]) < 0.1
    # ... while the raw stamps keep the sender's clock
    assert c.raw_timestamps[0] == pytest.approx(T0 + SKEW)
    assert c.footer is not None and int(str(c.footer["sample_count"][0]).strip()) == c.n_samples


def test_two_pc_dyad_is_analysed_aligned(tmp_path: Path) -> None:
    from app.analysis import analyze_file

    res = analyze_file(_write_two_pc(tmp_path / "two_pc.xdf"))
    starts = [p.t_start for p in res.persons.values()]
    assert max(starts) - min(starts) < 0.1
    assert res.dyad is not None


def test_unalignable_recording_gets_no_concordance_and_one_line_why(tmp_path: Path) -> None:
    from app.analysis import analyze_file

    # the second PC's streams carry no clock offsets: their clock cannot be related
    f = _write_two_pc(tmp_path / "no_offsets.xdf", offsets=0)
    rec = load_recording(f)
    assert not rec.aligned
    assert "'pc-b' has no clock offsets" in rec.alignment and "\n" not in rec.alignment
    res = analyze_file(f)
    assert res.dyad is None
    why = [n for n in res.notes if "cannot be lined up" in n]
    assert len(why) == 1 and "no concordance" in why[0], res.notes


def test_real_files_are_all_alignable(shared_xdf: Path) -> None:
    for f in sorted(shared_xdf.glob("*.xdf")):
        rec = load_recording(f)
        assert rec.aligned, (f.name, rec.alignment)
    # the two-PC file with a clock reset: its streams end up on one clock, overlapping
    rec = load_recording(shared_xdf / "example-files__clock_resets.xdf")
    spans = [(s.timestamps[0], s.timestamps[-1]) for s in rec.streams if s.n_samples > 1]
    assert max(a for a, _ in spans) < min(b for _, b in spans)


def test_struct_of_footer_rewrite_is_valid_xdf(tmp_path: Path) -> None:
    f = _write_two_pc(tmp_path / "x.xdf", duration=10.0)
    scan = _scan(f, f.read_bytes())
    assert not scan.truncated and not scan.resynced
    footers = [(b, e) for t, b, e in scan.chunks if t == TAG_STREAM_FOOTER]
    assert len(footers) == 4
    b, e = footers[0]
    (sid,) = struct.unpack_from("<I", scan.data, b + 2)
    assert sid == 1
