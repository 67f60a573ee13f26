#!/usr/bin/python3
"""roomcast soak test with faults.

Many WebSocket clients over ~50 rooms, for a bounded time, against one
roomcast server (started here, or an already-running one with --attach):

  healthy   read promptly, join and leave rooms at random, broadcast at a
            modest rate; every message they get is checked as it arrives
  slow      pause reading for seconds at a time and so get drops; their
            seq gaps must equal the sum of their `dropped` notices exactly.
            All of them are in a "hot" room (bigger messages, a few healthy
            members broadcasting at up to 40/s); small SO_RCVBUF and
            TCP_MAXSEG so the kernel does not absorb megabytes for them
            (the server's send buffer is sized from the MSS: ~64 KB on
            loopback). They send a `ping` every 5 s so the server's
            heartbeat does not take them for dead.
  faulty    repeated short sessions that misbehave: RST (SO_LINGER 0)
            while active or while not reading, close mid-frame (FIN or RST),
            invalid JSON / protocol errors / binary frames (connection must
            stay open, errors as PROTOCOL.md says), invalid UTF-8 (close
            1007), oversized message (close 1009), random bytes after the
            handshake, RST right after the upgrade request, close frame then
            RST
  half-open TCP connections whose HTTP handshake never completes (nothing
            sent, or a partial request): the server must drop them itself
            (its 10 s handshake timeout, docs/CONFIG.md)

Checks (any failure -> exit 1, each one printed):

  * every healthy client got, for every room it was in, every broadcast
    accepted there while it was a member, in seq order, exactly once, with
    the exact content sent. Membership interval = (joined.seq, S], S being
    the seq of a re-`join` sent just before each `leave` and at the end of
    the run (a re-join's `joined` carries the room's current seq and passes
    through the same FIFO ring as the broadcasts, so every broadcast with
    seq <= S must have arrived before it); broadcasts between that re-join
    and `left` must continue the sequence; none may arrive for a room the
    client is not in; its own broadcasts must all come back before the
    re-join answer of their room; no `dropped`, no `error`.
  * across all clients: one (sender, counter) per (room, epoch, seq); a
    sender's counters increase with seq in each room; no (sender, counter)
    accepted twice; every delivered message was sent; content is exactly
    the sender's (content is a deterministic function of sender, counter,
    room); messages aborted mid-frame / invalid UTF-8 / oversized are never
    delivered.
  * slow clients: sum of seq gaps (+ replies they never got) == sum of their
    `dropped` counts.
  * after the run: /stats connections_active == rooms_active ==
    queued_bytes == 0 (polled, bounded); server alive, /health 200; server
    fd count back to its value at start; VmRSS after the run within
    --rss-margin of VmRSS after the warm-up (see RELIABILITY.md); when the
    server was started here it exits 0 on SIGTERM and its stderr holds no
    sanitizer report.

Run with Debian's /usr/bin/python3; only 127.0.0.1 traffic. See
docs/RELIABILITY.md.
"""

import argparse
import asyncio
import base64
import collections
import fcntl
import json
import multiprocessing
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

HOST = "127.0.0.1"
SANITIZER_MARKERS = ("AddressSanitizer", "runtime error:", "LeakSanitizer",
                     "UndefinedBehaviorSanitizer")

# ---------------------------------------------------------------- wire ----

OP_CONT, OP_TEXT, OP_BIN, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


def mask_payload(payload, key):
    n = len(payload)
    if not n:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def build_frame(op, payload, fin=True, rsv=0):
    """A masked client frame."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    if n < 126:
        hdr = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, 0x80 | 127, n)
    key = os.urandom(4)
    return hdr + key + mask_payload(payload, key)


def upgrade_request(port):
    key = base64.b64encode(os.urandom(16)).decode()
    return ("GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: roomcast.v1\r\n\r\n"
            % (HOST, port, key)).encode()


class HandshakeError(Exception):
    pass


class Conn(asyncio.Protocol):
    """A raw RFC 6455 client connection: handshake, frame parsing, pings
    answered; data messages go to on_message(opcode, payload)."""

    def __init__(self, loop, on_message=None):
        self.loop = loop
        self.transport = None
        self.buf = bytearray()
        self.upgraded = False
        self.hs_fut = loop.create_future()
        # nobody awaits the handshake of a connection given up on
        self.hs_fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.lost_fut = loop.create_future()
        self.on_message = on_message
        self.close_code = None      # from the server's close frame
        self.got_close = False
        self.sent_close = False
        self.frag_op = None
        self.frag = bytearray()
        self.protocol_errors = []
        self.rx_bytes = 0
        self.last_rx = None

    # asyncio.Protocol
    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        if not self.hs_fut.done():
            self.hs_fut.set_exception(HandshakeError("connection lost during handshake (%r)" % (exc,)))
        if not self.lost_fut.done():
            self.lost_fut.set_result(exc)

    def data_received(self, data):
        self.rx_bytes += len(data)
        self.last_rx = time.monotonic()
        self.buf += data
        if not self.upgraded:
            i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                if len(self.buf) > 16384:
                    self.abort()
                return
            head = bytes(self.buf[:i]).decode("latin-1")
            del self.buf[:i + 4]
            status = head.split("\r\n", 1)[0]
            if not status.startswith("HTTP/1.1 101"):
                if not self.hs_fut.done():
                    self.hs_fut.set_exception(HandshakeError("handshake refused: %s" % status))
                self.abort()
                return
            self.upgraded = True
            if not self.hs_fut.done():
                self.hs_fut.set_result(True)
        self._parse()

    def eof_received(self):
        return False  # close the transport

    # frames
    def _parse(self):
        buf = self.buf
        n = len(buf)
        pos = 0
        while n - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            ln = b1 & 0x7F
            hl = 2
            if ln == 126:
                if n - pos < 4:
                    break
                ln = (buf[pos + 2] << 8) | buf[pos + 3]
                hl = 4
            elif ln == 127:
                if n - pos < 10:
                    break
                ln = int.from_bytes(buf[pos + 2:pos + 10], "big")
                hl = 10
            if b1 & 0x80:
                self.protocol_errors.append("masked server frame")
                hl += 4
            if n - pos < hl + ln:
                break
            payload = bytes(buf[pos + hl:pos + hl + ln])
            if b1 & 0x80:
                payload = mask_payload(payload, bytes(buf[pos + hl - 4:pos + hl]))
            pos += hl + ln
            self._frame(b0 & 0x80, b0 & 0x0F, payload)
        if pos:
            del buf[:pos]

    def _frame(self, fin, op, payload):
        if op == OP_PING:
            self.send(OP_PONG, payload)
        elif op == OP_PONG:
            pass
        elif op == OP_CLOSE:
            self.got_close = True
            self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            if not self.sent_close:
                self.sent_close = True
                self.write(build_frame(OP_CLOSE, payload[:2]))
        elif op in (OP_TEXT, OP_BIN):
            if self.frag_op is not None:
                self.protocol_errors.append("new data frame inside a fragmented message")
            if fin:
                if self.on_message:
                    self.on_message(op, payload)
            else:
                self.frag_op = op
                self.frag = bytearray(payload)
        elif op == OP_CONT:
            if self.frag_op is None:
                self.protocol_errors.append("continuation without a start")
                return
            self.frag += payload
            if fin:
                op, data = self.frag_op, bytes(self.frag)
                self.frag_op = None
                self.frag = bytearray()
                if self.on_message:
                    self.on_message(op, data)
        else:
            self.protocol_errors.append("reserved opcode %d from server" % op)

    # output
    def write(self, data):
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def send(self, op, payload, fin=True):
        self.write(build_frame(op, payload, fin))

    def send_text(self, data):
        self.write(build_frame(OP_TEXT, data))

    def closed(self):
        return self.lost_fut.done()

    def diag(self):
        """Where this connection stands (for failure messages)."""
        tr = self.transport
        rxq = -1
        try:
            rxq = struct.unpack("i", fcntl.ioctl(tr.get_extra_info("socket").fileno(), termios.FIONREAD,
                                                 b"\0\0\0\0"))[0]
        except (OSError, AttributeError, ValueError):
            pass
        return ("reading=%s, unread in socket %d B, unsent by us %d B, last bytes from server %.1f s ago, "
                "%d B received in all, closed=%s, close frame %r"
                % (tr.is_reading() if tr and not tr.is_closing() else None, rxq,
                   tr.get_write_buffer_size() if tr else -1,
                   time.monotonic() - self.last_rx if self.last_rx else -1, self.rx_bytes,
                   self.closed(), self.close_code))

    def abort(self):
        if self.transport is not None:
            self.transport.abort()

    def rst(self):
        """Close with SO_LINGER 0: the kernel sends RST, no close frame."""
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        try:
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.transport.abort()

    async def close_clean(self, timeout=5.0):
        """Close frame 1000, wait for the server's close and its TCP close.
        Returns True when the server answered in time."""
        if not self.closed():
            if not self.sent_close:
                self.sent_close = True
                self.write(build_frame(OP_CLOSE, struct.pack("!H", 1000)))
            try:
                await asyncio.wait_for(asyncio.shield(self.lost_fut), timeout)
            except asyncio.TimeoutError:
                self.abort()
                return False
        return self.got_close


async def open_tcp(loop, port, rcvbuf=None, on_message=None, timeout=10.0, mss=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if mss:
        # advertise a small MSS: the server's send buffer is sized from it
        # (on loopback it is ~64 KB, so the kernel would absorb megabytes)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (HOST, port)), timeout)
        _, conn = await loop.create_connection(lambda: Conn(loop, on_message), sock=sock)
    except BaseException:
        sock.close()
        raise
    return conn


async def ws_connect(loop, port, rcvbuf=None, on_message=None, timeout=10.0, mss=None):
    conn = await open_tcp(loop, port, rcvbuf, on_message, timeout, mss)
    conn.write(upgrade_request(port))
    try:
        await asyncio.wait_for(asyncio.shield(conn.hs_fut), timeout)
    except BaseException:
        conn.abort()
        raise
    return conn


# ------------------------------------------------------------- content ----

_rng = random.Random(20261127)
# a fixed pool the paddings are cut from: ASCII, JSON escapes, 2-, 3- and
# 4-byte UTF-8
_ALPHABET = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789 .,:;-_/"
             '"\\\n\t\u00e9\u00df\u20ac\u2603\u4e2d\U0001D11E\U0001F600')
PAD_POOL = "".join(_rng.choice(_ALPHABET) for _ in range(8192))


def make_content(sender, n, room, pad_max):
    """The content of broadcast n of `sender` to `room`: a deterministic
    function of the three, so any receiver can check it exactly."""
    h = zlib.crc32(("%s|%d|%s" % (sender, n, room)).encode())
    ln = 8 + h % max(1, pad_max - 8)
    off = (h >> 8) % (len(PAD_POOL) - ln)
    return {"s": sender, "n": n, "r": room, "p": PAD_POOL[off:off + ln]}


def encode(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


# ---------------------------------------------------------- the worker ----

class Interval:
    __slots__ = ("epoch", "join_seq", "last", "count", "state")

    def __init__(self, epoch, seq):
        self.epoch = epoch
        self.join_seq = seq
        self.last = seq
        self.count = 0
        self.state = "member"


class Worker:
    """One process: a share of the clients, on one asyncio loop."""

    def __init__(self, cfg, wid):
        self.cfg = cfg
        self.wid = wid
        self.loop = None
        self.rng = random.Random(cfg["seed"] * 1000 + wid)
        self.failures = []
        self.nfail = 0
        self.seqmap = {}           # (room, epoch) -> {seq: (sender, n)}
        self.sent = set()          # (sender, n) of every whole broadcast written
        self.aborted = set()       # (sender, n) that must never be delivered
        self.cache = {}
        self.c = collections.Counter()
        self.lat = []
        self.slow = []             # per slow client: dict
        self.outcomes = collections.Counter()
        self.halfopen_close_s = []
        self.max_lag = 0.0
        self.lags = collections.deque(maxlen=20000)   # (t, lag) of late ticks

    async def lag_monitor(self):
        """How late this process's event loop runs: a client that is late
        reading is slow through no fault of the server."""
        while time.monotonic() < self.cfg["t_deadline"]:
            t = time.monotonic()
            await asyncio.sleep(0.05)
            lag = time.monotonic() - t - 0.05
            self.max_lag = max(self.max_lag, lag)
            if lag > 0.02:
                self.lags.append((t, lag))

    def recent_lag(self, window=3.0):
        now = time.monotonic()
        return max([lag for t, lag in self.lags if t > now - window] + [0.0])

    def fail(self, who, what):
        self.nfail += 1
        if len(self.failures) < 200:
            self.failures.append("%s: %s" % (who, what))

    def content_of(self, s, n, room):
        key = (s, n, room)
        v = self.cache.get(key)
        if v is None:
            if len(self.cache) > 200000:
                self.cache.clear()
            pad = self.cfg["hot_pad_max"] if room == self.cfg["hot_room"] else self.cfg["pad_max"]
            v = self.cache[key] = make_content(s, n, room, pad)
        return v

    async def sleep_until(self, t):
        d = t - time.monotonic()
        if d > 0:
            await asyncio.sleep(d)

    # --------------------------------------------------------------------
    def run(self, slots, halfopen):
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main(slots, halfopen))
        finally:
            self.loop.close()
        lat = self.lat
        if len(lat) > 20000:
            lat = self.rng.sample(lat, 20000)
        return {
            "wid": self.wid, "failures": self.failures, "nfail": self.nfail,
            "seqmap": self.seqmap, "sent": self.sent, "aborted": self.aborted,
            "counts": dict(self.c), "lat": lat, "slow": self.slow,
            "outcomes": dict(self.outcomes), "halfopen_close_s": self.halfopen_close_s,
            "max_lag": self.max_lag,
        }

    async def _main(self, slots, halfopen):
        cfg = self.cfg
        tasks = []
        for sid, role in slots:
            if role in ("healthy", "hot"):
                cl = RoomClient(self, "h%s-%d" % (cfg["phase"], sid), "healthy")
                cl.hot = role == "hot"
                tasks.append(self._guard(cl.run_member(), "h%d" % sid))
            elif role == "slow":
                tasks.append(self._guard(RoomClient(self, "s%s-%d" % (cfg["phase"], sid), "slow").run_member(), "s%d" % sid))
            else:
                tasks.append(self._guard(self.faulty_slot(sid), "f%d" % sid))
        for i in range(halfopen):
            tasks.append(self._guard(self.half_open(i), "ho%d" % i))
        limit = cfg["t_deadline"] - time.monotonic()
        mon = asyncio.ensure_future(self.lag_monitor())
        done, pending = await asyncio.wait([asyncio.ensure_future(t) for t in tasks], timeout=max(1, limit))
        mon.cancel()
        for t in pending:
            t.cancel()
        if pending:
            self.fail("worker %d" % self.wid, "%d client tasks still running at the deadline" % len(pending))
            await asyncio.wait(pending, timeout=5)

    async def _guard(self, coro, who):
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug in the test or a hard server failure
            self.fail(who, "client task raised %r" % (e,))

    # ------------------------------------------------------- faulty ------
    async def faulty_slot(self, sid):
        cfg = self.cfg
        rng = self.rng
        await self.sleep_until(cfg["t0"] + rng.uniform(0, cfg["ramp"]))
        k = 0
        behaviours = cfg["faults"]
        while time.monotonic() < cfg["t_stop"] - 1.0:
            k += 1
            b = rng.choice(behaviours)
            uid = "f%s-%d-%d" % (cfg["phase"], sid, k)
            self.c["faulty_sessions"] += 1
            self.c["fault_" + b] += 1
            cl = RoomClient(self, uid, "faulty")
            try:
                await getattr(cl, "fault_" + b)()
            finally:
                if cl.conn is not None and not cl.conn.closed():
                    cl.conn.rst()
            await asyncio.sleep(rng.uniform(0.05, 0.5))

    async def half_open(self, i):
        """A TCP connection whose handshake never completes; the server
        must close it itself."""
        cfg = self.cfg
        rng = self.rng
        latest = max(cfg["t0"], cfg["t_stop"] - cfg["halfopen_wait"])
        await self.sleep_until(rng.uniform(cfg["t0"], latest))
        variant = ("silent", "partial-request", "headers-no-end")[i % 3]
        try:
            conn = await open_tcp(self.loop, cfg["port"])
        except OSError as e:
            self.fail("halfopen%d" % i, "connect failed: %r" % (e,))
            return
        req = upgrade_request(cfg["port"])
        if variant == "partial-request":
            conn.write(req[:rng.randint(1, 20)])
        elif variant == "headers-no-end":
            conn.write(req[:-2])
        t0 = time.monotonic()
        self.c["halfopen"] += 1
        try:
            await asyncio.wait_for(asyncio.shield(conn.lost_fut), cfg["halfopen_wait"])
            self.halfopen_close_s.append(time.monotonic() - t0)
        except asyncio.TimeoutError:
            self.fail("halfopen%d" % i, "%s handshake still open after %.0f s (server should drop it after 10 s)"
                      % (variant, cfg["halfopen_wait"]))
            conn.rst()


class RoomClient:
    """One WebSocket client session speaking roomcast.v1, checking what it
    receives as it arrives (see the module docstring)."""

    def __init__(self, w, uid, role):
        self.w = w
        self.uid = uid
        self.role = role              # healthy, slow, faulty
        self.conn = None
        self.rooms = {}               # room -> Interval
        self.expect = {}              # room -> deque of [kind, future]
        self.n = 0
        self.pending = {}             # n -> (room, t_sent)
        self.dropped = 0
        self.gaps = 0
        self.missing_replies = 0
        self.errors = []              # (code, ref)
        self.pongs = {}               # id -> future
        self.keepalive = set()        # ids of keep-alive pings not answered yet
        self.received = 0
        self.closed_intervals = 0
        self.hot = False              # healthy member of the hot room

    def fail(self, what):
        self.w.fail(self.uid, what)

    # ------------------------------------------------------ receiving ----
    def on_message(self, op, payload):
        if op != OP_TEXT:
            self.fail("binary message from the server")
            return
        try:
            m = json.loads(payload)
        except ValueError:
            self.fail("server message is not JSON: %r" % payload[:200])
            return
        t = m.get("type")
        if t == "broadcast":
            self.on_broadcast(m)
        elif t == "joined":
            self.on_joined(m)
        elif t == "left":
            self.on_left(m)
        elif t == "dropped":
            self.dropped += m.get("count", 0)
            if self.role == "healthy":
                # how far behind was this client? unread bytes in its socket
                # and how late its process's loop ran lately
                try:
                    rxq = struct.unpack("i", fcntl.ioctl(self.conn.transport.get_extra_info("socket").fileno(),
                                                         termios.FIONREAD, b"\0\0\0\0"))[0]
                except (OSError, AttributeError):
                    rxq = -1
                lag = self.w.recent_lag()
                self.w.c["healthy_drop_notices"] += 1
                if lag < 0.25 and 0 <= rxq < 65536:
                    self.w.c["healthy_drop_notices_keeping_up"] += 1
                self.fail("got dropped %r although it reads promptly (socket rx queue %d bytes, "
                          "worker loop lag <= %.2f s over the last 3 s)" % (m, rxq, lag))
        elif t == "error":
            self.errors.append((m.get("code"), m.get("ref")))
            if self.role != "faulty":
                self.fail("error %r" % m)
        elif t == "pong":
            if m.get("id") in self.keepalive:
                self.keepalive.discard(m.get("id"))
                return
            f = self.pongs.pop(m.get("id"), None)
            if f is not None and not f.done():
                f.set_result(m)

    def on_broadcast(self, m):
        w = self.w
        room = m.get("room_id")
        seq = m.get("seq")
        sender = m.get("sender")
        content = m.get("content")
        iv = self.rooms.get(room)
        if iv is None:
            self.fail("broadcast for room %r it is not a member of (seq %r)" % (room, seq))
            return
        if not isinstance(content, dict) or not isinstance(content.get("n"), int):
            self.fail("broadcast with foreign content %r" % (content,))
            return
        n = content["n"]
        if content.get("s") != sender or content.get("r") != room or content != w.content_of(sender, n, room):
            self.fail("content mismatch in %s seq %d from %r: %r" % (room, seq, sender, str(content)[:200]))
        if seq <= iv.last:
            self.fail("room %s: seq %d after %d (duplicate or out of order)" % (room, seq, iv.last))
            return
        if seq != iv.last + 1:
            if self.role == "healthy":
                self.fail("room %s: missing seq %d..%d" % (room, iv.last + 1, seq - 1))
            self.gaps += seq - iv.last - 1
        iv.last = seq
        iv.count += 1
        self.received += 1
        key = (room, iv.epoch)
        sm = w.seqmap.get(key)
        if sm is None:
            sm = w.seqmap[key] = {}
        prev = sm.get(seq)
        if prev is None:
            sm[seq] = (sender, n)
        elif prev != (sender, n):
            self.fail("room %s epoch %s seq %d: %r here, %r at another member" % (room, iv.epoch, seq, (sender, n), prev))
        if sender == self.uid:
            p = self.pending.pop(n, None)
            if p is None:
                self.fail("own broadcast %d echoed twice or never sent" % n)
            elif self.role == "healthy":
                w.lat.append(time.monotonic() - p[1])

    def _pop_expect(self, room, kind):
        q = self.expect.get(room)
        if not q or q[0][0] != kind:
            self.fail("unexpected %s for %r (expected %r)" % (kind, room, q[0][0] if q else None))
            return None
        return q.popleft()

    def on_joined(self, m):
        room = m.get("room_id")
        seq = m.get("seq")
        epoch = m.get("epoch")
        iv = self.rooms.get(room)
        if iv is None:
            e = self._pop_expect(room, "join")
            self.rooms[room] = Interval(epoch, seq)
        else:
            e = self._pop_expect(room, "rejoin")
            if epoch != iv.epoch:
                self.fail("room %s: epoch changed from %s to %s while a member" % (room, iv.epoch, epoch))
            if seq < iv.last:
                self.fail("room %s: re-join says seq %d, but seq %d was received" % (room, seq, iv.last))
            elif seq > iv.last:
                if self.role == "healthy":
                    self.fail("room %s: re-join says seq %d, last received %d: %d accepted broadcasts "
                              "never arrived" % (room, seq, iv.last, seq - iv.last))
                self.gaps += seq - iv.last
                iv.last = seq
            if self.role == "healthy":
                lost = [n for n, (r, _) in self.pending.items() if r == room]
                if lost:
                    self.fail("room %s: own broadcasts %s not echoed before the re-join answer" % (room, lost[:5]))
        if e is not None and not e[1].done():
            e[1].set_result(m)

    def on_left(self, m):
        room = m.get("room_id")
        e = self._pop_expect(room, "leave")
        iv = self.rooms.pop(room, None)
        if iv is not None:
            self.closed_intervals += 1
        if e is not None and not e[1].done():
            e[1].set_result(m)

    # -------------------------------------------------------- sending ----
    def _expect(self, room, kind):
        f = self.w.loop.create_future()
        self.expect.setdefault(room, collections.deque()).append([kind, f])
        return f

    async def _wait(self, fut, what, timeout=10.0):
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            if self.role == "slow":
                # its ring may have been full: the answer was dropped, and
                # counted in a `dropped` notice; forget that expectation
                self.missing_replies += 1
                for q in self.expect.values():
                    for e in list(q):
                        if e[1] is fut:
                            q.remove(e)
                self.w.c["slow_missing_replies"] += 1
            elif self.role != "faulty":
                self.fail("no answer to %s within %.0f s" % (what, timeout))
            return None

    async def join(self, room):
        f = self._expect(room, "join")
        self.conn.send_text(encode({"type": "join", "room_id": room, "user_id": self.uid}))
        return await self._wait(f, "join %s" % room)

    async def rejoin(self, room, then_leave=False):
        """Re-join (answer carries the room's seq now), and leave in the same
        write when asked."""
        iv = self.rooms[room]
        f = self._expect(room, "rejoin")
        data = build_frame(OP_TEXT, encode({"type": "join", "room_id": room}))
        fl = None
        if then_leave:
            iv.state = "leaving"
            fl = self._expect(room, "leave")
            data += build_frame(OP_TEXT, encode({"type": "leave", "room_id": room}))
        self.conn.write(data)
        rx0 = self.conn.rx_bytes
        r = await self._wait(f, "re-join %s" % room)
        if r is None and self.role == "healthy":
            self.fail("  re-join %s: %d B received while waiting; %s" % (room, self.conn.rx_bytes - rx0, self.conn.diag()))
        if fl is not None:
            r = await self._wait(fl, "leave %s" % room)
        return r

    def broadcast(self, room, frags=1):
        self.n += 1
        n = self.n
        data = encode({"type": "broadcast", "room_id": room,
                       "content": self.w.content_of(self.uid, n, room)})
        if frags <= 1:
            self.conn.send_text(data)
        else:
            cut = sorted(self.w.rng.sample(range(1, len(data)), min(frags - 1, len(data) - 1)))
            parts = [data[a:b] for a, b in zip([0] + cut, cut + [len(data)])]
            out = b"".join(build_frame(OP_TEXT if i == 0 else OP_CONT, p, fin=(i == len(parts) - 1))
                           for i, p in enumerate(parts))
            self.conn.write(out)
        self.pending[n] = (room, time.monotonic())
        self.w.sent.add((self.uid, n))
        self.w.c["broadcasts_sent"] += 1
        return n

    async def ping(self, timeout=10.0):
        pid = "p%d" % (len(self.pongs) + self.n + int(time.monotonic() * 1000) % 100000)
        f = self.w.loop.create_future()
        self.pongs[pid] = f
        self.conn.send_text(encode({"type": "ping", "id": pid}))
        try:
            await asyncio.wait_for(f, timeout)
            return True
        except asyncio.TimeoutError:
            return False

    # -------------------------------------------------- member roles -----
    async def connect(self, rcvbuf=None, mss=None):
        w = self.w
        try:
            self.conn = await ws_connect(w.loop, w.cfg["port"], rcvbuf=rcvbuf, on_message=self.on_message, mss=mss)
        except (OSError, HandshakeError, asyncio.TimeoutError) as e:
            w.c["connect_failures"] += 1
            return str(e) or repr(e)
        w.c["upgrades"] += 1
        return None

    async def run_member(self):
        """Healthy or slow client: one session for the whole run."""
        w = self.w
        cfg = w.cfg
        rng = w.rng
        slow = self.role == "slow"
        await w.sleep_until(cfg["t0"] + rng.uniform(0, cfg["ramp"]))
        if slow:
            err = await self.connect(rcvbuf=cfg["slow_rcvbuf"], mss=cfg["slow_mss"])
        else:
            err = await self.connect()
        if err:
            self.fail("could not connect: %s" % err)
            return
        rooms = cfg["rooms"]
        hot = cfg["hot_room"]
        if slow or self.hot:
            await self.join(hot)
        for room in rng.sample(rooms, rng.randint(0 if slow else 1, cfg["max_rooms"] - (1 if slow else 0))):
            await self.join(room)
        rate = cfg["rate_per_client"]
        t_stop = cfg["t_stop"]
        now = time.monotonic()
        inf = float("inf")
        next_send = now + rng.expovariate(rate) if rate > 0 else inf
        next_hot = now + rng.expovariate(cfg["hot_rate_per_sender"]) if self.hot and cfg["hot_rate_per_sender"] > 0 else inf
        next_churn = now + rng.uniform(1, cfg["churn_s"]) if not slow else inf
        next_pause = now + rng.uniform(0.5, 3) if slow else inf
        ka = [0]
        keepalive = asyncio.ensure_future(self.keep_alive(ka)) if slow else None
        while True:
            t = min(next_send, next_hot, next_churn, next_pause)
            if t >= t_stop:
                break
            await w.sleep_until(t)
            if self.conn.closed():
                self.fail("server closed the connection (close code %r): %s" % (self.conn.close_code, self.conn.diag()))
                return
            now = time.monotonic()
            if t == next_send:
                members = [r for r, iv in self.rooms.items() if iv.state == "member" and r != hot]
                if members:
                    self.broadcast(rng.choice(members), frags=1 if rng.random() < 0.95 else rng.randint(2, 4))
                next_send = now + rng.expovariate(rate)
            elif t == next_hot:
                self.broadcast(hot)
                next_hot = now + rng.expovariate(cfg["hot_rate_per_sender"])
            elif t == next_churn:
                have = [r for r, iv in self.rooms.items() if iv.state == "member" and r != hot]
                if len(have) >= cfg["max_rooms"] or (len(have) > 1 and rng.random() < 0.5):
                    # (the hot room is never left: its membership is fixed)
                    await self.rejoin(rng.choice(have), then_leave=True)
                    w.c["leaves"] += 1
                else:
                    await self.join(rng.choice([r for r in rooms if r not in self.rooms]))
                    w.c["joins"] += 1
                next_churn = time.monotonic() + rng.uniform(1, cfg["churn_s"])
            else:
                # pause reading for a few seconds, not past t_stop - 0.5
                end = min(now + rng.uniform(cfg["pause_min"], cfg["pause_max"]), t_stop - 0.5)
                if end > now:
                    self.conn.transport.pause_reading()
                    w.c["pauses"] += 1
                    await w.sleep_until(end)
                    self.conn.transport.resume_reading()
                next_pause = time.monotonic() + rng.uniform(1, 3)
        # quiesce: every client stops sending at t_stop; check at t_final
        if keepalive is not None:
            keepalive.cancel()
        await w.sleep_until(cfg["t_final"])
        if self.conn.closed():
            self.fail("server closed the connection (close code %r)" % self.conn.close_code)
            return
        if slow:
            # catch up first: a wider window, then until 0.5 s of silence
            # (bounded), so the re-join answers find room in the ring
            try:
                self.conn.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            except OSError:
                pass
            end = time.monotonic() + 20
            while time.monotonic() < end and self.conn.last_rx and time.monotonic() - self.conn.last_rx < 0.5:
                await asyncio.sleep(0.1)
        for room in list(self.rooms):
            for attempt in range(3 if slow else 1):
                if await self.rejoin(room) is not None:
                    break
        if slow:
            # keep-alive pongs still missing now were dropped (they pass
            # through the ring, ahead of the re-join answers)
            self.missing_replies += len(self.keepalive)
            w.c["slow_keepalive_pongs_dropped"] += len(self.keepalive)
        w.c["received"] += self.received
        w.c["intervals"] += self.closed_intervals + len(self.rooms)
        if self.role == "healthy":
            if self.pending:
                self.fail("%d own broadcasts never echoed" % len(self.pending))
        else:
            w.c["slow_dropped"] += self.dropped
            w.slow.append({"uid": self.uid, "dropped": self.dropped, "gaps": self.gaps,
                           "missing_replies": self.missing_replies, "received": self.received})
            if self.gaps + self.missing_replies != self.dropped:
                self.fail("slow reader: seq gaps %d + missing replies %d != dropped notices %d"
                          % (self.gaps, self.missing_replies, self.dropped))
        if not await self.conn.close_clean():
            self.fail("no close frame from the server after a clean close (code %r)" % self.conn.close_code)
        for p in self.conn.protocol_errors[:3]:
            self.fail("server frame error: %s" % p)

    async def keep_alive(self, ka):
        """A slow reader still writes: a `ping` every few seconds, so the
        server's heartbeat (a ping after ping-interval-s of silence, close
        4002 when no frame comes back within pong-timeout-s) does not close
        a client that is only slow to read. Its `pong`s go through the ring
        and may be dropped like any message: counted at the end."""
        while True:
            await asyncio.sleep(self.w.cfg["keepalive_s"])
            if self.conn.closed():
                return
            ka[0] += 1
            pid = "ka%d" % ka[0]
            self.keepalive.add(pid)
            self.conn.send_text(encode({"type": "ping", "id": pid}))

    # -------------------------------------------------- faulty roles -----
    async def _faulty_start(self, n_rooms=None, read=True):
        w = self.w
        err = await self.connect()
        if err:
            w.c["faulty_connect_failures"] += 1
            return False
        rooms = w.rng.sample(w.cfg["rooms"], n_rooms or w.rng.randint(1, 2))
        for r in rooms:
            f = self._expect(r, "join")
            self.conn.send_text(encode({"type": "join", "room_id": r, "user_id": self.uid}))
            if await self._wait(f, "join", 10) is None:
                return False
        return True

    async def _chatter(self, seconds, rate=None):
        """One broadcast, then more at the faulty clients' rate for `seconds`
        (bounded by t_stop)."""
        w = self.w
        rate = rate or w.cfg["faulty_rate"]
        end = min(time.monotonic() + seconds, w.cfg["t_stop"])
        while time.monotonic() < end and not self.conn.closed():
            members = [r for r, iv in self.rooms.items() if iv.state == "member"]
            if members:
                self.broadcast(w.rng.choice(members))
            await asyncio.sleep(min(w.rng.expovariate(rate), max(0, end - time.monotonic())))

    def _bcast_frame(self, room, content_bytes=None):
        """A whole broadcast frame for a new counter, not yet sent."""
        self.n += 1
        n = self.n
        if content_bytes is None:
            data = encode({"type": "broadcast", "room_id": room,
                           "content": self.w.content_of(self.uid, n, room)})
        else:
            data = (b'{"type":"broadcast","room_id":"' + room.encode() + b'","content":' + content_bytes + b"}")
        return n, data

    async def _expect_close(self, code, what, timeout=5.0):
        """The server must send a close frame with `code`; the TCP close
        may follow only after lws's close-ack wait (it may not recognise our
        close reply behind the rest of a message it stopped parsing)."""
        c = self.conn
        end = time.monotonic() + timeout
        while not c.got_close and not c.closed() and time.monotonic() < end:
            await asyncio.sleep(0.05)
        if c.got_close and not c.closed():
            t0 = time.monotonic()
            try:
                await asyncio.wait_for(asyncio.shield(c.lost_fut), 15)
            except asyncio.TimeoutError:
                self.fail("%s: close frame %r, but the server kept the TCP connection 15 s more" % (what, c.close_code))
                c.rst()
            if time.monotonic() - t0 > 1:
                self.w.outcomes["%s: TCP closed > 1 s after the close frame" % what] += 1
        try:
            await asyncio.wait_for(asyncio.shield(self.conn.lost_fut), 0.01)
        except asyncio.TimeoutError:
            d = self.conn.diag()
            try:   # late, or never?
                await asyncio.wait_for(asyncio.shield(self.conn.lost_fut), 10)
                late = "closed %.0f s later with %r" % (timeout, self.conn.close_code)
            except asyncio.TimeoutError:
                late = "still open %.0f s later; %s" % (timeout + 10, self.conn.diag())
            self.fail("%s: connection still open after %.0f s (expected close %d): %s; %s"
                      % (what, timeout, code, d, late))
            return
        if self.conn.close_code != code:
            how = self.conn.lost_fut.result()
            self.fail("%s: connection closed by the server with close frame %r, expected %d; TCP: %s; %s"
                      % (what, self.conn.close_code, code, "RST (%r)" % how if how else "FIN",
                         self.conn.diag()))
        self.w.outcomes["%s->%s" % (what, self.conn.close_code)] += 1

    async def fault_rst_active(self):
        if await self._faulty_start():
            await self._chatter(self.w.rng.uniform(0.2, 4))
            self.conn.rst()

    async def fault_rst_unread(self):
        if await self._faulty_start():
            self.conn.transport.pause_reading()
            await self._chatter(self.w.rng.uniform(0.5, 4))
            self.conn.rst()

    async def _midframe(self, rst):
        if not await self._faulty_start():
            return
        await self._chatter(self.w.rng.uniform(0.1, 2))
        room = next(iter(self.rooms))
        n, data = self._bcast_frame(room)
        frame = build_frame(OP_TEXT, data)
        self.w.aborted.add((self.uid, n))
        self.conn.write(frame[:self.w.rng.randint(1, len(frame) - 1)])
        await asyncio.sleep(self.w.rng.uniform(0, 0.3))
        if rst:
            self.conn.rst()
        else:
            self.conn.transport.close()   # FIN after the partial frame
            try:
                await asyncio.wait_for(asyncio.shield(self.conn.lost_fut), 5)
            except asyncio.TimeoutError:
                self.conn.rst()

    async def fault_midframe_fin(self):
        await self._midframe(False)

    async def fault_midframe_rst(self):
        await self._midframe(True)

    BAD_TEXT = [
        (b"not json", "bad_json"),
        (b"{", "bad_json"),
        (b"[1,2,3]", "bad_json"),
        (b'"a string"', "bad_json"),
        (b'{"type":"ping"} trailing', "bad_json"),
        (b'{"type":"broadcast","room_id":"x","content":NaN}', "bad_json"),
        (b"[" * 100 + b"]" * 100, "bad_json"),
        (b"", "bad_json"),
        (b'{"type":"no-such-type"}', "unknown_type"),
        (b'{"type":42}', "unknown_type"),
        (b'{"room_id":"x"}', "unknown_type"),
        (b'{"type":"broadcast","room_id":"soak-x"}', "missing_field"),
        (b'{"type":"join"}', "missing_field"),
        (b'{"type":"join","room_id":"bad room!"}', "bad_room"),
        (b'{"type":"leave","room_id":"soak-never-joined"}', "not_member"),
        (b'{"type":"broadcast","room_id":"soak-never-joined","content":1}', "not_member"),
    ]

    async def fault_bad_messages(self):
        """Invalid JSON, protocol errors and binary frames: each answered by
        its error, the connection stays open and keeps working."""
        w = self.w
        if not await self._faulty_start(n_rooms=1):
            return
        picks = w.rng.sample(self.BAD_TEXT, 5)
        expected = []
        out = b""
        for data, code in picks:
            if w.rng.random() < 0.3:
                out += build_frame(OP_BIN, data or b"\0")
                expected.append("bad_frame")
            else:
                out += build_frame(OP_TEXT, data)
                expected.append(code)
        self.conn.write(out)
        room = next(iter(self.rooms))
        n = self.broadcast(room, frags=w.rng.randint(1, 3))
        if not await self.ping():
            self.fail("bad messages: no pong after them")
            return
        got = [c for c, _ in self.errors]
        if got != expected:
            self.fail("bad messages %r: errors %r, expected %r" % ([p[0][:40] for p in picks], got, expected))
        if n in self.pending:
            self.fail("bad messages: valid broadcast after them not echoed before the pong")
        w.outcomes["bad_messages->errors-ok" if got == expected else "bad_messages->wrong"] += 1
        await self._chatter(w.rng.uniform(0.2, 1.5))
        await self.conn.close_clean()

    async def fault_bad_utf8(self):
        w = self.w
        if not await self._faulty_start(n_rooms=1):
            return
        room = next(iter(self.rooms))
        bad = w.rng.choice([b'"\xff\xfe"', b'"caf\xc3"', b'"\xc0\xaf"', b'"\xed\xa0\x80"', b'"\xf4\x90\x80\x80"',
                            b'{"s":"\xe2\x82"}'])
        n, data = self._bcast_frame(room, bad)
        w.aborted.add((self.uid, n))
        self.conn.write(build_frame(OP_TEXT, data))
        await self._expect_close(1007, "invalid-utf8")

    async def fault_oversize(self):
        w = self.w
        if not await self._faulty_start(n_rooms=1):
            return
        room = next(iter(self.rooms))
        size = w.cfg["max_message_size"] + w.rng.randint(1, 4000)
        n, data = self._bcast_frame(room, b'"' + b"o" * size + b'"')
        w.aborted.add((self.uid, n))
        if w.rng.random() < 0.5:
            self.conn.write(build_frame(OP_TEXT, data))
        else:   # in fragments, none over the limit by itself
            half = len(data) // 2
            self.conn.write(build_frame(OP_TEXT, data[:half], fin=False) + build_frame(OP_CONT, data[half:]))
        await self._expect_close(1009, "oversize")

    async def fault_random_bytes(self):
        """Garbage after the handshake: the server may close (1002, 1009, ...)
        or wait for the rest of a frame it thinks it reads; either way only
        this connection is affected. Outcome recorded, not asserted."""
        w = self.w
        if not await self._faulty_start(n_rooms=1):
            return
        self.conn.write(os.urandom(w.rng.randint(1, 512)))
        try:
            await asyncio.wait_for(asyncio.shield(self.conn.lost_fut), 2)
            w.outcomes["random_bytes->closed-%s" % self.conn.close_code] += 1
        except asyncio.TimeoutError:
            w.outcomes["random_bytes->still-open"] += 1
            self.conn.rst()

    async def fault_handshake_rst(self):
        w = self.w
        try:
            conn = await open_tcp(w.loop, w.cfg["port"])
        except OSError:
            w.c["faulty_connect_failures"] += 1
            return
        self.conn = conn
        conn.write(upgrade_request(w.cfg["port"])[:w.rng.choice([10, 10000])])
        await asyncio.sleep(w.rng.uniform(0, 0.05))
        conn.rst()

    async def fault_close_then_rst(self):
        if await self._faulty_start():
            await self._chatter(self.w.rng.uniform(0.1, 1))
            self.conn.write(build_frame(OP_CLOSE, struct.pack("!H", 1000)))
            self.conn.rst()


FAULTS = ["rst_active", "rst_unread", "midframe_fin", "midframe_rst", "bad_messages",
          "bad_utf8", "oversize", "random_bytes", "handshake_rst", "close_then_rst"]


def worker_main(cfg, wid, slots, halfopen, q):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        res = Worker(cfg, wid).run(slots, halfopen)
    except BaseException as e:
        res = {"wid": wid, "crash": repr(e)}
    q.put(res)


# ------------------------------------------------------- server side -----

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def http_get(port, path, timeout=3.0):
    try:
        with urllib.request.urlopen("http://%s:%d%s" % (HOST, port, path), timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get_stats(port):
    st, body = http_get(port, "/stats")
    if st != 200:
        raise RuntimeError("/stats answered %d" % st)
    return json.loads(body)


def proc_status(pid):
    out = {}
    try:
        for line in Path("/proc/%d/status" % pid).read_text().splitlines():
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])   # kB
    except OSError:
        pass
    return out


def tcp_queues(port):
    """Kernel queues of the TCP connections of the server on `port`, from
    /proc/net/tcp: (connections, max server-side tx_queue, sum of them,
    max client-side rx_queue), bytes."""
    n = max_tx = sum_tx = max_rx = 0
    lines = []
    for fn in ("/proc/net/tcp", "/proc/net/tcp6"):   # a dual-stack listener's sockets are in tcp6
        try:
            lines += Path(fn).read_text().splitlines()[1:]
        except OSError:
            pass
    hp = ":%04X" % port
    for line in lines:
        f = line.split()
        if f[3] != "01":
            continue
        tx, rx = f[4].split(":")
        if f[1].endswith(hp):
            n += 1
            tx = int(tx, 16)
            max_tx = max(max_tx, tx)
            sum_tx += tx
        elif f[2].endswith(hp):
            max_rx = max(max_rx, int(rx, 16))
    return n, max_tx, sum_tx, max_rx


def cpu_seconds(pid):
    """utime + stime of a process, seconds."""
    try:
        f = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def pid_listening_on(port):
    """The pid holding a TCP listener on `port` (for --attach), or None."""
    inodes = set()
    for fn in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            for line in Path(fn).read_text().splitlines()[1:]:
                f = line.split()
                if f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f[9])
        except OSError:
            pass
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            for fd in os.listdir(d / "fd"):
                link = os.readlink(d / "fd" / fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(d.name)
        except OSError:
            continue
    return None


def uses_asan(pid):
    try:
        return "libasan" in Path("/proc/%d/maps" % pid).read_text()
    except OSError:
        return False


class Server:
    def __init__(self, binary, options, workdir):
        self.binary = os.path.abspath(binary)
        self.options = options
        self.port = free_port()
        self.status_port = free_port()
        self.workdir = Path(workdir)
        self.stderr_path = self.workdir / "server-stderr.log"
        self.proc = None
        self.returncode = None

    def start(self, ready_timeout=15.0):
        argv = [self.binary, "--port", str(self.port), "--status-port", str(self.status_port)]
        for o in self.options:
            argv += ["--option", o]
        self.argv = argv
        env = dict(os.environ)
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._err, stderr=self._err,
                                     env=env, cwd=str(self.workdir), start_new_session=True)
        deadline = time.monotonic() + ready_timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s before it was ready:\n%s"
                                   % (self.proc.returncode, self.stderr_tail()))
            if port_open(self.port) and port_open(self.status_port):
                return
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("server not ready within %.0f s:\n%s" % (ready_timeout, self.stderr_tail()))
            time.sleep(0.05)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.returncode = self.proc.wait()
        self._err.close()
        return self.returncode

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def stderr_tail(self, n=40):
        return "\n".join(self.stderr_text().splitlines()[-n:])


# ------------------------------------------------------------ driver -----

class Soak:
    def __init__(self, args):
        self.args = args
        self.failures = []
        self.fig = collections.OrderedDict()
        self.peak_conn = 0
        self.peak_txq = self.peak_sum_txq = self.peak_rxq = 0
        self.last_q = 0
        self.peak_rss = 0
        self.samples = 0

    def fail(self, what):
        self.failures.append(what)
        print("FAIL: %s" % what, flush=True)

    def log(self, what):
        print("[%6.1f s] %s" % (time.monotonic() - self.t_start, what), flush=True)

    def sample(self):
        """One /stats + /proc sample (peaks)."""
        try:
            st = get_stats(self.status_port)
            self.peak_conn = max(self.peak_conn, st.get("connections_active", 0))
            self.samples += 1
        except Exception:
            st = None
        if self.pid:
            ps = proc_status(self.pid)
            self.peak_rss = max(self.peak_rss, ps.get("VmHWM", 0), ps.get("VmRSS", 0))
        if time.monotonic() - self.last_q > 1.0:
            self.last_q = time.monotonic()
            q = tcp_queues(self.port)
            if q:
                self.peak_txq = max(self.peak_txq, q[1])
                self.peak_sum_txq = max(self.peak_sum_txq, q[2])
                self.peak_rxq = max(self.peak_rxq, q[3])
        return st

    def wait_idle(self, what, timeout):
        """Poll /stats until nothing is left (bounded)."""
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = self.sample()
            if st and st.get("connections_active") == 0 and st.get("rooms_active") == 0 \
                    and st.get("queued_bytes", 0) == 0:
                return st
            time.sleep(0.2)
        self.fail("%s: /stats not back to idle within %.0f s: connections_active=%s rooms_active=%s "
                  "queued_bytes=%s" % (what, timeout, st and st.get("connections_active"),
                                       st and st.get("rooms_active"), st and st.get("queued_bytes")))
        return st

    def wait_fds(self, what, target, timeout):
        if not self.pid:
            return None
        deadline = time.monotonic() + timeout
        n = fd_count(self.pid)
        while time.monotonic() < deadline:
            n = fd_count(self.pid)
            if n == target:
                return n
            time.sleep(0.2)
        listing = ""
        try:
            listing = ", ".join(sorted(os.readlink("/proc/%d/fd/%s" % (self.pid, f))
                                       for f in os.listdir("/proc/%d/fd" % self.pid)))[:600]
        except OSError:
            pass
        self.fail("%s: server holds %s fds, %s at start (after %.0f s): %s" % (what, n, target, timeout, listing))
        return n

    # ------------------------------------------------------------------
    def plan(self, phase, clients, duration):
        a = self.args
        n_slow = int(round(clients * a.slow_frac))
        n_faulty = int(round(clients * a.faulty_frac))
        n_healthy = clients - n_slow - n_faulty
        n_hot = max(2, min(a.hot_members, n_healthy // 10)) if n_healthy >= 4 else 0
        roles = (["hot"] * n_hot + ["healthy"] * (n_healthy - n_hot) + ["slow"] * n_slow
                 + ["faulty"] * n_faulty)
        rng = random.Random(a.seed + (1 if phase == "m" else 0))
        rng.shuffle(roles)
        members_per_room = clients * (1 + a.max_rooms) / 2.0 / a.rooms
        # the client processes, not the server, are the limit on 2 cores:
        # fewer deliveries per second for more clients
        scale = min(1.0, 1500.0 / clients)
        if a.rate:
            total_rate = a.rate
        else:
            total_rate = min(400.0, max(20.0, a.deliveries * scale / max(1.0, members_per_room)))
        senders = n_healthy + n_slow
        hot_rate = a.hot_rate or min(40.0, a.hot_deliveries * scale / max(1, n_hot + n_slow))
        ramp = max(1.0, clients / 800.0)
        t0 = time.monotonic() + 1.0
        t_stop = t0 + ramp + duration
        halfopen_wait = 15.0
        cfg = {
            "phase": phase, "seed": a.seed + (1 if phase == "m" else 0), "port": self.port,
            "rooms": ["soak%s-%02d" % (phase, i) for i in range(a.rooms)],
            "max_rooms": a.max_rooms, "rate_per_client": total_rate / max(1, senders),
            "churn_s": a.churn_s, "pause_min": a.pause_min, "pause_max": a.pause_max,
            "slow_rcvbuf": a.slow_rcvbuf, "slow_mss": a.slow_mss, "pad_max": a.pad_max, "faults": FAULTS,
            "hot_room": "soak%s-hot" % phase, "hot_pad_max": a.hot_pad_max,
            "hot_rate_per_sender": hot_rate / n_hot if n_hot else 0,
            # each faulty session's chatter: a tenth of the regular rate spread
            # over the faulty slots, at least 0.2/s (so at 4000 clients they
            # send more than a tenth)
            "faulty_rate": max(0.2, 0.1 * total_rate / max(1, n_faulty)),
            "keepalive_s": a.keepalive_s,
            "max_message_size": a.max_message_size,
            "t0": t0, "ramp": ramp, "t_stop": t_stop, "t_final": t_stop + a.drain_s,
            "t_deadline": t_stop + a.drain_s + halfopen_wait + 30, "halfopen_wait": halfopen_wait,
        }
        halfopen = a.half_open if phase == "m" else 0
        nw = max(1, min(a.workers, clients))
        slots = [[] for _ in range(nw)]
        for i, r in enumerate(roles):
            slots[i % nw].append((i, r))
        ho = [halfopen // nw + (1 if i < halfopen % nw else 0) for i in range(nw)]
        return cfg, slots, ho, {"healthy": n_healthy, "slow": n_slow, "faulty": n_faulty, "hot": n_hot,
                                "hot_rate": hot_rate,
                                "halfopen": halfopen, "total_rate": total_rate,
                                "members_per_room": members_per_room}

    def run_phase(self, phase, clients, duration):
        cfg, slots, ho, info = self.plan(phase, clients, duration)
        name = "warm-up" if phase == "w" else "main run"
        self.log("%s: %d clients (%d healthy, %d slow, %d faulty slots) + %d half-open, %d rooms, "
                 "%.0f s, ~%.0f broadcasts/s total (~%.0f members/room) + %.0f/s in the hot room "
                 "(%d healthy + %d slow members), %d workers"
                 % (name, clients, info["healthy"], info["slow"], info["faulty"], info["halfopen"],
                    self.args.rooms, duration, info["total_rate"], info["members_per_room"],
                    info["hot_rate"] if info["hot"] else 0, info["hot"], info["slow"], len(slots)))
        ctx = multiprocessing.get_context("fork")
        q = ctx.Queue()
        procs = []
        for wid, sl in enumerate(slots):
            p = ctx.Process(target=worker_main, args=(cfg, wid, sl, ho[wid], q), daemon=True)
            p.start()
            procs.append(p)
        results = []
        self.peak_txq = self.peak_sum_txq = self.peak_rxq = 0
        t_begin = time.monotonic()
        cpu0 = cpu_seconds(self.pid) if self.pid else None
        hard = cfg["t_deadline"] + 20
        last_log = 0
        while len(results) < len(procs) and time.monotonic() < hard:
            try:
                results.append(q.get(timeout=0.5))
            except Exception:
                pass
            st = self.sample()
            if self.pid and not self.server_alive():
                break
            if st and time.monotonic() - last_log > 5:
                last_log = time.monotonic()
                ps = proc_status(self.pid) if self.pid else {}
                self.log("  connections_active=%s rooms_active=%s queued_bytes=%s msgs/s=%s RSS=%s kB"
                         % (st.get("connections_active"), st.get("rooms_active"), st.get("queued_bytes"),
                            st.get("messages_per_second"), ps.get("VmRSS")))
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join()
        elapsed = time.monotonic() - t_begin
        cpu1 = cpu_seconds(self.pid) if self.pid else None
        info["server_cpu_s"] = round(cpu1 - cpu0, 1) if cpu0 is not None and cpu1 is not None else None
        info["wall_s"] = round(elapsed, 1)
        if len(results) < len(procs):
            self.fail("%s: %d of %d worker processes returned no result" % (name, len(procs) - len(results), len(procs)))
        if self.pid and not self.server_alive():
            self.fail("%s: the server died (exit status %s)" % (name, self.server_exit()))
        self.check(name, results, info)
        return results, elapsed

    def server_alive(self):
        if self.server is not None:
            return self.server.alive()
        return Path("/proc/%d" % self.pid).exists()

    def server_exit(self):
        return self.server.proc.returncode if self.server is not None else "?"

    # ------------------------------------------------------------------
    def check(self, name, results, info):
        """Cross-worker checks and figures."""
        seqmap = {}
        sent = set()
        aborted = set()
        counts = collections.Counter()
        outcomes = collections.Counter()
        lat = []
        slow = []
        ho = []
        nfail = 0
        max_lag = 0.0
        for r in results:
            if "crash" in r:
                self.fail("%s: worker %d crashed: %s" % (name, r["wid"], r["crash"]))
                continue
            nfail += r["nfail"]
            max_lag = max(max_lag, r.get("max_lag", 0))
            for f in r["failures"][:40]:
                self.fail("%s: %s" % (name, f))
            if r["nfail"] > len(r["failures"][:40]):
                self.fail("%s: worker %d: %d more client failures not shown"
                          % (name, r["wid"], r["nfail"] - len(r["failures"][:40])))
            sent |= r["sent"]
            aborted |= r["aborted"]
            counts.update(r["counts"])
            outcomes.update(r["outcomes"])
            lat += r["lat"]
            slow += r["slow"]
            ho += r["halfopen_close_s"]
            for key, m in r["seqmap"].items():
                g = seqmap.setdefault(key, {})
                for seq, v in m.items():
                    p = g.get(seq)
                    if p is None:
                        g[seq] = v
                    elif p != v:
                        self.fail("%s: room %s epoch %s seq %d delivered as %r and as %r"
                                  % (name, key[0], key[1], seq, p, v))
        # per (room, epoch): sender counters increase with seq; no
        # (sender, n) twice; every delivered message was sent, none aborted
        seen = {}
        bad = 0
        for (room, epoch), m in seqmap.items():
            last_n = {}
            for seq in sorted(m):
                s, n = m[seq]
                if (s, n) in seen and bad < 20:
                    bad += 1
                    self.fail("%s: (%s, %d) accepted twice: %s seq %d and %s" % (name, s, n, room, seq, seen[(s, n)]))
                seen[(s, n)] = (room, seq)
                if last_n.get(s, 0) >= n and bad < 20:
                    bad += 1
                    self.fail("%s: room %s: sender %s counter %d at seq %d after counter %d"
                              % (name, room, s, n, seq, last_n[s]))
                last_n[s] = n
                if (s, n) not in sent and bad < 20:
                    bad += 1
                    self.fail("%s: room %s seq %d: (%s, %d) delivered but never sent whole" % (name, room, seq, s, n))
                if (s, n) in aborted and bad < 20:
                    bad += 1
                    self.fail("%s: room %s seq %d: (%s, %d) delivered although it was cut mid-frame, "
                              "invalid UTF-8 or oversized" % (name, room, seq, s, n))
        accepted_seen = len(seen)
        lat.sort()

        def pct(p):
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
        slow_drops = sum(s["dropped"] for s in slow)
        slow_with_drops = sum(1 for s in slow if s["dropped"])
        fig = {
            "clients": info["healthy"] + info["slow"] + info["faulty"],
            "healthy": info["healthy"], "slow": info["slow"], "faulty_slots": info["faulty"],
            "upgrades": counts["upgrades"], "faulty_sessions": counts["faulty_sessions"],
            "half_open": counts["halfopen"],
            "broadcasts_sent": counts["broadcasts_sent"], "broadcasts_delivered_distinct": accepted_seen,
            "messages_received": counts["received"], "slow_dropped": slow_drops,
            "slow_with_drops": slow_with_drops,
            "slow_replies_dropped": counts["slow_missing_replies"] + counts["slow_keepalive_pongs_dropped"], "joins": counts["joins"], "leaves": counts["leaves"],
            "intervals_checked": counts["intervals"], "pauses": counts["pauses"],
            "echo_p50_ms": round(pct(0.5), 1), "echo_p99_ms": round(pct(0.99), 1),
            "echo_max_ms": round(lat[-1] * 1000, 1) if lat else None,
            "peak_server_socket_txq_B": self.peak_txq, "peak_server_txq_sum_B": self.peak_sum_txq,
            "peak_client_socket_rxq_B": self.peak_rxq,
            "client_failures": nfail, "worker_max_loop_lag_s": round(max_lag, 2),
            "healthy_drop_notices": counts["healthy_drop_notices"],
            "healthy_drop_notices_keeping_up": counts["healthy_drop_notices_keeping_up"], "wall_s": info.get("wall_s"), "server_cpu_s": info.get("server_cpu_s"),
            "connect_failures": counts["connect_failures"],
            "halfopen_closed_after_s": [round(min(ho), 1), round(max(ho), 1)] if ho else None,
        }
        self.log("%s figures: %s" % (name, json.dumps(fig)))
        self.log("%s fault sessions: %s" % (name, json.dumps({k[6:]: v for k, v in sorted(counts.items())
                                                              if k.startswith("fault_")})))
        self.log("%s fault outcomes: %s" % (name, json.dumps(dict(sorted(outcomes.items())))))
        if info["slow"] and not slow_drops:
            self.log("%s: NOTE: no slow reader lost a message (the drop accounting was not exercised)" % name)
        if self.args.require_drops and info["slow"] and not slow_drops and name == "main run":
            self.fail("%s: no slow reader lost a message; the drop check was not exercised" % name)
        self.fig[name] = fig

    # ------------------------------------------------------------------
    def run(self):
        a = self.args
        self.t_start = time.monotonic()
        self.server = None
        workdir = tempfile.mkdtemp(prefix="roomcast-soak-")
        if a.attach:
            self.port = a.attach
            self.status_port = a.status_port
            self.pid = a.server_pid or pid_listening_on(a.attach)
            if not self.pid:
                self.log("NOTE: server pid not found: RSS and fd checks skipped")
        else:
            opts = list(DEFAULT_OPTIONS) + list(a.option or [])
            self.server = Server(a.server_bin, opts, workdir)
            self.server.start()
            self.port, self.status_port, self.pid = self.server.port, self.server.status_port, self.server.pid
            self.log("server pid %d: %s (stderr: %s)" % (self.pid, " ".join(self.server.argv), self.server.stderr_path))
        self.workdir = workdir
        try:
            self._run()
        finally:
            if self.server is not None:
                if self.server.alive():
                    rc = self.server.stop(a.stop_timeout)
                    if rc != 0:
                        self.fail("server exit status %s after SIGTERM (expected 0)" % rc)
                else:
                    self.server.stop(1)
                text = self.server.stderr_text()
                for mk in SANITIZER_MARKERS:
                    if mk in text:
                        i = text.find(mk)
                        self.fail("server stderr holds a sanitizer report (%r):\n%s" % (mk, text[max(0, i - 500):i + 3000]))
                        break
        return self.report()

    def _run(self):
        a = self.args
        st = self.sample()
        if st is None:
            self.fail("/stats on 127.0.0.1:%d does not answer" % self.status_port)
            return
        if a.attach and (st.get("connections_active") or st.get("rooms_active")):
            self.log("NOTE: the attached server has %s connections and %s rooms already; the idle checks "
                     "will fail unless they go away" % (st.get("connections_active"), st.get("rooms_active")))
        asan = self.pid and uses_asan(self.pid)
        time.sleep(0.3)
        fds0 = fd_count(self.pid) if self.pid else None
        rss0 = proc_status(self.pid).get("VmRSS") if self.pid else None
        self.fig["server"] = {"pid": self.pid, "asan": bool(asan), "fds_start": fds0, "rss_start_kB": rss0}
        self.log("server fds at start: %s, VmRSS %s kB%s" % (fds0, rss0, " (ASan build)" if asan else ""))

        # warm-up: the same scenario, shorter; RSS is measured after it
        warm = a.warmup if a.warmup is not None else min(10.0, max(3.0, a.duration / 4))
        if warm > 0:
            self.run_phase("w", a.clients, warm)
            self.wait_idle("after warm-up", a.idle_timeout)
            self.wait_fds("after warm-up", fds0, a.idle_timeout)
        time.sleep(0.5)
        rss_warm = proc_status(self.pid).get("VmRSS") if self.pid else None
        self.log("after warm-up: VmRSS %s kB" % rss_warm)

        t_main = time.monotonic()
        st_before = self.sample() or {}
        _, elapsed = self.run_phase("m", a.clients, a.duration)
        st = self.wait_idle("after the run", a.idle_timeout) or {}
        fds1 = self.wait_fds("after the run", fds0, a.idle_timeout)
        time.sleep(0.5)
        ps = proc_status(self.pid) if self.pid else {}
        rss_after = ps.get("VmRSS")
        self.peak_rss = max(self.peak_rss, ps.get("VmHWM", 0))
        if self.pid and not self.server_alive():
            self.fail("server is not running after the run")
        else:
            try:
                code, body = http_get(self.status_port, "/health")
                if code != 200:
                    self.fail("/health answered %d after the run: %r" % (code, body[:200]))
            except Exception as e:
                self.fail("/health does not answer after the run: %r" % (e,))
        srv = {k: st.get(k, 0) - st_before.get(k, 0) for k in
               ("connections_total", "messages_received", "messages_sent", "messages_dropped")}
        srv["slow_consumer_closes"] = st.get("slow_consumer_closes")
        srv["connections_refused"] = st.get("connections_refused")
        self.fig["server"].update({
            "main_run_wall_s": round(elapsed, 1), "peak_connections_active": self.peak_conn,
            "peak_rss_kB": self.peak_rss, "rss_after_warmup_kB": rss_warm, "rss_after_run_kB": rss_after,
            "fds_after_run": fds1, "main_run_counters": srv,
        })
        if rss_warm and rss_after:
            margin = max(a.rss_margin_mb * 1024, rss_warm * a.rss_margin_pct / 100.0)
            grew = rss_after - rss_warm
            self.fig["server"]["rss_growth_kB"] = grew
            self.fig["server"]["rss_margin_kB"] = int(margin)
            if grew > margin:
                if asan and not a.asan_rss_check:
                    self.log("NOTE: RSS grew %d kB (margin %d kB) under ASan: not checked (ASan's quarantine "
                             "keeps freed memory)" % (grew, margin))
                else:
                    self.fail("server VmRSS %d kB after the run, %d kB after warm-up: grew %d kB, margin %d kB"
                              % (rss_after, rss_warm, grew, margin))
        self.log("main run: %.1f s wall, server %s" % (time.monotonic() - t_main, json.dumps(self.fig["server"])))

    def report(self):
        a = self.args
        m = self.fig.get("main run", {})
        s = self.fig.get("server", {})
        print("\n==== roomcast soak summary (%s) ====" % time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
        print("clients %s (healthy %s, slow %s, faulty slots %s; %s faulty sessions, %s half-open), %s upgrades"
              % (m.get("clients"), m.get("healthy"), m.get("slow"), m.get("faulty_slots"), m.get("faulty_sessions"),
                 m.get("half_open"), m.get("upgrades")))
        print("broadcasts sent %s, distinct delivered %s, messages received by clients %s, slow-reader drops %s "
              "(%s of %s slow readers)" % (m.get("broadcasts_sent"), m.get("broadcasts_delivered_distinct"),
                                           m.get("messages_received"), m.get("slow_dropped"),
                                           m.get("slow_with_drops"), m.get("slow")))
        c = s.get("main_run_counters", {})
        print("server counters over the main run: connections_total +%s, messages_received +%s, messages_sent +%s, "
              "messages_dropped +%s" % (c.get("connections_total"), c.get("messages_received"),
                                        c.get("messages_sent"), c.get("messages_dropped")))
        print("duration %s s (main run wall %s s, total %.1f s); echo latency p50 %s ms p99 %s ms max %s ms"
              % (a.duration, s.get("main_run_wall_s"), time.monotonic() - self.t_start, m.get("echo_p50_ms"),
                 m.get("echo_p99_ms"), m.get("echo_max_ms")))
        print("peak connections_active %s; server RSS: start %s kB, after warm-up %s kB, peak %s kB, after run %s kB "
              "(growth %s kB, margin %s kB); fds start %s, after %s"
              % (s.get("peak_connections_active"), s.get("rss_start_kB"), s.get("rss_after_warmup_kB"),
                 s.get("peak_rss_kB"), s.get("rss_after_run_kB"), s.get("rss_growth_kB"), s.get("rss_margin_kB"),
                 s.get("fds_start"), s.get("fds_after_run")))
        if a.json_out:
            Path(a.json_out).write_text(json.dumps({"args": vars(a), "figures": self.fig,
                                                    "failures": self.failures}, indent=2, default=str) + "\n")
        if self.failures:
            if self.server is not None:
                print("server stderr kept in %s" % self.workdir)
            print("RESULT: FAIL (%d failures; first: %s)" % (len(self.failures), self.failures[0][:300]))
            return 1
        import shutil
        shutil.rmtree(self.workdir, ignore_errors=True)
        print("RESULT: PASS")
        return 0


# Options of the server this test starts (see RELIABILITY.md): a small send
# ring so that slow readers' pauses of a few seconds overflow it at the
# soak's modest rates; everything else at its default.
DEFAULT_OPTIONS = ["send-ring-size=32"]


def main(argv=None):
    here = Path(__file__).resolve()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, default=1000, help="concurrent client slots (default 1000)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of the main run after ramp-up (default 20)")
    p.add_argument("--server-bin", default=str(here.parents[2] / "build" / "roomcast-server"),
                   help="roomcast-server to start (default: build/roomcast-server)")
    p.add_argument("--option", action="append", metavar="NAME=VALUE",
                   help="extra --option for the started server (default options: %s)" % " ".join(DEFAULT_OPTIONS))
    p.add_argument("--attach", type=int, metavar="PORT",
                   help="use an already-running server on 127.0.0.1:PORT instead of starting one")
    p.add_argument("--status-port", type=int, default=8081, help="with --attach: its status port (default 8081)")
    p.add_argument("--server-pid", type=int, help="with --attach: its pid (default: found from PORT's listener)")
    p.add_argument("--workers", type=int, default=3, help="client processes (default 3)")
    p.add_argument("--rooms", type=int, default=50)
    p.add_argument("--max-rooms", type=int, default=3, help="rooms per client at most (default 3)")
    p.add_argument("--rate", type=float, default=0,
                   help="broadcasts/s over all clients (default: --deliveries / members per room, in 20..400)")
    p.add_argument("--deliveries", type=float, default=8000,
                   help="target deliveries/s for the default rate (scaled by 1500/clients above 1500 clients)")
    p.add_argument("--slow-frac", type=float, default=0.05)
    p.add_argument("--faulty-frac", type=float, default=0.10)
    p.add_argument("--half-open", type=int, default=None, help="half-open handshakes (default clients/50, >= 6)")
    p.add_argument("--churn-s", type=float, default=8.0, help="healthy clients join/leave every 1..this s")
    p.add_argument("--pause-min", type=float, default=2.0, help="slow readers pause reading this long at least")
    p.add_argument("--pause-max", type=float, default=8.0)
    p.add_argument("--slow-rcvbuf", type=int, default=4096, help="SO_RCVBUF of slow readers")
    p.add_argument("--slow-mss", type=int, default=536, help="TCP_MAXSEG of slow readers (0: system's)")
    p.add_argument("--hot-rate", type=float, default=0,
                   help="broadcasts/s in the hot room, where all slow readers are (default: "
                        "--hot-deliveries / its members, at most 40)")
    p.add_argument("--hot-deliveries", type=float, default=4000,
                   help="target deliveries/s in the hot room (scaled like --deliveries)")
    p.add_argument("--hot-members", type=int, default=40, help="healthy members of the hot room (at most)")
    p.add_argument("--hot-pad-max", type=int, default=3000, help="longest padding in the hot room")
    p.add_argument("--keepalive-s", type=float, default=5.0,
                   help="slow readers send a ping this often (keeps the server's heartbeat quiet)")
    p.add_argument("--pad-max", type=int, default=400, help="longest content padding, characters")
    p.add_argument("--max-message-size", type=int, default=65536, help="the server's max-message-size")
    p.add_argument("--drain-s", type=float, default=1.5, help="seconds between the end of sending and the checks")
    p.add_argument("--warmup", type=float, default=None, help="warm-up seconds (default duration/4 in 3..10)")
    p.add_argument("--idle-timeout", type=float, default=20.0, help="bound on waiting for /stats and fds to settle")
    p.add_argument("--rss-margin-mb", type=float, default=16.0)
    p.add_argument("--rss-margin-pct", type=float, default=25.0,
                   help="RSS margin: the larger of --rss-margin-mb and this %% of RSS after warm-up")
    p.add_argument("--asan-rss-check", action="store_true", help="check RSS growth under ASan too")
    p.add_argument("--require-drops", action="store_true", help="fail when no slow reader lost a message")
    p.add_argument("--stop-timeout", type=float, default=15.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json-out", help="write the figures and failures as JSON here")
    a = p.parse_args(argv)
    if a.half_open is None:
        a.half_open = max(6, a.clients // 50)
    if not a.attach and not os.access(a.server_bin, os.X_OK):
        p.error("--server-bin %s is not an executable" % a.server_bin)
    if a.clients < 1 or a.duration <= 0:
        p.error("--clients and --duration must be positive")
    return Soak(a).run()


if __name__ == "__main__":
    sys.exit(main())
