"""PROTOCOL.md, Transport: subprotocol negotiation, fragmentation,
max-message-size (1009), invalid UTF-8 (1007), binary messages (bad_frame),
control frames."""

import asyncio
import json

import pytest

import serverctl

from wsclient import (OP_PING, OP_TEXT, WsClient, assert_refused, build_frame, dumps,
                      unique_room, websockets_connect)

LIMIT = 1024


@pytest.fixture(scope="module")
def small_server(start_module_server):
    return start_module_server({"max-message-size": LIMIT})


def test_subprotocol_accepted_and_echoed(server):
    with WsClient.connect(server.port, subprotocols=["roomcast.v1"]) as c:
        assert c.status == 101
        assert c.subprotocol == "roomcast.v1"
        r = unique_room()
        j = c.join(r)
        assert j["room_id"] == r


def test_subprotocol_chosen_among_unknown_ones(server):
    with WsClient.connect(server.port, subprotocols=["chat.v9", "roomcast.v1", "x"]) as c:
        assert c.subprotocol == "roomcast.v1"
        c.ping_check()


def test_no_subprotocol_is_served_the_same(server):
    r = unique_room()
    with WsClient.connect(server.port, subprotocols=None) as c:
        assert c.status == 101
        # RFC 6455 4.2.2: no subprotocol header unless the client offered one
        assert "sec-websocket-protocol" not in c.headers, c.headers
        j = c.join(r, "plain")
        assert j["members"] == 1
        c.broadcast(r, {"k": 1})
        m = c.expect("broadcast")
        assert m["content"] == {"k": 1} and m["sender"] == "plain" and m["seq"] == 1


@pytest.mark.parametrize("protos", [["chat.v9"], ["roomcast.v2", "other"], ["roomcast"]])
def test_only_unknown_subprotocols_refused_400(server, protos):
    assert_refused(server.port, 400, subprotocols=protos)
    # and the server is fine afterwards
    with WsClient.connect(server.port) as c:
        c.ping_check()


@pytest.mark.parametrize("path", ["/", "/ws", "/some/deep/path?x=1"])
def test_any_non_mount_path_upgrades(server, path):
    with WsClient.connect(server.port, path=path) as c:
        assert c.subprotocol == "roomcast.v1"
        c.ping_check()


def test_websockets_library_interop_and_fragments(server):
    """A real client library: subprotocol, and a message sent as an iterable
    of str (websockets 10.4 sends each item as one fragment)."""
    room = unique_room()

    async def run():
        # wss:// in TLS mode
        async with websockets_connect(server.port, subprotocols=["roomcast.v1"],
                                      max_size=None) as ws:
            assert ws.subprotocol == "roomcast.v1"
            await ws.send(dumps({"type": "join", "room_id": room, "user_id": "lib"}))
            j = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert j["type"] == "joined" and j["user_id"] == "lib"
            text = dumps({"type": "broadcast", "room_id": room, "content": "fragmented ünïcode €"})
            parts = [text[i:i + 7] for i in range(0, len(text), 7)]
            await ws.send(iter(parts))
            m = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert m["type"] == "broadcast" and m["content"] == "fragmented ünïcode €"
            assert m["seq"] == 1 and m["sender"] == "lib"

    asyncio.run(asyncio.wait_for(run(), 15))


def test_fragmented_text_message_reassembled(server):
    room = unique_room()
    with WsClient.connect(server.port) as c:
        text = dumps({"type": "join", "room_id": room, "user_id": "frag"})
        c.send_fragments([text[:5], text[5:17], text[17:]])
        j = c.expect("joined")
        assert j["room_id"] == room and j["user_id"] == "frag"
        # empty fragments are legal too
        text = dumps({"type": "broadcast", "room_id": room, "content": [1, "two"]})
        c.send_fragments(["", text[:10], "", text[10:], ""])
        m = c.expect("broadcast")
        assert m["content"] == [1, "two"]


def test_control_frame_between_fragments(server):
    with WsClient.connect(server.port) as c:
        text = dumps({"type": "ping", "id": "between"})
        c.send_fragments([text[:6], text[6:]],
                         between=lambda i: build_frame(OP_PING, b"ctl-ping"))
        r = c.expect("pong")
        assert r["id"] == "between"
        assert any(p == b"ctl-ping" for _, p in c.pongs), "no pong for the interleaved ping"


def test_utf8_codepoint_split_across_fragments(server):
    room = unique_room()
    with WsClient.connect(server.port) as c:
        c.join(room)
        raw = dumps({"type": "broadcast", "room_id": room, "content": "é€😀"}).encode()
        i = raw.index("€".encode()) + 1  # inside the 3-byte sequence
        c.send_fragments([raw[:i], raw[i:i + 2], raw[i + 2:]])
        m = c.expect("broadcast")
        assert m["content"] == "é€😀"


def test_websocket_ping_answered_with_pong(server):
    with WsClient.connect(server.port) as c:
        c.send_ping(b"hello-ping")
        c.ping_check()  # a data round trip: the pong frame must be there by now
        assert [p for _, p in c.pongs] == [b"hello-ping"]


def test_largest_control_frames_between_pieces_of_a_large_message(server):
    """A control frame carries at most 125 bytes. The server reads large
    pieces per turn but keeps each control frame whole (docs/PERFORMANCE.md,
    reads): 125-byte pings between the pieces of a 60 KB message, all in
    one write, get their pongs byte for byte, the message arrives whole,
    and a close with a 123-byte reason is answered."""
    room = unique_room()
    with WsClient.connect(server.port) as c:
        c.join(room)
        raw = dumps({"type": "broadcast", "room_id": room, "content": "x" * 60000}).encode()
        pings = [bytes([0x41 + i]) * 125 for i in range(3)]
        c.send_fragments([raw[:20000], raw[20000:40000], raw[40000:50000], raw[50000:]],
                         between=lambda i: build_frame(OP_PING, pings[i]))
        m = c.expect("broadcast")
        assert m["content"] == "x" * 60000
        c.ping_check()
        assert [p for _, p in c.pongs] == pings
        c.send_close(1000, b"r" * 123)
        assert c.wait_close(5) == (1000, "close-frame")


def test_unknown_fields_ignored(server):
    room = unique_room()
    with WsClient.connect(server.port) as c:
        r = c.request({"type": "ping", "id": 1, "future": {"x": [1]}, "flag": True})
        assert r == {"type": "pong", "id": 1} or (r["type"] == "pong" and r["id"] == 1)
        j = c.join(room, "u1", extra_field="ignored")
        assert j["room_id"] == room


def test_client_close_handshake_answered(server):
    c = WsClient.connect(server.port)
    c.ping_check()
    c.send_close(1000)
    code, how = c.wait_close(5)
    assert how == "close-frame", "server did not answer the close frame (%s)" % how
    assert code == 1000
    c.sock.close()


def test_binary_message_gets_bad_frame_and_connection_stays(server):
    room = unique_room()
    with WsClient.connect(server.port) as c:
        c.join(room)
        c.send_binary(b"\x00\x01binary")
        c.expect_error("bad_frame", ref=None)
        c.ping_check()
        # a binary message that looks like a valid JSON request is still bad_frame
        c.send_binary(dumps({"type": "broadcast", "room_id": room, "content": 1}).encode())
        c.expect_error("bad_frame", ref=None)
        c.ping_check()
        c.broadcast(room, "after")
        m = c.expect("broadcast")
        assert m["content"] == "after" and m["seq"] == 1, "binary message must not be broadcast: %r" % m


# ---- max-message-size -------------------------------------------------------

def padded_broadcast(room, size, check=True):
    """A broadcast message of exactly `size` bytes of UTF-8."""
    base = dumps({"type": "broadcast", "room_id": room, "content": ""}).encode()
    if not check:
        return base
    pad = size - len(base)
    assert pad >= 0
    return dumps({"type": "broadcast", "room_id": room, "content": "x" * pad}).encode()


def expect_close(c, code, timeout=5.0):
    got, how = c.wait_close(timeout)
    assert how == "close-frame", "expected close %d, the socket just ended (%s)" % (code, how)
    assert got == code, "expected close code %d, got %r" % (code, got)


def test_message_at_max_size_accepted(small_server):
    room = unique_room()
    with WsClient.connect(small_server.port) as c:
        c.join(room)
        msg = padded_broadcast(room, LIMIT)
        assert len(msg) == LIMIT
        c.send_frame(OP_TEXT, msg)
        m = c.expect("broadcast")
        assert len(m["content"]) == LIMIT - len(padded_broadcast(room, 0, check=False))
        # fragmented, exactly at the limit
        c.send_fragments([msg[:300], msg[300:700], msg[700:]])
        m = c.expect("broadcast")
        assert m["seq"] == 2


def test_single_frame_over_max_size_closed_1009(small_server):
    room = unique_room()
    c = WsClient.connect(small_server.port)
    c.join(room)
    c.send_frame(OP_TEXT, padded_broadcast(room, LIMIT + 1))
    expect_close(c, 1009)
    c.sock.close()
    with WsClient.connect(small_server.port) as d:
        d.ping_check()


def test_fragmented_over_max_size_closed_1009(small_server):
    room = unique_room()
    c = WsClient.connect(small_server.port)
    c.join(room)
    msg = padded_broadcast(room, 1200)
    try:
        c.send_fragments([msg[:400], msg[400:800], msg[800:]])
    except OSError:
        pass  # the server may close before the last fragment
    expect_close(c, 1009)
    c.sock.close()


def test_many_small_fragments_over_max_size_closed_1009(small_server):
    c = WsClient.connect(small_server.port)
    c.ping_check()
    parts = ['{"type":"ping","id":"'] + ["y" * 100] * 12 + ['"}']
    try:
        c.send_fragments(parts)
    except OSError:
        pass
    expect_close(c, 1009)
    c.sock.close()


# ---- invalid UTF-8 -------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    b"\xff",                # never valid
    b"\xc0\xaf",            # overlong '/'
    b"\xed\xa0\x80",        # UTF-16 surrogate
    b"\xf4\x90\x80\x80",    # above U+10FFFF
    b"\xe2\x82",            # truncated sequence, then a quote
], ids=["ff", "overlong", "surrogate", "above-max", "truncated"])
def test_invalid_utf8_closed_1007(server, bad):
    c = WsClient.connect(server.port)
    c.ping_check()
    c.send_frame(OP_TEXT, b'{"type":"ping","id":"' + bad + b'"}')
    expect_close(c, 1007)
    c.sock.close()


def test_invalid_utf8_in_later_fragment_closed_1007(server):
    c = WsClient.connect(server.port)
    c.ping_check()
    try:
        c.send_fragments([b'{"type":"ping",', b'"id":"\xfe\xfe"}'])
    except OSError:
        pass
    expect_close(c, 1007)
    c.sock.close()


def test_default_max_message_size(server):
    """Default max-message-size 65536: at the limit accepted (64-bit frame
    length), one byte over -> 1009."""
    room = unique_room()
    c = WsClient.connect(server.port)
    c.join(room)
    c.send_frame(OP_TEXT, padded_broadcast(room, 65536))
    m = c.expect("broadcast")
    assert m["seq"] == 1
    c.send_frame(OP_TEXT, padded_broadcast(room, 65537))
    expect_close(c, 1009)
    c.sock.close()


@pytest.mark.parametrize("size", [100, 1000, 5000, 20000, 60000])
def test_invalid_utf8_large_frame_closed_1007(server, size):
    """The size of the message must not change the answer to invalid
    UTF-8 (below max-message-size): a close frame with 1007."""
    c = WsClient.connect(server.port)
    c.ping_check()
    c.send_frame(OP_TEXT, b"\xff" * size)
    expect_close(c, 1007)
    c.sock.close()


def test_permessage_deflate_offer_gets_frames_compressed_never(start_server):
    """CONFIG.md, permessage-deflate: roomcast-server does not accept the
    extension; lwsws may (its own context offers it), and then roomcast's
    broadcasts still arrive uncompressed (RSV1 clear: WsClient fails on any
    RSV bit), whole and in order."""
    srv = start_server()
    offer = {"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"}
    room = unique_room("deflate")
    a = WsClient.connect(srv.port, extra_headers=offer)
    b = WsClient.connect(srv.port, extra_headers=offer)
    try:
        negotiated = a.headers.get("sec-websocket-extensions")
        if serverctl.KIND == "server":
            assert negotiated is None, negotiated
        a.join(room, "a")
        b.join(room, "b")
        for n in range(20):
            a.broadcast(room, {"n": n, "text": "z" * 300})
        got = [b.expect("broadcast")["content"]["n"] for _ in range(20)]
        assert got == list(range(20))
    finally:
        a.abort()
        b.abort()
