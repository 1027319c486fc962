"""The live per-person processor gives the recorded numbers (tests/person_parity.py).

Every field of every snapshot of three simulated streams (PPG with artifacts, noise, jumps
and dropouts past the 5-min history; ECG; device-reported beats with an extra and a missed
beat) and the HR / EDA put on the dyad grid are compared with the outputs recorded before
the live tick was made incremental (issue 19): numbers to 1e-9, words, counts and event
lists (beats, SCRs, HR trend) exactly in length and to 1e-9 in value. The engine's dyad
snapshots are covered by ``tests/test_golden_parity.py`` (``live_coupled``).
"""

from __future__ import annotations

import numpy as np
import pytest
from person_parity import (
    ARRAY_FIELDS,
    FIXTURE,
    SCALAR_FIELDS,
    SCENARIOS,
    STR_FIELDS,
    arrays_of,
    record,
)

RTOL = 1e-9


@pytest.fixture(scope="module")
def frozen() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURE))


@pytest.mark.parametrize("name", SCENARIOS)
def test_live_person_outputs_identical(name: str, frozen: dict[str, np.ndarray]) -> None:
    new = record(name)
    for f in SCALAR_FIELDS:
        a, b = new[f"{name}/{f}"], frozen[f"{name}/{f}"]
        np.testing.assert_allclose(
            a.astype(float), b.astype(float), rtol=RTOL, atol=1e-12, err_msg=f
        )
    for f in STR_FIELDS:
        assert new[f"{name}/{f}"].tolist() == frozen[f"{name}/{f}"].tolist(), f
    np.testing.assert_array_equal(new[f"{name}/artifacts"], frozen[f"{name}/artifacts"])
    for g in ("grid_eda", "grid_hr"):
        np.testing.assert_allclose(
            new[f"{name}/{g}"], frozen[f"{name}/{g}"], rtol=RTOL, atol=1e-12, err_msg=g
        )
    got, want = arrays_of(new, name), arrays_of(frozen, name)
    for f in ARRAY_FIELDS:
        assert len(got[f]) == len(want[f])
        for i, (a, b) in enumerate(zip(got[f], want[f], strict=True)):
            assert a.size == b.size, f"{f} at snapshot {i}: {a.size} != {b.size} values"
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=1e-12, err_msg=f"{f} at {i}")


def test_the_recording_covers_what_a_clinician_sees(frozen: dict[str, np.ndarray]) -> None:
    """The scenarios exercise valid HRV, spectra, SCRs, artifacts and bad quality (the
    comparison above would be weak on outputs that are always NaN or empty)."""
    p = "ppg"
    assert frozen[f"{p}/spectral_valid"].sum() > 100
    assert frozen[f"{p}/coherence_valid"].sum() > 100
    assert frozen[f"{p}/scr_valid"].sum() > 100
    assert "bad" in frozen[f"{p}/cardiac_quality"].tolist()
    assert "bad" in frozen[f"{p}/eda_quality"].tolist()
    assert frozen[f"{p}/artifacts"].sum() > 0
    assert frozen["beats/artifacts"][:, 1:3].sum() > 0  # the missed and the extra beat
    assert frozen["ecg/hrv_valid"].sum() > 100
    n_scr = [a.size for a in arrays_of(frozen, p)["scr_onsets"]]
    assert max(n_scr) >= 5


def test_noise_floor_equals_eda_noise_us_on_a_trimmed_growing_signal() -> None:
    """The incremental noise floor is ``eda_noise_us`` of the masked history, bit for bit:
    random pushes (quantised or not, with NaN runs), front trims, and a validity mask that
    changes only after its settled part."""
    from dsp.eda import eda_noise_us
    from dsp.live_noise import NoiseFloor

    rng = np.random.default_rng(0)
    calls = 0
    for _ in range(25):
        nf = NoiseFloor()
        ctx, keep = int(rng.integers(5, 400)), int(rng.integers(200, 3000))
        raw, final, g0 = np.zeros(0), np.zeros(0, dtype=bool), 0
        quant = rng.random() < 0.3
        for _ in range(int(rng.integers(5, 40))):
            m = int(rng.integers(1, 200))
            x = 5.0 + np.cumsum(rng.normal(0.0, 0.01, m))
            x = np.round(x, 2) if quant else x
            if rng.random() < 0.1:
                x[: int(rng.integers(1, m + 1))] = np.nan
            raw = np.concatenate([raw, x])
            mask = np.concatenate([final, rng.random(raw.size - final.size) < 0.9])
            settled = max(0, raw.size - ctx)
            if raw.size > keep:
                cut = raw.size - keep
                raw, mask, g0, settled = raw[cut:], mask[cut:], g0 + cut, max(0, settled - cut)
            final = mask[:settled].copy()
            got = nf.noise_us(raw, mask, g0, settled)
            want = eda_noise_us(np.where(mask, raw, np.nan), 32.0)
            assert got == want or (np.isnan(got) and np.isnan(want))
            calls += 1
    assert calls > 200
