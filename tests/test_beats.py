"""Shared per-person beat steps: anchored correction, exclusion, parity with NK2 and systole."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from physio_render import inject_beats, ppg_from_beats, premature_beats, real_nn_series, sinus_rr

from dsp.beats import IbiExclusion, beat_series, ibi_exclusion
from dsp.hrv import hrv_time, ibi_classify, ibi_correct
from dsp.person import LivePerson, PersonConfig
from dsp.quality import match_events
from dsp.session import SessionConfig, analyze_person

CLASSES = ("ectopic", "missed", "extra", "longshort")


def _beats(rr: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(rr)]) / 1000.0


# --------------------------------------------------------------------------- anchored correction


def test_correction_changes_only_the_beats_it_moves_inserts_or_removes() -> None:
    truth = _beats(sinus_rr(1, n=400, rsa_ms=20.0)) + 100.0
    # Lipponen-Tarvainen (like NK2) also flags a few beats of a clean noisy rhythm: counted
    clean = beat_series(truth, truth, np.ones(truth.size - 1, dtype=bool))
    n_own = int(clean.beat_corrected.sum())
    assert n_own <= 3 and clean.beat_t.size == truth.size
    ect, mis, ext = [60, 140, 220, 300], [100, 260], [180, 340]
    det = inject_beats(truth, ect, mis, ext, premature=0.25)
    s = det - 100.0  # the sample clock differs from the LSL clock by an offset
    bs = beat_series(s, det, np.ones(det.size - 1, dtype=bool))
    # every beat not marked corrected is a detected beat, at exactly its detected time
    kept = bs.beat_t[~bs.beat_corrected]
    assert np.all(np.isin(kept, det))
    # corrected marks exactly the moved (ectopic) and inserted (missed) beats; extras removed
    n_inj = len(ect) + len(mis)
    assert n_inj <= bs.beat_corrected.sum() <= n_inj + n_own
    fixed = bs.beat_t[bs.beat_corrected]
    for i in ect + mis:  # each injected ectopic / missed beat is a corrected beat now
        assert np.min(np.abs(fixed - truth[i])) < 0.025
    assert bs.changed_t["extra"].size == len(ext)
    assert bs.changed_t["ectopic"].size == len(ect) and bs.changed_t["missed"].size == len(mis)
    # after correction the beats are the true beats: moved/inserted ones within 25 ms
    m = match_events(bs.beat_t, truth, tol_s=0.025)
    assert m.fn == 0 and m.fp == 0
    # IBI rows: at their closing beat, corrected only where that beat changed
    fin = np.isfinite(bs.ibi_ms)
    assert bs.ibi_corrected[fin].sum() == bs.beat_corrected[1:].sum()
    assert np.all(np.isin(bs.ibi_t[fin & ~bs.ibi_corrected], det))
    # the removed extra beats are reported, with their detected IBI
    assert sum(r == IbiExclusion.EXTRA for r in bs.excluded_reason) == len(ext)
    # RMSSD restored
    rm_true = hrv_time(np.diff(truth) * 1000).rmssd_ms
    assert hrv_time(bs.ibi_ms).rmssd_ms == pytest.approx(rm_true, rel=0.03)


def test_long_pause_is_excluded_not_invented() -> None:
    """Several missed beats in a row: no beat can be moved to fix it; the IBI is left out."""
    truth = _beats(sinus_rr(2, n=200, rsa_ms=40.0))
    det = np.delete(truth, [100, 101, 102])
    bs = beat_series(det, det, np.ones(det.size - 1, dtype=bool))
    assert np.all(np.isin(bs.beat_t[~bs.beat_corrected], det))
    assert not np.any(bs.ibi_ms[np.isfinite(bs.ibi_ms)] > 2000)
    assert np.all(np.diff(bs.beat_t) > 0)


def _series(rr: np.ndarray):
    b = _beats(rr)
    return beat_series(b, b, np.ones(rr.size, dtype=bool))


def test_a_healthy_hearts_own_large_changes_are_kept() -> None:
    """Sinus rhythm with large respiratory changes: a single 1.4-median interval (a vagal pause,
    which Lipponen-Tarvainen call a missed beat), a step in rate (short, long, long) and an
    alternation are real and stay exactly as detected; a missed beat (2 medians) is still
    split, and a premature beat that resets the rhythm (0.6 median, no compensating pause) is
    left out rather than kept as an NN interval."""
    rr = sinus_rr(4, n=300, rsa_ms=60.0)
    rr[100] = 1.4 * np.median(rr)  # vagal pause
    rr[150:] += 120.0  # a step: the rate drops and stays
    rr[200:206] += np.array([-40.0, 40.0, -40.0, 40.0, -40.0, 40.0])  # alternation
    fl = ibi_classify(rr)
    assert fl.missed.size + fl.longshort.size + fl.ectopic.size > 0  # L&T flag some of these
    bs = _series(rr)
    assert bs.beat_corrected.sum() == 0 and bs.excluded_t.size == 0
    np.testing.assert_allclose(bs.ibi_ms[1:], rr, rtol=1e-12)
    missed = np.concatenate([rr[:100], [rr[100] / 1.4 * 2.0], rr[101:]])
    assert _series(missed).changed_t["missed"].size == 1
    reset = rr.copy()
    reset[60] *= 0.6
    r = _series(reset)
    assert r.beat_corrected.sum() == 0
    assert r.excluded_ms.tolist() == [pytest.approx(reset[60])]
    # ibi_correct is the same correction on an IBI series
    for x in (rr, missed, reset):
        b = _series(x)
        np.testing.assert_allclose(ibi_correct(x).ibi_ms, b.ibi_ms[1:], rtol=1e-9)


def test_real_nn_series_keep_their_variability() -> None:
    """Artifact-free real NN series (pyhrv 20 min and short, systole's 25-min ECG): at most
    0.3 % of the beats move, none is left out, RMSSD within 1.5 %. Before the gates the
    Lipponen-Tarvainen flags took 8 % off pyhrv's RMSSD (57.9 vs 63.0 ms)."""
    series = real_nn_series()
    if not series:
        pytest.skip("pyhrv and systole absent")
    for name, rr in series.items():
        bs = _series(rr)
        assert bs.beat_corrected.mean() <= 0.003, name
        assert bs.excluded_t.size == 0, name
        assert hrv_time(bs.ibi_ms).rmssd_ms == pytest.approx(hrv_time(rr).rmssd_ms, rel=0.015)
        # the gates are real parameters: looser ones move more of this heart's own beats
        loose = ibi_correct(rr, misplaced_min_z=3.0, sum_kept_max=2.0)
        assert loose.n_artifacts > ibi_correct(rr).n_artifacts, name


def test_premature_beat_in_alternation_moved_not_its_neighbour() -> None:
    """systole's real R-R series with 20 beats made 10 % premature: 18 are moved back to within
    40 ms of the truth (the other two sit on a rate step and on a real 1041 ms interval). Beat
    251 is premature inside a stretch alternating by 60 ms, where its late-looking neighbour has
    the larger misplacement (z +11.9 vs -10.8): the early beat is taken (without the early
    weight the neighbour moves). A real 742, 742, 938 ms step of pyhrv's heart is no premature
    beat (the straddle margin keeps it)."""
    series = real_nn_series()
    if "systole ECG" not in series or "pyhrv 20 min" not in series:
        pytest.skip("pyhrv and systole absent")
    rr = series["systole ECG"]
    truth = _beats(rr)
    idx = premature_beats(truth.size)
    bad = np.diff(inject_beats(truth, list(idx), [], [], premature=0.1))

    def found(res) -> int:
        b = _beats(res.ibi_ms)
        return sum(bool(np.min(np.abs(b - truth[i])) < 0.04) for i in idx)

    res = ibi_correct(bad * 1000.0)
    assert found(res) >= 18 and {250, 251} <= set(res.ectopic.tolist())
    neutral = ibi_correct(bad * 1000.0, early_weight=1.0)
    assert 252 in neutral.ectopic and 250 not in neutral.ectopic
    assert found(neutral) < found(res)
    py = series["pyhrv 20 min"]
    assert ibi_correct(py).n_artifacts < ibi_correct(py, straddle_margin=0.0).n_artifacts


def _nk2_kubios_rmssd(x: np.ndarray, fs: float) -> float:
    nk = pytest.importorskip("neurokit2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = nk.ppg_clean(x, sampling_rate=int(fs))
        pk = nk.ppg_peaks(clean, sampling_rate=int(fs), correct_artifacts=True)[1]["PPG_Peaks"]
    return hrv_time(np.diff(np.asarray(pk)) / fs * 1000.0).rmssd_ms


@pytest.mark.parametrize("fs", [64.0, 128.0])
def test_real_nn_as_ppg_rmssd_within_3_percent(fs: float) -> None:
    """pyhrv's real 20-min NN series (a young heart, RMSSD 63 ms) and systole's ECG (26 ms)
    rendered as PPG: RMSSD within 3 % of the truth with at most 0.3 % of the beats moved; on
    pyhrv (issue 18: -8 % before) closer to the truth than NeuroKit2's kubios correction."""
    series = real_nn_series()
    if "pyhrv 20 min" not in series:
        pytest.skip("pyhrv absent")
    for name in ("pyhrv 20 min", "systole ECG"):
        if name not in series:
            continue
        rr = series[name]
        truth = 2.0 + _beats(rr)
        x = ppg_from_beats(truth, fs, truth[-1] + 3.0, seed=4)
        p = analyze_person(x, np.arange(x.size) / fs, fs, "ppg")
        rt = hrv_time(rr).rmssd_ms
        err = p.rmssd_ms / rt - 1.0
        assert abs(err) < 0.03, (name, err)
        assert p.ibi_corrected[np.isfinite(p.ibi_ms)].mean() <= 0.003, name
        if name == "pyhrv 20 min":
            assert abs(err) < abs(_nk2_kubios_rmssd(x, fs) / rt - 1.0)


def test_premature_beats_in_a_real_series_found_and_rmssd_kept() -> None:
    """20 beats of pyhrv's 20-min series made 10 % premature, rendered as 64 Hz PPG with 5 noise
    seeds: at least 41 of the 100 are moved back to within 40 ms of their true time (the
    correction before issue 18 found 40; NeuroKit2 flags 0-1 per seed), and RMSSD is within 3 %
    of the clean series' every time, on average closer than NeuroKit2's kubios correction."""
    series = real_nn_series()
    if "pyhrv 20 min" not in series:
        pytest.skip("pyhrv absent")
    rr = series["pyhrv 20 min"]
    truth = 2.0 + _beats(rr)
    idx = premature_beats(truth.size)
    det = inject_beats(truth, list(idx), [], [], premature=0.1)
    rt = hrv_time(rr).rmssd_ms
    assert hrv_time(np.diff(det) * 1000.0).rmssd_ms / rt - 1.0 > 0.06  # the beats matter
    fs, found, ours, kubios = 64.0, 0, [], []
    for seed in range(5):
        x = ppg_from_beats(det, fs, truth[-1] + 3.0, seed=seed)
        p = analyze_person(x, np.arange(x.size) / fs, fs, "ppg")
        moved = p.ibi_t[p.ibi_corrected]
        found += sum(bool(np.min(np.abs(moved - truth[i])) < 0.04) for i in idx)
        ours.append(abs(p.rmssd_ms / rt - 1.0))
        kubios.append(abs(_nk2_kubios_rmssd(x, fs) / rt - 1.0))
    assert found >= 41
    assert max(ours) < 0.03
    assert np.mean(ours) < np.mean(kubios)


def test_exclusion_and_bad_input() -> None:
    usable, why = ibi_exclusion(
        np.array([800.0, 200.0, 3500.0, 900.0]), np.array([True, True, True, False]), 250, 3000
    )
    assert usable.tolist() == [True, False, False, False]
    assert why == (None, IbiExclusion.RANGE, IbiExclusion.RANGE, IbiExclusion.QUALITY)
    with pytest.raises(ValueError):
        ibi_exclusion(np.ones(3), np.ones(2, dtype=bool), 250, 3000)
    with pytest.raises(ValueError):
        beat_series(np.array([0.0, 1.0, 0.5]), np.array([0.0, 1.0, 0.5]), np.ones(2, bool))
    with pytest.raises(ValueError):
        beat_series(np.zeros(3), np.zeros(2), np.ones(2, bool))
    with pytest.raises(ValueError):
        ibi_classify(np.array([800.0, np.nan, 800.0, 800.0]))
    empty = beat_series(np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
    assert empty.ibi_ms.size == 0 and empty.beat_t.size == 0


@pytest.fixture(scope="module")
def nn_as_ppg() -> tuple[np.ndarray, np.ndarray, float]:
    """The first 5 min of pyhrv's real NN series rendered as noisy 64 Hz PPG."""
    from test_hrv import _pyhrv_series

    rr = _pyhrv_series()
    truth = _beats(rr)
    truth = truth[truth < 300.0] + 2.0
    fs = 64.0
    return truth, ppg_from_beats(truth, fs, 305.0, seed=3), fs


def test_real_nn_series_as_ppg_beats_do_not_drift(nn_as_ppg) -> None:
    truth, x, fs = nn_as_ppg
    t = np.arange(x.size) / fs + 1000.0
    p = analyze_person(x, t, fs, "ppg", config=SessionConfig())
    used = np.isfinite(p.ibi_ms)
    tt = truth + 1000.0
    # every used IBI closes on a beat: untouched ones exactly on a detected beat
    assert np.all(np.isin(p.ibi_t[used & ~p.ibi_corrected], p.beat_times))
    assert p.ibi_corrected[used].mean() < 0.05
    m = match_events(p.ibi_t[used], tt, tol_s=0.05)
    assert m.f1 > 0.97
    matched = np.abs(p.ibi_t[used][:, None] - tt[None, :]).min(axis=1)
    assert np.median(matched) < 0.01  # no drift: the typical beat sits within 10 ms
    # the HR grid is the corrected IBIs at their beats
    g = p.ibi_t[used][5:8]
    np.testing.assert_allclose(p.hr_on_grid(g), 60000.0 / p.ibi_ms[used][5:8], rtol=1e-9)


def test_live_and_offline_give_the_same_corrected_ibis(nn_as_ppg) -> None:
    truth, x, fs = nn_as_ppg
    t = np.arange(x.size) / fs
    off = analyze_person(x, t, fs, "ppg")
    lp = LivePerson(PersonConfig(history_s=400.0))
    for a in range(0, x.size, 32):
        lp.push_cardiac(t[a : a + 32], x[a : a + 32], fs, "ppg")
        if a % (5 * 64) == 0:
            lp.snapshot(t[min(a + 31, x.size - 1)])
    ib = lp._ibis()
    np.testing.assert_allclose(lp._beat_t, off.beat_times, atol=1e-9)
    end = ib["t"][-50]  # the newest IBIs are still provisional live
    lo = np.isfinite(ib["ibi"]) & (ib["t"] < end)
    oo = np.isfinite(off.ibi_ms) & (off.ibi_t < end)
    np.testing.assert_allclose(ib["t"][lo], off.ibi_t[oo], atol=1e-9)
    np.testing.assert_allclose(ib["ibi"][lo], off.ibi_ms[oo], atol=1e-9)


# --------------------------------------------------------------------------- reference parity


def _inject_rr(kind: str, rr: np.ndarray, p: float, i: int = 150) -> np.ndarray:
    rr = rr.copy()
    if kind == "ectopic":  # the beat closing interval i comes p x its interval early
        d = p * rr[i]
        rr[i] -= d
        rr[i + 1] += d
    elif kind == "missed":
        rr = np.concatenate([rr[:i], [rr[i] + rr[i + 1]], rr[i + 2 :]])
    elif kind == "extra":
        rr = np.concatenate([rr[:i], [0.5 * rr[i], 0.5 * rr[i]], rr[i + 1 :]])
    elif kind == "long":
        rr[i] *= 1.4
    elif kind == "short":
        rr[i] *= 0.65
    return rr


def _ours(rr: np.ndarray) -> dict[str, set[int]]:
    f = ibi_classify(rr)
    return {k: set(getattr(f, k).tolist()) for k in CLASSES}


def _neurokit(rr: np.ndarray) -> dict[str, set[int]]:
    nk = pytest.importorskip("neurokit2")
    pk = (np.concatenate([[0.0], np.cumsum(rr)]) * 1000).round().astype(np.int64)  # µs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = nk.signal_fixpeaks(pk, sampling_rate=1_000_000, method="kubios", iterative=False)[0]
    return {k: {int(v) - 1 for v in info[k]} for k in CLASSES}  # NK2 index i = our IBI i - 1


def _systole(rr: np.ndarray) -> dict[str, set[int]]:
    det = pytest.importorskip("systole.detection")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = det.rr_artefacts(rr.copy())
    out = {k: set(np.flatnonzero(a[k]).tolist()) for k in ("ectopic", "missed", "extra")}
    out["longshort"] = set(np.flatnonzero(a["long"] | a["short"]).tolist())
    return out


CASES = [("ectopic", p) for p in (0.05, 0.1, 0.2, 0.3)] + [
    (k, 0.0) for k in ("missed", "extra", "long", "short")
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("kind", "p"), CASES)
def test_flags_equal_neurokit2_and_systole(kind: str, p: float, seed: int) -> None:
    rr = _inject_rr(kind, sinus_rr(seed, rsa_ms=40.0), p)
    ours, nk, sy = _ours(rr), _neurokit(rr), _systole(rr)
    assert ours == nk  # every class, every index
    union = lambda f: set().union(*f.values())  # noqa: E731
    assert union(ours) == union(sy)  # the same intervals flagged
    for k in ("missed", "extra"):
        assert ours[k] == sy[k]
    # the two references split one premature beat's intervals differently (NK2 calls the
    # short one long/short, systole ectopic); ours follows NK2 and sees the same intervals
    assert ours["ectopic"] <= sy["ectopic"]


@pytest.mark.parametrize(("p", "rsa_ms", "expect"), [(0.10, 20.0, 30), (0.20, 40.0, 30)])
def test_ectopic_detection_by_prematurity(p: float, rsa_ms: float, expect: int) -> None:
    """Premature beats found in 30 of 30 series, as often as NeuroKit2 finds them."""
    ours = nk = 0
    for seed in range(30):
        rr = _inject_rr("ectopic", sinus_rr(seed, rsa_ms=rsa_ms), p)
        ours += {150, 151} <= set().union(*_ours(rr).values())
        nk += {150, 151} <= set().union(*_neurokit(rr).values())
    assert ours == nk == expect


def test_analyze_person_bad_input_is_a_clear_error() -> None:
    x = np.zeros(1000)
    t = np.arange(1000) / 64.0
    with pytest.raises(ValueError, match="rate"):
        analyze_person(x, t, 0.0, "ppg")
    with pytest.raises(ValueError, match="differ in length"):
        analyze_person(x, t[:-1], 64.0, "ppg")
    with pytest.raises(ValueError, match="cardiac_kind"):
        analyze_person(x, t, 64.0, "eeg")
    with pytest.raises(ValueError, match="EDA"):
        analyze_person(eda=np.ones(10), eda_t=np.arange(9.0), eda_fs=4.0)
    flat = analyze_person(x, t, 64.0, "ppg")  # no pulse at all: no beats, NaN, never made up
    assert flat.n_beats == 0 and np.isnan(flat.rmssd_ms) and np.isnan(flat.mean_hr_bpm)


def test_window_quantiles_equal_the_rolling_ones():
    """The single-window quantiles the correction computes lazily (robust SD of one flagged
    interval) are bit-identical to the rolling ones at that position, edges included."""
    from dsp.ibi_artifacts import _rolling_quantiles, _window_quantiles

    rng = np.random.default_rng(3)
    for n in (1, 2, 11, 46, 91, 97, 140, 1100):
        x = np.round(rng.normal(0.0, 30.0, n), 1)  # ties included
        x[::9] = x[0]
        for win, qs in ((91, (0.25, 0.75)), (11, (0.5,))):
            roll = _rolling_quantiles(x, win, qs)
            for i in range(n):
                one = _window_quantiles(x, i, win, qs)
                assert [r[i] for r in roll] == one, (n, win, i)
