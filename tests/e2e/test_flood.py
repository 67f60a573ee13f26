"""A small flood: 50 clients each send 200 broadcasts into one room; every
client receives every message exactly once, in seq order, with default
options (the senders keep a bounded window in flight, so no send ring
overflows and nothing may be dropped)."""

import json
import os
import time

import pytest

from wsclient import WsClient, build_frame, dumps, get_stats, select_readable, OP_TEXT, unique_room

CLIENTS = int(os.environ.get("ROOMCAST_E2E_FLOOD_CLIENTS", "50"))
PER_CLIENT = int(os.environ.get("ROOMCAST_E2E_FLOOD_MESSAGES", "200"))
WINDOW = 2          # rounds in flight: at most WINDOW*CLIENTS messages per member queued
TIME_LIMIT = 90.0


@pytest.mark.timeout_s(TIME_LIMIT + 30)
def test_flood_every_message_once_in_order(start_server):
    srv = start_server()
    room = unique_room("flood")
    clients = []
    try:
        for i in range(CLIENTS):
            c = WsClient.connect(srv.port)
            j = c.join(room, "f%d" % i)
            assert j["members"] == i + 1
            clients.append(c)
        # earlier members got nothing for the later joins (presence off)
        total = CLIENTS * PER_CLIENT
        seqs = {id(c): [] for c in clients}
        senders = {id(c): {} for c in clients}  # sender -> last n seen
        t0 = time.monotonic()
        sent_rounds = 0

        def received_min():
            return min(len(v) for v in seqs.values())

        while received_min() < total:
            assert time.monotonic() - t0 < TIME_LIMIT, "flood not done in %.0f s: min %d of %d" % (
                TIME_LIMIT, received_min(), total)
            # send the next round when the slowest member is within the window
            while sent_rounds < PER_CLIENT and received_min() >= (sent_rounds - WINDOW + 1) * CLIENTS:
                for i, c in enumerate(clients):
                    c.send_raw(build_frame(OP_TEXT, dumps(
                        {"type": "broadcast", "room_id": room, "content": {"from": i, "n": sent_rounds}})))
                sent_rounds += 1
            for c in select_readable(clients, 1.0):
                for op, payload in c.poll_messages():
                    m = json.loads(payload)
                    assert m.get("type") == "broadcast", "unexpected message %r" % m
                    s = seqs[id(c)]
                    assert m["seq"] == len(s) + 1, "member saw seq %d after %d" % (m["seq"], len(s))
                    s.append(m["seq"])
                    src = m["content"]["from"]
                    assert m["sender"] == "f%d" % src
                    last = senders[id(c)].get(src, -1)
                    assert m["content"]["n"] == last + 1, "per-sender order broken"
                    senders[id(c)][src] = last + 1
        elapsed = time.monotonic() - t0
        for c in clients:
            assert seqs[id(c)] == list(range(1, total + 1))
        stats = get_stats(srv.status_port)
        assert stats["messages_dropped"] == 0
        print("flood: %d clients x %d messages, %d deliveries in %.1f s"
              % (CLIENTS, PER_CLIENT, total * CLIENTS, elapsed))
        # nothing extra arrives
        for c in clients[:5]:
            c.expect_silence(0.1)
    finally:
        for c in clients:
            c.abort()
