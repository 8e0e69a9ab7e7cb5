"""Spans and their export (issue 16): a small OTLP/HTTP receiver of our own takes what the shop
exports and the tests check the spans and their parent links, within the web node (a span per
database transaction under the request's span) and across web node, RabbitMQ and worker; sampling
keeps failed requests whatever the ratio; and the admin Slow requests route lists requests with
their spans."""
import json
import os
import random
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from broker import Broker
from fake_twilio import FakeTwilio
from shop import Shop, free_port
from test_notify import BODY, buyer, first_product
from test_rabbitmq import Worker


class OtlpReceiver:
    """Takes OTLP/HTTP JSON posts on POST /v1/traces and keeps every span with its service name."""

    def __init__(self):
        self.spans = []
        self.posts = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/v1/traces" or self.headers.get("Content-Type") != "application/json":
                    self.send_response(404)
                    self.end_headers()
                    return
                receiver.take(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self, doc):
        with self.lock:
            self.posts += 1
            for rs in doc["resourceSpans"]:
                attrs = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
                service = attrs["service.name"]["stringValue"]
                for ss in rs["scopeSpans"]:
                    for span in ss["spans"]:
                        span = dict(span, service=service)
                        span["attrs"] = {a["key"]: next(iter(a["value"].values())) for a in span.get("attributes", [])}
                        self.spans.append(span)

    def trace(self, trace_id):
        with self.lock:
            return [s for s in self.spans if s["traceId"] == trace_id]

    def wait_for(self, trace_id, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = self.trace(trace_id)
            if predicate(spans):
                return spans
            time.sleep(0.1)
        raise AssertionError(f"spans of {trace_id} never matched: {json.dumps(self.trace(trace_id))[:3000]}")

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def traceparent(sampled=True):
    trace_id = "%032x" % random.getrandbits(128)
    parent = "%016x" % random.getrandbits(64)
    return trace_id, parent, f"00-{trace_id}-{parent}-{'01' if sampled else '00'}"


def named(spans, name, service=None):
    return [s for s in spans if s["name"] == name and (service is None or s["service"] == service)]


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.receiver = OtlpReceiver()
        # Ratio 0: only the caller's sampled flag, failures and slow requests get a trace exported.
        cls.shop = Shop(products=30, extra_args=Shop.UNLIMITED + ("--faults", "--trace-sample", "0"),
                        env={"EMPORIUM_OTLP_ENDPOINT": cls.receiver.url})

    @classmethod
    def tearDownClass(cls):
        cls.shop.close()
        cls.receiver.close()

    def test_a_request_span_holds_its_database_transactions_and_cache_lookups(self):
        trace_id, parent, header = traceparent()
        marker = "zq%08x" % random.getrandbits(32)
        # A query nobody asked before: the catalog cache misses and the database is read.
        r = self.shop.request("GET", f"/api/products?per_page=7&q={marker}", headers={"traceparent": header})
        self.assertEqual(r.status, 200, r.body)
        spans = self.receiver.wait_for(trace_id, lambda s: named(s, "GET /api/products") and named(s, "db.read"))
        [root] = named(spans, "GET /api/products")
        self.assertEqual(root["service"], "emporium")
        self.assertEqual(root["parentSpanId"], parent)  # under the caller's span
        self.assertEqual(root["kind"], 2)
        self.assertEqual(root["attrs"]["http.route"], "/api/products")
        self.assertEqual(root["attrs"]["http.response.status_code"], "200")
        self.assertNotIn(marker, json.dumps(spans))  # the route's pattern, never the client's query
        by_id = {s["spanId"]: s for s in spans}

        def under_root(span):
            while span.get("parentSpanId") in by_id:
                span = by_id[span["parentSpanId"]]
                if span is root:
                    return True
            return False

        reads = named(spans, "db.read")
        for read in reads:
            self.assertTrue(under_root(read), read)
            self.assertGreaterEqual(int(read["attrs"]["db.statements"]), 1)
            self.assertEqual(read["attrs"]["db.system"], "postgresql" if self.shop.database else "sqlite")
            self.assertGreaterEqual(int(read["startTimeUnixNano"]), int(root["startTimeUnixNano"]))
            self.assertLessEqual(int(read["endTimeUnixNano"]), int(root["endTimeUnixNano"]))
        lookups = named(spans, "cache.lookup")
        self.assertTrue(lookups)
        self.assertEqual(lookups[0]["attrs"]["cache.result"], "miss")
        self.assertTrue(all(under_root(s) for s in lookups))

    def test_a_made_up_method_is_not_a_span_name(self):
        trace_id, _, header = traceparent()
        r = self.shop.request("BREWCOFFEE", "/api/products", headers={"traceparent": header})
        self.assertEqual(r.status, 405, r.body)
        spans = self.receiver.wait_for(trace_id, lambda s: s)
        self.assertEqual([s["name"] for s in spans], ["OTHER unmatched"])
        self.assertEqual(spans[0]["attrs"]["http.request.method"], "OTHER")
        self.assertNotIn("BREWCOFFEE", json.dumps(spans))

    def test_a_sign_in_has_a_password_span(self):
        trace_id, _, header = traceparent()
        r = self.shop.request("POST", "/api/auth/login", {"email": "admin@" + self.shop.domain,
                                                          "password": "wrong password"}, headers={"traceparent": header})
        self.assertEqual(r.status, 401, r.body)
        spans = self.receiver.wait_for(trace_id, lambda s: named(s, "POST /api/auth/login") and named(s, "password.verify"))
        [root] = named(spans, "POST /api/auth/login")
        self.assertEqual(named(spans, "password.verify")[0]["parentSpanId"], root["spanId"])

    def test_unsampled_traces_are_not_exported_but_failed_ones_are(self):
        quiet_id, _, quiet = traceparent(sampled=False)
        self.assertEqual(self.shop.request("GET", "/api/products?per_page=3", headers={"traceparent": quiet}).status, 200)
        self.assertEqual(self.shop.request("PUT", "/internal/faults", {"error_ratio": 1}, internal=True).status, 200)
        try:
            failed_id, _, failed = traceparent(sampled=False)
            self.assertEqual(self.shop.request("GET", "/api/products?per_page=4", headers={"traceparent": failed}).status, 500)
        finally:
            self.assertEqual(self.shop.request("PUT", "/internal/faults", {"error_ratio": 0}, internal=True).status, 200)
        # The fault switch answers before routing: the span is named by it, not by the route.
        spans = self.receiver.wait_for(failed_id, lambda s: named(s, "GET fault"))
        self.assertEqual(named(spans, "GET fault")[0]["status"]["code"], 2)  # error
        # The failed request's export came after the unsampled one would have: nothing of it came.
        self.assertEqual(self.receiver.trace(quiet_id), [])
        metrics = self.shop.get("/metrics", internal=True).body.decode()
        self.assertRegex(metrics, r"emporium_trace_spans_exported_total [1-9]")
        self.assertIn("emporium_trace_spans_dropped_total 0", metrics)

        # The failed request is listed on the Slow requests page with its spans.
        items = self.shop.admin("GET", "/api/admin/slow-requests").json["items"]
        [item] = [i for i in items if i["trace_id"] == failed_id]
        self.assertTrue(item["failed"])
        self.assertEqual(item["status"], 500)
        self.assertEqual(item["route"], "fault")
        self.assertEqual(item["spans"][0]["parent_span_id"], named(spans, "GET fault")[0]["parentSpanId"])


class SlowRequestsTest(unittest.TestCase):
    def test_lists_requests_with_a_waterfall_of_their_spans_to_admins_only(self):
        shop = Shop(products=20)
        try:
            for page in range(1, 4):
                self.assertEqual(shop.get(f"/api/products?page={page}&per_page=5").status, 200)
            self.assertEqual(shop.request("GET", "/api/admin/slow-requests").status, 401)
            customer, _ = shop.signup(f"slow.{random.randint(1, 10**12)}@example.org")
            self.assertEqual(shop.request("GET", "/api/admin/slow-requests", token=customer).status, 403)
            r = shop.admin("GET", "/api/admin/slow-requests")
            self.assertEqual(r.status, 200, r.body)
            items = r.json["items"]
            self.assertTrue(any(i["route"] == "/api/products" for i in items), items)
            times = [i["ms"] for i in items if not i["failed"]]
            self.assertEqual(times, sorted(times, reverse=True))  # the slowest first
            for item in items:
                self.assertRegex(item["trace_id"], r"^[0-9a-f]{32}$")
                root = item["spans"][0]
                self.assertEqual(root["kind"], "server")
                self.assertEqual(root["offset_ms"], 0)
                ids = {s["span_id"] for s in item["spans"]}
                for span in item["spans"][1:]:
                    self.assertIn(span["parent_span_id"], ids)
                    self.assertGreaterEqual(span["offset_ms"], 0)
                    self.assertLessEqual(span["offset_ms"] + span["ms"], root["ms"] + 0.001)
            with_db = [i for i in items if any(s["name"] == "db.read" for s in i["spans"])]
            self.assertTrue(with_db)
        finally:
            shop.close()


class AcrossProcessesTest(unittest.TestCase):
    def test_one_trace_spans_web_node_broker_and_worker(self):
        receiver = OtlpReceiver()
        broker = Broker()
        env = {"EMPORIUM_AMQP_URL": broker.url, "EMPORIUM_OTLP_ENDPOINT": receiver.url}
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + ("--events", "rabbitmq", "--trace-sample", "0"), env=env)
        twilio = FakeTwilio()
        worker = Worker(shop, dict(shop.env, EMPORIUM_TRACE_SAMPLE="0", **twilio.env()))
        try:
            worker.start()
            product = first_product(shop)
            phone = "+15551250042"
            token = buyer(shop, phone, product)
            trace_id, parent, header = traceparent()
            r = shop.request("POST", "/api/checkout", dict(BODY, phone=phone), token=token,
                             headers={"Idempotency-Key": f"trace-{trace_id}", "traceparent": header})
            self.assertEqual(r.status, 201, r.body)

            def complete(spans):
                return (named(spans, "POST /api/checkout") and named(spans, "event.publish")
                        and len(named(spans, "event.consume", "emporium-worker")) >= 3)

            spans = receiver.wait_for(trace_id, complete, timeout=60)
            by_id = {s["spanId"]: s for s in spans}
            [root] = named(spans, "POST /api/checkout")
            self.assertEqual(root["parentSpanId"], parent)
            writes = [s for s in named(spans, "db.write") if s["parentSpanId"] == root["spanId"]]
            self.assertTrue(writes, "no transaction under the checkout's span")
            # The outbox event is dispatched under the transaction that stored it, and published from there.
            dispatches = named(spans, "event.dispatch", "emporium")
            self.assertTrue(dispatches)
            for d in dispatches:
                self.assertIn(by_id[d["parentSpanId"]]["name"], ("db.write",))
            publishes = named(spans, "event.publish", "emporium")
            for p in publishes:
                self.assertEqual(by_id[p["parentSpanId"]]["name"], "event.dispatch")
                self.assertEqual(p["kind"], 4)
            # The worker's consumers each take the message under the publish span.
            consumes = named(spans, "event.consume", "emporium-worker")
            consumers = set()
            for c in consumes:
                self.assertIn(c["parentSpanId"], {p["spanId"] for p in publishes})
                self.assertEqual(c["kind"], 5)
                consumers.add(c["attrs"]["messaging.consumer"])
            self.assertEqual(consumers, {"notify", "webhooks", "analytics"})
            # The text goes out from the worker's courier under the notify consumer's span, with
            # Twilio's call under it.
            sends = receiver.wait_for(trace_id, lambda s: named(s, "notify.send", "emporium-worker")
                                      and named(s, "http.client", "emporium-worker"), timeout=60)
            by_id = {s["spanId"]: s for s in sends}
            [send] = named(sends, "notify.send")
            self.assertEqual(send["attrs"]["notify.channel"], "sms")
            ancestors, span = [], send
            while span.get("parentSpanId") in by_id:
                span = by_id[span["parentSpanId"]]
                ancestors.append(span["name"])
            self.assertIn("event.consume", ancestors)
            self.assertEqual(ancestors[-1], "POST /api/checkout")
            [call] = named(sends, "http.client")
            self.assertEqual(call["parentSpanId"], send["spanId"])
            self.assertEqual(call["attrs"]["http.response.status_code"], "201")
            self.assertRegex(twilio.posts_to(phone)[0]["traceparent"], rf"^00-{trace_id}-{call['spanId']}-01$")
            spans = sends
            # And what the worker does inside (its database transactions) hangs under its consume span.
            worker_writes = [s for s in spans if s["service"] == "emporium-worker" and s["name"].startswith("db.")]
            self.assertTrue(worker_writes)
            for w in worker_writes:
                self.assertIn(w["parentSpanId"], by_id)
        finally:
            worker.stop()
            shop.close()
            broker.close()
            twilio.close()
            receiver.close()


if __name__ == "__main__":
    unittest.main()
