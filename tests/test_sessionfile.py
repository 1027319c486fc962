"""session.json content, pseudonymous codes and permissions."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from app import sessionfile
from app.engine import EngineConfig
from devices.assign import assign
from devices.lsl import StreamDescription


def _assignment():
    def sd(name, t):
        return StreamDescription(name, t, name.lower(), "h", 32.0, 1, "float32", uid=name)

    return assign(
        [
            sd("X-patient-EDA", "EDA"),
            sd("X-patient-PPG", "PPG"),
            sd("X-clinician-EDA", "EDA"),
            sd("X-clinician-PPG", "PPG"),
        ]
    )


def test_start_and_finish(tmp_path: Path) -> None:
    rec = sessionfile.start_record(
        patient="P001",
        clinician="C-7",
        assignment=_assignment(),
        engine_config=EngineConfig(),
        source="simulated dyad",
    )
    path = sessionfile.write(tmp_path, rec)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sessionfile.finish(tmp_path, baseline={"clinician": {"ln_rmssd": 3.9}}, notes="calm start")
    meta = json.loads(path.read_text())
    assert meta["patient"] == "P001" and meta["clinician"] == "C-7"
    assert meta["baseline"]["clinician"]["ln_rmssd"] == 3.9 and meta["notes"] == "calm start"
    assert meta["ended_at"] >= meta["started_at"]
    assert meta["dsp_parameters"]["person"]["hrv_window_s"] == 60.0
    assert len(meta["streams"]) == 4 and meta["app_version"]


@pytest.mark.parametrize("code", ["Jane Doe", "x" * 40, "P/1"])
def test_names_and_odd_codes_are_refused(code: str) -> None:
    with pytest.raises(sessionfile.SessionFileError, match="pseudonymous"):
        sessionfile.check_code(code, "patient")


def test_unreadable_session_json(tmp_path: Path) -> None:
    (tmp_path / "session.json").write_text("{not json")
    with pytest.raises(sessionfile.SessionFileError, match="cannot read"):
        sessionfile.read(tmp_path)
