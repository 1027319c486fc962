"""One verdict per meter, never contradicted by its details (issue 18).

Every combination of verdict, percentile, CI value and data quality the engine can produce is
rendered offscreen in the console's real meters (:func:`app.gui.meters.concordance_meter`,
:func:`~app.gui.meters.hr_sync_meter`), and the painted words are checked: one verdict,
painted first, naming the live rule and its threshold (read from the live ``DyadConfig``);
the last minute under it in descriptive words only; "all together" / "all apart" for a
clipped CI on both meters; the dyad colour only with the rule met; "paused" only with
missing or poor data, naming the person and the signal.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import MISSING, fields, replace
from types import MappingProxyType

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtGui import QColor  # noqa: E402

from app.dyad_grid import rolling_span_s  # noqa: E402
from app.engine import EngineSnapshot  # noqa: E402
from app.gui.meters import concordance_meter, hr_sync_meter  # noqa: E402
from app.gui.theme import DYAD_COLOUR  # noqa: E402
from app.headless import dyad_lines  # noqa: E402
from app.meter_state import meter_states, pause_words  # noqa: E402
from devices.health import HealthState, StreamHealth  # noqa: E402
from dsp.concordance import CI_CLIP, DyadConfig, DyadMetrics  # noqa: E402
from dsp.concordance.evidence import StatementStatus  # noqa: E402
from dsp.concordance.lead import NO_LEAD_TEST  # noqa: E402
from dsp.person import PersonMetrics  # noqa: E402

pytestmark = [pytest.mark.qt_log_level_fail("WARNING")]

LIVE = DyadConfig()
#: The rule's threshold as the verdict must quote it, derived from the live config.
NEEDS = (
    f"the rule needs p \u2264 {1 - LIVE.highlight.percentile / 100:.4g} at every "
    f"{LIVE.surrogate_every_s:g}-s check for {LIVE.highlight.hold_s:g}\u00a0s, see README"
)
VERDICT_STARTS = ("above chance by", "not yet above chance by", "not above chance by")
VERDICT_STARTS += ("no verdict", "paused")
#: Words of a verdict that must never appear in a description.
VERDICT_WORDS = ("above chance", "no evidence", "not above", "verdict", "significant")


def _dyad(**kw) -> DyadMetrics:
    base = {}
    for f in fields(DyadMetrics):
        if f.default is not MISSING:
            continue
        base[f.name] = {"float": math.nan, "bool": False, "int": 0, "str": ""}.get(
            f.type, np.empty(0)
        )
    base.update(kw)
    return DyadMetrics(**base)


def _test(p: float) -> object:
    return replace(NO_LEAD_TEST, status=StatementStatus.TESTED, p_strength=p, p=p)


def _person(**kw) -> PersonMetrics:
    base = {}
    for f in fields(PersonMetrics):
        base[f.name] = {"float": math.nan, "bool": True, "int": 0, "str": "good"}.get(
            f.type, {} if f.type == "dict" else np.empty(0)
        )
    base.update(eda_quality_reason="", cardiac_quality_reason="")
    base.update(kw)
    return PersonMetrics(**base)


def _snap(dyad, missing=None, persons=None, lost=()) -> EngineSnapshot:
    keys = {"patient/eda": "a", "patient/ppg": "b", "clinician/eda": "c", "clinician/ppg": "d"}

    def health(rm: str) -> StreamHealth:
        state = HealthState.LOST if rm in lost else HealthState.CONNECTED
        return StreamHealth(keys[rm], state, 32.0, 0.1, 1000, 0.0, False, 0, "")

    return EngineSnapshot(
        t=0.0,
        seq=0,
        persons=MappingProxyType(persons or {"patient": _person(), "clinician": _person()}),
        dyad=dyad,
        health=MappingProxyType({keys[rm]: health(rm) for rm in keys}),
        channels=MappingProxyType(keys),
        tick_cost_s=0.0,
        dyad_missing_s=MappingProxyType(missing or {}),
    )


# The engine's coupling-test outcomes: (name, fields of both meters, expected verdict start)
VERDICTS = [
    ("first test later", dict(elapsed_s=200.0), "no verdict yet"),
    ("no test: gaps", dict(elapsed_s=420.0), "no verdict: too little good data"),
    ("not above", dict(lead=_test(0.045), hr_lead=_test(0.045)), "not above chance by"),
    ("one check", dict(lead=_test(0.005), hr_lead=_test(0.005)), "not yet above chance by"),
    (
        "one check short",
        dict(lead=_test(0.005), hold_s=20.0, hr_lead=_test(0.005), hr_hold_s=20.0),
        "not yet above chance by",
    ),
    (
        "rule met",
        dict(lead=_test(0.005), highlight=True, hold_s=40.0)
        | dict(hr_lead=_test(0.005), hr_highlight=True, hr_hold_s=40.0),
        "above chance by",
    ),
]
PERCENTILES = [math.nan, 0.0, 62.0, 99.5, 100.0]
CIS = [0.35, CI_CLIP, -CI_CLIP, math.inf, -math.inf]  # +-inf: an unclipped CI


def _valid(ci: float, pct: float, **kw) -> DyadMetrics:
    base = dict(elapsed_s=420.0, valid=True, hr_valid=True, n_surrogates=200, lead_text="x")
    base |= dict(ci_rolling=ci, percentile=pct, chance_lo=-1.0, chance_hi=1.2)
    base |= dict(hr_ci_rolling=ci, hr_percentile=pct, hr_chance_lo=-1.0, hr_chance_hi=1.2)
    base |= dict(hr_lead_text="y", eda_history_t=np.arange(0.0, 400, 10))
    base |= dict(eda_history_ci=np.linspace(-1, 2, 40))
    return _dyad(**(base | kw))


@pytest.fixture(scope="module")
def meters(qapp):
    eda, hr = concordance_meter(), hr_sync_meter()
    eda.resize(520, 420)
    hr.resize(520, 260)
    yield eda, hr
    eda.deleteLater()
    hr.deleteLater()


def _render(meter, state) -> tuple[list[tuple[float, str]], set]:
    """Paint ``state`` in ``meter`` offscreen; its word lines (top y, text) and colours."""
    meter.set_state(state)
    meter.resize(520, max(meter.minimumHeight(), meter.height()))
    img = meter.grab().toImage()
    colours = {
        QColor(img.pixel(x, y)).name()
        for x in range(0, img.width(), 3)
        for y in range(0, img.height(), 3)
    }
    return list(meter.painted), colours


def _check_one_verdict(lines, state, expect: str) -> str:
    """The verdict is the first word line, the only one that reads as one; returns it."""
    texts = [t for _, t in lines]
    assert texts[0] == state.verdict and state.verdict.startswith(expect), texts
    verdicts = [t for t in texts if t.startswith(VERDICT_STARTS)]
    assert verdicts == [state.verdict], verdicts  # HR coherence's own line starts "HR ..."
    return state.verdict


@pytest.mark.parametrize(("name", "kw", "expect"), VERDICTS, ids=[v[0] for v in VERDICTS])
def test_every_valid_state_has_one_verdict_over_a_description(meters, name, kw, expect):
    for pct, ci in itertools.product(PERCENTILES, CIS):
        d = _valid(ci, pct, **kw)
        for meter, state in zip(meters, meter_states(_snap(d), LIVE.warmup_s), strict=True):
            lines, colours = _render(meter, state)
            verdict = _check_one_verdict(lines, state, expect)
            if expect in ("not above chance by", "not yet above chance by", "above chance by"):
                assert f"(p = 0.0{'45' if 'not above' in expect else '05'} over the last" in (
                    verdict
                )
                assert verdict.endswith(NEEDS + ")"), verdict
            # the description: under the verdict, above the big number, never a verdict
            ys = {t: y for y, t in lines}
            desc = state.status
            assert desc.startswith("last minute, descriptive: ") and ys[desc] > ys[verdict]
            assert ys[state.text] > ys[desc]
            assert not any(w in desc for w in VERDICT_WORDS), desc
            if abs(ci) >= CI_CLIP:
                assert "slope correlation" in desc and ("+10, the cap" in desc) == (ci > 0)
            if math.isnan(pct):
                assert desc.endswith("no shuffled pairings yet")
            elif pct == 100.0:
                n = "200 " if meter.title.startswith("EDA") else ""
                assert desc.endswith(f"above all {n}shuffled pairings")
            elif pct == 0.0:
                assert "below all" in desc
            # a clipped CI is the strongest value there is, in words, on both meters
            big = {CI_CLIP: "all together", -CI_CLIP: "all apart"}
            big = big | {math.inf: "all together", -math.inf: "all apart"}
            big = big.get(ci, f"{ci:+.2f}")
            assert state.text == big and state.active
            assert "paused" not in " ".join(t for _, t in lines)
            # the dyad colour (verdict, number, bar) only when the rule holds
            assert (DYAD_COLOUR.lower() in colours) == (expect == "above chance by"), name
            assert state.highlight == (expect == "above chance by")


def test_the_live_rules_threshold_is_read_from_the_config():
    """A different rule on the engine gives different numbers in the words (not hard-coded)."""
    from dsp.concordance.coupling import coupling_statement
    from dsp.concordance.evidence import HighlightRule

    words = coupling_statement(HighlightRule(95.0, 30.0), False, _test(0.03), 0.0, 400, 280, 420, 5)
    assert "p \u2264 0.05 at every 5-s check for 30\u00a0s" in words
    assert words.startswith("not yet above chance by the live rule (p = 0.030 over the last 7")


MISSING_CASES = [
    # (what, snapshot kwargs, words each meter must name)
    (
        "clinician's heart rate missing",
        dict(missing={"clinician/hr": 6.0, "patient/hr": 0.0}),
        {"hr": "clinician's heart rate missing for 6 s of the last 75 s"},
    ),
    (
        "patient's EDA missing, both HR missing",
        dict(missing={"patient/eda": 12.5, "patient/hr": 2.0, "clinician/hr": 0.25}),
        {
            "eda": "patient's EDA missing for 12 s of the last 79 s",
            "hr": "patient's heart rate missing for 2 s of the last 75 s; clinician's heart "
            "rate missing for 1 s",
        },
    ),
    (
        "poor signal",
        dict(persons={"patient": _person(eda_quality="bad", eda_quality_reason="flat signal")}),
        {"eda": "patient's EDA poor (flat signal)"},
    ),
    (
        "poor heart signal",
        dict(
            persons={"clinician": _person(cardiac_quality="bad", cardiac_quality_reason="motion")}
        ),
        {"hr": "clinician's heart rate poor (motion)"},
    ),
    (
        "stream lost",
        dict(lost=("clinician/ppg", "clinician/eda")),
        {"eda": "clinician's EDA stream not delivering", "hr": "clinician's heart rate stream"},
    ),
    (
        "no gap, flat",
        dict(),
        {"eda": "too few usable 15 s correlations of the two EDA signals in the last 79 s"},
    ),
]


@pytest.mark.parametrize(("what", "kw", "expect"), MISSING_CASES, ids=[m[0] for m in MISSING_CASES])
def test_paused_only_with_missing_or_poor_data_naming_whom(meters, what, kw, expect):
    assert rolling_span_s(LIVE, "eda") == 79.0 and rolling_span_s(LIVE, "hr") == 75.0
    persons = {"patient": _person(), "clinician": _person()} | kw.pop("persons", {})
    for pct, (name, vkw, _) in itertools.product((math.nan, 100.0), VERDICTS):
        bad = {}
        if "eda" in expect:
            bad |= dict(valid=False)
        if "hr" in expect:
            bad |= dict(hr_valid=False)
        d = _valid(1.0, pct, **(vkw | bad))
        snap = _snap(d, persons=persons, **kw)
        states = meter_states(snap, LIVE.warmup_s)
        for meter, state, sig in zip(meters, states, ("eda", "hr"), strict=True):
            lines, colours = _render(meter, state)
            texts = [t for _, t in lines]
            if sig in expect:
                assert state.text == "paused" and not state.active, texts
                assert state.verdict.startswith("paused \u2013 ") and expect[sig] in state.verdict
                assert texts[0] == state.verdict and not state.status
                assert DYAD_COLOUR.lower() not in colours
            else:  # the other meter's data are fine: it is not paused
                assert "paused" not in " ".join(texts) and state.active, (what, name)
    # the headless view prints the same verdict
    d = _valid(1.0, 50.0, valid="eda" not in expect, hr_valid="hr" not in expect)
    out = "\n".join(dyad_lines(d, "t", _snap(d, persons=persons, **kw)))
    for sig, words in expect.items():
        assert pause_words(_snap(d, persons=persons, **kw), sig) in out
        assert words in out


def test_waiting_and_warming_have_no_verdict_and_no_pause(meters):
    states = [
        meter_states(_snap(None), LIVE.warmup_s),
        meter_states(_snap(_dyad(warming_up=True, elapsed_s=60.0)), LIVE.warmup_s),
    ]
    for pair in states:
        for meter, state in zip(meters, pair, strict=True):
            lines, colours = _render(meter, state)
            assert lines[0][1].startswith("no verdict") and not state.active
            assert "paused" not in " ".join(t for _, t in lines)
            assert DYAD_COLOUR.lower() not in colours
    assert states[1][0].verdict == "no verdict yet: chance baseline in 1:30"


def test_patient_screen_says_moving_together_only_with_the_consoles_verdict(qtbot):
    """The calm patient screen follows the same verdict: one minute far above the chance
    band (a description on the console) is not enough for its words."""
    from app.gui.patient import PatientWindow

    w = PatientWindow()
    qtbot.addWidget(w)
    high = _valid(4.62, 100.0, lead=_test(0.045))  # the screen: +4.62, p = 0.045
    w.on_snapshot(_snap(high))
    assert w.active and not w.beyond_chance
    w.on_snapshot(_snap(replace(high, lead=_test(0.005), highlight=True, hold_s=20.0)))
    assert w.beyond_chance
