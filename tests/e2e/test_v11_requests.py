"""PROTOCOL.md v1.1: request ids echoed in answers (Transport, "Request
ids"), the `members` request (Rooms), and content that reaches receivers
byte for byte however the message around it is written (Rooms: "receivers
get a value JSON-equal to it")."""

import json

import pytest

from wsclient import WsClient, is_guest_id, unique_room


def raw_json(c, timeout=5.0):
    """Next text message as (raw bytes, parsed object)."""
    op, payload = c.recv(timeout)
    assert op == 0x1, "expected a text message, got opcode %d" % op
    return payload, json.loads(payload.decode("utf-8"))


# ---- request ids ---------------------------------------------------------

def test_id_echoed_in_every_answer(server):
    room = unique_room()
    with WsClient.connect(server.port) as a:
        j = a.request({"type": "join", "room_id": room, "user_id": "ida", "id": "j-1"})
        assert j["type"] == "joined" and j["id"] == "j-1" and j["room_id"] == room
        h = a.request({"type": "history", "room_id": room, "id": 7})
        assert h["type"] == "history" and h["id"] == 7
        m = a.request({"type": "members", "room_id": room, "id": "m"})
        assert m["type"] == "members" and m["id"] == "m"
        p = a.request({"type": "ping", "id": -3})
        assert p == {"type": "pong", "id": -3}
        e = a.request({"type": "frobnicate", "id": "e-1"})
        assert e["type"] == "error" and e["code"] == "unknown_type" and e["id"] == "e-1"
        e = a.request({"type": "join", "id": 12})
        assert e["code"] == "missing_field" and e["id"] == 12 and e["ref"] == "join"
        e = a.request({"type": "leave", "room_id": unique_room(), "id": "nm"})
        assert e["code"] == "not_member" and e["id"] == "nm"
        left = a.request({"type": "leave", "room_id": room, "id": "l-1"})
        assert left == {"type": "left", "id": "l-1", "room_id": room}


def test_id_without_one_the_answer_has_none(server):
    room = unique_room()
    with WsClient.connect(server.port) as a:
        assert "id" not in a.join(room)
        assert a.request({"type": "ping"}) == {"type": "pong"}
        assert "id" not in a.request({"type": "leave", "room_id": room})


def test_broadcast_echo_carries_no_id(server):
    room = unique_room()
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        a.join(room)
        b.join(room)
        a.send_json({"type": "broadcast", "room_id": room, "content": 1, "id": "b-1"})
        for c in (a, b):
            m = c.expect("broadcast")
            assert "id" not in m and m["content"] == 1


@pytest.mark.parametrize("bad_id", [
    "x" * 65,                     # a string over 64 bytes
    "\u00e9" * 33,                # 66 bytes of UTF-8 in 33 characters
    1.5,                          # not an integer
    1e20,                         # written with an exponent: a float
    10 ** 64,                     # an integer written in 65 bytes
    {"k": 1},
    [1, 2],
    True,
    None,
])
def test_id_of_another_kind_or_too_long_is_ignored(server, bad_id):
    room = unique_room()
    with WsClient.connect(server.port) as a:
        assert a.request({"type": "ping", "id": bad_id}) == {"type": "pong"}
        j = a.request({"type": "join", "room_id": room, "id": bad_id})
        assert j["type"] == "joined" and "id" not in j
        e = a.request({"type": "nope", "id": bad_id})
        assert e["code"] == "unknown_type" and "id" not in e


def test_id_echoed_as_written(server):
    with WsClient.connect(server.port) as a:
        # 64 bytes: echoed; an integer beyond 64 bits and -0: as written
        for text in ('"%s"' % ("y" * 64), '"\\u00e9\\u00e9"',
                     "123456789012345678901234567890", "-0", '"\\ud800"',
                     "-" + "9" * 63):  # an integer of 64 bytes
            a.send_text('{"type":"ping","id":%s}' % text)
            raw, _ = raw_json(a)
            assert raw == b'{"type":"pong","id":' + text.encode() + b"}"


def test_bad_json_error_has_no_id(server):
    with WsClient.connect(server.port) as a:
        a.send_text('{"type":"ping","id":"x",}')
        e = a.expect_error("bad_json")
        assert "id" not in e


# ---- members ---------------------------------------------------------------

def test_members_lists_distinct_users(server):
    room = unique_room()
    with WsClient.connect(server.port) as a1, WsClient.connect(server.port) as a2, \
            WsClient.connect(server.port) as b, WsClient.connect(server.port) as g:
        a1.join(room, "mem-alice")
        a2.join(room, "mem-alice")     # a second connection of the same user
        b.join(room, "mem-bob")
        gj = g.join(room)              # a guest
        r = b.request({"type": "members", "room_id": room})
        assert r["type"] == "members" and r["room_id"] == room
        assert r["members"] == 4, "members counts connections: %r" % r
        assert sorted(r["users"]) == sorted(["mem-alice", "mem-bob", gj["user_id"]])
        assert is_guest_id(gj["user_id"])
        assert "truncated" not in r
        a2.leave(room)
        r = g.request({"type": "members", "room_id": room})
        assert r["members"] == 3 and sorted(r["users"]) == sorted(
            ["mem-alice", "mem-bob", gj["user_id"]])
        a1.leave(room)
        r = g.request({"type": "members", "room_id": room})
        assert r["members"] == 2 and sorted(r["users"]) == sorted(["mem-bob", gj["user_id"]])


def test_members_errors(server):
    room = unique_room()
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        a.join(room)
        b.send_json({"type": "members", "room_id": room})
        b.expect_error("not_member", ref="members")
        b.send_json({"type": "members", "room_id": unique_room()})
        b.expect_error("not_member", ref="members")
        b.send_json({"type": "members"})
        b.expect_error("missing_field", ref="members")
        b.send_json({"type": "members", "room_id": "no spaces"})
        b.expect_error("bad_room", ref="members")


def test_members_truncated_to_what_fits_the_ring(start_server):
    """An answer never outgrows send-ring-bytes (as history's): the list
    is cut and marked truncated."""
    srv = start_server({"send-ring-bytes": "600"})
    room = unique_room("t")
    users = ["trunc-user-%02d-xxxxxxxxxx" % i for i in range(30)]
    clients = []
    try:
        for u in users:
            c = WsClient.connect(srv.port)
            clients.append(c)
            c.join(room, u)
        clients[0].send_json({"type": "members", "room_id": room})
        raw, r = raw_json(clients[0])
        assert r["type"] == "members" and r["members"] == 30
        assert r.get("truncated") is True
        assert 0 < len(r["users"]) < 30
        assert len(set(r["users"])) == len(r["users"])
        assert set(r["users"]) <= set(users)
        assert len(raw) <= 600
    finally:
        for c in clients:
            c.close()


# ---- content byte for byte ---------------------------------------------------

HOSTILE = [
    "123456789012345678901234567890",
    "-0",
    "1e400",
    '{"a":1,"a":2}',
    '"\\ud800"',
    '"x\\udc00y"',
    '[ 1 ,\t2 ,\r\n{ "k" : [ ] } ]',
    '"\\u0000"',
    '"caf\u00e9 \\u00e9 \\ud83d\\ude00"',
    "[" * 60 + "]" * 60,
]


@pytest.mark.parametrize("escaped_keys", [False, True])
def test_content_passes_byte_for_byte(server, escaped_keys):
    room = unique_room()
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        a.join(room, "raw-a")
        b.join(room)
        for content in HOSTILE:
            if escaped_keys:
                text = ('{"t\\u0079pe":"broadcast","room_\\u0069d":"%s",'
                        '"cont\\u0065nt":%s}' % (room, content))
            else:
                text = '{"type":"broadcast","room_id":"%s","content":%s}' % (room, content)
            a.send_text(text)
            for c in (a, b):
                raw, m = raw_json(c)
                assert m["type"] == "broadcast"
                assert raw.endswith(b',"content":' + content.encode() + b"}"), \
                    "content changed on the way: sent %r, got %r" % (content, raw)


def test_duplicate_content_keys_last_wins(server):
    room = unique_room()
    with WsClient.connect(server.port) as a:
        a.join(room)
        a.send_text('{"type":"broadcast","room_id":"%s","content":1,"cont\\u0065nt":[2]}'
                    % room)
        raw, m = raw_json(a)
        assert m["content"] == [2] and raw.endswith(b',"content":[2]}')
