"""The database pool as operators see it: its figures on /metrics, the db_pool_saturated alert, and
503 database_unavailable (never 500) for a request that found no free connection in time. On a
PostgreSQL server of its own (or EMPORIUM_TEST_DATABASE_URL's): a table lock held from psql keeps
the shop's connections busy."""
import concurrent.futures
import json
import random
import re
import subprocess
import time
import unittest

from shop import PII_KEY, Shop, drop_database, fresh_database, postgres_server
from test_notify import wait_until


def metric(shop, name):
    # A scrape never waits for the database, but it may wait for a worker thread that the held
    # requests occupy: on a busy machine that can take longer than the default 10 s.
    text = shop.get("/metrics", internal=True, conn=shop.connect(internal=True, timeout=60)).body.decode()
    found = re.search(r"^" + name + r" (\S+)$", text, re.M)
    assert found, f"{name} not on /metrics"
    return float(found.group(1))


class DatabasePoolTest(unittest.TestCase):
    def setUp(self):
        self.database = fresh_database(postgres_server())
        self.shop = Shop(products=20, database=self.database, pii_key=PII_KEY,
                         extra_args=Shop.UNLIMITED + ("--db-pool", "2", "--db-pool-wait", "250ms",
                                                      "--db-statement-timeout", "60s", "--alert-interval", "1s",
                                                      "--alert-db-pool-hold", "0s"))

    def tearDown(self):
        self.shop.close()
        drop_database(self.database)

    def test_a_saturated_pool_shows_in_metrics_alerts_and_answers_503_not_500(self):
        shop = self.shop
        self.assertEqual(metric(shop, "emporium_db_pool_size"), 2)
        # A pool this small may be saturated by the background jobs starting together (and the
        # figures sampled for /metrics every 2 s take a connection too): wait until nobody waits
        # and the rule is quiet, then count only what comes after.
        wait_until(lambda: metric(shop, "emporium_db_pool_waiting"), lambda waiting: waiting == 0)
        waited_before = metric(shop, "emporium_db_pool_wait_seconds_total")
        wait_until(lambda: shop.server_log(), lambda log: self.saturation_lines(log)[-1:] in ([], ["alert resolved"]))
        quiet = len(self.saturation_lines(shop.server_log()))

        # Buyers, and a product for their carts, made before the lock.
        tokens = [shop.signup(f"pool{i}.{random.randint(1, 10**12)}@example.org")[0] for i in range(4)]
        product_id = shop.get("/api/products?per_page=1").json["items"][0]["id"]

        # psql holds a lock on products: every cart add (it reads the product's price and stock)
        # keeps its connection until the lock goes. Not catalog reads: those stop at their 1 s
        # budget and give their connection back.
        locker = subprocess.Popen(["psql", "-X", "-q", self.database], stdin=subprocess.PIPE, text=True,
                                  stderr=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL)
        locker.stdin.write("BEGIN; LOCK TABLE products IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600);\n")
        locker.stdin.flush()
        try:
            self.assertTrue(self.wait_locked(), "psql never got its lock")
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                searches = [pool.submit(shop.request, "POST", "/api/cart/items",
                                        {"product_id": product_id, "quantity": 1}, token=token,
                                        conn=shop.connect(timeout=120)) for token in tokens]
                # Two hold the connections, the others wait for one: the rule fires.
                fresh = wait_until(lambda: self.saturation_lines(shop.server_log())[quiet:], bool, timeout=60)
                self.assertEqual(fresh[0], "alert firing")
                self.assertEqual(metric(shop, "emporium_db_pool_in_use"), 2)
                # While the lock holds, only a request that found no connection within the pool
                # wait can be answered: wait for one such answer (the sampled /metrics figures wait
                # for connections too, so the alert alone does not say a request waited).
                wait_until(lambda: [f for f in searches if f.done()], bool, timeout=60)
                # The lock goes with psql's backend (pg_sleep would outlive psql itself).
                self.assertEqual(shop.query_int("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_locks WHERE "
                                                "mode = 'AccessExclusiveLock' AND relation = 'products'::regclass"), 1)
                answers = [f.result(timeout=60) for f in searches]
        finally:
            locker.kill()
            locker.wait(30)
        # Those that found no connection within --db-pool-wait were told to come back; the others
        # answered once the lock went.
        statuses = [a.status for a in answers]
        self.assertTrue(set(statuses) <= {200, 201, 503}, statuses)
        self.assertIn(503, statuses)
        self.assertTrue({200, 201} & set(statuses), statuses)
        for a in answers:
            if a.status == 503:
                self.assertEqual(a.json["error"]["code"], "database_unavailable")
                self.assertEqual(a.header("retry-after"), "1")
        self.assertGreater(metric(shop, "emporium_db_pool_wait_seconds_total"), waited_before)
        self.assertGreaterEqual(metric(shop, "emporium_db_pool_wait_timeouts_total"), 1)

    @staticmethod
    def saturation_lines(log):
        """The messages of the log's db_pool_saturated notices, in order."""
        return [json.loads(line)["msg"] for line in log.splitlines() if '"rule":"db_pool_saturated"' in line]

    def wait_locked(self):
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.shop.query_int("SELECT COUNT(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' "
                                   "AND relation = 'products'::regclass AND granted") == 1:
                return True
            time.sleep(0.05)  # polling for psql's lock
        return False


if __name__ == "__main__":
    unittest.main()
