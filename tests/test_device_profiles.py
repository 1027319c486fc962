"""Device profiles: files, recognition, conversions, clocks and identity (no LSL here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from devices.clocks import ClockState, StreamClock
from devices.lsl import StreamDescription
from devices.profiles import (
    ChannelRule,
    ConversionKind,
    ProfileError,
    conversion_for,
    identify,
    load_profile,
    load_profiles,
    profile_dirs,
)

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = {"emotibit", "e4", "shimmer", "bitalino", "polar", "muse", "biopac", "generic"}


def sd(name, stype, sid="", n=1, labels=(), units=(), rate=100.0, fmt="float32", host="h"):
    labels = tuple(labels) or ("",) * n
    units = tuple(units) or ("",) * n
    return StreamDescription(
        name, stype, sid, host, rate, n, fmt, f"uid-{name}-{sid}", labels, units
    )


def test_one_file_per_family_all_found_and_shipped() -> None:
    files = sorted((ROOT / "resources" / "devices").glob("*.toml"))
    assert {load_profile(f).family for f in files} == FAMILIES
    assert {p.family for p in load_profiles()} == FAMILIES
    assert load_profiles()[-1].family == "generic"  # consulted last
    assert ROOT / "resources" / "devices" in profile_dirs()
    # a wheel installs them where profile_dirs() looks (<prefix>/share/attunement/devices)
    assert "share/attunement/devices" in (ROOT / "pyproject.toml").read_text()


def test_a_lab_can_add_a_device_by_adding_a_file(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "acme.toml").write_text(
        'family = "acme"\ntitle = "ACME band"\n[[stream]]\nmatch = [{ name = "ACME*" }]\n'
        'channels = [{ modality = "eda", index = 0, unit = "nS", convert = "by_unit" }]\n'
    )
    monkeypatch.setenv("ATTUNE_DEVICE_PROFILES", str(tmp_path))
    prof = identify(sd("ACME-1", "Whatever", units=("kOhm",)))
    assert prof.family == "acme" and prof.channels[0].conversion.kind is ConversionKind.KOHM_TO_US


@pytest.mark.parametrize(
    "text, needle",
    [
        ("family = 'x'\n", "needs title"),
        ("family = 'x'\ntitle = 'X'\n", "at least one [[stream]]"),
        ("family = 'x'\ntitle = 'X'\n[[stream]]\nmatch = [{ nme = 'a' }]\n", "unknown match key"),
        (
            "family = 'x'\ntitle = 'X'\n[[stream]]\nmatch = [{ name = 'a' }]\n"
            "channels = [{ modality = 'eeg', index = 0 }]\n",
            "modality must be one of",
        ),
        ("family = 'x\n", "not valid TOML"),
    ],
)
def test_bad_profile_files_fail_with_one_line(tmp_path: Path, text: str, needle: str) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ProfileError) as exc:
        load_profile(f)
    assert needle in str(exc.value) and "bad.toml" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_conversions_follow_the_vendor_formulas() -> None:
    # Shimmer GSR: skin resistance in kΩ -> µS = 1000 / kΩ; no conductance for R <= 0
    conv, unit = conversion_for(ChannelRule("eda", index=0, unit="kOhm", convert="by_unit"), "")
    assert unit == "kOhm" and conv.kind is ConversionKind.KOHM_TO_US
    assert np.allclose(conv.apply(np.array([250.0, 1000.0])), [4.0, 1.0])
    assert np.isnan(conv.apply(np.array([0.0, -5.0]))).all()
    # a bridge that publishes conductance is taken at its word
    conv, _ = conversion_for(ChannelRule("eda", index=0, unit="kOhm", convert="by_unit"), "uS")
    assert conv.kind is ConversionKind.IDENTITY
    # BITalino EDA: µS = ADC / 2^10 x 3.3 V / 0.132 (full scale 1023 -> 24.98 µS)
    b = identify(
        sd("BITalino", "EEG", "20:16:12:00:00:01", 6, ("A1", "A2", "A3", "A4", "A5", "A6"))
    )
    eda = b.channel("eda")
    assert eda is not None and eda.index == 2
    assert eda.conversion.apply(np.array([512.0, 1023.0])) == pytest.approx([12.5, 24.9756], 1e-4)
    assert "microvolts" not in eda.unit
    # PLUX biosignalsplux EDA (16 bit): µS = ADC / 2^16 x 3 V / 0.12
    o = identify(
        sd("OpenSignals", "00:07:80:3B:46:61", "00:07:80:3B:46:61", 3, ("nSeq", "EDA0", "ECG1"))
    )
    assert o.family == "bitalino" and o.channel("seq").index == 0
    assert o.channel("eda").conversion.apply(np.array([32768.0])) == pytest.approx([12.5])
    # Polar RR in 1/1024 s and E4 IBI in seconds -> ms
    rr = identify(sd("RR A1", "Markers", "RR_markers", rate=0.0, fmt="int32")).channel("ibi")
    assert rr is not None and rr.conversion.apply(np.array([1024.0])) == pytest.approx([1000.0])
    ibi = identify(sd("EmpaticaA1IBI", "IBI", "x", units=("seconds",), rate=1.0)).channel("ibi")
    assert ibi is not None and ibi.conversion.apply(np.array([0.8])) == pytest.approx([800.0])
    # an EDA unit nobody knows is not silently taken as µS
    conv, _ = conversion_for(ChannelRule("eda", index=0, unit="µS", convert="by_unit"), "mV")
    assert conv.kind is ConversionKind.UNKNOWN and not conv.usable


def test_recognition_by_name_type_labels_and_siblings() -> None:
    emo = [sd("EDA", "EDA", "MD-1", rate=15), sd("PPG_GRN", "PPGGreen", "MD-1", rate=25)]
    assert identify(emo[0], siblings=emo).family == "emotibit"
    assert identify(emo[0]).family == "generic"  # alone, an EDA stream is just EDA
    shim = sd("Shimmer_1", "Signals", "s", 3, ("Timestamp", "GSR_Skin_Resistance", "PPG_A13"),
              ("ms", "kOhms", "mV"), rate=51.2)  # fmt: skip
    p = identify(shim)
    assert p.family == "shimmer" and p.channel("eda").index == 1 and p.channel("ppg").index == 2
    e4 = identify(sd("EmpaticaA1B2HR", "HR", "E4", rate=1.0))
    assert e4.family == "e4" and e4.events  # declared 1 Hz, really one value per beat
    assert identify(sd("bvp", "BVP", "x", rate=64)).timestamps.value == "unix"
    bio = identify(sd("MyECG", "float", "r4nd0m", rate=0.0))
    assert bio.family == "biopac" and not bio.stable_source_id
    assert identify(sd("Markers", "Markers", fmt="string")).family == "unknown"


def test_real_device_files_are_recognised(shared_xdf: Path) -> None:
    from devices.xdf_reader import load_recording

    def descs(name: str) -> list[StreamDescription]:
        rec = load_recording(shared_xdf / name)
        return [
            StreamDescription(s.name, s.type, s.source_id, "", s.nominal_srate, s.n_channels,
                              s.channel_format, str(s.stream_id), s.labels, s.units)
            for s in rec.streams
        ]  # fmt: skip

    (polar,) = descs("PolarBand2lsl__data.xdf")
    p = identify(polar)
    assert p.family == "polar" and p.bursty and p.channel("ecg").index == 0
    muse = next(d for d in descs("MuseLSL2__sub-P050_run-001.xdf") if d.type == "PPG")
    m = identify(muse)
    assert m.family == "muse" and m.channel("ppg").label == "IR"
    assert m.channel("ppg").unit == "a.u." and muse.units[1] == "mmHg"  # the wrong label ignored


def test_identity_tells_apart_duplicate_source_ids() -> None:
    a = sd("Polar H10 A", "ECG", "myuid2424", rate=130)
    b = sd("Polar H10 B", "ECG", "myuid2424", rate=130)
    c = sd("Polar H10 A", "ECG", "myuid2424", rate=130, host="pc2")
    assert len({a.identity, b.identity, c.identity}) == 3
    r1 = sd("MyECG", "float", "r4nd0m1", rate=0)
    r2 = sd("MyECG", "float", "0th3r", rate=0)
    assert r1.identity != r2.identity
    assert r1.identity_without_source_id == r2.identity_without_source_id


# ------------------------------------------------------------------------------- clocks
def _feed(clock: StreamClock, stamps: np.ndarray, arrivals: np.ndarray, chunk: int) -> None:
    for i in range(0, stamps.size, chunk):
        clock.observe(stamps[i : i + chunk], 0.0, float(arrivals[min(i + chunk, stamps.size) - 1]))


def test_unix_epoch_stamps_are_reanchored_with_the_arrival_delay() -> None:
    fs, lsl0, unix0 = 64.0, 5000.0, 1.7e9
    k = np.arange(int(30 * fs))
    rng = np.random.default_rng(1)
    arrivals = lsl0 + k / fs + 0.02 + rng.uniform(0, 0.03, k.size)  # 20-50 ms transport delay
    clock = StreamClock(fs)
    _feed(clock, unix0 + k / fs, arrivals, 6)
    assert clock.state is ClockState.ANCHORED
    # corrected stamp = raw + anchor lands within the smallest delay of the truth
    corrected = unix0 + k / fs + clock.anchor
    assert np.all(np.abs(corrected - (lsl0 + k / fs)) < 0.03)
    assert "Unix-epoch" in clock.note and "re-anchored" in clock.note
    native = StreamClock(fs)
    _feed(native, lsl0 + k / fs, arrivals, 6)
    assert native.state is ClockState.NATIVE and native.anchor == 0.0 and native.note == ""


def test_rate_measured_through_bursts_and_used_when_declared_rate_is_wrong() -> None:
    # Polar-like: 130 Hz, packets of 73 samples sharing the packet's arrival stamp
    true_fs, n = 130.0, 130 * 40
    k = np.arange(n)
    pkt = (k // 73 + 1) * 73 - 1  # index of the last sample of each packet
    stamps = 100.0 + pkt / true_fs + 0.01
    polar = StreamClock(130.0)
    _feed(polar, stamps, stamps, 73)
    d = polar.decision()
    assert d.settled and d.rate == 130.0 and d.note == ""
    assert d.measured == pytest.approx(130.0, rel=2e-3)
    # PhysioKit-like: declared 250 Hz, really 262 Hz -> measured rate used, with a warning
    k = np.arange(262 * 30)
    st = 10.0 + k / 262.0 + np.random.default_rng(2).normal(0, 0.002, k.size)
    pk = StreamClock(250.0)
    early = StreamClock(250.0)
    _feed(early, st[: 262 * 5], st[: 262 * 5], 10)
    assert not early.decision().settled and early.decision().rate == 250.0
    _feed(pk, st, st, 10)
    d = pk.decision()
    assert d.settled and d.rate == pytest.approx(262.0, rel=1e-3)
    assert "declared 250 Hz" in d.note and "+4.8 %" in d.note
    # nominal rate 0 (Biopac bridge): the measured rate, with a note
    zero = StreamClock(0.0)
    _feed(zero, st, st, 10)
    assert zero.decision().rate == pytest.approx(262.0, rel=1e-3)
    assert "declared rate 0" in zero.decision().note
    # a right declared rate stays as it is
    ok = StreamClock(262.0)
    _feed(ok, st, st, 10)
    assert ok.decision().rate == 262.0 and ok.decision().note == ""
    # event streams (IBI) have no sampling rate
    assert StreamClock(1.0, events=True).decision().rate == 0.0


def test_interval_chain_follows_intervals_and_reanchors_after_a_gap() -> None:
    from devices.intervals import IntervalBeats

    rng = np.random.default_rng(3)
    ibi = rng.uniform(700, 1000, 40)
    beats = 100.0 + np.cumsum(ibi) / 1000.0
    # BLE style: stamped on arrival, up to 1 s late, several intervals sharing one stamp
    arrival = np.ceil(beats) + 0.05
    chain = IntervalBeats()
    got = chain.push(arrival, ibi)
    assert np.allclose(np.diff(got), ibi[1:] / 1000.0)  # intervals exact, not arrival jitter
    assert abs(got[0] - arrival[0]) < 1e-9 and chain.anchors == 1
    # 30 s of missed notifications: the chain re-anchors instead of drifting
    later = chain.push(np.array([beats[-1] + 30.0]), np.array([800.0]))
    assert later[0] == pytest.approx(beats[-1] + 30.0, abs=2.0) and chain.anchors == 2
    assert chain.push(np.array([np.nan, 200.0]), np.array([800.0, -1.0])).size == 0


def test_person_takes_device_beats_but_not_mixed_with_a_waveform() -> None:
    from dsp.person import LivePerson

    p = LivePerson()
    ibi = np.full(60, 800.0)
    t = 10.0 + np.cumsum(ibi) / 1000.0
    p.push_beats(t[:30])
    p.push_beats(np.concatenate([t[25:30], t[30:]]))  # repeats are ignored
    m = p.snapshot(float(t[-1]))
    assert m.hr_bpm == pytest.approx(75.0, abs=0.1) and m.cardiac_quality == "good"
    with pytest.raises(ValueError, match="kind changed"):
        p.push_cardiac(t, np.zeros(t.size), 100.0, "ppg")


def test_lsl_scope_tells_machine_from_network(tmp_path: Path, monkeypatch) -> None:
    from devices.lsl import lsl_scope

    monkeypatch.setenv("LSLAPICFG", str(ROOT / "resources" / "lsl_local.cfg"))
    assert lsl_scope() == "machine"
    monkeypatch.setenv("LSLAPICFG", str(ROOT / "resources" / "lsl_quiet.cfg"))
    assert lsl_scope() == "network"
    monkeypatch.delenv("LSLAPICFG")
    assert lsl_scope() == "network"


def test_notes_stay_local_and_private(tmp_path: Path) -> None:
    import json
    import stat

    from devices.markers import NoteLog, marker_text

    log = NoteLog()
    n = log.add(12.5, "  patient   mentions her  son ")
    assert n.number == 1 and n.text == "patient mentions her son"
    f = log.save(tmp_path / "moment_notes.jsonl")
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert json.loads(f.read_text()) == {"number": 1, "t": 12.5, "text": n.text}
    assert marker_text("M", note_id=n.number) == "M: moment: note 1"
    with pytest.raises(ValueError):
        marker_text("X")
