"""The live dyad grid waits for committed beats, and remembers who was missing (issue 18).

The HR meter said "paused - heart rate missing or poor" while both heart rates were good:
the grid read a person's heart rate before the beat closing that interval was committed, and
that NaN stayed. Here the real PPG beat detector (:class:`dsp.person.LivePerson`) runs on the
simulator's PPG in 1 s chunks, as the engine's ticks feed it, with the grid 1.5 s behind.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.dyad_grid import (
    HR_RESTART_WAIT_S,
    HR_WAIT_S,
    SIGNALS,
    GridGaps,
    rolling_span_s,
    samples_ready,
)
from dsp.concordance import DyadConfig
from dsp.person import LivePerson
from dsp.session import analyze_person
from dsp.simulate import DyadModel, DyadSimConfig, PersonSimConfig

GRID_FS = 4.0


def _live_grid_hr(hr_bpm: float, wait: bool, seconds: float = 200.0) -> tuple[np.ndarray, ...]:
    """(grid times, HR pushed live, HR on the same grid from all data) for one person."""
    base = DyadSimConfig(seed=2)
    sim = DyadSimConfig(
        seed=2, duration_s=seconds + 10,
        patient=PersonSimConfig(**{**base.patient.__dict__, "hr_bpm": hr_bpm}),
    )  # fmt: skip
    model, person = DyadModel(sim), LivePerson()
    grid_next, ts, hs = 0.0, [], []
    for k in range(int(seconds)):
        for mod, fs in (("eda", sim.eda_fs), ("ppg", sim.ppg_fs)):
            i0, i1 = int(round(k * fs)), int(round((k + 1) * fs))
            x, t = model.render("patient", mod, i0, i1 - i0), np.arange(i0, i1) / fs
            person.push_eda(t, x, fs) if mod == "eda" else person.push_cardiac(t, x, fs, "ppg")
        end = k + 1.0 - 1.5
        n = int(np.floor((end - grid_next) * GRID_FS)) + 1
        if n <= 0:
            continue
        tg = grid_next + np.arange(n) / GRID_FS
        h = person.hr_on_grid(tg)
        if wait:
            n = samples_ready(tg, (h,), (k + 1.0,), end)
        if n > 0:
            ts.append(tg[:n])
            hs.append(h[:n])
            grid_next = float(tg[n - 1] + 1 / GRID_FS)
    tg = np.concatenate(ts)
    return tg, np.concatenate(hs), person.hr_on_grid(tg)


@pytest.mark.parametrize("hr_bpm", [50.0, 120.0])
def test_the_grid_waits_for_the_beat_closing_each_interval(hr_bpm: float) -> None:
    tg, live, settled = _live_grid_hr(hr_bpm, wait=True)
    ok = tg > 10.0
    assert np.isfinite(settled[ok]).all()  # a clean heart: every grid HR is known in the end
    assert np.isfinite(live[ok]).all()  # ... and was known when the dyad received it
    assert np.all(np.diff(tg) == pytest.approx(1 / GRID_FS))  # consecutive, nothing skipped
    assert tg[-1] > 200.0 - 1.5 - HR_WAIT_S - 0.5  # at most HR_WAIT_S more behind


def test_without_waiting_the_grid_loses_good_heart_rate() -> None:
    """The bug itself: the same data pushed as soon as the EDA allows carry NaN HR."""
    tg, live, settled = _live_grid_hr(50.0, wait=False)
    ok = tg > 10.0
    assert np.isfinite(settled[ok]).all()
    assert np.isnan(live[ok]).sum() >= 5


def test_a_stopped_heart_signal_does_not_hold_the_grid() -> None:
    tg = 100.0 + np.arange(12) / GRID_FS
    hr = np.r_[np.full(4, 70.0), np.full(8, np.nan)]
    end = float(tg[-1])
    # cardiac data stopped 30 s ago: nothing to wait for, all pushed (the NaN are real gaps)
    assert samples_ready(tg, (hr, np.full(12, 60.0)), (end - 30.0, end + 1.0), end) == 12
    # still arriving: the NaN tail within HR_WAIT_S of the end waits
    ready = samples_ready(tg, (hr, np.full(12, 60.0)), (end + 1.0, end + 1.0), end)
    assert ready == int(np.searchsorted(tg, end - HR_WAIT_S, side="right"))
    # a recent NaN followed by known values (an interval still being corrected) waits too
    dip = np.r_[np.full(9, 70.0), np.nan, 70.0, 70.0]
    assert samples_ready(tg, (dip,), (end + 1.0,), end) == 9
    old_dip = np.r_[70.0, np.nan, np.full(10, 70.0)]  # older than HR_WAIT_S: pushed as is
    assert samples_ready(tg, (old_dip,), (end + 1.0,), end) == 12
    # an unknown cardiac time (no cardiac stream at all) never holds
    assert samples_ready(tg, (hr, hr), (math.nan, math.nan), end) == 12


def test_grid_gaps_count_each_persons_missing_seconds() -> None:
    cfg = DyadConfig()
    assert rolling_span_s(cfg, "eda") == pytest.approx(59 + 15 + 5)
    assert rolling_span_s(cfg, "hr") == pytest.approx(59 + 15 + 1)
    gaps = GridGaps(GRID_FS, 80.0)
    assert gaps.missing_s(75.0) == {}
    t = np.arange(0, 120, 1 / GRID_FS)
    good = np.ones(t.size)
    hole = np.where((t >= 100) & (t < 106), np.nan, 1.0)  # 6 s missing, 14 s before the end
    for i in range(0, t.size, 7):  # pushed in uneven pieces, as the ticks do
        sl = slice(i, i + 7)
        gaps.add(t[sl], (good[sl], good[sl], good[sl], hole[sl]))
    got = gaps.missing_s(75.0)
    assert list(got) == list(SIGNALS)
    assert got["clinician/hr"] == pytest.approx(6.0)
    assert got["patient/hr"] == got["patient/eda"] == got["clinician/eda"] == 0.0
    assert gaps.missing_s(10.0)["clinician/hr"] == 0.0  # the hole is older than 10 s


@pytest.mark.lsl
@pytest.mark.slow
def test_live_engine_keeps_a_slow_heart_on_the_grid(uid: str) -> None:
    """Real LSL, the real engine: a 50 bpm patient streamed live after a pre-rolled history.
    Every grid HR value the dyad receives is known, the HR meter is never paused, and the
    snapshot's record of missing data says so."""
    import time

    from app.controller import LiveController
    from app.engine import EngineConfig
    from app.meter_state import meter_states
    from app.preroll import Preroll
    from app.sources import SourceChoice, SourceKind, role_globs
    from devices.lsl import local_clock
    from devices.source import SimulatorSource

    base = DyadSimConfig(seed=2)
    sim = DyadSimConfig(
        seed=2, patient=PersonSimConfig(**{**base.patient.__dict__, "hr_bpm": 50.0})
    )
    pre = Preroll(sim, 240.0, local_clock() + 3.0)
    prefix = f"Grid{uid}"
    control = LiveController(EngineConfig(tick_s=1.0, metrics_source_id=f"metrics-{uid}"))
    source = SimulatorSource(sim, prefix=prefix, start_s=pre.seconds, t0=pre.end_t)
    choice = SourceChoice(
        kind=SourceKind.SIMULATED, roles=role_globs(prefix), wait_s=20.0, preroll=pre
    )
    control.connect(choice, source)
    try:
        t_end, seen = time.monotonic() + 45.0, []
        while time.monotonic() < t_end:
            time.sleep(1.0)
            snap = control.session.engine.last_snapshot
            if snap is not None and snap.dyad is not None and snap.preroll_s > 0:
                seen.append(snap)
        live = [s for s in seen if s.dyad.elapsed_s > pre.seconds + 30]
        assert len(live) >= 5, "the live part never reached 30 s"
        for snap in live:
            assert snap.dyad_missing_s["patient/hr"] == 0.0
            assert snap.dyad.hr_valid
            assert meter_states(snap, 150.0)[1].text != "paused"
        hr = control.session.engine.persons["patient"].hr_on_grid(
            np.array([live[-1].dyad.t - 10.0])
        )
        assert 40.0 < float(hr[0]) < 65.0  # it is the slow heart
    finally:
        control.shutdown()


def _gapped_person(gap: tuple[float, float], seconds: float) -> tuple[np.ndarray, ...]:
    """(grid times, HR pushed live, offline HR on the same grid) for one person whose PPG
    misses ``gap`` (s; samples never delivered, as a Bluetooth dropout), fed in 1 s chunks
    with the engine's grid rule (1.5 s behind, :func:`samples_ready` with the restart)."""
    sim = DyadSimConfig(seed=4, duration_s=seconds + 10)
    model, person = DyadModel(sim), LivePerson()
    fs = sim.ppg_fs
    x_all = model.render("patient", "ppg", 0, int(seconds * fs))
    t_all = np.arange(x_all.size) / fs
    keep = (t_all < gap[0]) | (t_all >= gap[1])
    grid_next, ts, hs = 0.0, [], []
    for k in range(int(seconds)):
        m = keep & (t_all >= k) & (t_all < k + 1)
        if m.any():
            person.push_cardiac(t_all[m], x_all[m], fs, "ppg")
        end = k + 1.0 - 1.5
        n = int(np.floor((end - grid_next) * GRID_FS)) + 1
        if n <= 0:
            continue
        tg = grid_next + np.arange(n) / GRID_FS
        h = person.hr_on_grid(tg)
        last = float(t_all[keep & (t_all < k + 1)][-1])
        n = samples_ready(tg, (h,), (last,), end, (person.cardiac_restart_t,))
        if n > 0:
            ts.append(tg[:n])
            hs.append(h[:n])
            grid_next = float(tg[n - 1] + 1 / GRID_FS)
    tg = np.concatenate(ts)
    off = analyze_person(x_all[keep], t_all[keep], fs, "ppg")
    return tg, np.concatenate(hs), off.hr_on_grid(tg)


@pytest.mark.parametrize("gap", [(40.0, 45.0), (40.0, 52.5)])
def test_after_a_ppg_dropout_live_hr_is_missing_exactly_where_offline_is(gap) -> None:
    """Issue 18, part 3: a gap excludes exactly what it touches, live and offline. The live
    HR after a 5 s dropout stayed NaN ~4 s longer than offline (the live quality windows ran
    on through the dropout, and the grid did not wait for the detector's held first beats)."""
    tg, live, offline = _gapped_person(gap, 90.0)
    ok = tg >= 10.0  # after the start-up of both
    np.testing.assert_array_equal(np.isnan(live[ok]), np.isnan(offline[ok]))
    inside = (tg >= gap[0]) & (tg < gap[1])
    assert np.isnan(live[inside]).all()  # nothing bridged across the dropout
    after = ok & (tg >= gap[1] + 3.0)
    assert np.isfinite(live[after]).all()  # known again within 3 s, as offline
    both = ok & np.isfinite(live)
    np.testing.assert_allclose(live[both], offline[both], rtol=0, atol=0.5)  # bpm
    # the grid waited for the held beats at most HR_RESTART_WAIT_S
    assert tg[-1] >= 90.0 - 1.5 - HR_RESTART_WAIT_S


def test_a_recent_restart_holds_unknown_heart_rate() -> None:
    tg = 100.0 + np.arange(40) / GRID_FS  # 100-109.75 s
    end = float(tg[-1])
    hr = np.r_[np.full(20, 70.0), np.full(20, np.nan)]  # unknown from 105 s
    # data arriving, restarted at 104 s (4 s ago): the NaN from 105 s on wait, beyond HR_WAIT_S
    assert samples_ready(tg, (hr,), (end + 1.0,), end, (104.0,)) == 20
    # restarted longer than HR_RESTART_WAIT_S ago: only the HR_WAIT_S rule
    old = end - HR_RESTART_WAIT_S - 1.0
    assert samples_ready(tg, (hr,), (end + 1.0,), end, (old,)) == 32
    # the stream stopped again: nothing waits
    assert samples_ready(tg, (hr,), (end - 30.0,), end, (104.0,)) == 40
