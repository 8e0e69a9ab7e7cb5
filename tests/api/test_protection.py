"""Protection in front: sign-in throttling, per-address rate limits (trusting forwarded
addresses only from configured proxies), overload shedding; and personal data that never
appears in clear in the database, its WAL or the logs, through a key rotation under traffic."""
import os
import random
import re
import socket
import subprocess
import threading
import time
import unittest

from shop import BIN, DEMO_PASSWORD, Shop


def in_flight_at_most(shop, n, timeout=10):
    """Polls the in-flight gauge (which counts the metrics request itself) until it is at most n."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        text = shop.get("/metrics", internal=True).body.decode()
        if float(re.search(r"^emporium_http_requests_in_flight (\S+)", text, re.M).group(1)) <= n:
            return
    raise AssertionError(f"requests in flight stayed above {n}")


class ThrottleTest(unittest.TestCase):
    # Budgets here refill slowly (0.01 a second, one sign-in in ten minutes), so what they admit
    # depends on the count of requests alone, never on how fast a loaded machine answers them.
    def test_signin_brute_force_is_throttled_per_account_and_per_address(self):
        # Budgets of 8 and 3 attempts that refill one attempt in ten minutes, so the answers below
        # do not depend on how fast this machine hashes (a minute's worth, 8, refilled one every 7.5 s).
        shop = Shop(products=10, extra_args=["--rate-limit", "0", "--signin-per-minute", "0.1", "--signin-burst", "8",
                                             "--signin-per-account-minute", "0.1", "--signin-per-account-burst", "3"])
        try:
            victim = "seller1@gitgoods.example"
            statuses = [shop.request("POST", "/api/auth/login", {"email": victim, "password": f"guess number {i}"}).status
                        for i in range(4)]
            self.assertEqual(statuses, [401, 401, 401, 429])
            r = shop.request("POST", "/api/auth/login", {"email": victim, "password": DEMO_PASSWORD})
            self.assertEqual(r.status, 429)  # even the right password waits: the account is being attacked
            self.assertGreaterEqual(int(r.header("retry-after")), 1)
            self.assertEqual(r.json["error"]["code"], "rate_limited")
            # Other accounts from the same address: the per-address budget (8) runs out too.
            more = [shop.request("POST", "/api/auth/login", {"email": f"x{i}@example.org", "password": "whatever123"}).status
                    for i in range(5)]
            self.assertEqual(more[:3], [401, 401, 401])
            self.assertEqual(more[3:], [429, 429])
            self.assertEqual(shop.get("/api/products").status, 200)  # browsing is unaffected
        finally:
            shop.close()

    def test_per_address_limit_and_trusted_proxies(self):
        shop = Shop(products=10, extra_args=["--rate-limit", "0.01", "--rate-burst", "3", "--trusted-proxies", "127.0.0.1/32"])
        try:
            def get(addr):
                return shop.get("/api/store", headers={"X-Forwarded-For": f"198.51.100.7, {addr}"})
            self.assertEqual([get("203.0.113.1").status for _ in range(3)], [200, 200, 200])
            limited = get("203.0.113.1")
            self.assertEqual(limited.status, 429)
            self.assertGreaterEqual(int(limited.header("retry-after")), 1)
            self.assertEqual(get("203.0.113.2").status, 200)  # another client behind the same proxy
            self.assertEqual(shop.get("/healthz", internal=True).status, 200)  # internal is never limited
        finally:
            shop.close()

    def test_forwarded_for_is_ignored_from_untrusted_peers(self):
        shop = Shop(products=10, extra_args=["--rate-limit", "0.01", "--rate-burst", "2"])
        try:
            statuses = [shop.get("/api/store", headers={"X-Forwarded-For": f"203.0.113.{i}"}).status for i in range(3)]
            self.assertEqual(statuses, [200, 200, 429])  # spoofed addresses share the real one's bucket
        finally:
            shop.close()

    def test_shedding_answers_503_while_admitted_requests_finish(self):
        shop = Shop(products=10, extra_args=[*Shop.UNLIMITED, "--max-in-flight", "1"])
        try:
            s = socket.create_connection(("127.0.0.1", shop.port), timeout=10)
            s.sendall(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 20\r\n\r\n{\"email\"")
            deadline = time.time() + 10
            while time.time() < deadline:  # until the server holds the first request
                text = shop.get("/metrics", internal=True).body.decode()
                if float(re.search(r"^emporium_http_requests_in_flight (\S+)", text, re.M).group(1)) >= 2:
                    break
            shed = shop.get("/api/store")
            self.assertEqual(shed.status, 503)
            self.assertEqual(shed.json["error"]["code"], "overloaded")
            self.assertEqual(shed.header("retry-after"), "1")
            self.assertEqual(shop.get("/readyz", internal=True).status, 200)
            # The shed request is counted out once its answer is written; then the held one may finish.
            in_flight_at_most(shop, 2)
            s.sendall(b':"a@b.co"}' + b" " * 2)
            reply = s.recv(4096)
            s.close()
            self.assertTrue(reply.startswith(b"HTTP/1.1 4"), reply[:80])  # the admitted one was answered
            # The server counts a request out once its answer is written, a moment after the client
            # has it: wait for the count (this metrics request being the only one) before trying again.
            in_flight_at_most(shop, 1)
            self.assertEqual(shop.get("/api/store").status, 200)
        finally:
            shop.close()


class PersonalDataTest(unittest.TestCase):
    def test_no_personal_data_in_clear_through_a_key_rotation_under_traffic(self):
        shop = Shop(products=50, customers=20)  # keys from the data directory's key file
        secrets = []
        try:
            tokens = []
            for i in range(12):
                email = f"pii.person{i}.{random.randint(10**6, 10**7)}@privacy-test.example"
                phone = f"+6590{random.randint(100000, 999999)}"
                name = f"Zebulon Quixote{i}"
                street = f"{i} Kumquat Crescent"
                token, _ = shop.signup(email, name=name, phone=phone)
                r = shop.request("PATCH", "/api/me", {"address": {"name": name, "line1": street, "city": "Xanadu",
                                                                  "postal_code": "54321", "country": "SG"}}, token=token)
                self.assertEqual(r.status, 200)
                tokens.append((token, email, phone))
                secrets += [email, phone, name, street, email.split("@")[0], phone[3:]]
            shop.login(tokens[0][1], "correct horse battery")
            self.assertEqual(shop.get("/api/admin/users?per_page=100", token=shop.admin_token).status, 200)

            # Rotate while requests keep coming.
            stop = threading.Event()
            errors = []
            answered = []  # guarded by the GIL: list.append is atomic

            def traffic():
                while not stop.is_set():
                    token, email, phone = random.choice(tokens)
                    r = shop.get("/api/me", token=token)
                    if r.status == 503 and r.header("retry-after"):
                        continue  # shed while the rotation holds the database: the documented answer, sent again
                    if r.status != 200 or r.json["email"] != email:
                        errors.append((r.status, r.body[:100]))
                    else:
                        answered.append(1)
            workers = [threading.Thread(target=traffic) for _ in range(3)]
            for w in workers:
                w.start()
            try:
                rotated = shop.cli("keys", "rotate")
            finally:
                stop.set()
                for w in workers:
                    w.join()
            self.assertEqual(errors, [])
            self.assertGreater(len(answered), 0)
            self.assertRegex(rotated.stdout.decode(), r"users: re-encrypted \d+; 0 left on old keys")
            self.assertRegex(rotated.stdout.decode(), r"re-encrypted \d+ rows in \d+ tables; 0 left on old keys")
            keys = [l for l in open(os.path.join(shop.data, "pii.keys")) if l.strip() and not l.startswith("#")]
            self.assertEqual(len(keys), 2)
            for token, email, phone in tokens:
                profile = shop.get("/api/me", token=token).json
                self.assertEqual((profile["email"], profile["phone"]), (email, phone))
            self.assertEqual(shop.login(tokens[1][1], "correct horse battery")[:4], "emp_")

            # The database's files and its write-ahead log (SQLite's lives while serving).
            product_name = shop.get("/api/products?per_page=1").json["items"][0]["name"].encode()
            snapshots = {"running/" + k: v for k, v in shop.database_files().items()}
            # The scan reads what the database holds: a product's name, kept in clear, is in its files.
            self.assertTrue(any(product_name in data for data in snapshots.values()), product_name)
            shop.stop()
            snapshots.update({"stopped/" + k: v for k, v in shop.database_files().items()})
            snapshots["server.log"] = open(shop.log_path, "rb").read()
            scanned = sorted(snapshots)
            self.assertIn("running/" + shop.wal_name, scanned)
            found = []
            for path, data in snapshots.items():
                for secret in secrets:
                    if secret.encode() in data or secret.lower().encode() in data:
                        found.append((path, secret))
            self.assertEqual(found, [])
            print(f"PII scan: {len(secrets)} known strings, {len(scanned)} files "
                  f"({', '.join(scanned)}), {len(found)} found")
        finally:
            shop.close()


if __name__ == "__main__":
    unittest.main()
