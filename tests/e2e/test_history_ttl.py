"""PROTOCOL.md, Counters: with history on, a room outlives its last member
for history-ttl-s (v1.1), with its seq, epoch and held messages; then it
is freed (a new epoch, recovery answers recovered:false). rooms_active
counts kept rooms."""

import time

import pytest

from serverctl import ServerError
import json

from wsclient import WsClient, http_get, unique_room


def get_stats(port):
    """/stats of the status vhost, plain HTTP always (a port number a
    previous server used for wss:// may come back as a status port)."""
    status, _, body = http_get(port, "/stats", tls=False)
    assert status == 200, (status, body[:200])
    return json.loads(body)

TTL = 2
SIZE = 5


@pytest.fixture(scope="module")
def kserver(start_module_server):
    return start_module_server({"history-size": SIZE, "history-ttl-s": TTL})


def fill(server, room, n):
    """A lone member joins, sends n broadcasts, and goes; returns epoch
    and what it received."""
    with WsClient.connect(server.port) as c:
        epoch = c.join(room, "only")["epoch"]
        got = []
        for i in range(n):
            c.broadcast(room, {"i": i + 1})
            got.append(c.expect("broadcast"))
    return epoch, got


def test_only_member_reconnects_and_recovers(kserver):
    room = unique_room("kept")
    epoch, got = fill(kserver, room, 3)
    time.sleep(0.2)  # the close reached the server: the room is empty
    with WsClient.connect(kserver.port) as c:
        j = c.join(room, "only", since=1, epoch=epoch)
        assert j["recovered"] is True and j["seq"] == 3 and j["epoch"] == epoch, j
        assert [c.expect("broadcast") for _ in range(2)] == got[1:]
        c.expect_silence(0.2)


def test_kept_room_counts_in_rooms_active_and_expires(start_server):
    kserver = start_server({"history-size": SIZE, "history-ttl-s": TTL})
    before = 0
    room = unique_room("ttl")
    epoch, _ = fill(kserver, room, 2)
    time.sleep(0.2)
    s = get_stats(kserver.status_port)
    assert s["rooms_active"] == before + 1, s
    assert s["history_rooms_kept"] >= 1, s
    # freed by the sweep (500 ms ticks) once TTL seconds passed
    deadline = time.monotonic() + TTL + 3
    while time.monotonic() < deadline:
        if get_stats(kserver.status_port)["rooms_active"] == before:
            break
        time.sleep(0.1)
    assert get_stats(kserver.status_port)["rooms_active"] == before
    with WsClient.connect(kserver.port) as c:
        j = c.join(room, since=2, epoch=epoch)
        assert j["recovered"] is False and j["seq"] == 0, j
        assert j["epoch"] != epoch
        c.expect_silence(0.2)


def test_activity_keeps_the_room(kserver):
    """A member that stays keeps the room past TTL; kept time counts from
    the last member leaving."""
    room = unique_room("stay")
    with WsClient.connect(kserver.port) as c:
        epoch = c.join(room)["epoch"]
        c.broadcast(room, 1)
        c.expect("broadcast")
        time.sleep(TTL + 1)
    with WsClient.connect(kserver.port) as c:
        j = c.join(room, since=0, epoch=epoch)
        assert j["recovered"] is True and j["seq"] == 1, j
        assert c.expect("broadcast")["seq"] == 1


# lwsws 4.1.6 goes on when a protocol's init fails: a bad option value
# stops roomcast-server's start (checked before the vhosts are made) but
# not lwsws's, for every option alike
@pytest.mark.server_only
@pytest.mark.parametrize("opt,value", [("history-ttl-s", "-1"), ("history-ttl-s", "x"),
                                       ("history-bytes", "1e6")])
def test_bad_values_stop_the_start(start_server, opt, value):
    with pytest.raises(ServerError) as e:
        start_server({"history-size": 5, opt: value})
    assert opt in str(e.value)


def test_history_bytes_evicts_and_counts(start_server):
    s = start_server({"history-size": 100, "history-bytes": 4000})
    room = unique_room("bytes")
    with WsClient.connect(s.port) as c:
        c.join(room)
        for i in range(40):
            c.broadcast(room, "x" * 200)
            c.expect("broadcast")
        st = get_stats(s.status_port)
        assert st["history_evicted"] > 0 and st["history_bytes"] <= 4000, st
        h = c.request({"type": "history", "room_id": room, "limit": 100})
        seqs = [m["seq"] for m in h["messages"]]
        assert seqs and seqs[-1] == 40 and seqs == list(range(seqs[0], 41))
        assert len(seqs) < 40


def test_history_answer_truncated(start_server):
    s = start_server({"history-size": 50, "send-ring-bytes": 4096})
    room = unique_room("trunc")
    with WsClient.connect(s.port) as c:
        c.join(room)
        for i in range(30):
            c.broadcast(room, "y" * 300)
            c.expect("broadcast")
        h = c.request({"type": "history", "room_id": room, "limit": 30})
        assert h["type"] == "history" and h.get("truncated") is True, {k: h[k] for k in h if k != "messages"}
        seqs = [m["seq"] for m in h["messages"]]
        assert 0 < len(seqs) < 30 and seqs[-1] == 30
        h = c.request({"type": "history", "room_id": room, "limit": 2})
        assert "truncated" not in h and len(h["messages"]) == 2
