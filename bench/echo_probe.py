#!/usr/bin/python3
"""Echo latency of one client while other connections sit idle.

    echo_probe.py --port N [--big 60000] [--small 64] [--count 5]
                  [--json-out FILE] [--label NAME]

One client joins a room of its own and broadcasts, one at a time, --count
messages of --big bytes of content, then --count of --small bytes; the
time from send() to the echo of its own broadcast is measured (roomcast
protocol: a member gets its own broadcast). Run it while
`loadgen --scenario idle` holds N connections (bench/run.sh, scenario
idlecho): in lws 4.1.6's poll() loop every turn costs O(connections) and a
large message arrives in one turn per rx_buffer_size bytes. Prints one JSON
line: median and max in microseconds per size. Bounded: 10 s per echo.
"""
import argparse
import asyncio
import json
import statistics
import sys
import time

import websockets


async def echo_once(ws, room, size, tag):
    content = tag + "x" * (size - len(tag))
    msg = json.dumps({"type": "broadcast", "room_id": room, "content": content})
    t0 = time.monotonic_ns()
    await ws.send(msg)
    while True:
        raw = await asyncio.wait_for(ws.recv(), 10)
        if isinstance(raw, str) and tag in raw[:200] and '"broadcast"' in raw:
            return (time.monotonic_ns() - t0) // 1000


async def main(a):
    url = f"ws://127.0.0.1:{a.port}/"
    async with websockets.connect(url, subprotocols=["roomcast.v1"],
                                  max_size=None, open_timeout=30,
                                  ping_interval=None) as ws:
        room = "echo-probe"
        await ws.send(json.dumps({"type": "join", "room_id": room}))
        while True:
            m = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if m.get("type") == "joined":
                break
        res = {"tool": "roomcast-echo-probe", "label": a.label}
        for name, size in (("big", a.big), ("small", a.small)):
            lat = []
            for i in range(a.count):
                lat.append(await echo_once(ws, room, size, f"probe-{name}-{i}:"))
                await asyncio.sleep(0.05)
            res[name] = {"size": size, "median_us": int(statistics.median(lat)),
                         "max_us": max(lat), "all_us": lat}
    return res


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--big", type=int, default=60000)
    p.add_argument("--small", type=int, default=64)
    p.add_argument("--count", type=int, default=5)
    p.add_argument("--label", default="roomcast")
    p.add_argument("--idle", type=int, default=0, help="recorded only")
    p.add_argument("--json-out")
    a = p.parse_args()
    try:
        r = asyncio.run(asyncio.wait_for(main(a), 120))
    except Exception as e:  # one line the runner can show
        print(json.dumps({"error": repr(e)}))
        sys.exit(1)
    r["idle_conns"] = a.idle
    line = json.dumps(r)
    print(line)
    if a.json_out:
        with open(a.json_out, "w") as f:
            f.write(line + "\n")
