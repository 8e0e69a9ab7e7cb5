"""Two web nodes sharing one Redis (--redis) and one database: the catalog cache's shared level and
its invalidation across nodes, rate limits with one budget per client across nodes, and Redis
killed and restarted under the shop (reads keep coming from the database, then the shared cache is
used again). A real redis-server per test (scripts/services/redis.sh) on a free port below 32768.

The two nodes share one database. On PostgreSQL (EMPORIUM_TEST_DATABASE_URL, shop.py) the second
node connects to the first one's. On SQLite the second node's data directory (its own lock, keys
and backups) holds a symbolic link to the first one's database, which SQLite follows, so both use
the same file and write-ahead log."""
import os
import re
import subprocess
import tempfile
import time
import unittest

from shop import BIN, PII_KEY, ROOT, Shop

REDIS_SH = os.path.join(ROOT, "scripts", "services", "redis.sh")


class Redis:
    """A throwaway redis-server that a test can kill and restart on the same port."""

    def __init__(self):
        out = subprocess.run([REDIS_SH, "start"], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("redis.sh start failed: " + out.stderr)
        self.url, self.dir = out.stdout.splitlines()[:2]

    def _run(self, command):
        subprocess.run([REDIS_SH, command, self.dir], check=True, capture_output=True, timeout=60)

    def kill(self):
        self._run("kill")

    def restart(self):
        self._run("restart")

    def stop(self):
        self._run("stop")


class Node(Shop):
    """A second web node over first's database (see the module's comment)."""

    def __init__(self, first, extra_args, env=None):
        self.first = first
        super().__init__(seed=False, extra_args=extra_args, pii_key=PII_KEY, env=env, database=first.database)

    def start(self):
        link = os.path.join(self.data, "emporium.db")
        if not self.database and not os.path.lexists(link):
            os.makedirs(self.data, exist_ok=True)
            os.symlink(os.path.join(self.first.data, "emporium.db"), link)
        super().start()


def metric(shop, name, labels=""):
    text = shop.get("/metrics", internal=True).body.decode()
    m = re.search("^" + re.escape(name + ("{" + labels + "}" if labels else "")) + r" (\S+)$", text, re.M)
    if not m:
        raise AssertionError(f"{name}{{{labels}}} not in /metrics")
    return float(m.group(1))


def wait_until(read, predicate, timeout=15.0):
    """Polls read() until predicate holds on its value and returns the value, or fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if predicate(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition never held within {timeout}s; last value: {value!r}")
        time.sleep(0.02)  # polling the shop's state


class TwoNodes(unittest.TestCase):
    """One Redis, node a (seeded) and node b over the same database."""
    ARGS = ()
    # This machine is shared and often loaded far past its two cores: a generous timeout keeps a
    # slow answer from Redis from counting as an outage (which RedisOutageTest makes on purpose).
    REDIS_ARGS = ("--redis-timeout-ms", "3000")

    def setUp(self):
        self.redis = Redis()
        self.addCleanup(self.redis.stop)
        self.a = Shop(products=40, pii_key=PII_KEY,
                      extra_args=[*self.ARGS, *self.REDIS_ARGS, "--redis", self.redis.url])
        self.addCleanup(self.a.close)
        # The flag beats the environment: b's environment names a Redis that is not there.
        self.b = Node(self.a, [*self.ARGS, *self.REDIS_ARGS, "--redis", self.redis.url],
                      env={"EMPORIUM_REDIS_URL": "redis://127.0.0.1:1/0"})
        self.addCleanup(self.b.close)
        for node in (self.a, self.b):
            wait_until(lambda n=node: metric(n, "emporium_redis_up"), lambda v: v == 1)

    def ok(self, node, path):
        r = node.get(path)
        self.assertEqual(r.status, 200, f"{path}: {r.status} {r.body[:200]!r}")
        return r.json

    def rename(self, product_id, name):
        r = self.a.admin("PATCH", f"/api/products/{product_id}", {"name": name})
        self.assertEqual(r.status, 200, r.body[:200])


class SharedCacheTest(TwoNodes):
    ARGS = Shop.UNLIMITED

    def test_a_change_through_one_node_is_seen_on_the_other_within_a_second(self):
        page = self.ok(self.b, "/api/products?per_page=5&sort=price_asc")
        product_id = page["items"][0]["id"]
        path = f"/api/products/{product_id}"
        for round_ in range(3):
            # b holds the product and the page in its own cache...
            self.ok(self.b, path)
            self.ok(self.b, "/api/products?per_page=5&sort=price_asc")
            self.assertGreater(metric(self.b, "emporium_cache_hits_total", 'cache="catalog"'), 0)
            heard = metric(self.b, "emporium_cache_invalidations_heard_total")
            name = f"Renamed on node a, round {round_}"
            self.rename(product_id, name)
            # ...hears of the change through Redis (not only from the outbox, which b's own event
            # dispatcher polls on this shared database)...
            wait_until(lambda: metric(self.b, "emporium_cache_invalidations_heard_total"), lambda h: h > heard,
                       timeout=1.0)
            # ...and answers with the change within a second of a's answer.
            wait_until(lambda: self.ok(self.b, path)["name"], lambda n: n == name, timeout=1.0)
            wait_until(lambda: self.ok(self.b, "/api/products?per_page=5&sort=price_asc")["items"][0]["name"],
                       lambda n: n == name, timeout=1.0)

    def test_nodes_share_answers_through_redis(self):
        product_id = self.ok(self.a, "/api/products?per_page=5&sort=price_desc")["items"][1]["id"]
        before = metric(self.b, "emporium_cache_hits_total", 'cache="shared"')
        computed = self.ok(self.a, f"/api/products/{product_id}")  # a misses everywhere and stores it
        self.assertEqual(self.ok(self.b, f"/api/products/{product_id}"), computed)  # b finds it in Redis
        self.assertEqual(metric(self.b, "emporium_cache_hits_total", 'cache="shared"'), before + 1)
        self.assertGreater(metric(self.a, "emporium_cache_misses_total", 'cache="shared"'), 0)


class RedisOutageTest(TwoNodes):
    ARGS = Shop.UNLIMITED

    def test_reads_come_from_the_database_while_redis_is_down_and_the_cache_returns_after(self):
        items = self.ok(self.a, "/api/products?per_page=10&sort=price_asc")["items"]
        paths = ["/api/products?per_page=10&sort=price_asc", "/api/categories", "/api/store",
                 f"/api/products/{items[0]['id']}"]
        for p in paths:
            self.ok(self.b, p)

        self.redis.kill()
        for node in (self.a, self.b):
            wait_until(lambda n=node: metric(n, "emporium_redis_up"), lambda v: v == 0)
        self.assertGreater(metric(self.a, "emporium_redis_errors_total", 'kind="io"'), 0)
        for node in (self.a, self.b):  # no 5xx: every read is answered from the database
            for p in paths:
                self.ok(node, p)
        # A change while Redis is down: a node that cannot hear of it keeps answers for a second at
        # most, so b shows it soon without Redis.
        self.rename(items[0]["id"], "Renamed while Redis was down")
        wait_until(lambda: self.ok(self.b, paths[3])["name"], lambda n: n == "Renamed while Redis was down",
                   timeout=5.0)

        self.redis.restart()
        for node in (self.a, self.b):
            wait_until(lambda n=node: metric(n, "emporium_redis_up"), lambda v: v == 1)
        self.assertGreaterEqual(metric(self.a, "emporium_redis_reconnects_total"), 1)
        # The shared level is used again: what a computes, b finds in Redis.
        fresh = f"/api/products/{items[5]['id']}"
        hits = metric(self.b, "emporium_cache_hits_total", 'cache="shared"')
        wait_until(lambda: (self.ok(self.a, fresh), self.ok(self.b, fresh),
                            metric(self.b, "emporium_cache_hits_total", 'cache="shared"'))[2],
                   lambda h: h > hits)
        # And invalidation reaches b again within a second.
        self.ok(self.b, paths[3])
        self.rename(items[0]["id"], "Renamed after Redis came back")
        wait_until(lambda: self.ok(self.b, paths[3])["name"], lambda n: n == "Renamed after Redis came back",
                   timeout=1.0)


class SharedRateLimitTest(TwoNodes):
    BURST = 10
    ARGS = ("--rate-limit", "0.01", "--rate-burst", str(BURST), "--signin-per-minute", "100000",
            "--signin-per-account-minute", "100000")

    def reported(self):
        return sum(metric(n, "emporium_rate_limit_reported_total", 'limiter="requests"') for n in (self.a, self.b))

    def test_two_nodes_admit_one_budget_per_client_not_two(self):
        statuses = []
        for i in range(3 * self.BURST):
            node = self.a if i % 2 == 0 else self.b
            statuses.append(node.get("/api/store").status)
            # Requests further apart than a node's report to Redis takes (a node reports after
            # answering, never making a request wait for Redis): this one has been counted.
            admitted = statuses.count(200)
            wait_until(self.reported, lambda r: r == admitted)
        self.assertEqual(set(statuses), {200, 429}, statuses)
        admitted = statuses.count(200)
        # One budget, and the one request the other node admits before its own report tells it
        # the budget is spent; each node alone would admit a whole budget (twenty in all).
        self.assertEqual(admitted, self.BURST + 1, statuses)
        for node in (self.a, self.b):
            self.assertGreater(metric(node, "emporium_rate_limit_shared_refusals_total", 'limiter="requests"'), 0)
            self.assertEqual(metric(node, "emporium_rate_limit_local_only_total", 'limiter="requests"'), 0)


class RedisSettingTest(unittest.TestCase):
    def test_a_malformed_url_stops_serve_without_showing_its_password(self):
        with tempfile.TemporaryDirectory(prefix="emporium-api-") as d:
            for url in ("redis://:hunter2-secret@127.0.0.1:99999/0", "http://:hunter2-secret@127.0.0.1/0",
                        "redis://:hunter2-secret@127.0.0.1/16"):
                r = subprocess.run([BIN, "serve", "--data-dir", d, "--port", "0", "--internal-port", "0",
                                    "--redis", url], capture_output=True, text=True, timeout=60,
                                   env=dict(os.environ, EMPORIUM_PII_KEY=PII_KEY))
                out = r.stdout + r.stderr
                self.assertEqual(r.returncode, 2, out)
                self.assertIn('"setting":"redis"', out.replace(" ", ""))
                self.assertNotIn("hunter2", out)

    def test_a_password_in_the_flag_warns_and_never_reaches_the_log(self):
        redis = Redis()  # without a password: it refuses AUTH, so the shop runs without Redis
        self.addCleanup(redis.stop)
        url = redis.url.replace("redis://", "redis://:pw-in-the-flag@")
        shop = Shop(products=5, extra_args=[*Shop.UNLIMITED, "--redis", url])
        self.addCleanup(shop.close)
        log = shop.wait_for_log("redis unreachable")
        self.assertIn("password on the command line", log)
        self.assertNotIn("pw-in-the-flag", log)
        self.assertEqual(metric(shop, "emporium_redis_up"), 0)
        self.assertGreater(metric(shop, "emporium_redis_errors_total", 'kind="reply"'), 0)
        self.assertEqual(shop.get("/api/products?per_page=3").status, 200)  # served from the database


if __name__ == "__main__":
    unittest.main()
