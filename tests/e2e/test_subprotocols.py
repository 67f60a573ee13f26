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

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import serverctl
from wsclient import (ConnectionClosed, HandshakeRefused, WsClient,
                      assert_refused, get_stats, http_get, unique_room,
                      wait_for, wait_stats)

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


# ---- a config that does not make roomcast the default protocol ---------

def bad_config(dest, port, status_port, how):
    """The repo's config with the roomcast entry's "default" removed, or
    with a bad option in it. Returns the plugin dir used (lwsws)."""
    plugins = None
    if KIND == "lwsws":
        plugins = dest / "plugins"
        plugins.mkdir(parents=True)
        (plugins / "libprotocol_roomcast.so").symlink_to(
            Path(serverctl.LWSWS_PLUGIN_DIR).resolve() / "libprotocol_roomcast.so")
    cfg = dest / "cfg"
    serverctl.make_lwsws_config(cfg, port, status_port, {}, plugins)
    for f in (cfg / "conf.d").iterdir():
        doc = json.loads(f.read_text())
        for vh in doc.get("vhosts", []):
            for p in vh.get("ws-protocols", []):
                if "roomcast" in p:
                    if how == "no-default":
                        p["roomcast"].pop("default", None)
                    else:
                        p["roomcast"]["send-ring-size"] = "0"
        f.write_text(json.dumps(doc))
    return cfg


def upgrade_status(port, names):
    try:
        c = WsClient.connect(port, subprotocols=names, timeout=3, tls=False)
    except HandshakeRefused as e:
        return e.status
    except (ConnectionClosed, OSError):
        return "closed"
    c.close()
    return 101


@pytest.mark.timeout_s(30)
@pytest.mark.parametrize("how", ["bad-option"])
def test_bad_roomcast_config_opens_no_upgrade(tmp_path, how):
    """roomcast-server refuses to start; lwsws (which cannot be stopped by
    a plugin) starts, and no upgrade on any of its ports becomes a
    WebSocket (before: the status vhost's default was never set and lws's
    http-only dummy took any upgrade)."""
    port, status_port = serverctl.free_port(), serverctl.free_port()
    cfg = bad_config(tmp_path, port, status_port, how)
    if KIND != "lwsws":
        r = subprocess.run([serverctl.SERVER_BIN, "--config", str(cfg), "--port",
                            str(port), "--status-port", str(status_port)],
                           capture_output=True, text=True, timeout=15)
        assert r.returncode != 0
        want = '"default"' if how == "no-default" else "send-ring-size"
        assert want in r.stderr, r.stderr
        return
    proc = subprocess.Popen([serverctl.LWSWS_BIN, "-n", "-c", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        wait_for(lambda: serverctl.port_open(port) and serverctl.port_open(status_port),
                 timeout=10, what="lwsws listening")
        for p in (port, status_port):
            for names in (None, ["roomcast.v1"], ["http-only"], ["roomcast-status"],
                          ["http-only", "roomcast.v1"]):
                st = upgrade_status(p, names)
                assert st != 101, (p, names)
        assert http_get(status_port, "/health", tls=False)[0] == 200
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=8)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
    want = b'"default"' if how == "no-default" else b"send-ring-size"
    assert want in err, err[-2000:]


@pytest.mark.timeout_s(30)
def test_roomcast_entry_without_default_checks_every_upgrade(tmp_path):
    """A roomcast entry without "default" (as lwsws passes "roomcast": {})
    still serves roomcast.v1 with every handshake check: roomcast-server
    makes the entry the default (server/conf.c); under lwsws the upgrade
    is asked on the sealed "http-only", which runs roomcast's checks for a
    client naming roomcast.v1 and refuses the rest. No other list, and no
    upgrade on the status port, becomes a WebSocket."""
    port, status_port = serverctl.free_port(), serverctl.free_port()
    cfg = bad_config(tmp_path, port, status_port, "no-default")
    if KIND == "lwsws":
        cmd = [serverctl.LWSWS_BIN, "-n", "-c", str(cfg)]
    else:
        cmd = [serverctl.SERVER_BIN, "--config", str(cfg), "--port",
               str(port), "--status-port", str(status_port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for(lambda: serverctl.port_open(port) and serverctl.port_open(status_port),
                 timeout=10, what="listening")
        assert upgrade_status(port, ["roomcast.v1"]) == 101
        dummy = "http-only" if KIND == "lwsws" else "http"
        for names in ([dummy], ["roomcast-status"], [dummy, "roomcast.v1"],
                      ["roomcast-status", "roomcast.v1"]):
            assert upgrade_status(port, names) != 101, names
        for names in (None, ["roomcast.v1"], ["http-only"], ["roomcast-status"]):
            assert upgrade_status(status_port, names) != 101, names
        # lwsws binds a client naming nothing to the http-only dummy: refused
        assert upgrade_status(port, None) == (101 if KIND != "lwsws" else 400)
        assert http_get(status_port, "/health", tls=False)[0] == 200
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.communicate(timeout=8)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
