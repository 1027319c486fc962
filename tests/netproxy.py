"""A userspace TCP delay proxy for two-site tests and benchmarks (there is no netem here).

Forwards every connection from ``127.0.0.1:listen_port`` to ``upstream``, delaying each read by
a one-way delay plus uniform jitter per direction (order kept, as TCP would), and can blackhole
the link: while blackholed nothing is forwarded in either direction and new connections stall,
as when a home router loses its uplink. The bytes themselves are never changed (TLS passes).
"""

from __future__ import annotations

import random
import socket
import threading
import time
from collections import deque


class DelayProxy:
    """Parameters
    ----------
    upstream : (host, port)
    up_delay_s, down_delay_s : float
        One-way delays client->upstream and upstream->client (s).
    jitter_s : float
        Uniform extra delay 0..jitter_s per read.
    """

    def __init__(self, upstream: tuple[str, int], up_delay_s: float = 0.0,
                 down_delay_s: float = 0.0, jitter_s: float = 0.0, seed: int = 0) -> None:  # fmt: skip
        self.upstream = upstream
        self.up_delay_s, self.down_delay_s, self.jitter_s = up_delay_s, down_delay_s, jitter_s
        self._rng = random.Random(seed)
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(16)
        self.port = self._srv.getsockname()[1]
        self._blackhole = threading.Event()
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        self.bytes_up = 0
        self.bytes_down = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def blackhole(self, on: bool = True) -> None:
        if on:
            self._blackhole.set()
        else:
            self._blackhole.clear()

    def close(self) -> None:
        self._stop.set()
        self._srv.close()
        for s in list(self._socks):
            _close(s)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._srv.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        while self._blackhole.is_set() and not self._stop.is_set():
            time.sleep(0.05)  # the connection attempt hangs, as on a dead uplink
        try:
            up = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _close(client)
            return
        up.settimeout(None)
        for s in (client, up):  # forward each read at once: Nagle would add its own delay
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socks += [client, up]
        for src, dst, d, name in (
            (client, up, self.up_delay_s, "up"),
            (up, client, self.down_delay_s, "down"),
        ):
            q: deque = deque()
            cv = threading.Condition()
            threading.Thread(
                target=self._read, args=(src, dst, q, cv, d, name), daemon=True
            ).start()
            threading.Thread(target=self._write, args=(src, dst, q, cv), daemon=True).start()

    def _read(self, src, dst, q, cv, delay, name) -> None:
        last = 0.0
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            with cv:
                if not data:
                    q.append((0.0, None))
                    cv.notify()
                    return
                if name == "up":
                    self.bytes_up += len(data)
                else:
                    self.bytes_down += len(data)
                last = max(last, time.monotonic() + delay + self._rng.uniform(0, self.jitter_s))
                q.append((last, data))
                cv.notify()

    def _write(self, src, dst, q, cv) -> None:
        while True:
            with cv:
                while not q:
                    cv.wait()
                due, data = q[0]
            if data is None:
                _close(src)
                _close(dst)
                return
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if self._blackhole.is_set():
                time.sleep(0.02)
                continue  # held, not delivered, until the link returns (or the peer gives up)
            with cv:
                q.popleft()
            try:
                dst.sendall(data)
            except OSError:
                _close(src)
                _close(dst)
                return


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
