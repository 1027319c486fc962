"""Calibration of session-level p-values on independent dyads (issue 18).

The offline HR coherence test used to compare the real pairing with unwrapped clinician
stretches from elsewhere in the session; in a 10-minute session those overlap each other far
more than they overlap the real one, so their spread was too narrow and unrelated people got
p <= 0.05 too often (LF 10 of the 60 ``spectra`` dyads below; the simulator's dyads with a
gap at the start mostly got no test at all: 17 of 40 tested). The null is now circular shifts
of the clinician's whole series, each surrogate on the longest contiguous run of Welch
segments (:func:`dsp.concordance.hr.hr_coherence_session_test`).
"""

from __future__ import annotations

import math

import numpy as np

from dsp.concordance.hr import hr_coherence_session_test
from dsp.nullgen import poisson_dyad, spectra_dyad
from dsp.simstudy import grid_series, independent_config
from dsp.simulate import simulate_dyad

FS = 4.0


def _coherence_ps(dyads) -> np.ndarray:
    out = []
    for g in dyads:
        ct = hr_coherence_session_test(
            g.hr_patient, g.hr_clinician, FS, n_surrogates=100, min_span_s=240.0, seed=1
        )
        out.append((ct.lf_p, ct.hf_p))
    return np.array(out)


def test_offline_hr_coherence_is_not_optimistic_on_independent_dyads():
    sim = [grid_series(simulate_dyad(independent_config(s, 600.0, s % 2 == 0))) for s in range(40)]
    ps = _coherence_ps(sim)
    tested = np.isfinite(ps[:, 1])
    assert tested.sum() >= 30  # the circular null tests sessions with a gap at the start too
    # 5 % of 40 is 2; P(>= 5 | 5 %) = 5 %: the old null gave 9
    assert (ps[tested] <= 0.05).sum(axis=0).max() <= 4
    # 60 dyads unlike the simulator (power-law HR, drifting or paced breathing): the old null
    # gave LF p <= 0.05 in 10 of these 60 (HF 4), the circular one in 1 (HF 1)
    other = _coherence_ps([spectra_dyad(s, 600.0) for s in range(60)])
    assert np.isfinite(other).all()
    assert (other <= 0.05).sum(axis=0).max() <= 5  # P(>= 6 | 5 %) = 8 %


def test_null_generators_are_independent_and_physiological():
    for make in (poisson_dyad, spectra_dyad):
        g = make(7, 300.0)
        assert g.t.size == 1200 and g.fs == FS
        for v in (g.eda_patient, g.eda_clinician, g.hr_patient, g.hr_clinician):
            assert np.isfinite(v).all()
        assert 0.05 <= g.eda_patient.min() and g.eda_patient.max() < 40.0  # µS
        assert 35.0 < np.median(g.hr_patient) < 110.0  # bpm
        r = np.corrcoef(np.diff(g.eda_patient), np.diff(g.eda_clinician))[0, 1]
        assert abs(r) < 0.2  # nothing shared
        again = make(7, 300.0)
        assert np.array_equal(again.hr_clinician, g.hr_clinician)  # seeded
        assert not np.array_equal(make(8, 300.0).hr_clinician, g.hr_clinician)
    assert math.isclose(poisson_dyad(1, 60.0).t[-1], 60.0 - 0.25)
