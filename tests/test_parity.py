"""Live/offline parity: a recording replayed through the live objects in 1 s chunks, as the
engine feeds them, against ``analyze_file`` on the same file.

What is identical (to 1e-9):
- committed beat times, at every tick;
- corrected IBIs, at every tick, except the newest ``_TAIL`` (50) intervals, which the live
  path re-corrects on each update until their 91-beat context has arrived (the documented
  provisional tail); at the last tick the live path has seen what the offline one saw, and
  the IBIs and the RMSSD over the last HRV window agree exactly;
- the concordance engine: ``LiveDyad`` fed the offline EDA/HR grids gives the offline rolling
  CI (EDA and HR) once its rolling window is full. The offline timeline labels the value of
  the step ending at grid time T (s) with ``floor(T - grid start)``;
- cleaned EDA (SCL) on the grid: both paths low-pass causally with the same filter
  (``MethodParams.eda_cutoff_hz``);
- the full live chain's rolling EDA and HR CI, once the rolling window is full: both grids
  start on a whole second of the clock, so the 1 s slope steps fall on the same instants.

What differs (by design):
- before the rolling window is full the live CI shows a value (clipped at ±10 when all
  correlations have one sign) where the offline timeline is NaN;
- the chance band and percentile use different random surrogate shifts live and offline.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from xdf_sim import write_simulated_xdf

from app.analysis import analyze_file
from app.analysis.inputs import channel_signal
from app.engine import GRID_DELAY_S, GRID_FS
from devices.xdf_reader import load_recording
from dsp.concordance import LiveDyad
from dsp.concordance.dyad import analyze_dyad
from dsp.hrv import hrv_time
from dsp.live_cardiac import _TAIL
from dsp.person import LivePerson
from dsp.session import SessionConfig, analyze_person
from dsp.simulate import DyadSimConfig, simulate_dyad

ROLES = ("patient", "clinician")
DURATION_S = 300


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """The offline analysis and the live objects' snapshots at every 1 s tick."""
    dyad = simulate_dyad(DyadSimConfig(duration_s=DURATION_S, seed=5, coupling=0.8, lag_s=2.0))
    path = write_simulated_xdf(tmp_path_factory.mktemp("p") / "s.xdf", dyad, t0=2000.0)
    a = analyze_file(path)
    signals = {}
    for s in load_recording(path).streams:
        if not s.is_string and s.n_samples > 1:
            role = "patient" if "-patient-" in s.name else "clinician"
            signals[(role, s.type.lower())] = channel_signal(s, 0)
    t0 = min(t[0] for _, t, _ in signals.values())
    people = {r: LivePerson() for r in ROLES}
    live_dyad, grid_next, ticks = LiveDyad(), None, []
    for k in range(1, DURATION_S + 1):
        for (role, mod), (x, t, fs) in signals.items():
            m = (t >= t0 + k - 1) & (t < t0 + k)
            if mod == "eda":
                people[role].push_eda(t[m], x[m], fs)
            else:
                people[role].push_cardiac(t[m], x[m], fs, mod)
        now = t0 + k
        snaps = {r: p.snapshot(now) for r, p in people.items()}
        end = min(s.eda_last_t for s in snaps.values()) - GRID_DELAY_S  # as app.engine does
        if math.isfinite(end):
            if grid_next is None:
                grid_next = float(np.ceil(end - 2.0))  # as app.engine does
            n = int(np.floor((end - grid_next) * GRID_FS)) + 1
            if n > 0:
                tg = grid_next + np.arange(n) / GRID_FS
                grid_next = float(tg[-1] + 1.0 / GRID_FS)
                p, c = people["patient"], people["clinician"]
                live_dyad.push(tg, p.eda_on_grid(tg), c.eda_on_grid(tg), p.hr_on_grid(tg),
                               c.hr_on_grid(tg))  # fmt: skip
        ticks.append((now, snaps, live_dyad.snapshot()))
    return a, people, ticks


def test_beats_are_identical_at_every_tick(replay) -> None:
    a, _, ticks = replay
    for _, snaps, _ in ticks[9::10]:
        for r in ROLES:
            live = snaps[r].beat_times
            off = a.persons[r].beat_times
            off = off[(off >= live[0] - 1e-9) & (off <= live[-1] + 1e-9)]
            assert live.size == off.size > 0
            np.testing.assert_allclose(live, off, rtol=0, atol=1e-9)


def test_ibis_agree_except_the_provisional_tail(replay) -> None:
    a, _, ticks = replay
    for i, (_, snaps, _) in enumerate(ticks[59::15]):
        for r in ROLES:
            lt, lh = snaps[r].hr_trend_t, snaps[r].hr_trend_bpm
            ok = np.isfinite(a.persons[r].ibi_ms)
            ot, oh = a.persons[r].ibi_t[ok], 60000.0 / a.persons[r].ibi_ms[ok]
            last = i == len(ticks[59::15]) - 1
            n = lt.size if last else max(lt.size - _TAIL, 0)
            j = np.searchsorted(ot, lt[:n])
            np.testing.assert_allclose(ot[j], lt[:n], rtol=0, atol=1e-9)
            np.testing.assert_allclose(oh[j], lh[:n], rtol=0, atol=1e-9)


def test_rmssd_agrees_when_the_live_path_has_seen_everything(replay) -> None:
    a, _, ticks = replay
    now, snaps, _ = ticks[-1]
    for r in ROLES:
        p = a.persons[r]
        w = (p.ibi_t > now - 60.0) & (p.ibi_t <= now)
        assert snaps[r].rmssd_ms == pytest.approx(hrv_time(p.ibi_ms[w]).rmssd_ms, abs=1e-9)


def test_concordance_engine_parity_on_the_same_grids() -> None:
    """LiveDyad on the offline EDA/HR grids reproduces the offline rolling CI exactly."""
    dyad = simulate_dyad(DyadSimConfig(duration_s=240, seed=6, coupling=0.8, lag_s=2.0))
    persons = {}
    for r in ROLES:
        pr = getattr(dyad, r)
        tc = 500.0 + np.arange(pr.ppg.size) / pr.ppg_fs
        te = 500.0 + np.arange(pr.eda.size) / pr.eda_fs
        persons[r] = analyze_person(pr.ppg, tc, pr.ppg_fs, "ppg", pr.eda, te, pr.eda_fs,
                                    config=SessionConfig())  # fmt: skip
    d = analyze_dyad(persons["patient"], persons["clinician"])
    live = LiveDyad()
    compared = 0
    for i0 in range(0, d.t_grid.size, 4):
        sl = slice(i0, i0 + 4)
        live.push(d.t_grid[sl], d.eda_patient[sl], d.eda_clinician[sl], d.hr_patient[sl],
                  d.hr_clinician[sl])  # fmt: skip
        m = live.snapshot()
        k = int(np.floor(d.t_grid[sl][-1] - d.t_grid[0] + 1e-9))
        for off, value in ((d.eda.timeline, m.ci_rolling), (d.hr.timeline, m.hr_ci_rolling)):
            if k < off.t.size and math.isfinite(off.ci_rolling[k]):
                assert value == pytest.approx(off.ci_rolling[k], abs=1e-9), k
                compared += 1
    assert compared > 200


def test_full_live_chain_equals_offline(replay) -> None:
    """Cleaned EDA (SCL) on the grid and the full chain's rolling EDA/HR CI, live = offline.

    The live engine's grid starts on a whole second of the clock, as the offline one does, so
    the 1 s slope and correlation steps fall on the same instants; the live CI at a tick is
    then the offline timeline's value for the step that ends at the newest grid time.
    """
    a, people, ticks = replay
    t = np.array([now - 1.0 for now, _, _ in ticks[60:]])
    for r in ROLES:
        live, off = people[r].eda_on_grid(t[-200:]), a.persons[r].eda_on_grid(t[-200:])
        ok = np.isfinite(live) & np.isfinite(off)
        assert ok.sum() > 150
        np.testing.assert_allclose(live[ok], off[ok], rtol=0, atol=1e-9)
    for sig, field in ((a.dyad.eda, "ci_rolling"), (a.dyad.hr, "hr_ci_rolling")):
        tl, compared = sig.timeline, 0
        for _, _, m in ticks[120:]:
            k = int(np.floor(m.t - tl.t[0] + 1e-9))
            value = getattr(m, field)
            if 0 <= k < tl.t.size and math.isfinite(tl.ci_rolling[k]) and math.isfinite(value):
                assert value == pytest.approx(tl.ci_rolling[k], abs=1e-9), (field, k)
                compared += 1
        assert compared > 100, field
