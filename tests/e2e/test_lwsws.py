"""The plugin under lwsws (ROOMCAST_SERVER_KIND=lwsws), and the launcher's
config patching (runs with either kind)."""

import json
import os
import signal
import time
from pathlib import Path

import pytest

import serverctl
from wsclient import (WsClient, get_stats, open_socket, read_http_body,
                      read_http_head, unique_room)


@pytest.mark.lwsws_only
def test_plugin_loaded_from_shared_object(server):
    found = []
    for pid in server.descendants():
        try:
            maps = Path("/proc/%d/maps" % pid).read_text()
        except OSError:
            continue
        found += [l.split()[-1] for l in maps.splitlines() if l.endswith("libprotocol_roomcast.so")]
    assert found, "no process of lwsws %d maps libprotocol_roomcast.so" % server.pid
    real = (Path(serverctl.LWSWS_PLUGIN_DIR) / "libprotocol_roomcast.so").resolve()
    assert str(real) in found, (found, real)
    # and that process serves the protocol
    with WsClient.connect(server.port) as c:
        room = unique_room()
        c.join(room)
        c.broadcast(room, "via lwsws")
        assert c.expect("broadcast")["content"] == "via lwsws"


@pytest.mark.lwsws_only
def test_lwsws_status_vhost(server):
    s = get_stats(server.status_port)
    assert "connections_active" in s


def _health_on(sock):
    """GET /health on an open keep-alive socket: (status, JSON body)."""
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    deadline = time.monotonic() + 2
    st, headers, rest = read_http_head(sock, deadline)
    return st, json.loads(read_http_body(sock, headers, rest, deadline))


@pytest.mark.lwsws_only
@pytest.mark.timeout_s(20)
@pytest.mark.parametrize("sig,group", [(signal.SIGINT, True), (signal.SIGTERM, True),
                                       (signal.SIGTERM, False)],
                         ids=["SIGINT-group", "SIGTERM-group", "SIGTERM-root"])
def test_lwsws_signal_drains_1001(start_server, sig, group):
    """scripts/lwsws.sh's drain patch (docs/LWSWS.md): SIGTERM is handled
    as SIGINT, whether it reaches the whole process group (a terminal,
    systemd's control-group kill) or the root process only (kill PID). The
    serving child stops listening, the plugin closes every client with
    1001 and /health says 503 on a connection still open; the child
    exits once its connections are gone and the root exits 0 after it."""
    srv = start_server()
    clients = [WsClient.connect(srv.port) for _ in range(3)]
    for c in clients:
        c.join(unique_room())
    child = [p for p in srv.descendants() if p != srv.pid]
    assert child, "no lwsws child"
    health = open_socket(srv.status_port, timeout=2)  # kept alive
    assert _health_on(health) == (200, {"status": "ok"})
    t0 = time.monotonic()
    srv.expect_exit = True
    if group:
        os.killpg(srv.pid, sig)
    else:
        srv.send_signal(sig)
    results = []
    for c in clients:
        try:
            results.append(c.wait_close(5))
        except TimeoutError:
            results.append(("timeout", None))
        c.sock.close()
    assert results == [(1001, "close-frame")] * len(clients), results
    assert _health_on(health) == (503, {"status": "draining"})
    # no new connection while draining
    with pytest.raises(OSError):
        open_socket(srv.port, timeout=1).close()
    health.close()
    rc = srv.wait(5)
    assert rc == 0, rc
    assert time.monotonic() - t0 <= 5.0
    assert not any(Path("/proc/%d" % p).exists() for p in child), "child left behind"


@pytest.mark.lwsws_only
@pytest.mark.timeout_s(15)
def test_lwsws_sigterm_idle_exits_at_once(start_server):
    """With no connection the drain ends at once: root and child gone
    well before the 4 s drain deadline."""
    srv = start_server()
    t0 = time.monotonic()
    srv.send_signal(signal.SIGTERM)
    rc = srv.wait(5)
    assert rc == 0, rc
    assert time.monotonic() - t0 < 1.5, time.monotonic() - t0


def test_lwsws_config_patch(tmp_path):
    """make_lwsws_config on the repo's files: ports, options, plugin-dir,
    absolute file:// origins; the result parses as plain JSON."""
    dest = tmp_path / "cfg"
    has_status = serverctl.make_lwsws_config(dest, 12345, 12346, {"send-ring-size": 4},
                                             "/plugins/here")
    conf = json.loads((dest / "conf").read_text())
    assert conf["global"]["plugin-dir"] == "/plugins/here"
    ws_seen = status_seen = 0
    for f in (dest / "conf.d").iterdir():
        doc = json.loads(f.read_text())
        for vh in doc["vhosts"]:
            pvos = [p for p in vh.get("ws-protocols", []) if serverctl._pvo_key(p)]
            if pvos:
                ws_seen += 1
                assert vh["port"] == "12345"
                key = serverctl._pvo_key(pvos[0])
                assert pvos[0][key]["send-ring-size"] == "4"
                assert all(isinstance(v, str) for v in pvos[0][key].values())
            else:
                status_seen += 1
                assert vh["port"] == "12346"
            for m in vh.get("mounts", []):
                o = m.get("origin", "")
                if o.startswith("file://"):
                    assert o.startswith("file:///"), o
                    assert Path(o[len("file://"):]).is_absolute()
    assert ws_seen == 1
    assert status_seen == (1 if has_status else 0)
    # status port 0: the status vhost is left out
    dest2 = tmp_path / "cfg2"
    serverctl.make_lwsws_config(dest2, 1, 0, {}, "/p")
    for f in (dest2 / "conf.d").iterdir():
        for vh in json.loads(f.read_text())["vhosts"]:
            assert any(serverctl._pvo_key(p) for p in vh.get("ws-protocols", []))


def test_tls_config_patch(tmp_path):
    """TLS mode's config copy (both kinds): host-ssl-cert/key on the
    roomcast vhost only (the status vhost stays plain HTTP); without a
    plugin dir (roomcast-server) global.plugin-dir is left alone."""
    dest = tmp_path / "cfg"
    serverctl.make_lwsws_config(dest, 12345, 12346, {}, None,
                                tls=("/certs/cert.pem", "/certs/key.pem"))
    conf = json.loads((dest / "conf").read_text())
    assert "plugin-dir" not in conf.get("global", {})
    seen = 0
    for f in (dest / "conf.d").iterdir():
        for vh in json.loads(f.read_text())["vhosts"]:
            if any(serverctl._pvo_key(p) for p in vh.get("ws-protocols", [])):
                seen += 1
                assert vh["host-ssl-cert"] == "/certs/cert.pem"
                assert vh["host-ssl-key"] == "/certs/key.pem"
            else:
                assert "host-ssl-cert" not in vh and "host-ssl-key" not in vh
    assert seen == 1
