"""Benchmark: the clinician console's GUI-thread frame time and whole-process CPU (prints figures).

Run from the repository root::

    .venv/bin/python benchmarks/bench_gui.py [--seconds 60] [--window 30]

The simulated dyad (2 x PPG 128 Hz + 2 x EDA 32 Hz) runs in a child process, as in
``attune demo``; this process holds what the clinician's machine runs: acquisition thread,
DSP engine thread and the window (offscreen when there is no display, 1280 x 800, default
30 s trace window). After a 10 s settling period it reports, over ``--seconds``:

- frame data update (GUI thread): copy of the trace window from the ring buffers + setData
  of every curve and mark, per render-timer frame (median, p95);
- trace paint (GUI thread): the pyqtgraph view's paintEvent (median, p95);
- frame time = update + paint (median, p95), and the render-timer interval p95 (jank);
- GUI-thread CPU (% of one core) and whole-process CPU (% of one core, all threads);
- the child simulator's CPU, for reference (not part of the console).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LSLAPICFG", str(ROOT / "resources" / "lsl_local.cfg"))
if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402


def _pct(a, q) -> float:
    return float(np.percentile(np.asarray(a) * 1000, q)) if len(a) else float("nan")


def _child_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a child process from /proc (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def measure(seconds: float, window_s: float, setup=None) -> dict | None:
    """Run the console on the simulated dyad and measure it for ``seconds`` after 10 s.

    ``setup(controller)``, if given, runs once the session is live and before the measured
    time (e.g. choose a camera and start recording); it may return a callable run at the
    end. Returns the raw figures (None if no session came up)."""
    from PySide6.QtCore import QTimer

    from app.engine import EngineConfig
    from app.gui.main_window import MainWindow
    from app.gui.qtapp import make_app
    from app.gui.session import SessionController
    from app.gui.theme import ConsoleSettings
    from app.sources import SourceChoice, attune_command
    from devices.source import ProcessSource

    app = make_app()
    prefix = f"BenchGui{os.getpid()}"
    source = ProcessSource(
        attune_command(["simulate", "--name-prefix", prefix, "--seed", "2"]), "bench dyad"
    )
    controller = SessionController(
        EngineConfig(metrics_source_id=f"bench-metrics-{os.getpid()}"),
        marker_source_id=f"bench-markers-{os.getpid()}",
    )
    window = MainWindow(controller, ConsoleSettings(trace_window_s=window_s), persist=False)
    window.resize(1280, 800)
    window.show()
    roles = {"patient": f"{prefix}-patient-*", "clinician": f"{prefix}-clinician-*"}
    window.start_source(SourceChoice(kind="simulated", roles=roles, wait_s=20.0), source)

    marks: dict[str, object] = {}

    def begin() -> None:
        if controller.session is None:
            print("no session after 10 s: " + window.message.text(), file=sys.stderr)
            app.quit()
            return
        marks["finish"] = setup(controller) if setup is not None else None
        window.frame_times.clear()
        window.frame_starts.clear()
        window.traces.paint_times.clear()
        ru = resource.getrusage(resource.RUSAGE_SELF)
        marks["t0"] = time.monotonic()
        marks["cpu0"] = ru.ru_utime + ru.ru_stime
        marks["gui0"] = time.thread_time()
        marks["child0"] = _child_cpu(source.proc.pid)
        QTimer.singleShot(int(seconds * 1000), end)

    def end() -> None:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        wall = time.monotonic() - marks["t0"]
        marks["proc"] = (ru.ru_utime + ru.ru_stime - marks["cpu0"]) / wall
        marks["gui"] = (time.thread_time() - marks["gui0"]) / wall
        marks["child"] = (_child_cpu(source.proc.pid) - marks["child0"]) / wall
        marks["wall"] = wall
        marks["upd"] = list(window.frame_times)
        marks["paint"] = list(window.traces.paint_times)
        marks["starts"] = list(window.frame_starts)
        marks["points"] = dict(window.traces.samples_shown)
        marks["engine"] = controller.session.engine if controller.session else None
        if callable(marks["finish"]):
            marks["finish"]()
        window.close()

    QTimer.singleShot(10_000, begin)
    app.exec()
    return marks if "upd" in marks else None


def figures(marks: dict) -> dict[str, float]:
    """The printed figures of :func:`measure`'s marks (ms, % of one core)."""
    upd, paint = np.asarray(marks["upd"]), np.asarray(marks["paint"])
    n = min(len(upd), len(paint))
    frame = upd[-n:] + paint[-n:]
    intervals = np.diff(marks["starts"])
    return {
        "fps": len(upd) / marks["wall"],
        "upd_med": _pct(upd, 50), "upd_p95": _pct(upd, 95),
        "paint_med": _pct(paint, 50), "paint_p95": _pct(paint, 95),
        "frame_med": _pct(frame, 50), "frame_p95": _pct(frame, 95),
        "interval_med": _pct(intervals, 50), "interval_p95": _pct(intervals, 95),
        "gui_cpu": marks["gui"] * 100, "proc_cpu": marks["proc"] * 100,
        "child_cpu": marks["child"] * 100,
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="measured time (default 60)")
    ap.add_argument("--window", type=float, default=30.0, help="trace window s (default 30)")
    args = ap.parse_args()
    marks = measure(args.seconds, args.window)
    if marks is None:
        return 1
    f = figures(marks)
    print(
        f"console benchmark: {marks['wall']:.0f} s, 2 x (PPG 128 Hz + EDA 32 Hz), "
        f"{args.window:g} s trace window, {len(marks['upd'])} frames "
        f"({f['fps']:.1f} fps), points per row {sorted(marks['points'].values())}"
    )
    print(f"  frame data update  median {f['upd_med']:6.2f} ms   p95 {f['upd_p95']:6.2f} ms")
    print(f"  trace paint        median {f['paint_med']:6.2f} ms   p95 {f['paint_p95']:6.2f} ms")
    print(f"  frame (upd+paint)  median {f['frame_med']:6.2f} ms   p95 {f['frame_p95']:6.2f} ms")
    print(
        f"  render interval    median {f['interval_med']:6.2f} ms   p95 "
        f"{f['interval_p95']:6.2f} ms (target 33 ms)"
    )
    print(f"  GUI thread CPU     {f['gui_cpu']:5.1f} % of one core")
    print(
        f"  whole process CPU  {f['proc_cpu']:5.1f} % of one core "
        "(GUI + acquisition + DSP engine threads)"
    )
    print(f"  simulator child    {f['child_cpu']:5.1f} % of one core (not the console)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
