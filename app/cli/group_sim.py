"""``attune simulate --people N --couple A-B=0.8 ...``: a simulated group over LSL.

Wired into ``attune simulate`` (:mod:`app.cli`): with ``--people`` the group simulator
(:class:`devices.group_source.GroupSimulatorSource`) publishes every person's EDA and PPG;
without it the two-person simulator runs unchanged.
"""

from __future__ import annotations

import argparse
import threading

__all__ = ["add_group_options", "simulate_group_cmd"]

_DEFAULT_NAMES = ("A", "B", "C", "D", "E", "F", "G", "H")


def add_group_options(p: argparse.ArgumentParser) -> None:
    """The group options of ``attune simulate``."""
    p.add_argument(
        "--people",
        default=None,
        metavar="N|NAME,NAME,...",
        help="simulate a group: N people named A, B, C, ... or the given names (2-8); "
        "every pair is independent unless coupled with --couple",
    )
    p.add_argument(
        "--couple",
        action="append",
        default=[],
        metavar="A-B=C[@LAG]",
        help="with --people: couple B to A with probability C (0..1), B following by LAG s "
        "(default --lag); repeat for more pairs",
    )


def _people(text: str) -> tuple[str, ...]:
    text = text.strip()
    if text.isdigit():
        n = int(text)
        if not 2 <= n <= len(_DEFAULT_NAMES):
            raise ValueError(f"--people: a group has 2 to 8 people, got {n}")
        return _DEFAULT_NAMES[:n]
    return tuple(s.strip() for s in text.split(","))


def simulate_group_cmd(args: argparse.Namespace, stop: threading.Event) -> int:
    """Publish the group until ``--duration`` or ``stop``; ValueError (one line) on bad input."""
    from devices.group_source import GroupSimulatorSource, group_stream_names
    from devices.source import serve_until_stopped
    from dsp.simulate_group import GroupSimConfig, coupling_parse

    if args.device:
        raise ValueError("--device simulates two people; it cannot be combined with --people")
    cfg = GroupSimConfig(
        people=_people(args.people),
        couplings=tuple(coupling_parse(c, default_lag_s=args.lag) for c in args.couple),
        seed=args.seed,
        ppg_fs=args.ppg_rate,
        eda_fs=args.eda_rate,
        ecg_fs=args.ecg_rate,
        artifacts=args.artifacts,
    )
    src = GroupSimulatorSource(cfg, prefix=args.name_prefix, duration=args.duration)
    src.start()
    names = group_stream_names(cfg.people, args.name_prefix)
    streams = ", ".join(names[(p, "eda")][0].removesuffix("-EDA") + "-EDA/PPG" for p in cfg.people)
    print(f"simulating {src.description}: {streams}; Ctrl-C to stop", flush=True)
    error = serve_until_stopped(src, stop)
    if error is not None:
        raise ValueError(f"simulator failed: {error}")
    return 0
