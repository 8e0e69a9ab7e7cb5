"""Texts and webhooks over real HTTP: Emporium against a fake Twilio and a webhook receiver on
loopback. Exact request fields and auth, permanent errors not retried, 503s retried, the local
outbox without credentials, customers' on/off choice, and a kill -9 in the middle of a batch of
texts: after the restart every text went out exactly once."""
import base64
import hashlib
import hmac
import json
import random
import signal
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM, INVALID_NUMBER, FakeTwilio
from shop import Shop, free_port
from test_orders import BODY, checkout

FAST = ("--notify-backoff", "1s", "--notify-lease", "2s")


def buyer(shop, phone, product_id, sms=True):
    """A new customer with phone and an item in the cart; returns the token."""
    token, _ = shop.signup(f"texts.{random.randint(1, 10**12)}@example.org", phone=phone)
    if not sms:
        r = shop.request("PATCH", "/api/me", {"sms_notifications": False}, token=token)
        assert r.status == 200, r.body
    r = shop.request("POST", "/api/cart/items", {"product_id": product_id, "quantity": 1}, token=token)
    assert r.status in (200, 201), r.body
    return token


def place(shop, token, phone):
    r = checkout(shop, token, f"texts-{random.randint(1, 10**12)}", dict(BODY, phone=phone))
    assert r.status == 201, r.body
    return r.json


def messages(shop, **query):
    q = "&".join(f"{k}={v}" for k, v in dict(query, per_page=100).items())
    r = shop.admin("GET", "/api/admin/notifications?" + q)
    assert r.status == 200, r.body
    return r.json["items"]


def wait_until(read, predicate, timeout=30):
    """Polls read() until predicate holds on its value; returns the value. Emporium's courier
    works in the background, so its state is observed, never assumed after a delay."""
    deadline = time.time() + timeout
    while True:
        value = read()
        if predicate(value):
            return value
        if time.time() > deadline:
            raise AssertionError(f"condition never held; last value: {value}")
        time.sleep(0.05)


def first_product(shop):
    return shop.get("/api/products?per_page=50&sort=price_asc").json["items"][0]["id"]


class TwilioTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.twilio = FakeTwilio()
        cls.shop = Shop(products=30, extra_args=Shop.UNLIMITED + FAST, env=cls.twilio.env())
        cls.product = first_product(cls.shop)

    @classmethod
    def tearDownClass(cls):
        cls.shop.close()
        cls.twilio.close()

    def test_order_placed_text_has_the_exact_fields_and_auth(self):
        phone = "+15551230001"
        token = buyer(self.shop, phone, self.product)
        order = place(self.shop, token, phone)
        self.assertTrue(self.twilio.wait_for(lambda t: t.posts_to(phone)))
        post = self.twilio.posts_to(phone)[0]
        self.assertEqual(post["path"], f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
        self.assertEqual(post["auth"], "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode())
        self.assertEqual(post["content_type"], "application/x-www-form-urlencoded")
        self.assertEqual(set(post["form"]), {"To", "From", "Body"})
        self.assertEqual(post["form"]["To"], phone)
        self.assertEqual(post["form"]["From"], FROM)
        self.assertIn(f"Order #{order['id']} is placed", post["form"]["Body"])
        self.assertIn("$", post["form"]["Body"])
        row = wait_until(lambda: [m for m in messages(self.shop, channel="sms") if m["event_type"] == "order.placed"
                                  and f"#{order['id']} " in m["body"]], lambda rows: rows and rows[0]["status"] == "sent")[0]
        self.assertEqual(row["template"], "order_placed")
        self.assertTrue(row["provider_id"].startswith("SM"))
        self.assertNotIn(phone, json.dumps(row))  # masked in the admin area
        self.assertTrue(row["recipient"].endswith(phone[-2:]))
        self.assertNotIn(phone, self.shop.server_log())  # and in the log

    def test_a_checkouts_trace_goes_on_to_its_text_and_every_log_line_about_it(self):
        phone = "+15551230009"
        token = buyer(self.shop, phone, self.product)
        trace_id = "%032x" % random.getrandbits(128)
        traceparent = f"00-{trace_id}-{'%016x' % random.getrandbits(64)}-01"
        r = self.shop.request("POST", "/api/checkout", dict(BODY, phone=phone), token=token,
                              headers={"Idempotency-Key": f"trace-{trace_id}", "traceparent": traceparent})
        self.assertEqual(r.status, 201, r.body)
        self.assertTrue(self.twilio.wait_for(lambda t: t.posts_to(phone)))
        sent = self.twilio.posts_to(phone)[0]["traceparent"]
        # A span of the checkout's trace (W3C: version, trace id, a new span id, the caller's flags).
        self.assertRegex(sent, rf"^00-{trace_id}-[0-9a-f]{{16}}-01$")
        self.assertNotEqual(sent, traceparent)
        def traced():
            return [json.loads(l) for l in self.shop.server_log().splitlines() if trace_id in l]

        # The courier's line comes a moment after Twilio has the text; the request's own line is
        # written once its answer is out, which on a loaded machine can be after the courier's.
        lines = wait_until(traced, lambda ls: any(l["msg"] == "message" and l.get("status") == "sent" for l in ls)
                           and any(l["msg"] == "request" for l in ls))
        self.assertIn("/api/checkout", [l.get("path") for l in lines if l["msg"] == "request"])
        self.assertTrue(all(l["trace_id"] == trace_id for l in lines))
        # A request without a trace gets a new one of its own.
        def product_lines():
            return [json.loads(l) for l in self.shop.server_log().splitlines() if '"route":"/api/products"' in l]
        before = len(product_lines())
        self.shop.get("/api/products?per_page=1")
        self.shop.get("/api/products?per_page=2")
        ids = [l["trace_id"] for l in wait_until(product_lines, lambda ls: len(ls) >= before + 2)][-2:]
        self.assertEqual(len(ids), 2)
        self.assertNotEqual(ids[0], ids[1])
        for i in ids:
            self.assertRegex(i, r"^[0-9a-f]{32}$")

    def test_shipped_and_cancelled_orders_text_too(self):
        phone = "+15551230002"
        token = buyer(self.shop, phone, self.product)
        first = place(self.shop, token, phone)
        shipped = self.shop.admin("POST", f"/api/seller/orders/{first['id']}/ship")
        self.assertEqual(shipped.status, 200, shipped.body)
        self.shop.request("POST", "/api/cart/items", {"product_id": self.product, "quantity": 1}, token=token)
        second = place(self.shop, token, phone)
        self.assertEqual(self.shop.request("POST", f"/api/orders/{second['id']}/cancel", token=token).status, 200)
        self.assertTrue(self.twilio.wait_for(lambda t: len(t.posts_to(phone)) >= 4))
        bodies = [p["form"]["Body"] for p in self.twilio.posts_to(phone)]
        self.assertEqual(len(bodies), 4, bodies)
        self.assertTrue(any(f"order #{first['id']} is on its way" in b for b in bodies), bodies)
        self.assertTrue(any(f"order #{second['id']} is cancelled" in b for b in bodies), bodies)

    def test_a_permanently_bad_number_is_not_retried(self):
        token = buyer(self.shop, INVALID_NUMBER, self.product)
        order = place(self.shop, token, INVALID_NUMBER)
        row = wait_until(lambda: [m for m in messages(self.shop, channel="sms") if f"#{order['id']} " in m["body"]],
                         lambda rows: rows and rows[0]["status"] == "failed")[0]
        self.assertIn("21211", row["last_error"])
        self.assertEqual(row["attempts"], 1)
        self.assertEqual(len(self.twilio.posts_to(INVALID_NUMBER)), 1)
        # An admin may try again; it fails the same way, once more.
        retried = self.shop.admin("POST", f"/api/admin/notifications/{row['id']}/retry")
        self.assertEqual((retried.status, retried.json["status"]), (200, "pending"))
        self.assertTrue(self.twilio.wait_for(lambda t: len(t.posts_to(INVALID_NUMBER)) == 2))
        wait_until(lambda: [m for m in messages(self.shop, channel="sms") if m["id"] == row["id"]],
                   lambda rows: rows[0]["status"] == "failed")
        sent = self.shop.admin("POST", f"/api/admin/notifications/{row['id']}/retry")
        self.assertEqual(sent.status, 200)

    def test_a_refused_number_quoted_by_twilio_is_masked_everywhere(self):
        """Twilio's 21211 answer quotes the number; the send log, the admin JSON, the log lines
        and the database's files (with their write-ahead log, on either backend) must not."""
        token = buyer(self.shop, INVALID_NUMBER, self.product)
        order = place(self.shop, token, INVALID_NUMBER)
        row = wait_until(lambda: [m for m in messages(self.shop, channel="sms") if f"#{order['id']} " in m["body"]],
                         lambda rows: rows and rows[0]["status"] == "failed")[0]
        self.assertIn("21211", row["last_error"])
        self.assertIn("+1 ****0001", row["last_error"])  # what is left of the number
        self.shop.wait_for_log("21211")
        digits = INVALID_NUMBER[1:]
        admin_json = self.shop.admin("GET", "/api/admin/notifications?channel=sms&per_page=100").body
        files = self.shop.database_files()
        places = {"admin JSON": admin_json, "server log": self.shop.server_log().encode(), **files}
        self.assertIn(self.shop.wal_name, places)
        # The scan reads what the database holds: the product's name, kept in clear, is in its files.
        product_name = self.shop.get(f"/api/products/{self.product}").json["name"].encode()
        self.assertTrue(any(product_name in data for data in files.values()), product_name)
        found = [where for where, text in places.items() for needle in (INVALID_NUMBER, digits, digits[1:])
                 if needle.encode() in text]
        self.assertEqual(found, [])
        print(f"PII scan (Twilio 21211): {len(places)} places ({', '.join(sorted(places))}), number found in none")

    def test_503_is_retried_with_backoff_then_succeeds(self):
        phone = "+15551230003"
        with self.twilio.lock:
            self.twilio.fail_next[phone] = [503, 429]
        token = buyer(self.shop, phone, self.product)
        order = place(self.shop, token, phone)
        row = wait_until(lambda: [m for m in messages(self.shop, channel="sms") if f"#{order['id']} " in m["body"]],
                         lambda rows: rows and rows[0]["status"] == "sent")[0]
        self.assertEqual(row["attempts"], 3)
        self.assertEqual([p["status"] for p in self.twilio.posts_to(phone)], [503, 429, 201])

    def test_customers_who_turned_texts_off_get_none(self):
        phone = "+15551230004"
        token = buyer(self.shop, phone, self.product, sms=False)
        place(self.shop, token, phone)
        # A text for someone else, placed after, goes out: the quiet one was skipped, not delayed.
        later_phone = "+15551230005"
        place(self.shop, buyer(self.shop, later_phone, self.product), later_phone)
        self.assertTrue(self.twilio.wait_for(lambda t: t.posts_to(later_phone)))
        self.assertEqual(self.twilio.posts_to(phone), [])

    def test_admin_routes_check_input_and_roles(self):
        customer, _ = self.shop.signup(f"nosy.{random.randint(1, 10**12)}@example.org")
        for path in ("/api/admin/notifications", "/api/admin/webhooks", "/api/admin/events/dead-letters",
                     "/api/admin/events/subscribers"):
            self.assertEqual(self.shop.get(path).status, 401)
            self.assertEqual(self.shop.get(path, token=customer).status, 403)
        bad = self.shop.admin("GET", "/api/admin/notifications?status=lost&channel=fax")
        self.assertEqual(bad.status, 422)
        self.assertEqual({f["field"] for f in bad.json["error"]["details"]["fields"]}, {"status", "channel"})
        self.assertEqual(self.shop.admin("POST", "/api/admin/notifications/999999/retry").status, 404)
        self.assertEqual(self.shop.admin("POST", "/api/admin/events/dead-letters/999999/replay").status, 404)
        subscribers = self.shop.admin("GET", "/api/admin/events/subscribers").json["items"]
        self.assertEqual({s["name"] for s in subscribers}, {"cache", "analytics", "notify", "webhooks"})


class TwilioDownTest(unittest.TestCase):
    def test_checkout_succeeds_and_texts_wait_while_twilio_is_unreachable(self):
        twilio = FakeTwilio()
        env = dict(twilio.env(), EMPORIUM_TWILIO_BASE_URL=f"http://127.0.0.1:{free_port()}")  # nobody listens
        twilio.close()
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + FAST, env=env)
        try:
            phone = "+15551236666"
            order = place(shop, buyer(shop, phone, first_product(shop)), phone)
            self.assertEqual(order["status"], "placed")
            row = wait_until(lambda: messages(shop, channel="sms"),
                             lambda rows: rows and rows[0]["attempts"] >= 2)[0]
            self.assertIn(row["status"], ("pending", "sending"))
            # The first attempt got no answer; every later one asks Twilio first whether it took the
            # text after all, and cannot reach it either.
            self.assertTrue(row["last_error"].startswith(("network: ", "in doubt: ")), row["last_error"])
            if row["status"] == "pending":  # between attempts: the next one is scheduled
                self.assertIsNotNone(row["next_attempt_at"])
        finally:
            shop.close()


class Receiver:
    """A webhook endpoint on loopback that records what it gets and answers as scripted."""

    def __init__(self):
        self.lock = threading.Condition()
        self.received = []
        self.statuses = []  # answered in turn; 200 when empty
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                              "body": body, "status": status})
                    receiver.lock.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/emporium"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class WebhookTest(unittest.TestCase):
    def test_signed_posts_with_retries(self):
        receiver = Receiver()
        # No Twilio: texts stay local. The receiver is on loopback, which this shop is told to allow.
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + FAST + ("--webhook-private-targets",))
        try:
            bad = shop.admin("POST", "/api/admin/webhooks", {"url": "ftp://example.org/x", "events": ["order.placed"]})
            self.assertEqual(bad.status, 422)
            self.assertEqual(shop.admin("POST", "/api/admin/webhooks", {"url": receiver.url, "events": ["nope"]}).status,
                             422)
            created = shop.admin("POST", "/api/admin/webhooks", {"url": receiver.url, "events": ["order.placed"]})
            self.assertEqual(created.status, 201, created.body)
            secret = created.json["secret"]
            self.assertTrue(secret.startswith("whsec_"))
            listed = shop.admin("GET", "/api/admin/webhooks").json["items"]
            self.assertEqual([(w["url"], w["events"]) for w in listed], [(receiver.url, ["order.placed"])])
            self.assertNotIn("secret", listed[0])

            with receiver.lock:
                receiver.statuses = [500]
            product = first_product(shop)
            phone = "+15551239999"
            order = place(shop, buyer(shop, phone, product), phone)
            with receiver.lock:
                self.assertTrue(receiver.lock.wait_for(lambda: len(receiver.received) >= 2, 30))
            first, second = receiver.received[:2]
            self.assertEqual([first["status"], second["status"]], [500, 200])
            self.assertEqual(first["body"], second["body"])
            event = json.loads(second["body"])
            self.assertEqual(event["type"], "order.placed")
            self.assertEqual(event["data"]["order_id"], order["id"])
            self.assertNotIn(phone, second["body"].decode())
            h = second["headers"]
            self.assertEqual(h["x-emporium-event"], "order.placed")
            self.assertEqual(h["x-emporium-event-id"], str(event["id"]))
            parts = dict(p.split("=", 1) for p in h["x-emporium-signature"].split(","))
            expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + second["body"], hashlib.sha256).hexdigest()
            self.assertEqual(parts["v1"], expected)
            self.assertLess(abs(int(parts["t"]) - time.time()), 60)

            # The text of that order sits in the local outbox: no Twilio credentials here.
            local = wait_until(lambda: messages(shop, channel="sms"), lambda rows: rows and rows[0]["status"] == "local")
            self.assertIn(f"#{order['id']} ", local[0]["body"])
            self.assertNotIn(phone, shop.server_log())
            self.assertIn("local", shop.wait_for_log('"status":"local"'))

            # This node delivers its own events: there is no broker to show.
            self.assertEqual(shop.admin("GET", "/api/admin/events/broker").json, {"mode": "inprocess", "queues": []})

            hook_id = listed[0]["id"]
            self.assertEqual(shop.admin("DELETE", f"/api/admin/webhooks/{hook_id}").status, 204)
            self.assertEqual(shop.admin("DELETE", f"/api/admin/webhooks/{hook_id}").status, 404)
            self.assertEqual(shop.admin("GET", "/api/admin/webhooks").json["items"], [])
        finally:
            shop.close()
            receiver.close()


    def test_private_targets_are_refused_by_default(self):
        receiver = Receiver()
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + FAST)
        try:
            port = receiver.server.server_address[1]
            for url in (receiver.url, f"http://localhost:{port}/x", f"http://[::1]:{port}/x",
                        "http://169.254.169.254/latest/meta-data/", "https://10.0.0.8/hook"):
                refused = shop.admin("POST", "/api/admin/webhooks", {"url": url, "events": []})
                self.assertEqual(refused.status, 422, url)
                self.assertEqual([f["field"] for f in refused.json["error"]["details"]["fields"]], ["url"])
            self.assertEqual(shop.admin("GET", "/api/admin/webhooks").json["items"], [])

            # "127.1" is no address to a URL parser, so it passes registration as a name, but the
            # resolver reads it as 127.0.0.1: what a name resolves to is checked at every connect,
            # so the post is refused before a byte leaves and the receiver listening there hears nothing.
            created = shop.admin("POST", "/api/admin/webhooks",
                                 {"url": f"http://127.1:{port}/hooks/emporium", "events": ["order.placed"]})
            self.assertEqual(created.status, 201, created.body)
            product = first_product(shop)
            place(shop, buyer(shop, "+15551230001", product), "+15551230001")
            row = wait_until(lambda: messages(shop, channel="webhook"),
                             lambda rows: rows and rows[0]["attempts"] >= 2)[0]
            self.assertEqual(row["last_error"], "network: refused: the address is not public")
            self.assertEqual(receiver.received, [])
        finally:
            shop.close()
            receiver.close()


class CrashTest(unittest.TestCase):
    def test_kill_9_in_the_middle_of_a_batch_sends_each_text_once(self):
        twilio = FakeTwilio()
        twilio.delay = 0.05
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + FAST + ("--notify-senders", "3"), env=twilio.env())
        try:
            product = first_product(shop)
            # Stop the courier's world: kill the shop the moment Twilio has taken the 6th text,
            # before its answer can reach the shop, so that text is in doubt at restart.
            killed = threading.Event()

            def kill_on_sixth(count, message):
                if count == 6 and not killed.is_set():
                    shop.proc.send_signal(signal.SIGKILL)
                    killed.set()

            twilio.on_message = kill_on_sixth
            phones = [f"+1555124{i:04d}" for i in range(15)]
            tokens = [buyer(shop, p, product) for p in phones]
            placed = []
            for token, phone in zip(tokens, phones):
                try:
                    placed.append((place(shop, token, phone)["id"], phone))
                except (AssertionError, OSError):
                    break  # the kill landed during this checkout: it was never answered
            self.assertTrue(killed.wait(30), "the batch never reached its 6th text")
            shop.proc.wait()
            shop.stop()
            twilio.on_message = None
            shop.start()
            # Six orders were placed (six texts went out); the kill may take the sixth one's answer.
            self.assertGreaterEqual(len(placed), 5)
            self.assertTrue(twilio.wait_for(lambda t: all(t.posts_to(phone) for _, phone in placed), 60),
                            "not every answered order got its text")
            # Let the courier settle what was in doubt, then count: one text per order, never two.
            wait_until(lambda: messages(shop, channel="sms"),
                       lambda rows: rows and all(r["status"] == "sent" for r in rows), timeout=60)
            for oid, phone in placed:
                texts = [p for p in twilio.posts_to(phone) if p["status"] == 201]
                self.assertEqual(len(texts), 1, f"order {oid}: {len(texts)} texts")
                self.assertIn(f"Order #{oid} is placed", texts[0]["form"]["Body"])
            for phone in phones:
                self.assertLessEqual(len(twilio.posts_to(phone)), 1, phone)
            shop.wait_for_log('"resolved":"already sent"', timeout=30)  # written by a background thread
        finally:
            shop.close()
            twilio.close()

    def test_a_send_that_timed_out_after_twilio_took_it_is_not_sent_again(self):
        """Twilio takes the text but answers after the shop stopped waiting (its timeout is half the
        2 s lease here): the next attempt finds the text in Twilio's list and sends nothing."""
        twilio = FakeTwilio()
        twilio.delay = 2.5  # past the shop's 1 s send timeout, after the message is recorded
        shop = Shop(products=5, extra_args=Shop.UNLIMITED + FAST, env=twilio.env())
        try:
            phone = "+15551240099"
            order = place(shop, buyer(shop, phone, first_product(shop)), phone)
            row = wait_until(lambda: [m for m in messages(shop, channel="sms") if f"#{order['id']} " in m["body"]],
                             lambda rows: rows and rows[0]["status"] == "sent", timeout=60)[0]
            self.assertEqual(row["attempts"], 2)  # the one that timed out, and the one that looked it up
            posts = twilio.posts_to(phone)
            self.assertEqual([p["status"] for p in posts], [201], "the text went to Twilio twice")
            self.assertEqual(row["provider_id"], twilio.messages[0]["sid"])
        finally:
            shop.close()
            twilio.close()


if __name__ == "__main__":
    unittest.main()
