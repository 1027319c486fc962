"""``attune relay``, ``attune invite`` and ``attune share``: sessions across two sites.

``register(subparsers)`` adds the three subcommands (each sets ``func``); :func:`start_remote`
is what ``attune run --remote INVITE`` calls before the live engine starts. Exit status 2 with
one line for bad input (expired, revoked or used invite, unreachable relay, wrong certificate).
"""

from __future__ import annotations

import argparse
import fnmatch
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

PHYSIO = {"eda", "ppg", "ecg", "ibi"}

RELAY_EPILOG = """\
The relay is the zenoh router from the eclipse-zenoh wheel. Run it where both sites can reach
it (a clinic server, a small VM); both sites connect out to it, so no home or clinic opens a
port. Mutual TLS: it accepts only peers holding a certificate from this clinic's CA (in the
data folder; the relay's own certificate is issued for --host names). It stores no samples.

examples:
  attune relay --listen tls/0.0.0.0:7447 --host relay.example.org
  attune relay --listen tcp/192.168.1.10:7447 --insecure-lan     # trusted LAN only
"""

INVITE_EPILOG = """\
The invite file holds the relay address, the session id, the expiry, the patient's certificate
and key, and the clinic's CA certificate: give it to the patient privately (it is 0600). It
admits one patient link, once; after its session it is used up. The clinic's half stays in its
data folder ($ATTUNE_REMOTE_DIR, default beside the session library).

examples:
  attune invite --relay tls/relay.example.org:7447 -o patient.invite --hours 4
  attune invite --list
  attune invite --revoke 3f2a...
"""

SHARE_EPILOG = """\
Shares the local wearables' physiological streams (those a device profile recognises as EDA,
PPG, ECG or beat intervals, or the ones named with --streams) and nothing else: no markers,
notes, audio or video. A small window (with a display) and a status line say what is shared
and with whom; its Stop button, closing it, or Ctrl-C stops.

examples:
  attune share patient.invite
  attune share patient.invite --streams 'EmotiBit*'
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("relay", help="run the two-site relay (zenoh router)",
                              epilog=RELAY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--listen", default="tls/0.0.0.0:7447", metavar="ENDPOINT",
                   help="where to listen (default tls/0.0.0.0:7447)")  # fmt: skip
    p.add_argument("--host", action="append", default=[], metavar="NAME",
                   help="name or address the sites use to reach the relay (for its certificate)")  # fmt: skip
    p.add_argument("--insecure-lan", action="store_true", help="plaintext tcp, no certificates")
    p.add_argument("--duration", type=float, default=None, metavar="S", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_relay)

    p = subparsers.add_parser("invite", help="create, list or revoke a remote patient's invite",
                              epilog=INVITE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--relay", metavar="ENDPOINT", help="the relay, e.g. tls/relay.example.org:7447")
    p.add_argument("-o", "--output", metavar="INVITE", help="invite file to write")
    p.add_argument("--hours", type=float, default=12.0, help="validity (default 12 h)")
    p.add_argument("--clinic", default="the clinic", help="name the patient sees")
    p.add_argument("--insecure-lan", action="store_true", help="plaintext tcp relay (LAN only)")
    p.add_argument("--list", action="store_true", help="list this clinic's invites")
    p.add_argument("--revoke", metavar="SESSION_ID", help="revoke an invite (prefix is enough)")
    p.set_defaults(func=cmd_invite)

    p = subparsers.add_parser("share", help="share this laptop's wearables with a clinic",
                              epilog=SHARE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("invite", metavar="INVITE", help="the invite file from the clinic")
    p.add_argument("--streams", action="append", default=[], metavar="GLOB",
                   help="share only streams whose name matches GLOB (repeatable)")  # fmt: skip
    p.add_argument("--wait", type=float, default=5.0, metavar="S",
                   help="seconds to look for the local streams (default 5)")  # fmt: skip
    p.add_argument("--no-window", action="store_true",
                   help="only the terminal line, no window (the default without a display)")  # fmt: skip
    p.add_argument("--duration", type=float, default=None, metavar="S", help=argparse.SUPPRESS)
    p.add_argument("--screenshot", default=None, metavar="PNG", help=argparse.SUPPRESS)
    # a second machine played on one: the laptop's clock runs this far from the LSL clock
    p.add_argument("--clock-offset", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--clock-drift-ppm", type=float, default=0.0, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_share)


def _fail(text: str) -> int:
    print(f"attune: error: {text}", file=sys.stderr)
    return 2


def _wait(stop: threading.Event, duration: float | None, tick) -> None:
    def handler(signum, frame):  # noqa: ARG001
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    t_end = None if duration is None else time.monotonic() + duration
    while not stop.is_set() and (t_end is None or time.monotonic() < t_end):
        tick()
        stop.wait(1.0)


def cmd_relay(args: argparse.Namespace) -> int:
    from devices.remote.invite import ClinicStore
    from devices.remote.relay import relay_hosts, relay_open
    from devices.remote.zconfig import EndpointError

    store = None if args.insecure_lan else ClinicStore()
    try:
        session = relay_open(args.listen, store, tuple(args.host))
    except EndpointError as exc:
        return _fail(str(exc))
    except Exception as exc:
        return _fail(f"the relay cannot listen on {args.listen} ({str(exc).split(' at /')[0]})")
    if args.insecure_lan:
        print("WARNING: plaintext relay: anyone on this network can read and inject samples",
              flush=True)  # fmt: skip
    names = ", ".join(relay_hosts(args.listen, tuple(args.host)))
    print(f"relay listening on {args.listen} (certificate for {names}); Ctrl-C stops", flush=True)
    try:
        _wait(threading.Event(), args.duration, lambda: None)
    finally:
        session.close()
    return 0


def cmd_invite(args: argparse.Namespace) -> int:
    from devices.remote.invite import ClinicStore, InviteError
    from devices.remote.zconfig import EndpointError, check_endpoint

    store = ClinicStore()
    try:
        if args.list:
            for s in store.sessions():
                flags = [w for w, on in (("revoked", s.revoked), ("used", s.used),
                                         ("insecure", s.insecure)) if on]  # fmt: skip
                print(f"{s.session_id}  relay {s.relay}  expires {s.expires}  {' '.join(flags)}")
            return 0
        if args.revoke:
            match = [s for s in store.sessions() if s.session_id.startswith(args.revoke)]
            if len(match) != 1:
                return _fail(f"{len(match)} invites match {args.revoke!r}; give more of the id")
            store.revoke(match[0].session_id)
            print(f"revoked invite {match[0].session_id}")
            return 0
        if not args.relay or not args.output:
            return _fail("attune invite needs --relay ENDPOINT and -o INVITE (or --list/--revoke)")
        check_endpoint(args.relay, args.insecure_lan)
        out = Path(args.output)
        if out.exists():
            return _fail(f"{out} exists; choose another name")
        inv = store.create(args.relay, args.hours, args.insecure_lan, args.clinic)
        inv.write(out)
    except (InviteError, EndpointError) as exc:
        return _fail(str(exc))
    print(f"invite {inv.session_id} for relay {inv.relay}, valid until {inv.expires}: {out}")
    print(f"at the clinic: attune run --remote {inv.session_id}")
    return 0


def _local_streams(patterns: list[str], wait_s: float):
    """The local streams to share: named ones, else those a profile knows as physiology."""
    from devices.lsl import full_info, resolve_streams
    from devices.profiles import identify

    found = resolve_streams(wait_s)
    descs = [d for d, _ in found]
    out = []
    for d, info in found:
        if patterns:
            if any(fnmatch.fnmatchcase(d.name, g) for g in patterns):
                out.append((full_info(info)[0], info))
            continue
        if d.type.lower() in ("markers", "metrics", "clockoffsets") or not d.is_numeric:
            continue
        full, xml = full_info(info)
        prof = identify(full, descs, xml)
        if set(prof.modalities) & PHYSIO:
            out.append((full, info))
    return out


def cmd_share(args: argparse.Namespace) -> int:
    from devices.lsl import local_clock
    from devices.remote.invite import Invite, InviteError
    from devices.remote.share import PatientShare, ShareError

    try:
        inv = Invite.read(Path(args.invite))
        inv.check_not_expired()
    except InviteError as exc:
        return _fail(str(exc))
    streams = _local_streams(args.streams, args.wait)
    if not streams:
        what = " ".join(args.streams) if args.streams else "EDA/PPG/ECG/RR wearable"
        return _fail(f"no {what} stream found on this laptop (waited {args.wait:g} s)")
    clock = None
    if args.clock_offset or args.clock_drift_ppm:
        t0 = local_clock()
        off, drift = args.clock_offset, args.clock_drift_ppm * 1e-6

        def clock() -> float:
            t = local_clock()
            return t + off + drift * (t - t0)

    share = PatientShare(inv, streams, clock=clock)
    try:
        share.start()
    except ShareError as exc:
        return _fail(str(exc))
    if inv.insecure:
        print("WARNING: this invite uses a plaintext link", flush=True)
    stop = threading.Event()

    def tick() -> None:
        if share.error:
            stop.set()
            return
        print(share.status.line(inv.clinic), flush=True)

    try:
        if _window_possible(args):  # the patient sees a small window with a Stop button
            from app.gui.share_window import run_share_window

            run_share_window(share, inv.clinic, tick, args.duration, args.screenshot)
        else:
            _wait(stop, args.duration, tick)
    finally:
        share.stop()
    if share.error:
        return _fail(share.error)
    return 0


def _window_possible(args: argparse.Namespace) -> bool:
    from app.display import has_display, missing_qt_libraries

    if args.no_window or not has_display():
        return False
    return not missing_qt_libraries()


def start_remote(spec: str):
    """``attune run --remote INVITE``: start receiving that session (invite file or id)."""
    from devices.remote.invite import ClinicStore, Invite, InviteError
    from devices.remote.receive import ClinicReceiver

    store = ClinicStore()
    path = Path(spec)
    session_id = Invite.read(path).session_id if path.is_file() else spec
    matches = [s.session_id for s in store.sessions() if s.session_id.startswith(session_id)]
    if len(matches) != 1:
        raise InviteError(f"no single invite of this clinic matches {spec!r}")
    rx = ClinicReceiver(store, matches[0])
    rx.start()
    return rx
