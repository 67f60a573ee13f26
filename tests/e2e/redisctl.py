"""Start, stop, pause and restart a real redis-server for the cluster tests.

Never the system's Redis service: each RedisServer runs Debian's
redis-server binary on a free loopback port, without persistence
(--save '' --appendonly no), in its own temporary directory, in the
foreground (so SIGSTOP/SIGCONT/SIGKILL reach it), and is stopped by the
test that started it.
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from serverctl import free_port

REDIS_BIN = os.environ.get("REDIS_SERVER_BIN") or shutil.which("redis-server") or "/usr/bin/redis-server"


def check():
    """None when redis-server can be run, else why not."""
    if not os.access(REDIS_BIN, os.X_OK):
        return "redis-server not found (apt-get install redis-server, or REDIS_SERVER_BIN)"
    return None


class RedisServer:
    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="roomcast-redis-"))
        self.proc = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d" % self.port

    def start(self, timeout=10.0):
        self.log = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen(
            [REDIS_BIN, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.dir)],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited: %s" % (self.dir / "redis.log").read_text()[-2000:])
            if self.command("PING") == "+PONG":
                return self
            time.sleep(0.02)
        raise RuntimeError("redis-server not ready on port %d" % self.port)

    def command(self, *args, timeout=1.0):
        """One command over a raw socket; the first line of the reply, or None."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
                out = b"*%d\r\n" % len(args)
                for a in args:
                    a = a.encode() if isinstance(a, str) else a
                    out += b"$%d\r\n%s\r\n" % (len(a), a)
                s.sendall(out)
                data = b""
                while not data.endswith(b"\r\n"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                return data.split(b"\r\n")[0].decode()
        except OSError:
            return None

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()

    def restart(self):
        """Stop, then start again on the same port: without persistence
        every key is gone (the rooms' state is lost)."""
        self.stop()
        self.start()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
