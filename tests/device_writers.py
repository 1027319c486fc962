"""Test helper: device files written exactly as each vendor documents them, from simulated
signals with known truth (:mod:`dsp.simulate`). Used by tests/test_import_*.py and
benchmarks/bench_import.py. Real vendor files are used where public ones exist (see the
README section "Importing device files")."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

T0 = 1_767_261_600.0  # 2026-01-01 10:00:00 UTC


def e4_zip(path: str | Path, person, start: float = T0, tags: tuple[float, ...] = (),
           eda_fs: float = 4.0, bvp_fs: float = 64.0, claps: tuple[float, ...] = (),
           seed: int = 0, gestures_g: float = 0.0) -> Path:  # fmt: skip
    """An E4 session zip (``<start>_<serial>.zip`` layout) from a simulated person.

    The person's EDA (µS) and PPG are resampled to the E4 rates when they differ; IBI.csv holds
    the true beats (offset from start, interval s); tags are seconds from the start. ACC.csv
    (32 Hz, 1/64 g) is a still wrist, or :func:`clap_acc` when ``claps`` (s from the start).
    """
    path = Path(path)
    eda = _at_rate(person.eda, person.eda_fs, eda_fs)
    bvp = _at_rate(person.ppg, person.ppg_fs, bvp_fs)
    beats = np.asarray(person.truth.beat_times, dtype=float)
    ibi = np.diff(beats)
    offs = beats[1:]

    def sig(x: np.ndarray, fs: float, fmt: str) -> str:
        return f"{start:.6f}\n{fs:.6f}\n" + "\n".join(fmt % v for v in x) + "\n"

    secs = np.arange(10.0, eda.size / eda_fs)  # E4's HR starts 10 s in, 1 Hz
    hr = np.interp(secs, offs, 60.0 / ibi)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("EDA.csv", sig(eda, eda_fs, "%.6f"))
        z.writestr("BVP.csv", sig(bvp, bvp_fs, "%.2f"))
        z.writestr("HR.csv", sig(hr, 1.0, "%.2f"))
        z.writestr("TEMP.csv", sig(np.full(eda.size, 33.5), eda_fs, "%.2f"))
        n_acc = int(eda.size / eda_fs * 32)
        acc_head = f"{start:.6f}, {start:.6f}, {start:.6f}\n32.000000, 32.000000, 32.000000\n"
        if claps:
            acc = np.round(
                64.0 * clap_acc(np.arange(n_acc) / 32.0, claps, seed, gestures_g=gestures_g)
            ).astype(int)
            z.writestr("ACC.csv", acc_head + "".join(f"{a},{b},{c}\n" for a, b, c in acc))
        else:
            z.writestr("ACC.csv", acc_head + "0,0,64\n" * n_acc)
        z.writestr(
            "IBI.csv",
            f"{start:.6f}, IBI\n"
            + "".join(f"{o:.6f},{i:.6f}\n" for o, i in zip(offs, ibi, strict=True)),
        )
        z.writestr("tags.csv", "".join(f"{start + t:.2f}\n" for t in tags))
        z.writestr("info.txt", "written by Attunement's tests from simulated signals\n")
    return path


def clap_acc(t: np.ndarray, claps: tuple[float, ...] = (), seed: int = 0,
             size_g: float = 3.0, gestures_g: float = 0.0) -> np.ndarray:  # fmt: skip
    """A wrist accelerometer (g, shape (n, 3)) at times ``t`` (s from the start): gravity on z,
    slow arm sway (±0.05 g), sensor noise (0.01 g) and, at each time in ``claps``, a clap: a
    jolt of ``size_g`` that rings at 9 Hz and dies out in ~0.1 s (a model of the impact, not a
    recording of one). ``gestures_g`` > 0 adds hand gestures: a smooth 0.2-0.6 s movement of
    up to that size in a random direction, every 3 s on average."""
    rng = np.random.default_rng(seed)
    t = np.asarray(t, dtype=float)
    extra = np.zeros((t.size, 3))
    if gestures_g > 0 and t.size:
        for tg in np.cumsum(rng.exponential(3.0, int(t[-1] / 3.0) + 5)):
            dur, amp = rng.uniform(0.2, 0.6), rng.uniform(0.3, 1.0) * gestures_g
            u = (t - tg) / dur
            on = (u >= 0) & (u <= 1)
            extra[on] += np.outer(np.sin(2 * np.pi * u[on]), amp * rng.normal(size=3) / np.sqrt(3))
    ph = rng.uniform(0, 2 * np.pi, 3)
    acc = np.column_stack([0.05 * np.sin(2 * np.pi * f * t + p)
                           for f, p in zip((0.21, 0.33, 0.47), ph, strict=True)])  # fmt: skip
    acc[:, 2] += 1.0
    acc += rng.normal(0.0, 0.01, acc.shape) + extra
    for tc in claps:
        u = t - tc
        on = u >= 0
        burst = size_g * np.exp(-u[on] / 0.05) * np.cos(2 * np.pi * 9.0 * u[on])
        acc[on, 0] -= burst
        acc[on, 1] += 0.4 * burst
    return acc


def _at_rate(x: np.ndarray, fs: float, new_fs: float) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if abs(fs - new_fs) < 1e-9:
        return x
    t = np.arange(x.size) / fs
    tn = np.arange(int(x.size / fs * new_fs)) / new_fs
    return np.interp(tn, t, x)


def _ppg_adc(ppg: np.ndarray, bits: int) -> np.ndarray:
    """A PPG waveform as ADC codes filling the middle half of the range."""
    x = np.asarray(ppg, dtype=float)
    lo, hi = np.percentile(x, [0.5, 99.5])
    full = 2**bits - 1
    return np.clip(np.round(full * (0.25 + 0.5 * (x - lo) / (hi - lo or 1.0))), 0, full)


def opensignals_txt(path: str | Path, person, start: float = T0, device: str = "bitalino_rev",
                    mac: str = "20:16:12:22:22:26", rate: float = 100.0, bits: int = 10,
                    vcc: float = 3.3, gain: float = 0.132,
                    claps: tuple[float, ...] = ()) -> Path:  # fmt: skip
    """An OpenSignals text file: EDA (A3, ``EDABITREV``) and PPG (A4, ``PPGBIT``) as ADC codes.

    EDA codes = round(µS x gain / vcc x 2^bits) (the inverse of the data sheet's transfer
    function); the header's date/time is ``start`` in UTC. ``claps`` (s from the start) add a
    motion artefact to the PPG: the finger's sensor jolts by a third of the ADC range at the
    clap and settles within ~0.3 s (a model, not a recording).
    """
    import datetime as dt
    import json

    eda = _at_rate(person.eda, person.eda_fs, rate)
    ppg = _at_rate(person.ppg, person.ppg_fs, rate)
    n = min(eda.size, ppg.size)
    a_eda = np.clip(np.round(eda[:n] * gain / vcc * 2**bits), 0, 2**bits - 1)
    a_ppg = _ppg_adc(ppg[:n], bits)
    for tc in claps:
        u = np.arange(n) / rate - tc
        on = u >= 0
        a_ppg[on] += np.round(2**bits / 3 * np.exp(-u[on] / 0.1))
        a_ppg = np.clip(a_ppg, 0, 2**bits - 1)
    when = dt.datetime.fromtimestamp(start, dt.UTC)
    head = {mac: {
        "sensor": ["EDABITREV", "PPGBIT"], "device name": mac,
        "column": ["nSeq", "I1", "I2", "O1", "O2", "A3", "A4"], "sync interval": 2,
        "time": when.strftime("%H:%M:%S.") + f"{when.microsecond // 1000:03d}", "comments": "",
        "device connection": "BTH" + mac, "channels": [3, 4], "keywords": "", "mode": 0,
        "digital IO": [0, 0, 1, 1], "firmware version": 1281, "device": device, "position": 0,
        "sampling rate": int(rate), "label": ["A3", "A4"], "resolution": [4, 1, 1, 1, 1, bits, bits],
        "date": f"{when.year}-{when.month}-{when.day}", "special": [{}, {}],
    }}  # fmt: skip
    seq = np.arange(n) % 16
    body = np.column_stack([seq, np.zeros((n, 4)), a_eda, a_ppg]).astype(int)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("# OpenSignals Text File Format\n# " + json.dumps(head) + "\n# EndOfHeader\n")
        np.savetxt(f, body, fmt="%d", delimiter="\t", newline="\t\n")
    return Path(path)


def shimmer_csv(path: str | Path, person, start: float = T0, rate: float = 51.2,
                dev: str = "ABCD", claps: tuple[float, ...] = (), seed: int = 0,
                gestures_g: float = 0.0) -> Path:  # fmt: skip
    """A Consensys CSV (tab-separated): Unix ms, skin resistance (kΩ), PPG (mV); with
    ``claps`` (s from the start) also the low-noise accelerometer (m/(s^2))."""
    eda = _at_rate(person.eda, person.eda_fs, rate)
    ppg = _at_rate(person.ppg, person.ppg_fs, rate)
    n = min(eda.size, ppg.size)
    t_ms = (start + np.arange(n) / rate) * 1000.0
    names = [f"Shimmer_{dev}_Timestamp_Unix_CAL", f"Shimmer_{dev}_GSR_Skin_Resistance_CAL",
             f"Shimmer_{dev}_PPG_A13_CAL"]  # fmt: skip
    units = ["ms", "kOhms", "mV"]
    cols = [t_ms, 1000.0 / eda[:n], 1000.0 + 200.0 * ppg[:n]]
    fmt = ["%.3f", "%.6f", "%.4f"]
    if claps:
        acc = 9.80665 * clap_acc(np.arange(n) / rate, claps, seed, gestures_g=gestures_g)
        names += [f"Shimmer_{dev}_Accel_LN_{a}_CAL" for a in "XYZ"]
        units += ["m/(s^2)"] * 3
        cols += [acc[:, 0], acc[:, 1], acc[:, 2]]
        fmt += ["%.4f"] * 3
    with open(path, "w", encoding="utf-8") as f:
        k = len(names)
        f.write('"sep=\t"\n' + "\t".join(names) + "\t\n" + "CAL\t" * k + "\n"
                + "\t".join(units) + "\t\n")  # fmt: skip
        np.savetxt(f, np.column_stack(cols), fmt=fmt, delimiter="\t", newline="\t\n")
    return Path(path)


def _iso(t: float) -> str:
    import datetime as dt

    return (
        dt.datetime.fromtimestamp(t, dt.UTC).replace(tzinfo=None).isoformat(timespec="milliseconds")
    )


def polar_rr(path: str | Path, person, start: float = T0, batch_s: float = 1.0,
             delay_s: float = 0.12) -> Path:  # fmt: skip
    """A Polar Sensor Logger RR file: integer-ms intervals, phone stamps batched every
    ``batch_s`` (each beat stamped at the next batch + ``delay_s``)."""
    beats = np.asarray(person.truth.beat_times, dtype=float)
    rr = np.round(np.diff(beats) * 1000.0)
    tb = start + beats[0] + np.cumsum(rr) / 1000.0
    arrival = np.ceil((tb - start) / batch_s) * batch_s + start + delay_s
    with open(path, "w", encoding="utf-8") as f:
        f.write("Phone timestamp;RR-interval [ms]\n")
        f.writelines(f"{_iso(a)};{int(r)}\n" for a, r in zip(arrival, rr, strict=True))
    return Path(path)


def polar_ecg(path: str | Path, person, start: float = T0, rate: float = 130.0) -> Path:
    """A Polar Sensor Logger ECG file (µV, sensor ns clock, phone stamps per 73-sample packet)."""
    ecg = _at_rate(person.ecg, person.ecg_fs, rate)
    n = ecg.size
    rel = np.arange(n) / rate
    ns = (599_000_000.0 + rel) * 1e9
    arrival = start + (np.floor(np.arange(n) / 73) * 73 + 72) / rate + 0.08
    with open(path, "w", encoding="utf-8") as f:
        f.write("Phone timestamp;sensor timestamp [ns];timestamp [ms];ecg [uV]\n")
        for i in range(n):
            f.write(
                f"{_iso(arrival[i])};{int(ns[i])};{rel[i] * 1000:.3f};{int(round(ecg[i] * 1000))}\n"
            )
    return Path(path)


def emotibit_csvs(folder: str | Path, person, start: float = T0, synced: bool = True,
                  base: str = "2026-01-01_10-00-00-000000", claps: tuple[float, ...] = (),
                  seed: int = 0, gestures_g: float = 0.0) -> Path:  # fmt: skip
    """EmotiBit parsed CSVs (EA 15 Hz, PG 25 Hz, BI) + _info.json (+ _timeSyncMap.csv); with
    ``claps`` (s from the start) also AX/AY/AZ (25 Hz, g) from :func:`clap_acc`."""
    import json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    head = "LocalTimestamp,EmotiBitTimestamp,PacketNumber,DataLength,TypeTag,ProtocolVersion,DataReliability,"

    def write(tag: str, t: np.ndarray, x: np.ndarray) -> None:
        with open(folder / f"{base}_{tag}.csv", "w", encoding="utf-8") as f:
            f.write(head + tag + "\n")
            for i, (ti, xi) in enumerate(zip(t, x, strict=True)):
                f.write(
                    f"{start + ti:.6f},{123456.0 + ti * 1000:.3f},{i // 3},3,{tag},1,100,{xi:.6f}\n"
                )

    for tag, sig, fs, rate in (
        ("EA", person.eda, person.eda_fs, 15.0),
        ("PG", person.ppg, person.ppg_fs, 25.0),
    ):
        x = _at_rate(sig, fs, rate)
        write(tag, np.arange(x.size) / rate, x if tag == "EA" else 5000 + 800 * x)
    beats = np.asarray(person.truth.beat_times, dtype=float)
    write("BI", beats[1:], np.diff(beats) * 1000.0)
    if claps:
        ta = np.arange(int(person.eda.size / person.eda_fs * 25.0)) / 25.0
        acc = clap_acc(ta, claps, seed, gestures_g=gestures_g)
        for k, tag in enumerate(("AX", "AY", "AZ")):
            write(tag, ta, np.round(acc[:, k], 3))
    info = [{"info": {"name": "EmotiBit", "type": "Multimodal", "hardware_version": "V05c",
                      "device_id": "MD-V5-0000123", "source_id": "EmotiBit FeatherWing"}}]  # fmt: skip
    (folder / f"{base}_info.json").write_text(json.dumps(info), encoding="utf-8")
    if synced:
        (folder / f"{base}_timeSyncMap.csv").write_text(
            "TE0,TE1,TL0,TL1,TimeSyncsReceived,EmotiBitStartTime,EmotiBitEndTime,DataParserVersion\n"
            f"123.456,723.456,{start:.3f},{start + 600:.3f},12,{start:.3f},{start + 600:.3f},1.4.11\n",
            encoding="utf-8",
        )
    return folder / f"{base}_EA.csv"


EMBRACE_SCHEMA = {
    "type": "record", "name": "AvroData", "namespace": "com.empatica.format.avro",
    "fields": [
        {"name": "enrollment", "type": {"type": "record", "name": "Enrollment", "fields": [
            {"name": "participantID", "type": "string"}, {"name": "deviceSn", "type": "string"}]}},
        {"name": "rawData", "type": {"type": "record", "name": "RawData", "fields": [
            {"name": "eda", "type": {"type": "record", "name": "Eda", "fields": [
                {"name": "timestampStart", "type": "long"},
                {"name": "samplingFrequency", "type": "float"},
                {"name": "values", "type": {"type": "array", "items": "float"}}]}},
            {"name": "bvp", "type": {"type": "record", "name": "Bvp", "fields": [
                {"name": "timestampStart", "type": "long"},
                {"name": "samplingFrequency", "type": "float"},
                {"name": "values", "type": {"type": "array", "items": "float"}}]}},
            {"name": "systolicPeaks", "type": {"type": "record", "name": "SystolicPeaks", "fields": [
                {"name": "peaksTimeNanos", "type": {"type": "array", "items": "long"}}]}},
            {"name": "tags", "type": {"type": "record", "name": "Tags", "fields": [
                {"name": "tagsTimeMicros", "type": {"type": "array", "items": "long"}}]}},
        ]}},
    ],
}  # fmt: skip


ACC_SCHEMA = {"name": "accelerometer", "type": {"type": "record", "name": "Acc", "fields": [
    {"name": "timestampStart", "type": "long"}, {"name": "samplingFrequency", "type": "float"},
    {"name": "imuParams", "type": {"type": "record", "name": "ImuParams", "fields": [
        {"name": k, "type": "int"} for k in ("physicalMin", "physicalMax", "digitalMin", "digitalMax")]}},
    {"name": "x", "type": {"type": "array", "items": "int"}},
    {"name": "y", "type": {"type": "array", "items": "int"}},
    {"name": "z", "type": {"type": "array", "items": "int"}}]}}  # fmt: skip


def embraceplus_avro(path: str | Path, person, start: float = T0, tags: tuple[float, ...] = (),
                     serial: str = "3YK3J151VJ", claps: tuple[float, ...] = (),
                     seed: int = 0, gestures_g: float = 0.0) -> Path:  # fmt: skip
    """An EmbracePlus Avro file (EDA 4 Hz, BVP 64 Hz, systolic peaks, tags); with ``claps``
    (s from the start) also the accelerometer (64 Hz, digital ±2048 for ±16 g)."""
    import copy

    import fastavro

    eda = _at_rate(person.eda, person.eda_fs, 4.0)
    bvp = _at_rate(person.ppg, person.ppg_fs, 64.0)
    us = int(round(start * 1e6))
    peaks = (start + np.asarray(person.truth.beat_times, dtype=float)) * 1e9
    rec = {
        "enrollment": {"participantID": "P1", "deviceSn": serial},
        "rawData": {
            "eda": {"timestampStart": us, "samplingFrequency": 4.0, "values": eda.tolist()},
            "bvp": {"timestampStart": us, "samplingFrequency": 64.0, "values": bvp.tolist()},
            "systolicPeaks": {"peaksTimeNanos": [int(p) for p in peaks]},
            "tags": {"tagsTimeMicros": [int(round((start + t) * 1e6)) for t in tags]},
        },
    }
    schema = EMBRACE_SCHEMA
    if claps:
        schema = copy.deepcopy(EMBRACE_SCHEMA)
        schema["fields"][1]["type"]["fields"].append(ACC_SCHEMA)
        acc = clap_acc(np.arange(bvp.size) / 64.0, claps, seed, gestures_g=gestures_g)
        dig = np.clip(np.round(acc * 2048 / 16), -2048, 2047).astype(int)
        rec["rawData"]["accelerometer"] = {
            "timestampStart": us, "samplingFrequency": 64.0,
            "imuParams": {"physicalMin": -16, "physicalMax": 16, "digitalMin": -2048,
                          "digitalMax": 2047},
            "x": dig[:, 0].tolist(), "y": dig[:, 1].tolist(), "z": dig[:, 2].tolist(),
        }  # fmt: skip
    with open(path, "wb") as f:
        fastavro.writer(f, fastavro.parse_schema(schema), [rec])
    return Path(path)


def csv_with_toml(path: str | Path, person, start: float = T0, rate: float = 32.0) -> Path:
    """A CSV (time s from start, EDA µS, PPG) and its ``<file>.toml`` description."""
    path = Path(path)
    eda = _at_rate(person.eda, person.eda_fs, rate)
    ppg = _at_rate(person.ppg, person.ppg_fs, rate * 4)[::4]
    n = min(eda.size, ppg.size)
    with open(path, "w", encoding="utf-8") as f:
        f.write("time,eda,ppg\n")
        np.savetxt(
            f, np.column_stack([np.arange(n) / rate, eda[:n], ppg[:n]]), fmt="%.6f", delimiter=","
        )
    import datetime as dt

    iso = dt.datetime.fromtimestamp(start, dt.UTC).isoformat()
    Path(str(path) + ".toml").write_text(
        f'device = "lab amplifier"\nserial = "LA-1"\n[time]\ncolumn = "time"\nunit = "s"\n'
        f'start = "{iso}"\n[[signal]]\ncolumn = "eda"\nmodality = "eda"\nunit = "microsiemens"\n'
        '[[signal]]\ncolumn = "ppg"\nmodality = "ppg"\nunit = "a.u."\n',
        encoding="utf-8",
    )
    return path
