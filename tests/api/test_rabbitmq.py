"""Web node and worker as separate processes, with a real RabbitMQ between them: an order placed on
the web node becomes a text sent by the worker through (fake) Twilio. Killing the worker with -9 in
the middle of the stream and starting it again loses no text and sends none twice."""
import os
import random
import re
import signal
import subprocess
import threading
import time
import unittest

from broker import Broker
from fake_twilio import FakeTwilio
from shop import BIN, Shop, free_port
from test_notify import BODY, FAST, buyer, first_product, messages, place, wait_until


class Worker:
    def __init__(self, shop, env):
        self.shop, self.env = shop, env
        self.internal_port = free_port()
        self.log_path = os.path.join(shop.dir, "worker.log")
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "worker", "--data-dir", self.shop.data, "--only", "notify,webhooks,analytics",
                                      "--internal-port", str(self.internal_port), *FAST],
                                     env=self.env, stdout=self.log, stderr=self.log)
        # Ready once the three consumers are attached to their queues.
        wait_until(self.text, lambda t: t.count("amqp consumer ready") >= 3 * self.starts() or self.proc.poll() is not None)
        assert self.proc.poll() is None, self.text()[-2000:]

    def starts(self):
        return self.text().count('"worker running"')

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        if self.proc is None:  # never started
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
        return self.proc.returncode


class RabbitTest(unittest.TestCase):
    def test_worker_sends_texts_and_survives_kill_9(self):
        broker = Broker()
        twilio = FakeTwilio()
        twilio.delay = 0.05
        # The web node has no Twilio credentials: only the worker can send.
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + ("--events", "rabbitmq"),
                    env={"EMPORIUM_AMQP_URL": broker.url})
        worker = Worker(shop, dict(shop.env, **twilio.env()))
        try:
            worker.start()
            product = first_product(shop)
            phones = [f"+1555125{i:04d}" for i in range(24)]
            tokens = [buyer(shop, p, product) for p in phones]

            # One order first: placed on the web node, texted by the worker, in the checkout's trace
            # across both processes and the broker.
            trace_id = "%032x" % random.getrandbits(128)
            r = shop.request("POST", "/api/checkout", dict(BODY, phone=phones[0]), token=tokens[0],
                             headers={"Idempotency-Key": f"first-{trace_id}",
                                      "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
            self.assertEqual(r.status, 201, r.body)
            first = r.json
            self.assertTrue(twilio.wait_for(lambda t: t.posts_to(phones[0]), 30))
            self.assertRegex(twilio.posts_to(phones[0])[0]["traceparent"], rf"^00-{trace_id}-[0-9a-f]{{16}}-01$")
            wait_until(worker.text, lambda text: f'"trace_id":"{trace_id}"' in text)
            self.assertIn(f"Order #{first['id']} is placed", twilio.posts_to(phones[0])[0]["form"]["Body"])
            self.assertIn('"sms":"twilio"', worker.text())
            shop.wait_for_log('"events":"rabbitmq"', timeout=30)

            # Then a stream, and the worker is killed when Twilio has taken the 8th text of it.
            killed = threading.Event()

            def kill_on_eighth(count, message):
                if count == 9 and not killed.is_set():
                    worker.kill()
                    killed.set()

            twilio.on_message = kill_on_eighth
            placed = [(first["id"], phones[0])]
            for token, phone in zip(tokens[1:], phones[1:]):
                placed.append((place(shop, token, phone)["id"], phone))  # the web node never stops answering
            self.assertTrue(killed.wait(30), "the stream never reached its 8th text")
            twilio.on_message = None
            worker.start()

            self.assertTrue(twilio.wait_for(lambda t: all(t.posts_to(phone) for _, phone in placed), 60),
                            "not every order got its text")
            wait_until(lambda: messages(shop, channel="sms"),
                       lambda rows: len(rows) == len(placed) and all(r["status"] == "sent" for r in rows), timeout=60)
            for oid, phone in placed:
                texts = [p for p in twilio.posts_to(phone) if p["status"] == 201]
                self.assertEqual(len(texts), 1, f"order {oid}: {len(texts)} texts")
                self.assertIn(f"Order #{oid} is placed", texts[0]["form"]["Body"])
            # Every message was acknowledged: nothing waits in the broker or is held by a dead consumer.
            depths = wait_until(broker.queue_depths, lambda d: d.get("emporium.notify") == (0, 0), timeout=30)
            self.assertEqual(depths.get("emporium.webhooks"), (0, 0))
            wait_until(broker.queue_depths, lambda d: d.get("emporium.analytics") == (0, 0), timeout=30)
            # The text Twilio took as the worker died was in doubt at restart, and was looked up, not resent.
            self.assertIn('"resolved":"already sent"', worker.text())
            self.assertEqual(worker.stop(), 0)
        finally:
            worker.stop()
            shop.close()
            twilio.close()
            broker.close()

    def test_admin_sees_the_broker_queues_where_the_workers_backlog_lives(self):
        broker = Broker()
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + ("--events", "rabbitmq"),
                    env={"EMPORIUM_AMQP_URL": broker.url})
        worker = Worker(shop, dict(shop.env))  # no Twilio credentials: texts stay in the local outbox
        try:
            product = first_product(shop)
            phones = [f"+1555126{i:04d}" for i in range(3)]
            for phone in phones:
                place(shop, buyer(shop, phone, product), phone)
            self.assertEqual(shop.get("/api/admin/events/broker").status, 401)
            # No worker yet: the events wait in both queues, and the admin sees them there.
            def broker_view():
                r = shop.admin("GET", "/api/admin/events/broker")
                self.assertEqual(r.status, 200, r.body)
                return r.json
            seen = wait_until(broker_view,
                              lambda b: {q["queue"]: q["ready"] for q in b["queues"]}.get("emporium.notify") == 3)
            self.assertEqual(seen["mode"], "rabbitmq")
            queues = {q["queue"]: q for q in seen["queues"]}
            self.assertEqual(set(queues), {"emporium.notify", "emporium.webhooks", "emporium.analytics"})
            self.assertEqual(queues["emporium.notify"]["consumers"], 0)
            self.assertGreaterEqual(queues["emporium.webhooks"]["ready"], 3)
            self.assertEqual(broker.queue_depths().get("emporium.notify"), (3, 0))  # the broker's own count agrees

            # A worker drains them and shows as a consumer of each.
            worker.start()
            drained = wait_until(lambda: broker_view()["queues"],
                                 lambda qs: all(q["ready"] == 0 and q["consumers"] == 1 for q in qs))
            self.assertEqual(len(drained), 3)
            self.assertEqual(worker.stop(), 0)

            broker.close()
            down = shop.admin("GET", "/api/admin/events/broker")
            self.assertEqual(down.status, 503)
            self.assertEqual(down.json["error"]["code"], "broker_unavailable")
            self.assertNotIn(broker.url, down.body.decode())  # the URL holds the broker's password
        finally:
            worker.stop()
            shop.close()
            broker.close()

    def test_sales_reports_through_the_broker(self):
        """The analytics consumer in a worker: an order placed on the web node shows in the shop's
        sales report; the time it took is printed (the figure docs/PERFORMANCE.md states)."""
        broker = Broker()
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + ("--events", "rabbitmq"),
                    env={"EMPORIUM_AMQP_URL": broker.url})
        worker = Worker(shop, dict(shop.env))
        try:
            worker.start()
            product = first_product(shop)
            def orders():
                r = shop.admin("GET", "/api/seller/analytics/summary")
                self.assertEqual(r.status, 200, r.body)
                return r.json["orders"]
            before = orders()
            seconds = []
            for i in range(3):
                phone = f"+1555127{i:04d}"
                place(shop, buyer(shop, phone, product), phone)
                started = time.time()
                wait_until(orders, lambda n: n == before + i + 1, timeout=30)
                seconds.append(time.time() - started)
            print(f"freshness through RabbitMQ: {', '.join(f'{s:.3f}' for s in seconds)} s")
            self.assertEqual(worker.stop(), 0)
        finally:
            worker.stop()
            shop.close()
            broker.close()

    def test_the_web_nodes_analytics_lag_is_read_from_the_database(self):
        """A web node publishing to RabbitMQ does not apply the order events itself: its analytics
        lag (the gauge and the Sales page's lag_seconds) comes from the database, so it grows
        while no worker applies the events and falls back to 0 once one has."""
        broker = Broker()
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + ("--events", "rabbitmq"),
                    env={"EMPORIUM_AMQP_URL": broker.url})
        worker = Worker(shop, dict(shop.env))
        try:
            def lag():  # None until the figure's first sampling (every 2 s, off the scrape)
                r = shop.get("/metrics", internal=True)
                self.assertEqual(r.status, 200)
                found = re.search(r"\nemporium_analytics_lag_seconds (\S+)\n", r.body.decode())
                return float(found.group(1)) if found else None

            def page_lag():
                r = shop.admin("GET", "/api/seller/analytics/settings")
                self.assertEqual(r.status, 200, r.body)
                return r.json["lag_seconds"]

            def orders():
                return shop.admin("GET", "/api/seller/analytics/summary").json["orders"]

            wait_until(lag, lambda v: v == 0, timeout=10)
            before = orders()
            phone = "+15551270099"
            place(shop, buyer(shop, phone, first_product(shop)), phone)
            # No worker yet: the order's event waits, and the web node's lag says so as it ages.
            wait_until(lag, lambda v: v is not None and v >= 1, timeout=30)
            self.assertGreaterEqual(page_lag(), 1)
            worker.start()
            wait_until(lag, lambda v: v == 0, timeout=30)
            self.assertEqual(page_lag(), 0)
            self.assertEqual(orders(), before + 1)
            self.assertEqual(worker.stop(), 0)
        finally:
            worker.stop()
            shop.close()
            broker.close()


if __name__ == "__main__":
    unittest.main()
