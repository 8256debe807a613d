#!/usr/bin/env python3
"""Tiny capture server (stdlib only) used to record what LiteLLM's callbacks send.

Every POST (any path) is appended as one JSON line to --out:

    {"ts": <unix seconds>, "path": "/ingest/litellm", "headers": {...},
     "content_type": "...", "body_len": N,
     "body_text": "<utf-8 text>" | null,        # when the body decodes as UTF-8
     "body_b64": "<base64 of the raw bytes>"}   # always

The Authorization header is dropped. The response is 200 with an empty JSON
object (or an empty body for protobuf requests, which OTLP/HTTP accepts).

    python3 capture_server.py --out captured.jsonl [--host 127.0.0.1] [--port 0] [--port-file f]

With --port 0 a free port is chosen; the port is printed as CAPTURE_PORT=<n>
and written to --port-file if given. Listens on 127.0.0.1 only by default.
"""

import argparse
import base64
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    out_path = "captured.jsonl"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quieter than the default, to stderr
        sys.stderr.write("capture_server: %s - %s\n" % (self.address_string(), fmt % args))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size_line = self.rfile.readline().strip()
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_POST(self):
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() != "authorization"}
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        record = {
            "ts": time.time(),
            "path": self.path,
            "headers": headers,
            "content_type": self.headers.get("Content-Type"),
            "body_len": len(body),
            "body_text": text,
            "body_b64": base64.b64encode(body).decode("ascii"),
        }
        with _lock, open(self.out_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

        ctype = (self.headers.get("Content-Type") or "").lower()
        if "protobuf" in ctype:
            payload, out_type = b"", "application/x-protobuf"
        else:
            payload, out_type = b"{}", "application/json"
        self.send_response(200)
        self.send_header("Content-Type", out_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):  # simple readiness probe
        payload = b'{"ok":true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="JSONL file to append to")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", default=None)
    args = ap.parse_args()

    Handler.out_path = args.out
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file, "w", encoding="utf-8") as f:
            f.write(str(port))
    print(f"CAPTURE_PORT={port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
