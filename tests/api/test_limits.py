"""Bounds that hold whatever clients send: metric series and memory under random methods and
paths, the catalog cache's byte bound, the rate limits (IPv6 clients by /64, sign-up and
sign-in sharing one budget), open connections per address, and bodies read only after
admission."""
import http.client
import os
import random
import re
import socket
import string
import subprocess
import time
import unittest

from shop import BIN, Shop
from test_notify import wait_until

# Resident memory may move this much between two measurements without a leak: the allocator's
# arenas and the kernel's accounting wander by a few MiB on a busy server. Under a sanitizer
# (make test-asan, make test-tsan) the allocator keeps more of what was freed (quarantine,
# per-thread caches, shadow pages), so the bound is wider there; the series check is exact.
RSS_TOLERANCE_KIB = 8 * 1024
SANITIZED_RSS_TOLERANCE_KIB = 32 * 1024


def sanitized(pid):
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read()
    return "libtsan" in maps or "libasan" in maps


def resident_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def series(shop):
    """Every sample line of /metrics: one per series."""
    text = shop.get("/metrics", internal=True).body.decode()
    return [line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")]


def metric(shop, name, labels=""):
    text = shop.get("/metrics", internal=True).body.decode()
    m = re.search("^" + re.escape(name + ("{" + labels + "}" if labels else "")) + r" (\S+)$", text, re.M)
    if not m:
        raise AssertionError(f"{name} not in /metrics")
    return float(m.group(1))


class MetricSeriesTest(unittest.TestCase):
    def test_random_methods_and_paths_leave_series_and_memory_flat(self):
        # A small quarantine under ASan: freed request buffers are not what this test measures.
        asan = os.environ.get("ASAN_OPTIONS", "")
        shop = Shop(products=10, env={"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=4"})
        rng = random.Random(1010)

        def burst(n):
            """n requests with random method words of 1-4 KB on known, unknown and random paths."""
            conn = shop.connect()
            statuses = set()
            for i in range(n):
                method = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(1000, 4000)))
                path = rng.choice(["/api/products", "/api/store", f"/api/products/{rng.randint(1, 10**9)}",
                                   "/no/such/" + "".join(rng.choices(string.ascii_lowercase, k=40))])
                try:
                    conn.request(method, path)
                    r = conn.getresponse()
                    r.read()
                except (ConnectionError, http.client.HTTPException):
                    conn.close()
                    conn = shop.connect()
                    continue
                statuses.add(r.status)
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = shop.connect()
            conn.close()
            return statuses

        try:
            self.assertLessEqual(burst(1000), {404, 405})  # warm-up: every kind of answer once
            # The figures read from the database join the scrape with their first sampling (off the
            # scrape, every 2 s): count from then on.
            wait_until(lambda: series(shop),
                       lambda lines: {"emporium_ready", "emporium_messages_waiting"} <= set(lines)
                       and any(line.startswith("emporium_events_backlog{") for line in lines))
            series(shop)  # and the scrape itself, which is counted once it is answered
            before, rss_before = series(shop), resident_kib(shop.proc.pid)
            burst(5000)
            after, rss_after = series(shop), resident_kib(shop.proc.pid)
            self.assertEqual(sorted(after), sorted(before))
            tolerance = SANITIZED_RSS_TOLERANCE_KIB if sanitized(shop.proc.pid) else RSS_TOLERANCE_KIB
            self.assertLessEqual(rss_after - rss_before, tolerance,
                                 f"resident memory grew from {rss_before} to {rss_after} KiB")
            print(f"5,000 random methods: {len(before)} series before and after, "
                  f"VmRSS {rss_before} -> {rss_after} KiB")
            others = [s for s in after if s.startswith("emporium_http_requests_total{") and 'method="other"' in s]
            self.assertTrue(others)
            self.assertTrue(all('route="unmatched"' in s or 'route="static"' in s or 'route="/api/' in s
                                for s in others), others)
        finally:
            shop.close()


class CacheBoundTest(unittest.TestCase):
    def test_the_catalog_cache_stays_within_its_byte_bound(self):
        bound = 200 * 1024
        shop = Shop(products=150, extra_args=[*Shop.UNLIMITED, "--cache-bytes", "200KiB"])
        try:
            for page in range(1, 4):
                for per_page in range(20, 101, 5):
                    self.assertEqual(shop.get(f"/api/products?page={page}&per_page={per_page}").status, 200)
            held = metric(shop, "emporium_cache_bytes", 'cache="catalog"')
            self.assertGreater(held, bound / 2)
            self.assertLessEqual(held, bound)
            self.assertGreater(metric(shop, "emporium_cache_evictions_total", 'cache="catalog"'), 0)
            self.assertGreater(metric(shop, "emporium_cache_entries", 'cache="catalog"'), 0)
            # The most recent page is still held: asking again is a hit.
            hits = metric(shop, "emporium_cache_hits_total", 'cache="catalog"')
            shop.get("/api/products?page=3&per_page=100")
            self.assertEqual(metric(shop, "emporium_cache_hits_total", 'cache="catalog"'), hits + 1)
        finally:
            shop.close()

    def test_a_bad_cache_size_is_refused(self):
        shop = Shop(products=10)
        shop.stop()
        try:
            r = subprocess.run([BIN, "serve", "--data-dir", shop.data, "--cache-bytes", "lots"], env=shop.env,
                               capture_output=True, timeout=30)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(b"cache-bytes", r.stderr)
        finally:
            shop.close()


class RateLimitTest(unittest.TestCase):
    def test_ipv6_clients_are_limited_by_their_slash_64(self):
        shop = Shop(products=10, extra_args=["--rate-limit", "0.01", "--rate-burst", "2", "--trusted-proxies", "127.0.0.1/32"])
        try:
            def get(addr):
                return shop.get("/api/store", headers={"X-Forwarded-For": addr}).status
            self.assertEqual(get("2001:db8:7:7::1"), 200)
            self.assertEqual(get("2001:db8:7:7:aaaa:bbbb:cccc:dddd"), 200)
            self.assertEqual(get("2001:db8:7:7::ffff"), 429)  # a new address in the same /64: same bucket
            self.assertEqual(get("2001:db8:7:8::1"), 200)  # the next /64 is another client
            self.assertEqual(get("198.51.100.4"), 200)
        finally:
            shop.close()

    def test_sign_up_and_sign_in_share_one_budget_per_address(self):
        # Four attempts at once, refilled one in ten minutes: the answers do not depend on hashing speed.
        shop = Shop(products=10, extra_args=["--rate-limit", "0", "--signin-per-minute", "0.1", "--signin-burst", "4",
                                             "--signin-per-account-minute", "100"])
        try:
            def signup(i):
                return shop.request("POST", "/api/auth/signup", {"email": f"budget{i}@example.org",
                                                                 "password": "correct horse battery",
                                                                 "name": "Budget"}).status

            def signin(i):
                return shop.request("POST", "/api/auth/login", {"email": f"budget{i}@example.org",
                                                                "password": "correct horse battery"}).status
            self.assertEqual([signup(1), signup(2), signin(1), signin(2)], [201, 201, 200, 200])
            self.assertEqual(signup(3), 429)  # four hashes from this address: the budget is spent
            self.assertEqual(signin(1), 429)
            self.assertEqual(shop.get("/api/store").status, 200)
        finally:
            shop.close()


class ConnectionTest(unittest.TestCase):
    def test_one_address_is_capped_while_another_is_still_served(self):
        shop = Shop(products=10, extra_args=[*Shop.UNLIMITED, "--max-connections-per-address", "4"])
        held = []
        try:
            for _ in range(4):
                c = shop.connect()
                self.assertEqual(shop.request("GET", "/api/store", conn=c).status, 200)
                held.append(c)
            refused = shop.get("/api/store")  # a fifth connection from 127.0.0.1
            self.assertEqual(refused.status, 503)
            self.assertEqual(refused.json["error"]["code"], "overloaded")
            self.assertIn("your address", refused.json["error"]["message"])
            self.assertEqual(refused.header("retry-after"), "1")
            other = http.client.HTTPConnection("127.0.0.1", shop.port, timeout=10, source_address=("127.0.0.2", 0))
            self.assertEqual(shop.request("GET", "/api/store", conn=other).status, 200)  # another address
            other.close()
            self.assertEqual(shop.get("/readyz", internal=True).status, 200)  # the internal listener is not capped
            for c in held:  # the held connections still work
                self.assertEqual(shop.request("GET", "/api/store", conn=c).status, 200)
            held.pop().close()
            deadline = time.time() + 10
            while shop.get("/api/store").status != 200:  # until the server has seen the close
                self.assertLess(time.time(), deadline, "a closed connection never gave its place back")
        finally:
            for c in held:
                c.close()
            shop.close()

    def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(self):
        shop = Shop(products=10, extra_args=[*Shop.UNLIMITED, "--idle-timeout", "1s"])
        try:
            s = socket.create_connection(("127.0.0.1", shop.port), timeout=15)
            s.sendall(b"GET /api/store HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = b""
            while b'"name"' not in reply:
                reply += s.recv(65536)
            self.assertTrue(reply.startswith(b"HTTP/1.1 200"), reply[:80])
            self.assertNotIn(b"Connection: close", reply)
            self.assertEqual(s.recv(1), b"")  # the server closes the idle connection (well within 15 s)
            s.close()
        finally:
            shop.close()

    def test_a_refused_request_is_answered_before_its_body_is_read(self):
        shop = Shop(products=10, extra_args=["--rate-limit", "0.01", "--rate-burst", "1"])
        try:
            self.assertEqual(shop.get("/api/store").status, 200)  # spends this address's only token
            for expect in (b"", b"Expect: 100-continue\r\n"):
                s = socket.create_connection(("127.0.0.1", shop.port), timeout=5)
                # A megabyte announced and none of it sent: the answer must not wait for it.
                s.sendall(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 1000000\r\n" + expect + b"\r\n")
                reply = b""
                while b"\r\n\r\n" not in reply:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
                s.close()
                self.assertTrue(reply.startswith(b"HTTP/1.1 429"), reply[:80])  # no 100 Continue first
                self.assertIn(b"Connection: close", reply)
            shop.wait_for_log('"status":429')  # log lines are written by a background thread
        finally:
            shop.close()


if __name__ == "__main__":
    unittest.main()
