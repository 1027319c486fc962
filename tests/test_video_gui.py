"""Session video in the windows (real Qt widgets offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("av")

from app.gui.dialogs import AssignmentDialog  # noqa: E402
from app.video import MediaChoice  # noqa: E402


def test_streams_dialog_offers_devices_and_no_camera_by_default(qtbot) -> None:
    dlg = AssignmentDialog(wait_s=0.1)
    qtbot.addWidget(dlg)
    assert dlg.media.choice() == MediaChoice()  # no camera unless chosen
    items = [dlg.media.video.itemText(i) for i in range(dlg.media.video.count())]
    assert items[0] == "none" and any(t.startswith("lavfi:testsrc") for t in items)
    dlg.media.video.setCurrentIndex(items.index(next(t for t in items if t.startswith("lavfi"))))
    dlg.media.audio.setCurrentText("alsa:default")
    got = dlg.media.choice()
    assert got.video.startswith("lavfi:testsrc") and got.audio == "alsa:default"
    again = AssignmentDialog(wait_s=0.1, media=got)
    qtbot.addWidget(again)
    assert again.media.choice() == got
