"""The session video beside the traces in the review window.

:func:`install_video` adds, when the session has a video (:func:`app.video.find_session_video`):

- a time cursor (a vertical line in every detail plot and the overview; drag it to scrub),
- the :class:`VideoPanel` above the side tabs: the frame at the cursor, Play/Pause, and
  "Set sync here".

Frames are decoded with PyAV in a worker thread (:class:`FrameWorker`, latest request wins),
so scrubbing never blocks the window. Playing moves the cursor in real time and pages the
detail plots along; clicking a marker, moving the overview or dragging the cursor seeks the
video. The frame shown is the one on screen at the cursor's time (within one frame).
"Set sync here": put the cursor on a moment in the traces (a marker, a clap seen in the
signals), move the video alone with the frame / 1 s buttons until it shows that moment, press
it: the video is re-aligned by hand, stored with the session, and the caption says so. The
video's own time and the sync method are shown under the picture.

Sound plays with the picture where FFmpeg's libraries have an audio output
(:class:`devices.audio_out.AudioPlayer`: ALSA on Linux), from the cursor's file time and
paced by the same clock as the cursor; every play and seek restarts it at the cursor. Where
there is none (no sound card, macOS, Windows) or the file has no sound, the status bar says
so once when Play is pressed, and the picture plays on.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.analysis.moments import session_moments
from app.formatting import fmt_mmss
from app.video import SessionVideo, find_session_video, store_video_offset
from devices.audio_out import AudioPlayer
from devices.media_devices import VideoError
from devices.video_file import FrameReader

#: Width frames are scaled to for display (px).
DISPLAY_WIDTH = 640


class FrameWorker(QObject):
    """Decodes the frame at a requested file time in its own thread (latest request wins)."""

    frameReady = Signal(object, float, float)  # noqa: N815 - picture, frame time, asked time
    failed = Signal(str)

    def __init__(self, path: Any) -> None:
        super().__init__()
        self._reader = FrameReader(path, width=DISPLAY_WIDTH)
        self.fps = self._reader.fps
        self._want: float | None = None
        self._cv = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="attune-video-frames", daemon=True)
        self._thread.start()

    def request(self, t_file: float) -> None:
        """Ask for the frame at file time ``t_file`` (s); an older pending request is dropped."""
        with self._cv:
            self._want = float(t_file)
            self._cv.notify()

    def close(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify()
        self._thread.join(2.0)
        self._reader.close()

    def _run(self) -> None:
        while True:
            with self._cv:
                while self._want is None and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                t, self._want = self._want, None
            try:
                got = self._reader.frame_at(max(t, 0.0))
            except Exception as exc:  # a damaged stretch: say so, keep the window alive
                self.failed.emit(f"video: {type(exc).__name__}: {exc}")
                continue
            if got is not None:
                self.frameReady.emit(got[0], got[1], t)


class VideoPanel(QWidget):
    """The picture, its caption and the controls (see the module docstring)."""

    def __init__(self, video: SessionVideo, parent=None) -> None:
        super().__init__(parent)
        self.video = video
        self.worker = FrameWorker(video.path)
        self.worker.frameReady.connect(self._show)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.picture = QLabel("loading video…")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumSize(320, 180)
        self.picture.setStyleSheet("background: #111; color: #ddd;")
        lay.addWidget(self.picture, 1)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        lay.addWidget(self.caption)
        row = QHBoxLayout()
        self.play_button = QPushButton("▶ Play")
        self.play_button.setToolTip("Play the video from the cursor; the cursor follows (Space)")
        self.sync_button = QPushButton("Set sync here")
        self.sync_button.setToolTip(
            "Seek the video to a clap (or a marked moment), put the cursor on the same moment "
            "in the traces, then press: the video is aligned by hand at this point"
        )
        # move the video alone (not the cursor), to line a clap up with the traces
        self.nudges = {"◀ 1 s": -1.0, "◀ frame": -1.0 / 30, "frame ▶": 1.0 / 30, "1 s ▶": 1.0}
        self.nudge_buttons = {}
        row.addWidget(self.play_button)
        for text in self.nudges:
            b = QPushButton(text)
            b.setToolTip("Move the video alone, not the cursor (then 'Set sync here')")
            row.addWidget(b)
            self.nudge_buttons[text] = b
        row.addWidget(self.sync_button)
        lay.addLayout(row)
        self.shown_file_t = float("nan")
        self.asked_file_t = float("nan")
        self.last_picture: np.ndarray | None = None
        self.session_text = ""  # the cursor's time, m:ss since the session start

    def _show(self, img: np.ndarray, t_frame: float, t_asked: float) -> None:
        img = np.ascontiguousarray(img)  # PyAV pads rows
        h, w, _ = img.shape
        q = QImage(img.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        pix = QPixmap.fromImage(q)
        size = self.picture.size()
        self.picture.setPixmap(pix.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))  # fmt: skip
        self.shown_file_t, self.asked_file_t = t_frame, t_asked
        self.last_picture = img
        how = {"recorded": "recorded with the session (frame times from the recording)",
               "audio": f"aligned by sound (peak {self.video.confidence:.0f} SD)",
               "manual": "synced by hand"}.get(self.video.how, self.video.how)  # fmt: skip
        self.caption.setText(f"video {fmt_mmss(t_frame)}.{int(t_frame * 1000) % 1000:03d} at "
                             f"session {self.session_text} · {how}")  # fmt: skip


class VideoController(QObject):
    """Links a review window's cursor, markers and overview with a :class:`VideoPanel`."""

    soundFailed = Signal(str)  # noqa: N815 - from the sound thread

    def __init__(self, window: Any, video: SessionVideo) -> None:
        super().__init__(window)
        self.w = window
        self.video = video
        self.panel = VideoPanel(video)
        self.soundFailed.connect(lambda msg: window.statusBar().showMessage(
            f"{msg}; the picture plays on without sound", 10000))  # fmt: skip
        try:
            self.sound: AudioPlayer | None = AudioPlayer(video.path, on_error=self.soundFailed.emit)
            self.sound_note = ""
        except VideoError as exc:
            self.sound, self.sound_note = None, f"sound not played: {exc}"
        self.cursor_t = 0.0  # s since the session start
        self._play_wall: float | None = None
        self._play_from = 0.0
        self._moving = False
        pen = pg.mkPen("#cc0000", width=2)
        self.lines = []
        for p in (window.p_eda, window.p_hr, window.p_ci, window.p_ov):
            line = pg.InfiniteLine(pos=0.0, angle=90, movable=True, pen=pen)
            line.setZValue(20)
            line.setToolTip("Video cursor: drag to scrub")
            p.addItem(line)
            line.sigPositionChanged.connect(self._line_dragged)
            self.lines.append(line)
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / min(max(self.panel.worker.fps, 10.0), 30.0)))
        self.timer.timeout.connect(self._tick)
        self.panel.play_button.clicked.connect(self.toggle_play)
        self.panel.sync_button.clicked.connect(self.set_sync_here)
        self.nudge_s = 0.0  # the video moved alone by the nudge buttons (s)
        fps = self.panel.worker.fps
        for text, b in self.panel.nudge_buttons.items():
            step = self.panel.nudges[text]
            step = np.sign(step) / fps if abs(step) < 0.5 else step
            b.clicked.connect(lambda _=False, d=step: self.nudge(d))
        window.markers.itemClicked.connect(self._marker_clicked)
        window.region.sigRegionChangeFinished.connect(self._overview_moved)
        start = max(self.video.to_session(0.0) - window.t0, 0.0)
        self.set_cursor(start)

    # ------------------------------------------------------------------ time
    def file_time(self, t_rel: float) -> float:
        """Video file time (s) at ``t_rel`` s since the session start."""
        return self.video.to_file(self.w.t0 + t_rel) + self.nudge_s

    def nudge(self, d: float) -> None:
        """Move the video alone by ``d`` s (the cursor stays): to find a clap's frame."""
        self.nudge_s += d
        self.panel.worker.request(self.file_time(self.cursor_t))

    def set_cursor(self, t_rel: float, follow: bool = True) -> None:
        """Put the cursor at ``t_rel`` (s since the session start) and show that frame."""
        t_rel = float(min(max(t_rel, 0.0), self.w.duration))
        self.cursor_t = t_rel
        self._moving = True
        for line in self.lines:
            line.setValue(t_rel)
        self._moving = False
        a0, a1 = self.w.zoom_range()
        if follow and not a0 <= t_rel <= a1:
            w = a1 - a0
            self.w.set_zoom(t_rel - 0.1 * w, t_rel + 0.9 * w)
        self.panel.session_text = fmt_mmss(t_rel)
        self.panel.worker.request(self.file_time(t_rel))

    def seek(self, t_rel: float, follow: bool = True) -> None:
        """Move the cursor (a drag, a marker, a moment); while playing, play on from there
        (picture, cursor and sound restart together at ``t_rel``)."""
        self.set_cursor(t_rel, follow=follow)
        if self._play_wall is not None:
            self._play_from = self.cursor_t
            self._play_wall = self._start_sound()

    def _start_sound(self) -> float:
        """Start the sound at the cursor; returns the wall time (monotonic) it starts at."""
        if self.sound is None or self.sound.error:
            return time.monotonic()
        self.sound.start(self.file_time(self.cursor_t))
        return self.sound.wall0

    def _line_dragged(self, line: Any) -> None:
        if not self._moving:
            self.seek(float(line.value()), follow=False)

    def _marker_clicked(self, item: Any) -> None:
        t = item.data(Qt.ItemDataRole.UserRole)
        if t is not None:
            self.seek(float(t))

    def _overview_moved(self) -> None:
        a0, a1 = self.w.zoom_range()
        if self._play_wall is None and not a0 <= self.cursor_t <= a1:
            self.set_cursor((a0 + a1) / 2, follow=False)

    # ------------------------------------------------------------------ playback
    def toggle_play(self) -> None:
        if self._play_wall is None:
            self._play_from = self.cursor_t
            self._play_wall = self._start_sound()
            self.timer.start()
            self.panel.play_button.setText("❚❚ Pause")
            if self.sound_note:  # said once: the picture plays without sound
                self.w.statusBar().showMessage(self.sound_note, 10000)
                self.sound_note = ""
        else:
            self.timer.stop()
            self._play_wall = None
            if self.sound is not None:
                self.sound.stop()
            self.panel.play_button.setText("▶ Play")

    @property
    def playing(self) -> bool:
        return self._play_wall is not None

    def _tick(self) -> None:
        if self._play_wall is None:
            return
        t = self._play_from + (time.monotonic() - self._play_wall)
        if t >= self.w.duration:
            self.toggle_play()
            return
        a0, a1 = self.w.zoom_range()
        if t > a1:  # page the detail plots along
            self.w.set_zoom(t, t + (a1 - a0))
        self.set_cursor(t, follow=False)

    # ------------------------------------------------------------------ sync
    def set_sync_here(self) -> None:
        """Align by hand: the frame on screen is at the cursor's session time."""
        f = self.panel.shown_file_t
        if not np.isfinite(f):
            self.w.statusBar().showMessage("no frame shown yet: nothing to sync", 5000)
            return
        offset = self.w.t0 + self.cursor_t - f
        try:
            stored = store_video_offset(self.w.a.path, self.video.path, offset, "manual")
        except Exception as exc:  # unwritable folder: the sync still applies in this window
            self.w.statusBar().showMessage(f"sync set, but not saved: {exc}", 8000)
            stored = None
        self.video = self.video.with_offset(offset, "manual")
        self.panel.video = self.video
        self.nudge_s = 0.0
        if stored is not None:
            self.w.statusBar().showMessage(
                f"video synced by hand: video {f:.3f} s = session {fmt_mmss(self.cursor_t)} "
                f"(saved in {stored.name})", 8000)  # fmt: skip
        self.set_cursor(self.cursor_t, follow=False)

    def close(self) -> None:
        self.timer.stop()
        if self.sound is not None:
            self.sound.stop()
        self.panel.worker.close()


class Thumbnails(QObject):
    """Decodes one small picture per moment in a worker thread."""

    ready = Signal(int, object)

    def __init__(self, path: Any, file_times: list[float]) -> None:
        super().__init__()
        self._path, self._times = path, file_times
        self._thread = threading.Thread(target=self._run, name="attune-video-thumbs", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            reader = FrameReader(self._path, width=160)
        except VideoError:
            return
        try:
            for i, t in enumerate(self._times):
                got = reader.frame_at(max(t, 0.0))
                if got is not None:
                    self.ready.emit(i, np.ascontiguousarray(got[0]))
        except Exception:  # a thumbnail is decoration: the list works without it
            return
        finally:
            reader.close()


def _moments_tab(window: Any, ctl: VideoController) -> QListWidget:
    """The Moments tab: thumbnail, time and caption per moment; a click plays from it."""
    moments = session_moments(window.a, top=3)
    lst = QListWidget()
    lst.setIconSize(QSize(120, 68))
    lst.setWordWrap(True)
    for m in moments:
        rel = m.t0 - window.t0
        item = QListWidgetItem(f"{fmt_mmss(rel)}  {m.kind.value}" + (f" ({m.signal})" if m.signal
                               else "") + f"\n{m.caption}")  # fmt: skip
        item.setData(Qt.ItemDataRole.UserRole, float(rel))
        item.setToolTip(m.caption)
        lst.addItem(item)
    if not moments:
        lst.addItem("No moments: no marked moments, blocks, or stretches above or below chance.")

    def clicked(item: QListWidgetItem) -> None:
        t = item.data(Qt.ItemDataRole.UserRole)
        if t is None:
            return
        ctl.seek(max(float(t) - 2.0, 0.0))  # a little before, then play
        if not ctl.playing:
            ctl.toggle_play()

    lst.itemClicked.connect(clicked)

    def thumb(i: int, img: np.ndarray) -> None:
        h, w, _ = img.shape
        q = QImage(img.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        lst.item(i).setIcon(QIcon(QPixmap.fromImage(q)))

    times = [ctl.video.to_file(m.t0) for m in moments]
    ctl.thumbs = Thumbnails(ctl.video.path, times)
    ctl.thumbs.ready.connect(thumb)
    window.tabs.insertTab(0, lst, f"Moments ({len(moments)})")
    return lst


def install_video(window: Any) -> VideoController | None:
    """Add the session's video to a review window (None when it has none or it is unreadable;
    an unreadable video is reported in the status bar)."""
    try:
        video = find_session_video(window.a.path)
    except (VideoError, OSError, ValueError) as exc:
        window.statusBar().showMessage(f"video not shown: {exc}", 10000)
        return None
    if video is None:
        return None
    try:
        ctl = VideoController(window, video)
    except VideoError as exc:
        window.statusBar().showMessage(f"video not shown: {exc}", 10000)
        return None
    ctl.panel.worker.failed.connect(lambda msg: window.statusBar().showMessage(msg, 8000))
    tabs = window.tabs
    outer = tabs.parentWidget()
    if isinstance(outer, QSplitter):
        idx = outer.indexOf(tabs)
        side = QSplitter(Qt.Orientation.Vertical)
        outer.replaceWidget(idx, side)  # the window's splitter owns it; ctl keeps it too
        ctl.side = side
        side.addWidget(ctl.panel)
        side.addWidget(tabs)
        side.setSizes([330, 470])
    ctl.moments = _moments_tab(window, ctl)
    window.tabs.setCurrentWidget(ctl.moments)
    return ctl
