"""A fake of Twilio's Messages API on loopback, for tests: it checks each request the way Twilio
would (path, HTTP Basic auth, form fields), records it, and answers as scripted.

Like Twilio, a message exists once its request has been received: a request whose answer never
reaches the client (the client was killed meanwhile) still shows in GET .../Messages.json, which is
what Emporium asks after a crash to avoid sending a text twice."""
import base64
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-twilio-auth-token-not-a-secret"
FROM = "+15005550006"
INVALID_NUMBER = "+15005550001"  # Twilio's test number for "invalid 'To' phone number" (21211)


class _QuietServer(ThreadingHTTPServer):
    """Tests kill the sender with -9 mid-request on purpose: a reset connection is expected, not news."""

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class FakeTwilio:
    def __init__(self):
        self.lock = threading.Condition()
        self.posts = []       # every POST: {"path", "auth", "content_type", "form", "status"}
        self.messages = []    # created messages, oldest first: {"sid", "to", "from", "body"}
        self.fail_next = {}   # number -> list of statuses to answer before succeeding (e.g. [503])
        self.delay = 0.0      # seconds to wait before answering a POST
        self.on_message = None  # called with (count, message) after a message is created, before answering
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, body):
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client went away (killed by the test)

            def authorised(self):
                expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
                return self.headers.get("Authorization") == expected

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                if url.path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                    return self.answer(404, {"code": 20404, "message": "not found"})
                if not self.authorised():
                    return self.answer(401, {"code": 20003, "message": "Authenticate"})
                to = urllib.parse.parse_qs(url.query).get("To", [None])[0]
                with fake.lock:
                    found = [m for m in reversed(fake.messages) if to is None or m["to"] == to]
                self.answer(200, {"messages": found, "page": 0})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                form = urllib.parse.parse_qs(raw, keep_blank_values=True)
                post = {"path": self.path, "auth": self.headers.get("Authorization"),
                        "content_type": self.headers.get("Content-Type"),
                        "traceparent": self.headers.get("traceparent"),
                        "form": {k: v[0] if len(v) == 1 else v for k, v in form.items()}}
                if self.path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
                    status, body = 404, {"code": 20404, "message": "The requested resource was not found"}
                elif not self.authorised():
                    status, body = 401, {"code": 20003, "message": "Authenticate"}
                else:
                    to = post["form"].get("To")
                    with fake.lock:
                        scripted = fake.fail_next.get(to) or []
                        failure = scripted.pop(0) if scripted else None
                    if to == INVALID_NUMBER:
                        status, body = 400, {"code": 21211, "message": f"The 'To' number {to} is not a valid phone number.",
                                             "status": 400}
                    elif failure:
                        status, body = failure, {"code": 20500 if failure >= 500 else 20429,
                                                 "message": "Service unavailable" if failure >= 500 else "Too many requests",
                                                 "status": failure}
                    else:
                        status, body = 201, None
                post["status"] = status
                with fake.lock:
                    fake.posts.append(post)
                    if status == 201:
                        message = {"sid": "SM%032x" % (len(fake.messages) + 1), "to": post["form"]["To"],
                                   "from": post["form"].get("From"), "body": post["form"]["Body"], "status": "queued"}
                        fake.messages.append(message)
                        body = message
                        count = len(fake.messages)
                    fake.lock.notify_all()
                if status == 201 and fake.on_message:
                    fake.on_message(count, message)
                if fake.delay:
                    threading.Event().wait(fake.delay)  # a slow provider, as scripted by the test
                self.answer(status, body)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def env(self):
        """The environment that points Emporium at this fake."""
        return {"EMPORIUM_TWILIO_ACCOUNT_SID": ACCOUNT_SID, "EMPORIUM_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                "EMPORIUM_TWILIO_FROM": FROM, "EMPORIUM_TWILIO_BASE_URL": self.url}

    def wait_for(self, predicate, timeout=30):
        """Waits until predicate(fake) is true, woken by each request; False on timeout."""
        with self.lock:
            return self.lock.wait_for(lambda: predicate(self), timeout)

    def posts_to(self, number):
        with self.lock:
            return [p for p in self.posts if p["form"].get("To") == number]

    def bodies(self):
        with self.lock:
            return [m["body"] for m in self.messages]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
