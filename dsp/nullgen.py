"""Independent dyads that :mod:`dsp.simulate` does not make: nulls for calibrating the p-values.

A chance test calibrated only on the simulator it was designed with can be optimistic on
other physiology. These generators draw two people who share nothing (independent random
sources), directly on the 4 Hz dyad grid, with structure the simulator does not have:

* :func:`poisson_dyad`: each person's own Poisson SCR train (rate 1-6 per minute, log-normal
  amplitudes, Bateman-shaped responses) on a random-walk tonic level; heart rate from an own
  Ornstein-Uhlenbeck drive, breathing (RSA) whose phase wanders, a Mayer wave and heart-rate
  bumps at the person's own SCRs;
* :func:`spectra_dyad`: heart rate with a power-law (1/f^beta, beta 0.5-2) background and
  breathing whose rate drifts over 0.1-0.4 Hz (or, in one dyad in four, both people paced at
  6 breaths a minute, as in HRV biofeedback); EDA as a doubly stochastic (Cox) SCR train whose
  rate follows a slow arousal level, on a power-law tonic drift.

Times are seconds from the first grid sample; EDA in µS, HR in bpm.
"""

from __future__ import annotations

import numpy as np

from dsp.simstudy import GridSeries

__all__ = ["bateman_kernel", "poisson_dyad", "power_law_noise", "spectra_dyad"]

FS = 4.0
#: Seconds generated before the dyad and dropped, so that nothing starts from rest at t = 0
#: (the SCR tails and HR bumps of earlier events are already there, in both people alike).
BURN_IN_S = 60.0


def bateman_kernel(fs: float, tau_rise_s: float = 0.75, tau_decay_s: float = 3.0) -> np.ndarray:
    """SCR shape ``exp(-t/tau_decay) - exp(-t/tau_rise)`` scaled to a peak of 1 (30 s long)."""
    t = np.arange(0.0, 30.0, 1.0 / fs)
    k = np.exp(-t / tau_decay_s) - np.exp(-t / tau_rise_s)
    return k / k.max()


def power_law_noise(n: int, beta: float, rng: np.random.Generator, fs: float = FS) -> np.ndarray:
    """Gaussian noise with power spectrum ~ 1/f^beta (above 1/600 Hz), unit SD, ``n`` samples."""
    f = np.fft.rfftfreq(n, 1.0 / fs)
    amp = np.zeros(f.size)
    amp[1:] = np.maximum(f[1:], 1.0 / 600.0) ** (-beta / 2.0)
    spec = amp * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size))
    x = np.fft.irfft(spec, n)
    return (x - x.mean()) / x.std()


def _ou(n: int, tau_s: float, sd: float, rng: np.random.Generator) -> np.ndarray:
    a = np.exp(-1.0 / (FS * tau_s))
    e = rng.standard_normal(n) * sd * np.sqrt(1.0 - a * a)
    x = np.empty(n)
    x[0] = rng.standard_normal() * sd
    for i in range(1, n):
        x[i] = a * x[i - 1] + e[i]
    return x


def _scr_train(rate_per_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Impulses (µS) of SCR onsets from a rate (per s) per grid sample."""
    onsets = rng.random(rate_per_s.size) < rate_per_s / FS
    amp = np.exp(rng.normal(np.log(0.12), 0.9, rate_per_s.size))
    return np.where(onsets, amp, 0.0)


def _eda(
    rate_per_s: np.ndarray, tonic: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    imp = _scr_train(rate_per_s, rng)
    k = bateman_kernel(FS, rng.uniform(0.5, 1.0), rng.uniform(2.0, 5.0))
    eda = tonic + np.convolve(imp, k)[: imp.size] + rng.normal(0.0, 0.003, imp.size)
    return np.maximum(eda, 0.05), imp


def _breathing_phase(n: int, f0: float, wander: float, rng: np.random.Generator) -> np.ndarray:
    """Phase (rad) of a breathing rhythm at ``f0`` Hz whose rate wanders by ~``wander`` Hz."""
    df = wander * _ou(n, 30.0, 1.0, rng)
    f = np.clip(f0 + df, 0.08, 0.45)
    return rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.cumsum(f) / FS


def _hr_bumps(imp: np.ndarray, gain_bpm: float) -> np.ndarray:
    """Heart-rate accelerations (bpm) at a person's own SCR onsets (5 s rise and fall)."""
    t = np.arange(0.0, 12.0, 1.0 / FS)
    k = np.sin(np.pi * np.clip(t / 6.0, 0, 1)) ** 2
    return gain_bpm * np.convolve((imp > 0).astype(float), k)[: imp.size]


def _poisson_person(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    rate = rng.uniform(1.0, 6.0) / 60.0
    step = rng.uniform(0.005, 0.03) / np.sqrt(FS)
    tonic = rng.uniform(2.0, 12.0) + np.cumsum(rng.normal(0.0, step, n))
    eda, imp = _eda(np.full(n, rate), tonic, rng)
    t = np.arange(n) / FS
    resp = _breathing_phase(n, rng.uniform(0.15, 0.33), 0.02, rng)
    hr = (
        rng.uniform(58.0, 85.0)
        + _ou(n, rng.uniform(20.0, 120.0), rng.uniform(1.5, 5.0), rng)
        + rng.uniform(1.0, 6.0) * np.sin(resp)
        + rng.uniform(0.5, 2.0)
        * np.sin(2 * np.pi * rng.uniform(0.08, 0.12) * t + rng.uniform(0, 7))
        + _hr_bumps(imp, rng.uniform(0.0, 4.0))
    )
    return eda, hr


def poisson_dyad(seed: int, duration_s: float = 600.0) -> GridSeries:
    """Two independent people: own Poisson SCR trains on random-walk tonic levels, own HR drive.

    See the module docstring. Nothing is shared: each person has their own random generator.
    """
    n = int(round(duration_s * FS))
    b = int(BURN_IN_S * FS)
    ep, hp = _poisson_person(n + b, np.random.default_rng([seed, 1, 101]))
    ec, hc = _poisson_person(n + b, np.random.default_rng([seed, 2, 101]))
    return GridSeries(np.arange(n) / FS, FS, ep[b:], ec[b:], hp[b:], hc[b:])


def _spectra_person(n: int, paced: bool, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    arousal = np.exp(0.7 * power_law_noise(n, 2.0, rng))
    rate = rng.uniform(1.0, 5.0) / 60.0 * arousal / arousal.mean()
    tonic = rng.uniform(1.0, 15.0) + rng.uniform(0.1, 1.0) * power_law_noise(n, 2.0, rng)
    tonic = tonic + rng.uniform(-0.5, 0.5) * np.arange(n) / n  # habituation or build-up
    eda, _ = _eda(rate, tonic, rng)
    if paced:
        resp = _breathing_phase(n, 0.1, 0.003, rng)
        rsa = rng.uniform(5.0, 12.0)
    else:
        resp = _breathing_phase(n, rng.uniform(0.12, 0.35), 0.05, rng)
        rsa = rng.uniform(1.0, 6.0)
    depth = 1.0 + 0.3 * power_law_noise(n, 2.0, rng)
    hr = (
        rng.uniform(55.0, 90.0)
        + rng.uniform(1.5, 6.0) * power_law_noise(n, rng.uniform(0.5, 2.0), rng)
        + rsa * depth * np.sin(resp)
    )
    return eda, hr


def spectra_dyad(seed: int, duration_s: float = 600.0) -> GridSeries:
    """Two independent people with power-law HR spectra, drifting (or paced) breathing and
    Cox-process SCRs (see the module docstring); one dyad in four breathes at 6/min."""
    n = int(round(duration_s * FS))
    b = int(BURN_IN_S * FS)
    paced = seed % 4 == 0
    ep, hp = _spectra_person(n + b, paced, np.random.default_rng([seed, 1, 202]))
    ec, hc = _spectra_person(n + b, paced, np.random.default_rng([seed, 2, 202]))
    return GridSeries(np.arange(n) / FS, FS, ep[b:], ec[b:], hp[b:], hc[b:])
