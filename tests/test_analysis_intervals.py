"""Offline analysis of IBI streams: an E4-style recording (Empatica<ID>IBI in seconds, one
sample per beat, declared 1 Hz, all streams of a device on one source_id) read back from a
real XDF file; HR and HRV come from the intervals through the shared per-person steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.analysis.inputs import AnalysisOptions
from app.analysis.pipeline import analyze_file
from devices.assign import ROLES
from devices.xdf_writer import XdfWriter
from dsp.hrv import hrv_time
from tests.xdf_sim import header_xml

T0, OFFSET, DUR = 5000.0, 0.75, 240.0


def _rr(seed: int, mean_s: float) -> np.ndarray:
    """Beat intervals (s) with respiratory sinus arrhythmia and a little noise."""
    rng = np.random.default_rng(seed)
    n = int(DUR / mean_s)
    k = np.arange(n)
    return mean_s + 0.04 * np.sin(2 * np.pi * k * mean_s / 4.0) + rng.normal(0, 0.01, n)


def _write(path: Path, rr: dict[str, np.ndarray], missed: int | None = None) -> Path:
    with XdfWriter(path, overwrite=True) as w:
        for i, role in enumerate(ROLES):
            dev = f"Empatica{role[:3].upper()}{i}"
            sid = f"e4-{dev}"  # one source_id for every stream of the device
            ibi = w.add_stream(header_xml(f"{dev}IBI", "IBI", "float32", ["ibi"], "seconds", 1.0,
                                          sid))  # fmt: skip
            eda = w.add_stream(header_xml(f"{dev}EDA", "EDA", "float32", ["eda"], "", 4.0, sid))
            beats = np.cumsum(rr[role])
            keep = np.ones(beats.size, dtype=bool)
            if missed is not None:  # a beat the device never reported: one interval is lost
                keep[missed] = False
            # the E4 server stamps each beat; its interval is the one that ended there
            w.write_samples(ibi, rr[role][keep, None], T0 + beats[keep])
            te = np.arange(0.0, DUR, 0.25)
            w.write_samples(eda, (5.0 + 0.2 * np.sin(te / 30.0))[:, None], T0 + te)
            for s in (ibi, eda):
                for tc in np.arange(0.0, DUR, 5.0):
                    w.write_clock_offset(s, T0 + tc, OFFSET)
    return path


def test_e4_ibi_streams_give_hr_and_hrv_offline(tmp_path: Path) -> None:
    rr = {"patient": _rr(1, 0.80), "clinician": _rr(2, 0.95)}
    path = _write(tmp_path / "e4.xdf", rr)
    roles = {"patient": "EmpaticaPAT*", "clinician": "EmpaticaCLI*"}
    a = analyze_file(path, AnalysisOptions(roles=roles))
    assert not [w for w in a.warnings if "ibi" in w], a.warnings
    for role in ROLES:
        ch = next(c for c in a.channels if c.role == role and c.modality == "ibi")
        assert ch.unit == "ms" and ch.n_samples == rr[role].size
        p = a.persons[role]
        truth = hrv_time(rr[role][1:] * 1000.0)  # the first beat opens no interval here
        assert p.cardiac_kind == "beats" and p.n_beats == rr[role].size
        assert p.mean_hr_bpm == pytest.approx(truth.mean_hr_bpm, abs=0.05)
        assert p.rmssd_ms == pytest.approx(truth.rmssd_ms, abs=0.5)
        # beats on the recording machine's clock: the clock offset applied, no 1 Hz grid
        first = T0 + OFFSET + rr[role][0]
        assert p.beat_times[0] == pytest.approx(first, abs=1e-3)
        np.testing.assert_allclose(np.diff(p.beat_times), rr[role][1:], atol=2e-3)
    assert a.dyad is not None  # both people have EDA and HR: concordance is computed


def test_a_beat_the_device_missed_is_excluded_not_bridged(tmp_path: Path) -> None:
    rr = {"patient": _rr(3, 0.80), "clinician": _rr(4, 0.85)}
    path = _write(tmp_path / "e4gap.xdf", rr, missed=100)
    a = analyze_file(path, AnalysisOptions(roles={"patient": "EmpaticaPAT*",
                                                  "clinician": "EmpaticaCLI*"}))  # fmt: skip
    p = a.persons["patient"]
    assert p.n_beats == rr["patient"].size - 1
    # the interval after the missing report is chained from its own value, not stretched
    # over the gap: no interval near twice the mean survives
    assert np.nanmax(p.ibi_ms) < 1.3 * np.nanmean(p.ibi_ms)
    truth = hrv_time(rr["patient"][1:] * 1000.0)
    assert p.mean_hr_bpm == pytest.approx(truth.mean_hr_bpm, abs=0.2)
