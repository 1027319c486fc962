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


# --- the fast read path equals pyxdf.load_xdf -------------------------------------------------
#
# load_recording decodes Samples chunks in bulk (numpy) and runs pyxdf's own clock sync /
# dejitter helpers on the result; anything damaged goes through pyxdf.load_xdf as before. These
# tests pin that both routes give the same recording, and that the fast one is really taken.

import struct  # noqa: E402

import pyxdf  # noqa: E402

import devices.xdf_fast as xdf_fast  # noqa: E402
import devices.xdf_reader as xdf_reader  # noqa: E402
from devices.xdf_dejitter import dejitter_streams  # noqa: E402
from devices.xdf_reader import XdfRecording  # noqa: E402
from devices.xdf_writer import TAG_SAMPLES, chunk_bytes, varlen_int  # noqa: E402

SYNC_MODES = [(True, True), (False, False), (True, False), (False, True)]


def _load(path: Path, route: str, sync: bool = True, dejitter: bool = True) -> XdfRecording:
    """load_recording forced through one route: "fast" (pyxdf.load_xdf must not run) or
    "pyxdf" (the fast path disabled: the reader as it was before)."""
    mp = pytest.MonkeyPatch()
    try:
        if route == "fast":

            def no_pyxdf(*args: object, **kwargs: object) -> None:
                raise AssertionError("fell back to pyxdf.load_xdf")

            mp.setattr(xdf_reader, "_pyxdf_load", no_pyxdf)
        else:
            mp.setattr(xdf_reader, "_try_fast", lambda *a, **k: None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", XdfTruncatedWarning)
            return load_recording(path, sync_clocks=sync, dejitter=dejitter)
    finally:
        mp.undo()


def _assert_same(a: XdfRecording, b: XdfRecording) -> None:
    """Values bit-identical, timestamps within 1 ns, everything else equal."""
    assert a.file_header == b.file_header
    assert (a.truncated, a.warnings) == (b.truncated, b.warnings)
    assert len(a.streams) == len(b.streams)
    for s, r in zip(a.streams, b.streams, strict=True):
        name = (s.stream_id, s.name)
        assert s.values.dtype == r.values.dtype and s.values.shape == r.values.shape, name
        if s.is_string:
            assert s.values.tolist() == r.values.tolist(), name
        else:
            assert s.values.tobytes() == r.values.tobytes(), name  # bit-identical, NaN too
        assert s.timestamps.shape == r.timestamps.shape, name
        if s.n_samples:
            assert np.max(np.abs(s.timestamps - r.timestamps)) <= 1e-9, name
        np.testing.assert_array_equal(s.raw_timestamps, r.raw_timestamps)
        np.testing.assert_array_equal(s.clock_times, r.clock_times)
        np.testing.assert_array_equal(s.clock_values, r.clock_values)
        for fld in ("stream_id", "name", "type", "source_id", "channel_format", "channels"):
            assert getattr(s, fld) == getattr(r, fld), (name, fld)
        assert (s.nominal_srate, s.segments, s.header_xml) == (
            r.nominal_srate,
            r.segments,
            r.header_xml,
        )
        assert s.effective_srate == pytest.approx(r.effective_srate, rel=1e-12, abs=0), name
        assert s.info == r.info and s.footer == r.footer, name


def _assert_like_pyxdf(path: Path, sync: bool = True, dejitter: bool = True) -> XdfRecording:
    """The fast route against pyxdf.load_xdf itself and against the pyxdf route."""
    fast = _load(path, "fast", sync, dejitter)
    _assert_same(fast, _load(path, "pyxdf", sync, dejitter))
    data = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XdfTruncatedWarning)
        end = xdf_reader._scan(path, data).valid_end
    # the reference: pyxdf without its dejitter, then ours (pyxdf's, breaking at dropouts;
    # equal to pyxdf's own on every real file: test_dejitter_is_pyxdfs_without_dropouts)
    ref, header = pyxdf.load_xdf(
        io.BytesIO(data[:end]), synchronize_clocks=sync, dejitter_timestamps=False
    )
    if dejitter:
        dejitter_streams(ref)
    assert fast.file_header == (header or {}).get("info", {})
    for s, r in zip(fast.streams, ref, strict=True):
        if s.is_string:
            assert s.values.tolist() == r["time_series"], s.name
        else:
            np.testing.assert_array_equal(
                s.values, np.asarray(r["time_series"]).reshape(s.values.shape)
            )
            assert s.values.dtype == np.asarray(r["time_series"]).dtype
        np.testing.assert_allclose(s.timestamps, r["time_stamps"], rtol=0, atol=1e-9)
        assert s.info == r["info"]
        assert s.footer == (r.get("footer") or {}).get("info")
    return fast


import io  # noqa: E402


@pytest.mark.realdata
@pytest.mark.parametrize("sync,dejitter", SYNC_MODES)
def test_fast_path_equals_pyxdf_on_every_shared_file(
    shared_xdf: Path, sync: bool, dejitter: bool
) -> None:
    files = sorted(shared_xdf.glob("*.xdf"))
    assert len(files) >= 7
    for f in files:
        _assert_like_pyxdf(f, sync, dejitter)


@pytest.mark.realdata
@pytest.mark.parametrize(
    "name",
    ["NPLab__000.xdf", "example-files__clock_resets.xdf", "example-files__empty_streams.xdf",
     "PolarBand2lsl__data.xdf", "MuseLSL2__sub-P050_run-001.xdf"],
)  # fmt: skip
def test_fast_path_equals_pyxdf_on_truncated_shared_files(
    shared_xdf: Path, tmp_path: Path, name: str
) -> None:
    data = (shared_xdf / name).read_bytes()
    for frac in (0.13, 0.5, 0.91, 0.999):
        path = tmp_path / f"cut{frac}.xdf"
        path.write_bytes(data[: int(frac * len(data))])
        try:
            _assert_like_pyxdf(path)
        except XdfReadError as exc:  # cut before the first stream header
            assert "without any stream" in str(exc)


def _raw_samples(sid: int, rows: list[tuple[float | None, bytes]]) -> bytes:
    """A Samples chunk by hand: (timestamp or None for a deduced one, value bytes) per row."""
    body = b"".join((b"\x00" if t is None else b"\x08" + struct.pack("<d", t)) + v for t, v in rows)
    return chunk_bytes(TAG_SAMPLES, struct.pack("<I", sid) + varlen_int(len(rows)) + body)


@pytest.fixture
def mixed_file(tmp_path: Path) -> Path:
    """Every numeric format, multi-channel, NaN payloads, unicode strings, a clock reset,
    and chunks with stamped, deduced (TimeStampBytes = 0) and mixed samples."""
    path = tmp_path / "mixed.xdf"
    rng = np.random.default_rng(3)
    w = XdfWriter(path)
    ids = {}
    for fmt, nch, rate in [
        ("float32", 3, 100.0), ("double64", 2, 50.0), ("int8", 1, 10.0), ("int16", 4, 256.0),
        ("int32", 2, 0.0), ("int64", 1, 20.0), ("string", 2, 0.0),
    ]:  # fmt: skip
        ids[fmt] = w.add_stream(_header(f"S-{fmt}", fmt, nch, rate))
    t = 2000.0
    for c in range(40):
        for fmt, sid in ids.items():
            if fmt == "string":
                w.write_samples(sid, [[f"é{c}", "∆ x"], ["", "b"]], [t, t + 0.3])
                continue
            nch = {"float32": 3, "double64": 2, "int8": 1, "int16": 4, "int32": 2, "int64": 1}[fmt]
            n = int(rng.integers(1, 30))
            vals = rng.normal(scale=50, size=(n, nch))
            if fmt == "float32" and c == 3:
                vals[1, 1] = np.nan
            w.write_samples(sid, vals, t + np.arange(n) / 97.0 + rng.normal(0, 1e-3, n))
        # a clock reset half-way (the sender's clock jumps, offsets with it)
        offset = 0.02 if c < 20 else -500.0
        for sid in ids.values():
            w.write_clock_offset(sid, t, offset + 1e-5 * rng.normal())
        t += 1.0 if c != 19 else -400.0
        if c % 10 == 9:
            w.write_boundary()
    w.flush()
    w.close()
    # append, by hand, chunks with deduced and mixed stamps for the int16 and float32 streams
    extra = b""
    f32, i16 = ids["float32"], ids["int16"]
    for k in range(5):
        v16 = [rng.integers(-999, 999, 4).astype("<i2").tobytes() for _ in range(7)]
        v32 = [rng.normal(size=3).astype("<f4").tobytes() for _ in range(9)]
        extra += _raw_samples(i16, [(None, v) for v in v16])  # all deduced
        stamps = [1700.0 + k + i / 100 if i in (0, 4) else None for i in range(9)]
        extra += _raw_samples(f32, list(zip(stamps, v32, strict=True)))  # mixed
        extra += _raw_samples(f32, [(None, v32[0]), (1800.0 + k, v32[1])])  # deduced first
    with open(path, "ab") as f:
        f.write(extra)
    return path


@pytest.mark.parametrize("sync,dejitter", SYNC_MODES)
def test_fast_path_equals_pyxdf_on_own_files(
    own_file: Path, mixed_file: Path, sync: bool, dejitter: bool
) -> None:
    _assert_like_pyxdf(own_file, sync, dejitter)
    rec = _assert_like_pyxdf(mixed_file, sync, dejitter)
    fmts = {s.channel_format: s for s in rec.streams}
    assert fmts["int64"].values.dtype == np.int64 and fmts["string"].values[0, 0] == "é0"
    assert np.isnan(fmts["float32"].values).sum() == 1


def test_fast_path_deduced_stamps_are_bit_identical(mixed_file: Path) -> None:
    ours = _load(mixed_file, "fast", False, False)
    ref, _ = pyxdf.load_xdf(str(mixed_file), synchronize_clocks=False, dejitter_timestamps=False)
    for s, r in zip(ours.streams, ref, strict=True):
        assert s.timestamps.tobytes() == np.asarray(r["time_stamps"]).tobytes(), s.name


@pytest.mark.parametrize("cut", [7, 0.2, 0.5, 0.8, -3, -30])
def test_fast_path_equals_pyxdf_on_truncated_own_file(
    mixed_file: Path, tmp_path: Path, cut: float
) -> None:
    data = mixed_file.read_bytes()
    n = int(cut * len(data)) if isinstance(cut, float) else (cut if cut > 0 else len(data) + cut)
    path = tmp_path / "cut.xdf"
    path.write_bytes(data[:n])
    try:
        rec = _assert_like_pyxdf(path)
    except XdfReadError as exc:
        assert "without any stream" in str(exc)
        return
    assert rec.truncated == (n < len(data))


def test_damaged_files_go_through_pyxdf_unchanged(mixed_file: Path, tmp_path: Path) -> None:
    """Damage pyxdf reports (and works around) is left to pyxdf: same result, same warnings."""
    data = bytearray(mixed_file.read_bytes())
    scan = xdf_reader._scan(mixed_file, bytes(data))
    samples = [(b, e) for tag, b, e in scan.chunks if tag == TAG_SAMPLES]
    body, _end = samples[len(samples) // 2]
    cases = {}
    bad_count = bytearray(data)  # a sample count that does not fit its chunk
    bad_count[body + 7] = (bad_count[body + 7] + 1) % 256
    cases["count"] = bad_count
    bad_len = bytearray(data)  # a damaged length field: resynchronise on a boundary chunk
    bad_len[body - 2 if data[body - 2] == 1 else body - 5] = 3
    cases["length"] = bad_len
    for label, content in cases.items():
        path = tmp_path / f"bad_{label}.xdf"
        path.write_bytes(bytes(content))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", XdfTruncatedWarning)
            scan = xdf_reader._scan(path, bytes(content))
            rec = load_recording(path)
        assert scan.resynced == (label == "length") and not scan.truncated
        assert xdf_reader._try_fast(scan, True, True, xdf_reader._Collect()) is None, label
        _assert_same(rec, _load(path, "pyxdf"))
        assert any("corruption" in w or "scanning forward" in w for w in rec.warnings), label


def test_numeric_chunks_never_use_pyxdfs_per_sample_decoder(
    mixed_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stamped, deduced and mixed numeric chunks are all decoded in bulk; strings by pyxdf."""
    used: list[str] = []
    original = xdf_fast._px._read_chunk3

    def spy(f: object, sd: object) -> object:
        used.append(sd.fmt)  # type: ignore[attr-defined]
        return original(f, sd)

    monkeypatch.setattr(xdf_fast._px, "_read_chunk3", spy)
    _load(mixed_file, "fast")
    assert used and set(used) == {"string"}


def test_pyxdf_internals_the_fast_path_relies_on_exist() -> None:
    assert xdf_fast.FAST_PATH_AVAILABLE


def test_repeated_stream_header_as_pyxdf(own_file: Path, tmp_path: Path) -> None:
    """A header repeated for the same id (pyxdf starts that stream afresh) is read alike."""
    from devices.xdf_writer import TAG_STREAM_HEADER

    data = own_file.read_bytes()
    scan = xdf_reader._scan(own_file, data)
    (tag, body, end), *_ = [c for c in scan.chunks if c[0] == TAG_STREAM_HEADER]
    sid = struct.unpack_from("<I", data, body + 2)[0]
    rows = [(3000.0 + k / 32, struct.pack("<ff", k, -k)) for k in range(50)]
    path = tmp_path / "repeated.xdf"
    path.write_bytes(data + chunk_bytes(tag, data[body + 2 : end]) + _raw_samples(sid, rows))
    rec = _assert_like_pyxdf(path)
    assert rec.streams[0].n_samples == 50 and rec.streams[0].raw_timestamps.size == 690
