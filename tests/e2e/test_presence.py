"""PROTOCOL.md, Rooms table, third column: presence events when
presence-events=on (and none when off, the default)."""

import pytest

from wsclient import WsClient, unique_room


@pytest.fixture(scope="module")
def pserver(start_module_server):
    return start_module_server({"presence-events": "on"})


def test_presence_join_and_leave(pserver):
    room = unique_room()
    with WsClient.connect(pserver.port) as a, WsClient.connect(pserver.port) as b, \
            WsClient.connect(pserver.port) as c:
        a.join(room, "alice")
        b.join(room, "bob")
        p = a.expect("presence")
        assert p["event"] == "join" and p["room_id"] == room and p["user_id"] == "bob", p
        c.join(room, "carol")
        for x in (a, b):
            p = x.expect("presence")
            assert (p["event"], p["room_id"], p["user_id"]) == ("join", room, "carol"), p
        b.leave(room)
        for x in (a, c):
            p = x.expect("presence")
            assert (p["event"], p["room_id"], p["user_id"]) == ("leave", room, "bob"), p
        # the leaver gets only "left", nothing about itself
        b.ping_check()


def test_no_presence_to_the_joiner_itself(pserver):
    room = unique_room()
    with WsClient.connect(pserver.port) as a:
        a.join(room, "solo")
        a.ping_check()  # next message is the pong: no presence about itself


def test_no_presence_for_rejoin(pserver):
    room = unique_room()
    with WsClient.connect(pserver.port) as a, WsClient.connect(pserver.port) as b:
        a.join(room, "alice")
        b.join(room, "bob")
        assert a.expect("presence")["user_id"] == "bob"
        b.join(room, "bob")  # re-join: no event
        b.join(room)
        b.broadcast(room, "marker")
        m = a.expect("broadcast")
        assert m["content"] == "marker", "re-join must not send presence: %r" % m


def test_presence_for_guest(pserver):
    room = unique_room()
    with WsClient.connect(pserver.port) as a, WsClient.connect(pserver.port) as g:
        a.join(room, "alice")
        jg = g.join(room)
        p = a.expect("presence")
        assert p["event"] == "join" and p["user_id"] == jg["user_id"]


def test_no_presence_when_off(server):
    room = unique_room()
    with WsClient.connect(server.port) as a, WsClient.connect(server.port) as b:
        a.join(room, "alice")
        b.join(room, "bob")
        b.leave(room)
        b.join(room)
        b.broadcast(room, "marker")
        m = a.expect("broadcast")
        assert m["content"] == "marker", "presence is off by default: %r" % m
