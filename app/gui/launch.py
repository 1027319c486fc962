"""Entry points of the console: ``attune demo`` (simulated dyad) and ``attune`` / ``attune run``.

``run_demo(args)`` starts the simulator in a child process (as the headless demo does) and
opens the window on it; ``run_live(args)`` opens it on the LSL streams visible now (``--role``,
``--map``, the last map file, or role words in the stream names). With ``--duration S`` the
window closes after S seconds; with ``--screenshot FILE.png`` the main window is saved first.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from PySide6.QtCore import QTimer

from app.engine import EngineConfig
from app.gui.main_window import MainWindow
from app.gui.qtapp import make_app
from app.gui.session import SessionController
from app.gui.theme import load_settings
from app.sources import SourceChoice, SourceKind, simulated_dyad
from devices.assign import parse_role_options


def _finish_after(window, app, duration: float | None, screenshot: str | None) -> None:
    def finish() -> None:
        if screenshot:
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            window.grab().save(str(screenshot))
            print(f"screenshot saved: {screenshot}", flush=True)
        window.close()

    if duration is not None:
        QTimer.singleShot(int(duration * 1000), finish)
    elif screenshot:
        print("--screenshot needs --duration; the window stays open", file=sys.stderr)


def _open(choice, source, args, config: EngineConfig, ask_on_failure: bool = False) -> int:
    app = make_app()
    settings = load_settings()
    controller = SessionController(config)
    controller.live.media = _media(args)
    window = MainWindow(controller, settings)
    window.show()
    if ask_on_failure:  # nothing assignable: offer the Streams dialog straight away
        controller.failed.connect(lambda _text: window.open_streams())
    if getattr(args, "remote_link", None) is not None:  # attune run --remote INVITE
        window.adopt_remote(args.remote_link)
    window.start_source(choice, source)
    _finish_after(window, app, getattr(args, "duration", None), getattr(args, "screenshot", None))
    app.exec()
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """``attune demo``: the simulated dyad (child process) in the console window."""
    source, choice = simulated_dyad(
        f"AttuneDemo{os.getpid()}", args.seed, args.coupling, args.lag, args.artifacts,
        preroll=not getattr(args, "no_preroll", False),
    )  # fmt: skip
    return _open(choice, source, args, EngineConfig())


def _open_group(choice, args, config: EngineConfig, source=None) -> int:
    """The group console on ``choice`` (a group's assignment and people), through the same
    :class:`SessionController` as the two-person console; ``source`` (the group demo's
    simulator, already publishing) is stopped when the window closes."""
    from app.gui.group_window import GroupWindow

    app = make_app()
    settings = load_settings()
    controller = SessionController(config)
    controller.live.media = _media(args)
    window = GroupWindow(controller, choice.people, config.dyad.warmup_s,
                         session_dir=settings.session_dir or None)  # fmt: skip
    try:
        window.show()
        window.start_source(choice)
        _finish_after(
            window, app, getattr(args, "duration", None), getattr(args, "screenshot", None)
        )
        app.exec()
    finally:
        window.shutdown()
        if source is not None:
            source.stop()
    return 0


def run_group_demo(args: argparse.Namespace) -> int:
    """``attune demo --people N``: a simulated group (in this process) in the group console."""
    from app.group_live import group_demo_choice

    choice, source, _people = group_demo_choice(args)
    return _open_group(choice, args, EngineConfig(), source)


def run_group_live(args: argparse.Namespace, roles: dict[str, str] | None) -> int:
    """``attune run`` with 3-8 people (``--role NAME=GLOB`` or a map file naming them): the
    group console. Without ``--wait`` it opens at once and connects each person's signals
    when their streams appear (start in any order, as the two-person console); with
    ``--wait S`` (scripts) it waits up to S s for every person's streams before the window
    opens, and :class:`app.live.AssignmentError` (one line) when they did not all come.
    Options no stream can complete are that error at once."""
    from app.group_live import group_run_choice

    map_path = getattr(args, "map", None) or None
    choice = group_run_choice(roles, map_path, getattr(args, "wait", None))
    config = EngineConfig(tick_s=float(getattr(args, "tick", 1.0) or 1.0))
    return _open_group(choice, args, config)


def run_live(args: argparse.Namespace) -> int:
    """``attune`` / ``attune run``: the console on the LSL streams visible now."""
    roles = parse_role_options(args.role) if getattr(args, "role", None) else None
    map_path = getattr(args, "map", None) or ""
    if not roles and not map_path:
        last = load_settings().last_map_file
        map_path = last if last and Path(last).is_file() else ""
    choice = SourceChoice(
        kind=SourceKind.LSL,
        roles=roles,
        map_path=map_path,
        wait_s=getattr(args, "wait", None),  # None: wait as long as the window is open
        description="LSL streams" + (f" mapped by {Path(map_path).name}" if map_path else ""),
    )
    config = EngineConfig(tick_s=float(getattr(args, "tick", 1.0) or 1.0))
    return _open(choice, None, args, config, ask_on_failure=True)


def _media(args: argparse.Namespace):
    """``--video/--audio``: the camera and microphone recorded with each session."""
    from app.video import MediaChoice

    return MediaChoice(getattr(args, "video", None) or "", getattr(args, "audio", None) or "")
