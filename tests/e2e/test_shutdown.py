"""roomcast-server (and lwsws) and SIGTERM / SIGINT: every client gets close 1001,
/health is not 200 while draining, the process exits 0 within 5 s."""

import http.client
import json
import signal
import threading
import time

import pytest

from wsclient import ConnectionClosed, WsClient, http_get, open_socket, unique_room

def raw_health(port):
    """GET /health on a raw socket: (status or error name, body or
    "truncated" when the body is shorter than its Content-Length)."""
    from wsclient import read_http_body, read_http_head
    try:
        s = open_socket(port, timeout=1)
    except OSError as e:
        return type(e).__name__, ""
    try:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        st, headers, rest = read_http_head(s, time.monotonic() + 1)
        body = read_http_body(s, headers, rest, time.monotonic() + 1)
        want = int(headers.get("content-length", len(body)))
        return st, body.decode("latin-1") if len(body) >= want else "truncated"
    except (OSError, ConnectionClosed, AssertionError) as e:
        return type(e).__name__, ""
    finally:
        s.close()


# Both kinds: roomcast-server's own signal handling (README.md), and lwsws
# with scripts/lwsws.sh's drain patch (docs/LWSWS.md), where a signal to
# the root process reaches the serving child and new connections are
# refused at once (listen sockets closed); see also test_lwsws.py.


@pytest.mark.timeout_s(30)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_closes_clients_1001_and_exits_0(start_server, sig):
    srv = start_server()
    room = unique_room()
    clients = [WsClient.connect(srv.port) for _ in range(5)]
    for c in clients:
        c.join(room)
    idle = WsClient.connect(srv.port)  # in no room
    idle.ping_check()
    clients.append(idle)

    health = []
    stop = threading.Event()

    def poll_health():
        while not stop.is_set():
            health.append((time.monotonic(),) + raw_health(srv.status_port))
            time.sleep(0.01)

    t0 = time.monotonic()
    srv.send_signal(sig)
    poller = threading.Thread(target=poll_health, daemon=True)
    poller.start()
    results = []
    try:
        for c in clients:
            try:
                results.append(c.wait_close(5))
            except TimeoutError:
                results.append(("timeout", None))
        first_close = time.monotonic()
        rc = srv.wait(max(0.1, 5 - (time.monotonic() - t0)))
        elapsed = time.monotonic() - t0
    finally:
        stop.set()
        poller.join(3)
        for c in clients:
            c.sock.close()

    assert results == [(1001, "close-frame")] * len(clients), \
        "every client must get a close frame with 1001: %r" % results
    assert rc is not None, "server still running 5 s after %s" % sig.name
    assert rc == 0, "exit status %s after %s" % (rc, sig.name)
    assert elapsed <= 5.0, elapsed
    # while draining, /health is 503 or the port no longer answers; never a 200
    after = [(t, st) for t, st, _ in health if t >= first_close]
    assert all(st != 200 for _, st in after), "/health said 200 after clients got 1001: %r" % after
    print("health during drain:", sorted({"%s %r" % (st, body[:40]) for _, st, body in health}))
    truncated = [(st, body) for _, st, body in health if body == "truncated"]
    assert not truncated, "/health answers cut short (Content-Length not met): %r" % truncated[:3]


@pytest.mark.timeout_s(20)
def test_health_503_while_draining(start_server):
    """A client that does not answer the close keeps the server draining;
    /health must say 503 meanwhile; still, the process exits 0 within 5 s
    (README.md)."""
    srv = start_server()
    c = WsClient.connect(srv.port)
    c.ping_check()
    c.auto_pong = False
    t0 = time.monotonic()
    srv.send_signal(signal.SIGTERM)
    # read the close frame but do not answer it: the server keeps draining
    c._sent_close = True  # suppress the client's close reply
    try:
        c.recv(5)
        raise AssertionError("expected a close frame")
    except ConnectionClosed as e:
        assert e.code == 1001
    seen = []
    t_end = time.monotonic() + 1.0
    while time.monotonic() < t_end and srv.alive():
        try:
            st, _, body = http_get(srv.status_port, "/health", timeout=0.5)
            seen.append(st)
            if st == 503:
                assert json.loads(body).get("status"), body
                break
        except (OSError, http.client.HTTPException) as e:
            seen.append(type(e).__name__)
            break
        time.sleep(0.02)
    rc = srv.wait(max(0.1, 8 - (time.monotonic() - t0)))
    elapsed = time.monotonic() - t0
    c.sock.close()
    assert 200 not in seen, "/health said 200 while draining: %r" % seen
    print("health while draining:", seen, "exit after %.2f s" % elapsed)
    assert rc is not None, "server still running 8 s after SIGTERM"
    assert rc == 0, "exit status %r" % rc
    assert elapsed <= 5.0, "exited %.2f s after SIGTERM, more than 5 s" % elapsed


@pytest.mark.timeout_s(15)
def test_sigterm_with_no_clients(start_server):
    srv = start_server()
    t0 = time.monotonic()
    srv.send_signal(signal.SIGTERM)
    rc = srv.wait(5)
    assert rc == 0, rc
    assert time.monotonic() - t0 < 2.0, "idle server should stop at once"


@pytest.mark.timeout_s(60)
@pytest.mark.parametrize("round_", range(4))
def test_status_answers_are_never_cut_by_shutdown(start_server, round_):
    """Four pollers hammer /health while the server stops: an answer may be
    a 503 or no connection at all, but one whose headers left always gets
    its whole body (roomcast-server waits for status bodies in flight)."""
    srv = start_server()
    c = WsClient.connect(srv.port)
    c.join(unique_room())
    seen = []
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            seen.append(raw_health(srv.status_port))

    pollers = [threading.Thread(target=poll, daemon=True) for _ in range(4)]
    for p in pollers:
        p.start()
    time.sleep(0.05 * round_)
    srv.send_signal(signal.SIGTERM)
    try:
        c.wait_close(5)
        rc = srv.wait(5)
    finally:
        time.sleep(0.1)
        stop.set()
        for p in pollers:
            p.join(3)
        c.sock.close()
    assert rc == 0
    answered = [s for s in seen if isinstance(s[0], int)]
    assert answered, "no /health answer at all"
    truncated = [s for s in seen if s[1] == "truncated"]
    assert not truncated, "%d of %d answers cut short" % (len(truncated), len(seen))
