"""PROTOCOL.md, Rooms: every row of the table, seq/epoch rules, freeing of
empty rooms, a closed connection leaving all its rooms."""

import pytest

from wsclient import (WsClient, get_stats, is_guest_id, unique_room, wait_stats)

CONTENTS = [
    {"k": "v", "n": 1},
    [1, "two", 3.5, None, True],
    "plain string",
    "ünïcödé € 😀 \"quoted\" \\ back\nslash",
    0,
    -42,
    12345678901234,
    3.25,
    True,
    False,
    None,
    {"deep": {"nested": [{"a": [[], {}, [1, [2, [3]]]]}], "empty": {}}},
    [],
    {},
    "",
    2 ** 70,
    -(2 ** 63),
    1.5e300,
    "\u0000 nul and \u001f control",
]


def test_joined_fields(server):
    room = unique_room()
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        ja = a.join(room, "alice")
        assert ja["type"] == "joined"
        assert ja["room_id"] == room and ja["user_id"] == "alice"
        assert ja["members"] == 1
        assert ja["seq"] == 0
        assert isinstance(ja["epoch"], str) and ja["epoch"] != ""
        jb = b.join(room, "bob")
        assert jb["members"] == 2 and jb["seq"] == 0 and jb["epoch"] == ja["epoch"]
        assert all(type(x) is int for x in (ja["members"], ja["seq"], jb["members"], jb["seq"]))


def test_rejoin_not_an_error_and_no_side_effect(server):
    room = unique_room()
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        ja = a.join(room, "alice")
        b.join(room, "bob")
        a.broadcast(room, "one")
        a.expect("broadcast")
        b.expect("broadcast")
        again = a.join(room, "alice")
        assert again["type"] == "joined" and again["room_id"] == room
        assert again["members"] == 2, "a re-join must not count the member twice: %r" % again
        assert again["seq"] == 1 and again["epoch"] == ja["epoch"]
        again = a.join(room)  # without user_id
        assert again["members"] == 2 and again["user_id"] == "alice"
        # b sees no effect of the re-joins: its next message is the next broadcast
        a.broadcast(room, "two")
        m = b.expect("broadcast")
        assert m["content"] == "two" and m["seq"] == 2
        assert a.expect("broadcast")["seq"] == 2, "a re-joined member gets each message once"
        a.expect_silence(0.2)
        # one leave is enough after two joins
        a.leave(room)
        jc = b.join(room)
        assert jc["members"] == 1


def test_leave_and_left(server):
    room = unique_room()
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        a.join(room)
        b.join(room)
        r = a.request({"type": "leave", "room_id": room})
        assert r == {"type": "left", "room_id": room}
        # a no longer receives the room's messages
        b.broadcast(room, "after-leave")
        assert b.expect("broadcast")["content"] == "after-leave"
        a.expect_silence(0.3)
        # and may not broadcast there
        a.send_json({"type": "broadcast", "room_id": room, "content": 1})
        a.expect_error("not_member", ref="broadcast")
        # leaving again is not_member
        a.send_json({"type": "leave", "room_id": room})
        a.expect_error("not_member", ref="leave")
        a.ping_check()
        assert b.join(room)["members"] == 1


def test_leave_never_joined_room(server):
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        other = unique_room()
        b.join(other)
        a.send_json({"type": "leave", "room_id": other})  # exists, a not in it
        a.expect_error("not_member", ref="leave")
        a.send_json({"type": "leave", "room_id": unique_room()})  # does not exist
        a.expect_error("not_member", ref="leave")
        a.ping_check()
        assert b.join(other)["members"] == 1


def test_broadcast_not_member_reaches_no_one(server):
    room = unique_room()
    with WsClient.connect(server.port) as outsider, WsClient.connect(server.port) as m1, \
            WsClient.connect(server.port) as m2:
        m1.join(room, "m1")
        m2.join(room, "m2")
        outsider.send_json({"type": "broadcast", "room_id": room, "content": "intruder"})
        outsider.expect_error("not_member", ref="broadcast")
        outsider.ping_check()
        # the next message of the members is the next accepted broadcast, seq 1
        m2.broadcast(room, "legit")
        for c in (m1, m2):
            m = c.expect("broadcast")
            assert m["content"] == "legit" and m["seq"] == 1, m
        assert m1.join(room)["seq"] == 1


def test_broadcast_reaches_every_member_including_sender(server):
    room = unique_room()
    clients = [WsClient.connect(server.port) for _ in range(4)]
    try:
        for i, c in enumerate(clients):
            assert c.join(room, "m%d" % i)["members"] == i + 1
        clients[2].broadcast(room, {"hello": "all"})
        for c in clients:
            m = c.expect("broadcast")
            assert m == {"type": "broadcast", "room_id": room, "sender": "m2", "seq": 1,
                         "content": {"hello": "all"}} or (
                m["type"] == "broadcast" and m["room_id"] == room and m["sender"] == "m2"
                and m["seq"] == 1 and m["content"] == {"hello": "all"}), m
        # not to connections outside the room
        with WsClient.connect(server.port) as outside:
            outside.join(unique_room())
            clients[0].broadcast(room, 2)
            for c in clients:
                assert c.expect("broadcast")["seq"] == 2
            outside.expect_silence(0.2)
    finally:
        for c in clients:
            c.close()


def test_broadcast_only_to_its_room(server):
    r1, r2 = unique_room(), unique_room()
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        a.join(r1)
        a.join(r2)
        b.join(r2)
        a.broadcast(r1, "for r1")
        m = a.expect("broadcast")
        assert m["room_id"] == r1 and m["seq"] == 1
        a.broadcast(r2, "for r2")
        m = b.expect("broadcast")
        assert m["room_id"] == r2 and m["content"] == "for r2" and m["seq"] == 1
        assert a.expect("broadcast")["room_id"] == r2


@pytest.mark.parametrize("content", CONTENTS, ids=[repr(c)[:24] for c in CONTENTS])
def test_content_any_json_value(server, content):
    room = unique_room()
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        a.join(room)
        b.join(room)
        a.broadcast(room, content)
        for c in (a, b):
            m = c.expect("broadcast")
            assert "content" in m, m
            got = m["content"]
            assert got == content and type(got) is type(content), (got, content)


def test_content_large_nested_object(server):
    room = unique_room()
    deep = "bottom"
    for i in range(30):
        deep = [deep] if i % 2 else {"d": deep}
    content = {"list": [{"i": i, "s": "x" * (i % 17), "f": i / 8} for i in range(300)],
               "deep": deep}
    with WsClient.connect(server.port) as a:
        a.join(room)
        a.broadcast(room, content)
        assert a.expect("broadcast")["content"] == content


def test_content_with_json_escapes(server):
    """Escaped and raw spellings of the same string are JSON-equal."""
    room = unique_room()
    with WsClient.connect(server.port) as a:
        a.join(room)
        raw = '{"type":"broadcast","room_id":"%s","content":"\\u00e9\\ud83d\\ude00\\n\\"\\/"}' % room
        a.send_text(raw)
        assert a.expect("broadcast")["content"] == "\u00e9\U0001F600\n\"/"


@pytest.mark.parametrize("pid", [None, 7, "abc", {"x": [1, 2]}, 0], ids=["none", "int", "str", "obj", "zero"])
def test_ping_pong(server, pid):
    with WsClient.connect(server.port) as c:
        msg = {"type": "ping"}
        if pid is not None:
            msg["id"] = pid
        r = c.request(msg)
        assert r["type"] == "pong"
        if pid is None or isinstance(pid, dict):
            # v1.1: an id that is not a string or an integer is ignored
            assert "id" not in r, r
        else:
            assert r["id"] == pid and type(r["id"]) is type(pid), r


def test_ping_needs_no_room(server):
    with WsClient.connect(server.port) as c:
        for i in range(5):
            assert c.request({"type": "ping", "id": i}) == {"type": "pong", "id": i} or True
            # (exact form checked above; here: many pings, in order)
        for i in range(20):
            c.send_json({"type": "ping", "id": i})
        for i in range(20):
            assert c.expect("pong")["id"] == i


def test_seq_starts_at_1_and_grows_by_one(server):
    room = unique_room()
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        a.join(room)
        b.join(room)
        for i in range(10):
            (a if i % 2 else b).broadcast(room, i)
        for c in (a, b):
            seqs = [c.expect("broadcast")["seq"] for _ in range(10)]
            assert seqs == list(range(1, 11))
        # rejected messages do not take a seq
        a.send_json({"type": "broadcast", "room_id": room})
        a.expect_error("missing_field", ref="broadcast")
        a.broadcast(room, "next")
        assert a.expect("broadcast")["seq"] == 11
        assert b.expect("broadcast")["seq"] == 11


def test_seq_per_room(server):
    r1, r2 = unique_room(), unique_room()
    with WsClient.connect(server.port) as a:
        a.join(r1)
        a.join(r2)
        for room in (r1, r1, r2, r1, r2):
            a.broadcast(room, room)
        got = [(m["room_id"], m["seq"]) for m in (a.expect("broadcast") for _ in range(5))]
        assert got == [(r1, 1), (r1, 2), (r2, 1), (r1, 3), (r2, 2)]


def test_joined_carries_last_seq(server):
    room = unique_room()
    with WsClient.connect(server.port) as a:
        j0 = a.join(room)
        for i in range(3):
            a.broadcast(room, i)
            a.expect("broadcast")
        with WsClient.connect(server.port) as b:
            jb = b.join(room)
            assert jb["seq"] == 3 and jb["epoch"] == j0["epoch"] and jb["members"] == 2
            a.broadcast(room, "fourth")
            assert b.expect("broadcast")["seq"] == 4


def test_room_freed_when_empty_new_epoch(start_server):
    srv = start_server()
    room = unique_room()
    with WsClient.connect(srv.port) as a, WsClient.connect(srv.port) as b:
        j = a.join(room)
        b.join(room)
        for i in range(2):
            a.broadcast(room, i)
        for c in (a, b):
            assert [c.expect("broadcast")["seq"] for _ in range(2)] == [1, 2]
        assert get_stats(srv.status_port)["rooms_active"] == 1
        a.leave(room)
        assert get_stats(srv.status_port)["rooms_active"] == 1  # b still there
        b.leave(room)
        wait_stats(srv.status_port, lambda s: s["rooms_active"] == 0, 2, "rooms_active == 0")
        j2 = a.join(room)
        assert j2["seq"] == 0 and j2["members"] == 1
        assert isinstance(j2["epoch"], str) and j2["epoch"] != j["epoch"], (j, j2)
        a.broadcast(room, "fresh")
        assert a.expect("broadcast")["seq"] == 1


def test_epoch_changes_across_restart(start_server):
    room = "restart-room"
    epochs = []
    for _ in range(2):
        srv = start_server()
        with WsClient.connect(srv.port) as a:
            epochs.append(a.join(room)["epoch"])
        srv.stop()
    assert epochs[0] != epochs[1], "epoch must change across a restart without history: %r" % epochs


@pytest.mark.parametrize("how", ["clean", "fin", "rst"])
def test_closed_connection_leaves_all_rooms(start_server, how):
    srv = start_server()
    r1, r2, r3 = unique_room(), unique_room(), unique_room()
    x = WsClient.connect(srv.port)
    y = WsClient.connect(srv.port)
    for r in (r1, r2, r3):
        x.join(r, "x")
    y.join(r1, "y")
    assert get_stats(srv.status_port)["rooms_active"] == 3
    if how == "clean":
        x.close()
    elif how == "fin":
        x.drop()
    else:
        x.abort()
    wait_stats(srv.status_port, lambda s: s["connections_active"] == 1, 5, "x's close to be seen")
    s = get_stats(srv.status_port)
    assert s["rooms_active"] == 1, "r2 and r3 must be freed at once: %r" % s
    z = WsClient.connect(srv.port)
    assert z.join(r1)["members"] == 2  # y and z
    j2 = z.join(r2)
    assert j2["members"] == 1 and j2["seq"] == 0
    # the survivors' room still works and x is gone from it
    y.broadcast(r1, "still here")
    assert y.expect("broadcast")["seq"] == 1
    assert z.expect("broadcast")["seq"] == 1
    y.close()
    z.abort()
    wait_stats(srv.status_port, lambda s: s["connections_active"] == 0 and s["rooms_active"] == 0,
               5, "all rooms freed")


def test_broadcast_to_member_that_vanished(start_server):
    """Writing to a member whose socket was reset must not disturb others."""
    srv = start_server()
    room = unique_room()
    pub = WsClient.connect(srv.port)
    pub.join(room)
    victims = [WsClient.connect(srv.port) for _ in range(5)]
    for v in victims:
        v.join(room)
    for v in victims:
        v.abort()
    for i in range(50):
        pub.broadcast(room, "x" * 2000)
    for i in range(50):
        assert pub.expect("broadcast")["seq"] == i + 1
    wait_stats(srv.status_port, lambda s: s["connections_active"] == 1, 5, "victims gone")
    assert pub.join(room)["members"] == 1
    pub.close()


def test_many_rooms_per_connection_and_members(server):
    rooms = [unique_room("many") for _ in range(20)]
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        for r in rooms:
            a.join(r)
        for r in rooms:
            assert b.join(r)["members"] == 2
        for r in rooms:
            a.broadcast(r, r)
        got = [b.expect("broadcast") for _ in rooms]
        assert [(m["room_id"], m["content"], m["seq"]) for m in got] == [(r, r, 1) for r in rooms]


def test_guest_joined_user_id(server):
    with WsClient.connect(server.port) as a:
        j = a.join(unique_room())
        assert is_guest_id(j["user_id"])
