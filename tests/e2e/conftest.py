"""pytest wiring for the roomcast end-to-end tests: server fixtures, a
per-test wall-clock limit (no pytest-timeout needed) and TLS mode
(ROOMCAST_TLS=1: a certificate made with `openssl` once per session)."""

import signal

import pytest

import serverctl
import tlsmode
from serverctl import Server

DEFAULT_TEST_TIMEOUT = 30.0

# Server behaviour that is wrong over TLS only (README.md, "TLS mode").
# The tests stay as they are and are expected to fail in TLS mode until the
# server is fixed. Keys: "file::test name" (all parameters) or
# "file::test name[param id]"; values: (kinds, strict, reason). strict: the
# failure is deterministic, so a fix shows up as an XPASS failure saying
# to remove the entry; not strict: it depends on how a burst falls into
# TLS records and event-loop turns, so a pass is only reported (XPASS).
_TLS_BURST = (
    "known gap over TLS: a burst a publisher writes at once sits decrypted in "
    "OpenSSL's buffer (a TLS record carries up to 16 KiB) and lws 4.1.6 reads "
    "it in back-to-back SSL_read()s of the protocol's rx_buffer_size (a few "
    "hundred bytes) in the same event-loop turn, with no member POLLOUT in "
    "between (over plain TCP each such read is followed by a poll turn that "
    "writes to the members); "
    "so members that read everything, and the publisher's own echoes, "
    "overflow small send rings: dropped notices / 4001 closes for fast "
    "clients")
_BOTH = ("server", "lwsws")
TLS_KNOWN_GAPS = {
    "test_slow_clients.py::test_slow_member_drops_and_notice": (_BOTH, False, _TLS_BURST),
    "test_slow_clients.py::test_slow_member_closed_with_policy_close": (_BOTH, False, _TLS_BURST),
    "test_slow_clients.py::test_burst_in_one_write_reaches_every_member[16]":
        (_BOTH, False, _TLS_BURST),
    "test_shutdown.py::test_health_503_while_draining": (("server",), False, (
        "known gap over TLS: a client that never answers the close frame keeps its "
        "wsi in lws 4.1.6's TLS shutdown (SSL_shutdown waits 5 s for the peer's "
        "close_notify, PENDING_TIMEOUT_SHUTDOWN_FLUSH) and roomcast-server's drain "
        "loop checks its 4 s deadline only when lws_service() returns, i.e. when "
        "that timer fires: the process exits 5.0-6.0 s after SIGTERM (plain: "
        "~1 s), at or over the 5 s README bound")),
}
_LWSWS_UTF8 = (("lwsws",), True, (
    "known gap with lwsws over TLS: lwsws 4.1.6 hard-wires "
    "LWS_SERVER_OPTION_VALIDATE_UTF8, so under lwsws the 1007 always comes "
    "from lws's own check (reason 'bad utf8'), before the plugin has the "
    "whole message; when the invalid frame is larger than the rx_buffer_size "
    "and already decrypted in OpenSSL's buffer, lws fails the connection "
    "from its read path without writing that close frame: the client gets "
    "a TLS close_notify and FIN, no 1007 (plain lwsws, and roomcast-server "
    "over TLS, do send 1007)"))
for _size in (1000, 5000, 20000, 60000):
    TLS_KNOWN_GAPS["test_transport.py::test_invalid_utf8_large_frame_closed_1007[%d]" % _size] = \
        _LWSWS_UTF8


def tls_known_gap(item):
    """(strict, reason) when `item` is a known TLS gap of this kind."""
    base = "%s::" % item.path.name
    gap = TLS_KNOWN_GAPS.get(base + item.name) or TLS_KNOWN_GAPS.get(base + item.originalname)
    if gap and serverctl.KIND in gap[0]:
        return gap[1], gap[2]
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout_s(seconds): wall-clock limit of one test")
    config.addinivalue_line("markers", "server_only: needs the standalone roomcast-server")
    config.addinivalue_line("markers", "lwsws_only: needs ROOMCAST_SERVER_KIND=lwsws")
    config.addinivalue_line("markers", "tls_only: needs ROOMCAST_TLS=1")
    why = serverctl.check_config() or tlsmode.check()
    if why:
        pytest.exit("roomcast e2e: %s (see tests/e2e/README.md)" % why, returncode=4)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("server_only") and serverctl.KIND != "server":
            item.add_marker(pytest.mark.skip(reason="standalone roomcast-server only"))
        if item.get_closest_marker("lwsws_only") and serverctl.KIND != "lwsws":
            item.add_marker(pytest.mark.skip(reason="ROOMCAST_SERVER_KIND=lwsws only"))
        if item.get_closest_marker("tls_only") and not tlsmode.ENABLED:
            item.add_marker(pytest.mark.skip(reason="ROOMCAST_TLS=1 only"))
        gap = tlsmode.ENABLED and tls_known_gap(item)
        if gap:
            item.add_marker(pytest.mark.xfail(strict=gap[0], reason=gap[1]))


def pytest_report_header(config):
    return "roomcast e2e: kind %s, %s" % (
        serverctl.KIND, "TLS (wss://, ROOMCAST_TLS=1)" if tlsmode.ENABLED else "plain (ws://)")


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory):
    """TLS mode: a fresh self-signed certificate + key for 127.0.0.1 and
    localhost, made with the openssl command for this session; the servers
    use it and the clients trust only it. None when TLS mode is off."""
    if not tlsmode.ENABLED:
        yield None
        return
    cert, key = tlsmode.make_cert(tmp_path_factory.mktemp("tls"))
    tlsmode.use(cert, key)
    yield cert, key


class TestTimeout(BaseException):
    """BaseException so that no `except Exception` inside a test eats it."""


@pytest.fixture(autouse=True)
def _wall_clock_limit(request):
    m = request.node.get_closest_marker("timeout_s")
    limit = float(m.args[0]) if m else DEFAULT_TEST_TIMEOUT

    def on_alarm(signum, frame):
        raise TestTimeout("test exceeded its %.0f s limit" % limit)

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class ServerPool:
    """Starts servers on demand and checks each one at teardown."""

    def __init__(self, tmp_factory):
        self.tmp_factory = tmp_factory
        self.servers = []

    def __call__(self, options=None, **kw):
        workdir = self.tmp_factory.mktemp("server")
        s = Server(options=options, workdir=workdir, **kw)
        self.servers.append(s)
        try:
            return s.start()
        except BaseException:
            s.expect_exit = True  # start() already reported it
            raise

    def finish(self):
        problems = []
        for s in self.servers:
            if s.proc is None:
                continue
            died_early = not s.expect_exit and not s.worker_alive()
            s.stop()
            problems += s.problems(died_early=died_early)
        self.servers = []
        if problems:
            pytest.fail("server problems at teardown:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def start_server(tmp_path_factory, tls_material):
    """Function scope: start_server(options) -> a running Server."""
    pool = ServerPool(tmp_path_factory)
    yield pool
    pool.finish()


@pytest.fixture(scope="module")
def start_module_server(tmp_path_factory, tls_material):
    """Module scope: servers shared by the tests of one file."""
    pool = ServerPool(tmp_path_factory)
    yield pool
    pool.finish()


@pytest.fixture(scope="module")
def server(start_module_server):
    """A default-options server shared by the tests of one file."""
    return start_module_server()
