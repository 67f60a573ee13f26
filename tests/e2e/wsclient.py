"""Client helpers for the roomcast end-to-end tests.

A small blocking WebSocket client (RFC 6455) written on a raw socket, so the
tests control every byte: fragmentation, masking, invalid UTF-8, not
answering pings, not reading at all, abortive close (RST), ... plus plain
HTTP helpers for the status mount and for refused handshakes.

Only the standard library is used here; the websockets package is used by a
few tests (through websockets_connect() below), to show that a real client
library interoperates.

Every client connection goes through tlsmode.open_socket() (raw sockets,
WsClient, HTTP) or websockets_connect(): in TLS mode (ROOMCAST_TLS=1) they
speak TLS to the server's WebSocket port, verifying the generated
certificate, and plain TCP to the status port.
"""

import base64
import hashlib
import http.client
import json
import os
import select
import socket
import ssl
import struct
import time

import tlsmode
from tlsmode import open_socket  # noqa: F401  (the tests' raw connections)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SUBPROTOCOL = "roomcast.v1"
HOST = "127.0.0.1"

OP_CONT, OP_TEXT, OP_BIN = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA


class HandshakeRefused(Exception):
    """The server answered the upgrade request with something else than 101."""

    def __init__(self, status, headers, body):
        super().__init__("handshake refused with HTTP %s" % status)
        self.status = status
        self.headers = headers
        self.body = body


class ConnectionClosed(Exception):
    """The connection ended. code is the close code of the peer's close frame,
    None when the socket ended without one (EOF or RST)."""

    def __init__(self, code, reason=b"", how="close-frame"):
        super().__init__("connection closed (%s, code=%r, reason=%r)" % (how, code, reason))
        self.code = code
        self.reason = reason
        self.how = how


class ProtocolViolation(AssertionError):
    """The server broke RFC 6455 framing rules."""


def _mask(payload, key):
    if not payload:
        return b""
    n = len(payload)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def build_frame(opcode, payload=b"", fin=True, mask=True, rsv=0):
    """Bytes of one client frame."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + _mask(payload, key)


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class WsClient:
    """A blocking WebSocket client over one TCP socket.

    recv*() return data messages only. Control frames are handled on the way:
    a ping is answered with a pong when auto_pong is true and recorded in
    self.pings either way; a close frame is answered (once) and raises
    ConnectionClosed.
    """

    def __init__(self, sock, status, headers, leftover=b""):
        self.sock = sock
        self.tls = isinstance(sock, ssl.SSLSocket)
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.buf = bytearray(leftover)
        self.auto_pong = True
        self.pings = []  # (monotonic time, payload)
        self.pongs = []
        self.close_code = None
        self.close_reason = None
        self.closed = False
        self._sent_close = False
        self._frag_op = None
        self._frag = []
        self.pending = []  # data messages read while waiting for control frames

    # ---- connection -----------------------------------------------------

    @classmethod
    def connect(cls, port, path="/", subprotocols=(SUBPROTOCOL,), origin=None,
                extra_headers=None, timeout=5.0, rcvbuf=None, host=HOST, tls=None,
                context=None):
        """Open a WebSocket. subprotocols=None or () sends no
        Sec-WebSocket-Protocol header. Raises HandshakeRefused on a non-101.
        tls=None: wss when `port` is a TLS port (TLS mode); True/False
        force it (tls=False to a TLS port: a plain ws:// attempt). context:
        an SSLContext other than the session's (tlsmode.client_context)."""
        sock = open_socket(port, host, timeout=timeout, rcvbuf=rcvbuf, tls=tls, nodelay=True,
                           context=context)
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            lines = [
                "GET %s HTTP/1.1" % path,
                "Host: %s:%d" % (host, port),
                "Upgrade: websocket",
                "Connection: Upgrade",
                "Sec-WebSocket-Key: %s" % key,
                "Sec-WebSocket-Version: 13",
            ]
            if subprotocols:
                lines.append("Sec-WebSocket-Protocol: %s" % ", ".join(subprotocols))
            if origin is not None:
                lines.append("Origin: %s" % origin)
            for k, v in (extra_headers or {}).items():
                lines.append("%s: %s" % (k, v))
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            status, headers, rest = read_http_head(sock, time.monotonic() + timeout)
            if status != 101:
                body = read_http_body(sock, headers, rest, time.monotonic() + 1.0)
                sock.close()
                raise HandshakeRefused(status, headers, body)
            want = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()
            if headers.get("sec-websocket-accept") != want:
                raise ProtocolViolation("bad Sec-WebSocket-Accept: %r" % headers)
        except BaseException:
            sock.close()
            raise
        return cls(sock, status, headers, rest)

    @property
    def subprotocol(self):
        return self.headers.get("sec-websocket-protocol")

    # ---- sending --------------------------------------------------------

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, opcode, payload=b"", fin=True, mask=True, rsv=0):
        self.sock.sendall(build_frame(opcode, payload, fin, mask, rsv))

    def send_text(self, text):
        self.send_frame(OP_TEXT, text.encode("utf-8") if isinstance(text, str) else text)

    def send_json(self, obj):
        self.send_text(dumps(obj))

    def send_binary(self, data):
        self.send_frame(OP_BIN, data)

    def send_fragments(self, parts, opcode=OP_TEXT, between=None):
        """Send one message as len(parts) frames. between(i) is called after
        frame i (not after the last) and may return extra raw bytes (e.g. an
        interleaved ping frame) to send there."""
        data = b""
        for i, p in enumerate(parts):
            if isinstance(p, str):
                p = p.encode("utf-8")
            last = i == len(parts) - 1
            data += build_frame(opcode if i == 0 else OP_CONT, p, fin=last)
            if between and not last:
                extra = between(i)
                if extra:
                    data += extra
        self.sock.sendall(data)

    def send_ping(self, payload=b""):
        self.send_frame(OP_PING, payload)

    def send_close(self, code=1000, reason=b""):
        if self._sent_close:
            return
        self._sent_close = True
        payload = struct.pack("!H", code) + reason if code is not None else b""
        try:
            self.send_frame(OP_CLOSE, payload)
        except OSError:
            pass

    # ---- receiving ------------------------------------------------------

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no data from server in time")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(1 << 18)
        except socket.timeout:
            raise TimeoutError("no data from server in time") from None
        except ConnectionResetError:
            self.closed = True
            raise ConnectionClosed(None, how="reset") from None
        if not chunk:
            self.closed = True
            raise ConnectionClosed(None, how="eof")
        self.buf += chunk

    def _parse_frame(self):
        """Pop one complete frame off self.buf, or None."""
        buf = self.buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        n = b1 & 0x7F
        off = 2
        if n == 126:
            if len(buf) < 4:
                return None
            n = struct.unpack_from("!H", buf, 2)[0]
            off = 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n = struct.unpack_from("!Q", buf, 2)[0]
            off = 10
        if b1 & 0x80:
            raise ProtocolViolation("server sent a masked frame")
        if b0 & 0x70:
            raise ProtocolViolation("server set RSV bits without an extension")
        if len(buf) < off + n:
            return None
        payload = bytes(buf[off:off + n])
        del buf[:off + n]
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def _handle(self, frame):
        """Process one frame; return a complete data message or None."""
        fin, op, payload = frame
        if op == OP_PING:
            self.pings.append((time.monotonic(), payload))
            if self.auto_pong and not self._sent_close:
                try:
                    self.send_frame(OP_PONG, payload)
                except OSError:
                    pass
            return None
        if op == OP_PONG:
            self.pongs.append((time.monotonic(), payload))
            return None
        if op == OP_CLOSE:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            self.close_code, self.close_reason = code, payload[2:]
            if not self._sent_close:
                self.send_close(code if code is not None else 1000)
            self.closed = True
            raise ConnectionClosed(code, payload[2:])
        if op in (OP_TEXT, OP_BIN):
            if self._frag_op is not None:
                raise ProtocolViolation("new data frame inside a fragmented message")
            if fin:
                return op, payload
            self._frag_op, self._frag = op, [payload]
            return None
        if op == OP_CONT:
            if self._frag_op is None:
                raise ProtocolViolation("continuation frame without a start")
            self._frag.append(payload)
            if not fin:
                return None
            msg = (self._frag_op, b"".join(self._frag))
            self._frag_op, self._frag = None, []
            return msg
        raise ProtocolViolation("unknown opcode %d" % op)

    def poll_messages(self):
        """Non-blocking: read what the socket has and return all complete
        data messages (list of (opcode, payload))."""
        out = []
        try:
            self.sock.setblocking(False)
            while True:
                try:
                    chunk = self.sock.recv(1 << 18)
                except (BlockingIOError, InterruptedError,
                        ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    break
                if not chunk:
                    self.closed = True
                    break
                self.buf += chunk
                # TLS hands out one record (<= 16 KiB) per recv: read
                # until the socket and OpenSSL's buffer are empty
                if not self.tls and len(chunk) < (1 << 18):
                    break
        finally:
            self.sock.setblocking(True)
        while True:
            f = self._parse_frame()
            if f is None:
                break
            m = self._handle(f)
            if m is not None:
                out.append(m)
        if self.closed and not out and not self.buf:
            raise ConnectionClosed(self.close_code, how="eof")
        return out

    def recv(self, timeout=5.0):
        """Next data message as (opcode, payload)."""
        if self.pending:
            return self.pending.pop(0)
        deadline = time.monotonic() + timeout
        while True:
            f = self._parse_frame()
            if f is None:
                self._fill(deadline)
                continue
            m = self._handle(f)
            if m is not None:
                return m

    def pump_until(self, pred, timeout):
        """Process incoming frames until pred() is true (e.g. a ping was
        seen); data messages are kept for recv(). Returns False on timeout."""
        deadline = time.monotonic() + timeout
        while not pred():
            f = self._parse_frame()
            if f is None:
                try:
                    self._fill(deadline)
                except TimeoutError:
                    return False
                continue
            m = self._handle(f)
            if m is not None:
                self.pending.append(m)
        return True

    def recv_json(self, timeout=5.0):
        op, payload = self.recv(timeout)
        if op != OP_TEXT:
            raise AssertionError("server sent a non-text message: opcode %d %r" % (op, payload[:80]))
        obj = json.loads(payload.decode("utf-8"))
        if not isinstance(obj, dict):
            raise AssertionError("server message is not a JSON object: %r" % (obj,))
        return obj

    def expect(self, type_, timeout=5.0):
        msg = self.recv_json(timeout)
        assert msg.get("type") == type_, "expected a %r message, got %r" % (type_, msg)
        return msg

    def expect_error(self, code, ref=None, timeout=5.0):
        """Next message must be error `code`; ref=None means it must carry no
        "ref" field, else "ref" must equal it."""
        msg = self.recv_json(timeout)
        assert msg.get("type") == "error", "expected error %s, got %r" % (code, msg)
        assert msg.get("code") == code, "expected error %s, got %r" % (code, msg)
        assert isinstance(msg.get("message"), str), "error without a message text: %r" % (msg,)
        if ref is None:
            assert "ref" not in msg, "error must carry no ref here: %r" % (msg,)
        else:
            assert msg.get("ref") == ref, "expected ref %r: %r" % (ref, msg)
        return msg

    def expect_silence(self, duration=0.3):
        """No data message arrives within `duration` seconds."""
        try:
            m = self.recv(duration)
        except TimeoutError:
            return
        raise AssertionError("expected no message, got %r" % (m,))

    def wait_close(self, timeout=5.0):
        """Read (and discard) until the connection ends. Returns
        (close code or None, how) where how is close-frame, eof or reset."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.recv(max(0.0, deadline - time.monotonic()))
        except ConnectionClosed as e:
            if e.how == "close-frame":
                # give the server the chance to finish the TCP close
                try:
                    self.sock.settimeout(1.0)
                    while self.sock.recv(65536):
                        pass
                except OSError:
                    pass
            return e.code, e.how

    # ---- protocol conveniences ------------------------------------------

    def request(self, obj, timeout=5.0):
        self.send_json(obj)
        return self.recv_json(timeout)

    def join(self, room, user=None, timeout=5.0, **extra):
        msg = {"type": "join", "room_id": room}
        if user is not None:
            msg["user_id"] = user
        msg.update(extra)
        r = self.request(msg, timeout)
        assert r.get("type") == "joined", "join %r failed: %r" % (room, r)
        return r

    def leave(self, room, timeout=5.0):
        r = self.request({"type": "leave", "room_id": room}, timeout)
        assert r == {"type": "left", "room_id": room} or (
            r.get("type") == "left" and r.get("room_id") == room), "leave failed: %r" % (r,)
        return r

    def broadcast(self, room, content):
        self.send_json({"type": "broadcast", "room_id": room, "content": content})

    _ping_id = 0

    def ping_check(self, timeout=5.0):
        """Application-level ping; the next message must be its pong."""
        WsClient._ping_id += 1
        pid = "chk-%d" % WsClient._ping_id
        self.send_json({"type": "ping", "id": pid})
        r = self.recv_json(timeout)
        assert r.get("type") == "pong" and r.get("id") == pid, \
            "connection not usable: expected pong %s, got %r" % (pid, r)
        return r

    # ---- ending ---------------------------------------------------------

    def close(self, code=1000, timeout=2.0):
        """Clean close handshake, then close the socket."""
        if self.sock.fileno() < 0:
            return
        if not self.closed:
            self.send_close(code)
            try:
                self.wait_close(timeout)
            except (TimeoutError, OSError, ProtocolViolation):
                pass
        self.sock.close()

    def abort(self):
        """Abortive close: SO_LINGER 0 makes close() send a TCP RST."""
        if self.sock.fileno() < 0:
            return
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
        self.closed = True

    def drop(self):
        """Close the TCP socket without a close frame (FIN)."""
        if self.sock.fileno() >= 0:
            self.sock.close()
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.close(timeout=0.5)
        except OSError:
            pass


# ---- HTTP ---------------------------------------------------------------

def read_http_head(sock, deadline):
    data = b""
    while b"\r\n\r\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no HTTP response head in time: %r" % data[:200])
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no HTTP response head in time: %r" % data[:200]) from None
        except ConnectionResetError:
            raise ConnectionClosed(None, how="reset") from None
        if not chunk:
            raise ConnectionClosed(None, how="eof-before-response:%r" % data[:200])
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ProtocolViolation("bad HTTP status line %r" % lines[0])
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return status, headers, rest


def read_http_body(sock, headers, rest, deadline):
    """Best effort: body by Content-Length, else until EOF/deadline."""
    body = bytearray(rest)
    want = headers.get("content-length")
    want = int(want) if want and want.isdigit() else None
    while want is None or len(body) < want:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, OSError):
            break
        if not chunk:
            break
        body += chunk
    return bytes(body)


def http_get(port, path, timeout=5.0, headers=None, host=HOST, tls=None):
    """GET -> (status, headers dict lower-case, body bytes). tls=None:
    HTTPS when `port` is a TLS port (TLS mode)."""
    if tls is None:
        tls = tlsmode.is_tls_port(port)
    if tls:
        conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                           context=tlsmode.client_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        conn.close()


def get_stats(port, timeout=5.0):
    status, headers, body = http_get(port, "/stats", timeout)
    assert status == 200, "GET /stats -> %s %r" % (status, body[:200])
    return json.loads(body)


def wait_for(predicate, timeout=5.0, interval=0.02, what="condition"):
    """Poll predicate() until it returns a truthy value; bounded."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s (last: %r)" % (timeout, what, last))
        time.sleep(interval)


def wait_stats(port, pred, timeout=5.0, what="stats condition"):
    """Poll /stats until pred(stats) is true; return those stats."""
    holder = {}

    def check():
        s = get_stats(port)
        holder["s"] = s
        return pred(s)

    try:
        wait_for(check, timeout, 0.03, what)
    except AssertionError:
        raise AssertionError("timed out waiting for %s; last stats %r" % (what, holder.get("s")))
    return holder["s"]


def select_readable(clients, timeout):
    socks = {c.sock: c for c in clients if c.sock.fileno() >= 0}
    if not socks:
        return []
    # TLS: data OpenSSL already decrypted does not make the fd readable
    buffered = [c for s, c in socks.items() if c.tls and s.pending()]
    r, _, _ = select.select(list(socks), [], [], 0 if buffered else timeout)
    return buffered + [socks[s] for s in r if socks[s] not in buffered]


def ws_url(port, path="/", host=HOST):
    """ws://host:port/path, or wss:// when `port` is a TLS port."""
    return "%s://%s:%d%s" % ("wss" if tlsmode.is_tls_port(port) else "ws", host, port, path)


def websockets_connect(port, path="/", host=HOST, **kw):
    """websockets.connect() to the server under test: wss:// with the
    verifying context in TLS mode. Use as `async with`."""
    import websockets
    if tlsmode.is_tls_port(port):
        kw.setdefault("ssl", tlsmode.client_context())
    return websockets.connect(ws_url(port, path, host), **kw)


_room_counter = [0]


def unique_room(prefix="room"):
    """A room id no other test uses (tests share module servers)."""
    _room_counter[0] += 1
    return "%s-%d-%s" % (prefix, _room_counter[0], os.urandom(3).hex())


def is_guest_id(u):
    return isinstance(u, str) and u.startswith("guest-") and u[6:].isdigit()


def assert_refused(port, status, **connect_kw):
    """The upgrade must be refused with HTTP `status` (not a 101, not a
    socket closed without an answer). Returns the HandshakeRefused."""
    try:
        c = WsClient.connect(port, **connect_kw)
    except HandshakeRefused as e:
        assert e.status == status, "expected HTTP %d, got HTTP %d (%r)" % (status, e.status, e.body[:200])
        return e
    except ConnectionClosed as e:
        raise AssertionError("expected HTTP %d, the server closed the socket without an "
                             "HTTP answer (%s)" % (status, e.how)) from None
    c.close()
    raise AssertionError("expected HTTP %d, the handshake was accepted (101, subprotocol %r)"
                         % (status, c.subprotocol))
