"""PROTOCOL.md, refused handshakes: max-connections (503) and
allowed-origins (403); max-connections-per-ip (503, docs/CONFIG.md)."""

import socket
import time

import pytest

from wsclient import (HOST, ConnectionClosed, HandshakeRefused, ProtocolViolation, WsClient,
                      assert_refused, get_stats, http_get, wait_stats)


@pytest.fixture(scope="module")
def capped(start_module_server):
    return start_module_server({"max-connections": 3})


@pytest.fixture(scope="module")
def per_ip(start_module_server):
    # the /64 of an IPv6 peer; 127.0.0.1 (or ::ffff:127.0.0.1, as a
    # dual-stack socket may report it) must still count as one IPv4 client
    return start_module_server({"max-connections-per-ip": 2,
                                "ipv6-prefix-len": 64})


@pytest.fixture(scope="module")
def origins(start_module_server):
    return start_module_server({"allowed-origins": "http://good.example,https://also.example:8443"})


def test_max_connections_503(capped):
    clients = [WsClient.connect(capped.port) for _ in range(3)]
    try:
        for c in clients:
            c.ping_check()
        assert_refused(capped.port, 503)
        assert_refused(capped.port, 503, subprotocols=None)
        s = get_stats(capped.status_port)
        assert s["connections_active"] == 3, s
        # the three are unaffected
        for c in clients:
            c.ping_check()
        # HTTP (not upgraded) still served on the main port
        status, _, _ = http_get(capped.port, "/stats")
        assert status == 200
        # a freed slot can be used again
        clients.pop().close()
        wait_stats(capped.status_port, lambda s: s["connections_active"] == 2, 3, "slot freed")
        clients.append(WsClient.connect(capped.port))
        clients[-1].ping_check()
        assert_refused(capped.port, 503)
    finally:
        for c in clients:
            c.abort()
    wait_stats(capped.status_port, lambda s: s["connections_active"] == 0, 3, "all closed")


@pytest.mark.parametrize("origin", ["http://good.example", "https://also.example:8443"])
def test_allowed_origin_accepted(origins, origin):
    with WsClient.connect(origins.port, origin=origin) as c:
        c.ping_check()


def test_no_origin_accepted(origins):
    with WsClient.connect(origins.port) as c:
        c.ping_check()


@pytest.mark.parametrize("origin", [
    "http://evil.example",
    "http://good.example.evil.example",
    "http://good.example:8080",
    "https://good.example",
    "null",
    "http://sub.good.example",
])
def test_other_origin_refused_403(origins, origin):
    assert_refused(origins.port, 403, origin=origin)
    with WsClient.connect(origins.port, origin="http://good.example") as c:
        c.ping_check()


def test_refused_origin_not_counted(origins):
    before = get_stats(origins.status_port)
    for _ in range(3):
        assert_refused(origins.port, 403, origin="http://evil.example")
    after = get_stats(origins.status_port)
    assert after["connections_total"] == before["connections_total"], (before, after)


def test_any_origin_without_option(server):
    with WsClient.connect(server.port, origin="http://whatever.example") as c:
        c.ping_check()


def test_max_connections_per_ip_503(per_ip):
    before = get_stats(per_ip.status_port).get("refused_per_ip", 0)
    clients = [WsClient.connect(per_ip.port) for _ in range(2)]
    try:
        for c in clients:
            c.ping_check()
        assert_refused(per_ip.port, 503)
        s = get_stats(per_ip.status_port)
        assert s["connections_active"] == 2, s
        assert s["refused_per_ip"] == before + 1, s
        for c in clients:
            c.ping_check()
        # the count follows closes: a freed slot can be used again
        clients.pop().close()
        wait_stats(per_ip.status_port, lambda s: s["connections_active"] == 1, 3, "slot freed")
        clients.append(WsClient.connect(per_ip.port))
        clients[-1].ping_check()
        assert_refused(per_ip.port, 503)
    finally:
        for c in clients:
            c.abort()
    wait_stats(per_ip.status_port, lambda s: s["connections_active"] == 0, 3, "all closed")


def _closed_at_once(port):
    """Opens a TCP socket that sends nothing; True if the server ends it."""
    s = socket.create_connection((HOST, port))
    s.settimeout(3)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    finally:
        s.close()


def _connect_when_a_place_is_free(port, timeout=3.0):
    """The server ends a closed socket's count when it sees the close."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return WsClient.connect(port)
        except (OSError, ConnectionClosed, HandshakeRefused, ProtocolViolation):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_sockets_not_yet_upgraded_bounded_per_ip(per_ip):
    """A socket that never finishes its handshake holds an fd (and a header
    table once bytes come). Besides its 2 connections an address may hold 2
    such sockets; one more is closed at accept and counted in
    refused_per_ip, and a closed one gives its place back."""
    before = get_stats(per_ip.status_port)["refused_per_ip"]
    held = [socket.create_connection((HOST, per_ip.port)) for _ in range(2)]
    clients = []
    try:
        assert _closed_at_once(per_ip.port)
        assert get_stats(per_ip.status_port)["refused_per_ip"] == before + 1
        # a WebSocket from that address waits for a place like any socket
        held.pop().close()
        clients.append(_connect_when_a_place_is_free(per_ip.port))
        clients.append(_connect_when_a_place_is_free(per_ip.port))
        for c in clients:
            c.ping_check()
        # upgraded connections count apart: two handshakes may still wait
        held.append(socket.create_connection((HOST, per_ip.port)))
        time.sleep(0.2)
        assert _closed_at_once(per_ip.port)
        for c in clients:
            c.ping_check()
    finally:
        for s in held:
            s.close()
        for c in clients:
            c.abort()
    wait_stats(per_ip.status_port, lambda s: s["connections_active"] == 0, 3, "all closed")
