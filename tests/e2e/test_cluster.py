"""PROTOCOL.md, Cluster over Redis (v1.1): several roomcast processes on one
real redis-server (started here on a free loopback port, never the
system's service) are one server: one seq and epoch per room, delivery in
seq order exactly once on every process, history and recovery anywhere,
`members` cluster-wide, and the fault behaviour (unavailable, /health 503,
reconnect, replay or `dropped`, the `epoch` notice)."""

import json
import time

import pytest

import redisctl
import tlsmode
from serverctl import Server, ServerError
from wsclient import (WsClient, get_stats, http_get, unique_room, wait_for)

pytestmark = pytest.mark.skipif(redisctl.check() is not None, reason=str(redisctl.check()))


@pytest.fixture
def redis():
    r = redisctl.RedisServer().start()
    yield r
    r.cleanup()


@pytest.fixture
def cluster(start_server, redis):
    """cluster(n, **options) -> n processes on one Redis."""
    def make(n=2, kinds=None, **options):
        opts = {"redis-url": redis.url}
        opts.update({k.replace("_", "-"): str(v) for k, v in options.items()})
        procs = [start_server(dict(opts), kind=(kinds[i] if kinds else None)) for i in range(n)]
        # a process answers joins once its Redis connections are ready:
        # /health says so (503 until then)
        for p in procs:
            wait_for(lambda: health(p.status_port)[0] == 200, timeout=10, what="redis up")
        return procs
    return make


def health(port):
    """(status, body) of /health; (0, None) while nothing listens."""
    try:
        status, _, body = http_get(port, "/health")
    except OSError:
        return 0, None
    return status, json.loads(body)


def drain(client, want, timeout=10.0):
    """Reads until `want` broadcasts came; returns them (other types kept apart)."""
    got, other = [], []
    deadline = time.monotonic() + timeout
    while len(got) < want:
        m = client.recv_json(timeout=max(0.1, deadline - time.monotonic()))
        (got if m["type"] == "broadcast" else other).append(m)
    return got, other


# ---- start-up -----------------------------------------------------------

def _start_fails(start_server, options):
    """The start stops: start() fails, or the process exits 1 right after
    the ports opened (the plugin's init runs at the first service turn).
    Returns the server's output."""
    try:
        s = start_server(options)
    except ServerError as e:
        return str(e)
    s.expect_exit = True
    assert s.wait(5) == 1, "the server must stop the start"
    return s.stderr_text()


@pytest.mark.server_only
def test_unreachable_redis_stops_the_start(start_server):
    from serverctl import free_port
    port = free_port()  # nothing listens there
    out = _start_fails(start_server, {"redis-url": "redis://127.0.0.1:%d" % port})
    lines = [l for l in out.splitlines() if "cannot reach" in l]
    assert len(lines) == 1 and "redis-url redis://127.0.0.1:%d" % port in lines[0], out


@pytest.mark.server_only
@pytest.mark.parametrize("url", ["http://x", "redis://", "redis://h:0", "redis://h:99999",
                                 "redis://h/x", "unix:"])
def test_bad_redis_url_refused(start_server, url):
    with pytest.raises(ServerError) as e:
        start_server({"redis-url": url})
    assert "redis-url" in str(e.value)


@pytest.mark.server_only
def test_bad_redis_prefix_refused(start_server, redis):
    with pytest.raises(ServerError) as e:
        start_server({"redis-url": redis.url, "redis-prefix": "a b"})
    assert "redis-prefix" in str(e.value)


@pytest.mark.lwsws_only
def test_lwsws_with_unreachable_redis_refuses_upgrades(start_server):
    """lwsws goes on when a plugin's vhost init fails: the vhost then
    refuses every upgrade (403), after the one-line error."""
    from serverctl import free_port
    from wsclient import assert_refused
    port = free_port()
    s = start_server({"redis-url": "redis://127.0.0.1:%d" % port})
    assert_refused(s.port, 403)
    lines = [l for l in s.stderr_text().splitlines() if "cannot reach Redis" in l]
    assert len(lines) == 1 and ("redis-url redis://127.0.0.1:%d" % port) in lines[0]


def test_stats_and_health_say_redis_up(cluster):
    a, = cluster(1)
    s = get_stats(a.status_port)
    assert s["redis"] == "up" and isinstance(s["node"], str) and s["pid"] > 0
    assert health(a.status_port) == (200, {"status": "ok"})


# ---- one room across processes -------------------------------------------

def test_cross_process_broadcast_order_and_exactly_once(cluster):
    procs = cluster(3, history_size=0)
    room = unique_room()
    clients = []
    try:
        for i, p in enumerate(procs):
            for j in range(2):
                c = WsClient.connect(p.port)
                clients.append(c)
                j_ = c.join(room, "u%d_%d" % (i, j))
                assert j_["type"] == "joined"
        assert clients[-1].join(room)["members"] == 6
        epochs = {c.join(room)["epoch"] for c in clients}
        assert len(epochs) == 1, "one epoch per room across processes: %r" % epochs
        n = 60
        # publishers on two different processes, interleaved
        for k in range(n):
            clients[0 if k % 2 else 2].broadcast(room, {"k": k})
        seqs_per_client = []
        for c in clients:
            got, other = drain(c, n)
            seqs = [m["seq"] for m in got]
            assert seqs == list(range(1, n + 1)), "seq order, each once: %r" % seqs
            seqs_per_client.append([(m["seq"], m["sender"], json.dumps(m["content"])) for m in got])
            c.expect_silence(0.2)
        assert all(s == seqs_per_client[0] for s in seqs_per_client), \
            "every member sees the same message under the same seq"
        # each publisher's own order is kept
        for sender in ("u0_0", "u1_0"):
            mine = [json.loads(x[2])["k"] for x in seqs_per_client[0] if x[1] == sender]
            assert mine == sorted(mine) and len(mine) == n // 2
    finally:
        for c in clients:
            c.close()


def test_joined_counts_members_on_every_process(cluster):
    a, b = cluster(2)
    room = unique_room()
    with WsClient.connect(a.port) as x, WsClient.connect(b.port) as y, \
            WsClient.connect(b.port) as z:
        assert x.join(room)["members"] == 1
        assert y.join(room)["members"] == 2
        assert z.join(room)["members"] == 3
        z.leave(room)
        assert x.join(room)["members"] == 2


def test_a_process_without_members_gets_nothing(cluster, redis):
    a, b = cluster(2)
    room = unique_room()
    with WsClient.connect(a.port) as x:
        x.join(room)
        # one subscriber on the room's channel: process a alone
        n = redis.command("PUBSUB", "NUMSUB", "roomcast:room:" + room)
        assert n == "*2", n
        with WsClient.connect(b.port) as y:
            y.join(room)
            y.leave(room)
        x.broadcast(room, 1)
        x.expect("broadcast")

    def numsub():
        import socket
        with socket.create_connection(("127.0.0.1", redis.port)) as s:
            s.sendall(b"PUBSUB NUMSUB roomcast:room:%s\r\n" % room.encode())
            time.sleep(0.05)
            return s.recv(4096).split(b"\r\n")[-2]
    wait_for(lambda: numsub() == b":0", timeout=5, what="both processes unsubscribed")


def test_history_and_recovery_on_another_process(cluster):
    a, b = cluster(2, history_size=10)
    room = unique_room()
    with WsClient.connect(a.port) as x:
        j = x.join(room, "pub")
        for k in range(5):
            x.broadcast(room, k)
        got, _ = drain(x, 5)
        epoch = j["epoch"]
    with WsClient.connect(b.port) as y:
        h = y.join(room, "reader", since=2, epoch=epoch)
        assert h["recovered"] is True and h["seq"] == 5 and h["epoch"] == epoch
        replay, _ = drain(y, 3)
        assert [m["seq"] for m in replay] == [3, 4, 5]
        assert replay == got[2:], "the replay is what members received"
        hist = y.request({"type": "history", "room_id": room, "limit": 3})
        assert hist["type"] == "history" and hist["messages"] == got[2:]
        # an epoch that is not the room's never recovers
        y.leave(room)
        h = y.join(room, since=2, epoch="nope")
        assert h["recovered"] is False
        y.expect_silence(0.2)


def test_recovery_beyond_held_history_is_refused(cluster):
    a, b = cluster(2, history_size=3)
    room = unique_room()
    with WsClient.connect(a.port) as x:
        epoch = x.join(room)["epoch"]
        for k in range(6):
            x.broadcast(room, k)
        drain(x, 6)
        with WsClient.connect(b.port) as y:
            h = y.join(room, since=1, epoch=epoch)
            assert h["recovered"] is False and h["seq"] == 6
            y.expect_silence(0.3)


def test_join_answer_comes_before_the_rooms_messages(cluster):
    a, b = cluster(2)
    room = unique_room()
    with WsClient.connect(a.port) as pub:
        pub.join(room)
        for round_ in range(10):
            with WsClient.connect(b.port) as y:
                y.send_json({"type": "join", "room_id": room})
                pub.broadcast(room, round_)
                first = y.recv_json()
                assert first["type"] == "joined", first
                # anything after it is above joined's seq
                try:
                    while True:
                        m = y.recv_json(timeout=0.1)
                        assert m["type"] == "broadcast" and m["seq"] > first["seq"], (first, m)
                except Exception as e:
                    if "AssertionError" in type(e).__name__:
                        raise
            pub.expect("broadcast")


def test_api_like_order_of_answers_kept(cluster):
    """A join then a ping: the pong never overtakes the joined (the
    connection's input waits while Redis answers the join)."""
    a, = cluster(1)
    with WsClient.connect(a.port) as x:
        for i in range(20):
            x.send_json({"type": "join", "room_id": unique_room()})
            x.send_json({"type": "ping", "id": i})
        for i in range(20):
            assert x.recv_json()["type"] == "joined"
            p = x.recv_json()
            assert p == {"type": "pong", "id": i}, p


# ---- faults ------------------------------------------------------------------

def test_redis_down_unavailable_then_back(cluster, redis):
    a, b = cluster(2, history_size=10)
    room = unique_room()
    with WsClient.connect(a.port) as x, WsClient.connect(b.port) as y:
        x.join(room, "x")
        y.join(room, "y")
        redis.stop()
        wait_for(lambda: health(a.status_port)[0] == 503, timeout=8, what="health 503")
        assert health(a.status_port) == (503, {"status": "unavailable"})
        assert get_stats(a.status_port)["redis"] == "down"
        x.broadcast(room, "lost?")
        x.expect_error("unavailable", ref="broadcast")
        e = x.request({"type": "join", "room_id": room})
        assert e["type"] == "error" and e["code"] == "unavailable"
        e = x.request({"type": "history", "room_id": room})
        assert e["code"] == "unavailable"
        e = x.request({"type": "members", "room_id": room})
        assert e["type"] == "error" and e["code"] == "unavailable"
        # leave and ping still work; connections stay open
        assert x.ping_check()
        y.leave(room)
        redis.start()
        wait_for(lambda: health(a.status_port)[0] == 200 and health(b.status_port)[0] == 200,
                 timeout=10, what="health 200 again")
        # Redis lost every key: the room's numbering starts over
        j = y.join(room, "y")
        assert j["seq"] == 0
        y.broadcast(room, "after")
        ev = x.recv_json()
        assert ev["type"] == "epoch" and ev["room_id"] == room and ev["epoch"] == j["epoch"] \
            and ev["seq"] == 0, ev
        m = x.expect("broadcast")
        assert m["seq"] == 1 and m["content"] == "after"
        assert y.expect("broadcast")["seq"] == 1


def test_redis_paused_unavailable_then_back(cluster, redis):
    a, = cluster(1)
    room = unique_room()
    with WsClient.connect(a.port) as x:
        x.join(room)
        redis.pause()
        try:
            wait_for(lambda: health(a.status_port)[0] == 503, timeout=8, what="health 503")
            x.broadcast(room, 1)
            x.expect_error("unavailable", ref="broadcast")
        finally:
            redis.resume()
        wait_for(lambda: health(a.status_port)[0] == 200, timeout=10, what="health 200")
        x.broadcast(room, 2)
        m = x.expect("broadcast")
        assert m["content"] == 2


def test_reconnect_replays_or_counts_every_gap(cluster, redis):
    """Process b's Redis connections are killed again and again while a
    publishes: b's member gets every message in order, or a `dropped`
    notice counting what it lost; never a silent gap."""
    a, b = cluster(2, history_size=1000)
    room = unique_room()
    n = 300
    with WsClient.connect(a.port) as pub, WsClient.connect(b.port) as sub:
        pub.join(room, "pub")
        sub.join(room, "sub")
        name_b = "roomcast-%s" % get_stats(b.status_port)["node"]
        sent = kills = 0
        while sent < n:
            # b is back (subscribed again): publish a little, cut b off,
            # publish on while it reconnects
            wait_for(lambda: get_stats(b.status_port)["redis"] == "up", timeout=10, what="b up")
            for _ in range(25):
                pub.broadcast(room, sent)
                sent += 1
            r = redis.command("CLIENT", "KILL", "SKIPME", "no", "ID",
                              _client_id(redis, name_b, "sub"))
            kills += r == ":1"
            for _ in range(50):
                pub.broadcast(room, sent)
                sent += 1
        assert kills == 4
        drain(pub, n)
        seqs, dropped = [], 0
        deadline = time.monotonic() + 15
        while len(seqs) + dropped < n and time.monotonic() < deadline:
            m = sub.recv_json(timeout=max(0.1, deadline - time.monotonic()))
            if m["type"] == "broadcast":
                seqs.append(m["seq"])
            elif m["type"] == "dropped":
                dropped += m["count"]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), "in order, once each"
        assert len(seqs) + dropped == n, (len(seqs), dropped)
        assert dropped == 0, "history 1000 holds everything: all replayed"


def _client_id(redis, name_prefix, role):
    import socket
    with socket.create_connection(("127.0.0.1", redis.port)) as s:
        s.sendall(b"CLIENT LIST\r\n")
        data = b""
        while True:
            data += s.recv(65536)
            head, _, rest = data.partition(b"\r\n")
            if head.startswith(b"$") and len(rest) >= int(head[1:]):
                break
    for line in rest.decode().splitlines():
        f = dict(kv.split("=", 1) for kv in line.split(" ") if "=" in kv)
        if f.get("name", "").startswith(name_prefix) and f["name"].endswith(":" + role):
            return f["id"]
    return "0"


def test_killed_process_costs_only_its_own_clients(cluster):
    a, b = cluster(2)
    room = unique_room()
    x = WsClient.connect(a.port)
    y = WsClient.connect(b.port)
    try:
        x.join(room)
        y.join(room)
        b.kill()
        b.expect_exit = True
        x.broadcast(room, "still here")
        assert x.expect("broadcast")["content"] == "still here"
    finally:
        x.close()
        y.drop()


TEST_TTL_MS = 1500   # ROOMCAST_TEST_PRESENCE_TTL_MS: a test-only setting


def test_killed_process_members_expire(cluster, monkeypatch):
    """A SIGKILLed process cannot say its members left: its counts in Redis
    expire (docs/CLUSTER.md, Faults; the test-only shorter expiry of
    Testing), then `members`, `joined.members` and no_such_user on the
    other processes no longer count them."""
    monkeypatch.setenv("ROOMCAST_TEST_PRESENCE_TTL_MS", str(TEST_TTL_MS))
    a, b = cluster(2)
    room = unique_room()
    x = WsClient.connect(a.port)
    y = WsClient.connect(b.port)
    y2 = WsClient.connect(b.port)
    try:
        x.join(room, "xa")
        y.join(room, "yb")
        y2.join(room)
        want = sorted(["xa", "yb"])
        wait_for(lambda: len(_members(x, room)["users"]) == 3, timeout=5,
                 what="b's users seen from a")
        assert _members(x, room)["members"] == 3
        # the refreshes keep a live process's members past the expiry
        time.sleep(TEST_TTL_MS * 2 / 1000)
        m = _members(x, room)
        assert m["members"] == 3 and m["users"][:2] == want
        assert _direct_answer(x, "yb", 1) is None
        b.kill()
        b.expect_exit = True
        t0 = time.monotonic()
        wait_for(lambda: _members(x, room)["members"] == 1, timeout=TEST_TTL_MS / 1000 + 3,
                 what="b's members expired")
        assert time.monotonic() - t0 < TEST_TTL_MS / 1000 + 2
        assert _members(x, room)["users"] == ["xa"]
        assert _direct_answer(x, "yb", 1) == "no_such_user"
        with WsClient.connect(a.port) as z:
            assert z.join(room, "zz")["members"] == 2
    finally:
        x.close()
        y.drop()
        y2.drop()


# ---- presence, directs, no_such_user across processes ------------------------

def test_presence_events_across_processes(cluster):
    a, b = cluster(2, presence_events="on")
    room = unique_room()
    with WsClient.connect(a.port) as x:
        x.join(room, "xa")
        with WsClient.connect(b.port) as y:
            y.join(room, "yb")
            ev = x.expect("presence")
            assert ev == {"type": "presence", "event": "join", "room_id": room, "user_id": "yb"}
            y.expect_silence(0.3)  # not about itself
            y.leave(room)
            ev = x.expect("presence")
            assert ev["event"] == "leave" and ev["user_id"] == "yb"


def test_direct_across_processes_and_no_such_user(cluster):
    a, b, c = cluster(3)
    with WsClient.connect(a.port) as s, WsClient.connect(b.port) as r1, \
            WsClient.connect(c.port) as r2, WsClient.connect(a.port) as r3:
        s.join(unique_room(), "sender")
        for cl in (r1, r2, r3):
            cl.join(unique_room(), "target")
        s.send_json({"type": "direct", "to": "target", "content": {"hi": 1}})
        for cl in (r1, r2, r3):
            m = cl.expect("direct")
            assert m == {"type": "direct", "from": "sender", "content": {"hi": 1}}
        s.expect_silence(0.2)
        s.send_json({"type": "direct", "to": "nobody-here", "content": 1})
        s.expect_error("no_such_user", ref="direct")
        # the target's connections close: no_such_user from every process
        r1.close(); r2.close(); r3.close()
        def gone():
            # while a connection of the user is left, the sender gets nothing
            s.send_json({"type": "direct", "to": "target", "content": 2})
            try:
                m = s.recv_json(timeout=0.3)
            except TimeoutError:
                return False
            return m.get("code") == "no_such_user"
        wait_for(gone, timeout=5, what="no_such_user after the user left")


def _guest_number(guest):
    assert guest.startswith("guest-"), guest
    return int(guest[len("guest-"):])


def _direct_answer(client, to, content, quiet=0.4):
    """Sends a direct; returns the error code it got, or None (silence)."""
    client.send_json({"type": "direct", "to": to, "content": content})
    try:
        m = client.recv_json(timeout=quiet)
    except TimeoutError:
        return None
    assert m["type"] == "error" and m["ref"] == "direct", m
    return m["code"]


def test_direct_to_a_guest_on_another_process(cluster):
    """A guest id names one connection in the whole cluster (docs/CLUSTER.md,
    Guest ids): a direct from any process reaches it, no_such_user when no
    process has it."""
    a, b = cluster(2)
    with WsClient.connect(a.port) as s, WsClient.connect(a.port) as sg, \
            WsClient.connect(b.port) as g, WsClient.connect(b.port) as t:
        s.join(unique_room(), "sender")
        t.join(unique_room(), "near")
        guest = g.join(unique_room())["user_id"]
        other_guest = sg.join(unique_room())["user_id"]
        n = _guest_number(guest)
        s.send_json({"type": "direct", "to": guest, "content": {"k": 1}})
        assert g.expect("direct") == {"type": "direct", "from": "sender", "content": {"k": 1}}
        s.expect_silence(0.3)
        # a guest to a guest, and the answers keep their order
        sg.send_json({"type": "direct", "to": guest, "content": 2})
        assert sg.request({"type": "ping", "id": 9})["type"] == "pong"
        assert g.expect("direct") == {"type": "direct", "from": other_guest, "content": 2}
        g.send_json({"type": "direct", "to": other_guest, "content": 3})
        assert sg.expect("direct") == {"type": "direct", "from": guest, "content": 3}
        # from its own process, as before
        t.send_json({"type": "direct", "to": guest, "content": 4})
        assert g.expect("direct") == {"type": "direct", "from": "near", "content": 4}
        # ids no process has: on b's node but no connection, on a node no
        # process is, and one no clustered process writes (node 0)
        for nobody in (n + 1000, (n >> 32) + 12345 << 32 | 1, 5):
            assert _direct_answer(s, "guest-%d" % nobody, 1, quiet=3) == "no_such_user"
        # the answer is in order: no_such_user comes before the pong
        s.send_json({"type": "direct", "to": "guest-%d" % (n + 1000), "content": 1, "id": 1})
        s.send_json({"type": "ping", "id": 2})
        assert s.recv_json()["code"] == "no_such_user"
        assert s.recv_json()["type"] == "pong"
        g.expect_silence(0.2)
        # a guest that left is no one
        g.close()
        wait_for(lambda: _direct_answer(s, guest, 5) == "no_such_user", timeout=5,
                 what="no_such_user for a closed guest")


def test_guest_ids_never_collide_across_processes(cluster):
    procs = cluster(3)
    room = unique_room()
    ids = []
    clients = []
    try:
        for p in procs:
            for _ in range(3):
                c = WsClient.connect(p.port)
                clients.append(c)
                ids.append(_guest_number(c.join(room)["user_id"]))
        assert len(set(ids)) == len(ids), ids
        # each process its own node (the high bits), all exact in JSON
        assert len({i >> 32 for i in ids}) == 3, ids
        assert all(0 < i < 2 ** 53 for i in ids), ids
        # `members` lists each once, by conn_id as one process sorts them
        want = ["guest-%d" % i for i in sorted(ids)]
        wait_for(lambda: _members(clients[0], room)["users"] == want, timeout=5,
                 what="every process's guests listed")
        assert _members(clients[-1], room)["members"] == 9
    finally:
        for c in clients:
            c.close()


def test_direct_to_self_from_only_connection_reaches_no_one(cluster):
    a, b = cluster(2)
    with WsClient.connect(a.port) as s:
        s.join(unique_room(), "solo")
        s.send_json({"type": "direct", "to": "solo", "content": 1})
        s.expect_silence(0.3)


# ---- roomcast-server --workers N ----------------------------------------------

@pytest.mark.server_only
def test_workers_require_redis(start_server):
    with pytest.raises(ServerError) as e:
        start_server({}, extra_args=["--workers", "2"])
    assert "redis-url" in str(e.value)


@pytest.mark.server_only
@pytest.mark.timeout_s(60)
def test_workers_share_the_port_and_are_restarted(start_server, redis):
    import os
    import signal
    import socket
    n = 3
    if tlsmode.ENABLED:
        # the workers' shared listener cannot serve TLS with lws 4.1.6
        # (server/main.c): refused at start, never wss:// in plain text
        with pytest.raises(ServerError) as e:
            start_server({"redis-url": redis.url},
                         extra_args=["--workers", str(n)])
        assert "not with a TLS WebSocket vhost" in str(e.value)
        return
    s = start_server({"redis-url": redis.url}, extra_args=["--workers", str(n)])
    s.stop()
    # worker i's status port is the status port + i: find n free in a row
    for base in range(20000, 30000, 7):
        try:
            socks = []
            for p in [s.port] + list(range(base, base + n)):
                k = socket.socket()
                socks.append(k)
                k.bind(("127.0.0.1", p))
            break
        except OSError:
            continue
        finally:
            for k in socks:
                k.close()
    s.status_port = base
    s.expect_exit = False
    s.start()
    ports = [s.status_port + i for i in range(n)]
    for p in ports:
        wait_for(lambda: health(p)[0] == 200, timeout=10, what="worker up")
    stats = [get_stats(p) for p in ports]
    assert sorted(st["worker"] for st in stats) == list(range(n))
    assert len({st["pid"] for st in stats}) == n
    _, _, metrics = http_get(ports[1], "/metrics")
    assert ('roomcast_worker_info{worker="1",pid="%d",node="%s"} 1'
            % (stats[1]["pid"], stats[1]["node"])) in metrics.decode()
    room = unique_room()
    clients = [WsClient.connect(s.port) for _ in range(24)]
    try:
        for c in clients:
            c.join(room)
        per = [get_stats(p)["connections_active"] for p in ports]
        assert sum(per) == 24 and sum(1 for x in per if x) >= 2, per
        clients[0].broadcast(room, "all")
        for c in clients:
            assert c.expect("broadcast")["content"] == "all"
        # a worker killed is started again; the others' clients stay
        victim = stats[2]["pid"]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: health(ports[2])[0] == 200 and get_stats(ports[2])["pid"] != victim,
                 timeout=15, what="worker 2 restarted")
        alive = [c for c in clients if _open(c)]
        assert len(alive) == 24 - per[2]
        alive[0].broadcast(room, "after")
        for c in alive:
            assert c.expect("broadcast")["content"] == "after"
    finally:
        for c in clients:
            c.drop()
    assert s.stop() == 0
    for st in stats[:2]:
        assert not _pid_alive(st["pid"])


def _open(c):
    try:
        c.send_json({"type": "ping"})
        return c.recv_json(timeout=2)["type"] == "pong"
    except Exception:
        return False


def _pid_alive(pid):
    import os
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


# ---- lwsws and roomcast-server in one cluster ---------------------------------

def _lwsws_ready():
    import serverctl
    return bool(serverctl.LWSWS_BIN and serverctl.LWSWS_PLUGIN_DIR)


@pytest.mark.skipif(not _lwsws_ready(), reason="LWSWS_BIN and LWSWS_PLUGIN_DIR not set")
def test_lwsws_and_roomcast_server_mixed(cluster):
    a, b, c = cluster(3, kinds=["server", "lwsws", "server"], history_size=20)
    room = unique_room()
    with WsClient.connect(a.port) as x, WsClient.connect(b.port) as y, \
            WsClient.connect(c.port) as z:
        jx = x.join(room, "x")
        jy = y.join(room, "y")
        jz = z.join(room, "z")
        assert jx["epoch"] == jy["epoch"] == jz["epoch"] and jz["members"] == 3
        n = 30
        for k in range(n):
            (x, y, z)[k % 3].broadcast(room, k)
        seen = []
        for cl in (x, y, z):
            got, _ = drain(cl, n)
            assert [m["seq"] for m in got] == list(range(1, n + 1))
            seen.append(got)
        assert seen[0] == seen[1] == seen[2]
        assert get_stats(b.status_port)["redis"] == "up"
        h = y.request({"type": "history", "room_id": room, "limit": 5})
        assert h["messages"] == seen[0][-5:]
        y.send_json({"type": "direct", "to": "z", "content": "hi"})
        assert z.expect("direct") == {"type": "direct", "from": "y", "content": "hi"}
        # guests of either kind of process reach each other
        with WsClient.connect(b.port) as gy, WsClient.connect(a.port) as gx:
            guest_y = gy.join(unique_room())["user_id"]
            guest_x = gx.join(unique_room())["user_id"]
            assert guest_x != guest_y
            gx.send_json({"type": "direct", "to": guest_y, "content": 1})
            assert gy.expect("direct") == {"type": "direct", "from": guest_x, "content": 1}
            gy.send_json({"type": "direct", "to": guest_x, "content": 2})
            assert gx.expect("direct") == {"type": "direct", "from": guest_y, "content": 2}


# ---- faults mid-traffic ------------------------------------------------------------

def _collect(client, until, quiet=1.0):
    """Everything `client` receives until `quiet` s pass with nothing."""
    out = []
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        try:
            out.append(client.recv_json(timeout=quiet))
        except TimeoutError:
            break
    return out


def _check_stream(msgs, room):
    """Within each numbering, seqs strictly increase; a new numbering is
    announced by an `epoch` notice first. Returns the broadcasts."""
    epoch, last, got = None, 0, []
    for m in msgs:
        if m["type"] == "epoch":
            assert m["room_id"] == room
            epoch, last = m["epoch"], m["seq"]
        elif m["type"] == "broadcast":
            assert m["seq"] > last, "seq order within a numbering: %r after %r" % (m["seq"], last)
            last = m["seq"]
            got.append(m)
    return got


@pytest.mark.timeout_s(60)
@pytest.mark.parametrize("fault", ["restart", "pause"])
def test_fault_mid_traffic_no_duplicate_no_disorder(cluster, redis, fault):
    """A publisher on a keeps sending while Redis is restarted (state lost)
    or paused past the timeout; members on a and b: every message either
    reached them once, in order, or its sender got `unavailable`."""
    a, b = cluster(2, history_size=100)
    room = unique_room()
    with WsClient.connect(a.port) as pub, WsClient.connect(a.port) as ma, \
            WsClient.connect(b.port) as mb:
        pub.join(room, "pub")
        ma.join(room, "ma")
        mb.join(room, "mb")
        sent = 0
        for phase in range(3):
            if phase == 1:
                if fault == "restart":
                    redis.restart()
                else:
                    redis.pause()
            for _ in range(40):
                pub.send_json({"type": "broadcast", "room_id": room, "content": sent})
                sent += 1
                time.sleep(0.02 if phase != 1 else 0.08)
            if phase == 1:
                if fault == "pause":
                    redis.resume()
                wait_for(lambda: health(a.status_port)[0] == 200 and
                         health(b.status_port)[0] == 200, timeout=15, what="redis back")
                # a member that was told unavailable by a join keeps its place
                for c in (pub, ma, mb):
                    c.send_json({"type": "join", "room_id": room})
        pubmsgs = _collect(pub, 15)
        refused = sum(1 for m in pubmsgs
                      if m["type"] == "error" and m["code"] == "unavailable"
                      and m.get("ref") == "broadcast")
        for member in (ma, mb):
            msgs = _collect(member, 15)
            got = _check_stream(msgs, room)
            contents = [m["content"] for m in got]
            assert len(contents) == len(set(contents)), "each message at most once"
            assert contents == sorted(contents), "the publisher's order"
            missing = sorted(set(range(sent)) - set(contents))
            assert len(contents) + refused >= sent, (
                "lost silently: %d delivered + %d refused < %d sent; missing %r; %s" % (
                    len(contents), refused, sent, missing,
                    [(m["type"], m.get("seq"), m.get("content"), m.get("count"))
                     for m in msgs if m["type"] != "broadcast" or m["content"] in
                     range(missing[0] - 2, missing[-1] + 3)]))
            assert len(contents) <= sent


# ---- the server API across the cluster ------------------------------------

from test_api import KEY as API_KEY, Api  # noqa: E402


def test_api_publish_reaches_members_on_every_process(cluster):
    a, b = cluster(2, api_key=API_KEY, history_size=10)
    room = unique_room()
    with WsClient.connect(b.port) as y, WsClient.connect(a.port) as x:
        j = y.join(room, "y")
        api = Api(a.status_port)   # a has no member in the room
        try:
            st, r1, _ = api.post("/api/publish", {"room_id": room, "content": {"n": 1},
                                                  "sender": "backend"})
            assert st == 200 and r1 == {"room_id": room, "seq": 1, "epoch": j["epoch"]}
            m = y.expect("broadcast")
            assert m == {"type": "broadcast", "room_id": room, "sender": "backend",
                         "seq": 1, "content": {"n": 1}}
            # one numbering with the members' broadcasts, on any process
            x.join(room, "x")
            y.broadcast(room, "ws")
            assert y.expect("broadcast")["seq"] == 2
            assert x.expect("broadcast")["seq"] == 2
            st, r2, _ = api.post("/api/publish", {"room_id": room, "content": None})
            assert st == 200 and r2["seq"] == 3 and r2["epoch"] == j["epoch"]
            for cl in (x, y):
                m = cl.expect("broadcast")
                assert (m["seq"], m["sender"], m["content"]) == (3, "api", None)
            # held in the room's history (Redis) like a member's broadcast
            h = y.request({"type": "history", "room_id": room})
            assert [e["seq"] for e in h["messages"]] == [1, 2, 3]
            # a room nobody holds is made: seq 1, a new epoch
            other = unique_room()
            st, r3, _ = api.post("/api/publish", {"room_id": other, "content": 1})
            assert st == 200 and r3["seq"] == 1 and r3["epoch"] != j["epoch"]
        finally:
            api.close()


def test_api_publish_to_a_room_without_members(cluster, redis):
    """Kept as one process keeps it: without history freed at once (the
    next publish makes it again: seq 1, a new epoch); with history kept
    history-ttl-s."""
    a, = cluster(1, api_key=API_KEY, history_size=0)
    api = Api(a.status_port)
    try:
        room = unique_room()
        st, r1, _ = api.post("/api/publish", {"room_id": room, "content": 1})
        st2, r2, _ = api.post("/api/publish", {"room_id": room, "content": 2})
        assert (st, st2) == (200, 200)
        assert r1["seq"] == r2["seq"] == 1 and r1["epoch"] != r2["epoch"]
        assert redis.command("EXISTS", "roomcast:meta:" + room) == ":0"
    finally:
        api.close()
    b, = cluster(1, api_key=API_KEY, history_size=5, history_ttl_s=7)
    api = Api(b.status_port)
    try:
        room = unique_room()
        st, r1, _ = api.post("/api/publish", {"room_id": room, "content": 1})
        st, r2, _ = api.post("/api/publish", {"room_id": room, "content": 2})
        assert r2["seq"] == 2 and r2["epoch"] == r1["epoch"]
        assert 5 <= _ttl(redis, "roomcast:meta:" + room) <= 7
        st, h, _ = api.get("/api/history/" + room)
        assert [m["content"] for m in h["messages"]] == [1, 2]
    finally:
        api.close()


def test_api_broadcast_across_the_cluster(cluster):
    a, b = cluster(2, api_key=API_KEY)
    r1, r2 = unique_room(), unique_room()
    with WsClient.connect(b.port) as y, WsClient.connect(a.port) as x:
        y.join(r1, "y")
        x.join(r2, "x")
        y.broadcast(r1, "first")
        y.expect("broadcast")
        api = Api(a.status_port)
        try:
            st, res, _ = api.post("/api/broadcast", {"rooms": [r1, r2], "content": "all"})
        finally:
            api.close()
        assert st == 200
        assert [(e["room_id"], e["seq"]) for e in res["results"]] == [(r1, 2), (r2, 1)]
        assert y.expect("broadcast")["seq"] == 2
        assert x.expect("broadcast")["seq"] == 1


def test_api_idempotency_key_spans_the_cluster(cluster):
    a, b = cluster(2, api_key=API_KEY)
    room = unique_room()
    with WsClient.connect(b.port) as y:
        y.join(room, "y")
        pa, pb = Api(a.status_port), Api(b.status_port)
        try:
            body = {"room_id": room, "content": "once", "idempotency_key": "k\u00e9:1"}
            st, first, _ = pa.post("/api/publish", body)
            assert st == 200 and first["seq"] == 1
            assert y.expect("broadcast")["content"] == "once"
            # the same key on the other process: the first result, nothing sent
            st, again, _ = pb.post("/api/publish", dict(body, content="twice"))
            assert st == 200 and again == first
            y.expect_silence(0.4)
            # a key that differs only past a byte the name would have cut
            st, r, _ = pb.post("/api/publish", dict(body, idempotency_key="k\u00e9:10"))
            assert st == 200 and r["seq"] == 2
            assert y.expect("broadcast")["seq"] == 2
            # the same key in another room is another publish
            other = unique_room()
            st, r, _ = pa.post("/api/publish", dict(body, room_id=other))
            assert st == 200 and r["room_id"] == other and r["seq"] == 1
        finally:
            pa.close()
            pb.close()


def test_api_history_from_any_process(cluster):
    a, b = cluster(2, api_key=API_KEY, history_size=5)
    room = unique_room()
    with WsClient.connect(b.port) as y:
        j = y.join(room, "y")
        for i in range(7):
            y.broadcast(room, i)
        drain(y, 7)
        api = Api(a.status_port)   # a never had a member there
        try:
            st, h, _ = api.get("/api/history/" + room)
            assert st == 200 and h["room_id"] == room and h["epoch"] == j["epoch"]
            assert [(m["seq"], m["content"]) for m in h["messages"]] == \
                [(3, 2), (4, 3), (5, 4), (6, 5), (7, 6)]
            assert h["messages"][0] == {"type": "broadcast", "room_id": room, "sender": "y",
                                        "seq": 3, "content": 2}
            st, h, _ = api.get("/api/history/%s?limit=2" % room)
            assert st == 200 and [m["seq"] for m in h["messages"]] == [6, 7]
            st, ans, _ = api.get("/api/history/" + unique_room())
            assert st == 404 and ans["error"] == "no_such_room"
            st, ans, _ = api.get("/api/history/%s?limit=0" % room)
            assert st == 400 and ans["error"] == "bad_request"
        finally:
            api.close()


def test_api_direct_across_processes(cluster):
    a, b = cluster(2, api_key=API_KEY)
    with WsClient.connect(a.port) as x, WsClient.connect(b.port) as y, \
            WsClient.connect(a.port) as g:
        x.join(unique_room(), "target")
        y.join(unique_room(), "target")
        guest = g.join(unique_room())["user_id"]
        api = Api(b.status_port)
        try:
            st, ans, _ = api.post("/api/direct", {"to": "target", "content": {"k": 1},
                                                 "from": "ops"})
            assert st == 200 and ans == {"delivered": 2}
            for cl in (x, y):
                assert cl.expect("direct") == {"type": "direct", "from": "ops",
                                               "content": {"k": 1}}
            st, ans, _ = api.post("/api/direct", {"to": "nobody", "content": 1})
            assert st == 200 and ans == {"delivered": 0}
            # a guest of another process: reached through its process
            st, ans, _ = api.post("/api/direct", {"to": guest, "content": 1})
            assert st == 200 and ans == {"delivered": 1}
            assert g.expect("direct") == {"type": "direct", "from": "api", "content": 1}
            n = _guest_number(guest)
            for nobody in (n + 1000, ((n >> 32) + 12345) << 32 | 1):
                st, ans, _ = api.post("/api/direct", {"to": "guest-%d" % nobody,
                                                     "content": 1})
                assert st == 200 and ans == {"delivered": 0}
            pa = Api(a.status_port)
            st, ans, _ = pa.post("/api/direct", {"to": guest, "content": 2})
            pa.close()
            assert st == 200 and ans == {"delivered": 1}
            assert g.expect("direct")["content"] == 2
            g.expect_silence(0.2)
        finally:
            api.close()


def test_api_disconnect_across_processes(cluster):
    a, b = cluster(2, api_key=API_KEY)
    with WsClient.connect(a.port) as x, WsClient.connect(b.port) as y, \
            WsClient.connect(b.port) as other, WsClient.connect(b.port) as g:
        x.join(unique_room(), "bad")
        y.join(unique_room(), "bad")
        other.join(unique_room(), "good")
        guest = g.join(unique_room())["user_id"]
        api = Api(a.status_port)
        try:
            st, ans, _ = api.post("/api/disconnect", {"user_id": "bad"})
            assert st == 200 and ans == {"disconnected": 2}
            for cl in (x, y):
                assert cl.wait_close(5) == (4005, "close-frame")
            assert other.ping_check()
            st, ans, _ = api.post("/api/disconnect", {"user_id": "nobody"})
            assert st == 200 and ans == {"disconnected": 0}
            # a guest of another process: closed by its process
            st, ans, _ = api.post("/api/disconnect", {"user_id": "guest-%d" % (
                _guest_number(guest) + 1000)})
            assert st == 200 and ans == {"disconnected": 0}
            assert g.ping_check()
            st, ans, _ = api.post("/api/disconnect", {"user_id": guest})
            assert st == 200 and ans == {"disconnected": 1}
            assert g.wait_close(5) == (4005, "close-frame")
            assert other.ping_check()
        finally:
            api.close()


def _members(client, room):
    m = client.request({"type": "members", "room_id": room, "id": 5})
    assert m["type"] == "members" and m["id"] == 5, m
    return m


def test_members_request_spans_the_cluster(cluster):
    a, b = cluster(2)
    room = unique_room()
    with WsClient.connect(a.port) as x, WsClient.connect(b.port) as y, \
            WsClient.connect(b.port) as y2, WsClient.connect(b.port) as g:
        x.join(room, "al")
        y.join(room, "bo")
        y2.join(room, "al")     # al's second connection, on the other process
        guest = g.join(room)["user_id"]
        want = ["al", "bo", guest]
        # a process lists its users in Redis at its next tick (0.5 s)
        wait_for(lambda: _members(x, room)["users"] == want, timeout=5,
                 what="b's users seen from a")
        m = _members(x, room)
        assert m == {"type": "members", "id": 5, "room_id": room, "members": 4,
                     "users": want}
        assert _members(y, room)["users"] == want
        # leaving is seen too, from every process
        g.leave(room)
        y.close()
        wait_for(lambda: _members(x, room)["users"] == ["al"], timeout=5,
                 what="b's leavers gone from a's answer")
        assert _members(y2, room)["users"] == ["al"]
        wait_for(lambda: _members(x, room)["members"] == 2, timeout=5, what="2 connections")


def test_api_rooms_spans_the_cluster(cluster):
    a, b = cluster(2, api_key=API_KEY)
    room = unique_room()
    with WsClient.connect(a.port) as x, WsClient.connect(b.port) as y:
        j = x.join(room, "al")
        y.join(room, "bo")
        y.broadcast(room, 1)
        x.expect("broadcast")
        y.expect("broadcast")
        api = Api(a.status_port)
        try:
            def answer():
                st, body, _ = api.get("/api/rooms/" + room)
                assert st == 200, body
                return body
            wait_for(lambda: answer()["users"] == ["al", "bo"], timeout=5, what="users")
            assert answer() == {"room_id": room, "members": 2, "users": ["al", "bo"],
                                "seq": 1, "epoch": j["epoch"]}
            # from a process without members there too
            pb = Api(b.status_port)
            try:
                y.leave(room)
                wait_for(lambda: pb.get("/api/rooms/" + room)[1]["users"] == ["al"],
                         timeout=5, what="b sees a's user")
            finally:
                pb.close()
            st, ans, _ = api.get("/api/rooms/" + unique_room())
            assert st == 404 and ans == {"error": "no_such_room"}
            # errors of the request itself come first, as without a cluster
            st, ans, _ = api.post("/api/publish", {"room_id": "bad room", "content": 1})
            assert st == 400 and ans["error"] == "bad_room"
            st, ans, _ = api.post("/api/publish", {"room_id": room, "content": 1}, key="wrong")
            assert st == 401
        finally:
            api.close()


def test_api_publish_redis_down_503(cluster, redis):
    a, b = cluster(2, api_key=API_KEY)
    room = unique_room()
    with WsClient.connect(b.port) as y:
        y.join(room, "y")
        api = Api(a.status_port)
        try:
            # Redis paused: the script is sent, no reply comes; the command
            # times out (2 s) and the waiting request gets its 503
            redis.pause()
            try:
                t0 = time.monotonic()
                st, ans, _ = api.post("/api/publish", {"room_id": room, "content": 1})
                assert st == 503 and ans["error"] == "unavailable", ans
                assert time.monotonic() - t0 < 4.5
                # known down: answered at once
                st, ans, _ = api.post("/api/publish", {"room_id": room, "content": 2})
                assert st == 503 and ans["error"] == "unavailable"
                st, ans, _ = api.post("/api/broadcast", {"rooms": [room], "content": 2})
                assert st == 503 and ans["error"] == "unavailable"
                for method, path, body in (("GET", "/api/history/" + room, None),
                                           ("GET", "/api/rooms/" + room, None),
                                           ("POST", "/api/direct", {"to": "y", "content": 1}),
                                           ("POST", "/api/disconnect", {"user_id": "y"})):
                    st, ans, _ = api.call(method, path, body)
                    assert st == 503 and ans["error"] == "unavailable", (path, ans)
            finally:
                redis.resume()
            wait_for(lambda: health(a.status_port)[0] == 200, timeout=10, what="health 200")
            st, r, _ = api.post("/api/publish", {"room_id": room, "content": 3})
            assert st == 200
            # the paused publish may have run before the pause took: the
            # member gets what was numbered, in order, ending with 3
            seen = []
            while not seen or seen[-1]["content"] != 3:
                m = y.recv_json()
                if m["type"] == "broadcast":
                    seen.append(m)
            assert [m["content"] for m in seen] in ([3], [1, 3])
            assert seen[-1]["seq"] == r["seq"]
            redis.stop()
            wait_for(lambda: health(a.status_port)[0] == 503, timeout=8, what="health 503")
            st, ans, _ = api.post("/api/publish", {"room_id": room, "content": 4})
            assert st == 503 and ans == {"error": "unavailable",
                                         "message": "the cluster's Redis cannot be reached"}
        finally:
            api.close()


def test_api_client_gone_before_redis_answers(cluster, redis):
    """A client that closes while its publish waits for Redis is not
    touched after: the process goes on serving (ASan: no use after free,
    no leak)."""
    import socket
    a, = cluster(1, api_key=API_KEY)
    room = unique_room()
    body = json.dumps({"room_id": room, "content": 1}).encode()
    req = (b"POST /api/publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
           API_KEY.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
           str(len(body)).encode() + b"\r\n\r\n" + body)
    redis.pause()
    try:
        socks = []
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", a.status_port), timeout=5)
            s.sendall(req)
            socks.append(s)
        time.sleep(0.3)
        for s in socks:
            s.close()
    finally:
        redis.resume()
    time.sleep(0.5)
    wait_for(lambda: health(a.status_port)[0] == 200, timeout=10, what="health 200")
    api = Api(a.status_port)
    try:
        st, r, _ = api.post("/api/publish", {"room_id": room, "content": 2})
        assert st == 200
    finally:
        api.close()
    assert a.proc.poll() is None


# ---- history-ttl-s in Redis ---------------------------------------------------

def _ttl(redis, key):
    v = redis.command("TTL", key)
    assert v and v.startswith(":"), v
    return int(v[1:])


def test_history_ttl_s_sets_the_keys_expiry(cluster, redis):
    a, = cluster(1, history_size=5, history_ttl_s=7)
    room = unique_room()
    with WsClient.connect(a.port) as x:
        x.join(room, "x")
        x.broadcast(room, 1)
        x.expect("broadcast")
        assert 5 <= _ttl(redis, "roomcast:hist:" + room) <= 7
        x.leave(room)
        # the room's numbering is kept history-ttl-s after its last member
        wait_for(lambda: 0 < _ttl(redis, "roomcast:meta:" + room) <= 7, timeout=5,
                 what="meta expiring within history-ttl-s")
    # and the default is 300 s
    b, = cluster(1, history_size=5)
    room = unique_room()
    with WsClient.connect(b.port) as x:
        x.join(room, "x")
        x.broadcast(room, 1)
        x.expect("broadcast")
        assert 290 <= _ttl(redis, "roomcast:hist:" + room) <= 300


def test_cluster_answers_echo_the_longest_ids_as_written(cluster):
    """The answers that wait for Redis (joined, members) echo any id the
    codec takes, as written: 64 bytes each written as a \\u escape (386
    bytes of text), and an integer of 64 bytes."""
    a, b = cluster(2)
    room = unique_room()
    escaped = '"' + "\\u0041" * 64 + '"'
    integer = "-" + "7" * 63
    with WsClient.connect(a.port) as x, WsClient.connect(b.port) as y:
        y.join(room)
        for text in (escaped, integer):
            x.send_text('{"type":"join","room_id":"%s","id":%s}' % (room, text))
            j = x.expect("joined")
            assert j["id"] == json.loads(text)
            x.send_text('{"type":"members","room_id":"%s","id":%s}' % (room, text))
            m = x.expect("members")
            assert m["id"] == json.loads(text) and m["members"] == 2


def test_a_reply_over_the_read_bound_drops_the_link_not_the_process(cluster, redis):
    """hiredis 0.14 buffers a bulk string whole: a reply over 128 MiB
    (here a stream entry planted behind the server's back) is treated as a
    failed Redis: the request gets `unavailable`, the process reconnects
    and serves on (docs/CLUSTER.md, Bounds)."""
    a, = cluster(1, history_size=10)
    room = unique_room()
    with WsClient.connect(a.port) as x:
        x.join(room, "x")
        x.broadcast(room, 1)
        x.expect("broadcast")
        big = b"x" * ((128 << 20) + (1 << 20))
        assert redis.command("XADD", "roomcast:hist:" + room, "2-0", "d", big,
                             timeout=60) == "$3"  # the id, "2-0"
        del big
        assert redis.command("HSET", "roomcast:meta:" + room, "s", "2") == ":0"
        x.send_json({"type": "history", "room_id": room, "id": "h"})
        e = x.recv_json(timeout=30)
        assert e["type"] == "error" and e["code"] == "unavailable", e
        assert e.get("id") == "h"
        # gone before the reconnect's replay would read it again
        assert redis.command("DEL", "roomcast:hist:" + room) == ":1"
        wait_for(lambda: health(a.status_port)[0] == 200, timeout=15,
                 what="the process back on Redis")
        assert a.proc.poll() is None
        # seq 2 can no longer be replayed: counted, never silent
        d = x.recv_json(timeout=10)
        assert d == {"type": "dropped", "count": 1}, d
        x.broadcast(room, 3)
        m = x.expect("broadcast")
        assert m["content"] == 3 and m["seq"] == 3
