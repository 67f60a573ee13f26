"""Start and stop the server under test.

Two kinds (ROOMCAST_SERVER_KIND):
  server  ROOMCAST_SERVER_BIN --port P --status-port S --option k=v ...
          (TLS mode: also --config TMPDIR, a copy of the repo's conf and
          conf.d/* whose roomcast vhost has host-ssl-cert/host-ssl-key)
  lwsws   LWSWS_BIN -c TMPDIR, where TMPDIR holds a copy of the repo's conf
          and conf.d/* patched for this run (ports, options, plugin-dir,
          absolute file:// origins, TLS mode: host-ssl-cert/key), loading
          libprotocol_roomcast.so from LWSWS_PLUGIN_DIR.

TLS mode (ROOMCAST_TLS=1, tlsmode.py): the WebSocket vhost serves wss://
with the session's generated certificate; the status vhost stays plain.

Every process gets its own process group and its stderr/stdout in files, so
teardown can look for sanitizer reports.
"""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import tlsmode

REPO_ROOT = Path(os.environ.get("ROOMCAST_REPO_ROOT") or Path(__file__).resolve().parents[2])
KIND = os.environ.get("ROOMCAST_SERVER_KIND", "server")
SERVER_BIN = os.environ.get("ROOMCAST_SERVER_BIN")
LWSWS_BIN = os.environ.get("LWSWS_BIN")
LWSWS_PLUGIN_DIR = os.environ.get("LWSWS_PLUGIN_DIR")
READY_TIMEOUT = 10.0
BIND_ATTEMPTS = 3
BIND_ERROR = "ERROR on binding"  # lws's log line when a listen port is taken
STOP_TIMEOUT = 5.0

SANITIZER_MARKERS = ("AddressSanitizer", "runtime error:", "LeakSanitizer")
CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGFPE,
                 signal.SIGILL, signal.SIGTRAP, signal.SIGSYS}


class ServerError(Exception):
    pass


def free_port(avoid=0):
    """A TCP port free on loopback right now (bind 0, read, close), other
    than `avoid` (the kernel may hand the same free port out twice in a
    row, and a server given one port for both vhosts misbehaves)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != avoid:
            tlsmode.forget_port(port)
            return port


def port_open(port, host="127.0.0.1", tls=False, errors=None):
    """A connect (and, with tls, a verified TLS handshake) succeeds. The
    last error goes to errors[0] when a list is given."""
    try:
        with tlsmode.open_socket(port, host, timeout=0.5 if tls else 0.2, tls=tls):
            return True
    except OSError as e:
        if errors is not None:
            errors[:] = [e]
        return False


def check_config():
    """None when the environment names a usable server, else why not."""
    if KIND == "server":
        if not SERVER_BIN:
            return "ROOMCAST_SERVER_BIN is not set"
        if not os.access(SERVER_BIN, os.X_OK):
            return "ROOMCAST_SERVER_BIN=%s is not an executable" % SERVER_BIN
        return None
    if KIND == "lwsws":
        if not LWSWS_BIN or not os.access(LWSWS_BIN, os.X_OK):
            return "LWSWS_BIN=%r is not an executable" % LWSWS_BIN
        if not LWSWS_PLUGIN_DIR or not (Path(LWSWS_PLUGIN_DIR) / "libprotocol_roomcast.so").exists():
            return "LWSWS_PLUGIN_DIR=%r holds no libprotocol_roomcast.so" % LWSWS_PLUGIN_DIR
        return None
    return "ROOMCAST_SERVER_KIND=%r: must be server or lwsws" % KIND


# ---- lwsws configuration ------------------------------------------------

def read_lwsws_json(path):
    """lwsws files are JSON with whole-line '#' comments."""
    text = Path(path).read_text()
    lines = [l for l in text.splitlines() if not l.lstrip().startswith("#")]
    return json.loads("\n".join(lines))


# The pvo key of the roomcast protocol in ws-protocols. PROTOCOL.md says
# "roomcast.v1"; the repo's conf.d uses "roomcast" because lws 4.1.6's
# config reader cannot take a key with a dot in it (docs/CONFIG.md); it
# also lists "roomcast.v1": {} so lwsws enables the subprotocol. Options go
# to the first key found, "roomcast" before "roomcast.v1".
PVO_KEYS = ("roomcast", "roomcast.v1")


def _pvo_key(entry):
    if isinstance(entry, dict):
        for k in PVO_KEYS:
            if k in entry:
                return k
    return None


def _is_roomcast_vhost(vh):
    return any(_pvo_key(p) for p in vh.get("ws-protocols", []) or [])


def make_lwsws_config(dest, port, status_port, options, plugin_dir, repo_root=REPO_ROOT,
                      tls=None):
    """Write dest/conf and dest/conf.d/* from the repo's files, patched.
    plugin_dir None leaves global.plugin-dir alone (roomcast-server has
    the plugin built in); tls=(cert, key) gives the roomcast vhost
    host-ssl-cert/host-ssl-key (the status vhost stays plain HTTP)."""
    dest = Path(dest)
    (dest / "conf.d").mkdir(parents=True, exist_ok=True)
    conf = read_lwsws_json(repo_root / "conf")
    glob = conf.setdefault("global", {})
    if plugin_dir is not None:
        glob["plugin-dir"] = str(plugin_dir)
    # a test run never changes user
    glob.pop("uid", None)
    glob.pop("gid", None)
    (dest / "conf").write_text(json.dumps(conf, indent=2) + "\n")
    seen_ws = seen_status = False
    for f in sorted((repo_root / "conf.d").iterdir()):
        if not f.is_file() or f.name.startswith("."):
            continue
        doc = read_lwsws_json(f)
        if not status_port:  # status vhost off: leave it out
            doc["vhosts"] = [vh for vh in doc.get("vhosts", []) if _is_roomcast_vhost(vh)]
            if not doc["vhosts"]:
                continue
        for vh in doc.get("vhosts", []):
            if _is_roomcast_vhost(vh):
                seen_ws = True
                vh["port"] = str(port)
                for p in vh["ws-protocols"]:
                    key = _pvo_key(p)
                    if key:
                        pvo = p[key]
                        if not isinstance(pvo, dict):
                            pvo = p[key] = {}
                        for k, v in (options or {}).items():
                            pvo[k] = str(v)
                if tls:
                    vh["host-ssl-cert"] = str(tls[0])
                    vh["host-ssl-key"] = str(tls[1])
            else:
                seen_status = True
                vh["port"] = str(status_port)
            for m in vh.get("mounts", []) or []:
                origin = m.get("origin", "")
                if origin.startswith("file://") and not origin[len("file://"):].startswith("/"):
                    m["origin"] = "file://" + str((repo_root / origin[len("file://"):]).resolve())
        (dest / "conf.d" / f.name).write_text(json.dumps(doc, indent=2) + "\n")
    if not seen_ws:
        raise ServerError("no vhost in %s/conf.d lists ws-protocols %s" % (repo_root, " or ".join(PVO_KEYS)))
    return seen_status


# ---- the process --------------------------------------------------------

class Server:
    """One server process. start() waits for readiness (TCP connect to both
    ports, TLS mode: a verified TLS handshake on the WebSocket port; 10 s
    bound); stop() sends SIGTERM, then SIGKILL after 5 s."""

    def __init__(self, options=None, status_port=True, extra_args=(), kind=None, workdir=None,
                 tls=None):
        self.kind = kind or KIND
        # wss:// on the WebSocket vhost (default: TLS mode of the session)
        self.tls = tlsmode.ENABLED if tls is None else bool(tls)
        self.options = dict(options or {})
        self.port = free_port()
        self.status_port = free_port(self.port) if status_port else 0
        self.extra_args = list(extra_args)
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="roomcast-e2e-"))
        self.stderr_path = self.workdir / "stderr.log"
        self.stdout_path = self.workdir / "stdout.log"
        self.proc = None
        self.returncode = None
        self.killed_hard = False
        self.stop_signal = None
        self.expect_exit = False  # set when the test stops it on purpose

    # argv ----------------------------------------------------------------
    def argv(self):
        if self.kind == "server":
            a = [SERVER_BIN, "--port", str(self.port), "--status-port", str(self.status_port)]
            if self.tls:
                # the repo's conf + conf.d with the certificate on the
                # roomcast vhost; ports and options still come from the
                # command line (server/conf.c applies them to its own copy)
                cfg = self.workdir / "config"
                make_lwsws_config(cfg, self.port, self.status_port, {}, None,
                                  tls=tlsmode.material())
                a += ["--config", str(cfg)]
            for k, v in self.options.items():
                a += ["--option", "%s=%s" % (k, v)]
            return a + self.extra_args
        cfg = self.workdir / "lwsws-config"
        # lwsws dlopen()s every file of plugin-dir: give it a directory that
        # holds only the plugin (a symlink, so /proc/PID/maps names the real
        # file in LWSWS_PLUGIN_DIR)
        plugins = self.workdir / "plugins"
        plugins.mkdir(exist_ok=True)
        link = plugins / "libprotocol_roomcast.so"
        if not link.exists():
            link.symlink_to(Path(LWSWS_PLUGIN_DIR).resolve() / "libprotocol_roomcast.so")
        make_lwsws_config(cfg, self.port, self.status_port, self.options, plugins,
                          tls=tlsmode.material() if self.tls else None)
        # -n: no default plugin dir, only ours
        return [LWSWS_BIN, "-n", "-c", str(cfg)] + self.extra_args

    def start(self):
        """Start and wait for readiness. free_port() is racy (the port is
        free when probed, not when the server binds it; other programs on
        the machine take ephemeral ports too): a start that failed to bind
        is retried on new ports, twice at most."""
        for attempt in range(BIND_ATTEMPTS):
            try:
                return self._start_once()
            except ServerError:
                if attempt + 1 == BIND_ATTEMPTS or BIND_ERROR not in self.stderr_text():
                    raise
                self.kill()
                self.killed_hard = False
                self.port = free_port()
                if self.status_port:
                    self.status_port = free_port(self.port)

    def _start_once(self):
        env = dict(os.environ)
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        argv = self.argv()
        self.argv_used = argv
        self._err = open(self.stderr_path, "wb")
        self._out = open(self.stdout_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out,
                                     stderr=self._err, env=env, cwd=str(self.workdir),
                                     start_new_session=True)
        self.started_at = time.monotonic()
        if self.tls:
            tlsmode.add_tls_port(self.port)
        deadline = time.monotonic() + READY_TIMEOUT
        # (port, tls): in TLS mode the WebSocket port is ready when a
        # verified TLS handshake succeeds
        ports = [(self.port, self.tls)] + ([(self.status_port, False)] if self.status_port else [])
        errors = []
        while True:
            if self.proc.poll() is not None:
                raise ServerError("server exited with %s before it was ready: %s\n%s"
                                  % (self.proc.returncode, argv, self.stderr_tail()))
            if all(port_open(p, tls=t, errors=errors) for p, t in ports):
                return self
            if time.monotonic() > deadline:
                self.kill()
                raise ServerError("server not ready within %.0f s (last error: %r): %s\n%s"
                                  % (READY_TIMEOUT, errors[0] if errors else None, argv,
                                     self.stderr_tail()))
            time.sleep(0.02)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.expect_exit = True
        self.stop_signal = sig
        self.proc.send_signal(sig)

    def wait(self, timeout):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def worker_alive(self):
        """lwsws 4.1.6 always forks: a root process that only supervises and
        a worker that serves. True when the server (its worker) runs."""
        if not self.alive():
            return False
        return self.kind != "lwsws" or len(self.descendants()) > 1

    def stop(self, sig=None, timeout=STOP_TIMEOUT):
        """Stop and reap; returns the exit status (negative = signal).
        Default signal: SIGTERM for roomcast-server; for lwsws SIGINT to the
        whole group (graceful for patched and unpatched lwsws alike: an
        unpatched lwsws 4.1.6 handles only SIGINT/SIGHUP, docs/LWSWS.md)."""
        if self.proc is None:
            return None
        self.expect_exit = True
        if sig is None:
            sig = signal.SIGINT if self.kind == "lwsws" else signal.SIGTERM
        if self.proc.poll() is None:
            self.stop_signal = sig
            try:
                if self.kind == "lwsws":
                    os.killpg(self.proc.pid, sig)
                else:
                    self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            if self.wait(timeout) is None:
                self.kill()
        self.returncode = self.proc.wait()
        self._close_logs()
        return self.returncode

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.killed_hard = True
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self._close_logs()

    def _close_logs(self):
        for f in (getattr(self, "_err", None), getattr(self, "_out", None)):
            if f and not f.closed:
                f.close()
        # lwsws may have left children in the group
        if self.proc is not None and self.kind == "lwsws":
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def stderr_text(self):
        try:
            out = self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            out = ""
        try:
            out += self.stdout_path.read_text(errors="replace")
        except FileNotFoundError:
            pass
        return out

    def stderr_tail(self, n=40):
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def problems(self, died_early=False):
        """What teardown must report: crash signals, sanitizer output."""
        out = []
        rc = self.returncode
        if died_early:
            out.append("server died during the test (exit status %s)" % rc)
        if rc is not None and rc < 0 and -rc in {int(s) for s in CRASH_SIGNALS}:
            out.append("server killed by signal %s" % signal.Signals(-rc).name)
        text = self.stderr_text()
        for m in SANITIZER_MARKERS:
            if m in text:
                out.append("server printed %r to stderr" % m)
        if out:
            out.append("argv: %s\n--- stderr tail (%s) ---\n%s"
                       % (self.argv_used, self.stderr_path, self.sanitizer_excerpt(text)))
        return out

    @staticmethod
    def sanitizer_excerpt(text, n=60):
        lines = text.splitlines()
        for i, l in enumerate(lines):
            if any(m in l for m in SANITIZER_MARKERS):
                return "\n".join(lines[max(0, i - 5):i + n])
        return "\n".join(lines[-n:])

    def fd_count(self):
        """Open file descriptors of the server's processes (lwsws: the
        root and its worker), from /proc/PID/fd."""
        n = 0
        for pid in self.descendants():
            try:
                n += len(os.listdir("/proc/%d/fd" % pid))
            except OSError:
                pass
        return n

    def descendants(self):
        """pids of this process and all its descendants (lwsws forks)."""
        kids = {}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d.name))
        out, todo = [], [self.pid]
        while todo:
            p = todo.pop()
            out.append(p)
            todo += kids.get(p, [])
        return out

    def serving_pid(self):
        """The process that serves: roomcast-server itself, lwsws's child."""
        if self.kind != "lwsws":
            return self.pid
        kids = [p for p in self.descendants() if p != self.pid]
        assert kids, "no lwsws child"
        return kids[0]


def rss_kb(pid):
    """VmRSS of process @pid, in KiB."""
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def listening_addresses(port):
    """Local addresses (hex as in /proc/net/tcp*) listening on `port`."""
    out = []
    for fn in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(fn).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            local, state = f[1], f[3]
            addr, p = local.split(":")
            if state == "0A" and int(p, 16) == port:
                out.append(addr)
    return out


def hex_to_ip(h):
    if len(h) == 8:
        return socket.inet_ntop(socket.AF_INET, bytes.fromhex(h)[::-1])
    b = bytes.fromhex(h)
    b = b"".join(b[i:i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, b)


_PROM_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+-?\d+)?$")


def parse_prometheus(text):
    """{name: value} for sample lines; raises on a malformed line."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            parts = line.split()
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3]
            elif len(parts) >= 2 and parts[1] not in ("TYPE", "HELP"):
                pass  # plain comment
            continue
        m = _PROM_LINE.match(line)
        if not m:
            raise AssertionError("malformed Prometheus line: %r" % line)
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples, types
