"""Occupancy: in-flight, busy threads, exact busy-thread integral, oldest age."""

from __future__ import annotations

from wsgiscope.occupancy import Occupancy

MS = 1_000_000


def test_busy_thread_seconds_integrate_exactly_at_every_change() -> None:
    occ = Occupancy(now_ns=0)
    occ.enter("a", ident=1, now_ns=0)
    occ.enter("b", ident=2, now_ns=10 * MS)  # 1 busy thread for 10 ms
    occ.leave("a", ident=1, now_ns=30 * MS)  # 2 busy threads for 20 ms
    snap = occ.snapshot(now_ns=35 * MS)  # 1 busy thread for 5 ms
    assert snap.busy_thread_us == 10_000 + 40_000 + 5_000
    assert (snap.active_requests, snap.busy_threads, snap.oldest_request_age_us) == (1, 1, 25_000)


def test_two_requests_on_one_thread_count_one_busy_thread() -> None:
    occ = Occupancy(now_ns=0)
    occ.enter("a", ident=1, now_ns=0)
    occ.enter("b", ident=1, now_ns=0)
    snap = occ.snapshot(now_ns=10 * MS)
    assert (snap.active_requests, snap.busy_threads, snap.busy_thread_us) == (2, 1, 10_000)


def test_idle_worker_reports_zero_age() -> None:
    occ = Occupancy(now_ns=0)
    occ.enter("a", 1, 0)
    occ.leave("a", 1, 5 * MS)
    snap = occ.snapshot(9 * MS)
    assert (snap.active_requests, snap.busy_threads, snap.oldest_request_age_us) == (0, 0, 0)


def test_out_of_order_timestamps_never_integrate_negative_time() -> None:
    occ = Occupancy(now_ns=100 * MS)
    occ.enter("a", 1, 100 * MS)
    occ.enter("b", 2, 90 * MS)  # each thread counts from its own clock reading
    assert occ.snapshot(100 * MS).busy_thread_us == 10_000
    occ.enter("c", 3, 120 * MS)  # a thread's change after the flusher read its clock
    assert occ.snapshot(110 * MS).busy_thread_us == 10_000 + 20_000


def test_busy_thread_seconds_never_decrease() -> None:
    occ = Occupancy(now_ns=0)
    occ.enter("a", 1, 0)
    occ.leave("a", 1, 50 * MS)  # written by the request thread just after...
    first = occ.snapshot(40 * MS).busy_thread_us  # ...the flusher read 40 ms
    assert first == 50_000
    assert occ.snapshot(45 * MS).busy_thread_us == first  # an older reading: never less


def test_a_thread_busy_with_overlapping_requests_counts_its_busy_time_once() -> None:
    occ = Occupancy(now_ns=0)
    occ.enter("a", 1, 0)
    occ.enter("b", 1, 10 * MS)
    occ.leave("a", 1, 20 * MS)
    occ.leave("b", 1, 30 * MS)
    snap = occ.snapshot(100 * MS)
    assert (snap.busy_thread_us, snap.busy_threads, snap.active_requests) == (30_000, 0, 0)


def test_lanes_past_the_bound_retire_idle_threads_and_keep_their_busy_time() -> None:
    occ = Occupancy(now_ns=0, max_lanes=4)
    for ident in range(4):
        occ.enter(ident, ident, 0)
        occ.leave(ident, ident, 1 * MS)
    occ.enter("busy", 3, 1 * MS)  # thread 3 busy again: it keeps its entry and lane
    assert occ.enter("new", 99, 2 * MS) == 4
    snap = occ.snapshot(3 * MS)
    assert snap.busy_thread_us == 4 * 1000 + 2 * 1000 + 1 * 1000
    assert snap.busy_threads == 2


def test_lanes_are_handed_out_in_order_of_first_use() -> None:
    occ = Occupancy()
    assert [occ.enter(k, ident, 0) for k, ident in
            [("a", 77), ("b", 5), ("c", 77), ("d", 9)]] == [0, 1, 0, 2]


def test_leave_of_unknown_request_is_ignored() -> None:
    occ = Occupancy()
    occ.leave("never-entered", 1, 0)
    assert occ.snapshot(0).active_requests == 0
