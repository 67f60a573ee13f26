"""PROTOCOL.md, Heartbeat, with ping-interval-s=1 and pong-timeout-s=1."""

import time

import pytest

from wsclient import ConnectionClosed, WsClient, unique_room

PING, PONG = 1, 1


@pytest.fixture(scope="module")
def hb_server(start_module_server):
    return start_module_server({"ping-interval-s": PING, "pong-timeout-s": PONG})


def test_silent_client_gets_ping(hb_server):
    c = WsClient.connect(hb_server.port)
    t0 = time.monotonic()
    try:
        assert c.pump_until(lambda: c.pings, PING + 1.5), \
            "no WebSocket ping within %.1f s of silence" % (PING + 1.5)
        dt = c.pings[0][0] - t0
        assert dt >= PING * 0.5, "ping before the connection was silent %d s (%.2f s)" % (PING, dt)
    finally:
        c.abort()


def test_client_not_answering_pings_is_closed(hb_server):
    c = WsClient.connect(hb_server.port)
    c.auto_pong = False
    t0 = time.monotonic()
    limit = PING + PONG + 1
    try:
        code, how = c.wait_close(limit + 2)
    except TimeoutError:
        raise AssertionError("a client that never answers pings was not closed within %d s"
                             % (limit + 2)) from None
    dt = time.monotonic() - t0
    assert c.pings, "closed without having been pinged"
    assert dt <= limit + 0.5, "closed after %.2f s, more than ping+pong+1 = %d s" % (dt, limit)
    if how == "close-frame":
        assert code == 4002, "pong timeout close code must be 4002, got %r" % code
    print("pong timeout observed: %s code %r after %.2f s" % (how, code, dt))
    c.sock.close()


def test_client_answering_pings_stays(hb_server):
    room = unique_room()
    c = WsClient.connect(hb_server.port)
    try:
        c.join(room)
        try:
            c.pump_until(lambda: False, 5 * PING + 0.5)
        except ConnectionClosed as e:
            raise AssertionError("a client that answers every ping was closed after %d pings: %s"
                                 % (len(c.pings), e)) from None
        assert len(c.pings) >= 2, "expected pings every ~%d s of silence, got %d" % (PING, len(c.pings))
        c.ping_check()
        c.broadcast(room, "alive")
        assert c.expect("broadcast")["seq"] == 1
    finally:
        c.close()


def test_active_client_not_closed(hb_server):
    """A client that keeps talking (and answers pings) stays."""
    c = WsClient.connect(hb_server.port)
    try:
        t_end = time.monotonic() + 4 * PING
        while time.monotonic() < t_end:
            c.ping_check()
            time.sleep(0.3)
        c.ping_check()
    finally:
        c.close()


def test_dead_peer_leaves_rooms(hb_server):
    """A client that stops answering is closed and leaves its rooms, while
    one that answers stays."""
    room = unique_room()
    with WsClient.connect(hb_server.port) as w:
        w.join(room)
        dead = WsClient.connect(hb_server.port)
        dead.auto_pong = False
        assert dead.join(room)["members"] == 2
        deadline = time.monotonic() + PING + PONG + 3
        closed = False
        while not closed:
            assert time.monotonic() < deadline, "unanswering client not closed"
            w.pump_until(lambda: False, 0.05)  # w answers its pings
            try:
                dead.pump_until(lambda: False, 0.05)
            except ConnectionClosed:
                closed = True
        dead.sock.close()
        # the close handshake may still be finishing: poll (bounded)
        deadline = time.monotonic() + 3
        while w.join(room)["members"] != 1:
            assert time.monotonic() < deadline, "closed client still counted in its room"
            time.sleep(0.05)
