"""PROTOCOL.md, Errors: every v1 core code, its `ref`, the precedence order,
room_limit, rate_limited; the connection stays usable after each error."""

import time

import pytest

from wsclient import OP_TEXT, WsClient, build_frame, dumps, is_guest_id, unique_room

R = "room-ok"          # a valid room id (the tests below never join it)
BAD_ROOM = "bad room"  # breaks the room rule
BAD_USER = "bad user"  # breaks the user rule

# (raw text sent, expected code, expected ref or None = no "ref" field)
STATELESS_CASES = [
    # bad_json: not JSON, or JSON that is not an object
    ("not json", "bad_json", None),
    ("{", "bad_json", None),
    ('{"type":"ping"', "bad_json", None),
    ('{"type":"ping"}}', "bad_json", None),
    ("[1]", "bad_json", None),
    ('"x"', "bad_json", None),
    ("1", "bad_json", None),
    ("null", "bad_json", None),
    ("true", "bad_json", None),
    ("", "bad_json", None),
    ("   ", "bad_json", None),
    ('[{"type":"ping"}]', "bad_json", None),
    # unknown_type: missing / not a string (no ref: unreadable) / unknown (ref)
    ("{}", "unknown_type", None),
    ('{"room_id":"r"}', "unknown_type", None),
    ('{"type":5}', "unknown_type", None),
    ('{"type":null}', "unknown_type", None),
    ('{"type":["join"]}', "unknown_type", None),
    ('{"type":{"t":"join"}}', "unknown_type", None),
    ('{"type":"nosuch"}', "unknown_type", "nosuch"),
    ('{"type":""}', "unknown_type", ""),
    ('{"type":"JOIN","room_id":"r"}', "unknown_type", "JOIN"),
    ('{"type":"joined","room_id":"r"}', "unknown_type", "joined"),
    # missing_field: required field missing or of the wrong JSON type
    ('{"type":"join"}', "missing_field", "join"),
    ('{"type":"join","room_id":null}', "missing_field", "join"),
    ('{"type":"join","room_id":5}', "missing_field", "join"),
    ('{"type":"join","room_id":["r"]}', "missing_field", "join"),
    ('{"type":"join","room_id":{"id":"r"}}', "missing_field", "join"),
    ('{"type":"join","room_id":"r","user_id":5}', "missing_field", "join"),
    ('{"type":"join","room_id":"r","user_id":true}', "missing_field", "join"),
    ('{"type":"join","room_id":"r","user_id":["u"]}', "missing_field", "join"),
    ('{"type":"leave"}', "missing_field", "leave"),
    ('{"type":"leave","room_id":1}', "missing_field", "leave"),
    ('{"type":"broadcast","content":1}', "missing_field", "broadcast"),
    ('{"type":"broadcast","room_id":"r"}', "missing_field", "broadcast"),
    ('{"type":"broadcast","room_id":false,"content":1}', "missing_field", "broadcast"),
    # bad_room
    ('{"type":"join","room_id":""}', "bad_room", "join"),
    ('{"type":"join","room_id":"%s"}' % ("r" * 129), "bad_room", "join"),
    ('{"type":"join","room_id":"a b"}', "bad_room", "join"),
    ('{"type":"join","room_id":"a/b"}', "bad_room", "join"),
    ('{"type":"join","room_id":"a@b"}', "bad_room", "join"),  # @ is for user ids only
    ('{"type":"join","room_id":"a#b"}', "bad_room", "join"),
    ('{"type":"join","room_id":"a*"}', "bad_room", "join"),
    ('{"type":"join","room_id":"\u00e9t\u00e9"}', "bad_room", "join"),
    ('{"type":"join","room_id":"a\\u0000b"}', "bad_room", "join"),
    ('{"type":"join","room_id":"a\\nb"}', "bad_room", "join"),
    ('{"type":"leave","room_id":""}', "bad_room", "leave"),
    ('{"type":"leave","room_id":"a b"}', "bad_room", "leave"),
    ('{"type":"broadcast","room_id":"a b","content":1}', "bad_room", "broadcast"),
    ('{"type":"broadcast","room_id":"%s","content":1}' % ("r" * 129), "bad_room", "broadcast"),
    # bad_user
    ('{"type":"join","room_id":"r","user_id":""}', "bad_user", "join"),
    ('{"type":"join","room_id":"r","user_id":"%s"}' % ("u" * 65), "bad_user", "join"),
    ('{"type":"join","room_id":"r","user_id":"a b"}', "bad_user", "join"),
    ('{"type":"join","room_id":"r","user_id":"a/b"}', "bad_user", "join"),
    # not_member
    ('{"type":"leave","room_id":"%s"}' % R, "not_member", "leave"),
    ('{"type":"broadcast","room_id":"%s","content":1}' % R, "not_member", "broadcast"),
    # precedence: the first applicable code wins
    ('{"type":7,"room_id":"a b","user_id":"a b"}', "unknown_type", None),
    ('{"type":"nosuch","room_id":"a b"}', "unknown_type", "nosuch"),
    ('{"room_id":5}', "unknown_type", None),
    ('{"type":"join","user_id":"a b"}', "missing_field", "join"),
    ('{"type":"join","room_id":"a b","user_id":5}', "missing_field", "join"),
    ('{"type":"join","room_id":7,"user_id":"a b"}', "missing_field", "join"),
    ('{"type":"broadcast","room_id":"a b"}', "missing_field", "broadcast"),
    ('{"type":"broadcast","room_id":"%s"}' % R, "missing_field", "broadcast"),  # not member too
    ('{"type":"broadcast","content":1,"room_id":""}', "bad_room", "broadcast"),
    ('{"type":"join","room_id":"a b","user_id":"ok"}', "bad_room", "join"),
    ('{"type":"join","room_id":"ok","user_id":"a b"}', "bad_user", "join"),
    ('{"type":"leave","room_id":"a b"}', "bad_room", "leave"),   # not member too
]


def case_id(case):
    raw, code, ref = case
    return "%s:%s" % (code, raw[:40])


@pytest.mark.parametrize("case", STATELESS_CASES, ids=[case_id(c) for c in STATELESS_CASES])
def test_error_code_and_ref(server, case):
    raw, code, ref = case
    with WsClient.connect(server.port) as c:
        c.send_text(raw)
        c.expect_error(code, ref)
        c.ping_check()


def test_bad_room_or_bad_user_when_both(server):
    """Same tier: either code is right, nothing else is."""
    with WsClient.connect(server.port) as c:
        c.send_json({"type": "join", "room_id": BAD_ROOM, "user_id": BAD_USER})
        m = c.recv_json()
        assert m.get("type") == "error" and m.get("code") in ("bad_room", "bad_user"), m
        assert m.get("ref") == "join"
        c.ping_check()


def test_error_message_shape(server):
    with WsClient.connect(server.port) as c:
        c.send_text("nope")
        m = c.recv_json()
        assert set(m) == {"type", "code", "message"}, m
        assert isinstance(m["message"], str) and m["message"]
        c.send_text('{"type":"join"}')
        m = c.recv_json()
        assert set(m) == {"type", "code", "message", "ref"}, m


def test_valid_room_ids(server):
    with WsClient.connect(server.port) as c:
        for room in ("r" * 128, "AZaz09_.:-", "a", "1", "room.name:part-2_x"):
            j = c.join(room)
            assert j["room_id"] == room
            c.leave(room)


def test_user_mismatch_precedence(server):
    with WsClient.connect(server.port) as c:
        c.join(unique_room(), "alice")
        # bad_room beats user_mismatch
        c.send_json({"type": "join", "room_id": BAD_ROOM, "user_id": "bob"})
        c.expect_error("bad_room", "join")
        # bad_user beats user_mismatch
        c.send_json({"type": "join", "room_id": unique_room(), "user_id": BAD_USER})
        c.expect_error("bad_user", "join")
        # missing_field beats user_mismatch
        c.send_json({"type": "join", "user_id": "bob"})
        c.expect_error("missing_field", "join")
        c.send_json({"type": "join", "room_id": unique_room(), "user_id": "bob"})
        c.expect_error("user_mismatch", "join")
        c.ping_check()


def test_errors_in_sequence_keep_connection(server):
    """Many errors on one connection, each followed by a working request."""
    room = unique_room()
    with WsClient.connect(server.port) as c:
        j = c.join(room, "keeper")
        for raw, code, ref in STATELESS_CASES:
            if code == "not_member":
                continue
            c.send_text(raw)
            c.expect_error(code, ref)
        c.send_binary(b"\x00")
        c.expect_error("bad_frame", None)
        c.broadcast(room, "still fine")
        m = c.expect("broadcast")
        assert m["seq"] == 1 and m["sender"] == "keeper"
        assert c.join(room)["epoch"] == j["epoch"]


# ---- room_limit ----------------------------------------------------------------

@pytest.fixture(scope="module")
def limit_server(start_module_server):
    return start_module_server({"max-rooms-per-connection": 2})


def test_room_limit(limit_server):
    r1, r2, r3 = unique_room(), unique_room(), unique_room()
    with WsClient.connect(limit_server.port) as c, WsClient.connect(limit_server.port) as o:
        c.join(r1, "lim")
        c.join(r2)
        c.send_json({"type": "join", "room_id": r3})
        c.expect_error("room_limit", "join")
        c.ping_check()
        # the refused join did not create or join r3
        assert o.join(r3)["members"] == 1
        # a re-join of a room already held is not over the limit
        assert c.join(r1)["type"] == "joined"
        c.leave(r1)
        assert c.join(r3)["members"] == 2
        c.send_json({"type": "join", "room_id": r1})
        c.expect_error("room_limit", "join")
        # other connections have their own count
        o.join(r1)
        c.ping_check()


def test_room_limit_precedence(limit_server):
    with WsClient.connect(limit_server.port) as c:
        c.join(unique_room(), "full")
        c.join(unique_room())
        c.send_json({"type": "join", "room_id": unique_room(), "user_id": "other"})
        c.expect_error("user_mismatch", "join")  # user_mismatch before room_limit
        c.send_json({"type": "join", "room_id": BAD_ROOM})
        c.expect_error("bad_room", "join")
        c.send_json({"type": "join", "room_id": unique_room(), "user_id": BAD_USER})
        c.expect_error("bad_user", "join")
        c.send_json({"type": "join"})
        c.expect_error("missing_field", "join")
        c.send_json({"type": "join", "room_id": unique_room(), "user_id": "full"})
        c.expect_error("room_limit", "join")
        c.ping_check()


# ---- rate_limited ----------------------------------------------------------------

RATE = 5


@pytest.fixture(scope="module")
def rate_server(start_module_server):
    return start_module_server({"max-messages-per-second": RATE})


def burst(c, msgs):
    """Send all messages in one write so they arrive within a millisecond."""
    c.send_raw(b"".join(build_frame(OP_TEXT, m.encode()) for m in msgs))


def test_rate_limit_token_bucket(rate_server):
    with WsClient.connect(rate_server.port) as c:
        burst(c, [dumps({"type": "ping", "id": i}) for i in range(RATE + 3)])
        for i in range(RATE):
            m = c.recv_json()
            assert m == {"type": "pong", "id": i} or (m.get("type") == "pong" and m.get("id") == i), \
                "message %d of the burst should pass: %r" % (i, m)
        for i in range(3):
            c.expect_error("rate_limited", None)
        c.expect_silence(0.1)
        # the bucket refills at RATE per second: after 1.1 s a full burst again
        time.sleep(1.1)
        burst(c, [dumps({"type": "ping", "id": 100 + i}) for i in range(RATE + 1)])
        for i in range(RATE):
            assert c.expect("pong")["id"] == 100 + i
        c.expect_error("rate_limited", None)
        # refill rate: 1 token per 1/RATE s
        time.sleep(1.0 / RATE + 0.08)
        c.ping_check()


def test_rate_limited_messages_are_discarded_unparsed(rate_server):
    room = unique_room()
    with WsClient.connect(rate_server.port) as c, WsClient.connect(rate_server.port) as w:
        w.join(room)
        # one write: the join and RATE-1 broadcasts use the RATE tokens
        msgs = [dumps({"type": "join", "room_id": room, "user_id": "rl"})]
        msgs += [dumps({"type": "broadcast", "room_id": room, "content": i}) for i in range(RATE - 1)]
        msgs += ["not json",        # over the rate: rate_limited, not bad_json
                 dumps({"type": "join", "room_id": BAD_ROOM}),
                 dumps({"type": "broadcast", "room_id": room, "content": "dropped"})]
        burst(c, msgs)
        c.expect("joined")
        seqs = [c.expect("broadcast")["seq"] for _ in range(RATE - 1)]
        assert seqs == list(range(1, RATE))
        for _ in range(3):
            c.expect_error("rate_limited", None)
        # the discarded broadcast reached no one and took no seq
        got = [w.expect("broadcast") for _ in range(RATE - 1)]
        assert [m["content"] for m in got] == list(range(RATE - 1))
        w.expect_silence(0.2)
        time.sleep(1.1)
        c.broadcast(room, "later")
        assert c.expect("broadcast")["seq"] == RATE
        assert w.expect("broadcast")["content"] == "later"


def test_rate_limit_per_connection(rate_server):
    with WsClient.connect(rate_server.port) as a, WsClient.connect(rate_server.port) as b:
        burst(a, [dumps({"type": "ping", "id": i}) for i in range(RATE + 1)])
        for i in range(RATE):
            assert a.expect("pong")["id"] == i
        a.expect_error("rate_limited", None)
        # b has its own full bucket
        burst(b, [dumps({"type": "ping", "id": i}) for i in range(RATE)])
        for i in range(RATE):
            assert b.expect("pong")["id"] == i


def test_guest_error_does_not_set_identity(server):
    with WsClient.connect(server.port) as c:
        c.send_json({"type": "join", "room_id": BAD_ROOM, "user_id": "would-be"})
        c.expect_error("bad_room", "join")
        j = c.join(unique_room())
        assert is_guest_id(j["user_id"]), "a refused join must not set user_id: %r" % j


def test_binary_messages_take_no_token(rate_server):
    """"each text message takes one token": binary messages (bad_frame)
    do not use the bucket."""
    from wsclient import OP_BIN
    with WsClient.connect(rate_server.port) as c:
        c.send_raw(b"".join(build_frame(OP_BIN, b"\x00") for _ in range(RATE + 2)))
        for _ in range(RATE + 2):
            c.expect_error("bad_frame", None)
        burst(c, [dumps({"type": "ping", "id": i}) for i in range(RATE)])
        for i in range(RATE):
            assert c.expect("pong")["id"] == i
