# SPDX-License-Identifier: Apache-2.0
"""The durable queue on real files: what `append()` returned for survives a reopen, a torn tail is cut at any
byte, cursors commit atomically and replay what was not committed, segments go only when every consumer has
passed them, a full queue refuses (or sheds a sheddable consumer), and both fsync policies keep their word."""

from __future__ import annotations

import os
import threading

import pytest

from llmledger.collector.pipeline.queue import Cursor, DiskQueue, QueueFull, RecordTooLarge, _framing, _segments


def _drain(queue: DiskQueue, position: int) -> list[bytes]:
    payloads = []
    while records := queue.read(position):
        payloads += [record.payload for record in records]
        position = records[-1].end
    return payloads


def _segment_files(directory) -> list[str]:
    return sorted(name for name in os.listdir(directory) if name.endswith(".seg"))


def test_appended_records_are_read_back_in_order_after_a_reopen(tmp_path):
    queue = DiskQueue(tmp_path, segment_bytes=256)
    for index in range(50):
        queue.append(f"record {index}".encode())
    queue.close()
    reopened = DiskQueue(tmp_path, segment_bytes=256)
    assert _drain(reopened, 0) == [f"record {index}".encode() for index in range(50)]
    assert len(_segment_files(tmp_path)) > 1  # the records span several segments
    reopened.close()


def test_a_short_write_is_finished_and_every_record_reads_back_whole(tmp_path, monkeypatch):
    # writev may write less than asked (a signal, a nearly full disk): the rest follows, in order.
    real_writev = os.writev

    def short_writev(fd: int, parts: list[bytes]) -> int:
        return real_writev(fd, [b"".join(parts)[:7]])

    queue = DiskQueue(tmp_path)
    monkeypatch.setattr(os, "writev", short_writev)
    queue.append(b"first record", b"second")
    queue.append(b"third")
    monkeypatch.undo()
    queue.close()
    reopened = DiskQueue(tmp_path)
    assert _drain(reopened, 0) == [b"first record", b"second", b"third"]
    reopened.close()


@pytest.mark.parametrize("consumers", [("store",), ("store", "forward")])
def test_a_torn_tail_is_cut_at_every_byte_offset_of_the_last_record_keeping_all_before_it(tmp_path, consumers):
    last = _framing.frame(b"the record being written at kill -9")
    for cut in range(len(last)):
        directory = tmp_path / str(cut)
        queue = DiskQueue(directory, consumers)
        queue.append(b"one")
        end = queue.append(b"two")
        queue.close()
        segment = _segments.path(directory, 0)
        with open(segment, "ab") as file:
            file.write(last[:cut])
        reopened = DiskQueue(directory, consumers)
        assert segment.stat().st_size == end, cut
        assert _drain(reopened, 0) == [b"one", b"two"]
        assert reopened.append(b"three") == end + len(_framing.frame(b"three"))  # appends continue after the cut
        assert _drain(reopened, 0) == [b"one", b"two", b"three"]
        reopened.close()


def test_a_committed_cursor_survives_a_reopen_and_only_what_follows_is_replayed(tmp_path):
    queue = DiskQueue(tmp_path)
    first = queue.append(b"stored")
    queue.append(b"not yet stored")
    queue.commit("store", first)
    queue.close()  # as if the process died here: the second record was acknowledged but never stored
    reopened = DiskQueue(tmp_path)
    assert reopened.cursor("store") == Cursor(first)
    assert _drain(reopened, reopened.cursor("store").committed) == [b"not yet stored"]
    reopened.close()


def test_the_batch_in_flight_is_persisted_before_delivery_and_cleared_by_the_commit(tmp_path):
    queue = DiskQueue(tmp_path)
    end = queue.append(b"a", b"b")
    queue.begin("store", 0, end, rows_per_insert=500)
    queue.close()
    reopened = DiskQueue(tmp_path)
    assert reopened.cursor("store") == Cursor(0, (0, end), 500)
    reopened.commit("store", end)
    assert reopened.cursor("store") == Cursor(end)
    reopened.close()
    assert not list(tmp_path.glob("*.tmp"))  # cursors are replaced by rename, no temporary left behind


def test_a_segment_is_deleted_only_once_every_consumer_has_committed_past_it(tmp_path):
    queue = DiskQueue(tmp_path, ("store", "forward"), segment_bytes=100)
    ends = [queue.append(b"x" * 60) for _ in range(4)]  # one record per segment
    assert len(_segment_files(tmp_path)) == 4
    queue.commit("store", ends[-1])
    assert len(_segment_files(tmp_path)) == 4  # the forwarder still needs them all
    queue.commit("forward", ends[1])
    assert len(_segment_files(tmp_path)) == 2
    assert queue.lag("forward") == ends[-1] - ends[1]
    queue.commit("forward", ends[-1])
    assert len(_segment_files(tmp_path)) == 1  # the segment being appended to stays
    assert queue.size() == 0
    queue.close()


def test_a_full_queue_refuses_appends_until_a_consumer_commits(tmp_path):
    queue = DiskQueue(tmp_path, max_bytes=1000, segment_bytes=200)
    while True:
        try:
            end = queue.append(b"y" * 92)
        except QueueFull as error:
            assert "1000 bytes" in str(error)
            break
    assert queue.size() == end <= 1000
    queue.commit("store", end)
    queue.append(b"y" * 92)
    queue.close()


def test_a_full_queue_sheds_the_oldest_segment_of_a_sheddable_consumer_and_counts_it(tmp_path):
    queue = DiskQueue(tmp_path, ("store", "forward"), max_bytes=1000, segment_bytes=200, sheddable=("forward",))
    ends = [queue.append(b"z" * 92) for _ in range(10)]
    queue.commit("store", ends[-1])  # storage is done; only the (dead) forward target holds the queue
    queue.append(b"z" * 92)  # fits by skipping the forwarder's oldest segment
    assert queue.shed_bytes["forward"] == ends[1]
    assert queue.read(0)[0].start == ends[1]  # the forwarder resumes at the oldest segment left
    queue.close()


def test_a_full_queue_never_sheds_what_storage_has_not_committed(tmp_path):
    queue = DiskQueue(tmp_path, ("store", "forward"), max_bytes=1000, segment_bytes=200, sheddable=("forward",))
    with pytest.raises(QueueFull):
        for _ in range(20):
            queue.append(b"z" * 92)
    assert queue.shed_bytes["forward"] == 0
    queue.close()


def test_batch_policy_concurrent_appenders_share_fsyncs_and_return_synced(tmp_path, monkeypatch):
    syncs = []
    real_fsync = os.fsync

    def counting_fsync(descriptor: int) -> None:
        syncs.append(descriptor)
        real_fsync(descriptor)

    queue = DiskQueue(tmp_path)
    monkeypatch.setattr(os, "fsync", counting_fsync)
    returned = []

    def append_many() -> None:
        for _ in range(100):
            end = queue.append(b"r" * 100)
            returned.append(end <= queue._synced)  # durable before append() returns

    threads = [threading.Thread(target=append_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(returned) == 800 and all(returned)
    assert 0 < len(syncs) < 800  # appenders that overlap share one fsync (group commit)
    queue.close()


def test_interval_policy_returns_before_the_fsync_and_syncs_within_the_interval(tmp_path):
    queue = DiskQueue(tmp_path, fsync="interval", fsync_interval=0.05)
    end = queue.append(b"fast")
    # consumers see a record only once it is synced, which the background sync does within the interval
    records = queue.read(0, timeout=10)
    assert [record.payload for record in records] == [b"fast"] and records[-1].end == end
    queue.close()


def test_a_second_queue_on_the_same_directory_is_refused(tmp_path):
    queue = DiskQueue(tmp_path)
    with pytest.raises(OSError, match="in use"):
        DiskQueue(tmp_path)
    queue.close()
    DiskQueue(tmp_path).close()


def test_a_corrupt_record_inside_a_full_segment_is_skipped_and_counted(tmp_path):
    queue = DiskQueue(tmp_path, segment_bytes=100)
    first = queue.append(b"a" * 60)
    queue.append(b"b" * 60)
    queue.close()
    with open(_segments.path(tmp_path, 0), "r+b") as file:
        file.seek(20)
        file.write(b"!")
    reopened = DiskQueue(tmp_path, segment_bytes=100)
    assert _drain(reopened, 0) == [b"b" * 60]
    assert reopened.corrupt_bytes == first
    reopened.close()


def test_a_recent_position_is_a_record_boundary_leaving_at_most_the_bytes_asked(tmp_path):
    queue = DiskQueue(tmp_path, segment_bytes=100)
    ends = [queue.append(b"x" * 60) for _ in range(5)]  # one record per segment
    assert queue.recent_position(10_000) == 0
    assert queue.recent_position(150) == ends[2]  # two records left, each starting a segment
    assert queue.recent_position(150, since=ends[3]) == ends[3]
    assert [record.start for record in queue.read(queue.recent_position(150))] == [ends[2]]
    queue.close()


def test_a_record_larger_than_the_whole_queue_is_refused_before_anything_is_written(tmp_path):
    queue = DiskQueue(tmp_path, max_bytes=1 << 16)

    with pytest.raises(RecordTooLarge, match="more than the whole queue holds"):
        queue.append(b"x" * (1 << 16))

    assert queue.size() == 0
    queue.append(b"fits")
    assert queue.size() > 0
    queue.close()


def test_the_latest_records_are_served_from_memory_as_the_file_holds_them(tmp_path):
    queue = DiskQueue(tmp_path, recent_bytes=1000)
    payloads = [bytes([index]) * 300 for index in range(6)]
    ends = [queue.append(payload) for payload in payloads]
    from_file = queue.read(0)  # the first three are no longer kept: all six are read from the file
    assert [record.payload for record in from_file] == payloads
    assert not any(record.payload is payload for record, payload in zip(from_file, payloads, strict=True))
    recent = queue.read(ends[2])  # the last three are: the very objects appended
    assert all(record.payload is payload for record, payload in zip(recent, payloads[3:], strict=True))
    assert recent == from_file[3:]  # at the same positions
    queue.close()


def test_records_not_yet_synced_are_not_served_from_memory_either(tmp_path):
    queue = DiskQueue(tmp_path, fsync="interval", fsync_interval=3600)
    queue.append(b"written, not yet synced")
    assert queue.read(0) == []
    queue.close()  # syncs
    reopened = DiskQueue(tmp_path)
    assert [record.payload for record in reopened.read(0)] == [b"written, not yet synced"]
    reopened.close()
