"""PROTOCOL.md, refused handshakes: max-connections (503) and
allowed-origins (403)."""

import pytest

from wsclient import WsClient, assert_refused, get_stats, http_get, wait_stats


@pytest.fixture(scope="module")
def capped(start_module_server):
    return start_module_server({"max-connections": 3})


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
