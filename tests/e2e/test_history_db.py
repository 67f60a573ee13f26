"""PROTOCOL.md, History and recovery: `history-db` (SQLite) keeps every
room's seq, epoch and held messages across a clean restart and a SIGKILL;
a bad database stops the start with a one-line error naming the file; a
database that fails at run time keeps the server serving, said in /stats.
See docs/HISTORY.md."""

import os
import sqlite3
import subprocess
import time

import pytest

import serverctl
from serverctl import ServerError
import json

from wsclient import WsClient, http_get, unique_room, wait_for


def get_stats(port):
    """/stats of the status vhost, plain HTTP always (a port number a
    previous server used for wss:// may come back as a status port)."""
    status, _, body = http_get(port, "/stats", tls=False)
    assert status == 200, (status, body[:200])
    return json.loads(body)

SIZE = 5


def opts(db, **more):
    o = {"history-size": SIZE, "history-db": str(db)}
    o.update(more)
    return o


def send(c, room, n, start=1):
    got = []
    for i in range(start, start + n):
        c.broadcast(room, {"i": i})
        got.append(c.expect("broadcast"))
    return got


def test_clean_restart_recovers(start_server, tmp_path):
    db = tmp_path / "h.db"
    s = start_server(opts(db))
    room = unique_room("db")
    with WsClient.connect(s.port) as c:
        epoch = c.join(room, "a")["epoch"]
        got = send(c, room, 7)
    assert s.stop() == 0
    s2 = start_server(opts(db))
    assert get_stats(s2.status_port)["rooms_active"] == 1
    with WsClient.connect(s2.port) as c:
        j = c.join(room, "a", since=4, epoch=epoch)
        assert j["recovered"] is True and j["seq"] == 7 and j["epoch"] == epoch, j
        assert [c.expect("broadcast") for _ in range(3)] == got[4:]
        # `history` after the restart: the last history-size messages
        h = c.request({"type": "history", "room_id": room})
        assert h["messages"] == got[2:], h
        c.broadcast(room, "next")
        assert c.expect("broadcast")["seq"] == 8


def test_sigkill_restart_never_reuses_a_seq(start_server, tmp_path):
    db = tmp_path / "h.db"
    s = start_server(opts(db))
    room = unique_room("kill")
    with WsClient.connect(s.port) as c:
        epoch = c.join(room, "a")["epoch"]
        got = send(c, room, 10)
        time.sleep(1.5)  # older than a second: written
        last = send(c, room, 3, start=11)  # may be lost
        s.expect_exit = True
        s.kill()
    s2 = start_server(opts(db))
    with WsClient.connect(s2.port) as c:
        j = c.join(room, "a", since=10, epoch=epoch)
        # the epoch stays; the seq went on past everything that was sent
        assert j["epoch"] == epoch and j["seq"] >= 13, j
        assert j["recovered"] is False, j
        c.expect_silence(0.2)
        h = c.request({"type": "history", "room_id": room})
        held = h["messages"]
        # nothing accepted more than a second before the kill is lost
        assert got[-SIZE:][0] in held or held[-SIZE:] and all(m in got + last for m in held), h
        assert [m for m in held if m["seq"] <= 10] == got[10 - len([m for m in held if m["seq"] <= 10]):]
        assert got[-1] in held, held
        c.broadcast(room, "after")
        m = c.expect("broadcast")
        assert m["seq"] > 13 and m["seq"] == j["seq"] + 1, (m, j)
    # a client that saw seq 13 before the kill: its since is inside the
    # reserved range, so no recovery and no one else's message
    with WsClient.connect(s2.port) as c:
        j = c.join(room, since=13, epoch=epoch)
        assert j["recovered"] is False
        c.expect_silence(0.2)
    # and a clean restart after it resumes exactly
    seq = m["seq"]
    assert s2.stop() == 0
    s3 = start_server(opts(db))
    with WsClient.connect(s3.port) as c:
        j = c.join(room, since=seq - 1, epoch=epoch)
        assert j["recovered"] is True and j["seq"] == seq, j
        assert c.expect("broadcast")["content"] == "after"


def test_stats_show_the_db(start_server, tmp_path):
    s = start_server(opts(tmp_path / "h.db"))
    room = unique_room("st")
    with WsClient.connect(s.port) as c:
        c.join(room)
        send(c, room, 5)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        st = get_stats(s.status_port)
        if st["history_db"]["rows_written"] >= 5:
            break
        time.sleep(0.1)
    assert st["history_db"]["state"] == "ok" and st["history_db"]["rows_written"] >= 5, st


def failed_start(start_server, options):
    """The server stops its start: roomcast-server exits 1 before or just
    after its ports open (lws starts protocols in the first service turn);
    lwsws's worker exits, so it never gets ready. Returns its log. A
    start that failed on a port another process took first is retried
    (free ports are probed, not reserved)."""
    for attempt in range(3):
        try:
            s = start_server(options)
        except ServerError as e:
            text = str(e)
            if "history-db" in text.replace("history-db=", "") or attempt == 2:
                return text
            continue
        s.expect_exit = True
        if serverctl.KIND == "lwsws":
            # lwsws's root stays up; its worker, which had opened the
            # ports before the protocols started, exits: they close
            wait_for(lambda: not serverctl.port_open(s.port), timeout=10,
                     what="lwsws's worker gone")
            return s.stderr_text()
        rc = s.wait(5)
        assert rc == 1, rc
        return s.stderr_text()


def start_fails(start_server, db, words):
    text = failed_start(start_server, opts(db))
    # the log line (not the argv, which says history-db=PATH); under
    # lwsws the worker exits after it, and lwsws's root stays up (not ready)
    line = [l for l in text.splitlines() if "history-db %s: " % db in l]
    assert len(line) == 1, text
    assert any(w in line[0] for w in words), line[0]


def test_bad_db_missing_directory(start_server, tmp_path):
    start_fails(start_server, tmp_path / "no" / "such" / "h.db", ["cannot open"])


def test_bad_db_not_sqlite(start_server, tmp_path):
    db = tmp_path / "junk.db"
    db.write_bytes(b"this is not a database\n" * 100)
    start_fails(start_server, db, ["not an SQLite database"])


def test_bad_db_foreign_sqlite(start_server, tmp_path):
    db = tmp_path / "other.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    start_fails(start_server, db, ["not a roomcast database"])


def test_bad_db_newer_schema(start_server, tmp_path):
    db = tmp_path / "newer.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA application_id = %d" % 0x52435354)
    con.execute("PRAGMA user_version = 99")
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    start_fails(start_server, db, ["newer"])


def test_bad_db_locked_by_another_server(start_server, tmp_path):
    db = tmp_path / "h.db"
    s = start_server(opts(db))
    start_fails(start_server, db, ["locked"])
    assert s.alive()
    with WsClient.connect(s.port) as c:
        c.join(unique_room("still"))


def test_history_db_needs_history_size(start_server, tmp_path):
    db = tmp_path / "h.db"
    text = failed_start(start_server, {"history-db": str(db)})
    assert "history-size" in text and str(db) in text


@pytest.mark.server_only  # prlimit needs the serving process's pid
def test_disk_failure_at_run_time_keeps_serving(start_server, tmp_path):
    """A file-size limit set on the running server makes its writes fail
    (EFBIG): delivery goes on, /stats says error, the log says it once."""
    db = tmp_path / "h.db"
    # a history long enough that the file must grow
    s = start_server(opts(db, **{"history-size": 10000}))
    room = unique_room("full")
    with WsClient.connect(s.port) as c, WsClient.connect(s.port) as d:
        c.join(room)
        d.join(room)
        send(c, room, 3)
        time.sleep(0.5)
        # above what the files hold now (the log file too), below where
        # the WAL must grow to
        wal = os.path.getsize(str(db) + "-wal")
        limit = max(wal + 8192, 16384)
        subprocess.run(["prlimit", "--pid", str(s.proc.pid), "--fsize=%d" % limit],
                       check=True)
        for i in range(200):
            c.broadcast(room, "z" * 500)
            c.expect("broadcast")
        assert [d.expect("broadcast")["seq"] for _ in range(203)] == list(range(1, 204))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            st = get_stats(s.status_port)
            if st["history_db"]["state"] == "error":
                break
            time.sleep(0.1)
        assert st["history_db"]["state"] == "error" and st["history_db"]["write_failures"] >= 1, \
            (st["history_db"], os.path.getsize(str(db) + "-wal"), limit)
        assert st["history_db"]["last_error"], st
        c.broadcast(room, "still")
        assert d.expect("broadcast")["content"] == "still"
    assert s.alive()
    assert s.stderr_text().count("history-db: writes fail") == 1
