#!/usr/bin/python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/seed-*.

Run with Debian's python3 from the repo root or anywhere:
    /usr/bin/python3 tests/fuzz/gen_seeds.py
It rewrites only seed-* files (crash-* regression inputs and anything else
are left alone). The seeds follow PROTOCOL.md: every message type, every
error case, and the edges (nesting, big numbers, NaN, escaped and duplicate
keys, invalid UTF-8, fragments).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def clear_seeds(target):
    d = os.path.join(HERE, "corpus", target)
    if os.path.isdir(d):
        for n in os.listdir(d):
            if n.startswith("seed-"):
                os.unlink(os.path.join(d, n))


# ---------------------------------------------------------------- codec
ROOM128 = "r" * 128
USER64 = "u" * 64


def nest(n, inner="1"):
    return "[" * n + inner + "]" * n


CODEC = {
    # every client message type
    "join": '{"type":"join","room_id":"lobby"}',
    "join-user": '{"type":"join","room_id":"lobby","user_id":"alice@x.org"}',
    "join-since": '{"type":"join","room_id":"lobby","since":3,"epoch":"abcd5678-1"}',
    "join-since-only": '{"type":"join","room_id":"lobby","since":3}',
    "join-epoch-only": '{"type":"join","room_id":"lobby","epoch":"e"}',
    "join-since-big": '{"type":"join","room_id":"a","since":18446744073709551615,"epoch":"x"}',
    "leave": '{"type":"leave","room_id":"lobby"}',
    "broadcast-str": '{"type":"broadcast","room_id":"lobby","content":"hi"}',
    "broadcast-obj": '{"type":"broadcast","room_id":"a.b:c-d_e","content":{"x":[1,2,{"y":null}],"z":true}}',
    "broadcast-arr": '{"type":"broadcast","room_id":"a","content":[false,null,-0,0.5e-3,"\\u00e9"]}',
    "broadcast-null": '{"type":"broadcast","room_id":"a","content":null}',
    "broadcast-num-big": '{"type":"broadcast","room_id":"a","content":1e400}',
    "broadcast-int-big": '{"type":"broadcast","room_id":"a","content":99999999999999999999999}',
    "broadcast-neg-big": '{"type":"broadcast","room_id":"a","content":-9223372036854775809}',
    "broadcast-tiny": '{"type":"broadcast","room_id":"a","content":4.9e-324}',
    "broadcast-nest63": '{"type":"broadcast","room_id":"a","content":%s}' % nest(62),
    "broadcast-nest64": '{"type":"broadcast","room_id":"a","content":%s}' % nest(63),
    "broadcast-nest64e": '{"type":"broadcast","room_id":"a","content":%s}' % nest(63, ""),
    "broadcast-nest65": '{"type":"broadcast","room_id":"a","content":%s}' % nest(64),
    "broadcast-ws": ' \t\r\n{ "type" : "broadcast" , "room_id" : "a" , "content" : [ 1 , 2 ] } \n',
    "broadcast-unicode": '{"type":"broadcast","room_id":"a","content":"h\u00e9llo \U0001f600 \\ud83d\\ude00"}',
    "broadcast-escapes": '{"type":"broadcast","room_id":"a","content":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000"}',
    "broadcast-lone-surrogate": '{"type":"broadcast","room_id":"a","content":"\\ud800"}',
    "broadcast-room128": '{"type":"broadcast","room_id":"%s","content":1}' % ROOM128,
    "ping": '{"type":"ping"}',
    "ping-id-num": '{"type":"ping","id":42}',
    "ping-id-str": '{"type":"ping","id":"abc"}',
    "ping-id-obj": '{"type":"ping","id":{"a":[1,"x"]}}',
    "ping-id-big": '{"type":"ping","id":1e400}',
    "direct": '{"type":"direct","to":"bob","content":{"m":"hi"}}',
    "direct-guest": '{"type":"direct","to":"guest-2","content":"x"}',
    "history": '{"type":"history","room_id":"lobby"}',
    "history-limit": '{"type":"history","room_id":"lobby","limit":5}',
    "extra-fields": '{"type":"ping","x":1,"y":[{}],"z":"w"}',
    # bad_json
    "bad-json-text": "not json",
    "bad-json-array": "[1,2]",
    "bad-json-string": '"ping"',
    "bad-json-empty": "",
    "bad-json-ws": "   ",
    "bad-json-cut": '{"type":"ping"',
    "bad-json-trailing": '{"type":"ping"}x',
    "bad-json-two": '{"type":"ping"}{"type":"ping"}',
    "bad-json-nul-after": '{"type":"ping"}\x00',
    "bad-json-nan": '{"type":"broadcast","room_id":"a","content":NaN}',
    "bad-json-inf": '{"type":"broadcast","room_id":"a","content":-Infinity}',
    "bad-json-dot": '{"type":"broadcast","room_id":"a","content":1.}',
    "bad-json-lead0": '{"type":"broadcast","room_id":"a","content":-01}',
    "bad-json-plus": '{"type":"broadcast","room_id":"a","content":+1}',
    "bad-json-hex": '{"type":"broadcast","room_id":"a","content":0x10}',
    "bad-json-ctrl": '{"type":"broadcast","room_id":"a","content":"a\x01b"}',
    "bad-json-tab-in-str": '{"type":"broadcast","room_id":"a","content":"a\tb"}',
    "bad-json-squote": "{'type':'broadcast','room_id':'a','content':'x'}",
    "bad-json-squote-content": '{"type":"broadcast","room_id":"a","content":\'x"y\'}',
    "bad-json-comment": '{"type":"ping"/*c*/}',
    "bad-json-trailing-comma": '{"type":"ping",}',
    "bad-json-bad-escape": '{"type":"broadcast","room_id":"a","content":"\\x41"}',
    "bad-json-short-u": '{"type":"broadcast","room_id":"a","content":"\\u12"}',
    "bad-json-bom": '\ufeff{"type":"ping"}',
    "bad-json-true-cut": '{"type":"broadcast","room_id":"a","content":tru}',
    # unknown_type
    "unknown-type-none": "{}",
    "unknown-type-num": '{"type":1}',
    "unknown-type-null": '{"type":null}',
    "unknown-type-name": '{"type":"nope"}',
    "unknown-type-nul": '{"type":"ping\\u0000x"}',
    "unknown-type-case": '{"type":"PING"}',
    "unknown-type-long": '{"type":"%s"}' % ("t" * 65),
    "unknown-type-64": '{"type":"%s"}' % ("t" * 64),
    # missing_field
    "missing-room": '{"type":"join"}',
    "missing-room-num": '{"type":"join","room_id":5}',
    "missing-user-null": '{"type":"join","room_id":"a","user_id":null}',
    "missing-content": '{"type":"broadcast","room_id":"a"}',
    "missing-to": '{"type":"direct","content":1}',
    "missing-to-num": '{"type":"direct","to":1,"content":1}',
    "missing-since-neg": '{"type":"join","room_id":"a","since":-1,"epoch":"e"}',
    "missing-since-float": '{"type":"join","room_id":"a","since":1.5,"epoch":"e"}',
    "missing-epoch-num": '{"type":"join","room_id":"a","since":1,"epoch":1}',
    "missing-limit-0": '{"type":"history","room_id":"a","limit":0}',
    "missing-limit-neg": '{"type":"history","room_id":"a","limit":-3}',
    "missing-limit-str": '{"type":"history","room_id":"a","limit":"5"}',
    "missing-room-and-bad-user": '{"type":"join","user_id":"bad user"}',
    # bad_room / bad_user
    "bad-room-empty": '{"type":"join","room_id":""}',
    "bad-room-129": '{"type":"join","room_id":"%s"}' % ("r" * 129),
    "bad-room-space": '{"type":"leave","room_id":"a b"}',
    "bad-room-at": '{"type":"broadcast","room_id":"a@b","content":1}',
    "bad-room-unicode": '{"type":"join","room_id":"caf\u00e9"}',
    "bad-room-nul": '{"type":"join","room_id":"a\\u0000b"}',
    "bad-room-and-user": '{"type":"join","room_id":"","user_id":""}',
    "bad-user-65": '{"type":"join","room_id":"a","user_id":"%s"}' % ("u" * 65),
    "user-64": '{"type":"join","room_id":"a","user_id":"%s"}' % USER64,
    "bad-user-slash": '{"type":"join","room_id":"a","user_id":"a/b"}',
    "bad-user-empty": '{"type":"join","room_id":"a","user_id":""}',
    "bad-to": '{"type":"direct","to":"no one","content":1}',
    # escaped and duplicate keys
    "escaped-content-key": '{"type":"broadcast","room_id":"a","cont\\u0065nt":1}',
    "escaped-type-key": '{"typ\\u0065":"ping"}',
    "escaped-type-value": '{"type":"p\\u0069ng"}',
    "escaped-room-value": '{"type":"join","room_id":"\\u0061"}',
    "dup-content": '{"type":"broadcast","room_id":"a","content":1,"content":2}',
    "dup-type": '{"type":"nope","type":"ping"}',
    "key-with-quote": '{"type":"broadcast","room_id":"a","x\\"content":5,"content":6}',
    "content-with-brackets": '{"type":"broadcast","room_id":"a","content":"]}{[,\\"","z":1}',
    "escaped-all-keys": '{"t\\u0079pe":"broadcast","room\\u005fid":"\\u0061","c\\u006fntent":-0}',
    "dup-content-escaped-last": '{"type":"broadcast","room_id":"a","content":1,"cont\\u0065nt":[2]}',
    "dup-id-escaped": '{"type":"ping","id":1,"\\u0069d":"two"}',
    "content-dup-inner": '{"t\\u0079pe":"broadcast","room_id":"a","content":{"a":1,"a":2}}',
    "content-lone-surrogates": '{"type":"direct","to":"b","content":["\\udc00","x\\ud800y"]}',
    "key-nul": '{"type\\u0000x":"nope","type":"ping"}',
    # v1.1: request ids and members
    "members": '{"type":"members","room_id":"lobby","id":"m-1"}',
    "members-no-room": '{"type":"members","id":3}',
    "id-str-64": '{"type":"join","room_id":"a","id":"%s"}' % ("i" * 64),
    "id-str-65": '{"type":"leave","room_id":"a","id":"%s"}' % ("i" * 65),
    "id-escaped-66": '{"type":"ping","id":"%s"}' % ("\\u00e9" * 33),
    "id-int-big": '{"type":"ping","id":-123456789012345678901234567890}',
    "id-float": '{"type":"ping","id":1.0}',
    "id-on-error": '{"type":"nope","id":"e"}',
    # invalid UTF-8 (closes 1007)
    "utf8-overlong": b'{"type":"ping","x":"\xc0\xaf"}',
    "utf8-surrogate": b'{"type":"ping","x":"\xed\xa0\x80"}',
    "utf8-f5": b'{"type":"ping","x":"\xf5\x80\x80\x80"}',
    "utf8-cut": b'{"type":"ping","x":"\xe2\x82"}',
    "utf8-max": b'{"type":"ping","x":"\xf4\x8f\xbf\xbf"}',
    "utf8-over-max": b'{"type":"ping","x":"\xf4\x90\x80\x80"}',
    "utf8-after-syntax-error": b'{"type" x "\xc0\x80"}',
    "utf8-outside-string": b'{"type":"ping"}\xc3\xa9',
    # fragments, as if a client split a message
    "frag-1": '{"type":"broad',
    "frag-2": 'cast","room_id":"a","content":',
    "frag-3": '[1,2,3]}',
}

# ---------------------------------------------------------------- validators
VALID = {
    "room-1": "a", "room-128": ROOM128, "room-129": "r" * 129,
    "room-charset": "AZaz09_.:-", "user-charset": "AZaz09_.@:-",
    "user-64": USER64, "user-65": "u" * 65, "empty": "",
    "space": "a b", "nul": b"ab\x00cd", "hi-bit": b"a\xffb",
    "utf8-2": "\u00e9", "utf8-3": "\u20ac", "utf8-4": "\U0001f600",
    "utf8-overlong": b"\xc0\x80", "utf8-surrogate": b"\xed\xbf\xbf",
    "utf8-e0-low": b"\xe0\x9f\xbf", "utf8-f4-high": b"\xf4\x90\x80\x80",
    "utf8-cont-only": b"\x80", "utf8-cut4": b"\xf0\x9f\x98",
    "slash": "a/b", "at-room": "a@b", "dollar": "a$b", "plus": "a+b",
    "guest-1": "guest-1", "guest-0": "guest-0", "guest-01": "guest-01",
    "guest-max": "guest-18446744073709551615",
    "guest-2p64": "guest-18446744073709551616",
    "guest-2p64-plus-1": "guest-18446744073709551617",
}

# ---------------------------------------------------------------- rconf
RCONF = {
    "all-defaults": "\x80" + "\n".join([
        "max-message-size=65536", "send-ring-size=256",
        "send-ring-bytes=1048576", "drop-policy=drop",
        "ping-interval-s=30", "pong-timeout-s=10", "max-connections=0",
        "max-rooms-per-connection=64", "max-messages-per-second=0",
        "presence-events=off", "history-size=0"]),
    "limits": "\x40" + "\n".join([
        "max-message-size=16", "max-message-size=67108864",
        "max-message-size=67108865", "max-message-size=15",
        "send-ring-size=0", "send-ring-size=65536", "send-ring-size=65537",
        "send-ring-bytes=63", "send-ring-bytes=1073741824",
        "pong-timeout-s=0", "pong-timeout-s=3601",
        "ping-interval-s=86401", "max-queued-bytes=1099511627776",
        "max-queued-bytes=1099511627777",
        "max-rooms-per-connection=0", "max-rooms-per-connection=100000",
        "max-messages-per-second=1000001", "max-connections-per-ip=3",
        "ipv6-prefix-len=31", "ipv6-prefix-len=32", "ipv6-prefix-len=128",
        "ipv6-prefix-len=129",
        "history-size=100000", "history-size=100001"]),
    "bad-numbers": "\x10" + "\n".join([
        "send-ring-size=", "send-ring-size=-1", "send-ring-size=+4",
        "send-ring-size= 4", "send-ring-size=4 ", "send-ring-size=0x10",
        "send-ring-size=4e2", "send-ring-size=18446744073709551615",
        "send-ring-size=18446744073709551616",
        "send-ring-size=99999999999999999999999999", "send-ring-size=007"]),
    "choices": "\x20" + "\n".join([
        "drop-policy=close", "drop-policy=Drop", "drop-policy=",
        "presence-events=on", "presence-events=yes", "presence-events=off"]),
    "origins": "\x30" + "\n".join([
        "allowed-origins=http://a.example, https://b.example:8443",
        "?http://a.example", "?https://b.example:8443", "?http://c",
        "allowed-origins= , ,, ", "?anything",
        "allowed-origins=" + ",".join("http://o%d" % i for i in range(32)),
        "?http://o31",
        "allowed-origins=" + ",".join("http://o%d" % i for i in range(33)),
        "?http://o0", "allowed-origins=a,,b , c ,", "?b", "? b"]),
    "unknown-and-lws": "\x08" + "\n".join([
        "status=ok", "default=1", "raw=1", "nope=1", "=1", "history-db=x",
        "auth-secret=s", "auth-secret-file=/f", "auth-timeout-s=10",
        "Send-Ring-Size=4"]),
    "errlen-0": "\x00" + "nope=1\nsend-ring-size=x\ndrop-policy=x",
    "errlen-1": "\x01" + "nope=1\nsend-ring-size=x\nallowed-origins=" +
                ",".join("o%d" % i for i in range(40)),
    "parse-uint": "\x40" + "\n".join([
        "#0,18446744073709551615,18446744073709551615",
        "#0,18446744073709551615,18446744073709551616",
        "#5,10,5", "#5,10,4", "#5,10,11", "#0,0,0", "#0,0,", "#1,1,01"]),
}

# ---------------------------------------------------------------- conf


def read(path):
    with open(path, "rb") as f:
        return f.read()


CONF = {
    "empty": "",
    "not-object": "[1,2]",
    "comment-only": "# nothing\n",
    "hash-in-string": '{"vhosts":[{"name":"a#b","port":"1", # c\n"x":"\\"#"}]}',
    "comment-no-newline": '{"a":1} # end',
    "unterminated-string": '{"a":"# not a comment',
    "escaped-quote": '{"a":"x\\\\"# comment\n}',
    "origin-num": '{"vhosts":[{"name":"s","port":"1","mounts":[{"mountpoint":"/","origin":5}]}]}',
    "port-null": '{"vhosts":[{"name":"r","port":null,"ws-protocols":[{"roomcast":{}}]}]}',
    "port-obj": '{"vhosts":[{"name":"r","port":{"a":1},"ws-protocols":[{"roomcast":{}}]}]}',
    "mounts-not-array": '{"vhosts":[{"name":"s","mounts":{"origin":"callback://roomcast-status"}}]}',
    "mount-not-object": '{"vhosts":[{"name":"s","mounts":[1,"x",null]}]}',
    "vhosts-not-array": '{"vhosts":{"name":"x"}}',
    "vhost-not-object": '{"vhosts":[1,null,"x",[]]}',
    "protocols-odd": '{"vhosts":[{"name":"r","ws-protocols":[1,{"roomcast":1},{"roomcast":{}}]}]}',
    "two-roomcast": '{"vhosts":[{"name":"a","port":"1","ws-protocols":[{"roomcast":{}}]},'
                    '{"name":"b","port":"2","ws-protocols":[{"roomcast":{}}]}]}',
    "status-vhost": '{"vhosts":[{"name":"s","port":"8081","mounts":[{"mountpoint":"/",'
                    '"origin":"callback://roomcast-status"}]}]}',
    "file-origins": '{"vhosts":[{"name":"w","port":"1","mounts":[{"mountpoint":"/","origin":"file://www"},'
                    '{"mountpoint":"/x","origin":"file:///abs"},{"mountpoint":"/y","origin":"file://"}]}]}',
    "long-origin": '{"vhosts":[{"name":"w","mounts":[{"origin":"file://%s"}]}]}' % ("d" * 5000),
    "deep": "[" * 40 + "]" * 40,
    "deep-object": '{"a":' * 40 + "1" + "}" * 40,
    "nul-inside": b'{"vhosts":[]}\x00garbage',
    "big-number": '{"vhosts":[{"name":"r","port":"99999999999999999999","ws-protocols":[{"roomcast":{}}]}]}',
    "options-strings": '{"vhosts":[{"name":"r","port":"8080","ws-protocols":[{"roomcast":'
                       '{"send-ring-size":"4","drop-policy":"close","presence-events":"on"}}]}]}',
}


def hub_seeds():
    """fuzz_hub inputs: [cfg] then [op][arg][...] (see fuzz_hub.c)."""
    def op(kind, client, arg, *more):
        return bytes([(client << 4) | kind, arg] + list(more))

    def bc(client, room, kind=0, n=5):
        return op(2, client, room, kind, n)

    def drain(client, n=5):
        return op(8, client, n)

    seeds = {}
    seeds["basic"] = bytes([0]) + b"".join([
        op(0, 0, 0 | (1 << 3)), op(0, 1, 0 | (2 << 3)), bc(0, 0),
        drain(0), drain(1), op(4, 0, 1), op(5, 0, 4, 0, 3), drain(1),
        op(1, 0, 0), op(1, 0, 0), drain(0), op(7, 2, 0), drain(2)])
    seeds["slow-drop"] = bytes([0]) + b"".join(
        [op(0, 0, 0), op(0, 1, 0)] + [bc(0, 0, 1, 10)] * 8 +
        [drain(1, 2), drain(1, 5), drain(1, 5), drain(0, 5), drain(0, 5)])
    seeds["slow-close"] = bytes([2]) + b"".join(
        [op(0, 0, 0), op(0, 1, 0)] + [bc(0, 0)] * 6 +
        [op(11, 0, 0), drain(0), op(0, 1, 0)])
    seeds["presence"] = bytes([4]) + b"".join([
        op(0, 0, 1), op(0, 1, 1), op(0, 2, 1), drain(0), drain(1),
        op(1, 1, 1), op(12, 2, 0), drain(0), drain(0)])
    seeds["rate"] = bytes([1]) + b"".join(
        [op(4, 0, 0)] * 6 + [op(10, 0, 100), op(4, 0, 0), drain(0), drain(0)])
    seeds["room-limit"] = bytes([0]) + b"".join(
        [op(0, 0, r) for r in range(5)] + [drain(0)] * 3)
    seeds["history"] = bytes([0x20]) + b"".join(
        [op(0, 0, 0)] + [bc(0, 0, 0, i) for i in range(5)] +
        [drain(0)] * 2 + [op(14, 1, 0, 2, 1), drain(1), op(15, 1, 0, 2),
                          drain(1), op(15, 0, 0, 0), drain(0)])
    seeds["queued-cap"] = bytes([0x18]) + b"".join(
        [op(0, 0, 4), op(0, 1, 4), op(0, 2, 4)] + [bc(0, 4, 1, 60)] * 6 +
        [op(11, 0, 0), drain(0)])
    seeds["direct"] = bytes([0]) + b"".join([
        op(0, 0, 0 | (1 << 3)), op(5, 1, 2, 0, 1), op(5, 1, 0, 3, 0),
        op(5, 1, 1, 2, 9), op(5, 2, 7, 0, 0), drain(0), drain(1), drain(2)])
    seeds["raw"] = bytes([0]) + op(6, 0, 15) + b'{"type":"ping"}' + \
        op(6, 1, 4) + b"\xc0\xaf{}" + op(6, 2, 3) + b"[1]" + drain(2)
    def raw(client, text):
        t = text.encode()
        return op(6, client, len(t)) + t

    seeds["raw-errors"] = bytes([0]) + b"".join([
        raw(0, '{"type":"join"}'), raw(0, '{"type":"join","room_id":""}'),
        raw(0, '{"type":"join","room_id":"a","user_id":"b c"}'),
        raw(0, '{"type":"nope"}'), raw(0, '{"type":"leave","room_id":"a"}'),
        raw(0, '{"type":"broadcast","room_id":"a","content":1}'),
        raw(0, '{"type":"history","room_id":"a","limit":0}'),
        raw(0, '{"type":"direct","to":"nobody","content":1}'),
        raw(0, 'nope'), drain(0), drain(0), drain(0)])
    seeds["raw-history"] = bytes([0x20]) + b"".join([
        raw(0, '{"type":"join","room_id":"a","user_id":"al"}'),
        raw(0, '{"type":"broadcast","room_id":"a","content":{"k":1}}'),
        drain(0),
        raw(1, '{"type":"join","room_id":"a","since":0,"epoch":"abcd5678-1"}'),
        raw(1, '{"type":"join","room_id":"a","since":9,"epoch":"abcd5678-1"}'),
        raw(1, '{"type":"join","room_id":"a","since":0}'),
        raw(1, '{"type":"history","room_id":"a","limit":1}'),
        drain(1), drain(1)])
    seeds["shutdown"] = bytes([4]) + b"".join([
        op(0, 0, 0), op(0, 1, 0), bc(0, 0), op(13, 0, 0), bc(1, 0),
        op(11, 0, 0), op(0, 0, 0), drain(0)])
    seeds["user-mismatch"] = bytes([0]) + b"".join([
        op(0, 0, 0 | (1 << 3)), op(0, 0, 1 | (2 << 3)), op(0, 0, 1 | (1 << 3)),
        drain(0)])
    return seeds


# ---------------------------------------------------------------- jwt
# fuzz_jwt.c: byte 0 = mode (% 3) | 0x10 for audience "rc" / issuer "idp";
# mode 0 = a token (HS256 ones signed with fuzz_jwt.c's FUZZ_SECRET),
# modes 1 / 2 = HEADER "\n" CLAIMS, signed by the harness (HS256 / ES256).
JWT_SECRET = b"fuzz-secret-0123456789abcdef0123"
JWT_GOOD = '{"sub":"alice","exp":1700000100}'


def b64url(b):
    import base64
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def hs256(header, claims, key=JWT_SECRET):
    import hashlib
    import hmac
    si = b64url(header.encode()) + "." + b64url(claims.encode())
    mac = hmac.new(key, si.encode(), hashlib.sha256).digest()
    return si + "." + b64url(mac)


def jwt_seeds():
    hs = '{"alg":"HS256","typ":"JWT"}'
    out = {
        "tok-good": "\0" + hs256(hs, JWT_GOOD),
        "tok-none": "\0" + b64url(b'{"alg":"none"}') + "."
                    + b64url(JWT_GOOD.encode()) + ".",
        "tok-wrong-key": "\0" + hs256(hs, JWT_GOOD, b"other"),
        "tok-padded": "\0" + hs256(hs, JWT_GOOD) + "=",
        "tok-rs256-hdr": "\0" + hs256('{"alg":"RS256"}', JWT_GOOD),
        "tok-es256-hdr": "\0" + hs256('{"alg":"ES256"}', JWT_GOOD),
        "tok-aud": "\x10" + hs256(hs, '{"sub":"a","exp":1700000100,'
                                   '"aud":["x","rc"],"iss":"idp"}'),
        "tok-rooms": "\0" + hs256(hs, '{"sub":"a","exp":1700000100,'
                                   '"rooms":["lobby","team-*"],'
                                   '"publish":[]}'),
        "tok-empty": "\0",
        "tok-dots": "\0..",
    }
    claims = {
        "good": JWT_GOOD,
        "rooms": '{"sub":"bob","exp":1700000100,"rooms":["a","b*","*"],'
                 '"publish":["a"]}',
        "readonly": '{"sub":"bob","exp":1700000100,"publish":[]}',
        "badroom": '{"sub":"bob","exp":1700000100,"rooms":["a b","**"]}',
        "aud": '{"sub":"bob","exp":1700000100,"aud":"rc","iss":"idp"}',
        "nbf": '{"sub":"bob","exp":1700000100,"nbf":1700000005}',
        "expired": '{"sub":"bob","exp":1700000000}',
        "expfloat": '{"sub":"bob","exp":1.8e9}',
        "guest": '{"sub":"guest-1","exp":1700000100}',
        "deep": '{"sub":"b","exp":1700000100,"x":[[[[[[[1]]]]]]]}',
    }
    for name, c in claims.items():
        out["hs-" + name] = "\x01" + '{"alg":"HS256"}\n' + c
        out["es-" + name] = "\x02" + '{"alg":"ES256"}\n' + c
    out["hs-crit"] = "\x01" + '{"alg":"HS256","crit":["b64"]}\n' + JWT_GOOD
    out["hs-none"] = "\x01" + '{"alg":"none"}\n' + JWT_GOOD
    out["aud-hs"] = "\x11" + '{"alg":"HS256"}\n' + claims["aud"]
    return out


def main():
    for t in ("codec", "validators", "rconf", "conf", "hub", "jwt"):
        clear_seeds("fuzz_" + t)
    for name, data in CODEC.items():
        write("fuzz_codec", name, data)
    for name, data in VALID.items():
        write("fuzz_validators", name, data)
    for name, data in RCONF.items():
        write("fuzz_rconf", name, data)
    for name, data in CONF.items():
        write("fuzz_conf", name, data)
    for name in ("conf",):
        write("fuzz_conf", "repo-" + name, read(os.path.join(ROOT, name)))
    cd = os.path.join(ROOT, "conf.d")
    for name in sorted(os.listdir(cd)):
        write("fuzz_conf", "repo-conf.d-" + name, read(os.path.join(cd, name)))
    for name, data in hub_seeds().items():
        write("fuzz_hub", name, data)
    for name, data in jwt_seeds().items():
        write("fuzz_jwt", name, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
