"""PROTOCOL.md, Direct messages (and no_such_user of the Errors table)."""

import pytest

from wsclient import WsClient, is_guest_id, unique_room, get_stats, wait_stats


def named(server, user):
    c = WsClient.connect(server.port)
    c.join(unique_room(), user)
    return c


def test_direct_to_every_connection_of_user(server):
    a = named(server, "d-alice")
    b1 = named(server, "d-bob")
    b2 = named(server, "d-bob")
    other = named(server, "d-carol")
    try:
        a.send_json({"type": "direct", "to": "d-bob", "content": {"hi": [1, 2]}})
        for b in (b1, b2):
            m = b.recv_json()
            assert m == {"type": "direct", "from": "d-alice", "content": {"hi": [1, 2]}} or (
                m.get("type") == "direct" and m.get("from") == "d-alice"
                and m.get("content") == {"hi": [1, 2]}), m
        a.ping_check()       # nothing for the sender
        other.ping_check()   # nothing for others
    finally:
        for c in (a, b1, b2, other):
            c.close()


def test_direct_not_to_the_sending_connection(server):
    a1 = named(server, "d-self")
    a2 = named(server, "d-self")
    try:
        a1.send_json({"type": "direct", "to": "d-self", "content": "me"})
        m = a2.expect("direct")
        assert m["from"] == "d-self" and m["content"] == "me"
        a1.ping_check()
        n = get_stats(server.status_port)["connections_active"]
        a2.close()
        wait_stats(server.status_port, lambda s: s["connections_active"] == n - 1, 3, "a2 closed")
        # the sender is its user's only connection: reaches no one, the user
        # is connected so it is not no_such_user
        a1.send_json({"type": "direct", "to": "d-self", "content": "alone"})
        a1.ping_check()
    finally:
        a1.close()


def test_direct_to_and_from_guest(server):
    with WsClient.connect(server.port) as g, WsClient.connect(server.port) as h:
        gid = g.join(unique_room())["user_id"]
        hid = h.join(unique_room())["user_id"]
        assert is_guest_id(gid) and is_guest_id(hid)
        h.send_json({"type": "direct", "to": gid, "content": 5})
        m = g.expect("direct")
        assert m["from"] == hid and m["content"] == 5
        # a guest that never joined anything is reachable too
        with WsClient.connect(server.port) as fresh:
            fresh.send_json({"type": "direct", "to": gid, "content": None})
            m = g.expect("direct")
            assert is_guest_id(m["from"]) and m["from"] not in (gid, hid) and m["content"] is None


def test_direct_needs_no_shared_room(server):
    a = named(server, "d-x1")
    b = WsClient.connect(server.port)
    try:
        b.join(unique_room(), "d-x2")
        a.send_json({"type": "direct", "to": "d-x2", "content": "across"})
        assert b.expect("direct")["content"] == "across"
    finally:
        a.close()
        b.close()


def test_direct_no_such_user(server):
    with WsClient.connect(server.port) as a:
        a.send_json({"type": "direct", "to": "nobody-here", "content": 1})
        a.expect_error("no_such_user", "direct")
        a.ping_check()
        a.send_json({"type": "direct", "to": "guest-999999999", "content": 1})
        a.expect_error("no_such_user", "direct")
        a.ping_check()


def test_direct_to_guest_id_past_uint64_is_no_such_user(server):
    """guest-<N + 2^64> read without an overflow check is guest-N (issue 11)."""
    with WsClient.connect(server.port) as g, WsClient.connect(server.port) as a:
        gid = g.join(unique_room())["user_id"]
        n = int(gid[len("guest-"):])
        for to in ("guest-%d" % (n + 2 ** 64), "guest-%d" % (n + 5 * 2 ** 64),
                   "guest-0%d" % n):
            a.send_json({"type": "direct", "to": to, "content": 1})
            a.expect_error("no_such_user", "direct")
            a.ping_check()
        g.ping_check()  # nothing reached the guest
        a.send_json({"type": "direct", "to": gid, "content": 2})
        assert g.expect("direct")["content"] == 2


def test_direct_after_user_disconnects(server):
    a = named(server, "d-sender")
    b = named(server, "d-leaver")
    try:
        a.send_json({"type": "direct", "to": "d-leaver", "content": 1})
        b.expect("direct")
        n = get_stats(server.status_port)["connections_active"]
        b.close()
        wait_stats(server.status_port, lambda s: s["connections_active"] == n - 1, 3, "b closed")
        a.send_json({"type": "direct", "to": "d-leaver", "content": 2})
        m = a.recv_json()
        assert m.get("code") == "no_such_user", "a closed user's id must give no_such_user: %r" % m
        assert m.get("ref") == "direct"
        a.ping_check()
    finally:
        a.close()


def test_direct_user_still_connected_after_leaving_rooms(server):
    a = named(server, "d-a2")
    b = WsClient.connect(server.port)
    try:
        r = unique_room()
        b.join(r, "d-roomless")
        b.leave(r)
        a.send_json({"type": "direct", "to": "d-roomless", "content": "still"})
        assert b.expect("direct")["content"] == "still"
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("msg,code", [
    ({"type": "direct", "content": 1}, "missing_field"),
    ({"type": "direct", "to": "x"}, "missing_field"),
    ({"type": "direct", "to": 5, "content": 1}, "missing_field"),
    ({"type": "direct", "to": None, "content": 1}, "missing_field"),
    ({"type": "direct", "to": "", "content": 1}, "bad_user"),
    ({"type": "direct", "to": "a b", "content": 1}, "bad_user"),
    ({"type": "direct", "to": "u" * 65, "content": 1}, "bad_user"),
    ({"type": "direct", "to": "a b"}, "missing_field"),  # precedence
], ids=lambda v: v if isinstance(v, str) else str(v)[:50])
def test_direct_errors(server, msg, code):
    with WsClient.connect(server.port) as a:
        a.send_json(msg)
        a.expect_error(code, "direct")
        a.ping_check()
