"""Misbehaving peers: RFC 6455 violations end that connection only; slow
senders do not block others; many connections at once. (The sanitizer
check at teardown makes these count double under ASan.)

Not tested: unmasked client frames. RFC 6455 5.1 says the server must
close, but lws 4.1.6's server parser (roles/ws/ops-ws.c) accepts both and
hides the mask bit from the protocol callback, so roomcast cannot act."""

import struct
import time

import pytest

from wsclient import (OP_CONT, OP_PING, OP_TEXT, WsClient, build_frame, dumps, get_stats,
                      open_socket, unique_room, wait_stats)

BAD_FRAMES = {
    "reserved-opcode-3": build_frame(0x3, b"x"),
    "reserved-opcode-b": build_frame(0xB, b"x"),
    "rsv1-no-extension": build_frame(OP_TEXT, b'{"type":"ping"}', rsv=4),
    "rsv3": build_frame(OP_TEXT, b'{"type":"ping"}', rsv=1),
    "control-too-long": build_frame(OP_PING, b"p" * 126),
    "fragmented-control": build_frame(OP_PING, b"p", fin=False),
    "continuation-first": build_frame(OP_CONT, b"x"),
    "text-inside-fragmented": build_frame(OP_TEXT, b"{", fin=False) + build_frame(OP_TEXT, b"}"),
    "close-1-byte": build_frame(0x8, b"\x03"),
    "close-bad-code": build_frame(0x8, struct.pack("!H", 999)),
    "close-bad-utf8-reason": build_frame(0x8, struct.pack("!H", 1000) + b"\xff"),
    # a 2^62-byte frame: the first 70000 bytes already pass max-message-size
    "64bit-length-huge": bytes([0x81, 0xFF]) + struct.pack("!Q", 1 << 62) + b"\0\0\0\0"
    + b"a" * 70000,  # all-zero mask key: the payload is 'a's
}


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
def test_protocol_violation_ends_only_that_connection(server, name):
    room = unique_room()
    with WsClient.connect(server.port) as good:
        good.join(room)
        bad = WsClient.connect(server.port)
        bad.join(room)
        bad.send_raw(BAD_FRAMES[name])
        try:
            code, how = bad.wait_close(5)
        except TimeoutError:
            raise AssertionError("connection not failed after %s" % name) from None
        finally:
            bad.sock.close()
        if name == "64bit-length-huge":
            assert (code, how) == (1009, "close-frame"), (code, how)
        elif how == "close-frame" and name not in ("close-bad-code", "close-1-byte"):
            assert code in (1002, 1007, 1009, None), "close code %r after %s" % (code, name)
        good.broadcast(room, "alive")
        m = good.expect("broadcast")
        assert m["content"] == "alive" and m["seq"] == 1


def test_partial_frame_does_not_block_others(server):
    room = unique_room()
    with WsClient.connect(server.port) as slow, WsClient.connect(server.port) as other:
        slow.join(room)
        other.join(room)
        frame = build_frame(OP_TEXT, dumps({"type": "broadcast", "room_id": room, "content": "x" * 5000}))
        slow.send_raw(frame[:3000])
        t0 = time.monotonic()
        other.ping_check()
        other.broadcast(room, "meanwhile")
        assert other.expect("broadcast")["seq"] == 1
        assert time.monotonic() - t0 < 1.0
        slow.send_raw(frame[3000:])
        seqs = [slow.expect("broadcast")["seq"] for _ in range(2)]
        assert seqs == [1, 2]


def test_half_message_then_abort(server):
    room = unique_room()
    with WsClient.connect(server.port) as other:
        other.join(room)
        c = WsClient.connect(server.port)
        c.join(room)
        c.send_raw(build_frame(OP_TEXT, b'{"type":"broadcast",', fin=False))
        c.send_raw(build_frame(OP_TEXT, b'x' * 100)[:20])
        c.abort()
        other.broadcast(room, 1)
        assert other.expect("broadcast")["seq"] == 1


@pytest.mark.parametrize("junk", [
    b"\x00\x01\x02garbage\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 20000 + b"\r\n\r\n",
    b"POST /stats HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n",  # no key
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
], ids=["binary-junk", "long-header", "post", "no-key", "old-version"])
def test_bad_http_requests_survived(server, junk):
    # TLS mode: the junk travels inside TLS (the TLS port's answer to
    # plain bytes is test_tls.py's)
    s = open_socket(server.port, timeout=3)
    try:
        s.sendall(junk)
        try:
            s.recv(65536)
        except OSError:
            pass
    finally:
        s.close()
    with WsClient.connect(server.port) as c:
        c.ping_check()


@pytest.mark.timeout_s(60)
def test_many_connections_one_room(start_server):
    srv = start_server()
    n = 300
    room = unique_room()
    clients = []
    try:
        for i in range(n):
            c = WsClient.connect(srv.port)
            c.send_json({"type": "join", "room_id": room})
            clients.append(c)
        members = sorted(c.expect("joined")["members"] for c in clients)
        assert members == list(range(1, n + 1))
        s = get_stats(srv.status_port)
        assert s["connections_active"] == n and s["rooms_active"] == 1
        clients[0].broadcast(room, "to all")
        for c in clients:
            m = c.expect("broadcast")
            assert m["seq"] == 1 and m["content"] == "to all"
        for c in clients[: n // 2]:
            c.abort()
        for c in clients[n // 2:]:
            c.drop()
        clients = []
        wait_stats(srv.status_port, lambda s: s["connections_active"] == 0 and s["rooms_active"] == 0,
                   10, "all %d closed" % n)
    finally:
        for c in clients:
            c.abort()
