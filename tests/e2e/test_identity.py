"""PROTOCOL.md, Identity: conn ids, guest-<conn_id>, user_id set by the
first join that carries one, user_mismatch, bad_user."""

import pytest

from wsclient import WsClient, is_guest_id, unique_room


def guest_name(server, room):
    """Open a connection, join as a guest, return (client, name seen as
    joined.user_id, name seen as broadcast sender)."""
    c = WsClient.connect(server.port)
    j = c.join(room)
    c.broadcast(room, "who")
    while True:
        m = c.expect("broadcast")
        if m["content"] == "who":
            break
    return c, j["user_id"], m["sender"]


def test_guest_named_after_conn_id(server):
    room = unique_room()
    c, joined_as, sender = guest_name(server, room)
    try:
        assert is_guest_id(joined_as), "joined.user_id of a guest: %r" % joined_as
        assert sender == joined_as
    finally:
        c.close()


def test_conn_ids_distinct_and_never_reused(server):
    room = unique_room()
    seen = []
    open_clients = []
    for i in range(3):
        c, name, sender = guest_name(server, room)
        assert name == sender
        seen.append(name)
        open_clients.append(c)
    # close all, open more: ids of closed connections are not reused
    for c in open_clients:
        c.close()
    for i in range(3):
        c, name, _ = guest_name(server, unique_room())
        seen.append(name)
        c.close()
    assert all(is_guest_id(s) for s in seen), seen
    assert len(set(seen)) == len(seen), "conn ids reused: %r" % seen


def test_guest_sender_seen_by_other_members(server):
    room = unique_room()
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        ja = a.join(room)
        b.join(room, "bob")
        a.broadcast(room, 1)
        mb = b.expect("broadcast")
        ma = a.expect("broadcast")
        assert mb["sender"] == ja["user_id"] == ma["sender"]
        assert is_guest_id(mb["sender"])


def test_user_id_set_by_first_join(server):
    r1, r2 = unique_room(), unique_room()
    with WsClient.connect(server.port) as c:
        j1 = c.join(r1, "alice")
        assert j1["user_id"] == "alice"
        # a later join without user_id keeps the identity
        j2 = c.join(r2)
        assert j2["user_id"] == "alice"
        # the same user_id again is fine
        j3 = c.join(r1, "alice")
        assert j3["user_id"] == "alice"
        c.broadcast(r2, "hi")
        assert c.expect("broadcast")["sender"] == "alice"


def test_guest_then_user_id(server):
    """A guest's first join that carries a user_id sets it (the first join
    with one, not the first join)."""
    r1, r2 = unique_room(), unique_room()
    with WsClient.connect(server.port) as c:
        j1 = c.join(r1)
        assert is_guest_id(j1["user_id"])
        j2 = c.join(r2, "carol")
        assert j2["user_id"] == "carol"
        c.broadcast(r1, "x")
        assert c.expect("broadcast")["sender"] == "carol"
        c.send_json({"type": "join", "room_id": r1, "user_id": "dave"})
        c.expect_error("user_mismatch", ref="join")
        c.ping_check()


def test_user_mismatch(server):
    r1, r2 = unique_room(), unique_room()
    with WsClient.connect(server.port) as c, WsClient.connect(server.port) as other:
        other.join(r2, "watcher")
        c.join(r1, "alice")
        c.send_json({"type": "join", "room_id": r2, "user_id": "mallory"})
        c.expect_error("user_mismatch", ref="join")
        c.ping_check()
        # the failed join did not join: broadcast to r2 is not_member
        c.send_json({"type": "broadcast", "room_id": r2, "content": 1})
        c.expect_error("not_member", ref="broadcast")
        # and identity is unchanged
        c.broadcast(r1, 2)
        assert c.expect("broadcast")["sender"] == "alice"
        # the watcher in r2 saw nothing
        other.broadcast(r2, "w")
        m = other.expect("broadcast")
        assert m["content"] == "w" and m["seq"] == 1


def test_same_user_on_two_connections(server):
    room = unique_room()
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        a.join(room, "twin")
        j = b.join(room, "twin")
        assert j["members"] == 2
        b.broadcast(room, "t")
        assert a.expect("broadcast")["sender"] == "twin"
        assert b.expect("broadcast")["sender"] == "twin"


VALID_USERS = ["u", "u" * 64, "AZaz09_.@:-", "user@example.com", "a:b-c.d_e"]
BAD_USERS = ["", "u" * 65, "a b", "a/b", "a#b", "é", "a\u0000b", "a\nb", "tab\t", "a+b", "a,b",
             # v1.1: the guest- prefix is the server's
             "guest-1", "guest-", "guest-x", "guest-18446744073709551616"]


@pytest.mark.parametrize("user", VALID_USERS)
def test_valid_user_ids(server, user):
    with WsClient.connect(server.port) as c:
        j = c.join(unique_room(), user)
        assert j["user_id"] == user


@pytest.mark.parametrize("user", BAD_USERS, ids=[repr(u)[:20] for u in BAD_USERS])
def test_bad_user(server, user):
    room = unique_room()
    with WsClient.connect(server.port) as c:
        c.send_json({"type": "join", "room_id": room, "user_id": user})
        c.expect_error("bad_user", ref="join")
        c.ping_check()
        # nothing was joined and no identity was set
        j = c.join(room)
        assert j["members"] == 1
        assert is_guest_id(j["user_id"])


def test_join_as_a_live_guest_id_takes_nothing(server):
    """Issue 11: joining with another connection's guest id is bad_user,
    and that guest's direct messages still reach it alone."""
    with WsClient.connect(server.port) as victim, \
            WsClient.connect(server.port) as thief, \
            WsClient.connect(server.port) as sender:
        name = victim.join(unique_room())["user_id"]
        sender_name = sender.join(unique_room())["user_id"]
        assert is_guest_id(name) and is_guest_id(sender_name)
        thief.send_json({"type": "join", "room_id": unique_room(), "user_id": name})
        thief.expect_error("bad_user", ref="join")
        sender.send_json({"type": "direct", "to": name, "content": "secret"})
        assert victim.recv_json() == {"type": "direct", "from": sender_name,
                                      "content": "secret"}
        thief.ping_check()  # nothing arrived before the pong
