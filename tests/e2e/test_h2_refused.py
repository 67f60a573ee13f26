"""HTTP/1.1 only (docs/RELIABILITY.md, "HTTP/2"): no path into roomcast
reaches lws's HTTP/2 code, on the WebSocket vhost or the status vhost.

- `Upgrade: h2c` (RFC 7540 3.2) is refused with an HTTP/1.1 400 and the
  connection closed, never `101 Switching Protocols`;
- a WebSocket upgrade to the status vhost (which serves no WebSocket) is
  refused the same way;
- over TLS, ALPN never selects h2, whatever the client offers;
- the HTTP/2 connection preface ("prior knowledge") on a plain port is
  refused, and a client that follows it with PING and SETTINGS frames and
  never reads makes the server's memory grow by no more than a few MB
  (lws 4.1.6 queues one acknowledgement per frame: 32 such connections
  over h2c grew a server from 8.6 MB to 1.39 GB in 24 s).
"""

import socket
import ssl
import struct
import time

import pytest

import serverctl
import tlsmode
from serverctl import rss_kb
from wsclient import ConnectionClosed, read_http_body, read_http_head

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# SETTINGS (type 4) with no parameters, and PING (type 6) with 8 bytes, on
# stream 0: each makes an HTTP/2 server queue an acknowledgement
SETTINGS = struct.pack(">I", 0)[1:] + bytes([4, 0]) + struct.pack(">I", 0)
PING = struct.pack(">I", 8)[1:] + bytes([6, 0]) + struct.pack(">I", 0) + b"roomcast"
# base64url of one SETTINGS parameter (SETTINGS_MAX_CONCURRENT_STREAMS=100)
HTTP2_SETTINGS = "AAMAAABk"


def h2c_request(path):
    return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            "HTTP2-Settings: %s\r\n\r\n" % (path, HTTP2_SETTINGS)).encode()


def ws_request(path):
    return ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n"
            "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % path).encode()


def answer(port, request, tls=None):
    """Sends `request` on a new connection: (status, headers, whether the
    server closed the connection after its answer)."""
    s = tlsmode.open_socket(port, timeout=3, tls=tls)
    try:
        s.sendall(request)
        deadline = time.monotonic() + 3
        st, headers, rest = read_http_head(s, deadline)
        read_http_body(s, headers, rest, deadline)
        s.settimeout(2)
        try:
            closed = s.recv(4096) == b""
        except (socket.timeout, ssl.SSLError):
            closed = False
        except OSError:
            closed = True
        return st, headers, closed
    finally:
        s.close()


@pytest.fixture(scope="module")
def h2srv(start_module_server):
    return start_module_server()


# ---- (i) Upgrade: h2c, and upgrades the status vhost does not serve -------

@pytest.mark.parametrize("path", ["/", "/anything", "/stats"])
def test_h2c_upgrade_refused_on_websocket_port(h2srv, path):
    st, headers, closed = answer(h2srv.port, h2c_request(path))
    assert st == 400, (st, headers)
    assert "upgrade" not in headers, headers
    assert closed, "connection left open after the refusal"


@pytest.mark.parametrize("path", ["/health", "/stats", "/"])
def test_h2c_upgrade_refused_on_status_port(h2srv, path):
    st, headers, closed = answer(h2srv.status_port, h2c_request(path))
    assert st == 400, (st, headers)
    assert "upgrade" not in headers, headers
    assert closed


@pytest.mark.parametrize("path", ["/health", "/"])
def test_websocket_upgrade_refused_on_status_port(h2srv, path):
    """The status vhost serves HTTP only: a WebSocket there would skip
    every handshake check and limit of the WebSocket vhost."""
    st, headers, closed = answer(h2srv.status_port, ws_request(path))
    assert st == 400, (st, headers)
    assert "sec-websocket-accept" not in headers, headers
    assert closed


def test_plain_requests_still_served(h2srv):
    """The refusals above touch only upgrades."""
    st, _, _ = answer(h2srv.status_port,
                      b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert st == 200
    st, _, _ = answer(h2srv.port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert st == 200


# ---- (ii) ALPN over TLS ------------------------------------------------------

@pytest.fixture(scope="module")
def tls_srv(start_module_server, tmp_path_factory):
    """The WebSocket vhost over TLS, in either mode (plain mode: a
    certificate of this module's own)."""
    if not tlsmode.ENABLED:
        tlsmode.use(*tlsmode.make_cert(tmp_path_factory.mktemp("h2tls")))
    return start_module_server(tls=True)


@pytest.mark.parametrize("offer", [["h2"], ["h2", "http/1.1"], ["http/1.1", "h2"]],
                         ids=["h2", "h2+http1.1", "http1.1+h2"])
def test_alpn_never_selects_h2(tls_srv, offer):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(tlsmode.material()[0]))
    ctx.set_alpn_protocols(offer)
    raw = socket.create_connection(("127.0.0.1", tls_srv.port), 3)
    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        chosen = s.selected_alpn_protocol()
        assert chosen != "h2", offer
        assert chosen in (None, "http/1.1"), chosen
        # and the connection speaks HTTP/1.1
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        st, _, _ = read_http_head(s, time.monotonic() + 3)
        assert st == 200


def test_h2_preface_over_tls_refused(tls_srv):
    """A client that offered h2, got no h2, and sends the preface anyway."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(tlsmode.material()[0]))
    ctx.set_alpn_protocols(["h2"])
    raw = socket.create_connection(("127.0.0.1", tls_srv.port), 3)
    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        s.sendall(PREFACE + SETTINGS + PING)
        try:
            st, _, _ = read_http_head(s, time.monotonic() + 3)
        except ConnectionClosed:
            st = "closed"
        assert st in (400, 403, "closed"), st


# ---- (iii) the HTTP/2 preface, then frames nobody reads ----------------------

def flood(sock_factory, n_conns, seconds):
    """n_conns connections each send `first` then PING/SETTINGS frames as
    fast as the server takes them, never reading, for `seconds`. Returns
    the bytes sent."""
    socks = []
    for _ in range(n_conns):
        s, first = sock_factory()
        s.setblocking(False)
        socks.append([s, first])
    burst = (PING * 15 + SETTINGS) * 16
    sent = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end and socks:
        for entry in list(socks):
            s, pending = entry
            data = pending or burst
            try:
                n = s.send(data)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                continue
            except OSError:
                socks.remove(entry)
                s.close()
                continue
            sent += n
            entry[1] = data[n:] if pending else b""
        time.sleep(0.001)
    for s, _ in socks:
        s.close()
    return sent, len(socks)


def small_rcvbuf_socket(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(3)
    s.connect(("127.0.0.1", port))
    return s


# RSS growth allowed over the flood: a few MB of lws buffers and allocator
# slack, far below what one queued acknowledgement per frame takes
RSS_BOUND_KB = 24 * 1024


@pytest.mark.timeout_s(40)
@pytest.mark.parametrize("how", ["preface-ws-port", "preface-status-port",
                                 "h2c-ws-port", "h2c-status-port"])
def test_h2_frames_nobody_reads_do_not_grow_memory(start_server, how):
    srv = start_server()
    pid = srv.serving_pid()

    def factory():
        if how == "preface-ws-port":
            return small_rcvbuf_socket(srv.port), PREFACE + SETTINGS
        if how == "preface-status-port":
            return small_rcvbuf_socket(srv.status_port), PREFACE + SETTINGS
        # after a 101 the rest would be HTTP/2 frames
        port = srv.port if how == "h2c-ws-port" else srv.status_port
        return small_rcvbuf_socket(port), h2c_request("/health") + PREFACE + SETTINGS

    before = rss_kb(pid)
    sent, still_open = flood(factory, 16, 2.0)
    time.sleep(0.2)
    after = rss_kb(pid)
    print("%s: sent %d bytes, %d connections still open, RSS %d -> %d KB"
          % (how, sent, still_open, before, after))
    assert after - before < RSS_BOUND_KB, (before, after, sent)
    # and the server still serves
    st, _, _ = answer(srv.status_port,
                      b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert st == 200
