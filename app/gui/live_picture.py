"""The console's small live picture: the chosen camera, or a replayed recording's video.

A QTimer polls :class:`app.live_video.LiveVideo` ``PICTURE_HZ`` times a second (twice the
rate pictures are made, so one waits at most 50 ms to be shown) and redraws only when a new
picture came (a small RGB array made in the capture's or the replay's own
thread, :mod:`devices.video_preview`): the window never waits on a camera or a decoder, and
the acquisition and DSP threads never wait on the window. Hidden while nothing feeds it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.live_video import LiveVideo

#: How often the window looks for a new picture (per s; a look without one costs nothing).
PICTURE_HZ = 20.0


class LivePicture(QWidget):
    """The picture (240 x 135 px) and a caption saying what it is and whether it is
    being recorded."""

    def __init__(self, video: LiveVideo, parent=None) -> None:
        super().__init__(parent)
        self.video = video
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.picture = QLabel("waiting for the camera…")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setFixedSize(240, 135)
        self.picture.setStyleSheet("background: #111; color: #ddd;")
        lay.addWidget(self.picture)
        self.caption = QLabel("")
        self.caption.setWordWrap(True)
        self.caption.setMaximumWidth(240)
        self.caption.setStyleSheet("color: gray;")
        lay.addWidget(self.caption)
        lay.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        self.shown_serial = 0
        #: Frame index and time of the picture on screen (tests).
        self.shown_index = -1
        self.shown_t = float("nan")
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / PICTURE_HZ))
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.setVisible(False)

    def refresh(self) -> None:
        """Show the newest picture if there is one (GUI thread; a small copy at most)."""
        active = self.video.active
        if active != self.isVisible():
            self.setVisible(active)
            if not active:
                self.picture.clear()
                self.picture.setText("waiting for the camera…")
                self.shown_serial = 0
        if not active:
            return
        self.caption.setText(self.video.describe())
        frame = self.video.frame()
        if frame is None or frame.serial == self.shown_serial:
            return
        h, w, _ = frame.picture.shape
        img = QImage(frame.picture.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        pix = QPixmap.fromImage(img)  # copies the pixels
        self.picture.setPixmap(pix.scaled(self.picture.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.FastTransformation))  # fmt: skip
        self.shown_serial, self.shown_index, self.shown_t = frame.serial, frame.index, frame.t
