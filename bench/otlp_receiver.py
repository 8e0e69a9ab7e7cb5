#!/usr/bin/env python3
"""A minimal OTLP/HTTP JSON receiver for the tracing benchmark: answers 200 to POST /v1/traces and
counts the spans it took. Prints nothing; GET /count answers the count. Usage: otlp_receiver.py PORT"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

spans = 0
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global spans
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        n = sum(len(ss["spans"]) for rs in body["resourceSpans"] for ss in rs["scopeSpans"])
        with lock:
            spans += n
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self):
        with lock:
            text = str(spans).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
