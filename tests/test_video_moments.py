"""Moments for video supervision: high concordance moments from the review's highlight on a
coupled simulated dyad, low moments from the rolling CI's percentile, marked moments with
their notes, metrics.json, and `attune video clips` cutting the right stretch of a video whose
frames carry their numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av")

from app.analysis.moments import LOW_PERCENTILE, MomentKind, _runs, session_moments  # noqa: E402

FPS = 10


@pytest.fixture(scope="module")
def coupled(tmp_path_factory):
    from app.analysis import analyze_file
    from app.video import store_video_offset
    from dsp.simulate import DyadSimConfig, simulate_dyad
    from tests.video_sim import write_video
    from tests.xdf_sim import write_simulated_xdf

    dyad = simulate_dyad(DyadSimConfig(duration_s=600.0, seed=3, coupling=0.8, lag_s=2.0))
    folder = tmp_path_factory.mktemp("mom")
    path = folder / "recording.xdf"
    marks = [(0.0, "L: clinician listening"), (200.0, "T: clinician talking"),
             (330.0, "M: moment: note 1")]  # fmt: skip
    write_simulated_xdf(path, dyad, t0=100.0, markers=marks)
    (folder / "moment_notes.jsonl").write_text(json.dumps({"number": 1, "t": 430.0,
                                                           "text": "patient laughs"}) + "\n")  # fmt: skip
    a = analyze_file(path)
    vid = write_video(folder / "camera.mp4", None, a.duration_s, fps=FPS, gop=FPS)
    store_video_offset(path, vid, a.t_start, "manual")  # video time 0 = session start
    return path, a


def test_moments_follow_the_evidence(coupled) -> None:
    _, a = coupled
    ms = session_moments(a)
    high = [m for m in ms if m.kind is MomentKind.HIGH and m.signal == "EDA"]
    assert high, "a coupled dyad (0.8) is highlighted above chance"
    tl = a.dyad.eda.timeline
    for m in high:  # every high moment is a run of the highlight, with its smallest p
        inside = (tl.t >= m.t0) & (tl.t < m.t1)
        assert tl.highlight[inside].all() and m.p <= 0.01
        assert m.p == pytest.approx(np.nanmin(tl.coupling_p[inside]))
    for m in (m for m in ms if m.kind is MomentKind.LOW):
        inside = (tl.t >= m.t0) & (tl.t < m.t1)
        pct = (a.dyad.eda if m.signal == "EDA" else a.dyad.hr).timeline.percentile[inside]
        assert (pct <= LOW_PERCENTILE).all() and m.t1 - m.t0 >= 20
    marked = [m for m in ms if m.kind is MomentKind.MARKED]
    assert len(marked) == 1 and "patient laughs" in marked[0].caption
    assert marked[0].t0 - a.t_start == pytest.approx(330.0, abs=0.5)
    assert [m.caption.split()[0] for m in ms if m.kind is MomentKind.BLOCK] == [
        "listening",
        "talking",
    ]


def test_runs_and_low_rule() -> None:
    assert _runs(np.array([0, 1, 1, 0, 1], bool)) == [(1, 3), (4, 5)]
    assert _runs(np.zeros(3, bool)) == []


def test_metrics_json_lists_moments(coupled, tmp_path: Path) -> None:
    from app.analysis import write_outputs

    _, a = coupled
    write_outputs(a, tmp_path, ("json",))
    d = json.loads((tmp_path / "metrics.json").read_text())
    kinds = {m["kind"] for m in d["moments"]}
    assert {"high concordance", "marked moment", "block"} <= kinds
    m = next(m for m in d["moments"] if m["kind"] == "marked moment")
    assert m["caption"].endswith("patient laughs") and m["t0_s"] == pytest.approx(330.0, abs=0.5)


def test_clips_cut_the_moments(coupled, tmp_path: Path) -> None:
    from tests.video_sim import read_code

    path, a = coupled
    out = subprocess.run([sys.executable, "-m", "app.cli", "video", "clips", str(path.parent),
                          "-o", str(tmp_path / "clips"), "--top", "1", "--pad", "3"],
                         capture_output=True, text=True, timeout=300, env=dict(os.environ))  # fmt: skip
    assert out.returncode == 0, out.stderr
    clips = sorted((tmp_path / "clips").glob("*.mp4"))
    assert clips and all(c.with_suffix(".txt").is_file() for c in clips)
    assert all(os.stat(c).st_mode & 0o777 == 0o600 for c in clips)
    moments = session_moments(a, top=1)
    for clip, m in zip(clips, [m for m in moments], strict=False):
        with av.open(str(clip)) as c:
            first = next(c.decode(video=0)).to_ndarray(format="rgb24")
            n = sum(1 for _ in c.decode(video=0)) + 1
        want0 = max(m.t0 - 3 - a.t_start, 0) * FPS
        got0 = read_code(first)
        assert want0 - FPS - 1 <= got0 <= want0 + 1, (
            clip.name,
            got0,
            want0,
        )  # key frame <= 1 s early
        assert n >= (m.t1 - m.t0 + 3) * FPS - 2
        text = clip.with_suffix(".txt").read_text()
        assert m.caption in text
    # a session without video says so in one line
    bare = tmp_path / "bare.xdf"
    bare.write_bytes(path.read_bytes())
    out = subprocess.run([sys.executable, "-m", "app.cli", "video", "clips", str(bare), "-o",
                          str(tmp_path / "x")], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 2 and "has no video" in out.stderr


def test_report_shows_the_moments_table_without_pictures(coupled, tmp_path: Path) -> None:
    from app.analysis import write_outputs

    _, a = coupled
    write_outputs(a, tmp_path, ("html",))
    html = (tmp_path / "report.html").read_text()
    assert "Moments (for review with video)" in html and "patient laughs" in html
    assert "high concordance" in html
    assert "camera.mp4" not in html  # no frames of the video in the report


def test_report_thumbnails_only_when_asked(coupled, tmp_path: Path) -> None:
    from app.analysis import write_outputs
    from tests.video_sim import read_code

    _, a = coupled
    write_outputs(a, tmp_path / "with", ("html",), thumbnails=True)
    html = (tmp_path / "with" / "report.html").read_text()
    assert "Moments: video frames" in html
    import base64
    import io
    import re

    from matplotlib import image as mpimg

    frames = html.split("Moments: video frames")[1]
    pics = re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', frames)
    moments = [m for m in session_moments(a, top=3)]
    assert len(pics) == len(moments)
    for (_, b64), m in zip(pics, moments, strict=True):  # each frame is the moment's start
        img = (mpimg.imread(io.BytesIO(base64.b64decode(b64)))[..., :3] * 255).astype(np.uint8)
        assert abs(read_code(img) - (m.t0 - a.t_start) * FPS) <= 1
    write_outputs(a, tmp_path / "without", ("html",))
    without = (tmp_path / "without" / "report.html").read_text()
    assert "Moments (for review with video)" in without and "Moments: video frames" not in without
    assert without.count("data:image/png") == html.count("data:image/png") - len(pics)
