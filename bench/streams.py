#!/usr/bin/env python3
"""Opens N event streams (GET /v1/events/stream) on a running ledgerflow, then measures what
they cost: the service's resident memory before and with them open, and the time from
posting an entry to every stream having its event.

    python3 bench/streams.py --target 127.0.0.1:8092 --key KEY --pid PID [--streams 1000]

Connections alternate between source addresses 127.0.0.1 and 127.0.0.2, so that the default
per-address connection cap does not count them all against one address."""
import argparse, asyncio, json, time, urllib.request


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit(f"no VmRSS for pid {pid}")


async def open_stream(host, port, key, source):
    reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
    writer.write(f"GET /v1/events/stream HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
                 "Accept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n")[0]:
        raise SystemExit(f"stream refused: {head[:200]!r}")
    return reader, writer


async def wait_for(reader, needle):
    buf = b""
    while needle not in buf:
        chunk = await reader.read(65536)
        if not chunk:
            raise SystemExit("a stream closed")
        buf += chunk


def post(target, key, nonce):
    body = json.dumps({"operation": "CREDIT_ADD", "owner_id": "stream-bench", "nonce": nonce,
                       "amount": "1"}).encode()
    req = urllib.request.Request(f"http://{target}/v1/entries", data=body, method="POST",
                                 headers={"Authorization": f"Bearer {key}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.load(resp)["id"]


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--target", default="127.0.0.1:8080")
    p.add_argument("--key", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--streams", type=int, default=1000)
    a = p.parse_args()
    host, port = a.target.rsplit(":", 1)
    post(a.target, a.key, f"warm-{time.time()}")
    await asyncio.sleep(1)
    before = rss_kib(a.pid)
    streams = []
    for i in range(a.streams):
        streams.append(await open_stream(host, int(port), a.key, ("127.0.0.1", "127.0.0.2")[i % 2]))
    await asyncio.sleep(2)
    opened = rss_kib(a.pid)
    # Each stream first catches up on the warm-up event; then one more, timed.
    await asyncio.gather(*(wait_for(r, b"\n\n") for r, _ in streams))
    t0 = time.time()
    entry = post(a.target, a.key, f"timed-{time.time()}")
    await asyncio.gather(*(wait_for(r, entry.encode()) for r, _ in streams))
    fanout = time.time() - t0
    after = rss_kib(a.pid)
    print(json.dumps({"streams": a.streams, "rss_before_kib": before, "rss_open_kib": opened,
                      "rss_after_event_kib": after,
                      "added_mib": round((max(opened, after) - before) / 1024, 1),
                      "per_stream_kib": round((max(opened, after) - before) / a.streams, 1),
                      "post_to_all_streams_s": round(fanout, 3)}))
    for _, w in streams:
        w.close()


asyncio.run(main())
