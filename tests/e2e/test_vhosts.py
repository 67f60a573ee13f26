"""Two roomcast vhosts in one process (docs/CONFIG.md, Option scopes).

A ws:// and a wss:// vhost of one process share one hub: a member on each
is in the same room. Per-vhost options stay per vhost; a process-wide
option (history-size, max-queued-bytes, history-db) given two different values stops
the start with an error naming both vhosts.

The config is written here (two roomcast vhosts, no status vhost), with a
certificate made by tlsmode.make_cert for the wss:// one; runs under
either server kind.
"""

import json
import time
from pathlib import Path

import pytest

import serverctl
import tlsmode
from serverctl import Server, ServerError, free_port, port_open
from wsclient import HandshakeRefused, WsClient, unique_room

WS_NAME, WSS_NAME = "rc-ws", "rc-wss"


def vhost(name, port, options, tls=None):
    vh = {
        "name": name,
        "port": str(port),
        "interface": "127.0.0.1",
        "noipv6": "on",
        "ws-protocols": [{
            "roomcast": dict({"status": "ok", "default": "1"},
                             **{k: str(v) for k, v in options.items()}),
            "roomcast.v1": {},
        }],
    }
    if tls:
        vh["host-ssl-cert"], vh["host-ssl-key"] = str(tls[0]), str(tls[1])
    return vh


class TwoVhostServer(Server):
    """A server whose config has the two vhosts above: `port` is the ws://
    one, `wss_port` the wss:// one."""

    def __init__(self, workdir, ws_options, wss_options):
        super().__init__(status_port=False, tls=False, workdir=workdir)
        self.wss_port = free_port()
        self.cert = tlsmode.make_cert(Path(workdir) / "tls")
        self.ws_options, self.wss_options = ws_options, wss_options

    def argv(self):
        cfg = self.workdir / "config"
        (cfg / "conf.d").mkdir(parents=True, exist_ok=True)
        glob = {"server-string": "roomcast", "init-ssl": "yes"}
        if self.kind == "lwsws":
            plugins = self.workdir / "plugins"
            plugins.mkdir(exist_ok=True)
            link = plugins / "libprotocol_roomcast.so"
            if not link.exists():
                link.symlink_to(Path(serverctl.LWSWS_PLUGIN_DIR).resolve()
                                / "libprotocol_roomcast.so")
            glob["plugin-dir"] = str(plugins)
        (cfg / "conf").write_text(json.dumps({"global": glob}, indent=2) + "\n")
        vhosts = [vhost(WS_NAME, self.port, self.ws_options),
                  vhost(WSS_NAME, self.wss_port, self.wss_options, tls=self.cert)]
        (cfg / "conf.d" / "vhosts").write_text(json.dumps({"vhosts": vhosts}, indent=2) + "\n")
        if self.kind == "lwsws":
            return [serverctl.LWSWS_BIN, "-n", "-c", str(cfg)]
        return [serverctl.SERVER_BIN, "--config", str(cfg)]


@pytest.fixture
def two_vhosts(tmp_path):
    servers = []

    def start(ws_options, wss_options):
        s = TwoVhostServer(tmp_path / ("s%d" % len(servers)), ws_options, wss_options)
        servers.append(s)
        return s

    yield start
    problems = []
    for s in servers:
        if s.proc is not None:
            s.stop()
            problems += s.problems()
    assert not problems, "\n".join(problems)


def wss_connect(s):
    ctx = tlsmode.client_context(cafile=s.cert[0])
    return WsClient.connect(s.wss_port, tls=True, context=ctx)


def test_ws_and_wss_vhosts_share_rooms(two_vhosts):
    # the same process-wide value on both is no conflict; per-vhost
    # options may differ
    s = two_vhosts({"history-size": 5, "send-ring-size": 64},
                   {"history-size": 5, "send-ring-size": 128})
    s.start()
    deadline = time.monotonic() + 10
    while not port_open(s.wss_port):
        assert time.monotonic() < deadline, "wss:// vhost not listening"
        time.sleep(0.02)
    room = unique_room()
    with WsClient.connect(s.port, tls=False) as plain, wss_connect(s) as secure:
        assert plain.join(room, "plain")["members"] == 1
        j = secure.join(room, "secure")
        assert j["members"] == 2, "the wss:// member is not in the ws:// member's room: %r" % j
        plain.broadcast(room, "from ws")
        for c in (plain, secure):
            m = c.expect("broadcast")
            assert (m["sender"], m["content"], m["seq"]) == ("plain", "from ws", 1)
        secure.broadcast(room, "from wss")
        for c in (plain, secure):
            m = c.expect("broadcast")
            assert (m["sender"], m["content"], m["seq"]) == ("secure", "from wss", 2)
        # one room, one history (history-size is process-wide)
        h = plain.request({"type": "history", "room_id": room})
        assert [m["content"] for m in h["messages"]] == ["from ws", "from wss"]


@pytest.mark.parametrize("option,a,b", [("history-size", 10, 20),
                                        ("max-queued-bytes", 100000, 200000),
                                        ("history-db", "a.db", "b.db")])
def test_process_wide_option_conflict_stops_start(two_vhosts, tmp_path, option, a, b):
    """roomcast-server refuses the config before creating any vhost (exit
    2, one line). lwsws 4.1.6 gives a plugin no way to stop it: the
    plugin logs the same error and the second vhost does not serve
    roomcast (docs/CONFIG.md, Option scopes)."""
    if option == "history-db":
        # one hub, one history: two files would split it (history-size
        # given, so that the first file alone would start)
        a, b = str(tmp_path / a), str(tmp_path / b)
        s = two_vhosts({option: a, "history-size": 5},
                       {option: b, "history-size": 5})
    else:
        s = two_vhosts({option: a}, {option: b})
    try:
        s.start()
    except ServerError:
        pass
    s.expect_exit = True
    deadline = time.monotonic() + 5
    while True:
        lines = [l for l in s.stderr_text().splitlines()
                 if option in l and WS_NAME in l and WSS_NAME in l]
        if lines or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if serverctl.KIND == "server":
        assert s.wait(5) == 2, "roomcast-server did not stop with status 2"
        assert len([l for l in s.stderr_text().splitlines() if l.strip()]) == 1, \
            s.stderr_tail()
    elif lines:
        with pytest.raises(HandshakeRefused) as e:
            wss_connect(s).close()
        assert e.value.status == 403
    s.stop()
    assert lines, "no log line names %s and both vhosts:\n%s" % (option, s.stderr_tail())
    assert str(a) in lines[0] and str(b) in lines[0], lines[0]
    assert "process-wide" in lines[0], lines[0]
