"""Round trips of devices.xdf_writer through pyxdf (the reference reader), no mocks."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import pyxdf

from devices.xdf_writer import (
    BOUNDARY_UUID,
    CHANNEL_FORMATS,
    XdfWriteError,
    XdfWriter,
    varlen_int,
)

ROOT = Path(__file__).resolve().parents[1]


def header_xml(name: str, fmt: str, nch: int, srate: float, source_id: str, desc: str = "") -> str:
    """A stream header like ``pylsl.StreamInfo.as_xml()`` produces it."""
    return (
        '<?xml version="1.0"?>\n<info>\n'
        f"\t<name>{name}</name>\n\t<type>EXG</type>\n\t<channel_count>{nch}</channel_count>\n"
        f"\t<channel_format>{fmt}</channel_format>\n\t<source_id>{source_id}</source_id>\n"
        f"\t<nominal_srate>{srate}</nominal_srate>\n\t<version>1.1000000000000001</version>\n"
        "\t<created_at>1234.5</created_at>\n\t<uid>abc</uid>\n\t<session_id>default</session_id>\n"
        "\t<hostname>here</hostname>\n\t<v4address />\n\t<v4data_port>0</v4data_port>\n"
        f"\t<desc>{desc}</desc>\n</info>\n"
    )


def load(path: Path, **kw) -> dict[str, dict]:
    kw.setdefault("synchronize_clocks", False)
    kw.setdefault("dejitter_timestamps", False)
    streams, _ = pyxdf.load_xdf(str(path), **kw)
    return {s["info"]["name"][0]: s for s in streams}


def test_varlen_int_sizes() -> None:
    assert varlen_int(5) == b"\x01\x05"
    assert varlen_int(300) == b"\x04" + (300).to_bytes(4, "little")
    assert varlen_int(2**33) == b"\x08" + (2**33).to_bytes(8, "little")


@pytest.mark.parametrize("fmt", [f for f in CHANNEL_FORMATS if f != "string"])
def test_numeric_round_trip_every_format(tmp_path: Path, fmt: str) -> None:
    rng = np.random.default_rng(1)
    dtype = CHANNEL_FORMATS[fmt]
    assert dtype is not None
    if dtype.kind == "i":
        info = np.iinfo(dtype)
        values = rng.integers(info.min, info.max, size=(700, 3), endpoint=True).astype(dtype)
        values[0] = [info.min, info.max, 0]
    else:
        values = rng.normal(0, 1e3, size=(700, 3)).astype(dtype)
    ts = 1000.0 + np.arange(700) / 250.0 + rng.normal(0, 1e-4, 700)
    path = tmp_path / "f.xdf"
    with XdfWriter(path) as w:
        sid = w.add_stream(header_xml("S", fmt, 3, 250.0, "src1"))
        for a in range(0, 700, 256):  # several chunks, > 255 samples uses 4-byte counts
            w.write_samples(sid, values[a : a + 256], ts[a : a + 256])
    s = load(path)["S"]
    assert s["time_series"].dtype == dtype
    np.testing.assert_array_equal(s["time_series"], values)
    np.testing.assert_array_equal(s["time_stamps"], ts)  # raw stamps, bit-exact
    footer = s["footer"]["info"]
    assert int(footer["sample_count"][0]) == 700
    assert float(footer["first_timestamp"][0]) == ts[0]
    assert float(footer["last_timestamp"][0]) == ts[-1]


def test_integer_formats_round_float_input(tmp_path: Path) -> None:
    path = tmp_path / "i.xdf"
    with XdfWriter(path) as w:
        sid = w.add_stream(header_xml("I", "int16", 1, 10.0, "i"))
        w.write_samples(sid, np.array([[1.4], [-2.6], [np.nan], [1e9]]), [1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(load(path)["I"]["time_series"][:, 0], [1, -3, 0, 32767])


def test_strings_unicode_headers_markers_offsets(tmp_path: Path) -> None:
    desc = (
        "<channels><channel><label>Fp1 µV</label><unit>microvolts</unit></channel>"
        "<channel><label>ΔEDA</label><unit>µS</unit></channel></channels>"
        "<manufacturer>Attunement — tést</manufacturer>"
    )
    markers = [["start talking"], ["écoute 🎧"], [""], ["x" * 300], ["<b>&amp;</b>"]]
    mts = [10.0, 11.5, 12.0, 13.25, 14.0]
    path = tmp_path / "s.xdf"
    w = XdfWriter(path, header_fields={"app": "attunement-test"})
    sig = w.add_stream(header_xml("Sig", "double64", 2, 4.0, "sig", desc))
    mk = w.add_stream(header_xml("Markers ✓", "string", 1, 0.0, "mk"))
    two = w.add_stream(header_xml("Two", "string", 2, 0.0, "two"))
    w.write_samples(sig, np.arange(20.0).reshape(10, 2), 10.0 + np.arange(10) / 4)
    w.write_samples(mk, markers[:2], mts[:2])
    w.write_clock_offset(sig, 105.0, 0.25)  # local time 105 s, offset 0.25 s
    w.write_clock_offset(mk, 105.0, -0.5)
    w.write_boundary()
    w.write_samples(mk, markers[2:], mts[2:])
    w.write_samples(two, [["a", "β"], ["", "ç"]], [20.0, 21.0])
    w.write_clock_offset(sig, 110.0, 0.26)
    stats = {s.name: s for s in w.close()}
    assert stats["Markers ✓"].sample_count == 5

    data = path.read_bytes()
    assert data[:4] == b"XDF:"
    assert BOUNDARY_UUID in data
    streams, fileheader = pyxdf.load_xdf(
        str(path), synchronize_clocks=False, dejitter_timestamps=False
    )
    assert fileheader["info"]["version"][0] == "1.0"
    assert fileheader["info"]["app"][0] == "attunement-test"
    by = {s["info"]["name"][0]: s for s in streams}
    s = by["Sig"]
    chans = s["info"]["desc"][0]["channels"][0]["channel"]
    assert [c["label"][0] for c in chans] == ["Fp1 µV", "ΔEDA"]
    assert [c["unit"][0] for c in chans] == ["microvolts", "µS"]
    assert s["info"]["desc"][0]["manufacturer"][0] == "Attunement — tést"
    assert s["info"]["source_id"][0] == "sig"
    # LabRecorder convention: (local_time - offset, offset)
    assert s["clock_times"] == [104.75, 109.74]
    assert s["clock_values"] == [0.25, 0.26]
    footer = s["footer"]["info"]
    offs = footer["clock_offsets"][0]["offset"]
    assert [(float(o["time"][0]), float(o["value"][0])) for o in offs] == [
        (104.75, 0.25),
        (109.74, 0.26),
    ]
    m = by["Markers ✓"]
    assert m["time_series"] == markers
    np.testing.assert_array_equal(m["time_stamps"], mts)
    assert m["clock_times"] == [105.5]
    assert by["Two"]["time_series"] == [["a", "β"], ["", "ç"]]
    # with clock sync the offsets are applied
    synced = load(path, synchronize_clocks=True)
    np.testing.assert_allclose(synced["Markers ✓"]["time_stamps"], np.array(mts) - 0.5)


def test_empty_stream_and_no_streams(tmp_path: Path) -> None:
    path = tmp_path / "e.xdf"
    with XdfWriter(path) as w:
        w.add_stream(header_xml("Empty", "float32", 4, 100.0, "e"))
    s = load(path)["Empty"]
    assert s["time_series"].shape == (0, 4)
    assert int(s["footer"]["info"]["sample_count"][0]) == 0
    path2 = tmp_path / "none.xdf"
    XdfWriter(path2).close()
    streams, header = pyxdf.load_xdf(str(path2))
    assert streams == [] and header["info"]["version"][0] == "1.0"


def test_file_mode_and_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "m.xdf"
    XdfWriter(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(XdfWriteError, match="already exists"):
        XdfWriter(path)
    os.chmod(path, 0o644)
    XdfWriter(path, overwrite=True).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_unwritable_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(XdfWriteError, match="cannot create"):
        XdfWriter(tmp_path / "missing" / "x.xdf")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user that ignores permissions")
        with pytest.raises(XdfWriteError, match="cannot create .*Permission denied"):
            XdfWriter(ro / "x.xdf")
    finally:
        ro.chmod(0o700)


def test_bad_arguments(tmp_path: Path) -> None:
    with XdfWriter(tmp_path / "b.xdf") as w:
        with pytest.raises(ValueError, match="unsupported channel format"):
            w.add_stream(header_xml("X", "float128", 1, 1.0, "x"))
        sid = w.add_stream(header_xml("X", "float32", 2, 1.0, "x"))
        with pytest.raises(ValueError, match="shape"):
            w.write_samples(sid, np.zeros((3, 3)), np.zeros(3))
        with pytest.raises(ValueError, match="unknown XDF stream id"):
            w.write_samples(99, np.zeros((1, 2)), [1.0])


def test_maybe_flush_and_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "f.xdf"
    w = XdfWriter(path, flush_interval=0.0, boundary_interval=0.0)
    sid = w.add_stream(header_xml("F", "float32", 1, 1.0, "f"))
    w.write_samples(sid, np.ones((3, 1)), [1.0, 2.0, 3.0])
    assert w.maybe_flush()
    # flushed data is on disk before close and loads without footers
    assert load(path)["F"]["time_series"].shape == (3, 1)
    assert path.read_bytes().count(BOUNDARY_UUID) >= 1
    w.close()


def test_file_size_limit_keeps_what_was_written(tmp_path: Path) -> None:
    """A write failing midway (here: RLIMIT_FSIZE, like a full disk) keeps a loadable file."""
    path = tmp_path / "full.xdf"
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        import numpy as np
        sys.path.insert(0, {str(ROOT)!r})
        from devices.xdf_writer import XdfWriter, XdfWriteError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        w = XdfWriter({str(path)!r})
        sid = w.add_stream('<?xml version="1.0"?><info><name>Full</name><channel_count>4</channel_count>'
                           '<channel_format>double64</channel_format><nominal_srate>100</nominal_srate></info>')
        n = 0
        try:
            while True:
                w.write_samples(sid, np.full((333, 4), n, float), n + np.arange(333) / 100.0)
                w.flush()
                n += 333
        except XdfWriteError as exc:
            print(exc)
            print(n)
        assert w.close()[0].sample_count == n
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    message, n_ok = out.stdout.strip().splitlines()
    assert "writing" in message and "kept" in message, message
    s = load(path)["Full"]
    assert len(s["time_series"]) == int(n_ok) > 0
    assert os.path.getsize(path) <= 200_000
