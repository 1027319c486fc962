"""HR coherence on the console: its chance level, percentile and words, honest by test.

* The time-shifted null (:func:`dsp.concordance.hr.hr_coherence_shift_test`) against ground
  truth: a shared driver is found, short sessions get no test, gaps never enter a surrogate.
* The words (:func:`app.meter_state.coherence_lines`) on hand-made snapshots: "above chance"
  only when the rule holds, the rule's hold quoted while it does not yet.
* Real Qt widgets offscreen on the simulated dyad (:class:`dsp.concordance.LiveDyad` fed the
  simulator's 4 Hz series): an independent dyad sharing breathing and Mayer-wave rhythms never
  gets the words or the colour; a coupled one does; the meter shows the snapshot's numbers.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtGui import QColor  # noqa: E402

from app.gui.meters import Meter  # noqa: E402
from app.gui.theme import DYAD_COLOUR  # noqa: E402
from app.headless import dyad_lines  # noqa: E402
from app.meter_state import COHERENCE_RULE, coherence_lines, hr_sync_state  # noqa: E402
from dsp.concordance import DyadConfig, DyadMetrics, LiveDyad  # noqa: E402
from dsp.concordance.evidence import NOT_ENOUGH_DATA  # noqa: E402
from dsp.concordance.hr import hr_coherence, hr_coherence_shift_test  # noqa: E402
from dsp.params import MethodParams
from dsp.simstudy import grid_series, independent_config  # noqa: E402
from dsp.simulate import DyadSimConfig, simulate_dyad  # noqa: E402

pytestmark = [
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore("propagateSizeHints"),
]

FS = 4.0


# --------------------------------------------------------------------------- the null
def _ar(rng: np.random.Generator, n: int, a: float = 0.9) -> np.ndarray:
    e = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = e[0]
    for i in range(1, n):
        x[i] = a * x[i - 1] + e[i]
    return x


def test_shift_null_finds_a_shared_driver_and_not_an_absent_one():
    rng = np.random.default_rng(3)
    n = int(900 * FS)
    drive = _ar(rng, n)
    hp = 70 + drive + 0.5 * rng.standard_normal(n)
    hc = 64 + drive + 0.5 * rng.standard_normal(n)  # both driven by the same process
    ct = hr_coherence_shift_test(hp, hc, FS, seed=1)
    assert ct.coherence.lf == pytest.approx(hr_coherence(hp, hc, FS).lf)  # same observed value
    assert ct.lf_percentile == 100.0 and ct.hf_percentile == 100.0
    assert ct.lf_p == pytest.approx(1 / 51) and ct.lf_excess > 0.3
    ind = hr_coherence_shift_test(hp, 64 + _ar(rng, n), FS, seed=1)
    assert ind.lf_chance == pytest.approx(ind.coherence.lf - ind.lf_excess)
    assert ind.lf_percentile < 99 and ind.hf_percentile < 99  # unrelated: not above all 50


def test_shift_null_needs_history_and_never_uses_gaps():
    rng = np.random.default_rng(4)
    n = int(420 * FS)  # 7 min: the offsets span only 60 s (< 120 s)
    hp, hc = 70 + _ar(rng, n), 64 + _ar(rng, n)
    short = hr_coherence_shift_test(hp, hc, FS)
    assert math.isfinite(short.coherence.lf)  # the value is shown ...
    assert math.isnan(short.lf_percentile) and math.isnan(short.lf_p)  # ... but not tested
    assert math.isnan(short.lf_chance)
    n = int(900 * FS)
    hp, hc = 70 + _ar(rng, n), 64 + _ar(rng, n)
    assert math.isfinite(hr_coherence_shift_test(hp, hc, FS).lf_percentile)
    # the clinician's history is gaps every 50 s: no gap-free 300 s stretch is left to pair
    holed = hc.copy()
    holed[: n - int(300 * FS)][:: int(50 * FS)] = np.nan
    assert math.isnan(hr_coherence_shift_test(hp, holed, FS).lf_percentile)
    with pytest.raises(ValueError):
        hr_coherence_shift_test(hp, hc[:-1], FS)  # unequal lengths


# --------------------------------------------------------------------------- the words
def _snap(**kw) -> DyadMetrics:
    base = {
        f.name: (np.empty(0) if f.type == "np.ndarray" else math.nan)
        for f in DyadMetrics.__dataclass_fields__.values()
        if f.default is f.default_factory  # the required fields (no default)
    }
    base.update(warming_up=False, valid=True, hr_valid=True, n_surrogates=200, n_correlations=9)
    base.update(slope_r=0.1, hr_ci_rolling=0.2, hr_percentile=50.0, hr_chance_lo=-0.5)
    base.update(hr_chance_hi=0.5, lead_text="no clear lead", hr_lead_text="no clear lead")
    base.update(wcc_clear=False, hr_wcc_clear=False)
    base.update(kw)
    return DyadMetrics(**base)


def test_words_claim_coupling_only_when_the_rule_holds():
    coh = {"hr_coherence_lf": 0.41, "hr_coherence_hf": 0.18}
    coh |= {"hr_coherence_lf_chance": 0.22, "hr_coherence_hf_chance": 0.17}
    coh |= {"hr_coherence_lf_pct": 100.0, "hr_coherence_hf_pct": 55.0}
    held = coherence_lines(
        _snap(**coh, hr_coherence_lf_highlight=True, hr_coherence_lf_hold_s=70.0)
    )
    assert held.highlight
    assert held.numbers == (
        "HR coherence LF 0.41 (chance 0.22, percentile 100) · HF 0.18 (chance 0.17, percentile 55)"
    )
    needs = "the rule needs the 99th percentile or more at every 10-s check for 60\u00a0s"
    assert held.words == (
        f"HR coherence (LF) above chance by the live rule (above all shifted pairings, "
        f"held 70\u00a0s; {needs})"
    )
    # the same numbers without the sustained run: the rule's hold is quoted, no claim
    soon = coherence_lines(_snap(**coh, hr_coherence_lf_hold_s=20.0))
    assert not soon.highlight and "held 20\u00a0of\u00a060\u00a0s" in soon.words
    assert soon.words.startswith("HR coherence (LF) not yet above chance by the live rule")
    low = coherence_lines(_snap(**(coh | {"hr_coherence_lf_pct": 80.0})))
    assert low.words == (
        "HR coherence (LF) not above chance by the live rule (80th percentile of shifted "
        f"pairings; {needs})"
    )
    untested = coherence_lines(
        _snap(hr_coherence_lf=0.3, hr_coherence_hf=0.2)  # chance NaN: too short for a test
    )
    assert untested.numbers == "HR coherence LF 0.30 · HF 0.20 (no chance level yet)"
    assert untested.words == f"HR coherence: {NOT_ENOUGH_DATA} yet (needs ~8 min)"
    assert not untested.highlight
    none = coherence_lines(_snap())
    assert "needs 2 min" in none.numbers and none.words == "" and not none.highlight
    assert COHERENCE_RULE == DyadConfig().coherence_rule


# --------------------------------------------------------------------------- on the simulator
def _live(sim: DyadSimConfig) -> list[DyadMetrics]:
    """LiveDyad fed the simulated dyad one second at a time; the snapshots after warm-up."""
    g = grid_series(simulate_dyad(sim))
    ld = LiveDyad(
        DyadConfig(seed=0, method=MethodParams(lead_surrogates=19))
    )  # the lead test is not under test
    out = []
    for k in range(0, g.t.size, 4):
        s = slice(k, k + 4)
        ld.push(g.t[s], g.eda_patient[s], g.eda_clinician[s], g.hr_patient[s], g.hr_clinician[s])
        m = ld.snapshot()
        if not m.warming_up:
            out.append(m)
    return out


def _painted(qtbot, state) -> set[tuple[int, int, int]]:
    """Colours of a real HR meter painting ``state`` offscreen."""
    meter = Meter("HR synchrony", (-3.0, 3.0), (-2, 0, 2), ("", ""), False, "")
    qtbot.addWidget(meter)
    meter.resize(520, 260)
    meter.set_state(state)
    img = meter.grab().toImage()
    return {
        QColor(img.pixel(x, y)).getRgb()[:3]
        for x in range(0, img.width(), 2)
        for y in range(0, img.height(), 2)
    }


def _neutral(state):
    """``state`` with every other coloured element switched off (the CI's own highlight)."""
    return replace(state, highlight=False)


@pytest.fixture(scope="module")
def independent() -> list[DyadMetrics]:
    return _live(independent_config(2, 720.0, shared_rhythms=True))


@pytest.fixture(scope="module")
def coupled() -> list[DyadMetrics]:
    return _live(DyadSimConfig(duration_s=720.0, seed=1, coupling=0.8, lag_s=2.0))


def test_independent_dyad_sharing_rhythms_never_gets_the_words(qtbot, independent):
    dyad_colour = QColor(DYAD_COLOUR).getRgb()[:3]
    tested = [m for m in independent if math.isfinite(m.hr_coherence_lf_pct)]
    assert len(tested) > 60  # the last minutes of 12 were tested against chance
    assert abs(independent[-1].breathing_patient_hz - independent[-1].breathing_clinician_hz) < 0.02
    for m in independent:
        st = hr_sync_state(m)
        assert not st.detail_highlight
        # a moment above every pairing may say so ("... now · not yet sustained"), never more
        assert ") above chance by" not in st.detail_status
    last = hr_sync_state(independent[-1])
    assert last.detail_status.startswith(("HR coherence (LF) not", "HR coherence (HF) not"))
    assert "both breathing at" in last.note  # the shared-breathing note stays beside it
    assert dyad_colour not in _painted(qtbot, _neutral(last))
    assert any("HR coherence LF" in line for line in dyad_lines(independent[-1], "t"))


def test_meter_shows_the_snapshots_numbers_and_colours_only_a_held_rule(qtbot, coupled):
    dyad_colour = QColor(DYAD_COLOUR).getRgb()[:3]
    on = [m for m in coupled if m.hr_coherence_lf_highlight or m.hr_coherence_hf_highlight]
    assert on, "the coupled dyad's HR coherence never beat chance"
    m = on[0]
    st = hr_sync_state(m)
    for band in ("lf", "hf"):
        v = getattr(m, f"hr_coherence_{band}")
        chance = getattr(m, f"hr_coherence_{band}_chance")
        pct = getattr(m, f"hr_coherence_{band}_pct")
        assert f"{band.upper()} {v:.2f} (chance {chance:.2f}, percentile {pct:.0f})" in st.detail
    assert st.detail_highlight and ") above chance by the live rule" in st.detail_status
    assert dyad_colour in _painted(qtbot, _neutral(st))
    # the same snapshot one refresh earlier in the run: numbers, no claim, no colour
    before = coupled[coupled.index(m) - 11]
    sb = hr_sync_state(before)
    assert not sb.detail_highlight and ") above chance by" not in sb.detail_status
    assert dyad_colour not in _painted(qtbot, _neutral(sb))


def test_meter_makes_room_for_every_line(qtbot, coupled):
    """The HR meter asks its layout for the height its words need, so nothing is cut."""
    meter = Meter("HR synchrony", (-3.0, 3.0), (-2, 0, 2), ("", ""), False, "")
    qtbot.addWidget(meter)
    meter.resize(480, 120)
    meter.show()
    full = hr_sync_state(coupled[-1])
    assert full.detail and full.detail_status and full.lead
    meter.set_state(replace(full, detail="", detail_status="", note=""))
    short = meter.minimumHeight()
    meter.set_state(
        replace(full, note="both breathing at ~15/min: HR synchrony may reflect breathing")
    )
    assert meter.minimumHeight() > short + 30  # two more lines at least
    narrow = meter.minimumHeight()
    meter.resize(260, narrow)  # narrower: the words wrap onto more lines
    assert meter.minimumHeight() > narrow
