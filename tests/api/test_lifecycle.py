"""The program's life: start-up options, limits, graceful shutdown, presets. Each test runs its
own server, since each needs its own settings or kills it."""
import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest

from shop import BIN, Shop


class LifecycleTest(unittest.TestCase):
    def test_sigterm_finishes_a_request_in_flight_then_exits_cleanly(self):
        shop = Shop(products=20)
        try:
            body = b'{"sku":"X"}'
            s = socket.create_connection(("127.0.0.1", shop.port), timeout=10)
            # Headers and half the body: the request is in flight.
            s.sendall(b"POST /api/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:5])
            # Wait until the server holds the request: the in-flight gauge counts it and the
            # metrics request itself.
            deadline = time.time() + 10
            while time.time() < deadline:
                text = shop.get("/metrics", internal=True).body.decode()
                gauge = re.search(r"^emporium_http_requests_in_flight (\S+)", text, re.M)
                if gauge and float(gauge.group(1)) >= 2:
                    break
            else:
                self.fail("the server never took the request")
            self.assertNotIn('"path":"/api/products"', shop.server_log())  # nothing answered yet
            shop.proc.send_signal(signal.SIGTERM)
            self.wait_for_log(shop, '"msg":"draining"')
            # New connections are refused once draining began.
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", shop.port), timeout=2).recv(1)
            s.sendall(body[5:])
            reply = b""
            while b"\r\n\r\n" not in reply:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
            s.close()
            self.assertTrue(reply.startswith(b"HTTP/1.1 401"), reply[:100])
            self.assertIn(b"Connection: close", reply)
            self.assertEqual(shop.proc.wait(20), 0)
            self.assertIn('"msg":"stopped","unfinished":0', shop.server_log())
        except Exception:
            print(shop.server_log()[-3000:])
            raise
        finally:
            shop.close()

    def wait_for_log(self, shop, needle, count=None):
        deadline = time.time() + 10
        while time.time() < deadline:
            if count is not None:
                self.assertEqual(shop.server_log().count(needle), count)
                return
            if needle in shop.server_log():
                return
            time.sleep(0.02)  # polling the log file for an event
        self.fail(f"log never said {needle}")

    def test_connection_cap_answers_503(self):
        shop = Shop(products=10, extra_args=["--max-connections", "3", *Shop.UNLIMITED])
        try:
            # The harness's own connections from start-up are closed; wait until the server has
            # seen them go (only this scrape's, on the internal listener, stays open).
            def open_connections():
                text = shop.get("/metrics", internal=True).body.decode()
                return float(re.search(r"^emporium_http_connections_open (\S+)$", text, re.M).group(1))

            deadline = time.time() + 10
            while time.time() < deadline and open_connections() > 1:
                time.sleep(0.02)  # waiting for the server to notice the closed sockets
            held = [shop.connect() for _ in range(3)]
            for c in held:
                self.assertEqual(shop.request("GET", "/api/store", conn=c).status, 200)
            r = shop.get("/api/store")
            self.assertEqual(r.status, 503)
            self.assertEqual(r.header("retry-after"), "1")
            self.assertEqual(r.json["error"]["code"], "overloaded")
            # The cap is the public listeners': probes and scrapes still get in.
            self.assertEqual(shop.get("/readyz", internal=True).status, 200)
            self.assertEqual(shop.get("/metrics", internal=True).status, 200)
            for c in held:
                c.close()
            deadline = time.time() + 10
            while time.time() < deadline and shop.get("/api/store").status != 200:
                time.sleep(0.02)  # waiting for the server to notice the closed sockets
            self.assertEqual(shop.get("/api/store").status, 200)
        finally:
            shop.close()

    def test_body_limit_is_configurable(self):
        shop = Shop(products=10, extra_args=["--body-limit", "2048", *Shop.UNLIMITED])
        try:
            r = shop.admin("POST", "/api/products", {"sku": "S", "description": "x" * 3000})
            self.assertEqual(r.status, 413)
            self.assertEqual(shop.admin("POST", "/api/products", {"sku": "S"}).status, 422)
        finally:
            shop.close()

    def test_port_zero_picks_a_port_and_logs_it(self):
        shop = Shop(products=10)
        shop.stop()
        try:
            proc = subprocess.Popen([BIN, "serve", "--data-dir", shop.data, "--port", "0", "--internal-port", "0"],
                                    env=shop.env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
            event = {}
            for _ in range(50):  # startup lines come first (which SMS gateway, say); then "listening"
                event = json.loads(proc.stderr.readline().decode())
                if event["msg"] == "listening":
                    break
            self.assertEqual(event["msg"], "listening")
            self.assertGreater(event["port"], 0)
            shop.port, shop.internal_port = event["port"], event["internal_port"]
            self.assertEqual(shop.get("/readyz", internal=True).status, 200)
            self.assertEqual(shop.get("/api/store").status, 200)
            proc.send_signal(signal.SIGINT)
            self.assertEqual(proc.wait(20), 0)
        finally:
            shop.close()

    def test_settings_come_from_the_environment(self):
        shop = Shop(products=10, env={"EMPORIUM_CACHE_TTL": "0s", "EMPORIUM_MAX_CONNECTIONS": "2"})
        try:
            text = shop.get("/metrics", internal=True).body.decode()
            self.assertIn("emporium_cache_entries", text)
            shop.get("/api/products")
            shop.get("/api/products")
            text = shop.get("/metrics", internal=True).body.decode()
            entries = re.search(r'emporium_cache_entries\{cache="catalog"\} (\S+)', text).group(1)
            self.assertEqual(float(entries), 0.0)  # a TTL of 0 keeps nothing
        finally:
            shop.close()

    def test_bad_setting_is_refused(self):
        shop = Shop(products=10)
        shop.stop()
        try:
            r = subprocess.run([BIN, "serve", "--data-dir", shop.data, "--cache-ttl", "soon"], env=shop.env,
                               capture_output=True, timeout=30)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(b"cache-ttl", r.stderr)
        finally:
            shop.close()

    def test_grocery_preset(self):
        shop = Shop(preset="grocery", products=200)
        try:
            self.assertEqual(shop.get("/api/store").json["name"], "GoMart")
            slugs = {c["slug"] for c in shop.get("/api/categories").json}
            self.assertLessEqual({"fruit-vegetables", "dairy-eggs", "bakery", "pantry"}, slugs)
            produce = shop.get("/api/products?category=fruit-vegetables&per_page=100").json["items"]
            self.assertTrue(produce)
            self.assertTrue(all(p["attributes"]["unit"] == "kg" for p in produce))
        finally:
            shop.close()

    def test_seed_makes_customers_and_a_history_of_orders(self):
        shop = Shop(products=40, customers=12)
        try:
            shop.cli("seed", "--preset", "games", "--products", "40", "--customers", "12", "--orders", "300")
            orders = shop.get("/api/seller/orders?per_page=100", token=shop.admin_token).json
            self.assertEqual(orders["total"], 300)
            statuses = {o["status"] for o in orders["items"]}
            self.assertLessEqual({"delivered", "placed"}, statuses)
            users = shop.get("/api/admin/users?per_page=100", token=shop.admin_token).json
            self.assertEqual(users["total"], 1 + 5 + 12)  # admin, sellers, customers
            seller_orders = shop.get("/api/seller/orders", token=shop.login("seller1@gitgoods.example")).json
            self.assertGreater(seller_orders["total"], 0)
            self.assertLess(seller_orders["total"], 300)
        finally:
            shop.close()

    def test_seed_is_deterministic_and_rejects_bad_presets(self):
        a, b = Shop(products=50), Shop(products=50)
        try:
            pa = a.get("/api/products?sort=price_asc&per_page=50").json["items"]
            pb = b.get("/api/products?sort=price_asc&per_page=50").json["items"]
            self.assertEqual([(p["sku"], p["name"], p["price_cents"]) for p in pa],
                             [(p["sku"], p["name"], p["price_cents"]) for p in pb])
            r = subprocess.run([BIN, "seed", "--preset", "bakery", "--data-dir", a.data], capture_output=True, timeout=30)
            self.assertNotEqual(r.returncode, 0)
        finally:
            a.close()
            b.close()


if __name__ == "__main__":
    unittest.main()
