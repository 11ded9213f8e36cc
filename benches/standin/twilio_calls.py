#!/usr/bin/env python3
"""A stand-in for Twilio's create-call endpoint, for an independent dispatch run.

It shares no code with ridealong: Python's standard library only. Every
`POST /2010-04-01/Accounts/{sid}/Calls.json` is recorded (arrival time on the
system clock, the call's webhook `Url`) and answered after `--latency-ms` with a
Twilio-shaped JSON body; `Messages.json` is answered at once. `GET /arrivals`
returns what was recorded, for `ridealong bench dispatch --provider-url`:

    python3 benches/standin/twilio_calls.py --port 4020 --latency-ms 200 &
    target/release/ridealong bench dispatch --provider-url http://127.0.0.1:4020
"""

import argparse
import itertools
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

arrivals = []
lock = threading.Lock()
sids = itertools.count(1)


class Handler(BaseHTTPRequestHandler):
    latency = 0.2

    def do_POST(self):
        arrived = time.time()
        length = int(self.headers.get("Content-Length", 0))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        if self.path.endswith("/Calls.json"):
            with lock:
                arrivals.append({"at": arrived, "url": form.get("Url", [""])[0]})
            time.sleep(self.latency)
            self.answer(201, {"sid": "CA%032x" % next(sids), "status": "queued"})
        elif self.path.endswith("/Messages.json"):
            self.answer(201, {"sid": "SM%032x" % next(sids), "status": "queued"})
        else:
            self.answer(404, {"code": 20404, "message": "not found", "status": 404})

    def do_GET(self):
        if self.path == "/arrivals":
            with lock:
                self.answer(200, list(arrivals))
        else:
            self.answer(404, {"code": 20404, "message": "not found", "status": 404})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4020)
    parser.add_argument("--latency-ms", type=float, default=200)
    args = parser.parse_args()
    Handler.latency = args.latency_ms / 1000
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 1024
    server.serve_forever()


if __name__ == "__main__":
    main()
