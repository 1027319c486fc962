"""Dialogs of the console: stream assignment and the threshold ritual (baseline)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.baseline import Baseline
from app.gui.media_picker import MediaPicker
from app.gui.theme import DYAD_COLOUR, ROLE_NAMES, THEMES, Theme
from app.live import discover
from app.meter_state import DASH, finite, fmt
from app.people import people_model
from app.sources import SourceChoice, SourceKind
from app.video import MediaChoice
from devices.assign import (
    MODALITIES,
    ROLES,
    Assignment,
    AssignmentProblem,
    Channel,
    MapError,
    ProblemKind,
    assign,
    dump_map,
    explain,
    load_map,
    missing_problems,
)
from devices.lsl import StreamDescription

COLUMNS = ("Name", "Type", "source_id", "Host", "Rate", "Channels", "Role", "Signal", "Channel")
NONE = "—"


class AssignmentDialog(QDialog):
    """Lists visible LSL streams; assign role, signal and channel; save/load a TOML map.

    It also offers two sources: a simulated dyad and the replay of an XDF recording. When
    accepted, :attr:`choice` says what to start.

    For a group (``people``: 3-8 role names, or two not named patient and clinician) the
    role column offers those people, every person needs EDA and a cardiac signal, the table
    starts from the session's ``current`` assignment (the signals connected so far) with the
    session's ``roles`` globs or map file filling the rest, and the accepted choice is a
    group's (its people and ``pairs``); the dyad's sources (simulated dyad, replay, remote
    patient) are not offered.
    """

    discovered = Signal(object)
    remote_link_started = Signal(object)

    def __init__(
        self,
        map_file: str = "",
        wait_s: float = 2.0,
        parent=None,
        media: MediaChoice | None = None,
        people: Sequence[str] = ROLES,
        roles: dict[str, str] | None = None,
        current: Assignment | None = None,
        pairs: tuple[str, ...] = (),
    ) -> None:
        super().__init__(parent)
        self.people = tuple(people)
        self.group = self.people != ROLES
        self._roles = roles or None
        self._current = current
        self._pairs = tuple(pairs)
        who = ", ".join(self.people)
        self.setWindowTitle(f"Streams – {who}" if self.group else "Streams")
        self.resize(1000, 440 + 60 * max(0, len(self.people) - 2))  # two rows a person
        self.map_file = map_file
        self.wait_s = wait_s
        self.choice: SourceChoice | None = None
        self.found: list[tuple[StreamDescription, object]] = []
        self._mapping = None
        self._thread: threading.Thread | None = None
        lay = QVBoxLayout(self)
        intro = QLabel(
            "Streams visible on this machine's network. Give each biosignal a role and a "
            + (
                f"signal; each of the {len(self.people)} people ({who}) needs EDA and PPG (or ECG)."
                if self.group
                else "signal; patient and clinician each need EDA and PPG (or ECG)."
            )
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        lay.addWidget(self.table, 1)
        self.problems = QLabel("")
        self.problems.setWordWrap(True)
        self.problems.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.problems)
        row = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        load = QPushButton("Load map…")
        load.clicked.connect(self._ask_load)
        save = QPushButton("Save map…")
        save.clicked.connect(self._ask_save)
        sim = QPushButton("Simulated dyad")
        sim.setToolTip("Start a simulated patient and clinician (EDA + PPG each) and use them")
        sim.clicked.connect(self.choose_simulated)
        rep = QPushButton("Replay a recording…")
        rep.setToolTip("Publish an XDF recording's streams live (looped) and use them")
        rep.clicked.connect(self._ask_replay)
        remote = QPushButton("Remote patient…")
        remote.setToolTip("Invite a patient at another site (telehealth) to share their wearable")
        remote.clicked.connect(self.open_remote)
        for b in (self.refresh_button, load, save, sim, rep, remote):
            row.addWidget(b)
            b.setVisible(not self.group or b in (self.refresh_button, load, save))
        row.addStretch(1)
        lay.addLayout(row)
        self.media = MediaPicker(media)
        lay.addWidget(self.media)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Use these streams")
        self.buttons.accepted.connect(self.use_table)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.discovered.connect(self._fill)
        self.auto_refresh = QTimer(self)
        self.auto_refresh.setInterval(3000)
        self.auto_refresh.timeout.connect(self.refresh)
        self._filled_once = False
        if map_file:
            try:
                self._mapping = load_map(map_file)
            except MapError as exc:
                self.problems.setText(str(exc))

    # -- discovery (worker thread) --------------------------------------------------------
    def refresh(self) -> None:
        """Look for streams in a worker thread; the table fills when it answers."""
        if self._thread is not None and self._thread.is_alive():
            return
        self.refresh_button.setEnabled(False)
        if not self._filled_once:
            self.problems.setText("looking for streams…")
        if not self.auto_refresh.isActive():
            self.auto_refresh.start()
        self._thread = threading.Thread(target=self._discover, name="attune-discover", daemon=True)
        self._thread.start()

    def _discover(self) -> None:
        try:
            found = discover(self.wait_s)
        except Exception as exc:  # reported in the dialog
            found = exc
        self.discovered.emit(found)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Join the discovery thread (used when closing)."""
        if self._thread is not None:
            self._thread.join(timeout)

    def done(self, result: int) -> None:  # noqa: D102 (Qt API)
        # no join: a discovery in flight ends by itself within its wait (the GUI never waits)
        self.auto_refresh.stop()
        super().done(result)

    def _fill(self, found) -> None:
        self.refresh_button.setEnabled(True)
        if not self.isVisible():
            return  # closed meanwhile
        if isinstance(found, Exception):
            self.problems.setText(f"could not look for streams: {found}")
            return
        found = sorted(found, key=lambda f: (f[0].name, f[0].type))
        if self._filled_once and [d.uid for d, _ in found] == [d.uid for d, _ in self.found]:
            return  # nothing appeared or vanished: keep the user's choices untouched
        keep = self.current_assignment() if self._filled_once else None
        self.found = found
        self.table.setRowCount(len(self.found))
        for r, (d, _) in enumerate(self.found):
            rate = f"{d.nominal_srate:g} Hz" if d.nominal_srate > 0 else "irregular"
            cells = (d.name, d.type, d.source_id or "-", d.hostname, rate, str(d.channel_count))
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(r, c, item)
            role = QComboBox()
            role.addItems([NONE, *self.people])
            sig = QComboBox()
            sig.addItems([NONE, *MODALITIES])
            chan = QComboBox()
            labels = [
                (d.labels[i] if i < len(d.labels) and d.labels[i] else f"ch{i}")
                for i in range(d.channel_count)
            ]
            chan.addItems(labels)
            usable = d.is_numeric
            for w in (role, sig, chan):
                w.setEnabled(bool(usable))
                w.currentIndexChanged.connect(self._update_problems)
            self.table.setCellWidget(r, 6, role)
            self.table.setCellWidget(r, 7, sig)
            self.table.setCellWidget(r, 8, chan)
        if keep is not None:  # streams came or went: keep what the user set for the others
            self.apply_assignment(keep)
        else:
            self.apply_assignment(self._initial())
        self._filled_once = True

    def _initial(self) -> Assignment:
        """The table's first assignment: the session's signals connected so far, the rest
        from its ``--role`` globs or map (or the role words in the stream names)."""
        descs = [d for d, _ in self.found]
        guessed = assign(descs, roles=self._roles, mapping=self._mapping)
        if self._current is None:
            return guessed
        chans = [c for c in self._current.channels if c.role in self.people]
        have = {(c.role, "eda" if c.modality == "eda" else "cardiac") for c in chans}
        for c in guessed.channels:
            kind = "eda" if c.modality == "eda" else "cardiac"
            if c.role in self.people and (c.role, kind) not in have:
                chans.append(c)
                have.add((c.role, kind))
        return Assignment(tuple(chans), people=self.people)

    # -- table <-> assignment ---------------------------------------------------------------
    def apply_assignment(self, result: Assignment) -> None:
        """Set the combos from an assignment (clears rows it does not mention)."""
        for r in range(self.table.rowCount()):
            for c in (6, 7):
                self.table.cellWidget(r, c).setCurrentIndex(0)
        for ch in result.channels:
            r = self._row_of(ch.stream)
            if r is None:
                continue
            self.table.cellWidget(r, 6).setCurrentText(ch.role)
            self.table.cellWidget(r, 7).setCurrentText(ch.modality)
            self.table.cellWidget(r, 8).setCurrentIndex(ch.channel)
        self._update_problems(extra=result.problems)

    def _row_of(self, s: StreamDescription) -> int | None:
        for r, (d, _) in enumerate(self.found):
            if (d.uid and d.uid == s.uid) or (d.name, d.source_id, d.type) == (
                s.name,
                s.source_id,
                s.type,
            ):
                return r
        return None

    def set_row(self, name: str, role: str, modality: str, channel: int = 0) -> None:
        """Assign the stream called ``name`` (keyboard-free path used by tests and scripts)."""
        for r, (d, _) in enumerate(self.found):
            if d.name == name:
                self.table.cellWidget(r, 6).setCurrentText(role)
                self.table.cellWidget(r, 7).setCurrentText(modality)
                self.table.cellWidget(r, 8).setCurrentIndex(channel)
                return
        raise KeyError(f"no stream named {name!r} in the list")

    def current_assignment(self) -> Assignment:
        """The assignment the table shows now (problems say what is missing or doubled)."""
        chans: list[Channel] = []
        problems: list[AssignmentProblem] = []
        for r, (d, _) in enumerate(self.found):
            role = self.table.cellWidget(r, 6).currentText()
            mod = self.table.cellWidget(r, 7).currentText()
            if role == NONE or mod == NONE:
                continue
            if any(c.role == role and c.modality == mod for c in chans):
                problems.append(AssignmentProblem(ProblemKind.TWICE, role, mod, "assigned twice"))
                continue
            chan = self.table.cellWidget(r, 8).currentIndex()
            chans.append(Channel(role, mod, d, max(chan, 0), "assigned in the Streams dialog"))
        problems.extend(missing_problems(chans, (), self.people))
        return Assignment(tuple(chans), tuple(problems), people=self.people)

    def _update_problems(self, *_args, extra: tuple[AssignmentProblem, ...] = ()) -> None:
        a = self.current_assignment()
        probs = list(dict.fromkeys([*extra, *a.problems])) if extra else list(a.problems)
        if not self.found:
            self.problems.setText("no LSL streams visible; start the devices or pick a source")
        elif probs:
            self.problems.setText("Not complete: " + " | ".join(str(p) for p in probs))
        else:
            everyone = "every person has" if self.group else "both people have"
            self.problems.setText(f"Complete: {everyone} EDA and a cardiac signal.")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not a.problems)

    # -- map files ------------------------------------------------------------------------
    def load_map_file(self, path: str) -> Assignment:
        """Apply a TOML map to the listed streams; problems (missing streams) are shown."""
        mapping = load_map(path)
        self._mapping = mapping
        self.map_file = str(path)
        result = assign([d for d, _ in self.found], mapping=mapping)
        self.apply_assignment(result)
        if result.problems:
            self.problems.setText(
                f"Map {Path(path).name}: {explain(result, [d for d, _ in self.found])}"
            )
        return result

    def save_map_file(self, path: str) -> None:
        """Write the table's assignment as a TOML map."""
        Path(path).write_text(dump_map(self.current_assignment()), encoding="utf-8")
        self.map_file = str(path)

    def _ask_load(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load stream map", self.map_file, "*.toml")
        if path:
            try:
                self.load_map_file(path)
            except MapError as exc:
                self.problems.setText(str(exc))

    def _ask_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save stream map", self.map_file or "streams.toml", "*.toml"
        )
        if path:
            try:
                self.save_map_file(path)
            except OSError as exc:
                self.problems.setText(f"could not save {path}: {exc.strerror}")

    # -- choices --------------------------------------------------------------------------
    def use_table(self) -> None:
        a = self.current_assignment()
        if a.problems:
            self._update_problems()
            return
        self.choice = SourceChoice(
            kind=SourceKind.LSL,
            assignment=a,
            found=tuple(self.found),
            description="assigned streams",
            people=self.people if self.group else (),
            pairs=self._pairs if self.group else (),
        )
        self.accept()

    def choose_simulated(self) -> None:
        self.choice = SourceChoice(kind=SourceKind.SIMULATED, description="simulated dyad")
        self.accept()

    def choose_replay(self, path: str) -> None:
        self.choice = SourceChoice(
            kind=SourceKind.REPLAY,
            replay_path=str(path),
            description=f"replay of {Path(path).name}",
        )
        self.accept()

    def open_remote(self):
        """The "Remote patient…" dialog; its link is passed on by :attr:`remote_link_started`."""
        from app.gui.remote_dialog import RemotePatientDialog

        dlg = RemotePatientDialog(parent=self)
        dlg.link_started.connect(self.remote_link_started.emit)
        dlg.link_started.connect(lambda _link: self.refresh())
        dlg.open()
        return dlg

    def _ask_replay(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Replay a recording", "", "XDF (*.xdf *.xdfz)")
        if path:
            self.choose_replay(path)


# ----------------------------------------------------------------------------- the ritual


class Pacer(QWidget):
    """A breathing pacer: a bar that rises on the in-breath and falls on the out-breath."""

    def __init__(self, breaths_per_min: float = 6.0, parent=None) -> None:
        super().__init__(parent)
        self.period_s = 60.0 / breaths_per_min
        self.phase = 0.0
        self.theme: Theme = THEMES["light"]
        self.setMinimumSize(160, 200)

    def set_rate(self, breaths_per_min: float) -> None:
        self.period_s = 60.0 / breaths_per_min

    def set_time(self, t: float) -> None:
        self.phase = (t % self.period_s) / self.period_s
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        w, h = self.width(), self.height()
        level = 0.5 - 0.5 * np.cos(2 * np.pi * self.phase)  # 0 -> 1 -> 0, smooth
        p.fillRect(self.rect(), QColor(self.theme.panel))
        bar = QRectF(w * 0.3, 10, w * 0.4, h - 40)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(self.theme.background))
        p.drawRoundedRect(bar, 8, 8)
        fill_h = bar.height() * level
        p.setBrush(QColor(DYAD_COLOUR))
        p.drawRoundedRect(QRectF(bar.left(), bar.bottom() - fill_h, bar.width(), fill_h), 8, 8)
        p.setPen(QColor(self.theme.text))
        word = "breathe in" if self.phase < 0.5 else "breathe out"
        p.drawText(QRectF(0, h - 26, w, 24), Qt.AlignmentFlag.AlignHCenter, word)
        p.end()


def _name(role: str) -> str:
    """A role's name as a label begins ('Patient', 'Partner')."""
    return ROLE_NAMES.get(role, role.capitalize())


class BaselineDialog(QDialog):
    """The threshold ritual: three breaths, then a settling baseline (default 60 s).

    The dialog is non-modal and only shows the ritual: it passes every engine snapshot
    (:meth:`on_snapshot`) to a :class:`app.baseline.Baseline`, which decides the numbers, and
    at the end emits ``finished_baseline`` with that model's result
    (``{role: {metric: median of the valid values}}``).
    """

    finished_baseline = Signal(object)

    def __init__(
        self,
        duration_s: float = 60.0,
        theme: Theme | None = None,
        parent=None,
        people: Sequence[str] = ROLES,
    ):
        super().__init__(parent)
        self.setWindowTitle("Threshold: settling baseline")
        self.duration_s = float(duration_s)
        self.theme = theme or THEMES["light"]
        self.people = tuple(people)
        self.model = Baseline(self.duration_s, people=self.people)
        self.result: dict[str, dict[str, float]] | None = None
        lay = QVBoxLayout(self)
        who = "both" if len(self.people) == 2 else "all"
        self.prompt = QLabel(
            f"Before we begin: let's {who} take three slow breaths, and let the room settle."
        )
        self.prompt.setWordWrap(True)
        f = QFont(self.prompt.font())
        f.setPointSizeF(f.pointSizeF() * 1.5)
        self.prompt.setFont(f)
        lay.addWidget(self.prompt)
        mid = QHBoxLayout()
        self.pacer = Pacer()
        self.pacer.theme = self.theme
        self.pacer.setVisible(False)
        mid.addWidget(self.pacer)
        info = QVBoxLayout()
        colours = {p.role: p.colour for p in people_model(self.people).persons}
        size = 15 if len(self.people) <= 4 else 12
        self.coherence = {r: QLabel(f"{_name(r)} coherence ratio {DASH}") for r in self.people}
        for r, lab in self.coherence.items():
            lab.setStyleSheet(f"color: {colours[r]}; font-size: {size}pt;")
            lab.setToolTip("HeartMath-style coherence ratio over the last 64 s")
            info.addWidget(lab)
        self.countdown = QLabel("")
        cf = QFont(self.countdown.font())
        cf.setPointSizeF(cf.pointSizeF() * 1.8)
        cf.setBold(True)
        self.countdown.setFont(cf)
        info.addWidget(self.countdown)
        info.addStretch(1)
        mid.addLayout(info, 1)
        lay.addLayout(mid, 1)
        pacer_row = QHBoxLayout()
        self.pacer_box = QCheckBox("Breathing pacer")
        self.pacer_box.toggled.connect(self.pacer.setVisible)
        self.pacer_rate = QComboBox()
        self.pacer_rate.addItems(["6 breaths/min (5 s in, 5 s out)", "5.5 breaths/min"])
        self.pacer_rate.currentIndexChanged.connect(
            lambda i: self.pacer.set_rate(6.0 if i == 0 else 5.5)
        )
        pacer_row.addWidget(self.pacer_box)
        pacer_row.addWidget(self.pacer_rate)
        pacer_row.addStretch(1)
        lay.addLayout(pacer_row)
        row = QHBoxLayout()
        self.start_button = QPushButton("Start baseline")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.begin)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        row.addStretch(1)
        row.addWidget(self.start_button)
        row.addWidget(cancel)
        lay.addLayout(row)
        self.timer = QTimer(self)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._tick)
        self.resize(620, 380)

    def begin(self) -> None:
        """Start the three-breath prompt and the baseline clock."""
        self.model.begin(time.monotonic())
        self.start_button.setEnabled(False)
        self.timer.start()
        self._tick()

    def _tick(self) -> None:
        now = time.monotonic()
        if self.model.started_at is None:
            return
        el = self.model.elapsed(now)
        self.pacer.set_time(el)
        left = self.model.remaining(now)
        breaths_s = min(30.0, self.duration_s / 2)  # three slow breaths at ~6/min
        if el < breaths_s:
            n = min(int(el / (breaths_s / 3)) + 1, 3)
            self.prompt.setText(f"Three slow breaths together… breath {n} of 3.")
        else:
            self.prompt.setText("Settle. Nothing to do; the baseline is being taken.")
        self.countdown.setText(f"baseline: {int(left) // 60}:{int(left) % 60:02d} left")
        if left <= 0:
            self.timer.stop()
            self.result = self.model.result()
            self.finished_baseline.emit(self.result)
            self.accept()

    def on_snapshot(self, snap) -> None:
        """Collect valid values during the baseline; show the coherence ratios."""
        for r in self.people:
            pm = snap.persons.get(r)
            if pm is None:
                continue
            ok = pm.coherence_valid and finite(pm.coherence_ratio)
            self.coherence[r].setText(
                f"{_name(r)} coherence ratio {fmt(pm.coherence_ratio, '.1f') if ok else DASH}"
            )
        if self.timer.isActive():
            self.model.add(snap, time.monotonic())

    def done(self, result: int) -> None:  # noqa: D102 (Qt API)
        self.timer.stop()
        super().done(result)
