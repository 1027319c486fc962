"""Seeded simulation of one person or a coupled dyad: PPG, ECG and EDA with ground truth.

The same model feeds ``attune simulate`` (streamed over LSL, block by block) and the tests
(whole recordings at once), so live demos and accuracy tests run on identical physiology.

Physiology model
----------------
* **Heart.** R-peak times come from an integral pulse-frequency model: each interbeat interval
  is ``60 / HR(t)`` plus Gaussian beat-to-beat jitter, where ``HR(t)`` holds a resting rate,
  respiratory sinus arrhythmia (RSA) at the breathing rate, a Mayer wave (~0.1 Hz), a slow drift
  and a transient rise (gamma-shaped, peak ~4 s) after each arousal event.
* **PPG.** The systolic peak follows the R peak by a pulse transit time (default 0.22 s). Each
  pulse is an asymmetric Gaussian (fast upstroke, slower decay) plus a dicrotic wave 0.28 s
  later, riding on a respiratory baseline, with respiratory amplitude modulation and noise. The
  systolic peak is exactly at the true beat time.
* **ECG.** P, Q, R, S and T deflections around each R peak (for chest-strap style input).
* **EDA.** Tonic level with slow drift plus phasic skin-conductance responses (SCRs): each
  arousal event produces, after a 1.3-2.2 s latency, ``a * (exp(-u/tau_d) - exp(-u/tau_r))``
  normalised to peak ``a`` µS (rise ~1.3 s, half recovery ~3 s).
* **Coupling.** Shared arousal events drive SCRs and HR rises in both people; the clinician
  receives each shared event ``lag_s`` later than the patient, with probability ``coupling``
  (per ``coupling_schedule`` block if given). Private events keep both people's event rates
  about equal whatever the coupling, so coupling changes synchrony, not arousal.

Time convention: seconds from the start of the simulation; sample ``i`` of a stream at ``fs``
is at ``i / fs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

PTT_S = 0.22  # pulse transit time, R peak -> PPG systolic peak
_BLOCK_S = 30.0  # the lazy timeline grows in blocks of this length


@dataclass(frozen=True)
class PersonSimConfig:
    """Physiological parameters of one simulated person.

    Attributes
    ----------
    hr_bpm : float
        Resting heart rate (bpm).
    rsa_bpm : float
        Amplitude of respiratory sinus arrhythmia (bpm, half peak-to-peak).
    resp_hz : float
        Breathing rate (Hz).
    mayer_bpm : float
        Amplitude of the Mayer wave in HR (bpm).
    mayer_hz : float
        Mayer-wave frequency (Hz), about 0.1 Hz in people.
    jitter_ms : float
        SD of white beat-to-beat jitter added to each interval (ms).
    hr_response_bpm : float
        Peak HR rise after an arousal event of unit strength (bpm).
    scl_us : float
        Initial tonic skin conductance level (µS).
    scr_amplitude_us : float
        Median SCR amplitude (µS); amplitudes are log-normal around it.
    private_rate_per_min : float
        Arousal events per minute that belong to this person only.
    """

    hr_bpm: float = 70.0
    rsa_bpm: float = 4.0
    resp_hz: float = 0.25
    mayer_bpm: float = 1.5
    mayer_hz: float = 0.1
    jitter_ms: float = 18.0
    hr_response_bpm: float = 5.0
    scl_us: float = 5.0
    scr_amplitude_us: float = 0.25
    private_rate_per_min: float = 1.0


@dataclass(frozen=True)
class PersonTruth:
    """Ground truth of one simulated person.

    Attributes
    ----------
    beat_times : ndarray
        PPG systolic peak times (s).
    r_peak_times : ndarray
        ECG R-peak times (s); ``beat_times - PTT_S``.
    ibi_ms : ndarray
        Interbeat intervals (ms), ``diff(beat_times)``.
    rmssd_ms, mean_hr_bpm : float
        RMSSD of ``ibi_ms`` and ``60000 / mean(ibi_ms)``.
    scr_onsets, scr_peaks : ndarray
        SCR onset and peak times (s).
    scr_amplitudes : ndarray
        SCR amplitudes (µS), peak of each response on its own.
    event_times : ndarray
        Arousal events felt by this person (s, after any lag).
    artifact_spans : list of (float, float)
        Motion-artifact intervals (s) in PPG/ECG/EDA, empty without artifacts.
    """

    beat_times: np.ndarray
    r_peak_times: np.ndarray
    ibi_ms: np.ndarray
    rmssd_ms: float
    mean_hr_bpm: float
    scr_onsets: np.ndarray
    scr_peaks: np.ndarray
    scr_amplitudes: np.ndarray
    event_times: np.ndarray
    artifact_spans: list[tuple[float, float]] = field(default_factory=list)


@dataclass(frozen=True)
class PersonRecording:
    """Signals of one simulated person with their ground truth."""

    ppg: np.ndarray
    ppg_fs: float
    eda: np.ndarray
    eda_fs: float
    ecg: np.ndarray | None
    ecg_fs: float | None
    truth: PersonTruth
    duration_s: float


@dataclass(frozen=True)
class DyadSimConfig:
    """A simulated dyad.

    Attributes
    ----------
    duration_s : float
        Length of a whole-recording simulation (s); ignored when streaming.
    seed : int
        Seed; the same seed gives the same signals, live or offline.
    coupling : float
        Probability (0..1) that a shared arousal event reaches the clinician as well.
    lag_s : float
        Delay of the clinician's responses after the patient's (s, >= 0: patient leads).
    coupling_schedule : sequence of (t0, t1, coupling), optional
        Piecewise coupling over time (e.g. listening vs talking blocks); outside the listed
        intervals ``coupling`` applies.
    shared_rate_per_min : float
        Shared arousal events per minute.
    arousal_schedule : sequence of (t0, t1, factor), optional
        Piecewise multiplier of every arousal-event rate (shared, the clinician's own and
        both people's private events) over time, applied per 30-s stretch of the timeline by
        its start (e.g. three times the SCRs while talking, whatever the coupling).
    ppg_fs, eda_fs : float
        Sampling rates (Hz).
    ecg_fs : float or None
        ECG rate (Hz), or None for no ECG.
    artifacts : bool
        Add motion artifacts (PPG/ECG bursts, EDA contact drops) about every 2-3 minutes.
    patient, clinician : PersonSimConfig
        Each person's physiology.
    """

    duration_s: float = 600.0
    seed: int = 0
    coupling: float = 0.8
    lag_s: float = 2.0
    coupling_schedule: Sequence[tuple[float, float, float]] | None = None
    shared_rate_per_min: float = 3.0
    arousal_schedule: Sequence[tuple[float, float, float]] | None = None
    ppg_fs: float = 128.0
    eda_fs: float = 32.0
    ecg_fs: float | None = None
    artifacts: bool = False
    patient: PersonSimConfig = PersonSimConfig(hr_bpm=72.0)
    clinician: PersonSimConfig = PersonSimConfig(
        hr_bpm=64.0, resp_hz=0.2, scl_us=3.0, rsa_bpm=5.0, jitter_ms=22.0
    )

    def __post_init__(self) -> None:
        if not 0.0 <= self.coupling <= 1.0:
            raise ValueError(f"coupling must be in 0..1, got {self.coupling}")
        if self.lag_s < 0:
            raise ValueError(f"lag_s must be >= 0 (clinician follows), got {self.lag_s}")
        if any(f < 0 for _, _, f in self.arousal_schedule or ()):
            raise ValueError("arousal_schedule factors must be >= 0")
        for name in ("ppg_fs", "eda_fs"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.ecg_fs is not None and self.ecg_fs <= 0:
            raise ValueError(f"ecg_fs must be > 0, got {self.ecg_fs}")

    def coupling_at(self, t: float) -> float:
        """Coupling in force at time ``t`` (s)."""
        for t0, t1, c in self.coupling_schedule or ():
            if t0 <= t < t1:
                return float(c)
        return float(self.coupling)

    def arousal_at(self, t: float) -> float:
        """Event-rate multiplier in force at time ``t`` (s); 1 outside the schedule."""
        for t0, t1, f in self.arousal_schedule or ():
            if t0 <= t < t1:
                return float(f)
        return 1.0


@dataclass(frozen=True)
class DyadRecording:
    """A whole simulated dyad session."""

    patient: PersonRecording
    clinician: PersonRecording
    config: DyadSimConfig
    shared_event_times: np.ndarray


# --------------------------------------------------------------------------- waveforms


def _pulse(u: np.ndarray) -> np.ndarray:
    """PPG pulse shape around a systolic peak at ``u = 0`` (u in s), peak value 1."""
    up = np.exp(-0.5 * (u / 0.07) ** 2)
    down = np.exp(-0.5 * (u / 0.13) ** 2)
    main = np.where(u < 0, up, down)
    dicrotic = 0.35 * np.exp(-0.5 * ((u - 0.30) / 0.07) ** 2)
    return main + dicrotic


def _ecg_beat(u: np.ndarray) -> np.ndarray:
    """ECG complex around an R peak at ``u = 0`` (u in s), R amplitude 1 mV."""
    g = lambda c, w, a: a * np.exp(-0.5 * ((u - c) / w) ** 2)  # noqa: E731
    return (
        g(-0.16, 0.025, 0.12)
        + g(-0.03, 0.010, -0.12)
        + g(0.0, 0.010, 1.0)
        + g(0.03, 0.010, -0.20)
        + g(0.26, 0.045, 0.30)
    )


_SCR_TAU_R, _SCR_TAU_D = 0.7, 3.0
_SCR_TPEAK = np.log(_SCR_TAU_D / _SCR_TAU_R) * _SCR_TAU_R * _SCR_TAU_D / (_SCR_TAU_D - _SCR_TAU_R)
_SCR_NORM = np.exp(-_SCR_TPEAK / _SCR_TAU_D) - np.exp(-_SCR_TPEAK / _SCR_TAU_R)


def _scr(u: np.ndarray) -> np.ndarray:
    """SCR shape after onset at ``u = 0`` (u in s), peak value 1 at ``_SCR_TPEAK``."""
    out = np.zeros_like(u)
    m = u > 0
    out[m] = (np.exp(-u[m] / _SCR_TAU_D) - np.exp(-u[m] / _SCR_TAU_R)) / _SCR_NORM
    return out


# --------------------------------------------------------------------------- lazy model


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser (Steele et al. 2014): uint64 in, well-mixed uint64 out."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class _Person:
    """One person's lazily extended timeline (events, beats, SCRs, artifacts)."""

    #: Periods (s) of the two slow tonic EDA drifts (the group simulator draws its own per
    #: person: identical periods are a rhythm every person shares)
    drift_s: tuple[float, float] = (600.0, 230.0)

    def __init__(
        self, cfg: PersonSimConfig, seed: np.random.SeedSequence, artifacts: bool, lag: float
    ) -> None:
        self.cfg = cfg
        # separate streams for events and beats, so that the order in which streams are
        # rendered (which interleaves the two extensions) cannot change any value
        # spawn(3) returns the same first two children as spawn(2): events and beats are
        # unchanged; the third keys this person's measurement noise
        r_events, r_beats, r_noise = seed.spawn(3)
        self.noise_key = int(r_noise.generate_state(1, np.uint32)[0])
        rng = np.random.default_rng(r_events)
        self.rng = rng
        self.beat_rng = np.random.default_rng(r_beats)
        self.artifacts = artifacts
        self.lag = lag
        self.phase = rng.uniform(0, 2 * np.pi, 6)
        self.event_t: list[float] = []
        self.event_a: list[float] = []
        self.r_peaks: list[float] = [float(rng.uniform(0.1, 0.6))]
        self.scr_on: list[float] = []
        self.scr_amp: list[float] = []
        self.art: list[tuple[float, float, int]] = []
        self.next_art = float(rng.uniform(60, 150)) if artifacts else np.inf
        self.events_until = 0.0

    def add_event(self, t: float, strength: float) -> None:
        self.event_t.append(t)
        self.event_a.append(strength)
        latency = self.rng.uniform(1.3, 2.2)
        amp = self.cfg.scr_amplitude_us * strength * float(np.exp(self.rng.normal(0, 0.5)))
        self.scr_on.append(t + latency)
        self.scr_amp.append(amp)

    def sort_events(self) -> None:
        # lagged events can land in the next block; keep every list in time order
        order = np.argsort(self.event_t, kind="stable")
        self.event_t = [self.event_t[i] for i in order]
        self.event_a = [self.event_a[i] for i in order]
        order = np.argsort(self.scr_on, kind="stable")
        self.scr_on = [self.scr_on[i] for i in order]
        self.scr_amp = [self.scr_amp[i] for i in order]

    def hr(self, t: float) -> float:
        c, p = self.cfg, self.phase
        hr = (
            c.hr_bpm
            + c.rsa_bpm * np.sin(2 * np.pi * c.resp_hz * t + p[0])
            + c.mayer_bpm * np.sin(2 * np.pi * c.mayer_hz * t + p[1])
            + 2.0 * np.sin(2 * np.pi * t / 170.0 + p[2])
            + 1.0 * np.sin(2 * np.pi * t / 53.0 + p[3])
        )
        if self.event_t:
            ev = np.asarray(self.event_t)
            u = (t - ev - 1.0) / 4.0
            m = (u > 0) & (u < 8)
            if m.any():
                a = np.asarray(self.event_a)[m]
                hr += c.hr_response_bpm * float(np.sum(a * u[m] * np.exp(1 - u[m])))
        return float(hr)

    def extend_beats(self, until: float) -> None:
        """Generate R peaks up to ``until`` s (events must already reach that far)."""
        sd = self.cfg.jitter_ms / 1000.0
        while self.r_peaks[-1] < until:
            t = self.r_peaks[-1]
            rr = 60.0 / max(self.hr(t), 30.0) + self.beat_rng.normal(0.0, sd)
            self.r_peaks.append(t + min(max(rr, 0.3), 2.0))

    def extend_artifacts(self, until: float) -> None:
        while self.next_art < until:
            dur = float(self.rng.uniform(1.0, 3.0))
            self.art.append((self.next_art, self.next_art + dur, int(self.rng.integers(1 << 30))))
            self.next_art += dur + float(self.rng.uniform(120, 200))

    # -- rendering ----------------------------------------------------------------------

    def ppg(self, t: np.ndarray) -> np.ndarray:
        c, p = self.cfg, self.phase
        peaks = np.asarray(self.r_peaks) + PTT_S
        resp = np.sin(2 * np.pi * c.resp_hz * t + p[0] + 0.6)
        x = 0.15 * resp + 0.2 * np.sin(2 * np.pi * t / 41.0 + p[4])
        lo, hi = np.searchsorted(peaks, [t[0] - 1.5, t[-1] + 1.5])
        for b in peaks[lo:hi]:
            i0, i1 = np.searchsorted(t, [b - 0.6, b + 1.0])
            if i1 > i0:
                am = 1.0 + 0.1 * np.sin(2 * np.pi * c.resp_hz * b + p[0])
                x[i0:i1] += am * _pulse(t[i0:i1] - b)
        x += self._noise(t, 0.01, salt=1)
        return x + self._artifact(t, scale=2.0, salt=2)

    def ecg(self, t: np.ndarray) -> np.ndarray:
        c, p = self.cfg, self.phase
        peaks = np.asarray(self.r_peaks)
        x = 0.05 * np.sin(2 * np.pi * c.resp_hz * t + p[0])
        lo, hi = np.searchsorted(peaks, [t[0] - 1.0, t[-1] + 1.0])
        for b in peaks[lo:hi]:
            i0, i1 = np.searchsorted(t, [b - 0.3, b + 0.5])
            if i1 > i0:
                x[i0:i1] += _ecg_beat(t[i0:i1] - b)
        x += self._noise(t, 0.01, salt=3)
        return x + self._artifact(t, scale=1.0, salt=4)

    def eda(self, t: np.ndarray) -> np.ndarray:
        c, p = self.cfg, self.phase
        x = (
            c.scl_us
            + 0.6 * np.sin(2 * np.pi * t / self.drift_s[0] + p[5])
            + 0.25 * np.sin(2 * np.pi * t / self.drift_s[1] + p[2])
            - 0.6 * np.sin(p[5])
            - 0.25 * np.sin(p[2])
        )
        on = np.asarray(self.scr_on)
        amp = np.asarray(self.scr_amp)
        lo, hi = np.searchsorted(on, [t[0] - 60.0, t[-1]])
        for o, a in zip(on[lo:hi], amp[lo:hi], strict=True):
            i0, i1 = np.searchsorted(t, [o, o + 60.0])
            if i1 > i0:
                x[i0:i1] += a * _scr(t[i0:i1] - o)
        x += self._noise(t, 0.002, salt=5)
        for a0, a1, s in self.art:  # brief loss of electrode contact
            m = (t >= a0) & (t < a1)
            if m.any():
                depth = 0.5 + (s % 1000) / 1000.0
                x[m] -= depth * np.sin(np.pi * (t[m] - a0) / (a1 - a0))
        return np.maximum(x, 0.01)

    def _noise(self, t: np.ndarray, sd: float, salt: int) -> np.ndarray:
        # Noise is keyed on the sample time so that streaming in any chunking gives the
        # same values as rendering the whole recording at once, and on the person, so that
        # two people never share measurement noise (shared noise is spurious coupling).
        # The key goes through the SplitMix64 finaliser (as the group simulator's always
        # did): the earlier linear congruential step made a person's uniforms the partner's
        # plus a constant (mod 1): partners' noise correlated r -0.59..0.80 (issue 18).
        ti = np.round(t * 1e4).astype(np.int64).astype(np.uint64)
        base = _mix64(np.uint64(self.noise_key) * np.uint64(1000003) + np.uint64(salt))
        with np.errstate(over="ignore"):
            k1 = _mix64(ti * np.uint64(0x9E3779B97F4A7C15) + base)
            k2 = _mix64(k1 + np.uint64(0x632BE59BD9B4E019))
        u1 = (k1 >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        u2 = (k2 >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        return sd * np.sqrt(-2 * np.log(np.maximum(u1, 1e-300))) * np.cos(2 * np.pi * u2)

    def _artifact(self, t: np.ndarray, scale: float, salt: int) -> np.ndarray:
        out = np.zeros_like(t)
        for a0, a1, s in self.art:
            m = (t >= a0) & (t < a1)
            if m.any():
                r = np.random.default_rng(s + salt)
                f = r.uniform(0.5, 3.0, 4)
                ph = r.uniform(0, 2 * np.pi, 4)
                w = np.sin(np.pi * (t[m] - a0) / (a1 - a0))
                out[m] = scale * w * np.sum(np.sin(2 * np.pi * f[:, None] * t[m] + ph[:, None]), 0)
        return out


class DyadModel:
    """Lazily generated dyad, rendered in any chunks (live streaming) or all at once.

    ``render(role, modality, start, n)`` returns samples ``start .. start+n-1`` of a stream;
    the timeline of events and beats is extended as needed, so streaming and whole-recording
    rendering with the same seed give identical samples.
    """

    def __init__(self, config: DyadSimConfig) -> None:
        self.config = config
        root = np.random.SeedSequence(config.seed)
        s_shared, s_p, s_c = root.spawn(3)
        self._rng = np.random.default_rng(s_shared)
        self.people = {
            "patient": _Person(config.patient, s_p, config.artifacts, 0.0),
            "clinician": _Person(config.clinician, s_c, config.artifacts, config.lag_s),
        }
        self.shared: list[float] = []
        self._events_until = 0.0

    def _extend_events(self, until: float) -> None:
        cfg = self.config
        while self._events_until < until:
            t0, t1 = self._events_until, self._events_until + _BLOCK_S
            arousal = cfg.arousal_at(t0)
            rate = cfg.shared_rate_per_min / 60.0 * arousal
            n = self._rng.poisson(rate * _BLOCK_S)
            shared = np.sort(self._rng.uniform(t0, t1, n))
            pat, cli = self.people["patient"], self.people["clinician"]
            events: list[tuple[float, str, float]] = []
            for te in shared:
                self.shared.append(float(te))
                strength = float(self._rng.uniform(0.6, 1.4))
                events.append((te, "patient", strength))
                if self._rng.uniform() < cfg.coupling_at(te):
                    events.append((te + cfg.lag_s, "clinician", strength))
            # The clinician's own events replace the unshared ones: an independent Poisson
            # process thinned by (1 - coupling), so the clinician's event rate stays about the
            # same while nothing ties these events to the patient's.
            n_own = self._rng.poisson(rate * _BLOCK_S)
            for te in self._rng.uniform(t0, t1, n_own):
                if self._rng.uniform() >= cfg.coupling_at(float(te)):
                    events.append((float(te), "clinician", float(self._rng.uniform(0.6, 1.4))))
            for role, person in (("patient", pat), ("clinician", cli)):
                k = self._rng.poisson(person.cfg.private_rate_per_min / 60.0 * arousal * _BLOCK_S)
                for te in self._rng.uniform(t0, t1, k):
                    events.append((float(te), role, float(self._rng.uniform(0.6, 1.4))))
            for te, role, strength in sorted(events):
                self.people[role].add_event(te, strength)
            for person in self.people.values():
                person.extend_artifacts(t1)
                person.sort_events()
            self._events_until = t1

    def _prepare(self, until: float) -> None:
        self._extend_events(until + self.config.lag_s + 12.0)
        for person in self.people.values():
            person.extend_beats(until + 2.0)

    def render(self, role: str, modality: str, start: int, n: int) -> np.ndarray:
        """Samples ``start .. start+n-1`` of ``role``'s ``modality`` ('ppg', 'ecg', 'eda')."""
        fs = {"ppg": self.config.ppg_fs, "eda": self.config.eda_fs, "ecg": self.config.ecg_fs}[
            modality
        ]
        if fs is None:
            raise ValueError("this dyad has no ECG (ecg_fs is None)")
        if n <= 0:
            return np.empty(0)
        t = (start + np.arange(n)) / fs
        self._prepare(float(t[-1]))
        person = self.people[role]
        return getattr(person, modality)(t)

    def truth(self, role: str, duration_s: float) -> PersonTruth:
        """Ground truth of ``role`` within ``[0, duration_s)``."""
        self._prepare(duration_s)
        p = self.people[role]
        r = np.asarray(p.r_peaks)
        r = r[(r + PTT_S >= 0) & (r + PTT_S < duration_s)]
        beats = r + PTT_S
        ibi = np.diff(beats) * 1000.0
        on = np.asarray(p.scr_on)
        amp = np.asarray(p.scr_amp)
        keep = (on >= 0) & (on + _SCR_TPEAK < duration_s)
        ev = np.asarray(p.event_t)
        return PersonTruth(
            beat_times=beats,
            r_peak_times=r,
            ibi_ms=ibi,
            rmssd_ms=float(np.sqrt(np.mean(np.diff(ibi) ** 2))) if len(ibi) > 2 else np.nan,
            mean_hr_bpm=float(60000.0 / np.mean(ibi)) if len(ibi) else np.nan,
            scr_onsets=on[keep],
            scr_peaks=on[keep] + _SCR_TPEAK,
            scr_amplitudes=amp[keep],
            event_times=ev[ev < duration_s],
            artifact_spans=[(a0, a1) for a0, a1, _ in p.art if a0 < duration_s],
        )

    def recording(self, role: str, duration_s: float) -> PersonRecording:
        """Whole recording of ``role`` over ``[0, duration_s)``."""
        cfg = self.config
        n_ppg, n_eda = int(duration_s * cfg.ppg_fs), int(duration_s * cfg.eda_fs)
        ecg = None
        if cfg.ecg_fs is not None:
            ecg = self.render(role, "ecg", 0, int(duration_s * cfg.ecg_fs))
        return PersonRecording(
            ppg=self.render(role, "ppg", 0, n_ppg),
            ppg_fs=cfg.ppg_fs,
            eda=self.render(role, "eda", 0, n_eda),
            eda_fs=cfg.eda_fs,
            ecg=ecg,
            ecg_fs=cfg.ecg_fs,
            truth=self.truth(role, duration_s),
            duration_s=float(duration_s),
        )


def simulate_dyad(config: DyadSimConfig | None = None, **kwargs) -> DyadRecording:
    """Simulate a whole dyad session.

    Parameters
    ----------
    config : DyadSimConfig, optional
        Full configuration; keyword arguments build one when omitted
        (``simulate_dyad(duration_s=600, seed=3, coupling=0.8, lag_s=2.0)``).

    Returns
    -------
    DyadRecording
        Both people's signals and ground truth; ``shared_event_times`` are the patient-side
        times of shared arousal events.
    """
    cfg = config if config is not None else DyadSimConfig(**kwargs)
    model = DyadModel(cfg)
    pat = model.recording("patient", cfg.duration_s)
    cli = model.recording("clinician", cfg.duration_s)
    shared = np.asarray(model.shared)
    return DyadRecording(pat, cli, cfg, shared[shared < cfg.duration_s])


def simulate_person(
    duration_s: float,
    seed: int = 0,
    hr_bpm: float = 70.0,
    ppg_fs: float = 128.0,
    eda_fs: float = 32.0,
    ecg_fs: float | None = None,
    artifacts: bool = False,
    scr_rate_per_min: float = 4.0,
    **person_kwargs,
) -> PersonRecording:
    """Simulate one person (the patient of an uncoupled dyad).

    Parameters
    ----------
    duration_s : float
        Length (s).
    seed : int
        Random seed.
    hr_bpm : float
        Resting heart rate (bpm).
    ppg_fs, eda_fs, ecg_fs : float
        Sampling rates (Hz); ``ecg_fs=None`` for no ECG.
    artifacts : bool
        Add motion artifacts about every 2-3 minutes.
    scr_rate_per_min : float
        Arousal events (and so SCRs) per minute.
    **person_kwargs
        Further :class:`PersonSimConfig` fields (``rsa_bpm``, ``jitter_ms``, ...).
    """
    person = PersonSimConfig(hr_bpm=hr_bpm, private_rate_per_min=scr_rate_per_min, **person_kwargs)
    cfg = DyadSimConfig(
        duration_s=duration_s,
        seed=seed,
        coupling=0.0,
        shared_rate_per_min=0.0,
        ppg_fs=ppg_fs,
        eda_fs=eda_fs,
        ecg_fs=ecg_fs,
        artifacts=artifacts,
        patient=person,
    )
    return DyadModel(cfg).recording("patient", duration_s)
