"""PROTOCOL.md, Slow clients (send rings): a member that stops reading loses
messages (policy drop) or is closed with 4001 (policy close); the
publisher and the other members are not delayed and lose nothing."""

import os
import threading
import time

import pytest

from wsclient import (ConnectionClosed, WsClient, build_frame, dumps, get_stats, unique_room,
                      wait_stats, OP_TEXT)

CONTENT = "z" * 4000        # large-ish message body
# broadcasts the publisher writes at once (one TCP write), then waits for
# its echoes and for the fast member; more than send-ring-size on purpose
BATCH = int(os.environ.get("ROOMCAST_E2E_SLOW_BATCH", "8"))
MAX_MESSAGES = 4000         # bound of the flood
FLOOD_SECONDS = 30.0        # bound of the flood
AFTER_FIRST_DROP = 10       # batches sent once the first drop was counted


class Reader(threading.Thread):
    """Reads one client's messages in the background and records them."""

    def __init__(self, client):
        super().__init__(daemon=True)
        self.c = client
        self.msgs = []
        self.error = None
        self.stop = False
        self.cond = threading.Condition()

    def run(self):
        try:
            while not self.stop:
                try:
                    m = self.c.recv_json(0.2)
                except TimeoutError:
                    continue
                with self.cond:
                    self.msgs.append(m)
                    self.cond.notify_all()
        except BaseException as e:  # reported by the test
            self.error = e

    def broadcasts(self):
        with self.cond:
            return [m for m in self.msgs if m.get("type") == "broadcast"]

    def wait_count(self, n, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while sum(1 for m in self.msgs if m.get("type") == "broadcast") < n:
                if self.error:
                    raise AssertionError("reader failed: %r" % (self.error,))
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


def flood(srv, pub, fast_readers, rooms, until, what):
    """Publisher sends batches of BATCH broadcasts (alternating rooms); after
    each batch it reads its own echoes, and the next batch waits until every
    fast member has all messages so far (so fast members never fall behind).
    Stops `AFTER_FIRST_DROP` batches after until(stats) first holds.
    Returns {room: last seq} and the list of publisher echo times."""
    sent = 0
    last_seq = {r: 0 for r in rooms}
    batch_times = []
    extra = None
    t_end = time.monotonic() + FLOOD_SECONDS
    while sent < MAX_MESSAGES and time.monotonic() < t_end:
        frames = []
        order = []
        for i in range(BATCH):
            room = rooms[(sent + i) % len(rooms)]
            frames.append(build_frame(OP_TEXT, dumps(
                {"type": "broadcast", "room_id": room, "content": {"n": sent + i, "pad": CONTENT}})))
            order.append(room)
        t0 = time.monotonic()
        pub.send_raw(b"".join(frames))
        for i, room in enumerate(order):
            m = pub.recv_json(5)
            assert m.get("type") == "broadcast", "publisher got %r instead of its echo" % m
            assert m["room_id"] == room and m["content"]["n"] == sent + i
            last_seq[room] += 1
            assert m["seq"] == last_seq[room], "publisher sees a seq gap: %r" % m["seq"]
        batch_times.append(time.monotonic() - t0)
        sent += BATCH
        for r in fast_readers:
            assert r.wait_count(sent, 10), "a fast member fell behind (%d of %d)" % (
                len(r.broadcasts()), sent)
        if extra is None:
            if until(get_stats(srv.status_port)):
                extra = AFTER_FIRST_DROP
        else:
            extra -= 1
            if extra <= 0:
                break
    assert extra is not None, "%s never happened within %d messages / %.0f s" % (
        what, MAX_MESSAGES, FLOOD_SECONDS)
    return last_seq, batch_times, sent


def check_fast(reader, rooms, last_seq, sent):
    assert reader.error is None, reader.error
    got = reader.broadcasts()
    assert len(got) == sent
    notices = [m for m in reader.msgs if m.get("type") == "dropped"]
    assert not notices, "a fast member got dropped notices: %r" % notices
    for room in rooms:
        seqs = [m["seq"] for m in got if m["room_id"] == room]
        assert seqs == list(range(1, last_seq[room] + 1)), "fast member has gaps in %s" % room


def setup_room_members(srv, rooms):
    pub = WsClient.connect(srv.port)
    fast = WsClient.connect(srv.port)
    slow = WsClient.connect(srv.port, rcvbuf=4096)
    for c, name in ((pub, "pub"), (fast, "fast"), (slow, "slow")):
        for r in rooms:
            c.join(r, name)
    return pub, fast, slow


@pytest.mark.timeout_s(90)
@pytest.mark.parametrize("options", [
    {"send-ring-size": 4},
    {"send-ring-bytes": 16384},
], ids=["ring-size-4", "ring-bytes-16k"])
def test_slow_member_drops_and_notice(start_server, options):
    srv = start_server(options)
    rooms = [unique_room("slowA"), unique_room("slowB")]
    pub, fast, slow = setup_room_members(srv, rooms)
    reader = Reader(fast)
    reader.start()
    try:
        # slow stops reading now
        last_seq, times, sent = flood(srv, pub, [reader], rooms,
                                      lambda s: s["messages_dropped"] > 0, "a drop")
        check_fast(reader, rooms, last_seq, sent)
        assert max(times) < 3.0, "the publisher was delayed: slowest batch %.2f s" % max(times)

        # the slow member reads again: the notice comes without a new message
        events = []
        deadline = time.monotonic() + 15
        while not any(e.get("type") == "dropped" for e in events):
            assert time.monotonic() < deadline, "no dropped notice after reading again"
            events.append(slow.recv_json(max(0.01, deadline - time.monotonic())))
        while True:
            try:
                events.append(slow.recv_json(0.5))
            except TimeoutError:
                break

        # final markers make the tail gaps visible
        for r in rooms:
            pub.broadcast(r, "final")
        for r in rooms:
            m = pub.expect("broadcast")
            last_seq[m["room_id"]] = m["seq"]
            assert m["content"] == "final"
        finals = 0
        while finals < len(rooms):
            m = slow.recv_json(10)
            events.append(m)
            if m.get("type") == "broadcast" and m["content"] == "final":
                finals += 1

        # exact accounting
        prev = {r: 0 for r in rooms}
        gaps_so_far = 0
        notices_so_far = 0
        received = 0
        for e in events:
            if e.get("type") == "dropped":
                assert set(e) == {"type", "count"} or "count" in e, e
                assert type(e["count"]) is int and e["count"] > 0, e
                notices_so_far += e["count"]
            elif e.get("type") == "broadcast":
                room = e["room_id"]
                assert e["seq"] > prev[room], "out of order or duplicate in %s: %r" % (room, e["seq"])
                gaps_so_far += e["seq"] - prev[room] - 1
                prev[room] = e["seq"]
                received += 1
                assert gaps_so_far <= notices_so_far, (
                    "a gap appeared before the dropped notice that covers it "
                    "(gaps %d, notices %d at %s seq %d)" % (gaps_so_far, notices_so_far, room, e["seq"]))
            else:
                raise AssertionError("unexpected message to the slow member: %r" % e)
        assert prev == last_seq, "slow member did not get the final messages: %r vs %r" % (prev, last_seq)
        total_gaps = sum(last_seq.values()) - received
        assert total_gaps > 0, "no message was dropped"
        assert notices_so_far == total_gaps, "dropped counts %d != gaps %d" % (notices_so_far, total_gaps)
        print("drop policy: %d sent per member, slow received %d, gaps %d, %d notices"
              % (sum(last_seq.values()), received, total_gaps,
                 sum(1 for e in events if e.get("type") == "dropped")))
        stats = get_stats(srv.status_port)
        assert stats["messages_dropped"] == total_gaps, (stats, total_gaps)

        # everyone still works
        pub.broadcast(rooms[0], "after")
        assert slow.expect("broadcast")["content"] == "after"
        assert reader.wait_count(sent + len(rooms) + 1, 5)
    finally:
        reader.stop = True
        reader.join(2)
        for c in (pub, fast, slow):
            c.abort()


@pytest.mark.timeout_s(90)
def test_slow_member_closed_with_policy_close(start_server):
    srv = start_server({"send-ring-size": 4, "drop-policy": "close"})
    rooms = [unique_room("closeA")]
    pub, fast, slow = setup_room_members(srv, rooms)
    reader = Reader(fast)
    reader.start()
    try:
        last_seq, times, sent = flood(srv, pub, [reader], rooms,
                                      lambda s: s["connections_active"] < 3, "the slow member's close")
        check_fast(reader, rooms, last_seq, sent)
        assert max(times) < 3.0, "the publisher was delayed: slowest batch %.2f s" % max(times)
        s = wait_stats(srv.status_port, lambda s: s["connections_active"] == 2, 5, "slow closed")
        assert s["messages_dropped"] == 0, "policy close drops nothing: %r" % s

        # what the slow member sees when it reads again
        seqs = []
        code = how = None
        deadline = time.monotonic() + 15
        try:
            while time.monotonic() < deadline:
                m = slow.recv_json(max(0.01, deadline - time.monotonic()))
                assert m.get("type") == "broadcast", "unexpected %r" % m
                seqs.append(m["seq"])
        except ConnectionClosed as e:
            code, how = e.code, e.how
        print("policy close observed by the slow member: %s, close code %r, after %d messages"
              % (how, code, len(seqs)))
        assert how is not None, "the slow member's connection did not end"
        if how == "close-frame":
            assert code == 4001, "slow consumer close code must be 4001, got %r" % code
        assert seqs == list(range(1, len(seqs) + 1)), "messages before the close have gaps"

        # the others continue
        pub.broadcast(rooms[0], "after close")
        m = pub.expect("broadcast")
        assert m["seq"] == last_seq[rooms[0]] + 1
        assert reader.wait_count(sent + 1, 5)
        assert pub.join(rooms[0])["members"] == 2
    finally:
        reader.stop = True
        reader.join(2)
        for c in (pub, fast, slow):
            c.abort()


@pytest.mark.timeout_s(60)
@pytest.mark.parametrize("ring", [16, 256])
def test_burst_in_one_write_reaches_every_member(start_server, ring):
    """A publisher's burst arrives in one TCP write, which the server reads
    a few hundred bytes to 4 KB at a time (fewer with a small ring: a read
    holds at most 3/8 of it, docs/PERFORMANCE.md). It holds the members' writes until the
    burst is read (so each member's frames leave batched), but never for
    more than a quarter of the send ring: members whose sockets take
    everything lose nothing, even with a small ring. (With a ring of 4 a
    burst can overflow it whatever the server holds: one turn of its loop
    reads several messages before any member is written.)"""
    burst = 200
    srv = start_server({"send-ring-size": ring})
    room = unique_room("burst")
    pub = WsClient.connect(srv.port)
    members = [WsClient.connect(srv.port) for _ in range(3)]
    for i, c in enumerate([pub] + members):
        c.join(room, "u%d" % i)
    try:
        frames = b"".join(build_frame(OP_TEXT, dumps(
            {"type": "broadcast", "room_id": room, "content": n})) for n in range(burst))
        pub.send_raw(frames)
        for c in [pub] + members:
            got = []
            while len(got) < burst:
                m = c.recv_json(10)
                assert m.get("type") == "broadcast", "got %r (%d of %d broadcasts so far)" % (
                    m, len(got), burst)
                got.append(m)
            assert [m["content"] for m in got] == list(range(burst))
            assert [m["seq"] for m in got] == list(range(1, burst + 1))
        assert get_stats(srv.status_port)["messages_dropped"] == 0
    finally:
        for c in [pub] + members:
            c.abort()


@pytest.mark.timeout_s(30)
def test_message_not_held_behind_an_unfinished_one(start_server):
    """A whole message followed in the same write by the start of a large
    one that never finishes: the members get the whole message at once;
    holding writes while the sender has input waiting does not wait for
    the rest."""
    srv = start_server()
    room = unique_room("held")
    pub = WsClient.connect(srv.port)
    member = WsClient.connect(srv.port)
    pub.join(room, "pub")
    member.join(room, "member")
    try:
        whole = build_frame(OP_TEXT, dumps({"type": "broadcast", "room_id": room, "content": "first"}))
        big = build_frame(OP_TEXT, dumps({"type": "broadcast", "room_id": room, "content": "y" * 20000}))
        t0 = time.monotonic()
        pub.send_raw(whole + big[:8000])
        m = member.recv_json(5)
        assert m["type"] == "broadcast" and m["content"] == "first", m
        assert time.monotonic() - t0 < 1.0
        pub.send_raw(big[8000:])
        m = member.recv_json(5)
        assert m["type"] == "broadcast" and m["content"] == "y" * 20000
    finally:
        pub.abort()
        member.abort()
