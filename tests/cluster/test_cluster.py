"""The shop as a cluster (scripts/cluster.sh: three web nodes and a worker over PostgreSQL, Redis
and RabbitMQ, nginx in front), on loopback with real processes: no oversell across nodes, a change
seen on every node within a second, Redis and RabbitMQ lost under load without a wrong answer or a
lost or doubled text, a web node killed under load without losing an acknowledged order, and one
rate-limit budget per client across the nodes."""
import concurrent.futures
import random
import re
import threading
import time
import unittest

from cluster import BODY, Cluster, Load, wait_until  # noqa: I001 (puts tests/api on the path)
from fake_twilio import FakeTwilio
import pictures


def shed(reply):
    """The documented 503 of an overloaded node: error code overloaded, with Retry-After."""
    return reply.status == 503 and reply.header("retry-after") is not None and b'"overloaded"' in reply.body


class SharedClusterTest(unittest.TestCase):
    """Tests that leave the cluster whole share one (each starts from its own product and buyers)."""

    @classmethod
    def setUpClass(cls):
        cls.twilio = FakeTwilio()
        try:
            cls.cluster = Cluster(env=cls.twilio.env())
        except BaseException:
            cls.twilio.close()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.cluster.close()
        finally:
            cls.twilio.close()

    def product_on(self, node, pid):
        r = self.cluster.get(f"/api/products/{pid}", port=node.port)
        self.assertEqual(r.status, 200, r.body)
        return r.json

    def test_0_nginx_passes_only_the_public_api_and_bounds_bodies(self):
        c = self.cluster
        self.assertEqual(c.get("/api/products?per_page=1").status, 200)
        for path in ("/metrics", "/readyz", "/healthz", "/internal/leases"):
            # nginx answers the internal endpoints' paths itself, with 404...
            self.assertEqual(c.get(path).status, 404, path)
            # ...and a node's public listener has none of them either (its web page answers)...
            direct = c.get(path, port=c.nodes[0].port)
            self.assertTrue(direct.header("content-type").startswith("text/html"), (path, direct.headers))
        # ...which the node's internal listener serves.
        self.assertEqual(c.get("/internal/leases", port=c.nodes[0].internal).status, 200)
        self.assertIn(b"# TYPE", c.get("/metrics", port=c.nodes[0].internal).body)
        big = c.request("POST", "/api/auth/login", {"email": "a@example.org", "password": "x" * (2 << 20)})
        self.assertEqual(big.status, 413)
        # A product photo over that 1 MiB goes through to the node (the upload route's own limit).
        photo = pictures.png(800, 800, noise=True)
        self.assertGreater(len(photo), 1 << 20)
        pid = c.new_product(stock=1)["id"]
        up = c.request("POST", f"/api/products/{pid}/images", token=c.seller_token, raw=photo,
                       headers={"Content-Type": "image/png"})
        self.assertEqual(up.status, 201, up.body[:300])

    def test_1_no_oversell_across_nodes(self):
        """200 buyers at once through nginx over 3 nodes, stock 50: exactly 50 orders, stock 0, and
        the stock each node shows during the race is never negative."""
        c = self.cluster
        product = c.new_product(stock=50)
        buyers = c.buyers(200)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            added = list(pool.map(lambda t: c.add_to_cart(t, product["id"]).status, buyers))
        self.assertEqual(set(added), {200}, added)

        seen_stock, racing = [], threading.Event()

        def watch():
            while racing.is_set():
                for node in c.nodes:
                    seen_stock.append(self.product_on(node, product["id"])["stock"])

        start = threading.Barrier(len(buyers))

        def buy(i):
            start.wait()
            key = f"oversell-{i}"
            r = c.checkout(buyers[i], key)
            while shed(r):  # an overloaded node's 503: the buyer sends the same checkout again
                time.sleep(float(r.header("retry-after")))
                r = c.checkout(buyers[i], key)
            return r

        racing.set()
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            with concurrent.futures.ThreadPoolExecutor(len(buyers)) as pool:
                replies = list(pool.map(buy, range(len(buyers))))
        finally:
            racing.clear()
            watcher.join(60)
        statuses = [r.status for r in replies]
        self.assertEqual(statuses.count(201), 50, sorted(set(statuses)))
        self.assertEqual(statuses.count(409), 150, sorted(set(statuses)))
        self.assertTrue(all(r.json["error"]["code"] == "out_of_stock" for r in replies if r.status == 409))
        self.assertTrue(seen_stock, "the watcher never read the stock")
        self.assertGreaterEqual(min(seen_stock), 0)
        # Every node says 0 now, and the database holds exactly 50 orders of one unit.
        for node in c.nodes:
            wait_until(lambda: self.product_on(node, product["id"])["stock"], lambda s: s == 0, timeout=5)
        rows = c.sql(f"SELECT count(DISTINCT order_id), sum(quantity) FROM order_lines WHERE product_id = {product['id']}")
        self.assertEqual(rows, [["50", "50"]])
        # The orders were taken by more than one node: the race was across nodes.
        served = {line.split("upstream=")[1].split()[0] for line in c.access_log().splitlines()
                  if '"POST /api/checkout' in line and " 201 " in line}
        self.assertEqual(len(served), 3, served)
        print(f"oversell: 200 buyers, stock 50 -> {statuses.count(201)} orders over {len(served)} nodes")

    def test_2_a_change_on_one_node_is_seen_on_the_others_within_1s(self):
        c = self.cluster
        a, b, cc = c.nodes
        product = c.new_product(stock=5, price=1000)
        pid = product["id"]
        listing = "/api/products?per_page=50&sort=newest"
        # Every node has the product cached (its own level and Redis) before the change.
        for node in c.nodes:
            self.assertEqual(self.product_on(node, pid)["price_cents"], 1000)
            self.assertEqual(self.product_on(node, pid)["price_cents"], 1000)
            c.get(listing, port=node.port)
        for price in (1234, 2345):
            r = c.request("PATCH", f"/api/products/{pid}", {"price_cents": price}, token=c.seller_token, port=a.port)
            self.assertEqual(r.status, 200, r.body)
            changed = time.monotonic()
            for node in (b, cc):
                wait_until(lambda: self.product_on(node, pid)["price_cents"], lambda p: p == price,
                           timeout=max(0.0, changed + 1.0 - time.monotonic()), interval=0.01)
            took = time.monotonic() - changed
            for node in (b, cc):
                items = {p["id"]: p for p in c.get(listing, port=node.port).json["items"]}
                self.assertEqual(items[pid]["price_cents"], price)
            print(f"invalidation: price {price} seen on nodes 2 and 3 {took * 1000:.0f} ms after node 1 answered")

    def test_3_redis_killed_and_restarted_under_load(self):
        """Reads go on through nginx while Redis is killed and started again: every answer is 200 (or
        the documented 503 of an overloaded node), a change made while Redis is down and one made after
        it returns both show on every node, and the nodes use Redis again afterwards."""
        c = self.cluster
        product = c.new_product(stock=5, price=1500)
        pid = product["id"]

        def read(i):
            path = f"/api/products/{pid}" if i % 2 else "/api/products?per_page=20&sort=price_asc"
            r = c.get(path)
            return ("read", r.status, shed(r))

        load = Load(4, read)
        try:
            wait_until(load.count, lambda n: n >= 50)
            c.service("redis.sh", "kill", c.state["REDIS_DIR"])
            at_kill = load.count()
            wait_until(load.count, lambda n: n >= at_kill + 100)
            self.change_price_and_see_it_everywhere(pid, 1600, c.nodes[0])
            c.service("redis.sh", "restart", c.state["REDIS_DIR"])
            for node in c.nodes:
                wait_until(lambda: self.metric(node, "emporium_redis_up"), lambda v: v == 1.0, timeout=30)
            at_return = load.count()
            wait_until(load.count, lambda n: n >= at_return + 100)
            self.change_price_and_see_it_everywhere(pid, 1700, c.nodes[1])
        finally:
            outcomes = load.stop()
        bad = [o for o in outcomes if o[1] != 200 and not o[2]]
        self.assertEqual(bad, [], f"{len(bad)} of {len(outcomes)} reads failed")
        # The shared level works again: node 3 reads what node 1 stored in Redis. Node 1 stores
        # after it answers, so node 3 may come first: each try reads a new product.
        def node_3_hits_what_node_1_stored():
            before = self.metric(c.nodes[2], 'emporium_cache_hits_total{cache="shared"}')
            fresh = c.new_product(stock=1, price=999)
            self.assertEqual(self.product_on(c.nodes[0], fresh["id"])["price_cents"], 999)
            self.assertEqual(self.product_on(c.nodes[2], fresh["id"])["price_cents"], 999)
            return self.metric(c.nodes[2], 'emporium_cache_hits_total{cache="shared"}') > before

        wait_until(node_3_hits_what_node_1_stored, bool, timeout=30)
        print(f"redis kill and restart: {len(outcomes)} reads, "
              f"{sum(1 for o in outcomes if o[2])} shed, none failed")

    def change_price_and_see_it_everywhere(self, pid, price, via):
        c = self.cluster
        r = c.request("PATCH", f"/api/products/{pid}", {"price_cents": price}, token=c.seller_token, port=via.port)
        self.assertEqual(r.status, 200, r.body)
        for node in c.nodes:
            wait_until(lambda: self.product_on(node, pid)["price_cents"], lambda p: p == price, timeout=10)

    def metric(self, node, name):
        r = self.cluster.get("/metrics", port=node.internal)
        self.assertEqual(r.status, 200)
        for line in r.body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0

    def test_4_rabbitmq_restarted_under_load_loses_and_doubles_no_text(self):
        """Orders go on through nginx while RabbitMQ is stopped and started again: every order is
        placed, and each gets exactly one text at (fake) Twilio."""
        c, twilio = self.cluster, self.twilio
        product = c.new_product(stock=100000, price=500)
        phones = [f"+1555300{i:04d}" for i in range(4)]
        buyers = c.buyers(len(phones), phones=phones)
        placed, lock = [], threading.Lock()

        def order(i):
            r = c.add_to_cart(buyers[i], product["id"])
            if r.status != 200:
                return ("cart", r.status)
            key = f"rabbit-{i}-{random.randrange(10**12)}"
            r = c.patient("POST", "/api/checkout", dict(BODY, phone=phones[i]), token=buyers[i],
                          headers={"Idempotency-Key": key})
            if r.status == 201:
                with lock:
                    placed.append(r.json["id"])
            return ("checkout", r.status)

        load = Load(len(buyers), order)
        try:
            wait_until(lambda: len(placed), lambda n: n >= 8, timeout=60)
            c.service("rabbitmq.sh", "restart", c.state["RABBIT_DIR"])
            after = len(placed)
            wait_until(lambda: len(placed), lambda n: n >= after + 8, timeout=60)
        finally:
            outcomes = load.stop()
        failed = [o for o in outcomes if o[1] not in (200, 201)]
        self.assertEqual(failed, [], "requests failed while the broker restarted")

        def texted():
            counts = {}
            for body in twilio.bodies():
                m = re.search(r"Order #(\d+) is placed", body)
                if m:
                    counts[int(m.group(1))] = counts.get(int(m.group(1)), 0) + 1
            return counts

        counts = wait_until(texted, lambda t: all(t.get(oid) for oid in placed), timeout=300, interval=0.2)
        doubled = {oid: n for oid, n in counts.items() if n != 1}
        self.assertEqual(doubled, {}, "orders texted more than once")
        self.assertEqual(sorted(counts), sorted(placed), "texts for orders nobody placed here")
        print(f"rabbitmq restart: {len(placed)} orders, {after} before the restart ended, one text each")


    def test_5_a_node_added_takes_requests_through_nginx(self):
        c = self.cluster
        product = c.new_product(stock=3, price=4200)
        node = c.add_node()
        self.assertEqual(self.product_on(node, product["id"])["price_cents"], 4200)
        mark = f"upstream=127.0.0.1:{node.port} "
        before = c.access_log().count(mark)

        def answered_by_new_node():
            for _ in range(8):
                self.assertEqual(c.get("/api/products?per_page=1").status, 200)
            return c.access_log().count(mark)

        wait_until(answered_by_new_node, lambda n: n > before, timeout=30)


class NodeKilledTest(unittest.TestCase):
    def test_kill_9_one_node_under_load_loses_no_acknowledged_order(self):
        """A web node is killed with -9 while reads and checkouts go through nginx: reads never fail
        (nginx retries them on another node), at most the checkouts in flight on that node fail (502,
        and each is resent with its Idempotency-Key and placed once), and every acknowledged order is
        in the database afterwards."""
        c = Cluster()
        try:
            product = c.new_product(stock=100000, price=700)
            order_threads = 6
            buyers = c.buyers(order_threads)
            acked, resent, lock = [], [], threading.Lock()

            def step(i):
                if i >= order_threads:
                    r = c.get("/api/products?per_page=10&sort=price_asc")
                    return ("read", r.status, shed(r))
                r = c.add_to_cart(buyers[i], product["id"])
                if r.status != 200:
                    return ("cart", r.status, False)
                key = f"kill-{i}-{random.randrange(10**12)}"
                r = c.checkout(buyers[i], key)
                outcome = ("checkout", r.status, shed(r))
                if r.status == 502:
                    # The answer was lost with the node: the buyer sends the same checkout again,
                    # which places it once whether or not the dead node had placed it.
                    r = c.patient("POST", "/api/checkout", BODY, token=buyers[i], headers={"Idempotency-Key": key})
                    with lock:
                        resent.append(r.status)
                if r.status == 201:
                    with lock:
                        acked.append(r.json["id"])
                return outcome

            load = Load(order_threads + 3, step)
            try:
                wait_until(lambda: len(acked), lambda n: n >= 10, timeout=60)
                victim = c.nodes[1]
                victim.kill9()
                at_kill = len(acked)
                wait_until(lambda: len(acked), lambda n: n >= at_kill + 20, timeout=60)
            finally:
                outcomes = load.stop()

            reads = [o for o in outcomes if o[0] == "read"]
            self.assertTrue(reads)
            self.assertEqual([o for o in reads if o[1] != 200 and not o[2]], [], "reads failed")
            writes = [o for o in outcomes if o[0] != "read" and o[1] not in (200, 201) and not o[2]]
            # Each order thread had one request in flight when the node died.
            self.assertLessEqual(len(writes), order_threads, writes)
            self.assertTrue(all(o[1] == 502 for o in writes), writes)
            # Every acknowledged order is there, once, and each resent checkout was placed.
            self.assertEqual(resent, [201] * len(resent))
            ids = sorted(acked)
            self.assertEqual(len(set(ids)), len(ids), "two acknowledgements for one order")
            rows = c.sql(f"SELECT id FROM orders WHERE id IN ({','.join(map(str, ids))}) ORDER BY id")
            self.assertEqual([int(r[0]) for r in rows], ids)
            retried = sum(1 for line in c.access_log().splitlines() if re.search(r"upstream=\S+, ", line))
            print(f"kill -9 of a node: {len(reads)} reads all answered, {len(acked)} orders acknowledged "
                  f"({len(acked) - at_kill} after the kill), {len(writes)} writes in flight failed with 502 and were "
                  f"resent, {retried} requests retried by nginx on another node")
        finally:
            c.close()


class RateLimitTest(unittest.TestCase):
    RATE, BURST = 1, 30

    def test_one_budget_per_client_across_three_nodes(self):
        c = Cluster(env={"EMPORIUM_RATE_LIMIT": str(self.RATE), "EMPORIUM_RATE_BURST": str(self.BURST)})

        def metric(node, name):
            lines = c.get("/metrics", port=node.internal).body.decode().splitlines()
            return sum(float(l.split()[-1]) for l in lines if l.startswith(name + " ") or l.startswith(name + "{"))

        def settled_reports():
            return sum(metric(n, "emporium_rate_limit_reported_total") for n in c.nodes)

        def admitted_from(source, requests, settle):
            """Sends requests one at a time from source; with settle, each admission's report to Redis
            is answered before the next request goes out. Returns (admitted, elapsed seconds)."""
            baseline = settled_reports()
            started = time.monotonic()
            statuses = []
            for _ in range(requests):
                statuses.append(c.get("/api/products?per_page=1", source=source).status)
                if settle:
                    admitted = statuses.count(200)
                    wait_until(settled_reports, lambda n, want=baseline + admitted: n >= want, timeout=30, interval=0.01)
            self.assertEqual(statuses.count(200) + statuses.count(429), len(statuses), sorted(set(statuses)))
            return statuses.count(200), time.monotonic() - started

        try:
            # Every node shares the budget once its Redis connection is up; a node that cannot reach
            # Redis admits from its own bucket alone (emporium_rate_limit_local_only_total).
            for node in c.nodes:
                wait_until(lambda n=node: metric(n, "emporium_redis_up"), lambda up: up == 1, timeout=30)
            # With each report answered before the next request, the nodes together admit one budget:
            # the burst, what refilled meanwhile, and at most one request per node that had not yet
            # heard the budget was spent (header of src/redis/shared_limiter.h).
            admitted, elapsed = admitted_from("127.0.0.2", 4 * self.BURST, settle=True)
            nodes = {line.split("upstream=")[1].split()[0] for line in c.access_log().splitlines()
                     if line.startswith("127.0.0.2 ") and " 200 " in line}
            self.assertEqual(len(nodes), 3, nodes)  # nginx spread the client's requests over all three nodes
            self.assertGreaterEqual(admitted, self.BURST)
            self.assertLessEqual(admitted, self.BURST + self.RATE * elapsed + len(c.nodes),
                                 f"{admitted} admitted in {elapsed:.1f} s with every report answered")
            # A flood as fast as one client can send: each node also admits what comes while its
            # report is on the way, so the excess depends on Redis' round trip under the machine's
            # load, but it stays below what separate budgets admit (one burst per node, 90 here).
            flood, flood_elapsed = admitted_from("127.0.0.4", 6 * self.BURST, settle=False)
            local_only = [metric(n, "emporium_rate_limit_local_only_total") for n in c.nodes]
            self.assertEqual(local_only, [0.0] * len(c.nodes))
            self.assertGreaterEqual(flood, self.BURST)
            self.assertLess(flood, len(c.nodes) * self.BURST,
                            f"{flood} admitted in {flood_elapsed:.1f} s: as many as one budget per node")
            # Another client has its own budget.
            self.assertEqual(c.get("/api/products?per_page=1", source="127.0.0.3").status, 200)
            print(f"rate limit over 3 nodes, burst {self.BURST}: one request at a time, {admitted} admitted "
                  f"of {4 * self.BURST} in {elapsed:.1f} s; a flood, {flood} admitted of {6 * self.BURST} "
                  f"in {flood_elapsed:.1f} s")
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main()
