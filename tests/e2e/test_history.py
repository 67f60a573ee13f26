"""PROTOCOL.md, History and recovery (history-size, in memory).

Skipped as a whole when the server refuses `history-size` at start (a
build without history)."""

import pytest

from serverctl import ServerError
from wsclient import WsClient, unique_room

SIZE = 5


@pytest.fixture(scope="module")
def hserver(start_module_server):
    try:
        return start_module_server({"history-size": SIZE})
    except ServerError as e:
        if "not supported" in str(e) or "history" in str(e):
            pytest.skip("this build refuses history-size: %s" % str(e).splitlines()[-1][:200])
        raise


def room_with(server, n):
    """A room holding a keeper member and n broadcasts; returns
    (keeper client, room, epoch, list of the broadcasts as received)."""
    room = unique_room("hist")
    k = WsClient.connect(server.port)
    epoch = k.join(room, "keeper")["epoch"]
    got = []
    for i in range(n):
        k.broadcast(room, {"i": i + 1})
        got.append(k.expect("broadcast"))
    assert [m["seq"] for m in got] == list(range(1, n + 1))
    return k, room, epoch, got


def test_recover_all_missed(hserver):
    k, room, epoch, sent = room_with(hserver, 3)
    try:
        with WsClient.connect(hserver.port) as c:
            j = c.join(room, since=1, epoch=epoch)
            assert j["recovered"] is True and j["seq"] == 3, j
            replay = [c.expect("broadcast") for _ in range(2)]
            assert replay == sent[1:], replay
            k.broadcast(room, "new")
            m = c.expect("broadcast")
            assert m["seq"] == 4 and m["content"] == "new"
    finally:
        k.close()


def test_recover_from_zero(hserver):
    k, room, epoch, sent = room_with(hserver, 3)
    try:
        with WsClient.connect(hserver.port) as c:
            j = c.join(room, since=0, epoch=epoch)
            assert j["recovered"] is True
            assert [c.expect("broadcast") for _ in range(3)] == sent
            c.ping_check()
    finally:
        k.close()


def test_nothing_missed_is_recovered(hserver):
    k, room, epoch, sent = room_with(hserver, 2)
    try:
        with WsClient.connect(hserver.port) as c:
            j = c.join(room, since=2, epoch=epoch)
            assert j["recovered"] is True
            c.ping_check()  # nothing replayed
    finally:
        k.close()


def test_partial_history_never_replayed(hserver):
    k, room, epoch, sent = room_with(hserver, SIZE + 3)  # holds seq 4..8
    try:
        with WsClient.connect(hserver.port) as c:
            j = c.join(room, since=2, epoch=epoch)  # 3 was lost
            assert j["recovered"] is False, j
            c.ping_check()  # nothing replayed
        with WsClient.connect(hserver.port) as c:
            j = c.join(room, since=3, epoch=epoch)  # 4..8 all held
            assert j["recovered"] is True, j
            assert [c.expect("broadcast") for _ in range(SIZE)] == sent[3:]
            c.ping_check()
    finally:
        k.close()


@pytest.mark.parametrize("case", ["wrong-epoch", "no-epoch", "since-above-seq"])
def test_no_recovery(hserver, case):
    k, room, epoch, sent = room_with(hserver, 3)
    try:
        extra = {"wrong-epoch": {"since": 1, "epoch": epoch + "x"},
                 "no-epoch": {"since": 1},
                 "since-above-seq": {"since": 7, "epoch": epoch}}[case]
        with WsClient.connect(hserver.port) as c:
            j = c.join(room, **extra)
            assert j["recovered"] is False, j
            c.ping_check()
    finally:
        k.close()


def test_joined_before_replay_and_replay_before_new(hserver):
    k, room, epoch, sent = room_with(hserver, 4)
    try:
        with WsClient.connect(hserver.port) as c:
            c.send_json({"type": "join", "room_id": room, "since": 0, "epoch": epoch})
            k.broadcast(room, "concurrent")
            first = c.recv_json()
            assert first["type"] == "joined", "joined must come before the replay: %r" % first
            seqs = [c.expect("broadcast")["seq"] for _ in range(5)]
            assert seqs == [1, 2, 3, 4, 5]
    finally:
        k.close()


def test_history_request(hserver):
    k, room, epoch, sent = room_with(hserver, SIZE + 2)
    try:
        r = k.request({"type": "history", "room_id": room, "limit": 2})
        assert r["type"] == "history" and r["room_id"] == room
        assert r["messages"] == sent[-2:]
        r = k.request({"type": "history", "room_id": room})
        assert r["messages"] == sent[-SIZE:], "default limit 100, at most history-size"
        r = k.request({"type": "history", "room_id": room, "limit": 1000})
        assert r["messages"] == sent[-SIZE:]
        k.ping_check()
    finally:
        k.close()


def test_history_of_new_room_empty(hserver):
    with WsClient.connect(hserver.port) as c:
        room = unique_room()
        c.join(room)
        r = c.request({"type": "history", "room_id": room})
        assert r == {"type": "history", "room_id": room, "messages": []} or r["messages"] == []


@pytest.mark.parametrize("limit", [0, -1, 1.5, "3", None, True])
def test_history_bad_limit(hserver, limit):
    k, room, epoch, sent = room_with(hserver, 1)
    try:
        k.send_json({"type": "history", "room_id": room, "limit": limit})
        k.expect_error("missing_field", "history")
        k.ping_check()
    finally:
        k.close()


def test_history_errors(hserver):
    k, room, epoch, sent = room_with(hserver, 1)
    try:
        with WsClient.connect(hserver.port) as c:
            c.send_json({"type": "history", "room_id": room})
            c.expect_error("not_member", "history")
            c.send_json({"type": "history"})
            c.expect_error("missing_field", "history")
            c.send_json({"type": "history", "room_id": "bad room"})
            c.expect_error("bad_room", "history")
            c.ping_check()
    finally:
        k.close()


@pytest.mark.parametrize("extra", [{"since": "1", "epoch": "e"}, {"since": 1, "epoch": 5}])
def test_join_bad_since_epoch_types(hserver, extra):
    with WsClient.connect(hserver.port) as c:
        c.send_json(dict({"type": "join", "room_id": unique_room()}, **extra))
        c.expect_error("missing_field", "join")
        c.ping_check()
