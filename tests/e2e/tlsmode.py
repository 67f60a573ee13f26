"""TLS mode of the end-to-end suite (ROOMCAST_TLS=1).

When it is on, conftest.py makes a fresh self-signed certificate and key
for 127.0.0.1 / localhost with the `openssl` command once per session
(make_cert), serverctl.py starts every server with a config copy whose
roomcast vhost carries host-ssl-cert / host-ssl-key, and registers that
vhost's port here (add_tls_port). Every client connection of the suite is
opened by open_socket() / client_context() below, which speak TLS to the
registered ports, verifying the server against the generated certificate
as the only CA (check_hostname on, CERT_REQUIRED), and plain TCP to every
other port (the status vhost stays plain HTTP, see README.md).
"""

import os
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

ENABLED = os.environ.get("ROOMCAST_TLS", "").strip().lower() in ("1", "yes", "on", "true")

# Set by conftest.py's session fixture (use()) when ENABLED.
CERT = None   # PEM certificate (also the only CA the clients trust)
KEY = None    # PEM private key
_tls_ports = set()
_ctx = None

CN = "localhost"
SUBJECT_ALT_NAME = "IP:127.0.0.1,DNS:localhost"


def check():
    """None when TLS mode can run (or is off), else why not."""
    if ENABLED and not shutil.which("openssl"):
        return "ROOMCAST_TLS is set but the openssl command is not installed"
    return None


def make_cert(dest, cn=CN, san=SUBJECT_ALT_NAME, days=2):
    """A new self-signed RSA 2048 certificate + key in dest (openssl
    req -x509); returns (cert path, key path)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    cert, key = dest / "cert.pem", dest / "key.pem"
    p = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
         "-days", str(days), "-subj", "/CN=%s" % cn,
         "-addext", "subjectAltName=%s" % san,
         "-keyout", str(key), "-out", str(cert)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    if p.returncode != 0 or not cert.exists() or not key.exists():
        raise RuntimeError("openssl req failed (%s): %s" % (p.returncode, p.stderr[-2000:]))
    return cert, key


def use(cert, key):
    """Make (cert, key) the session's TLS material."""
    global CERT, KEY, _ctx
    CERT, KEY = Path(cert), Path(key)
    _ctx = None


def material():
    """(cert, key) of the session; raises when TLS mode has none yet."""
    if CERT is None or KEY is None:
        raise RuntimeError("TLS mode: no certificate yet (conftest.py's tls_material fixture makes it)")
    return CERT, KEY


def add_tls_port(port):
    _tls_ports.add(port)


def is_tls_port(port):
    return port in _tls_ports


def forget_port(port):
    """A port handed out anew (serverctl.free_port) is no server's TLS
    port until add_tls_port says so: the kernel reuses numbers, and a
    plain status port that once was a wss:// port must get plain HTTP."""
    _tls_ports.discard(port)


def client_context(cafile=None):
    """An SSLContext that trusts only the generated certificate (or
    cafile), with hostname checking: real verification, not CERT_NONE."""
    global _ctx
    if cafile is None and _ctx is not None:
        return _ctx
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
    ctx.load_verify_locations(cafile=str(cafile or material()[0]))
    # a server that closes without close_notify reads as EOF, like TCP
    ctx.options |= getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
    if cafile is None:
        _ctx = ctx
    return ctx


def wrap(sock, host, timeout=None, context=None, server_hostname=None):
    """Run the TLS handshake on a connected socket; returns the SSLSocket."""
    if timeout is not None:
        sock.settimeout(timeout)
    ctx = context or client_context()
    return ctx.wrap_socket(sock, server_hostname=server_hostname or host)


def open_socket(port, host="127.0.0.1", timeout=5.0, rcvbuf=None, tls=None, nodelay=False,
                context=None):
    """A connected client socket to host:port, the only way the suite opens
    one. tls=None: TLS when `port` is the TLS port of a server under test
    (TLS mode), plain TCP otherwise; True/False force it. context: the
    SSLContext to use instead of the session's (client_context(cafile))."""
    if tls is None:
        tls = is_tls_port(port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(timeout)
        sock.connect((host, port))
        if nodelay:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            sock = wrap(sock, host, context=context)
    except BaseException:
        sock.close()
        raise
    return sock
