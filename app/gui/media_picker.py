"""The camera and microphone chooser of the Streams dialog (recorded with each session)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel

from app.video import MediaChoice
from devices.media_devices import MediaKind, VideoError, list_devices

NONE = "none"


class MediaPicker(QGroupBox):
    """Two editable lists (camera, microphone) of the devices found; ``none`` by default.

    A device not listed can be typed as ``FORMAT:DEVICE``. What is chosen is recorded with
    every session started afterwards (``recording.mp4``), never shown to anyone else.
    """

    def __init__(self, current: MediaChoice | None = None, parent=None) -> None:
        super().__init__("Camera and microphone recorded with the session", parent)
        lay = QFormLayout(self)
        try:
            found = list_devices()
        except (VideoError, ImportError) as exc:  # PyAV missing or broken
            found = []
            lay.addRow(QLabel(f"no video devices: {exc}"))
        self.video = self._combo([d for d in found if d.kind is MediaKind.VIDEO])
        self.audio = self._combo([d for d in found if d.kind is MediaKind.AUDIO])
        cur = current or MediaChoice()
        for combo, text in ((self.video, cur.video), (self.audio, cur.audio)):
            if text:
                combo.setCurrentText(text)
        lay.addRow("Camera", self.video)
        lay.addRow("Microphone", self.audio)
        note = QLabel("None unless chosen. The video stays on this computer (session folder, "
                      "owner-only); only frame times go into the recording.")  # fmt: skip
        note.setWordWrap(True)
        lay.addRow(note)

    @staticmethod
    def _combo(devices) -> QComboBox:
        c = QComboBox()
        c.setEditable(True)
        c.addItem(NONE, "")
        for d in devices:
            c.addItem(d.device.text, d.device.text)
            c.setItemData(c.count() - 1, d.label, 3)  # Qt.ToolTipRole
        c.setMinimumContentsLength(36)
        return c

    def choice(self) -> MediaChoice:
        """What is chosen (empty strings for none)."""

        def text(c: QComboBox) -> str:
            t = c.currentText().strip()
            return "" if t in ("", NONE) else t

        return MediaChoice(text(self.video), text(self.audio))
