"""Issue 12 as a client sees it: the status port answers a GET that carries
a body and pipelined GETs in full (docs/RELIABILITY.md, Bounds), and a
vhost whose config lists "roomcast": {} (no options) serves roomcast.v1
with the defaults, under roomcast-server and lwsws alike."""

import json
import socket
import time

from serverctl import Server, make_lwsws_config
import tlsmode
from wsclient import WsClient, read_http_body, read_http_head, unique_room

HOST = "127.0.0.1"


def read_responses(sock, n, timeout=5.0):
    """Read @n complete HTTP responses (by Content-Length) off @sock."""
    deadline = time.monotonic() + timeout
    out, rest = [], b""
    for _ in range(n):
        # read_http_head reads more from the socket only if rest lacks a head
        if b"\r\n\r\n" in rest:
            head, rest = rest.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ")[1])
            headers = {k.strip().lower(): v.strip() for k, v in
                       (line.split(":", 1) for line in lines[1:] if ":" in line)}
        else:
            status, headers, rest = read_http_head(sock, deadline)
        want = int(headers["content-length"])
        if len(rest) < want:
            # one recv may carry the end of this body and the start of the
            # next pipelined answer: keep what lies past Content-Length
            rest = read_http_body(sock, headers, rest, deadline)
        body, rest = rest[:want], rest[want:]
        assert len(body) == want, "body cut short: %r" % body
        out.append((status, headers, body))
    return out


def raw(port, data):
    s = socket.create_connection((HOST, port), timeout=5)
    s.sendall(data)
    return s


def test_status_get_with_body_gets_its_body(server):
    """The body is not read: the full answer, then the connection closes
    (said by "connection: close"), and the server serves on."""
    s = raw(server.status_port, b"GET /health HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 5\r\n\r\nhello")
    try:
        [(status, headers, body)] = read_responses(s, 1)
        assert headers.get("connection") == "close"
        s.settimeout(3)
        assert s.recv(100) == b""  # closed, not hanging
    finally:
        s.close()
    assert status == 200
    assert json.loads(body) == {"status": "ok"}


def test_status_pipelined_gets_each_answered(server):
    s = raw(server.status_port,
            b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
    try:
        got = read_responses(s, 4)
    finally:
        s.close()
    assert [g[0] for g in got] == [200, 200, 200, 200]
    assert json.loads(got[0][2]) == {"status": "ok"}
    assert "connections_active" in json.loads(got[1][2])
    assert b"roomcast_connections_active" in got[2][2]
    assert json.loads(got[3][2]) == {"status": "ok"}
    # the server was not left spinning on the pipelined input
    s = raw(server.status_port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        [(status, _, _)] = read_responses(s, 1)
    finally:
        s.close()
    assert status == 200


def test_status_in_flight_back_to_zero(server):
    """A client that hangs up before reading: the drain count returns to 0
    (bodies_pending never underflows), so a stop is not held up."""
    for _ in range(5):
        s = raw(server.status_port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        s.close()
    s = raw(server.status_port, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        [(status, _, _)] = read_responses(s, 1)
    finally:
        s.close()
    assert status == 200
    t0 = time.monotonic()
    server.stop()
    # a needless wait for phantom bodies would take a second or more
    assert time.monotonic() - t0 < 1.0


class EmptyOptionsServer(Server):
    """The repo's config with the roomcast vhost's "roomcast" entry
    replaced by {} (no options, so no "default" either)."""

    def argv(self):
        a = super().argv()
        if self.kind == "server":
            cfg = self.workdir / "config"
            if "--config" not in a:
                make_lwsws_config(cfg, self.port, self.status_port, {}, None)
                a += ["--config", str(cfg)]
        else:
            cfg = self.workdir / "lwsws-config"
        for f in (cfg / "conf.d").iterdir():
            doc = json.loads(f.read_text())
            for vh in doc.get("vhosts", []):
                for p in vh.get("ws-protocols", []) or []:
                    if "roomcast" in p:
                        p["roomcast"] = {}
            f.write_text(json.dumps(doc, indent=2) + "\n")
        return a


def test_empty_roomcast_options_serve_defaults(tmp_path):
    srv = EmptyOptionsServer(workdir=tmp_path)
    srv.start()
    try:
        c = WsClient.connect(srv.port)
        try:
            room = unique_room()
            c.send_json({"type": "join", "room_id": room})
            j = c.recv_json()
            assert j["type"] == "joined" and j["members"] == 1
            c.send_json({"type": "broadcast", "room_id": room, "content": "hi"})
            b = c.recv_json()
            assert b["type"] == "broadcast" and b["content"] == "hi"
            assert b["seq"] == 1
        finally:
            c.close()
    finally:
        srv.stop()
        problems = srv.problems()
    assert not problems, problems


def test_max_queued_bytes_sheds_the_slow_member(start_server):
    """All rings together over max-queued-bytes: the member not reading
    (holding the most) is closed with 4001; the publisher, who reads, goes
    on; nothing is counted as dropped (docs/RELIABILITY.md, Bounds)."""
    from wsclient import ConnectionClosed, get_stats
    cap = 300000
    srv = start_server({"max-queued-bytes": cap, "send-ring-bytes": 16000000,
                        "send-ring-size": 65536})
    room = unique_room("cap")
    pub = WsClient.connect(srv.port)
    slow = WsClient.connect(srv.port, rcvbuf=4096)
    pub.join(room, "pub")
    slow.join(room, "slow")
    content = "x" * 32000
    deadline = time.monotonic() + 20
    sent = 0
    while sent < 1000 and time.monotonic() < deadline:
        pub.broadcast(room, content)
        pub.expect("broadcast")
        sent += 1
        if sent % 10 == 0 and get_stats(srv.status_port)["slow_consumers_shed"]:
            break
    s = get_stats(srv.status_port)
    assert s["slow_consumers_shed"] == 1, (sent, s)
    assert s["messages_dropped"] == 0, s
    assert s["queued_bytes"] <= cap, s
    # the publisher goes on
    pub.broadcast(room, "after")
    assert pub.expect("broadcast")["content"] == "after"
    # the slow member, reading at last, ends with 4001
    code = None
    end = time.monotonic() + 15
    try:
        while time.monotonic() < end:
            slow.recv_json(max(0.01, end - time.monotonic()))
    except ConnectionClosed as e:
        code = e.code
    assert code == 4001, code
    pub.close()
