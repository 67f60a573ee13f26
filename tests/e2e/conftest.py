"""pytest wiring for the roomcast end-to-end tests: server fixtures and a
per-test wall-clock limit (no pytest-timeout needed)."""

import signal

import pytest

import serverctl
from serverctl import Server

DEFAULT_TEST_TIMEOUT = 30.0


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout_s(seconds): wall-clock limit of one test")
    config.addinivalue_line("markers", "server_only: needs the standalone roomcast-server")
    config.addinivalue_line("markers", "lwsws_only: needs ROOMCAST_SERVER_KIND=lwsws")
    why = serverctl.check_config()
    if why:
        pytest.exit("roomcast e2e: %s (see tests/e2e/README.md)" % why, returncode=4)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("server_only") and serverctl.KIND != "server":
            item.add_marker(pytest.mark.skip(reason="standalone roomcast-server only"))
        if item.get_closest_marker("lwsws_only") and serverctl.KIND != "lwsws":
            item.add_marker(pytest.mark.skip(reason="ROOMCAST_SERVER_KIND=lwsws only"))


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
def start_server(tmp_path_factory):
    """Function scope: start_server(options) -> a running Server."""
    pool = ServerPool(tmp_path_factory)
    yield pool
    pool.finish()


@pytest.fixture(scope="module")
def start_module_server(tmp_path_factory):
    """Module scope: servers shared by the tests of one file."""
    pool = ServerPool(tmp_path_factory)
    yield pool
    pool.finish()


@pytest.fixture(scope="module")
def server(start_module_server):
    """A default-options server shared by the tests of one file."""
    return start_module_server()
