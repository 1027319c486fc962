"""devices.xdf_reader on real third-party files, our own files, and broken input."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from devices.xdf_reader import (
    XdfReadError,
    XdfTruncatedWarning,
    load_recording,
)
from devices.xdf_writer import XdfWriter


def _header(name: str, fmt: str, nch: int, srate: float, desc: str = "") -> str:
    return (
        f'<?xml version="1.0"?><info><name>{name}</name><type>EDA</type>'
        f"<channel_count>{nch}</channel_count><channel_format>{fmt}</channel_format>"
        f"<source_id>sid-{name}</source_id><nominal_srate>{srate}</nominal_srate>"
        f"<desc>{desc}</desc></info>"
    )


@pytest.fixture
def own_file(tmp_path: Path) -> Path:
    """A 20 s recording: 32 Hz 2-ch EDA with units, markers, clock offsets, boundaries."""
    path = tmp_path / "own.xdf"
    desc = (
        "<channels><channel><label>EDA</label><unit>µS</unit><type>EDA</type></channel>"
        "<channel><name>Temp</name><unit>°C</unit></channel></channels>"
    )
    w = XdfWriter(path)
    eda = w.add_stream(_header("Patient-EDA", "float32", 2, 32.0, desc))
    mk = w.add_stream(_header("Markers", "string", 1, 0.0))
    ts = 500.0 + np.arange(640) / 32.0
    vals = np.column_stack([np.arange(640), -np.arange(640)]).astype(np.float32)
    for k in range(0, 640, 32):
        w.write_samples(eda, vals[k : k + 32], ts[k : k + 32])
        if k % 160 == 0:
            w.write_clock_offset(eda, 1000.0 + k / 32, 0.01)
            w.write_clock_offset(mk, 1000.0 + k / 32, 0.01)
            w.write_samples(mk, [[f"m{k}"]], [ts[k]])
            w.write_boundary()
        w.flush()
    w.close()
    return path


def test_own_file_loads_with_labels_units_and_raw_stamps(own_file: Path) -> None:
    rec = load_recording(own_file)
    assert not rec.truncated
    assert rec.file_header["version"] == ["1.0"]
    eda, mk = rec.streams
    assert (eda.name, eda.type, eda.source_id, eda.channel_format) == (
        "Patient-EDA",
        "EDA",
        "sid-Patient-EDA",
        "float32",
    )
    assert eda.labels == ("EDA", "Temp")  # <label> and <name> both understood
    assert eda.units == ("µS", "°C")
    assert eda.nominal_srate == 32.0 and eda.n_samples == 640
    np.testing.assert_array_equal(eda.values[:, 0], np.arange(640))
    np.testing.assert_array_equal(eda.raw_timestamps, 500.0 + np.arange(640) / 32.0)
    np.testing.assert_allclose(eda.timestamps, eda.raw_timestamps + 0.01, atol=1e-9)
    assert len(eda.clock_times) == 4
    assert "<desc>" in eda.header_xml
    assert mk.is_string and mk.values.shape == (4, 1) and mk.values[1, 0] == "m160"
    assert mk.labels == ("ch1",)
    assert [s.name for s in rec.select(["patient*"])] == ["Patient-EDA"]
    assert [s.name for s in rec.select(["markers"])] == ["Markers"]
    assert load_recording(own_file, streams=["EDA"]).streams[0].name == "Patient-EDA"


@pytest.mark.parametrize("cut", [5, 40, 0.3, 0.5, 0.77, -1, -7])
def test_truncated_file_loads_prefix_with_warning(
    own_file: Path, tmp_path: Path, cut: float
) -> None:
    data = own_file.read_bytes()
    n = int(cut * len(data)) if isinstance(cut, float) else (cut if cut > 0 else len(data) + cut)
    path = tmp_path / "cut.xdf"
    path.write_bytes(data[:n])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rec = load_recording(path)
        except XdfReadError as exc:  # cut before the first stream header
            assert "without any stream" in str(exc)
            return
    full = load_recording(own_file).streams[0]
    eda = rec.streams[0]
    # what is there is an exact prefix of the complete recording
    np.testing.assert_array_equal(eda.values, full.values[: eda.n_samples])
    np.testing.assert_array_equal(eda.raw_timestamps, full.raw_timestamps[: eda.n_samples])
    if rec.truncated:
        assert any(issubclass(w.category, XdfTruncatedWarning) for w in caught)
        assert "truncated" in rec.warnings[0]


def test_bad_input_raises_one_clear_error(tmp_path: Path) -> None:
    cases = {
        "missing.xdf": None,
        "empty.xdf": b"",
        "text.xdf": b"hello, this is not XDF\n",
        "magic_only.xdf": b"XDF:",
        "garbage_after_magic.xdf": b"XDF:" + bytes(range(7, 200)),
    }
    expected = {
        "missing.xdf": "no such file",
        "empty.xdf": "empty",
        "text.xdf": "not an XDF file",
        "magic_only.xdf": "without any stream",
        "garbage_after_magic.xdf": "without any stream",
    }
    for name, content in cases.items():
        p = tmp_path / name
        if content is not None:
            p.write_bytes(content)
        with pytest.raises(XdfReadError, match=expected[name]) as info:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", XdfTruncatedWarning)
                load_recording(p)
        assert "\n" not in str(info.value)
    with pytest.raises(XdfReadError, match="folder"):
        load_recording(tmp_path)


@pytest.mark.realdata
def test_every_shared_file_loads_or_is_rejected_cleanly(shared_xdf: Path) -> None:
    files = sorted(shared_xdf.glob("*.xdf"))
    assert files
    for f in files:
        try:
            rec = load_recording(f)
        except XdfReadError as exc:
            assert str(f) in str(exc)
            continue
        assert rec.streams, f
        for s in rec.streams:
            assert s.values.shape == (s.n_samples, s.n_channels), (f.name, s.name)
            assert s.raw_timestamps.shape == s.timestamps.shape
            assert len(s.channels) == s.n_channels
            if s.n_samples > 1 and not s.is_string:
                assert np.all(np.isfinite(s.timestamps))


@pytest.mark.realdata
def test_shared_file_specifics(shared_xdf: Path) -> None:
    polar = load_recording(shared_xdf / "PolarBand2lsl__data.xdf").streams[0]
    assert polar.type == "ECG" and polar.labels == ("ECG",) and polar.units == ("microvolts",)
    # bursts of identical raw stamps, dejittered into a regular series
    assert np.sum(np.diff(polar.raw_timestamps) < 1e-3) > 1000
    np.testing.assert_allclose(np.diff(polar.timestamps), 1 / polar.effective_srate, rtol=1e-6)

    muse = load_recording(shared_xdf / "MuseLSL2__sub-P001_run-001.xdf")
    ppg = [s for s in muse.streams if s.type == "PPG"][0]
    assert ppg.n_samples == 0 and ppg.values.shape == (0, 3)
    assert ppg.labels == ("LUX", "IR", "RED") and ppg.units[0] == "mmHg"

    empty = load_recording(shared_xdf / "example-files__empty_streams.xdf")
    assert {s.name: s.n_samples for s in empty.streams}["Data stream: test stream 0 counter"] == 10

    resets = load_recording(shared_xdf / "example-files__clock_resets.xdf")
    eeg = [s for s in resets.streams if s.type == "EEG"][0]
    assert eeg.n_channels == 8 and eeg.n_samples > 20000
    assert np.all(np.isfinite(eeg.timestamps))

    minimal = load_recording(shared_xdf / "example-files__minimal.xdf")
    assert {s.channel_format for s in minimal.streams} == {"int16", "string"}
    assert all(s.source_id == "" for s in minimal.streams)

    np_lab = load_recording(shared_xdf / "NPLab__000.xdf")
    exg = [s for s in np_lab.streams if s.type == "EEG"][0]
    assert exg.labels == ("1", "2", "3") and exg.duration > 280


@pytest.mark.realdata
def test_truncated_real_file(shared_xdf: Path, tmp_path: Path) -> None:
    data = (shared_xdf / "NPLab__000.xdf").read_bytes()
    path = tmp_path / "cut.xdf"
    path.write_bytes(data[: len(data) // 2 + 3])
    with pytest.warns(XdfTruncatedWarning):
        rec = load_recording(path)
    exg = [s for s in rec.streams if s.type == "EEG"][0]
    assert rec.truncated and 1000 < exg.n_samples < 28682


def test_gzip_compressed_file(own_file: Path, tmp_path: Path) -> None:
    import gzip

    packed = tmp_path / "own.xdfz"
    packed.write_bytes(gzip.compress(own_file.read_bytes()))
    a, b = load_recording(own_file), load_recording(packed)
    np.testing.assert_array_equal(a.streams[0].values, b.streams[0].values)
    bad = tmp_path / "bad.xdf.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(XdfReadError, match="cannot read"):
        load_recording(bad)
