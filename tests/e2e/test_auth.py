"""PROTOCOL.md, "Auth (when enabled)": every rule, against the server of
the session's kind (roomcast-server or lwsws) over ws:// or wss://.

Tokens are minted here: HS256 with the standard library (hmac, hashlib,
base64), RS256 and ES256 with the `openssl` command (keys and
signatures; an ES256 DER signature is turned into JWS r||s in Python).
"""

import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import time

import pytest

import serverctl
from serverctl import KIND, SERVER_BIN, free_port
from wsclient import ConnectionClosed, HandshakeRefused, WsClient, assert_refused, unique_room

SECRET = "test-secret-of-at-least-32-bytes-0123456789"
TIMEOUT = 2  # auth-timeout-s of the main server


# ---- minting ---------------------------------------------------------------

def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signing_input(claims, header):
    return b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())


def hs256(claims, secret=SECRET, header=None):
    si = signing_input(claims, header or {"alg": "HS256", "typ": "JWT"})
    sig = hmac.new(secret.encode() if isinstance(secret, str) else secret, si.encode(),
                   hashlib.sha256).digest()
    return si + "." + b64u(sig)


def openssl(*args, data=None):
    return subprocess.run(["openssl"] + list(args), input=data, capture_output=True,
                          check=True, timeout=30).stdout


def der_to_raw(der):
    """ECDSA-Sig-Value (SEQUENCE of two INTEGERs) -> 64 bytes r||s."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7f)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\0")
        out += v.rjust(32, b"\0")
        i += 2 + n
    return out


def pk_sign(claims, key, alg, header=None):
    si = signing_input(claims, header or {"alg": alg})
    sig = openssl("dgst", "-sha256", "-sign", str(key), "-binary", data=si.encode())
    if alg == "ES256":
        sig = der_to_raw(sig)
    return si + "." + b64u(sig)


def make_keys(d, kind):
    key, pub = d / ("%s.key" % kind), d / ("%s.pem" % kind)
    if kind.startswith("rsa"):
        openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(key))
    else:
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key))
    openssl("pkey", "-in", str(key), "-pubout", "-out", str(pub))
    return key, pub


def claims(sub="alice", ttl=3600, **extra):
    c = {"sub": sub, "exp": int(time.time()) + ttl}
    c.update(extra)
    return c


def expect_json(c, type_, timeout=5.0):
    m = c.recv_json(timeout)
    assert m.get("type") == type_, "expected %r, got %r" % (type_, m)
    return m


def auth(c, token, id_=None):
    msg = {"type": "auth", "token": token}
    if id_ is not None:
        msg["id"] = id_
    c.send_json(msg)
    return c.recv_json()


def authed_client(port, token):
    c = WsClient.connect(port)
    m = auth(c, token)
    assert m.get("type") == "authed", m
    return c


def assert_closed_with(c, code, within):
    t0 = time.monotonic()
    got, how = c.wait_close(within)
    dt = time.monotonic() - t0
    assert how == "close-frame", "expected a close frame with %d, got %s" % (code, how)
    assert got == code, "expected close code %d, got %r" % (code, got)
    return dt


# ---- servers ---------------------------------------------------------------

@pytest.fixture(scope="module")
def hs(start_module_server):
    return start_module_server({"auth-secret": SECRET, "auth-timeout-s": TIMEOUT})


@pytest.fixture(scope="module")
def keydir(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.fail("the openssl command is needed to mint RS256/ES256 tokens")
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="module")
def rs(start_module_server, keydir):
    key, pub = make_keys(keydir, "rsa")
    s = start_module_server({"auth-public-key-file": str(pub), "auth-alg": "RS256",
                             "auth-audience": "roomcast", "auth-issuer": "https://issuer.test"})
    s.key, s.pub = key, pub
    return s


@pytest.fixture(scope="module")
def es(start_module_server, keydir):
    key, pub = make_keys(keydir, "ec")
    s = start_module_server({"auth-public-key-file": str(pub), "auth-alg": "ES256"})
    s.key, s.pub = key, pub
    return s


def rs_claims(**kw):
    kw.setdefault("aud", "roomcast")
    kw.setdefault("iss", "https://issuer.test")
    return claims(**kw)


# ---- both ways in ----------------------------------------------------------

def test_url_token_authenticates(hs):
    room = unique_room()
    c = WsClient.connect(hs.port, path="/?token=" + hs256(claims("url-user")))
    try:
        j = c.join(room)
        assert j["user_id"] == "url-user"
        c.ping_check()
    finally:
        c.close()


@pytest.mark.parametrize("name,token", [
    ("bad signature", hs256(claims(), secret="another-secret-another-secret-0123")),
    ("expired", hs256(claims(ttl=-10))),
    ("alg none", signing_input(claims(), {"alg": "none"}) + "."),
    ("nbf in the future", hs256(claims(nbf=int(time.time()) + 600))),
    ("guest- sub", hs256(claims("guest-1"))),
    ("bad sub", hs256(claims("a b"))),
    ("no exp", hs256({"sub": "alice"})),
    ("empty", ""),
    ("garbage", "not.a.token"),
], ids=lambda v: v if isinstance(v, str) and " " in v or v in ("expired", "empty", "garbage") else None)
def test_bad_url_token_is_401(hs, name, token):
    assert_refused(hs.port, 401, path="/?token=" + token)


def url_refused(port, token):
    """True if a ?token= never upgraded: lws answered with an HTTP error
    or closed the socket."""
    try:
        c = WsClient.connect(port, path="/?token=" + token)
    except HandshakeRefused as e:
        assert e.status >= 400, e.status
        return True
    except (ConnectionClosed, OSError):
        return True
    c.close()
    return False


def test_url_token_size(hs):
    """roomcast-server's header buffer holds any token auth_verify takes
    (AUTH_TOKEN_MAX, 8192 bytes); lwsws keeps lws's 4096 (docs/AUTH.md)."""
    tok = hs256(claims("big", pad="x" * 5000))
    assert 6000 < len(tok) < 8192
    if KIND == "server":
        c = WsClient.connect(hs.port, path="/?token=" + tok)
        try:
            assert c.join(unique_room())["user_id"] == "big"
        finally:
            c.close()
    else:
        assert url_refused(hs.port, tok), "a %d-byte ?token= upgraded under lwsws" % len(tok)
    # over AUTH_TOKEN_MAX: refused by us (401) or by lws's buffer
    huge = hs256(claims("big", pad="x" * 6500))
    assert len(huge) > 8192
    assert url_refused(hs.port, huge), "a %d-byte ?token= upgraded" % len(huge)


def test_auth_message_answers_authed_with_id(hs):
    tok = hs256(claims("bob"))
    c = WsClient.connect(hs.port)
    try:
        m = auth(c, tok, id_="a1")
        exp = json.loads(base64.urlsafe_b64decode(tok.split(".")[1] + "==="))["exp"]
        assert m == {"type": "authed", "id": "a1", "user_id": "bob", "exp": exp}
        room = unique_room()
        assert c.join(room)["user_id"] == "bob"
        assert c.join(room, user="bob")["user_id"] == "bob"
        c.send_json({"type": "join", "room_id": room, "user_id": "carol"})
        c.expect_error("user_mismatch", ref="join")
    finally:
        c.close()


def test_before_auth_only_auth_and_ping(hs):
    room = unique_room()
    c = WsClient.connect(hs.port)
    try:
        c.ping_check()
        for msg in ({"type": "join", "room_id": room},
                    {"type": "join", "room_id": room, "user_id": "bob"},
                    {"type": "leave", "room_id": room},
                    {"type": "broadcast", "room_id": room, "content": 1},
                    {"type": "direct", "to": "bob", "content": 1},
                    {"type": "history", "room_id": room},
                    {"type": "members", "room_id": room}):
            c.send_json(dict(msg, id=7))
            e = c.expect_error("unauthorized", ref=msg["type"])
            assert e.get("id") == 7
        # the codec's errors come first (PROTOCOL.md, Errors order)
        c.send_json({"type": "join"})
        c.expect_error("missing_field", ref="join")
        c.send_json({"type": "join", "room_id": "a b"})
        c.expect_error("bad_room", ref="join")
        c.send_json({"type": "join", "room_id": room, "user_id": "a b"})
        c.expect_error("bad_user", ref="join")
        c.send_json({"type": "nosuch"})
        c.expect_error("unknown_type", ref="nosuch")
        c.send_text("{")
        c.expect_error("bad_json")
        c.send_json({"type": "auth"})
        c.expect_error("missing_field", ref="auth")
        c.send_json({"type": "auth", "token": 5})
        c.expect_error("missing_field", ref="auth")
        assert auth(c, hs256(claims("bob")))["type"] == "authed"
        c.join(room)
    finally:
        c.close()


@pytest.mark.parametrize("name,token", [
    ("expired", hs256(claims(ttl=-1))),
    ("bad signature", hs256(claims(), secret="x" * 40)),
    ("alg none", signing_input(claims(), {"alg": "none"}) + "."),
    ("nbf", hs256(claims(nbf=int(time.time()) + 600))),
    ("guest sub", hs256(claims("guest-7"))),
    ("huge", hs256(claims(pad="y" * 9000))),
    ("not a string sub", hs256(claims(5))),
    ("bad rooms", hs256(claims(rooms="lobby"))),
    ("escaped", hs256(claims()).replace(".", "\\u002e", 1)),
])
def test_bad_token_in_auth_message_changes_nothing(hs, name, token):
    room = unique_room()
    c = WsClient.connect(hs.port)
    try:
        c.send_json({"type": "auth", "token": token, "id": "x"})
        e = c.expect_error("unauthorized", ref="auth")
        assert e.get("id") == "x"
        c.send_json({"type": "join", "room_id": room})
        c.expect_error("unauthorized", ref="join")
        assert auth(c, hs256(claims("dora")))["type"] == "authed"
        c.join(room)
        c.send_json({"type": "auth", "token": token})
        c.expect_error("unauthorized", ref="auth")
        c.broadcast(room, "still in")
        assert expect_json(c, "broadcast")["sender"] == "dora"
    finally:
        c.close()


def test_escaped_token_is_decoded(hs):
    """The token is a JSON string: escapes are decoded before checking."""
    tok = hs256(claims("esc"))
    raw = '{"type":"auth","token":"%s"}' % tok.replace(".", "\\u002e")
    c = WsClient.connect(hs.port)
    try:
        c.send_text(raw)
        assert expect_json(c, "authed")["user_id"] == "esc"
    finally:
        c.close()


# ---- claims: rooms and publish ---------------------------------------------

def test_rooms_gate_join_and_history(hs):
    p = unique_room("team")
    c = authed_client(hs.port, hs256(claims("erin", rooms=[p + "-*", "lobby-" + p])))
    try:
        c.join(p + "-a")
        c.join("lobby-" + p)
        for r in (p, "lobby-" + p + "x", "other"):
            c.send_json({"type": "join", "room_id": r})
            c.expect_error("unauthorized", ref="join")
        c.send_json({"type": "history", "room_id": "other"})
        c.expect_error("unauthorized", ref="history")
        c.send_json({"type": "history", "room_id": p + "-b"})
        c.expect_error("not_member", ref="history")  # allowed, not joined
    finally:
        c.close()


def test_empty_rooms_allow_nothing(hs):
    c = authed_client(hs.port, hs256(claims("fay", rooms=[])))
    try:
        c.send_json({"type": "join", "room_id": unique_room()})
        c.expect_error("unauthorized", ref="join")
    finally:
        c.close()


def test_publish_gates_broadcast(hs):
    ro_room, rw_room = unique_room("ro"), unique_room("rw")
    reader = authed_client(hs.port, hs256(claims("gus", publish=[rw_room])))
    ro = authed_client(hs.port, hs256(claims("hal", publish=[])))
    try:
        for r in (ro_room, rw_room):
            reader.join(r)
        ro.join(ro_room)
        ro.send_json({"type": "broadcast", "room_id": ro_room, "content": "no"})
        ro.expect_error("unauthorized", ref="broadcast")
        # unauthorized comes before not_member
        ro.send_json({"type": "broadcast", "room_id": rw_room, "content": "no"})
        ro.expect_error("unauthorized", ref="broadcast")
        reader.send_json({"type": "broadcast", "room_id": ro_room, "content": "no"})
        reader.expect_error("unauthorized", ref="broadcast")
        reader.broadcast(rw_room, "yes")
        m = expect_json(reader, "broadcast")
        assert m["content"] == "yes" and m["room_id"] == rw_room
        # a read-only user may still send a direct message
        ro.send_json({"type": "direct", "to": "gus", "content": "hi"})
        d = expect_json(reader, "direct")
        assert d == {"type": "direct", "from": "hal", "content": "hi"}
        reader.expect_silence(0.3)
    finally:
        reader.close()
        ro.close()


# ---- refresh ---------------------------------------------------------------

def test_refresh_narrows_rooms_and_keeps_sub(hs):
    a, b, keep = unique_room("a"), unique_room("b"), unique_room("keep")
    c = authed_client(hs.port, hs256(claims("ivy", ttl=100)))
    other = authed_client(hs.port, hs256(claims("jon")))
    try:
        for r in (a, b, keep):
            c.join(r)
        other.join(a)
        new = hs256(claims("ivy", ttl=200, rooms=[keep]))
        c.send_json({"type": "auth", "token": new, "id": 9})
        got = [c.recv_json() for _ in range(3)]
        lefts = sorted(m["room_id"] for m in got if m["type"] == "left")
        assert lefts == sorted([a, b]), got
        for m in got[:2]:
            assert m == {"type": "left", "room_id": m["room_id"], "reason": "unauthorized"}
        assert got[2]["type"] == "authed" and got[2]["id"] == 9
        assert got[2]["exp"] == json.loads(base64.urlsafe_b64decode(
            new.split(".")[1] + "==="))["exp"]
        c.send_json({"type": "broadcast", "room_id": a, "content": 1})
        c.expect_error("unauthorized", ref="broadcast")
        other.broadcast(a, "after")
        assert expect_json(other, "broadcast")["content"] == "after"
        c.expect_silence(0.3)
        c.broadcast(keep, "kept")
        assert expect_json(c, "broadcast")["content"] == "kept"
        # another sub: user_mismatch, nothing changes
        c.send_json({"type": "auth", "token": hs256(claims("mallory")), "id": 10})
        e = c.expect_error("user_mismatch", ref="auth")
        assert e.get("id") == 10
        c.join(keep)["user_id"] == "ivy"
    finally:
        c.close()
        other.close()


def test_refresh_extends_expiry(hs):
    c = authed_client(hs.port, hs256(claims("kim", ttl=2)))
    try:
        assert auth(c, hs256(claims("kim", ttl=60)))["type"] == "authed"
        try:
            c.pump_until(lambda: False, 3.2)
        except ConnectionClosed as e:
            raise AssertionError("closed after a refresh that extended exp: %s" % e) from None
        c.ping_check()
    finally:
        c.close()


# ---- closes ----------------------------------------------------------------

def test_no_auth_closes_with_4003(hs):
    c = WsClient.connect(hs.port)
    t0 = time.monotonic()
    c.ping_check()
    dt = assert_closed_with(c, 4003, TIMEOUT + 3)
    dt = time.monotonic() - t0
    assert TIMEOUT - 0.2 <= dt <= TIMEOUT + 1.5, "4003 after %.2f s (auth-timeout-s %d)" % (dt, TIMEOUT)


def test_authenticated_connection_outlives_auth_timeout(hs):
    c = authed_client(hs.port, hs256(claims("lou")))
    try:
        c.pump_until(lambda: False, TIMEOUT + 1)
        c.ping_check()
    finally:
        c.close()


@pytest.mark.parametrize("how", ["message", "url"])
def test_expiry_closes_with_4004(hs, how):
    tok = hs256(claims("max", ttl=2))
    exp = json.loads(base64.urlsafe_b64decode(tok.split(".")[1] + "==="))["exp"]
    if how == "url":
        c = WsClient.connect(hs.port, path="/?token=" + tok)
    else:
        c = authed_client(hs.port, tok)
    room = unique_room()
    c.join(room)
    assert_closed_with(c, 4004, 5)
    late = time.time() - exp
    assert -0.1 <= late <= 1.5, "4004 %.2f s after exp" % late


# ---- RS256 / ES256, audience and issuer, key confusion ----------------------

def test_rs256_token_and_claims(rs):
    c = WsClient.connect(rs.port, path="/?token=" + pk_sign(rs_claims(sub="rsa-user"), rs.key, "RS256"))
    try:
        assert c.join(unique_room())["user_id"] == "rsa-user"
        tok = pk_sign(rs_claims(sub="rsa-user", aud=["x", "roomcast"]), rs.key, "RS256")
        assert auth(c, tok)["type"] == "authed"
    finally:
        c.close()


@pytest.mark.parametrize("name", ["wrong aud", "no aud", "wrong iss", "no iss", "hs256 with the pem",
                                  "alg none", "es256 header", "other key"])
def test_rs256_refusals(rs, keydir, name):
    good = rs_claims()
    if name == "wrong aud":
        tok = pk_sign(dict(good, aud="other"), rs.key, "RS256")
    elif name == "no aud":
        tok = pk_sign({k: v for k, v in good.items() if k != "aud"}, rs.key, "RS256")
    elif name == "wrong iss":
        tok = pk_sign(dict(good, iss="https://evil.test"), rs.key, "RS256")
    elif name == "no iss":
        tok = pk_sign({k: v for k, v in good.items() if k != "iss"}, rs.key, "RS256")
    elif name == "hs256 with the pem":
        tok = hs256(good, secret=rs.pub.read_bytes())
    elif name == "alg none":
        tok = signing_input(good, {"alg": "none"}) + "."
    elif name == "es256 header":
        tok = pk_sign(good, rs.key, "RS256", header={"alg": "ES256"})
    else:
        k2 = keydir / "rsa-other.key"
        if not k2.exists():
            make_keys(keydir, "rsa-other")
        tok = pk_sign(good, k2, "RS256")
    assert_refused(rs.port, 401, path="/?token=" + tok)
    c = WsClient.connect(rs.port)
    try:
        c.send_json({"type": "auth", "token": tok})
        c.expect_error("unauthorized", ref="auth")
    finally:
        c.close()


def test_es256(es):
    tok = pk_sign(claims("ec-user"), es.key, "ES256")
    c = WsClient.connect(es.port, path="/?token=" + tok)
    try:
        assert c.join(unique_room())["user_id"] == "ec-user"
    finally:
        c.close()
    # a DER signature (what openssl writes) is not JWS's r||s
    si = signing_input(claims(), {"alg": "ES256"})
    der = openssl("dgst", "-sha256", "-sign", str(es.key), "-binary", data=si.encode())
    assert_refused(es.port, 401, path="/?token=" + si + "." + b64u(der))
    assert_refused(es.port, 401, path="/?token=" + hs256(claims(), header={"alg": "HS256"}))


# ---- key files re-read -----------------------------------------------------

def test_secret_file_rotation_keeps_connections(start_server, tmp_path):
    f = tmp_path / "secret"
    f.write_text("first-secret-first-secret-first-secret\n")
    s = start_server({"auth-secret-file": str(f)})
    old = authed_client(s.port, hs256(claims("nan"), secret="first-secret-first-secret-first-secret"))
    room = unique_room()
    old.join(room)
    try:
        tmp = tmp_path / "secret.new"
        tmp.write_text("second-secret-second-secret-second\n")
        os.rename(tmp, f)
        new_tok = hs256(claims("oli"), secret="second-secret-second-secret-second")
        deadline = time.monotonic() + 6.5
        while True:
            try:
                c = WsClient.connect(s.port, path="/?token=" + new_tok)
                break
            except HandshakeRefused as e:
                assert e.status == 401
                assert time.monotonic() < deadline, "the new key was not used within 6.5 s"
                time.sleep(0.25)
        c.close()
        assert_refused(s.port, 401, path="/?token=" + hs256(
            claims("nan"), secret="first-secret-first-secret-first-secret"))
        old.broadcast(room, "still here")
        assert expect_json(old, "broadcast")["content"] == "still here"
        # a bad new file (empty) keeps the key in use
        f.write_text("")
        time.sleep(1.5)
        c = WsClient.connect(s.port, path="/?token=" + new_tok)
        c.close()
    finally:
        old.close()


def test_public_key_rotation(start_server, tmp_path):
    k1, p1 = make_keys(tmp_path, "rsa1")
    k2, p2 = make_keys(tmp_path, "rsa2")
    live = tmp_path / "live.pem"
    shutil.copy(p1, live)
    s = start_server({"auth-public-key-file": str(live), "auth-alg": "RS256"})
    old = WsClient.connect(s.port, path="/?token=" + pk_sign(claims("pat"), k1, "RS256"))
    try:
        tmp = tmp_path / "live.new"
        shutil.copy(p2, tmp)
        os.rename(tmp, live)
        tok2 = pk_sign(claims("quin"), k2, "RS256")
        deadline = time.monotonic() + 6.5
        while True:
            c = WsClient.connect(s.port)
            m = auth(c, tok2)
            c.close()
            if m["type"] == "authed":
                break
            assert m.get("code") == "unauthorized", m
            assert time.monotonic() < deadline, "the new key was not used within 6.5 s"
            time.sleep(0.25)
        assert_refused(s.port, 401, path="/?token=" + pk_sign(claims("pat"), k1, "RS256"))
        old.ping_check()
    finally:
        old.close()


# ---- auth off, and configuration errors -----------------------------------

def test_auth_message_when_auth_is_off(server):
    c = WsClient.connect(server.port)
    try:
        c.send_json({"type": "auth", "token": hs256(claims())})
        c.expect_error("unauthorized", ref="auth")
        c.join(unique_room())  # no auth needed
    finally:
        c.close()


@pytest.mark.server_only
@pytest.mark.parametrize("opts,name", [
    ({"auth-secret": "s" * 32, "auth-alg": "RS256"}, "auth-alg"),
    ({"auth-secret": "s" * 32, "auth-secret-file": "/nonexistent"}, "auth-secret"),
    ({"auth-alg": "HS512", "auth-secret": "s" * 32}, "auth-alg"),
    ({"auth-secret-file": "/nonexistent/roomcast-secret"}, "auth-secret-file"),
    ({"auth-public-key-file": "/nonexistent/k.pem", "auth-alg": "RS256"}, "auth-public-key-file"),
    ({"auth-audience": "x"}, "auth-audience"),
    ({"auth-timeout-s": "0"}, "auth-timeout-s"),
])
def test_bad_auth_config_stops_the_start(opts, name):
    for attempt in range(3):  # free_port() is racy: a port taken meanwhile
        args = [SERVER_BIN, "--port", str(free_port()), "--status-port", str(free_port())]
        for k, v in opts.items():
            args += ["--option", "%s=%s" % (k, v)]
        p = subprocess.run(args, capture_output=True, text=True, timeout=15,
                           stdin=subprocess.DEVNULL)
        if serverctl.BIND_ERROR not in p.stderr:
            break
    assert p.returncode > 0, (p.returncode, p.stderr)
    assert any(name in l for l in p.stderr.splitlines()), p.stderr
