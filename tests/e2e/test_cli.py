"""roomcast-server's command line (README.md, roomcast-server):
bad options are refused with one stderr line naming them; --help and
--version exit 0."""

import subprocess

import pytest

import serverctl
from serverctl import SERVER_BIN, free_port

pytestmark = pytest.mark.server_only


def run(args, timeout=10):
    p = subprocess.run([SERVER_BIN] + args, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    for m in serverctl.SANITIZER_MARKERS:
        assert m not in p.stderr, "sanitizer report:\n%s" % p.stderr
    return p


def ports():
    return ["--port", str(free_port()), "--status-port", str(free_port())]


@pytest.mark.parametrize("args,name", [
    (["--option", "send-ring-size=abc"], "send-ring-size"),
    (["--option", "send-ring-size=-1"], "send-ring-size"),
    (["--option", "send-ring-size="], "send-ring-size"),
    (["--option", "max-message-size=12x"], "max-message-size"),
    (["--option", "ping-interval-s=1.5"], "ping-interval-s"),
    (["--option", "drop-policy=sometimes"], "drop-policy"),
    (["--option", "presence-events=maybe"], "presence-events"),
    (["--option", "max-connections=99999999999999999999999"], "max-connections"),
    (["--option", "ipv6-prefix-len=31"], "ipv6-prefix-len"),
    (["--option", "ipv6-prefix-len=129"], "ipv6-prefix-len"),
    (["--option", "nosuch=1"], "nosuch"),
    (["--option", "novalue"], "novalue"),
    (["--port", "notanumber"], "port"),
    (["--port", "70000"], "port"),
    (["--status-port", "x"], "status-port"),
    (["--frobnicate"], "frobnicate"),
], ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_bad_option_refused(args, name):
    base = [] if any(a in ("--port", "--status-port") for a in args) else ports()
    p = run(base + args)
    assert p.returncode != 0, "accepted %r (stdout %r)" % (args, p.stdout[-300:])
    assert p.returncode > 0, "killed by a signal: %d" % p.returncode
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    naming = [l for l in lines if name in l]
    assert len(naming) == 1, "expected one stderr line naming %r, got:\n%s" % (name, p.stderr)
    assert len(lines) == 1, "expected exactly one stderr line, got:\n%s" % p.stderr


def test_help():
    p = run(["--help"])
    assert p.returncode == 0
    out = p.stdout + p.stderr
    for flag in ("--port", "--status-port", "--option", "--config", "--version"):
        assert flag in out, "--help does not mention %s" % flag


def test_version():
    p = run(["--version"])
    assert p.returncode == 0
    out = (p.stdout + p.stderr).strip()
    assert out and any(ch.isdigit() for ch in out), out
    assert "roomcast" in out.lower()


def test_good_options_accepted(start_server):
    srv = start_server({"send-ring-size": 8, "send-ring-bytes": 65536, "drop-policy": "close",
                        "ping-interval-s": 30, "pong-timeout-s": 10, "max-connections": 10,
                        "max-rooms-per-connection": 5, "max-messages-per-second": 100,
                        "presence-events": "off", "max-message-size": 4096})
    from wsclient import WsClient
    with WsClient.connect(srv.port) as c:
        c.ping_check()


def test_missing_config_dir_refused(tmp_path):
    p = run(ports() + ["--config", str(tmp_path / "nonexistent")])
    assert p.returncode != 0
    assert p.stderr.strip(), "no error message for a missing config dir"
