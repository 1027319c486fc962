"""Zenoh configurations for the relay (router) and the two sites' clients.

Mutual TLS by default: every peer presents a certificate signed by the clinic's CA and checks the
other's; ``insecure`` gives plaintext TCP for a trusted LAN only. Multicast scouting is off (the
sites meet only through the relay), the lease is short so a dead link is noticed within ~2 s,
and clients keep retrying the relay after a restart.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

LEASE_MS = 2000  # zenoh declares a silent link dead after this; keep-alives every LEASE / 4


class EndpointError(ValueError):
    """An endpoint that is not ``tls/HOST:PORT`` (or ``tcp/`` with --insecure-lan)."""


@dataclass(frozen=True)
class TlsMaterial:
    """PEM text for one peer: the CA it trusts and its own certificate and key."""

    ca_pem: str
    cert_pem: str
    key_pem: str


def check_endpoint(endpoint: str, insecure: bool) -> str:
    """Validate ``PROTO/HOST:PORT``: ``tls`` (or ``quic``), or ``tcp`` only when insecure."""
    proto, _, rest = endpoint.partition("/")
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise EndpointError(f"endpoint {endpoint!r} is not PROTO/HOST:PORT (e.g. tls/relay:7447)")
    if insecure and proto != "tcp":
        raise EndpointError(f"--insecure-lan uses tcp/HOST:PORT, not {proto}/")
    if not insecure and proto not in ("tls", "quic"):
        raise EndpointError(
            f"endpoint {endpoint!r}: use tls/ (mutual TLS); plaintext tcp/ needs --insecure-lan"
        )
    return endpoint


def _b64(pem: str) -> str:
    return base64.b64encode(pem.encode()).decode()


def _tls(material: TlsMaterial, side: str) -> dict:
    return {
        "root_ca_certificate_base64": _b64(material.ca_pem),
        f"{side}_private_key_base64": _b64(material.key_pem),
        f"{side}_certificate_base64": _b64(material.cert_pem),
        "enable_mtls": True,
    }


def _base(mode: str):
    import zenoh

    cfg = zenoh.Config()
    cfg.insert_json5("mode", json.dumps(mode))
    cfg.insert_json5("scouting/multicast/enabled", "false")
    cfg.insert_json5("scouting/gossip/enabled", "false")
    cfg.insert_json5("transport/link/tx/lease", str(LEASE_MS))
    cfg.insert_json5("transport/link/tx/keep_alive", "4")
    return cfg


def router_config(listen: str, material: TlsMaterial | None):
    """The relay: a zenoh router listening on ``listen``, mutual TLS unless ``material`` is None."""
    cfg = _base("router")
    cfg.insert_json5("listen/endpoints", json.dumps([listen]))
    cfg.insert_json5("timestamping/enabled", "false")
    if material is not None:
        cfg.insert_json5("transport/link/tls", json.dumps(_tls(material, "listen")))
    return cfg


def client_config(relay: str, material: TlsMaterial | None, connect_timeout_s: float = 5.0):
    """One site's client: connects out to the relay (no port opened at either site)."""
    cfg = _base("client")
    cfg.insert_json5("connect/endpoints", json.dumps([relay]))
    cfg.insert_json5("connect/timeout_ms", str(int(connect_timeout_s * 1000)))
    cfg.insert_json5("connect/exit_on_failure", "true")
    if material is not None:
        cfg.insert_json5("transport/link/tls", json.dumps(_tls(material, "connect")))
    return cfg
