"""The console's "Remote patient…": an invite from the Streams dialog, the patient's stream in
the table, the link's health line in the window (real relay, TLS, LSL; Qt offscreen)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from app.engine import EngineConfig  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from app.gui.remote_dialog import RemoteStatus  # noqa: E402
from app.gui.session import SessionController  # noqa: E402
from app.gui.theme import ConsoleSettings  # noqa: E402
from devices.remote.invite import ClinicStore, Invite  # noqa: E402
from devices.remote.relay import relay_open  # noqa: E402
from devices.remote.share import PatientShare  # noqa: E402
from tests.test_remote import Patient  # noqa: E402

pytestmark = [pytest.mark.lsl, pytest.mark.qt_log_ignore("propagateSizeHints")]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_remote_patient_from_the_streams_dialog(qtbot, uid, tmp_path):
    port = _port()
    relay = relay_open(f"tls/127.0.0.1:{port}", ClinicStore())  # the console's own data folder
    patient = Patient(uid)
    controller = SessionController(
        EngineConfig(tick_s=0.5, metrics_source_id=f"metrics-{uid}"),
        marker_name=f"Markers-{uid}", marker_source_id=f"markers-{uid}",
    )  # fmt: skip
    w = MainWindow(controller, ConsoleSettings(session_dir=str(tmp_path)), persist=False)
    w.show()
    share = None
    try:
        streams = w.open_streams()
        dlg = streams.open_remote()
        dlg.relay.setText("tls/nonsense")
        assert not dlg.create(str(tmp_path / "bad.invite"))
        assert "PROTO/HOST:PORT" in dlg.message.text()
        dlg.relay.setText(f"tls/127.0.0.1:{port}")
        path = tmp_path / "patient.invite"
        assert dlg.create(str(path))
        assert path.stat().st_mode & 0o777 == 0o600
        share = PatientShare(Invite.read(path), [(patient.desc, patient.info)])
        share.start()
        labels = w.findChildren(RemoteStatus)
        assert len(labels) == 1
        # sessions recorded in this console hold the link's offsets (tested in test_remote)
        assert w.remote_links[0].receiver.clock_source_id in controller.live.also_record
        qtbot.waitUntil(lambda: "connected" in labels[0].text(), timeout=20_000)
        qtbot.waitUntil(
            lambda: sum(d.name == patient.name for d, _ in streams.found) >= 2, timeout=20_000
        )  # the patient's own outlet (same machine here) and its re-published twin
        qtbot.waitUntil(
            lambda: (
                "samples delivered" in labels[0].text() and "; 0 samples" not in labels[0].text()
            ),
            timeout=20_000,
        )
        shot = Path(os.environ.get("ATTUNE_SHOT_DIR", tmp_path)) / "remote.png"
        w.grab().save(str(shot))
        assert shot.stat().st_size > 0
    finally:
        if share is not None:
            share.stop()
        w.close()
        relay.close()
        patient.stop.set()
    assert not w.remote_links  # stopped with the window


def test_the_patient_sees_what_is_shared_with_whom_and_can_stop_it(qtbot, uid, tmp_path):
    """`attune share`'s window: the clinic's name, each shared signal with its samples sent, the
    link's state; Stop ends the share (real relay, TLS, LSL; Qt offscreen)."""
    from app.gui.share_window import ShareWindow
    from devices.remote.receive import ClinicReceiver

    port = _port()
    store = ClinicStore(tmp_path / "clinic")
    relay = relay_open(f"tls/127.0.0.1:{port}", store)
    patient = Patient(uid)
    inv = store.create(f"tls/127.0.0.1:{port}", hours=1, clinic="Dr Rivera's practice")
    rx = ClinicReceiver(store, inv.session_id)
    rx.start()
    share = PatientShare(inv, [(patient.desc, patient.info)])
    share.start()
    ticks = []
    w = ShareWindow(share, inv.clinic, tick=lambda: ticks.append(1))
    qtbot.addWidget(w)
    w.show()
    try:
        qtbot.waitUntil(
            lambda: w.title.text() == "Sharing with Dr Rivera's practice", timeout=20_000
        )
        qtbot.waitUntil(lambda: w.table.item(0, 2).text() not in ("0", ""), timeout=10_000)
        assert w.table.rowCount() == 1 and w.table.item(0, 0).text() == patient.name
        assert w.table.item(0, 1).text() == "skin conductance (EDA)"
        assert w.state.text() == "Connected, encrypted" and ticks
        shot = Path(os.environ.get("ATTUNE_SHOT_DIR", tmp_path)) / "share_window.png"
        w.grab().save(str(shot))
        assert shot.stat().st_size > 0
        qtbot.mouseClick(w.stop_button, Qt.MouseButton.LeftButton)
        assert not share.running and not w.isVisible()
    finally:
        share.stop()
        rx.stop()
        relay.close()
        patient.stop.set()
