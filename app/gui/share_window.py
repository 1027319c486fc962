"""The patient's window for ``attune share``: what is shared, with whom, and a Stop button.

A patient who is not technical sees, in large type, who receives their signals, which signals
(with the samples sent so far), whether the link is up, the last thing that happened (a pause, a
clock jump) and one button that stops sharing. Closing the window stops sharing too. The
terminal line of :func:`app.cli.remote.cmd_share` goes on beside it for a headless laptop.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.qtapp import make_app
from devices.remote.share import PatientShare

KINDS = {
    "eda": "skin conductance (EDA)",
    "gsr": "skin conductance (EDA)",
    "ppg": "pulse (PPG)",
    "ecg": "heart (ECG)",
    "rr": "heartbeat intervals",
    "ibi": "heartbeat intervals",
}


class ShareWindow(QWidget):
    """What :class:`PatientShare` sends, refreshed every second, with a Stop button.

    Parameters
    ----------
    share : PatientShare
        The running share.
    clinic : str
        The name the invite gives the clinic ("shared with ...").
    tick : callable, optional
        Called every second as well (the terminal line).
    """

    def __init__(self, share: PatientShare, clinic: str, tick=None, parent=None) -> None:
        super().__init__(parent)
        self.share = share
        self.clinic = clinic
        self.tick = tick
        self.setWindowTitle("Attunement - sharing with " + clinic)
        lay = QVBoxLayout(self)
        self.title = QLabel()
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.title.setFont(font)
        lay.addWidget(self.title)
        how = "unencrypted (local network only)" if share.invite.insecure else "encrypted"
        note = QLabel(
            f"Only the signals below leave this laptop, {how}, for {clinic}. No notes, "
            "sound, video or other programs' data are sent."
        )
        note.setWordWrap(True)
        lay.addWidget(note)
        self.table = QTableWidget(len(share.streams), 3)
        self.table.setHorizontalHeaderLabels(["Signal", "Kind", "Samples"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for k in (1, 2):
            header.setSectionResizeMode(k, QHeaderView.ResizeMode.ResizeToContents)
        for row, (desc, _) in enumerate(share.streams):
            self.table.setItem(row, 0, QTableWidgetItem(desc.name))
            self.table.setItem(row, 1, QTableWidgetItem(KINDS.get(desc.type.lower(), desc.type)))
            self.table.setItem(row, 2, QTableWidgetItem("0"))
        rows = sum(self.table.rowHeight(r) for r in range(len(share.streams)))
        self.table.setFixedHeight(self.table.horizontalHeader().sizeHint().height() + rows + 4)
        lay.addWidget(self.table)
        self.state = QLabel()
        self.state.setWordWrap(True)
        self.state.setFont(font)
        lay.addWidget(self.state)
        self.event = QLabel()
        self.event.setWordWrap(True)
        lay.addWidget(self.event)
        self.stop_button = QPushButton("Stop sharing")
        self.stop_button.setMinimumHeight(48)
        self.stop_button.setFont(font)
        self.stop_button.clicked.connect(self.close)
        lay.addWidget(self.stop_button)
        self.resize(560, 360)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def refresh(self) -> None:
        st = self.share.status
        stopped = bool(self.share.error) or not self.share.running
        if stopped:
            self.title.setText("Sharing has stopped")
        elif st.admitted:
            self.title.setText(f"Sharing with {self.clinic}")
        else:
            self.title.setText(f"Waiting for {self.clinic} to join")
        for row, (desc, _) in enumerate(self.share.streams):
            self.table.item(row, 2).setText(f"{st.samples.get(desc.name, 0):,}")
        if stopped:
            text, colour = (self.share.error or "stopped"), "#D55E00"
        elif not st.connected:
            text, colour = "The connection is down; trying again (nothing is lost)", "#D55E00"
        else:
            how = "NOT encrypted" if self.share.invite.insecure else "encrypted"
            if st.admitted:
                text, colour = f"Connected, {how}", "#009E73"
            else:
                text, colour = (
                    f"Connected to the relay, {how}; the clinic has not joined yet",
                    "#333333",
                )
            if self.share.invite.insecure:
                colour = "#D55E00"
        self.state.setText(text)
        self.state.setStyleSheet(f"color: {colour};")
        self.event.setText(st.events[-1] if st.events else "")
        self.stop_button.setText("Close" if stopped else "Stop sharing")
        if self.tick is not None:
            self.tick()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.timer.stop()
        self.share.stop()
        super().closeEvent(event)


def run_share_window(
    share: PatientShare,
    clinic: str,
    tick=None,
    duration: float | None = None,
    screenshot: str | None = None,
) -> None:
    """Show :class:`ShareWindow` until Stop, the window is closed, Ctrl-C/TERM or ``duration``."""
    app = make_app()
    window = ShareWindow(share, clinic, tick)
    window.show()

    def finish() -> None:
        if screenshot:
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(screenshot))
            print(f"screenshot saved: {screenshot}", flush=True)
        window.close()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: QTimer.singleShot(0, window.close))
    wake = QTimer(window)  # lets Python run its signal handlers while Qt waits
    wake.setInterval(200)
    wake.timeout.connect(lambda: None)
    wake.start()
    if duration is not None:
        QTimer.singleShot(int(duration * 1000), finish)
    elif screenshot:
        print("--screenshot needs --duration", file=sys.stderr)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    app.setQuitOnLastWindowClosed(True)
    app.exec()
