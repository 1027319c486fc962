"""The console for a group of 3-8 people.

Layout: a bar on top (the pair that drives the big meter, elapsed time, simulated history);
on the left one trace row per person (cardiac and EDA, in the person's colour); on the right
the big EDA concordance meter and the HR synchrony meter of the selected pair (the two-person
console's meters, words and rules, for that pair), the pairwise matrix, the group index and
one table row per person; a status line at the bottom.

The window only shows what the engine's snapshots say (:class:`app.gui.session.EngineBridge`)
and draws the trace window at ~30 Hz from :meth:`app.engine.Engine.traces`; choosing a pair
(the list above, or a click on a matrix cell) asks the engine to drive the big meter from it.
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.formatting import fmt_mmss
from app.gui.group_view import GroupIndexPanel, PairMatrix, PeopleTable
from app.gui.meters import concordance_meter, hr_sync_meter
from app.gui.session import EngineBridge
from app.live import LiveSession
from app.meter_state import meter_states
from app.people import people_model
from devices.health import HealthState

__all__ = ["GroupTraces", "GroupWindow"]

RENDER_HZ = 30.0


class GroupTraces(pg.GraphicsLayoutWidget):
    """One row per person: cardiac (left) and EDA (right) over the last ``window_s``."""

    def __init__(self, people: tuple[str, ...], window_s: float = 30.0, parent=None) -> None:
        super().__init__(parent)
        self.people = people
        self.window_s = window_s
        self.setBackground("w")
        colours = {q.role: q.colour for q in people_model(people).persons}
        self.curves: dict[str, pg.PlotDataItem] = {}
        for i, name in enumerate(people):
            for col, mod in enumerate(("cardiac", "eda")):
                plot = self.addPlot(row=i, col=col)
                plot.setMouseEnabled(x=False, y=False)
                plot.hideButtons()
                plot.setXRange(-window_s, 0, padding=0)
                plot.getAxis("bottom").setStyle(showValues=i == len(people) - 1)
                plot.getAxis("left").setWidth(44)
                label = f"{name} {'PPG' if mod == 'cardiac' else 'EDA µS'}"
                plot.setTitle(label, color=colours[name], size="9pt")
                self.curves[f"{name}/{mod}"] = plot.plot(pen=pg.mkPen(colours[name], width=1))

    def update_traces(self, traces) -> None:
        """Redraw from an :class:`app.engine.TraceSnapshot` (times relative to now)."""
        now = traces.t
        for key, tr in traces.traces.items():
            role, mod = key.split("/")
            curve = self.curves.get(f"{role}/{'eda' if mod == 'eda' else 'cardiac'}")
            if curve is None:
                continue
            if tr.t.size:
                keep = tr.t >= now - self.window_s
                curve.setData(tr.t[keep] - now, np.asarray(tr.x)[keep])
            else:
                curve.setData([], [])


class GroupWindow(QMainWindow):
    """The group console over a running :class:`app.live.LiveSession` (a GroupEngine)."""

    def __init__(self, session: LiveSession, people: tuple[str, ...], warmup_s: float) -> None:
        super().__init__()
        self.session = session
        self.people = people
        self.warmup_s = warmup_s
        self.snapshot = None
        self.t_start = time.monotonic()
        self.setWindowTitle(f"Attunement – group console ({len(people)} people)")
        self._build()
        self.bridge = EngineBridge()
        self.bridge.snapshot.connect(self.on_snapshot)
        self.bridge.error.connect(self.message.setText)
        self.bridge.attach(session)
        self.render_timer = QTimer(self)
        self.render_timer.setInterval(int(1000 / RENDER_HZ))
        self.render_timer.timeout.connect(self.render_frame)
        self.render_timer.start()
        self.resize(1440, 900 if len(people) <= 4 else 1080)

    def _build(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 4)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Big meter:"))
        self.pair_box = QComboBox()
        self._pairs = [(a, b) for i, a in enumerate(self.people) for b in self.people[i + 1 :]]
        engine_pair = self.session.engine.pair
        for a, b in self._pairs:
            self.pair_box.addItem(f"{a} \u2013 {b}", (a, b))
        self.pair_box.setCurrentIndex(self._pair_index(engine_pair))
        self.pair_box.setToolTip("The pair whose concordance the big meters show")
        self.pair_box.currentIndexChanged.connect(self._box_changed)
        bar.addWidget(self.pair_box)
        bar.addStretch(1)
        self.history = QLabel("")
        self.elapsed = QLabel("")
        f = self.elapsed.font()
        f.setPointSizeF(f.pointSizeF() * 1.4)
        f.setBold(True)
        self.elapsed.setFont(f)
        bar.addWidget(self.history)
        bar.addWidget(self.elapsed)
        outer.addLayout(bar)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.traces = GroupTraces(self.people)
        split.addWidget(self.traces)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.meter = concordance_meter()
        self.hr_meter = hr_sync_meter()
        self.matrix = PairMatrix()
        self.matrix.pair_selected.connect(self.select_pair)
        self.group = GroupIndexPanel()
        self.table = PeopleTable(self.people)
        big = len(self.people) > 4  # a larger matrix, the group index beside it narrower
        rl.addWidget(self.meter, 3 if big else 4)
        rl.addWidget(self.hr_meter, 0)
        row = QHBoxLayout()
        row.addWidget(self.matrix, 3 if big else 3)
        row.addWidget(self.group, 1 if big else 2)
        if big:
            self.matrix.setMinimumSize(430, 420)
        rl.addLayout(row, 6 if big else 4)
        rl.addWidget(self.table, 0)
        split.addWidget(right)
        split.setSizes([600, 840])
        outer.addWidget(split, 1)
        self.status = QLabel("starting…")
        self.message = QLabel("")
        self.message.setStyleSheet("color: #D55E00; font-weight: bold;")
        msg = QHBoxLayout()
        msg.addWidget(self.status)
        msg.addWidget(self.message, 1)
        outer.addLayout(msg)
        self.setCentralWidget(central)

    def _pair_index(self, pair: tuple[str, str]) -> int:
        for i, p in enumerate(self._pairs):
            if set(p) == set(pair):
                return i
        return 0

    # -- actions ----------------------------------------------------------------------------
    def _box_changed(self, i: int) -> None:
        a, b = self._pairs[i]
        self.session.engine.select_pair(a, b)
        self.meter.title = f"EDA concordance: {a} \u2013 {b}"
        self.hr_meter.title = f"HR synchrony: {a} \u2013 {b}"

    def select_pair(self, a: str, b: str) -> None:
        """Drive the big meters from ``a`` and ``b`` (a matrix click or the list)."""
        i = self._pair_index((a, b))
        if i != self.pair_box.currentIndex():
            self.pair_box.setCurrentIndex(i)

    # -- updates ----------------------------------------------------------------------------
    def render_frame(self) -> None:
        self.traces.update_traces(self.session.engine.traces(self.traces.window_s))

    def on_snapshot(self, snap) -> None:
        self.snapshot = snap
        a, b = snap.pair
        self.meter.title = f"EDA concordance: {a} \u2013 {b}"
        self.hr_meter.title = f"HR synchrony: {a} \u2013 {b}"
        state, hr_state = meter_states(snap, self.warmup_s)
        self.meter.set_state(state)
        self.hr_meter.set_state(hr_state)
        self.matrix.set_metrics(snap.group, snap.pair)
        self.group.set_metrics(snap.group)
        lost: dict[str, str] = {}
        for rm, key in snap.channels.items():
            role, mod = rm.split("/")
            h = snap.health.get(key)
            if h is None or h.state is not HealthState.CONNECTED:
                lost[role] = ", ".join(filter(None, (lost.get(role, ""), f"{mod} not delivering")))
        paused = (
            {p for pc in snap.group.pairs if pc.paused for p in (pc.a, pc.b)}
            if snap.group
            else set()
        )
        for name in paused - set(lost):
            pm = snap.persons.get(name)
            if pm is None or not np.isfinite(pm.eda_last_t) or snap.t - pm.eda_last_t > 5.0:
                lost[name] = "EDA missing: pairs paused"
        self.table.update_persons(snap.persons, lost)
        g = snap.group
        if snap.preroll_s > 0:
            self.history.setText(f"includes {snap.preroll_s / 60:.0f} min of simulated history  ")
        self.elapsed.setText(fmt_mmss(g.elapsed_s if g is not None else 0.0))
        n_pairs = len(self.people) * (len(self.people) - 1) // 2
        coupled = [f"{pc.a}\u2013{pc.b}" for pc in (g.pairs if g else ()) if pc.coupled]
        self.status.setText(
            f"{len(self.people)} people, {n_pairs} pairs; coupled above chance after Holm: "
            f"{', '.join(coupled) if coupled else 'none'}; tick {snap.tick_cost_s * 1000:.1f} ms"
        )
        for e in snap.errors:
            self.message.setText(e)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt API)
        self.render_timer.stop()
        self.session.stop()
        super().closeEvent(event)
