"""docs/DEPLOY.md's configurations, run for real: the production conf.d
(page on the public port, counters only on loopback), roomcast's own TLS
vhost, and nginx in front of roomcast-server with docs/deploy/nginx-roomcast.conf.

Each test copies the files from docs/deploy/ and changes only what a test
machine needs: ports (free loopback ports, through --port/--status-port and
nginx's listen lines), the page directory (this repository's www/), and the
certificate paths (a certificate made with openssl at test time). nginx runs
in the foreground (daemon off, master_process off) with its own prefix,
temp dirs, pid and logs: never the system service.

    ROOMCAST_SERVER_BIN=build/roomcast-server /usr/bin/python3 -m pytest -q tests/deploy
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

import serverctl  # noqa: E402
import tlsmode  # noqa: E402
from wsclient import HandshakeRefused, WsClient, http_get  # noqa: E402

DEPLOY = REPO / "docs" / "deploy"
ORIGIN = "https://chat.example.com"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
WWW_INSTALLED = "file:///usr/local/share/roomcast/www"


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    c, k = tlsmode.make_cert(tmp_path_factory.mktemp("tls"))
    tlsmode.use(c, k)
    return c, k


def copy_config(dest, vhost_files, replace):
    """dest/conf and dest/conf.d/<name> from docs/deploy, with `replace`
    (old -> new) applied to each file's text; returns dest."""
    (dest / "conf.d").mkdir(parents=True)
    shutil.copy(DEPLOY / "conf", dest / "conf")
    for src in vhost_files:
        text = src.read_text()
        for old, new in replace.items():
            text = text.replace(old, new)
        (dest / "conf.d" / src.name).write_text(text)
    return dest


@pytest.fixture
def servers(tmp_path):
    started = []

    def start(cfg):
        (tmp_path / ("srv%d" % len(started))).mkdir()
        s = serverctl.Server(kind="server", tls=False, workdir=tmp_path / ("srv%d" % len(started)),
                             extra_args=["--config", str(cfg)])
        started.append(s)
        return s.start()

    yield start
    problems = []
    for s in started:
        s.stop()
        problems += s.problems()
    assert not problems, problems


def join_and_talk(port, tls, path="/"):
    """Two clients join one room through `port`; a broadcast reaches both."""
    a = WsClient.connect(port, path=path, origin=ORIGIN, tls=tls)
    b = WsClient.connect(port, path=path, origin=ORIGIN, tls=tls)
    try:
        assert a.subprotocol == "roomcast.v1"
        ja = a.join("deploy", "alice")
        jb = b.join("deploy", "bob")
        assert jb["members"] == 2 and jb["epoch"] == ja["epoch"]
        a.broadcast("deploy", {"hello": "through"})
        for c in (a, b):
            m = c.expect("broadcast")
            # the room may be kept from an earlier pass (history-ttl-s): the
            # next seq after the one `joined` gave
            assert m["sender"] == "alice" and m["content"] == {"hello": "through"} and m["seq"] == ja["seq"] + 1
    finally:
        a.close()
        b.close()


def test_production_conf_d_keeps_counters_off_the_public_port(servers, tmp_path):
    cfg = copy_config(tmp_path / "cfg", [DEPLOY / "conf.d" / "roomcast", DEPLOY / "conf.d" / "status"],
                      {WWW_INSTALLED: "file://%s" % (REPO / "www")})
    s = servers(cfg)
    status, _, body = http_get(s.port, "/", tls=False)
    assert status == 200 and b"roomcast" in body
    for p in ("/stats", "/metrics", "/health"):
        status, _, body = http_get(s.port, p, tls=False)
        assert status == 404, (p, status, body[:200])
    status, _, body = http_get(s.status_port, "/stats", tls=False)
    assert status == 200 and json.loads(body)["protocol"] == "roomcast.v1.1"
    join_and_talk(s.port, tls=False)
    # allowed-origins: another site's page is refused at the handshake
    with pytest.raises(HandshakeRefused) as e:
        WsClient.connect(s.port, origin="https://evil.example.net", tls=False)
    assert e.value.status == 403


def test_tls_vhost_example(servers, tmp_path, cert):
    c, k = cert
    cfg = copy_config(tmp_path / "cfg", [DEPLOY / "tls" / "conf.d" / "roomcast", DEPLOY / "conf.d" / "status"], {
        WWW_INSTALLED: "file://%s" % (REPO / "www"),
        "/run/credentials/roomcast.service/fullchain.pem": str(c),
        "/run/credentials/roomcast.service/privkey.pem": str(k),
    })
    s = servers(cfg)
    status, _, body = http_get(s.port, "/", tls=True)   # verified against the test's CA
    assert status == 200 and b"roomcast" in body
    status, _, _ = http_get(s.port, "/stats", tls=True)
    assert status == 404
    join_and_talk(s.port, tls=True)
    # plain ws:// to the TLS port gets no WebSocket
    with pytest.raises((HandshakeRefused, OSError, Exception)):
        WsClient.connect(s.port, origin=ORIGIN, tls=False, timeout=2.0)


def nginx_config(prefix, http_port, https_port, upstream_port, cert):
    """nginx.conf for a foreground nginx under `prefix` that includes the
    docs' server config with this run's ports and certificate."""
    c, k = cert
    site = (DEPLOY / "nginx-roomcast.conf").read_text()
    for old, new in {
        "listen 80;": "listen 127.0.0.1:%d;" % http_port,
        "listen 443 ssl;": "listen 127.0.0.1:%d ssl;" % https_port,
        "server 127.0.0.1:8080;": "server 127.0.0.1:%d;" % upstream_port,
        "/etc/letsencrypt/live/chat.example.com/fullchain.pem": str(c),
        "/etc/letsencrypt/live/chat.example.com/privkey.pem": str(k),
    }.items():
        assert old in site, "docs/deploy/nginx-roomcast.conf no longer has %r" % old
        site = site.replace(old, new)
    (prefix / "roomcast.conf").write_text(site)
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / d).mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text("""
daemon off;
master_process off;
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {p}/access.log;
    client_body_temp_path {p}/tmp/client_body;
    proxy_temp_path {p}/tmp/proxy;
    fastcgi_temp_path {p}/tmp/fastcgi;
    uwsgi_temp_path {p}/tmp/uwsgi;
    scgi_temp_path {p}/tmp/scgi;
    include {p}/roomcast.conf;
}}
""".format(p=prefix))
    return conf


@pytest.fixture
def nginx(tmp_path):
    procs = []

    def start(conf):
        assert os.access(NGINX, os.X_OK), "nginx missing: apt-get install nginx-light (scripts/deps.sh)"
        prefix = conf.parent
        t = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                           capture_output=True, text=True, timeout=20)
        assert t.returncode == 0, "nginx -t: " + t.stderr
        p = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGQUIT)
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def test_nginx_in_front(servers, nginx, tmp_path, cert):
    cfg = copy_config(tmp_path / "cfg", [DEPLOY / "conf.d" / "roomcast", DEPLOY / "conf.d" / "status"],
                      {WWW_INSTALLED: "file://%s" % (REPO / "www")})
    s = servers(cfg)
    http_port, https_port = serverctl.free_port(), serverctl.free_port()
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    proc = nginx(nginx_config(prefix, http_port, https_port, s.port, cert))
    deadline = time.monotonic() + 10
    while not serverctl.port_open(https_port):
        assert proc.poll() is None, "nginx exited: %s" % proc.stderr.read().decode()
        assert time.monotonic() < deadline, "nginx did not listen within 10 s"
        time.sleep(0.05)

    # the page and the WebSocket go through, over TLS
    status, headers, body = http_get(https_port, "/", tls=True)
    assert status == 200 and b"roomcast" in body
    join_and_talk(https_port, tls=True)
    join_and_talk(https_port, tls=True, path="/ws")
    # nothing of the counters, health or API on the public port
    for p in ("/stats", "/metrics", "/health", "/api/publish"):
        status, _, body = http_get(https_port, p, tls=True)
        assert status == 404 and b"connections_active" not in body and b"roomcast_" not in body, (p, status)
    # the status vhost answers on loopback, and it saw the proxied connections
    status, _, body = http_get(s.status_port, "/stats", tls=False)
    assert status == 200 and json.loads(body)["connections_total"] >= 4
    # plain http is sent to https
    status, headers, _ = http_get(http_port, "/", tls=False)
    assert status == 301 and headers["location"].startswith("https://")
    # the Origin header reaches roomcast: another site is refused
    with pytest.raises(HandshakeRefused) as e:
        WsClient.connect(https_port, origin="https://evil.example.net", tls=True)
    assert e.value.status == 403


def fenced_blocks(md):
    return [m.group(1) for m in re.finditer(r"```[a-z]*\n(.*?)```", md, re.S)]


def test_deploy_md_shows_exactly_the_tested_files():
    md = (REPO / "docs" / "DEPLOY.md").read_text()
    blocks = fenced_blocks(md)
    for f in ("nginx-roomcast.conf", "conf.d/roomcast", "conf.d/status", "tls/conf.d/roomcast"):
        text = (DEPLOY / f).read_text()
        assert text in blocks, "docs/DEPLOY.md does not show docs/deploy/%s as it is" % f
