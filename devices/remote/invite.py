"""Invites: one file that lets one patient join one remote session, and the clinic's record of it.

``attune invite`` creates a session id, a clinic and a patient certificate (signed by the clinic's
CA, valid until the invite expires) and writes the invite file for the patient: relay endpoint,
session id, expiry, the patient's certificate and key, and the clinic's CA certificate. The
clinic's half (its certificate and key, and the invite's state: revoked, used, admitted patient)
stays in the clinic's data folder. The file is JSON, written 0600.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from devices.datadir import app_data_dir
from devices.remote.pki import CertPair, issue, load_pair, make_ca, write_private

FORMAT = "attunement-invite/1"


class InviteError(ValueError):
    """An invite that cannot be used (expired, revoked, used, unreadable): one line for the user."""


def default_remote_dir() -> Path:
    """The clinic's folder for remote sessions, beside the session library
    (:func:`devices.datadir.app_data_dir`); ``$ATTUNE_REMOTE_DIR`` overrides it."""
    return app_data_dir("remote", "ATTUNE_REMOTE_DIR")


@dataclass(frozen=True)
class Invite:
    """What the patient's side needs to join one session.

    Attributes
    ----------
    relay : str
        Zenoh endpoint of the relay, e.g. ``tls/relay.example.org:7447``.
    session_id : str
        128-bit random hex id; the key space ``attune/<session_id>/**``.
    expires : str
        ISO 8601 UTC time after which the invite (and its certificate) is refused.
    ca_pem, cert_pem, key_pem : str
        The clinic's CA certificate, the patient's certificate and key (PEM). Empty with
        ``insecure``.
    insecure : bool
        Plaintext link (``--insecure-lan``): no certificates, anyone on the path can read.
    clinic : str
        A label the patient sees ("shared with ...").
    """

    relay: str
    session_id: str
    expires: str
    ca_pem: str
    cert_pem: str
    key_pem: str
    insecure: bool = False
    clinic: str = "the clinic"

    @property
    def expires_at(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.expires)

    def check_not_expired(self, now: dt.datetime | None = None) -> None:
        now = now or dt.datetime.now(dt.UTC)
        if now >= self.expires_at:
            raise InviteError(
                f"this invite expired at {self.expires} (ask the clinic for a new one)"
            )

    def write(self, path: Path) -> None:
        data = {"format": FORMAT, **asdict(self)}
        write_private(Path(path), json.dumps(data, indent=1).encode())

    @classmethod
    def read(cls, path: Path) -> Invite:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InviteError(f"{path}: no such invite file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InviteError(
                f"{path}: not an Attunement invite ({exc.__class__.__name__})"
            ) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InviteError(f"{path}: not an Attunement invite (format {FORMAT} expected)")
        data.pop("format")
        try:
            return cls(**data)
        except TypeError as exc:
            raise InviteError(f"{path}: damaged invite ({exc})") from None


@dataclass(frozen=True)
class SessionState:
    """The clinic's record of one invite (``state.json`` in its folder)."""

    session_id: str
    relay: str
    expires: str
    insecure: bool = False
    revoked: bool = False
    used: bool = False
    patient: str = ""  # the admitted patient link's id ("" until one joined)


class ClinicStore:
    """The clinic's remote folder: its CA, and one sub-folder per invite (0700)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_remote_dir()

    def _private_dir(self, path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        return path

    def ca(self) -> CertPair:
        """The clinic's CA, created on first use."""
        folder = self._private_dir(self.root / "ca")
        if not (folder / "ca.pem").exists():
            make_ca().write(folder, "ca")
        return load_pair(folder, "ca")

    def relay_pair(self, hosts: tuple[str, ...]) -> CertPair:
        """A server certificate for a relay at ``hosts`` (one year), signed by the CA."""
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=365)
        return issue(self.ca(), "attunement-relay", until, hosts)

    def session_dir(self, session_id: str) -> Path:
        return self.root / "sessions" / session_id

    def create(
        self, relay: str, hours: float = 12.0, insecure: bool = False, clinic: str = "the clinic"
    ) -> Invite:
        """A new invite (and the clinic's half of it) valid for ``hours``."""
        if not hours > 0:
            raise InviteError(f"--hours must be > 0, got {hours}")
        sid = secrets.token_hex(16)
        until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
        until = until.replace(microsecond=0)
        folder = self._private_dir(self.session_dir(sid))
        if insecure:
            patient = CertPair(b"", b"")
            ca_pem = b""
        else:
            ca = self.ca()
            issue(ca, f"clinic-{sid[:8]}", until).write(folder, "clinic")
            patient = issue(ca, f"patient-{sid[:8]}", until)
            ca_pem = ca.cert_pem
        state = SessionState(sid, relay, until.isoformat(), insecure=insecure)
        self.save(state)
        return Invite(
            relay, sid, until.isoformat(), ca_pem.decode(), patient.cert_pem.decode(),
            patient.key_pem.decode(), insecure, clinic,
        )  # fmt: skip

    def load(self, session_id: str) -> SessionState:
        path = self.session_dir(session_id) / "state.json"
        try:
            return SessionState(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise InviteError(f"no invite {session_id} in {self.root}") from None

    def save(self, state: SessionState) -> None:
        folder = self._private_dir(self.session_dir(state.session_id))
        write_private(folder / "state.json", json.dumps(asdict(state), indent=1).encode())

    def revoke(self, session_id: str) -> SessionState:
        state = self.load(session_id)
        state = SessionState(**{**asdict(state), "revoked": True})
        self.save(state)
        return state

    def sessions(self) -> list[SessionState]:
        folder = self.root / "sessions"
        if not folder.exists():
            return []
        return [self.load(p.name) for p in sorted(folder.iterdir()) if (p / "state.json").exists()]

    def clinic_pair(self, session_id: str) -> CertPair:
        return load_pair(self.session_dir(session_id), "clinic")

    def check_usable(self, session_id: str, now: dt.datetime | None = None) -> SessionState:
        """The session's state, or :class:`InviteError` when it is revoked, used or expired."""
        state = self.load(session_id)
        now = now or dt.datetime.now(dt.UTC)
        if state.revoked:
            raise InviteError(f"invite {session_id[:8]} was revoked")
        if state.used:
            raise InviteError(f"invite {session_id[:8]} was already used for a session")
        if now >= dt.datetime.fromisoformat(state.expires):
            raise InviteError(f"invite {session_id[:8]} expired at {state.expires}")
        return state
