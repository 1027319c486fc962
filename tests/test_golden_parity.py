"""Parity with the golden outputs: the same numbers (to 1e-9) and words as when they were frozen.

The goldens (``tests/data/golden/*.json``) hold metrics.json, the 1 Hz timelines (rolling CI,
percentile, WCC peak, highlight, coupling p) and every tested statement of simulated and real
recordings, and a live engine's snapshots. Regenerate them only for a deliberate change of a
number, named in the commit message: ``PYTHONPATH=. python -m tests.golden``.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from golden import CASES, compute, differences, golden_path


@pytest.mark.parametrize("name", list(CASES))
def test_golden_parity(name: str) -> None:
    path = golden_path(name)
    if not path.is_file():
        pytest.skip(f"no golden for {name} (its input was absent when they were written)")
    got = compute(name)
    if got is None:
        pytest.skip(f"input of {name} absent")
    want = json.loads(path.read_text(encoding="utf-8"))
    got = json.loads(json.dumps(got))  # the same tuple/list and key forms as stored
    diff = differences(want, got)
    assert not diff, f"{len(diff)} difference(s) from {path.name}:\n" + "\n".join(diff[:30])


def test_differences_catch_a_change() -> None:
    """The comparison itself: a number off by more than 1e-9, a word, a length."""
    want = {"p": 0.01, "words": "patient leads by 2.0 s", "xs": [1.0, 2.0]}
    assert differences(want, {"p": 0.01 + 1e-12, "words": "patient leads by 2.0 s",
                              "xs": [1.0, 2.0]}) == []  # fmt: skip
    assert differences(want, {"p": 0.0101, "words": "patient leads by 2.0 s", "xs": [1.0, 2.0]})
    assert differences(want, {"p": 0.01, "words": "no clear lead", "xs": [1.0, 2.0]})
    assert differences(want, {"p": 0.01, "words": "patient leads by 2.0 s", "xs": [1.0]})
    assert differences({"v": "nan"}, {"v": 0.0})


def test_golden_parity_on_two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two-process analysis (the clinician's part, the HR concordance and heartpy in a
    second process, as for recordings of 10 minutes or more) gives the golden numbers too."""
    import app.analysis.pipeline as pipeline

    monkeypatch.setattr(pipeline, "PARALLEL_MIN_S", 0.0)
    used = []
    real = pipeline._second_core

    @contextlib.contextmanager
    def spy(*args):  # noqa: ANN002, ANN202
        with real(*args) as pool:
            used.append(pool)
            yield pool

    monkeypatch.setattr(pipeline, "_second_core", spy)
    want = json.loads(golden_path("sim_coupled").read_text(encoding="utf-8"))
    got = json.loads(json.dumps(compute("sim_coupled")))
    assert used and used[0] is not None, "the analysis did not use a second process"
    diff = differences(want, got)
    assert not diff, f"{len(diff)} difference(s):\n" + "\n".join(diff[:30])
