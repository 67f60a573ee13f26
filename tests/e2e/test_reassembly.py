"""Unfinished fragmented messages (issue 11, item 3; docs/RELIABILITY.md,
"Unfinished messages"):

- an empty first fragment is a legal start of a message (it once made the
  server memcpy from a NULL buffer: undefined behaviour, fatal under UBSan);
- a message must be finished within `reassembly-timeout-s` of its first
  fragment, whatever trickles in meanwhile: else close 4002;
- the bytes held for partial messages of all connections together stay
  under `max-reassembly-bytes`: the connection whose message would pass it
  is closed with 1011, the others keep theirs;
- the bound holds for the process: many connections each holding a
  near-`max-message-size` partial message grow RSS by about the budget;
- a message in thousands of one-byte fragments costs bounded CPU.
"""

import time
from pathlib import Path

import pytest

from serverctl import rss_kb
from wsclient import (OP_BIN, OP_CONT, OP_TEXT, ConnectionClosed, WsClient,
                      build_frame, dumps, get_stats, http_get, unique_room,
                      wait_for, wait_stats)

CLOSE_TIMEOUT = 4002
CLOSE_BUDGET = 1011


def sanitized(pid):
    return "libasan" in Path("/proc/%d/maps" % pid).read_text()


def cpu_s(pid):
    fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0  # utime + stime, ticks


def start_partial(c, nbytes, opcode=OP_TEXT):
    """Send the first nbytes of a message, not final."""
    c.send_raw(build_frame(opcode, b'{"type":"ping","pad":"' + b"x" * max(0, nbytes - 22),
                           fin=False))


def test_empty_first_fragment(server):
    with WsClient.connect(server.port) as c:
        text = dumps({"type": "ping", "id": "empty-first"})
        c.send_fragments(["", text])
        assert c.expect("pong")["id"] == "empty-first"
        c.send_fragments(["", "", "", text[:3], "", text[3:]])
        assert c.expect("pong")["id"] == "empty-first"
        c.send_fragments([b"", b"\x00\x01"], opcode=OP_BIN)
        c.expect_error("bad_frame")
        c.ping_check()


@pytest.mark.timeout_s(20)
def test_trickled_message_closed_at_deadline(start_server):
    srv = start_server({"reassembly-timeout-s": "2", "ping-interval-s": "1",
                        "pong-timeout-s": "1"})
    base = get_stats(srv.status_port)["reassembly_aborted"]
    with WsClient.connect(srv.port) as c:
        t0 = time.monotonic()
        c.send_raw(build_frame(OP_TEXT, b'{"type":"ping",', fin=False))
        # a byte every 0.3 s, and every ping answered: heard all the time
        code = how = None
        try:
            while time.monotonic() - t0 < 6:
                c.send_raw(build_frame(OP_CONT, b" ", fin=False))
                c.pump_until(lambda: False, 0.3)
        except ConnectionClosed as e:
            code, how = e.code, e.how
        except OSError:
            code, how = c.wait_close(3)
        took = time.monotonic() - t0
        assert how != "reset"
        if how == "close-frame":
            assert code == CLOSE_TIMEOUT, code
            assert c.close_reason == b"message not finished in time"
        assert 1.9 <= took <= 3.6, took
    with WsClient.connect(srv.port) as other:
        other.ping_check()
    st = wait_stats(srv.status_port, lambda s: s["connections_active"] == 0)
    assert st["reassembly_aborted"] == base + 1
    assert st["reassembly_bytes"] == 0


@pytest.mark.timeout_s(20)
def test_finished_message_within_deadline_is_served(start_server):
    srv = start_server({"reassembly-timeout-s": "2"})
    with WsClient.connect(srv.port) as c:
        text = dumps({"type": "ping", "id": "slow-but-finished"})
        c.send_raw(build_frame(OP_TEXT, text[:5].encode(), fin=False))
        time.sleep(1.2)
        c.send_raw(build_frame(OP_CONT, text[5:].encode(), fin=True))
        assert c.expect("pong")["id"] == "slow-but-finished"
        # the deadline is per message: a second slow one has its own
        c.send_raw(build_frame(OP_TEXT, text[:5].encode(), fin=False))
        time.sleep(1.2)
        c.send_raw(build_frame(OP_CONT, text[5:].encode(), fin=True))
        assert c.expect("pong")["id"] == "slow-but-finished"


@pytest.mark.timeout_s(20)
def test_budget_closes_the_one_that_grows(start_server):
    srv = start_server({"max-reassembly-bytes": "65536",
                        "reassembly-timeout-s": "30"})
    with WsClient.connect(srv.port) as a, WsClient.connect(srv.port) as b:
        # a's buffer doubles from 1 KB to 64 KB (clamped to max-message-size)
        start_partial(a, 40000)
        wait_stats(srv.status_port, lambda s: s["reassembly_bytes"] == 65536,
                   what="a holds 64 KB")
        start_partial(b, 2000)
        code, how = b.wait_close(5)
        assert how != "reset"
        if how == "close-frame":
            assert code == CLOSE_BUDGET, code
        # a keeps its message and finishes it
        a.send_raw(build_frame(OP_CONT, b'","id":"a"}', fin=True))
        assert a.expect("pong")["id"] == "a"
        st = wait_stats(srv.status_port, lambda s: s["reassembly_bytes"] == 0)
        assert st["reassembly_aborted"] >= 1
    # the budget is free again
    with WsClient.connect(srv.port) as c:
        start_partial(c, 20000)
        c.send_raw(build_frame(OP_CONT, b'","id":"c"}', fin=True))
        assert c.expect("pong")["id"] == "c"


BUDGET = 4 << 20


@pytest.mark.timeout_s(60)
def test_many_partial_messages_hold_the_budget_not_more(start_server):
    """600 connections each start a 60 KB message and never finish it:
    unbounded, that is 600 x 64 KB = 38 MB; bounded, about 4 MB."""
    srv = start_server({"max-reassembly-bytes": str(BUDGET),
                        "reassembly-timeout-s": "4"})
    pid = srv.serving_pid()
    fds0 = srv.fd_count()
    clients = []
    try:
        for _ in range(40):  # warm the allocator up a little
            clients.append(WsClient.connect(srv.port))
        for c in clients:
            c.close()
        clients = []
        wait_stats(srv.status_port, lambda s: s["connections_active"] == 0)
        before = rss_kb(pid)
        for _ in range(600):
            clients.append(WsClient.connect(srv.port))
        for c in clients:
            try:
                start_partial(c, 60000)
            except OSError:  # TLS: already closed over the budget
                pass
        peak = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            st = get_stats(srv.status_port)
            peak = max(peak, st["reassembly_bytes"])
            assert st["reassembly_bytes"] <= BUDGET
            time.sleep(0.1)
        held = rss_kb(pid)
        st = get_stats(srv.status_port)
        print("600 partial messages: RSS %d -> %d KB, reassembly_bytes peak %d, "
              "aborted %d, still open %d" % (before, held, peak,
                                             st["reassembly_aborted"],
                                             st["connections_active"]))
        if not sanitized(pid):  # ASan's quarantine keeps what was freed
            assert held - before < 24 * 1024, (before, held)
        assert st["reassembly_aborted"] >= 400
        # /health and a new real client are served meanwhile
        h = http_get(srv.status_port, "/health")
        assert h[0] == 200, h
        with WsClient.connect(srv.port) as c:
            c.ping_check()
        # the deadline ends the rest: nothing held, every fd back
        st = wait_stats(srv.status_port,
                        lambda s: s["connections_active"] == 0, timeout=10)
        assert st["reassembly_bytes"] == 0
    finally:
        for c in clients:
            c.abort()
    wait_for(lambda: srv.fd_count() <= fds0, timeout=10, what="fds back")


@pytest.mark.timeout_s(40)
def test_one_byte_fragments_cost_bounded_cpu(start_server):
    srv = start_server()
    pid = srv.serving_pid()
    room = unique_room()
    with WsClient.connect(srv.port) as c:
        c.join(room)
        text = dumps({"type": "broadcast", "room_id": room,
                      "content": "y" * 30000}).encode()
        frames = [build_frame(OP_TEXT, text[:1], fin=False)]
        frames += [build_frame(OP_CONT, text[i:i + 1], fin=False)
                   for i in range(1, len(text) - 1)]
        frames.append(build_frame(OP_CONT, text[-1:], fin=True))
        cpu0, t0 = cpu_s(pid), time.monotonic()
        c.send_raw(b"".join(frames))
        m = c.expect("broadcast", timeout=20)
        cpu = cpu_s(pid) - cpu0
        print("%d one-byte fragments: %.2f s wall, %.2f s server CPU"
              % (len(frames), time.monotonic() - t0, cpu))
        assert m["content"] == "y" * 30000
        assert cpu < 5.0, cpu
