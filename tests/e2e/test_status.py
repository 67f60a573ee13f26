"""PROTOCOL.md, Status HTTP mount and "Counters and limits, exactly"."""

import json
import subprocess
import time

import pytest

from serverctl import hex_to_ip, listening_addresses, parse_prometheus
from wsclient import (WsClient, dumps, get_stats, http_get, open_socket, unique_room, wait_stats)

KEYS = ["connections_active", "connections_total", "rooms_active", "messages_received",
        "messages_sent", "messages_dropped", "messages_per_second", "bytes_sent",
        "bytes_received", "uptime_s"]
INT_KEYS = [k for k in KEYS if k != "messages_per_second"]
WS_OVERHEAD = 14  # most bytes a frame header adds (client frames: 2-14)


def metric_names(key):
    """Acceptable Prometheus names for a /stats key: roomcast_<key>, with
    the conventional _total suffix for counters, and <x>_s spelled
    <x>_seconds (Prometheus base unit naming)."""
    names = {"roomcast_" + key, "roomcast_" + key + "_total"}
    if key.endswith("_s"):
        names.add("roomcast_" + key[:-2] + "_seconds")
    return names


def local_non_loopback_ipv4():
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=2).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [a for a in out.split() if "." in a and not a.startswith("127.")]


def check_stats_shape(stats):
    for k in KEYS:
        assert k in stats, "missing key %s in %r" % (k, stats)
    for k in INT_KEYS:
        assert type(stats[k]) is int and stats[k] >= 0, "%s must be a non-negative integer: %r" % (k, stats[k])
    mps = stats["messages_per_second"]
    assert type(mps) in (int, float) and mps >= 0, mps


def test_stats_json(server):
    status, headers, body = http_get(server.status_port, "/stats")
    assert status == 200
    assert headers.get("content-type", "").split(";")[0].strip() == "application/json", headers
    stats = json.loads(body)
    assert isinstance(stats, dict)
    check_stats_shape(stats)


def test_stats_on_main_port(server):
    status, headers, body = http_get(server.port, "/stats")
    assert status == 200, (status, body[:200])
    assert headers.get("content-type", "").split(";")[0].strip() == "application/json"
    stats = json.loads(body)
    check_stats_shape(stats)


def test_health(server):
    status, headers, body = http_get(server.status_port, "/health")
    assert status == 200
    assert json.loads(body) == {"status": "ok"}


def test_metrics(server):
    # some traffic so counters are non-zero
    with WsClient.connect(server.port) as c:
        c.ping_check()
        status, headers, body = http_get(server.status_port, "/metrics")
        stats = get_stats(server.status_port)
    assert status == 200
    ctype = headers.get("content-type", "")
    assert ctype.startswith("text/plain"), ctype
    samples, types = parse_prometheus(body.decode())
    assert samples, "no samples in /metrics"
    for name in samples:
        assert name.startswith("roomcast_"), "metric without the roomcast_ prefix: %s" % name
    names = {n.split("{")[0] for n in samples}
    for k in KEYS:
        cands = [n for n in names if n in metric_names(k)]
        assert cands, "no metric for %s in %s" % (k, sorted(names))
    for t in types.values():
        assert t in ("counter", "gauge", "untyped", "summary", "histogram"), types
    # gauges that cannot have moved between the two requests agree
    for k in ("connections_active", "rooms_active", "connections_total"):
        name = [n for n in metric_names(k) if n in samples][0]
        assert samples[name] == stats[k], (k, samples[name], stats[k])


def test_status_unknown_path_404(server):
    status, _, _ = http_get(server.status_port, "/no-such-thing")
    assert status == 404


def test_status_vhost_on_loopback_only(server):
    addrs = [hex_to_ip(a) for a in listening_addresses(server.status_port)]
    assert addrs, "nothing listens on the status port"
    assert set(addrs) <= {"127.0.0.1", "::ffff:127.0.0.1"}, "status vhost listens on %r" % addrs
    for ip in local_non_loopback_ipv4():
        try:
            open_socket(server.status_port, host=ip, timeout=1).close()
        except OSError:
            continue
        raise AssertionError("status port reachable on non-loopback address %s" % ip)
    main = [hex_to_ip(a) for a in listening_addresses(server.port)]
    assert set(main) & {"0.0.0.0", "::"}, "main vhost should listen on all interfaces: %r" % main


@pytest.mark.server_only
def test_status_port_zero_turns_it_off(start_server):
    srv = start_server(status_port=False)
    with WsClient.connect(srv.port) as c:
        c.ping_check()
    assert srv.status_port == 0
    # the main port's /stats is still there
    check_stats_shape(get_stats(srv.port))


# ---- counters move exactly ---------------------------------------------------

def test_connection_counters(start_server):
    srv = start_server()
    sp = srv.status_port
    s0 = get_stats(sp)
    assert s0["connections_active"] == 0 and s0["connections_total"] == 0
    assert s0["rooms_active"] == 0 and s0["messages_received"] == 0 and s0["messages_sent"] == 0
    a = WsClient.connect(srv.port)
    s = wait_stats(sp, lambda s: s["connections_active"] == 1, 2, "1 active")
    assert s["connections_total"] == 1
    b = WsClient.connect(srv.port)
    s = wait_stats(sp, lambda s: s["connections_active"] == 2, 2, "2 active")
    assert s["connections_total"] == 2
    b.close()
    s = wait_stats(sp, lambda s: s["connections_active"] == 1, 3, "b closed")
    assert s["connections_total"] == 2
    # an unfinished handshake is not a connection
    raw = open_socket(srv.port)  # TLS mode: TLS done, HTTP unfinished
    raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n")
    time.sleep(0.2)
    s = get_stats(sp)
    assert s["connections_active"] == 1 and s["connections_total"] == 2, s
    raw.close()
    # a refused handshake is not a connection either
    try:
        WsClient.connect(srv.port, subprotocols=["nope"])
    except Exception:
        pass
    # HTTP requests are not connections
    http_get(srv.port, "/stats")
    s = get_stats(sp)
    assert s["connections_active"] == 1 and s["connections_total"] == 2, s
    a.abort()
    s = wait_stats(sp, lambda s: s["connections_active"] == 0, 3, "a gone")
    assert s["connections_total"] == 2


def test_message_counters_exact(start_server):
    srv = start_server()
    sp = srv.status_port
    room = unique_room()
    a = WsClient.connect(srv.port)
    b = WsClient.connect(srv.port)
    c = WsClient.connect(srv.port)
    try:
        base = get_stats(sp)
        sent_payload = 0
        recv_payload = 0
        n_in = n_out = 0

        def send(client, obj_or_text, binary=False):
            nonlocal sent_payload, n_in
            data = obj_or_text if isinstance(obj_or_text, bytes) else (
                obj_or_text if isinstance(obj_or_text, str) else dumps(obj_or_text)).encode()
            if binary:
                client.send_binary(data)
            else:
                client.send_text(data)
            sent_payload += len(data)
            n_in += 1

        def got(client):
            nonlocal recv_payload, n_out
            op, payload = client.recv()
            recv_payload += len(payload)
            n_out += 1
            return json.loads(payload)

        send(a, {"type": "join", "room_id": room, "user_id": "a"})
        assert got(a)["type"] == "joined"
        send(b, {"type": "join", "room_id": room})
        assert got(b)["type"] == "joined"
        s = get_stats(sp)
        assert s["messages_received"] - base["messages_received"] == 2
        assert s["messages_sent"] - base["messages_sent"] == 2
        assert s["rooms_active"] == 1

        # one broadcast, two members: one received, two sent
        send(a, {"type": "broadcast", "room_id": room, "content": "x" * 100})
        got(a)
        got(b)
        s = get_stats(sp)
        assert s["messages_received"] - base["messages_received"] == 3
        assert s["messages_sent"] - base["messages_sent"] == 4, "one per recipient"

        # text and binary messages, whatever their fate, count as received
        send(c, "garbage")
        assert got(c)["code"] == "bad_json"
        send(c, b"\x01\x02\x03", binary=True)
        assert got(c)["code"] == "bad_frame"
        send(c, {"type": "ping", "id": 1})
        assert got(c)["type"] == "pong"
        send(c, {"type": "broadcast", "room_id": room, "content": 1})
        assert got(c)["code"] == "not_member"
        s = get_stats(sp)
        assert s["messages_received"] - base["messages_received"] == n_in == 7
        assert s["messages_sent"] - base["messages_sent"] == n_out == 8
        assert s["messages_dropped"] == 0

        # bytes: at least the payloads, at most payloads plus frame headers
        d_in = s["bytes_received"] - base["bytes_received"]
        d_out = s["bytes_sent"] - base["bytes_sent"]
        assert sent_payload <= d_in <= sent_payload + WS_OVERHEAD * n_in, (d_in, sent_payload)
        assert recv_payload <= d_out <= recv_payload + WS_OVERHEAD * n_out, (d_out, recv_payload)

        # control frames are not messages
        before = get_stats(sp)
        a.send_ping(b"p")
        a.ping_check()
        s = get_stats(sp)
        assert s["messages_received"] - before["messages_received"] == 1
        assert s["messages_sent"] - before["messages_sent"] == 1

        # rooms_active follows joins and leaves
        a.join(unique_room())
        assert get_stats(sp)["rooms_active"] == 2
    finally:
        for x in (a, b, c):
            x.close()
    wait_stats(sp, lambda s: s["rooms_active"] == 0 and s["connections_active"] == 0, 3, "all gone")


def test_messages_per_second_and_uptime(start_server):
    srv = start_server()
    s0 = get_stats(srv.status_port)
    with WsClient.connect(srv.port) as c:
        for i in range(30):
            c.send_json({"type": "ping", "id": i})
        for i in range(30):
            c.expect("pong")
        s1 = get_stats(srv.status_port)
        assert s1["messages_per_second"] >= 0
        time.sleep(1.1)
        s2 = get_stats(srv.status_port)
    assert s2["uptime_s"] >= s0["uptime_s"] + 1, (s0["uptime_s"], s2["uptime_s"])
    assert s2["uptime_s"] <= time.monotonic() - srv.started_at + 1


def test_page_served_at_root(server):
    """README: the main vhost serves www/ at / (plain HTTP GET)."""
    status, headers, body = http_get(server.port, "/")
    assert status == 200, status
    assert headers.get("content-type", "").startswith("text/html"), headers
