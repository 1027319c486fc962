"""The console's "Remote patient…": relay, validity and clinic name in; an invite file out.

The dialog only collects values and calls :func:`app.remote.invite_and_receive`; the
:class:`RemoteStatus` label shows the link's health line once a second.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from app.remote import RemoteLink, invite_and_receive
from devices.remote.invite import InviteError


class RemotePatientDialog(QDialog):
    """Create an invite for a patient at another site and start receiving the session."""

    link_started = Signal(object)

    def __init__(self, relay: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Remote patient")
        self.link: RemoteLink | None = None
        lay = QVBoxLayout(self)
        intro = QLabel(
            "The patient runs 'attune share INVITE' on their laptop; their wearable's samples "
            "reach this console through the relay, encrypted (mutual TLS). Only those samples "
            "leave the patient's laptop."
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        form = QFormLayout()
        self.relay = QLineEdit(relay or "tls/relay.example.org:7447")
        self.hours = QDoubleSpinBox()
        self.hours.setRange(0.5, 72.0)
        self.hours.setValue(12.0)
        self.hours.setSuffix(" h")
        self.clinic = QLineEdit("the clinic")
        form.addRow("Relay", self.relay)
        form.addRow("Valid for", self.hours)
        form.addRow("Shown to the patient as", self.clinic)
        lay.addLayout(form)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        lay.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Create invite…")
        buttons.accepted.connect(self._ask_path)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)

    def _ask_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the invite", "patient.invite",
                                              "Attunement invite (*.invite)")  # fmt: skip
        if path:
            self.create(path)

    def create(self, path: str) -> bool:
        """Create the invite at ``path`` and start the link; a one-line message on failure."""
        try:
            self.link = invite_and_receive(
                self.relay.text().strip(), path, self.hours.value(), self.clinic.text().strip()
            )
        except InviteError as exc:
            self.message.setText(str(exc))
            return False
        self.link_started.emit(self.link)
        self.accept()
        return True


class RemoteStatus(QLabel):
    """The remote link's health line (RTT, clock offset ± uncertainty, samples), every second."""

    def __init__(self, link: RemoteLink, parent=None) -> None:
        super().__init__(parent)
        self.link = link
        self.setWordWrap(True)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def refresh(self) -> None:
        self.setText(
            f"Remote patient (invite {self.link.invite_path.name}): {self.link.status_line()}"
        )
