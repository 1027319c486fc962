"""Ring buffers: wrap-around, loss accounting, snapshots while a writer runs."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from devices.ringbuffer import RingBuffer, StringRingBuffer


def test_wraps_and_reads_since_counter() -> None:
    rb = RingBuffer(10, 2)
    for start in range(0, 25, 3):
        idx = np.arange(start, start + 3, dtype=float)
        rb.append(np.column_stack([idx, -idx]), idx, idx + 0.5)
    assert rb.written == 27 and len(rb) == 10
    chunk = rb.read_since(20)
    np.testing.assert_array_equal(chunk.values[:, 0], np.arange(20, 27))
    np.testing.assert_array_equal(chunk.ts, np.arange(20, 27) + 0.5)
    assert chunk.start == 20 and chunk.stop == 27 and chunk.lost == 0
    old = rb.read_since(5)  # 5..16 were overwritten
    assert old.lost == 12 and old.start == 17
    np.testing.assert_array_equal(old.raw_ts, np.arange(17, 27))
    np.testing.assert_array_equal(rb.latest(4).values[:, 1], -np.arange(23, 27))
    np.testing.assert_array_equal(rb.since_time(24.5).raw_ts, [24, 25, 26])


def test_chunk_larger_than_capacity_keeps_newest() -> None:
    rb = RingBuffer(5, 1)
    rb.append(np.arange(12.0), np.arange(12.0))
    assert rb.written == 12
    np.testing.assert_array_equal(rb.read_since(0).values[:, 0], np.arange(7, 12))


def test_bad_shapes_are_rejected() -> None:
    rb = RingBuffer(5, 2)
    with pytest.raises(ValueError, match="expected values"):
        rb.append(np.zeros((3, 1)), np.zeros(3))
    with pytest.raises(ValueError):
        RingBuffer(0, 1)


def test_concurrent_writer_and_reader_see_every_sample_in_order() -> None:
    rb = RingBuffer(4096, 1)
    total = 200_000
    seen: list[np.ndarray] = []

    ahead = threading.Semaphore(50)  # the writer may run at most 50 chunks ahead

    def writer() -> None:
        for start in range(0, total, 37):
            ahead.acquire()
            idx = np.arange(start, min(start + 37, total), dtype=float)
            rb.append(idx, idx)

    th = threading.Thread(target=writer)
    th.start()
    counter = 0
    while th.is_alive() or counter < total:
        chunk = rb.read_since(counter)
        assert chunk.lost == 0, "reader fell behind in this test"
        seen.append(chunk.values[:, 0])
        counter = chunk.stop
        for _ in range(-(-len(chunk) // 37)):
            ahead.release()
    th.join()
    np.testing.assert_array_equal(np.concatenate(seen), np.arange(total))


def test_string_ring_buffer() -> None:
    sb = StringRingBuffer(3, 1)
    sb.append([["a"], ["b"]], [1.0, 2.0])
    sb.append([["c"], ["d"]], [3.0, 4.0])
    assert sb.written == 4
    chunk = sb.read_since(0)
    assert chunk.lost == 1 and chunk.values == [["b"], ["c"], ["d"]]
    assert sb.read_since(3).values == [["d"]]
