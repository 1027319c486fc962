"""The relay: the zenoh router from the eclipse-zenoh wheel, with the clinic's TLS material.

Both sites connect out to it, so neither a home nor a clinic opens a port. It forwards only
between peers whose certificates the clinic's CA signed (mutual TLS); it never stores samples
(the caches live in the patient's publishers).
"""

from __future__ import annotations

import socket

from devices.remote.invite import ClinicStore
from devices.remote.zconfig import TlsMaterial, check_endpoint, router_config


def relay_hosts(listen: str, names: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Names the relay's certificate is valid for: the given ones, else the listen host,
    localhost, 127.0.0.1 and this machine's name."""
    if names:
        return names
    host = listen.partition("/")[2].rpartition(":")[0].strip("[]")
    out = [
        h for h in (host, "localhost", "127.0.0.1", socket.gethostname()) if h and h != "0.0.0.0"
    ]
    return tuple(dict.fromkeys(out))


def relay_open(listen: str, store: ClinicStore | None, names: tuple[str, ...] = ()):
    """Start the router on ``listen``; ``store`` None means plaintext (--insecure-lan).

    Returns the open zenoh session; closing it stops the relay.
    """
    import zenoh

    check_endpoint(listen, insecure=store is None)
    material = None
    if store is not None:
        ca = store.ca()
        pair = store.relay_pair(relay_hosts(listen, names))
        material = TlsMaterial(ca.cert_pem.decode(), pair.cert_pem.decode(), pair.key_pem.decode())
    return zenoh.open(router_config(listen, material))
