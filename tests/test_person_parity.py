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
