"""Profile simulators: a simulated dyad published the way real wearable bridges publish it.

Each device publishes, per person, the streams its bridge publishes (names, types, channel
labels and units, declared and real rates, burst pattern, clock and source_id conventions; see
``resources/devices/*.toml`` and the README's device table), with signals from
:class:`dsp.simulate.DyadModel`. Real devices cannot be reached from a test machine, so these
are what the device tests run against: LSL out, through the real acquisition and engine.

Conventions reproduced (per person; ``ID`` is a per-person device id):

========  ===========================================================================
emotibit  ``EDA`` (EDA, 15 Hz, no unit), ``PPG_GRN``/``PPG_IR``/``PPG_RED`` (PPGGreen/
          PPGInfrared/PPGRed, 25 Hz), ``HR`` (HeartRate, irregular); source_id = device id;
          samples pushed in WiFi-packet bursts with near-identical stamps
e4        style A: ``bvp`` (BVP 64 Hz), ``gsr`` (GSR 4 Hz), no units, Unix-epoch stamps
e4b       style B: ``Empatica<ID>PPG``/``EDA``/``IBI``/``HR``/``ACC``/``TEMP``/``BAT``, all 7
          with one source_id, IBI in seconds and HR declared 1 Hz
shimmer   ``Shimmer_<ID>`` (Signals, 51.2 Hz, 6 ch): GSR as skin resistance in kOhms, PPG mV
bitalino  ``BITalino`` (EEG for every sensor, 100 Hz, 6 ch A1-A6 labelled microvolts, raw
          10-bit ADC: A2 ECG, A3 EDA), a synthetic Unix-epoch grid of stamps
polar     ECG (ECG 130 Hz, ``<name>`` not ``<label>``, microvolts, bursts of 73 identical
          stamps, source_id ``myuid2424`` for every belt); ``RR <ID>`` (Markers int32,
          1/1024 s, source_id ``RR_markers``); ``HR <ID>`` (Markers int32)
muse      ``Muse`` (PPG, 64 Hz, LUX/IR/RED labelled mmHg), Unix-epoch stamps in packets of 6
========  ===========================================================================
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dsp.simulate import DyadModel, DyadSimConfig

DEVICES = ("emotibit", "e4", "e4b", "shimmer", "bitalino", "polar", "muse")
ROLES = ("patient", "clinician")
DEVICE_IDS = {"patient": "A1B2C3", "clinician": "D4E5F6"}


@dataclass(frozen=True)
class SimStream:
    """One simulated outlet.

    Attributes
    ----------
    name, type, source_id : str
        As the bridge announces them.
    declared_rate : float
        Nominal rate announced (Hz; 0 = irregular).
    rate : float
        Rate the samples really come at (Hz); 0 for one sample per beat.
    labels, units : tuple of str
        Channel descriptions.
    values : callable
        ``values(start, n) -> (n, channels)`` for waveform streams, or
        ``values(beat_times) -> (n, channels)`` for beat streams (``rate == 0``).
    channel_format : str
        'float32', 'double64' or 'int32'.
    label_tag : str
        XML tag of a channel's label ('label', or 'name' as PolarBand2lsl does).
    clock : str
        'lsl' (the LSL clock), 'unix' (Unix epoch).
    burst : int
        Samples pushed together with one (near-)identical stamp (0 = stamped on the grid).
    beats : str
        For beat streams: 'ppg' (pulse arrival) or 'ecg' (R peaks).
    """

    name: str
    type: str
    source_id: str
    declared_rate: float
    rate: float
    labels: tuple[str, ...]
    units: tuple[str, ...]
    values: Callable[..., np.ndarray]
    channel_format: str = "float32"
    label_tag: str = "label"
    manufacturer: str = ""
    clock: str = "lsl"
    burst: int = 0
    beats: str = "ppg"
    extra_desc: dict[str, str] = field(default_factory=dict)


def role_glob(device: str, dev_id: str) -> str:
    """A ``--role`` glob that picks the streams of the device with id ``dev_id``."""
    if device in ("bitalino", "muse"):  # the id only appears in the MAC-like source_id
        return f"*{dev_id[0:2]}:{dev_id[2:4]}:{dev_id[4:6]}"
    return f"*{dev_id}*"


def _col(*xs: np.ndarray) -> np.ndarray:
    return np.column_stack(xs)


def _device_config(device: str, base: DyadSimConfig) -> DyadSimConfig:
    rates = {
        "emotibit": (25.0, 15.0, None),
        "e4": (64.0, 4.0, None),
        "e4b": (64.0, 4.0, None),
        "shimmer": (51.2, 51.2, None),
        "bitalino": (100.0, 100.0, 100.0),
        "polar": (130.0, 4.0, 130.0),
        "muse": (64.0, 4.0, None),
    }[device]
    return DyadSimConfig(
        **{**base.__dict__, "ppg_fs": rates[0], "eda_fs": rates[1], "ecg_fs": rates[2]}
    )


def device_streams(device: str, model: DyadModel, role: str, dev_id: str) -> list[SimStream]:
    """The outlets ``device`` publishes for ``role`` (signals rendered by ``model``)."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose from {', '.join(DEVICES)}")

    def wave(mod: str, scale: float = 1.0, offset: float = 0.0):
        return lambda k, n: model.render(role, mod, k, n) * scale + offset

    builder = {
        "emotibit": _emotibit,
        "e4": _e4_server,
        "e4b": _e4_streams,
        "shimmer": _shimmer,
        "bitalino": _bitalino,
        "polar": _polar,
        "muse": _muse,
    }[device]
    return builder(model, role, dev_id, wave)


def _emotibit(model, role, dev, wave) -> list[SimStream]:
    sid = f"MD-V5-0000{dev}"
    eda = wave("eda")

    def ppg(scale: float, offset: float):
        w = wave("ppg", scale, offset)
        return lambda k, n: _col(w(k, n))

    return [
        SimStream("EDA", "EDA", sid, 15.0, 15.0, ("EDA",), ("",), lambda k, n: _col(eda(k, n)),
                  manufacturer="EmotiBit", burst=3),
        SimStream("PPG_GRN", "PPGGreen", sid, 25.0, 25.0, ("PPG_GRN",), ("",), ppg(800, 4000),
                  manufacturer="EmotiBit", burst=5),
        SimStream("PPG_IR", "PPGInfrared", sid, 25.0, 25.0, ("PPG_IR",), ("",), ppg(500, 9000),
                  manufacturer="EmotiBit", burst=5),
        SimStream("PPG_RED", "PPGRed", sid, 25.0, 25.0, ("PPG_RED",), ("",), ppg(300, 7000),
                  manufacturer="EmotiBit", burst=5),
        SimStream("HR", "HeartRate", sid, 0.0, 0.0, ("HR",), ("",),
                  lambda b: _col(60.0 / np.diff(b)), manufacturer="EmotiBit"),
    ]  # fmt: skip


def _e4_server(model, role, dev, wave) -> list[SimStream]:
    bvp, gsr = wave("ppg", 60.0), wave("eda")
    return [
        SimStream("bvp", "BVP", f"E4_{dev}_bvp", 64.0, 64.0, ("bvp",), ("",),
                  lambda k, n: _col(bvp(k, n)), clock="unix"),
        SimStream("gsr", "GSR", f"E4_{dev}_gsr", 4.0, 4.0, ("gsr",), ("",),
                  lambda k, n: _col(gsr(k, n)), clock="unix"),
    ]  # fmt: skip


def _e4_streams(model, role, dev, wave) -> list[SimStream]:
    sid = f"E4bridge_{dev}"  # the same for all 7 streams of the device
    name = f"Empatica{dev}"
    bvp, gsr = wave("ppg", 60.0), wave("eda")
    flat = lambda v: lambda k, n: np.full((n, 1), v)  # noqa: E731
    return [
        SimStream(f"{name}PPG", "PPG", sid, 64.0, 64.0, ("PPG",), ("",),
                  lambda k, n: _col(bvp(k, n))),
        SimStream(f"{name}EDA", "EDA", sid, 4.0, 4.0, ("EDA",), ("microsiemens",),
                  lambda k, n: _col(gsr(k, n))),
        SimStream(f"{name}IBI", "IBI", sid, 1.0, 0.0, ("IBI",), ("seconds",),
                  lambda b: _col(np.diff(b))),
        SimStream(f"{name}HR", "HR", sid, 1.0, 0.0, ("HR",), ("bpm",),
                  lambda b: _col(60.0 / np.diff(b))),
        SimStream(f"{name}ACC", "ACC", sid, 32.0, 32.0, ("X", "Y", "Z"), ("g",) * 3,
                  lambda k, n: np.tile([0.0, 0.0, 1.0], (n, 1))),
        SimStream(f"{name}TEMP", "TEMP", sid, 4.0, 4.0, ("TEMP",), ("celsius",), flat(33.5)),
        SimStream(f"{name}BAT", "BAT", sid, 1.0, 1.0, ("BAT",), ("percent",), flat(87.0)),
    ]  # fmt: skip


def _shimmer(model, role, dev, wave) -> list[SimStream]:
    eda, ppg = wave("eda"), wave("ppg", 400.0, 1500.0)

    def values(k: int, n: int) -> np.ndarray:
        ms = (k + np.arange(n)) / 51.2 * 1000.0
        acc = np.tile([0.1, -0.2, 9.81], (n, 1))
        kohm = 1000.0 / np.maximum(eda(k, n), 0.05)  # skin RESISTANCE
        return np.column_stack([ms, acc, kohm, ppg(k, n)])

    labels = ("Timestamp", "Accel_LN_X", "Accel_LN_Y", "Accel_LN_Z", "GSR_Skin_Resistance",
              "PPG_A13")  # fmt: skip
    units = ("ms", "m/(s^2)", "m/(s^2)", "m/(s^2)", "kOhms", "mV")
    return [
        SimStream(f"Shimmer_{dev}", "Signals", f"Shimmer_{dev}", 51.2, 51.2, labels, units,
                  values, channel_format="double64", manufacturer="Shimmer")
    ]  # fmt: skip


def _bitalino(model, role, dev, wave) -> list[SimStream]:
    eda, ecg = wave("eda"), wave("ecg")

    # a real ADC input carries analog noise of about one code (it toggles the lowest bit)
    rng = np.random.default_rng(int(dev, 16))

    def values(k: int, n: int) -> np.ndarray:
        adc_eda = eda(k, n) * 0.132 / 3.3 * 1024.0  # inverse of the EDA transfer function
        adc_eda = adc_eda + rng.normal(0.0, 0.6, n)
        adc_ecg = (ecg(k, n) / 1000.0 * 1100.0 / 3.3 + 0.5) * 1024.0  # mV -> 10-bit code
        rest = np.full(n, 512.0)
        out = np.column_stack([rest, adc_ecg, adc_eda, rest, rest, rest])
        return np.clip(np.round(out), 0, 1023)

    mac = f"20:16:12:{dev[0:2]}:{dev[2:4]}:{dev[4:6]}"
    return [
        SimStream("BITalino", "EEG", mac, 100.0, 100.0, ("A1", "A2", "A3", "A4", "A5", "A6"),
                  ("microvolts",) * 6, values, clock="unix", manufacturer="PLUX")
    ]  # fmt: skip


def _polar(model, role, dev, wave) -> list[SimStream]:
    ecg = wave("ecg", 1000.0)  # mV -> µV
    return [
        SimStream(f"Polar H10 {dev}", "ECG", "myuid2424", 130.0, 130.0, ("ECG",),
                  ("microvolts",), lambda k, n: _col(ecg(k, n)), label_tag="name", burst=73,
                  manufacturer="Polar"),
        SimStream(f"RR {dev}", "Markers", "RR_markers", 0.0, 0.0, ("RR",), ("1/1024 s",),
                  lambda b: _col(np.round(np.diff(b) * 1024.0)), channel_format="int32",
                  beats="ecg"),
        SimStream(f"HR {dev}", "Markers", "HR_markers", 0.0, 0.0, ("HR",), ("bpm",),
                  lambda b: _col(np.round(60.0 / np.diff(b))), channel_format="int32",
                  beats="ecg"),
    ]  # fmt: skip


def _muse(model, role, dev, wave) -> list[SimStream]:
    ppg = wave("ppg", 2000.0, 30000.0)

    def values(k: int, n: int) -> np.ndarray:
        x = ppg(k, n)
        return np.column_stack([np.full(n, 400.0) + 0.01 * x, x, 0.6 * x])

    return [
        SimStream("Muse", "PPG", f"Muse_00:55:DA:{dev[0:2]}:{dev[2:4]}:{dev[4:6]}", 64.0, 64.0,
                  ("LUX", "IR", "RED"), ("mmHg",) * 3, values, clock="unix", burst=6,
                  manufacturer="Muse")
    ]  # fmt: skip


def _outlet(s: SimStream):
    import pylsl

    info = pylsl.StreamInfo(
        s.name, s.type, len(s.labels), s.declared_rate, s.channel_format, s.source_id
    )
    desc = info.desc()
    if s.manufacturer:
        desc.append_child_value("manufacturer", s.manufacturer)
    chans = desc.append_child("channels")
    for label, unit in zip(s.labels, s.units, strict=True):
        ch = chans.append_child("channel")
        ch.append_child_value(s.label_tag, label)
        ch.append_child_value("unit", unit)
        ch.append_child_value("type", s.type)
    return pylsl.StreamOutlet(info, chunk_size=0, max_buffered=360)


class DeviceSimSource:
    """Publishes a simulated dyad as two ``device`` wearables, in real time, from a thread.

    Parameters
    ----------
    device : str
        One of :data:`DEVICES`.
    config : DyadSimConfig
        The dyad (its rates are replaced by the device's).
    duration : float or None
        Stop after this many seconds (None: until ``stop``).
    ids : dict, optional
        role -> device id (defaults to :data:`DEVICE_IDS`; tests pass unique ones).
    """

    def __init__(
        self,
        device: str,
        config: DyadSimConfig | None = None,
        duration: float | None = None,
        ids: dict[str, str] | None = None,
        chunk_s: float = 0.02,
    ) -> None:
        self.device = device
        self.config = _device_config(device, config or DyadSimConfig())
        self.model = DyadModel(self.config)
        self.duration = duration
        self.ids = dict(ids or DEVICE_IDS)
        self.chunk_s = chunk_s
        self.description = f"simulated {device} dyad (seed {self.config.seed})"
        self.streams = {
            role: device_streams(device, self.model, role, self.ids[role]) for role in ROLES
        }
        self.error: BaseException | None = None
        self.t0: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="attune-devsim", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def wait(self) -> None:
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.2)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        import pylsl

        try:
            outlets = [(role, s, _outlet(s), [0]) for role in ROLES for s in self.streams[role]]
            self.t0 = pylsl.local_clock()
            unix0 = time.time()
            while not self._stop.is_set():
                elapsed = pylsl.local_clock() - self.t0
                if self.duration is not None and elapsed >= self.duration:
                    break
                for role, s, outlet, sent in outlets:
                    _publish(self.model, role, s, outlet, sent, elapsed, self.t0, unix0)
                self._stop.wait(self.chunk_s)
        except BaseException as exc:
            self.error = exc
            raise


def _stamp(s: SimStream, t_sim: np.ndarray, t0: float, unix0: float) -> np.ndarray:
    return t_sim + (unix0 if s.clock == "unix" else t0)


def _publish(model, role, s: SimStream, outlet, sent: list[int], elapsed, t0, unix0) -> None:
    """Push what is due of one stream; ``sent[0]`` counts samples (or beats) pushed."""
    import pylsl

    if s.rate <= 0:  # one sample per beat, stamped at the beat
        truth = model.truth(role, max(elapsed, 0.0))
        beats = truth.r_peak_times if s.beats == "ecg" else truth.beat_times
        beats = beats[beats < elapsed - 0.05]
        k = sent[0]
        if beats.size - 1 > k:
            b = beats[k:]
            vals = s.values(b)  # one value per interval ending at b[1:]
            ts = _stamp(s, b[1:], t0, unix0)
            outlet.push_chunk(_cast(s, vals), ts.tolist())
            sent[0] = beats.size - 1
        return
    due = int(elapsed * s.rate)
    if s.burst:
        due -= due % s.burst
    n = due - sent[0]
    if n <= 0:
        return
    vals = np.asarray(s.values(sent[0], n), dtype=float)
    if s.burst:  # a packet's samples share (nearly) the stamp of its arrival
        now = pylsl.local_clock() - t0 if s.clock == "lsl" else elapsed
        ts = _stamp(s, np.full(n, now), t0, unix0)
        if s.label_tag != "name":  # EmotiBit/Muse: pushed one by one, microseconds apart
            ts = ts + np.arange(n) * 1e-5
    else:
        ts = _stamp(s, (sent[0] + np.arange(n)) / s.rate, t0, unix0)
    outlet.push_chunk(_cast(s, vals), ts.tolist())
    sent[0] = due


def _cast(s: SimStream, vals: np.ndarray) -> list:
    if s.channel_format == "int32":
        return np.round(vals).astype(np.int64).tolist()
    return np.asarray(vals, dtype=float).tolist()
