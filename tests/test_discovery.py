"""Discovery with full infos over real loopback LSL: a process whose outlets stop answering
(frozen with SIGSTOP, as a starved or exiting process) costs one bounded wait, not one timeout
per stream and pass; healthy streams still get their labels in the same pass."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

from app.live import FullInfoCache
from devices.lsl import full_info, make_outlet, resolve_streams

pytestmark = pytest.mark.lsl

HOLDER = """
import sys, time
from devices.lsl import make_outlet
outs = [make_outlet(f"{sys.argv[1]}-{k}", "PPG", f"{sys.argv[1]}-{k}", 64.0, ["ppg"], "au")
        for k in range(3)]
print("ready", flush=True)
time.sleep(60)
"""


def _listed(prefix: str, n: int) -> list[tuple]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [(d, i) for d, i in resolve_streams(0.5) if d.name.startswith(prefix)]
        if len(found) == n:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{prefix}: {n} streams not listed within 20 s")


def test_more_outlets_than_liblsls_default_port_range_are_all_found(uid) -> None:
    """liblsl's default range has 32 ports; outlets beyond it get random ports, which a
    resolver on loopback never reaches (no multicast there). The local config widens it."""
    outlets = [
        make_outlet(f"Many{uid}-{k}", "EDA", f"Many{uid}-{k}", 32.0, ["eda"], "uS")
        for k in range(40)
    ]
    try:
        _listed(f"Many{uid}-", 40)
    finally:
        del outlets


def _settle(cache: FullInfoCache, found: list[tuple], uids: set[str]) -> list[tuple]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        out, pending = cache.describe(found, budget_s=0.5)
        if not pending & uids:
            return out
    raise AssertionError("fetches did not end within 20 s")


def test_frozen_streams_are_fetched_once_and_healthy_ones_get_labels(uid) -> None:
    prefix = f"Frozen{uid}"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, prefix], stdout=subprocess.PIPE, text=True
    )
    healthy = make_outlet(f"Healthy{uid}", "EDA", f"Healthy{uid}", 32.0, ["skin"], "uS")
    try:
        assert holder.stdout.readline().strip() == "ready"
        frozen = _listed(prefix, 3)
        fine = _listed(f"Healthy{uid}", 1)
        holder.send_signal(signal.SIGSTOP)
        cache = FullInfoCache(timeout_s=1.0, retry_after_s=3600.0)
        found = frozen + fine
        frozen_uids = {d.uid for d, _ in frozen}
        out, pending = cache.describe(found, budget_s=0.2)
        # the frozen outlets cannot have answered: their fetches are still running
        assert frozen_uids <= pending
        assert all(d.labels == () for d, _ in out if d.uid in frozen_uids)
        out = _settle(cache, found, frozen_uids | {fine[0][0].uid})
        by_uid = {d.uid: d for d, _ in out}
        assert by_uid[fine[0][0].uid].labels == ("skin",)
        assert by_uid[fine[0][0].uid].units == ("uS",)
        # failed fetches are remembered: the next pass starts none and keeps the short info
        out, pending = cache.describe(found, budget_s=0.0)
        assert not pending
        assert all(by_uid[u].labels == () for u in frozen_uids)
        # once the retry time has passed they are fetched again, and answer when thawed
        cache.retry_after_s = 0.0
        holder.send_signal(signal.SIGCONT)
        out = _settle(cache, found, frozen_uids)
        assert {d.labels for d, _ in out if d.uid in frozen_uids} == {("ppg",)}
    finally:
        holder.send_signal(signal.SIGCONT)
        holder.kill()
        holder.wait()
        del healthy


def _port(info) -> str:
    return re.search(r"<v4data_port>(\d+)</v4data_port>", info.as_xml()).group(1)


def test_an_answer_for_another_uid_is_discarded(uid) -> None:
    """A listed stream whose outlet is gone: its port now belongs to a newer outlet, whose info
    must never be taken for the old stream's."""
    outlet = make_outlet(f"Gone{uid}", "EDA", f"Gone{uid}", 32.0, ["eda"], "uS")
    found = _listed(f"Gone{uid}", 1)
    del outlet
    # outlets take the lowest free port: one of a few new ones lands on the freed port even
    # when other processes free lower ports meanwhile
    newer = [
        make_outlet(f"Newer{uid}-{k}", "EDA", f"Newer{uid}-{k}", 32.0, ["other"], "uS")
        for k in range(6)
    ]
    try:
        ports = {_port(i) for _, i in _listed(f"Newer{uid}-", 6)}
        if _port(found[0][1]) not in ports:
            pytest.skip("liblsl gave the freed port to another process's outlet this time")
        # the hazard is real: the old stream's address now answers with the newer stream
        try:
            answer = full_info(found[0][1], timeout=2.0)[0].name
        except Exception as exc:  # liblsl refused it itself: nothing to discard
            answer = type(exc).__name__
        cache = FullInfoCache(timeout_s=1.0, retry_after_s=3600.0)
        out = _settle(cache, found, {found[0][0].uid})
        assert out[0][0].name == f"Gone{uid}" and out[0][0].labels == (), answer
    finally:
        del newer
