#!/usr/bin/env python3
"""A webhook receiver for measuring delivery lag: answers 200 to every POST and records, per
request, the time from the event's `occurred_at` (its commit) to the request's arrival.
After --seconds (or Ctrl-C) it prints how many requests came, how many distinct events, and
the lag's p50/p99/max.

    python3 bench/webhook_receiver.py --port 9099 --seconds 30"""
import argparse, json, threading, time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lags, ids, lock = [], set(), threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        arrived = time.time()
        event = json.loads(body)
        committed = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00")).timestamp()
        with lock:
            lags.append(arrived - committed)
            ids.add(event["id"])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops connection attempts when a webhook sends to many
    # owners at once, and each dropped SYN costs a second: that would be measured as lag.
    request_queue_size = 1024


def pct(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(p * len(sorted_values)))]


p = argparse.ArgumentParser()
p.add_argument("--port", type=int, default=9099)
p.add_argument("--seconds", type=float, default=30)
a = p.parse_args()
server = Server(("127.0.0.1", a.port), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
try:
    time.sleep(a.seconds)
except KeyboardInterrupt:
    pass
server.shutdown()
with lock:
    s = sorted(lags)
print(json.dumps({"requests": len(s), "events": len(ids),
                  "lag_ms": {"p50": round(1000 * pct(s, 0.50), 1), "p99": round(1000 * pct(s, 0.99), 1),
                             "max": round(1000 * s[-1], 1)} if s else None}))
