"""A remote patient for the console, without Qt: make the invite, receive the session.

The console's "Remote patient…" (Streams dialog) calls :func:`invite_and_receive`; the returned
:class:`RemoteLink` re-publishes the patient's streams as local LSL outlets, so the Streams
dialog, roles, recording and the meters treat them as any local wearable. Its
:meth:`RemoteLink.status_line` is what the console's status area shows every second.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devices.remote.invite import ClinicStore, Invite, InviteError
from devices.remote.receive import ClinicReceiver
from devices.remote.zconfig import EndpointError, check_endpoint


@dataclass
class RemoteLink:
    """One remote session: its invite (as given to the patient; None when the session was
    started from an existing invite, ``attune run --remote``) and the clinic's receiver."""

    invite: Invite | None
    invite_path: Path
    receiver: ClinicReceiver

    def status_line(self) -> str:
        h = self.receiver.health
        extra = "; ".join(h.refused[-1:] + h.events[-1:])
        line = h.line()
        return f"{line} [{extra}]" if extra else line

    def stop(self) -> None:
        self.receiver.stop()


def invite_and_receive(
    relay: str,
    path: str | Path,
    hours: float = 12.0,
    clinic: str = "the clinic",
    store: ClinicStore | None = None,
) -> RemoteLink:
    """Write a new invite to ``path`` and start receiving its session.

    Raises :class:`devices.remote.invite.InviteError` (one line) for a bad endpoint, an
    existing file or an unreachable relay; nothing is left half-made (the invite is revoked
    when the relay cannot be reached).
    """
    path = Path(path)
    try:
        check_endpoint(relay, insecure=False)
    except EndpointError as exc:
        raise InviteError(str(exc)) from None
    if path.exists():
        raise InviteError(f"{path} exists; choose another name")
    store = store or ClinicStore()
    invite = store.create(relay, hours, clinic=clinic)
    receiver = ClinicReceiver(store, invite.session_id)
    try:
        receiver.start()
    except InviteError:
        store.revoke(invite.session_id)
        raise
    invite.write(path)
    return RemoteLink(invite, path, receiver)
