"""Session video figures: capture (dropped frames, stamp jitter, CPU), alignment error of
`attune video add`, and review seek time.

    .venv/bin/python benchmarks/bench_video.py --capture 600          # 1280x720 @ 30 fps, 10 min
    .venv/bin/python benchmarks/bench_video.py --align 20
    .venv/bin/python benchmarks/bench_video.py --seek FILE.mp4 [--seeks 200]
    .venv/bin/python benchmarks/bench_video.py --make-long OUT.mp4    # 60-min 720p test file
    .venv/bin/python benchmarks/bench_video.py --console 60           # console with a camera
    .venv/bin/python benchmarks/bench_video.py --tick 300             # DSP tick beside capture
    .venv/bin/python benchmarks/bench_video.py --replay REC.xdf --seconds 60  # replayed video

``--console S`` runs the console benchmark of ``bench_gui.py`` (imported: the same window,
simulated dyad and figures) three times, each in its own process: no camera, the camera's
live picture (preview), and a session recording the camera (1280x720 @ 30 fps + microphone,
H.264 + AAC) with its live picture; beside the GUI figures it times every engine tick of
the live console (thread CPU and wall time). ``--tick N`` times ``bench_tick.py``'s DSP
tick (imported) alone and with a 1280x720 capture running in the same process (threads share
the interpreter: this is where a capture could slow the DSP).

Capture runs the real MediaCapture on a lavfi virtual camera (testsrc2, moving picture) and
microphone; the peer is the same virtual source read without encoding, for the same time, so
the encoder's share of the CPU is the difference. The machine is shared with other jobs: CPU
and jitter figures are upper bounds of what a quiet machine gives.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LSLAPICFG", str(ROOT / "resources" / "lsl_local.cfg"))

CAMERA = "lavfi:testsrc2=size=1280x720:rate=30"
MIC = "lavfi:sine=frequency=300:sample_rate=48000"


def _cpu_of(fn, seconds: float) -> float:
    """Process CPU (% of one core) while ``fn(stop_event)`` runs for ``seconds``."""
    stop = threading.Event()
    c0, w0 = time.process_time(), time.monotonic()
    th = threading.Thread(target=fn, args=(stop,))
    th.start()
    time.sleep(seconds)
    stop.set()
    th.join()
    return 100 * (time.process_time() - c0) / (time.monotonic() - w0)


def bench_capture(seconds: float) -> None:
    from devices.media_devices import MediaKind, open_input, parse_device
    from devices.video_capture import MediaCapture

    tmp = Path(tempfile.mkdtemp(prefix="bench-video-"))
    cam, mic = parse_device(CAMERA), parse_device(MIC)

    def peer(stop: threading.Event) -> None:  # the virtual source alone, decoded, no encoding
        c = open_input(cam, MediaKind.VIDEO)
        for f in c.decode(video=0):
            f.reformat(format="yuv420p")
            if stop.is_set():
                break
        c.close()

    peer_cpu = _cpu_of(peer, min(seconds, 30.0))
    cap = MediaCapture(tmp / "v.mp4", cam, mic, keep_stamps=True, wait_consumers_s=0.0)
    holder: dict = {}

    def run(stop: threading.Event) -> None:
        cap.start()
        stop.wait()
        holder["stats"] = cap.stop()

    wall0 = time.monotonic()
    cpu = _cpu_of(run, seconds)
    wall = time.monotonic() - wall0
    st = holder["stats"]
    stamps, arr = np.array(st.stamps), np.array(st.arrivals)
    d = np.diff(stamps) - 1 / 30
    expected = (stamps[-1] - stamps[0]) * 30 + 1
    print(
        f"capture {CAMERA} + {MIC}, {seconds:g} s (wall {wall:.1f} s), load {os.getloadavg()[0]:.1f}"
    )
    print(f"  frames captured {st.frames_captured}, written {st.frames_written}, "
          f"dropped {st.frames_dropped} ({100 * st.frames_dropped / max(st.frames_captured, 1):.3f} %); "
          f"stamps span {expected:.0f} frame intervals")  # fmt: skip
    print(
        f"  stamp interval minus 1/30 s: SD {1e3 * d.std():.3f} ms, max |.| {1e3 * np.abs(d).max():.2f} ms"
    )
    print(f"  arrival - stamp (scheduling delay absorbed): median {1e3 * np.median(arr - stamps):.2f} ms, "
          f"p99 {1e3 * np.percentile(arr - stamps, 99):.2f} ms")  # fmt: skip
    print(
        f"  arrival interval minus 1/30 s (peer: raw arrival times): SD {1e3 * np.diff(arr).std():.3f} ms"
    )
    print(
        f"  CPU: whole capture process {cpu:.1f} % of one core; virtual source alone (peer) "
        f"{peer_cpu:.1f} %; encoder + muxer + stamps ~{cpu - peer_cpu:.1f} %"
    )
    print(f"  file {os.path.getsize(tmp / 'v.mp4') / 1e6:.1f} MB, audio blocks {st.audio_blocks}")


def bench_align(n: int) -> None:
    from app.video_sync import attach_video
    from tests.video_sim import RATE, room_copy, speech, write_session, write_video

    tmp = Path(tempfile.mkdtemp(prefix="bench-align-"))
    audio = speech(13 * 60, seed=5)
    rec = write_session(tmp / "s", audio, t0=5000.0)
    rng = np.random.default_rng(0)
    errs, times = [], []
    for i in range(n):
        start = float(rng.uniform(-600, 600))
        seconds = 180.0
        pre = speech(max(-start, 0) + 1, seed=900 + i)[: int(max(-start, 0) * RATE)]
        seg = audio[int(max(start, 0) * RATE) : int((start + seconds) * RATE)]
        y = room_copy(
            np.concatenate([pre, seg]), gain=float(rng.uniform(0.2, 2.0)), noise_db=-20, seed=i
        )
        v = write_video(tmp / f"e{i}.mp4", y, y.size / RATE, fps=5, bitrate=64000)
        t = time.perf_counter()
        got = attach_video(rec, v)
        times.append(time.perf_counter() - t)
        errs.append(got.offset_s - (5000.0 + start))
    e = 1e3 * np.abs(errs)
    print(f"alignment, {n} offsets in +-600 s, 3-min videos, AAC 64 kbit/s, -20 dB noise, gain 0.2-2, "
          f"reverb, 13-min session: |error| median {np.median(e):.1f} ms, max {e.max():.1f} ms "
          f"(1 frame = 33.3 ms); time per video median {np.median(times):.1f} s")  # fmt: skip
    refused = 0
    for i in range(max(n // 2, 2)):
        other = room_copy(speech(180, seed=5000 + i), gain=0.5, noise_db=-20, seed=i)
        v = write_video(tmp / f"w{i}.mp4", other, 180.0, fps=5)
        try:
            attach_video(rec, v)
        except ValueError:
            refused += 1
    print(f"wrong videos (another session's talk): refused {refused} of {max(n // 2, 2)}")


def bench_seek(path: str, seeks: int) -> None:
    from devices.video_file import FrameReader, video_probe

    info = video_probe(path)
    r = FrameReader(path, width=640)
    rng = np.random.default_rng(1)
    ts = rng.uniform(0, info.duration_s - 1, seeks)
    dt = []
    for t in ts:
        t0 = time.perf_counter()
        got = r.frame_at(float(t))
        dt.append(time.perf_counter() - t0)
        assert got is not None and abs(got[1] - t) <= 1 / info.fps + 1e-6
    dt = 1e3 * np.array(dt)
    t0 = time.perf_counter()
    n = 300
    start = float(ts[0])
    for k in range(n):
        r.frame_at(start + k / info.fps)
    play = n / (time.perf_counter() - t0)
    print(f"seek {Path(path).name} ({info.width}x{info.height}, {info.duration_s / 60:.0f} min, key frame "
          f"every 1 s): {seeks} random seeks median {np.median(dt):.0f} ms, p95 {np.percentile(dt, 95):.0f} ms, "
          f"max {dt.max():.0f} ms; playback decode {play:.0f} frames/s (needs 30)")  # fmt: skip


def make_long(out: str, minutes: int) -> None:
    """A 720p file like the capture writes (ultrafast, CRF 26, key frame a second): 5 minutes of
    testsrc2 encoded, then stream-copied end to end to ``minutes``."""
    import av

    tmp = Path(tempfile.mkdtemp()) / "five.mp4"
    from fractions import Fraction

    inp = av.open("testsrc2=size=1280x720:rate=30:duration=300", format="lavfi")
    with av.open(str(tmp), "w", format="mp4") as o:
        vs = o.add_stream(
            "libx264", rate=30, options={"preset": "ultrafast", "crf": "26", "g": "30"}
        )
        vs.width, vs.height, vs.pix_fmt = 1280, 720, "yuv420p"
        for i, f in enumerate(inp.decode(video=0)):
            f = f.reformat(format="yuv420p")
            f.pts, f.time_base = i, Fraction(1, 30)
            for p in vs.encode(f):
                o.mux(p)
        for p in vs.encode(None):
            o.mux(p)
    with av.open(out, "w", format="mp4") as o:
        with av.open(str(tmp)) as c0:
            os_ = o.add_stream_from_template(c0.streams.video[0])
        off = 0
        for _ in range(minutes // 5):
            with av.open(str(tmp)) as c:
                last = 0
                for p in c.demux(c.streams.video[0]):
                    if p.dts is None:
                        continue
                    p.pts += off
                    p.dts += off
                    last = max(last, p.pts + (p.duration or 0))
                    p.stream = os_
                    o.mux(p)
                off = last


def demo_session(folder: str, minutes: float) -> None:
    """A simulated coupled dyad with a virtual-camera video (testsrc2, 640x360, sound of the
    simulated room) attached: ``attune review FOLDER --screenshot docs/review_video.png``."""
    import av

    from app.video import store_video_offset
    from devices.xdf_reader import load_recording
    from dsp.simulate import DyadSimConfig, simulate_dyad
    from tests.video_sim import RATE, speech
    from tests.xdf_sim import write_simulated_xdf

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    dyad = simulate_dyad(DyadSimConfig(duration_s=minutes * 60, seed=3, coupling=0.8, lag_s=2.0))
    rec = out / "recording.xdf"
    marks = [(30.0, "L: clinician listening"), (150.0, "T: clinician talking"),
             (270.0, "L: clinician listening"), (400.0, "M: moment")]  # fmt: skip
    write_simulated_xdf(rec, dyad, t0=100.0, markers=marks)
    secs = int(minutes * 60)
    inp = av.open(f"testsrc2=size=640x360:rate=15:duration={secs}", format="lavfi")
    audio = speech(secs, seed=1)
    from fractions import Fraction

    with av.open(str(out / "camera.mp4"), "w", format="mp4") as o:
        vs = o.add_stream("libx264", rate=15, options={"preset": "ultrafast", "g": "15"})
        vs.width, vs.height, vs.pix_fmt = 640, 360, "yuv420p"
        aus = o.add_stream("aac", rate=RATE, layout="mono")
        per = RATE // 15
        for i, f in enumerate(inp.decode(video=0)):
            f = f.reformat(format="yuv420p")
            f.pts, f.time_base = i, Fraction(1, 15)
            for p in vs.encode(f):
                o.mux(p)
            chunk = np.ascontiguousarray(audio[i * per : (i + 1) * per].reshape(1, -1))
            if chunk.size:
                af = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
                af.sample_rate, af.pts, af.time_base = RATE, i * per, Fraction(1, RATE)
                for p in aus.encode(af):
                    o.mux(p)
        for st in (vs, aus):
            for p in st.encode(None):
                o.mux(p)
    start = load_recording(rec).start
    store_video_offset(rec, out / "camera.mp4", start + 20.0, "manual")
    print(f"demo session in {out}: attune review {out} --screenshot docs/review_video.png")


def _console_child(mode: str, seconds: float) -> None:
    """One console run (``none`` / ``preview`` / ``record``); prints one JSON line."""
    import json

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_gui

    from app.video import MediaChoice

    ticks: list[tuple[float, float]] = []
    pictures: dict[str, int] = {}

    def setup(controller):
        engine = controller.session.engine
        plain = engine.tick

        def timed():
            c0, w0 = time.thread_time(), time.perf_counter()
            snap = plain()
            ticks.append((time.thread_time() - c0, time.perf_counter() - w0))
            return snap

        engine.tick = timed  # the engine thread calls self.tick(): timed from now on
        live = controller.live
        if mode == "none":
            return None
        live.media = MediaChoice(CAMERA, MIC if mode == "record" else "")
        if mode == "record":
            live.start_recording(tempfile.mkdtemp(prefix="bench-console-"), "P", "C")
        serial0 = live.video.tap.serial

        def finish():
            pictures["n"] = live.video.tap.serial - serial0
            cap = live.capture
            if cap is not None:
                pictures["frames"] = cap.stats.frames_written
                pictures["dropped"] = cap.stats.frames_dropped
            live.stop_recording()

        return finish

    marks = bench_gui.measure(seconds, 30.0, setup)
    if marks is None:
        print(json.dumps({"error": "no session"}))
        return
    f = bench_gui.figures(marks)
    t = np.asarray(ticks) * 1000 if ticks else np.full((1, 2), np.nan)
    f.update(tick_cpu_med=float(np.median(t[:, 0])), tick_cpu_p95=float(np.percentile(t[:, 0], 95)),
             tick_wall_med=float(np.median(t[:, 1])), tick_wall_p95=float(np.percentile(t[:, 1], 95)),
             ticks=len(ticks), pictures_per_s=pictures.get("n", 0) / marks["wall"],
             frames=pictures.get("frames", 0), dropped=pictures.get("dropped", 0))  # fmt: skip
    print(json.dumps(f))


def bench_console(seconds: float, rounds: int = 1) -> None:
    import json
    import subprocess

    runs: dict[str, list[dict]] = {m: [] for m in ("none", "preview", "record")}
    for _ in range(rounds):  # the modes alternate, so each sees the machine's load alike
        for mode in runs:
            out = subprocess.run([sys.executable, __file__, "--console-child", mode, "--seconds",
                                  str(seconds)], capture_output=True, text=True)  # fmt: skip
            line = (out.stdout.strip().splitlines() or ["{}"])[-1]
            runs[mode].append(json.loads(line) if line.startswith("{") else
                              {"error": out.stderr[-300:]})  # fmt: skip
    rows = {}
    for mode, rs in runs.items():
        good = [r for r in rs if "error" not in r]
        rows[mode] = ({k: float(np.median([r[k] for r in good])) for k in good[0]} if good
                      else rs[0])  # fmt: skip
    print(f"median of {rounds} alternating run(s) per column")
    print(f"console with a camera, {seconds:g} s each (bench_gui.measure, 1280x800, 30 s window;"
          f" camera {CAMERA}):")  # fmt: skip
    keys = [("frame_med", "frame upd+paint median ms"), ("frame_p95", "frame upd+paint p95 ms"),
            ("interval_p95", "render interval p95 ms"), ("gui_cpu", "GUI thread CPU %"),
            ("proc_cpu", "whole process CPU %"), ("tick_cpu_med", "engine tick CPU median ms"),
            ("tick_cpu_p95", "engine tick CPU p95 ms"), ("tick_wall_med", "engine tick wall median ms"),
            ("tick_wall_p95", "engine tick wall p95 ms"), ("pictures_per_s", "pictures shown per s"),
            ("frames", "frames recorded"), ("dropped", "frames dropped")]  # fmt: skip
    print(f"  {'':32}{'no camera':>12}{'preview':>12}{'recording':>12}")
    for k, label in keys:
        vals = [rows[m].get(k, float("nan")) for m in ("none", "preview", "record")]
        print(f"  {label:32}" + "".join(f"{v:>12.2f}" for v in vals))
    for m, r in rows.items():
        if "error" in r:
            print(f"  {m}: {r['error']}")


def bench_tick_beside_capture(ticks: int) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_tick

    from devices.media_devices import parse_device
    from devices.video_capture import MediaCapture
    from devices.video_preview import PreviewTap

    def stats(res):
        a, w = np.asarray(res["cpu"]) * 1000, np.asarray(res["wall"]) * 1000
        return np.median(a), np.percentile(a, 95), np.median(w), np.percentile(w, 95)

    alone = stats(bench_tick.run(ROOT, 200, ticks, 1))
    tmp = Path(tempfile.mkdtemp(prefix="bench-video-tick-"))
    cap = MediaCapture(tmp / "t.mp4", parse_device(CAMERA), parse_device(MIC),
                       wait_consumers_s=0.0, preview=PreviewTap()).start()  # fmt: skip
    try:
        beside = stats(bench_tick.run(ROOT, 200, ticks, 1))
    finally:
        st = cap.stop()
    print(f"DSP tick (bench_tick.run, {ticks} ticks after 200), ms: cpu median / p95, "
          "wall median / p95")  # fmt: skip
    print("  alone                 " + "  ".join(f"{v:7.2f}" for v in alone))
    print("  beside 720p capture   " + "  ".join(f"{v:7.2f}" for v in beside)
          + f"   ({st.frames_written} frames, {st.frames_dropped} dropped)")  # fmt: skip


def bench_replay(recording: str, seconds: float) -> None:
    """Replay a recording made with a camera (in this process, as ``attune replay`` does) and
    follow its video as the console does: how late each picture is after its stamp."""
    from app.live_video import LiveVideo
    from devices.replay import Replay

    errors: list[str] = []
    video = LiveVideo(on_error=errors.append)
    with Replay(recording, loop=True):
        video.follow_replay(recording, resolve_s=20.0)
        time.sleep(seconds)
        follower = video.follower
        shown = np.asarray(list(follower.shown)) if follower is not None else np.empty((0, 4))
    video.stop()
    if errors or not len(shown):
        print(f"replay: no pictures ({'; '.join(errors) or 'no recorded video'})")
        return
    lag = (shown[1:, 3] - shown[1:, 0]) * 1000  # the first picture opens the decoder
    print(
        f"replay of {Path(recording).name} for {seconds:g} s: {len(shown)} pictures "
        f"({len(shown) / seconds:.1f}/s); picture ready after its frame's replayed stamp: "
        f"median {np.median(lag):.1f} ms, p95 {np.percentile(lag, 95):.1f} ms, "
        f"max {lag.max():.1f} ms (first picture {1000 * (shown[0, 3] - shown[0, 0]):.0f} ms)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--capture", type=float, metavar="S")
    ap.add_argument("--align", type=int, metavar="N")
    ap.add_argument("--seek", metavar="FILE")
    ap.add_argument("--seeks", type=int, default=200)
    ap.add_argument("--make-long", metavar="OUT")
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--demo-session", metavar="DIR", help="write a demo session with video")
    ap.add_argument("--console", type=float, metavar="S", help="console figures with a camera")
    ap.add_argument(
        "--console-child", choices=("none", "preview", "record"), help=argparse.SUPPRESS
    )
    ap.add_argument("--seconds", type=float, default=60.0, help=argparse.SUPPRESS)
    ap.add_argument("--replay", metavar="XDF", help="follow a replayed recording's video")
    ap.add_argument("--rounds", type=int, default=1, help="--console: alternating runs per mode")
    ap.add_argument("--tick", type=int, metavar="N", help="DSP tick alone and beside a capture")
    a = ap.parse_args()
    if a.console_child:
        _console_child(a.console_child, a.seconds)
        return
    if a.console:
        bench_console(a.console, a.rounds)
    if a.tick:
        bench_tick_beside_capture(a.tick)
    if a.replay:
        bench_replay(a.replay, a.seconds)
    if a.demo_session:
        demo_session(a.demo_session, min(a.minutes, 10))
    if a.make_long:
        make_long(a.make_long, a.minutes)
    if a.capture:
        bench_capture(a.capture)
    if a.align:
        bench_align(a.align)
    if a.seek:
        bench_seek(a.seek, a.seeks)


if __name__ == "__main__":
    main()
