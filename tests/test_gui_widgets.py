"""Console widgets on hand-made snapshots: honest meter states, dimming, health flags."""

from __future__ import annotations

import math
from dataclasses import MISSING, fields, replace
from types import MappingProxyType

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from app.engine import EngineSnapshot  # noqa: E402
from app.gui.meters import HealthBar, MetricsTable  # noqa: E402
from app.meter_state import concordance_state, hr_sync_state  # noqa: E402
from devices.health import HealthState, StreamHealth  # noqa: E402
from dsp.concordance import DyadMetrics  # noqa: E402
from dsp.concordance.evidence import StatementStatus  # noqa: E402
from dsp.concordance.lead import NO_LEAD_TEST, LeadTest  # noqa: E402
from dsp.person import PersonConfig, PersonMetrics  # noqa: E402

pytestmark = [pytest.mark.qt_log_level_fail("WARNING")]

NAN = float("nan")


def _person(**kw) -> PersonMetrics:
    base = {}
    for f in fields(PersonMetrics):
        if f.type in ("float",):
            base[f.name] = NAN
        elif f.type == "bool":
            base[f.name] = True
        elif f.type == "int":
            base[f.name] = 0
        elif f.type == "str":
            base[f.name] = "good"
        elif f.type == "dict":
            base[f.name] = {}
        else:
            base[f.name] = np.empty(0)
    base.update(hr_bpm=70.0, rmssd_ms=40.0, coherence_ratio=1.2, scl_us=3.0, scr_per_min=2.0)
    base.update(kw)
    return PersonMetrics(**base)


def _dyad(**kw) -> DyadMetrics:
    base = {}
    for f in fields(DyadMetrics):
        if f.default is not MISSING:  # the tested statements keep their "no test" defaults
            continue
        if f.type == "float":
            base[f.name] = NAN
        elif f.type == "bool":
            base[f.name] = False
        elif f.type == "int":
            base[f.name] = 0
        elif f.type == "str":
            base[f.name] = ""
        else:
            base[f.name] = np.empty(0)
    base.update(kw)
    return DyadMetrics(**base)


def _tested(p: float) -> LeadTest:
    """A coupling / lead test that ran, with coupling p ``p`` and no lead named."""
    return replace(NO_LEAD_TEST, status=StatementStatus.TESTED, p_strength=p, p=p)


def test_concordance_meter_states_are_honest():
    warm = concordance_state(_dyad(warming_up=True, elapsed_s=60.0, ci_rolling=2.0), 150.0)
    assert warm.text == "warming up" and not warm.active and math.isnan(warm.value)
    assert warm.verdict == "no verdict yet: chance baseline in 1:30"
    assert warm.progress == pytest.approx(0.4)
    why = "paused \u2013 patient's EDA poor (flat)"
    bad = concordance_state(_dyad(valid=False, ci_rolling=1.0), 150.0, why)
    assert bad.text == "paused" and not bad.active and bad.verdict == why and not bad.status
    ok = dict(valid=True, ci_rolling=1.5, chance_lo=-0.5, chance_hi=1.0, percentile=97.0)
    ok.update(elapsed_s=420.0, n_surrogates=200)
    now = "last minute, descriptive: CI +1.50, 97th percentile of 200 shuffled pairings"
    needs = "the rule needs p \u2264 0.01 at every 10-s check for 20\u00a0s, see README"
    # before the coupling test can run, it says when it will; the last minute is a
    # description under it, never a statement
    early = concordance_state(_dyad(**{**ok, "elapsed_s": 200.0}), 150)
    assert early.verdict == (
        "no verdict yet: the live rule's test starts 4:40 into the session (see README)"
    )
    assert early.status == now and early.active and early.text == "+1.50"
    assert not early.highlight
    # tested, not beyond chance: neutral, with its p and the rule's threshold
    st = concordance_state(
        _dyad(lead=_tested(0.21), lead_text="no clear lead (p = 0.40)", **ok), 150
    )
    assert not st.highlight and st.lead == "no clear lead (p = 0.40)"
    span = "over the last 7\u00a0min"
    assert st.verdict == f"not above chance by the live rule (p = 0.21 {span}; {needs})"
    assert st.status == now
    # the session-level rule met: words and colour, the p beside them
    hl = concordance_state(_dyad(**ok, lead=_tested(0.005), highlight=True, hold_s=20.0), 150)
    assert hl.highlight
    assert hl.verdict == (
        f"above chance by the live rule (p = 0.005 {span}, held 20\u00a0s; {needs})"
    )
    # beyond chance at this check, but the run is shorter than the rule needs: "not yet",
    # no colour; one check short never reads "20 of 20 s"
    for held, shown in ((10.0, 10), (20.0, 19)):
        short = concordance_state(_dyad(**ok, lead=_tested(0.005), hold_s=held), 150)
        assert not short.highlight
        assert short.verdict == (
            f"not yet above chance by the live rule (p = 0.005 {span}, "
            f"held {shown}\u00a0of\u00a020\u00a0s; {needs})"
        )
    # p = 0.015 is not the 99th percentile: "not above chance", its p quoted
    near = concordance_state(_dyad(**ok, lead=_tested(0.015)), 150)
    assert near.verdict.startswith("not above chance by the live rule (p = 0.015")
    clipped = concordance_state(_dyad(**{**ok, "ci_rolling": 10.0}), 150.0)
    assert clipped.text == "all together"
    assert "every 15 s slope correlation positive" in clipped.status
    assert concordance_state(None, 150.0).text == "waiting for data"


def test_hr_sync_meter_states():
    assert hr_sync_state(_dyad(elapsed_s=20.0, warming_up=True)).text == "warming up"
    assert hr_sync_state(_dyad(elapsed_s=200.0, hr_valid=False)).text == "paused"
    ok = dict(elapsed_s=300.0, hr_valid=True, hr_ci_rolling=0.8, hr_chance_lo=-0.4)
    ok.update(hr_chance_hi=0.6, hr_percentile=96.0)
    # a clear WCC peak is not evidence: neutral unless the HR highlight rule holds
    st = hr_sync_state(_dyad(hr_wcc_peak_r=0.6, hr_wcc_clear=True, hr_lead=_tested(0.3), **ok))
    assert st.active and st.text == "+0.80" and not st.highlight
    assert st.verdict.startswith(
        "not above chance by the live rule (p = 0.30 over the last 5\u00a0min; the rule needs"
    )
    assert (
        st.status == "last minute, descriptive: HR CI +0.80, 96th percentile of shuffled pairings"
    )
    assert st.band == (-0.4, 0.6)
    note = "both breathing at ~15/min: HR synchrony may reflect breathing"
    hl = hr_sync_state(
        _dyad(hr_highlight=True, hr_hold_s=30.0, hr_lead=_tested(0.005), breathing_note=note, **ok)
    )
    assert hl.highlight and hl.verdict.startswith("above chance by") and hl.note == note
    early = hr_sync_state(_dyad(**ok, hr_lead=_tested(0.005), hr_hold_s=0.0))
    assert not early.highlight and "held 0\u00a0of\u00a020\u00a0s" in early.verdict
    # every slope correlation of one sign is the strongest HR synchrony, never "paused"
    for ci, words in ((10.0, "all together"), (-10.0, "all apart")):
        clipped = hr_sync_state(_dyad(**{**ok, "hr_ci_rolling": ci}))
        assert clipped.text == words and clipped.active


def test_metrics_table_dims_invalid_and_stale_and_shows_change(qtbot):
    table = MetricsTable(PersonConfig())
    qtbot.addWidget(table)
    persons = {
        "patient": _person(hrv_valid=False),
        "clinician": _person(hr_bpm=64.0),
    }
    baseline = {"patient": {"hr_bpm": 66.0}, "clinician": {"scl_us": 2.5}}
    table.update_persons(persons, {"patient": set(), "clinician": {"eda"}}, baseline)
    v = table.values
    assert v[("patient", "hr_bpm")].text() == "70"
    assert table.deltas[("patient", "hr_bpm")].text() == "Δ+4"
    assert table.theme.muted in v[("patient", "rmssd_ms")].styleSheet()  # invalid -> dimmed
    assert table.theme.muted in v[("clinician", "scl_us")].styleSheet()  # stale stream
    assert table.deltas[("clinician", "scl_us")].text() == ""  # no change from stale data
    assert table.theme.text in v[("clinician", "hr_bpm")].styleSheet()
    table.update_persons({"patient": None, "clinician": None}, {}, {})
    assert v[("patient", "hr_bpm")].text() == "–"


def test_health_bar_shows_state_rate_and_bad_input_flags(qtbot):
    bar = HealthBar()
    qtbot.addWidget(bar)

    def health(key, state, flat=False, nonfinite=0.0):
        return StreamHealth(key, state, 31.9, 0.1, 1000, nonfinite, flat, 1, "")

    snap = EngineSnapshot(
        t=0.0,
        seq=0,
        persons=MappingProxyType({"patient": _person(eda_quality="bad"), "clinician": None}),
        dyad=None,
        health=MappingProxyType(
            {
                "a": health("a", HealthState.CONNECTED, flat=True),
                "b": health("b", HealthState.LOST),
                "c": health("c", HealthState.CONNECTED, nonfinite=0.5),
            }
        ),
        channels=MappingProxyType({"patient/eda": "a", "patient/ppg": "b", "clinician/eda": "c"}),
        tick_cost_s=0.0,
    )
    bar.update_health(snap, snap.persons)
    assert bar.states() == {
        "patient/eda": HealthState.CONNECTED,
        "patient/ppg": HealthState.LOST,
        "clinician/eda": HealthState.CONNECTED,
    }
    assert (
        "flat" in bar.chips["patient/eda"].text()
        and "poor signal" in bar.chips["patient/eda"].text()
    )
    assert "nan" in bar.chips["clinician/eda"].text()
    assert "lost" in bar.chips["patient/ppg"].text()
    bar.reset()
    assert bar.states() == {}


def _sparkline_pixels(t, v, active: bool, theme: str = "dark") -> np.ndarray:
    """(row, col) of the pixels in the dyad colour after painting a sparkline on 300x120."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QFont, QImage, QPainter

    from app.gui.sparkline import paint_sparkline
    from app.gui.theme import DYAD_COLOUR, THEMES

    img = QImage(300, 120, QImage.Format.Format_RGB32)
    img.fill(QColor(THEMES[theme].panel))
    p = QPainter(img)
    paint_sparkline(p, QRectF(0, 0, 300, 120), QFont(), THEMES[theme], (-3.0, 3.0), t, v, active)
    p.end()
    rgb = np.frombuffer(img.constBits(), np.uint8).reshape(120, 300, 4)[..., 2::-1]
    want = QColor(DYAD_COLOUR)
    d = np.abs(rgb.astype(int) - [want.red(), want.green(), want.blue()]).max(axis=2)
    return np.argwhere(d <= 8)


def test_sparkline_draws_finite_points_across_width_and_clips_to_scale(qapp):
    t = np.linspace(0.0, 600.0, 61)
    v = 1.5 * np.sin(t / 60.0)
    v[20:25] = np.nan  # skipped, not drawn as a drop
    px = _sparkline_pixels(t, v, active=True)
    assert px.size and px[:, 1].min() <= 2 and px[:, 1].max() >= 297  # first..last point
    # beyond the scale: clipped to its top edge, still inside the painted rectangle
    top = _sparkline_pixels(t, np.full(t.size, 9.0), active=True)
    assert top.size and top[:, 0].max() - top[:, 0].min() <= 3 and top[:, 0].min() >= 0
    # fewer than two finite points, or a greyed meter: no line in the dyad colour
    one = np.full(t.size, np.nan)
    one[5] = 1.0
    assert _sparkline_pixels(t, one, active=True).size == 0
    assert _sparkline_pixels(t, v, active=False).size == 0
