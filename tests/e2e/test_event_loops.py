"""roomcast-server's event loops (--event-loop, docs/CONFIG.md): lws's own
loop waiting with epoll (the default, server/evpoll.c), with the kernel's
poll() over every socket, and libuv's. Each serves connections that come
and go in the same turns: a socket closed and a new one given its number
at once must still be served (the case evpoll.c's close() hook is for)."""

import os

import pytest

from wsclient import WsClient, get_stats, unique_room, wait_for, wait_stats

pytestmark = pytest.mark.server_only

LOG_NAME = {"epoll": "epoll loop", "poll": "poll loop", "uv": "libuv loop"}


def _epoll_watched(pid):
    """Descriptors in the process's epoll sets (their fdinfo's tfd lines),
    or None when it has no epoll set."""
    found = None
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != "anon_inode:[eventpoll]":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                found = (found or 0) + sum(1 for line in f if line.startswith("tfd:"))
        except OSError:
            continue
    return found


def _abandon(clients):
    """Gone without a close frame: the server sees EOF and closes."""
    for c in clients:
        c.sock.close()


@pytest.mark.timeout_s(90)
@pytest.mark.parametrize("loop", [None, "epoll", "poll", "uv"])
def test_churned_connections_all_served(start_server, loop):
    srv = start_server(extra_args=["--event-loop", loop] if loop else [])
    # logged just after the ports listen, so maybe after the readiness probe
    wait_for(lambda: LOG_NAME[loop or "epoll"] in srv.stderr_text(),
             what="the log naming the %s loop" % (loop or "default"))
    room = unique_room()
    keep = [WsClient.connect(srv.port) for _ in range(4)]
    for c in keep:
        c.join(room)
    previous = []
    try:
        for _ in range(30):
            _abandon(previous)
            # opened while the server closes the ones just abandoned, so
            # they take the descriptor numbers just freed
            previous = [WsClient.connect(srv.port) for _ in range(8)]
            for c in previous:
                assert c.join(room)["type"] == "joined"
        watched = _epoll_watched(srv.proc.pid)
        if loop == "poll":
            assert watched is None, "--event-loop poll made an epoll set"
        else:
            # every live connection is in the set (and the listeners)
            assert watched is not None and watched >= len(keep) + len(previous), watched
        keep[0].broadcast(room, {"after": "churn"})
        for c in keep + previous:
            assert c.expect("broadcast")["content"] == {"after": "churn"}
        _abandon(previous)
        previous = []
        wait_stats(srv.status_port, lambda s: s["connections_active"] == len(keep),
                   what="every abandoned connection closed")
        assert get_stats(srv.status_port)["connections_total"] >= 4 + 30 * 8
    finally:
        _abandon(previous)
        for c in keep:
            c.close()
