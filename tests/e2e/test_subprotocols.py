"""Only roomcast.v1 becomes a WebSocket (issue 11, item 2;
docs/RELIABILITY.md, "Other protocols").

lws 4.1.6 binds an upgrade to the first name of the client's
Sec-WebSocket-Protocol list that the vhost knows. The vhost knows more
than roomcast.v1 ("roomcast", "roomcast-status", roomcast-server's "http",
lwsws's "http-only"), and a WebSocket bound to one of those was served by
an HTTP callback: never counted, no heartbeat, under no limit. Every list
whose first known name is not roomcast.v1 must get 400, on every port;
lists that lead to roomcast.v1 (and none at all) must give a real,
counted roomcast connection.
"""

import time

import pytest

import serverctl
from wsclient import (HandshakeRefused, WsClient, assert_refused, get_stats,
                      http_get, unique_room, wait_for, wait_stats)

KIND = serverctl.KIND

# lists that lws binds to roomcast.v1: served
SERVED = [
    ["roomcast.v1"],
    ["roomcast.v1", "roomcast.v1"],
    ["roomcast.v1", "roomcast-status"],
    ["roomcast.v1", "roomcast"],
    ["garbage", "roomcast.v1"],
    ["ROOMCAST.V1", "roomcast.v1"],
    ["Roomcast-Status", "roomcast.v1"],
    ["lws-server-status", "roomcast.v1"],
    ["x" * 62, "roomcast.v1"],  # the longest name lws holds
]
# lists whose first known name is another protocol, or that name nothing
# known, or that lws cannot read: refused with 400
REFUSED = [
    ["roomcast-status", "roomcast.v1"],
    ["roomcast-status"],
    ["roomcast", "roomcast.v1"],
    ["roomcast"],
    ["garbage"],
    ["ROOMCAST.V1"],
    ["roomcast.V1"],
    ["roomcast.v2"],
    ["lws-server-status"],
    ["roomcast-status", "roomcast-status", "roomcast.v1"],
    ["x" * 63, "roomcast.v1"],          # a name lws cannot hold
    ["a" * 60, "b" * 60, "roomcast.v1"],  # a list over lws's 127 bytes
]
# the dummies: known on one kind only
if KIND == "lwsws":
    REFUSED += [["http-only", "roomcast.v1"], ["http-only"]]
    SERVED += [["http", "roomcast.v1"]]
else:
    REFUSED += [["http", "roomcast.v1"], ["http"]]
    SERVED += [["http-only", "roomcast.v1"]]


def ids(lists):
    return [",".join(x)[:40] for x in lists]


@pytest.mark.parametrize("names", SERVED, ids=ids(SERVED))
def test_lists_bound_to_roomcast_are_served(server, names):
    with WsClient.connect(server.port, subprotocols=names) as c:
        assert c.subprotocol == "roomcast.v1"
        j = c.join(unique_room())
        assert j["members"] == 1
        assert get_stats(server.status_port)["connections_active"] >= 1


@pytest.mark.parametrize("how", ["no-header", "empty-header"])
def test_no_subprotocol_is_served(server, how):
    kw = {"subprotocols": None}
    if how == "empty-header":
        kw["extra_headers"] = {"Sec-WebSocket-Protocol": ""}
    with WsClient.connect(server.port, **kw) as c:
        assert c.subprotocol is None
        c.ping_check()


@pytest.mark.parametrize("names", REFUSED, ids=ids(REFUSED))
def test_other_protocols_refused_on_websocket_port(server, names):
    assert_refused(server.port, 400, subprotocols=names)


@pytest.mark.parametrize("names", [None] + SERVED[:3] + REFUSED[:5],
                         ids=["none"] + ids(SERVED[:3] + REFUSED[:5]))
def test_status_port_refuses_every_upgrade(server, names):
    assert_refused(server.status_port, 400, subprotocols=names)


@pytest.mark.parametrize("path", ["/stats", "/", "/index.html"])
def test_refused_on_mount_paths_too(server, path):
    assert_refused(server.port, 400, path=path,
                   subprotocols=["roomcast-status", "roomcast.v1"])


@pytest.mark.timeout_s(60)
def test_zombie_flood_holds_nothing(start_server):
    """The issue's attack: many upgrades naming another protocol first.
    Each is refused and closed at once: no fd, no connection, /health and
    real clients served throughout."""
    srv = start_server({"max-connections": "50"})
    fds0 = srv.fd_count()
    refused = 0
    t0 = time.monotonic()
    for i in range(400):
        names = [["roomcast-status", "roomcast.v1"], ["roomcast"],
                 ["http-only" if KIND == "lwsws" else "http", "roomcast.v1"]][i % 3]
        try:
            c = WsClient.connect(srv.port, subprotocols=names, timeout=3)
        except HandshakeRefused as e:
            assert e.status == 400
            refused += 1
            continue
        c.close()
        raise AssertionError("upgrade %r accepted" % (names,))
    print("400 zombie upgrades refused in %.2f s" % (time.monotonic() - t0))
    assert refused == 400
    # nothing held: max-connections (50) still lets real clients in
    clients = [WsClient.connect(srv.port) for _ in range(50)]
    try:
        st = get_stats(srv.status_port)
        assert st["connections_active"] == 50
        assert http_get(srv.status_port, "/health")[0] == 200
    finally:
        for c in clients:
            c.close()
    wait_stats(srv.status_port, lambda s: s["connections_active"] == 0)
    wait_for(lambda: srv.fd_count() <= fds0, timeout=10, what="fds back")
