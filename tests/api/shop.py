"""Starts the real program on free loopback ports with a temporary data directory, and talks
HTTP to it. Shared by every API test; nothing here is mocked."""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("EMPORIUM_BIN", os.path.join(ROOT, "build", "emporium")))
ADMIN_TOKEN = "test-admin-token-0123456789"


def free_port():
    """A free port below the ephemeral range, where load tools' client sockets never land."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


class Reply:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def header(self, name):
        return self.headers.get(name.lower())


class Shop:
    def __init__(self, preset="games", products=300, extra_args=(), env=None):
        self.dir = tempfile.mkdtemp(prefix="emporium-api-")
        self.data = os.path.join(self.dir, "data")
        self.env = dict(os.environ, EMPORIUM_ADMIN_TOKEN=ADMIN_TOKEN, **(env or {}))
        self.env.pop("EMPORIUM_DATA_DIR", None)
        self.cli("seed", "--preset", preset, "--products", str(products))
        self.port, self.internal_port = free_port(), free_port()
        self.log_path = os.path.join(self.dir, "server.log")
        self.extra_args = list(extra_args)
        self.proc = None
        self.start()

    def cli(self, *args):
        r = subprocess.run([BIN, *args, "--data-dir", self.data], env=self.env, capture_output=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"emporium {' '.join(args)} failed: {r.stderr.decode()[-400:]}")
        return r

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [BIN, "serve", "--data-dir", self.data, "--port", str(self.port), "--internal-port",
             str(self.internal_port), *self.extra_args],
            env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.server_log()[-1000:])
            try:
                if self.request("GET", "/readyz", internal=True).status == 200:
                    return
            except OSError:
                time.sleep(0.05)  # polling for readiness, not synchronising a test
        raise RuntimeError("server did not become ready")

    def stop(self, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None
        return self.proc.returncode

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def server_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def connect(self, internal=False, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.internal_port if internal else self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, internal=False, raw=None, token=None, conn=None):
        c = conn or self.connect(internal)
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if token:
            h["Authorization"] = "Bearer " + token
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        payload = r.read()
        reply = Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, payload)
        if conn is None:
            c.close()
        return reply

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def admin(self, method, path, body=None, **kw):
        return self.request(method, path, body=body, token=ADMIN_TOKEN, **kw)
