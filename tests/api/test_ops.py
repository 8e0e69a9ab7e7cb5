"""Operations over real processes and files: a backup taken during a checkout storm restores to a
database that holds every order answered before it began (on SQLite it passes integrity_check; on
PostgreSQL it is restored into a fresh database); restore refuses a running shop and a damaged
file; scheduled backups keep their retention; a 20% error drill reaches the on-call phone through
(fake) Twilio within 60 s and resolves; key rotation re-encrypts every module's sealed columns.
The warm standby's tests are in test_standby (SQLite only)."""
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

from fake_twilio import FakeTwilio
from shop import BIN, Shop, drop_database, free_port, fresh_database, postgres_server, psql
from test_notify import Receiver, buyer, first_product, wait_until
from test_orders import BODY, checkout, new_buyers

ON_CALL = "+15550001111"


def backups(shop):
    r = shop.admin("GET", "/api/admin/backups")
    assert r.status == 200, r.body
    return r.json["items"]


def run(*args, env=None):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300, env=env)


class BackupTest(unittest.TestCase):
    def test_backup_during_checkouts_restores_every_order_answered_before_it(self):
        shop = Shop(products=40, extra_args=Shop.UNLIMITED + ("--backup-interval", "24h"))
        try:
            product_ids = [p["id"] for p in shop.get("/api/products?per_page=40").json["items"] if p["stock"] > 20]
            buyers = new_buyers(shop, 12)
            answered, lock, stop = [], threading.Lock(), threading.Event()

            def storm(token, n):
                i = 0
                while not stop.is_set():
                    shop.request("POST", "/api/cart/items", {"product_id": random.choice(product_ids), "quantity": 1},
                                 token=token)
                    r = checkout(shop, token, f"storm-{n}-{i}")
                    i += 1
                    if r.status == 201:
                        with lock:
                            answered.append(r.json["id"])

            threads = [threading.Thread(target=storm, args=(t, n)) for n, t in enumerate(buyers)]
            for t in threads:
                t.start()
            wait_until(lambda: len(answered), lambda n: n >= 30)
            with lock:
                before = list(answered)  # every order answered 201 before the backup began
            taken = run("backup", "--data-dir", shop.data, env=shop.env)  # a second process, while serving
            self.assertEqual(taken.returncode, 0, taken.stderr)
            manifest = json.loads(taken.stdout)
            during = len(answered)
            wait_until(lambda: len(answered), lambda n: n >= during + 10)  # and the storm went on
            stop.set()
            for t in threads:
                t.join()

            verified = run("backup", "verify", "--data-dir", shop.data, env=shop.env)
            self.assertEqual(verified.returncode, 0, verified.stdout + verified.stderr)
            self.assertTrue(json.loads(verified.stdout)["ok"])
            self.assertEqual(len(manifest["sha256"]), 64)
            self.assertGreaterEqual(manifest["orders"], len(before))

            # Restore into a fresh data directory (on PostgreSQL with a fresh database: --database) and
            # look at it with the database's own client.
            other = tempfile.mkdtemp(prefix="emporium-restore-")
            restored_db = fresh_database(postgres_server()) if shop.database else None
            try:
                dump = os.path.join(shop.data, "backups", manifest["file"])
                restored = run("restore", "--from", dump, "--data-dir", other,
                               *(("--database", restored_db) if restored_db else ()))
                self.assertEqual(restored.returncode, 0, restored.stderr)
                if restored_db:
                    ids = set(map(int, psql(restored_db, "SELECT id FROM orders").split()))
                    lines = int(psql(restored_db, "SELECT COUNT(*) FROM order_lines WHERE order_id IN (%s)" %
                                     ",".join(map(str, before))))
                else:
                    with contextlib.closing(sqlite3.connect(os.path.join(other, "emporium.db"))) as db:
                        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                        ids = {row[0] for row in db.execute("SELECT id FROM orders")}
                        lines = db.execute("SELECT COUNT(*) FROM order_lines WHERE order_id IN (%s)" %
                                           ",".join(map(str, before))).fetchone()[0]
                missing = set(before) - ids
                self.assertEqual(missing, set(), f"{len(missing)} answered orders missing from the backup")
                self.assertGreaterEqual(lines, len(before))
            finally:
                shutil.rmtree(other, ignore_errors=True)
                if restored_db:
                    drop_database(restored_db)
        finally:
            shop.close()

    def test_restore_refuses_a_running_shop_and_a_damaged_backup(self):
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + ("--backup-interval", "24h"))
        try:
            taken = shop.admin("POST", "/api/admin/backups")
            self.assertEqual(taken.status, 201, taken.body)
            manifest = os.path.join(shop.data, "backups", taken.json["name"] + ".json")
            busy = run("restore", "--from", manifest, "--data-dir", shop.data)
            self.assertEqual(busy.returncode, 1)
            self.assertIn("stop it first", busy.stderr)
            self.assertEqual(run("restore", "--from", "/etc/hostname", "--data-dir", shop.data).returncode, 1)

            # Flip one byte of the compressed file: verify and restore both refuse it.
            gz = os.path.join(shop.data, "backups", taken.json["file"])
            with open(gz, "r+b") as f:
                f.seek(os.path.getsize(gz) // 2)
                byte = f.read(1)
                f.seek(-1, 1)
                f.write(bytes([byte[0] ^ 0xFF]))
            bad = run("backup", "verify", manifest, "--data-dir", shop.data)
            self.assertEqual(bad.returncode, 1)
            self.assertIn("SHA-256", json.loads(bad.stdout)["problem"])
            shop.stop()
            refused = run("restore", "--from", manifest, "--data-dir", shop.data)
            self.assertEqual(refused.returncode, 1)
            self.assertIn("nothing changed", refused.stderr)
        finally:
            shop.close()

    def test_scheduled_backups_keep_the_retention(self):
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + ("--backup-interval", "1s", "--backup-retention", "2"))
        try:
            first = wait_until(lambda: backups(shop), lambda b: len(b) >= 1)[0]
            # Backups go on every second; the oldest are dropped, never more than two are kept.
            later = wait_until(lambda: backups(shop), lambda b: b and b[-1]["created_at"] > first["created_at"])
            self.assertLessEqual(len(later), 2)
            files = [f for f in os.listdir(os.path.join(shop.data, "backups")) if f.endswith(".db.gz")]
            self.assertLessEqual(len(files), 3)  # two kept, perhaps one being written
            # Sampled off the scrape every 2 s: the newest backup shows within a sampling or two.
            def last_success():
                metrics = shop.get("/metrics", internal=True).body.decode()
                found = re.search(r"^emporium_backup_last_success_timestamp_seconds (\S+)$", metrics, re.M)
                return float(found.group(1)) if found else 0
            self.assertGreater(wait_until(last_success, lambda t: t > time.time() - 60), time.time() - 60)
            customer, _ = shop.signup(f"ops.{random.randint(1, 10**12)}@example.org")
            self.assertEqual(shop.get("/api/admin/backups", token=customer).status, 403)
            self.assertEqual(shop.request("POST", "/api/admin/backups", token=customer).status, 403)
        finally:
            shop.close()


class AlertTest(unittest.TestCase):
    def test_error_drill_texts_on_call_within_a_minute_and_resolves(self):
        twilio = FakeTwilio()
        hooks = Receiver()
        env = dict(twilio.env(), EMPORIUM_ALERT_SMS_TO=ON_CALL, EMPORIUM_ALERT_WEBHOOK_URL=hooks.url)
        # Default rule (5% over the window, held 30 s, read every 5 s); a 30 s window ends the drill sooner.
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + ("--faults", "--alert-window", "30s"), env=env)
        stop = threading.Event()
        try:
            def traffic():
                conn = shop.connect()
                while not stop.is_set():
                    try:
                        shop.request("GET", "/api/products?per_page=5", conn=conn)
                    except OSError:
                        conn = shop.connect()
                    stop.wait(0.02)  # a steady 50 requests a second or so, like shoppers browsing

            threading.Thread(target=traffic, daemon=True).start()
            admin = shop.admin_token  # signed in before the drill: during it, one request in five fails
            bad = shop.request("PUT", "/internal/faults", {"error_ratio": 1.5}, internal=True)
            self.assertEqual(bad.status, 422)
            started = time.time()
            on = shop.request("PUT", "/internal/faults", {"error_ratio": 0.2}, internal=True)
            self.assertEqual((on.status, on.json["error_ratio"]), (200, 0.2))
            fired = twilio.wait_for(lambda t: any("FIRING high_error_ratio" in p["form"]["Body"]
                                                  for p in t.posts_to(ON_CALL)), timeout=60)
            detection = time.time() - started
            self.assertTrue(fired, "no alert text within 60 s")
            print(f"\n    detection: alert text {detection:.1f} s after the drill began", flush=True)
            listed = wait_until(lambda: shop.get("/api/admin/alerts", token=admin), lambda r: r.status == 200)
            alerts = {a["rule"]: a for a in listed.json["items"]}
            self.assertEqual(alerts["high_error_ratio"]["state"], "firing")
            self.assertGreater(alerts["high_error_ratio"]["value"], 0.1)

            off = shop.request("PUT", "/internal/faults", {"error_ratio": 0}, internal=True)
            self.assertEqual(off.status, 200)
            self.assertTrue(twilio.wait_for(lambda t: any("RESOLVED high_error_ratio" in p["form"]["Body"]
                                                          for p in t.posts_to(ON_CALL)), timeout=90))
            texts = [p["form"]["Body"] for p in twilio.posts_to(ON_CALL)]
            self.assertEqual(sum("FIRING high_error_ratio" in t for t in texts), 1, texts)  # once, not per check
            shop.wait_for_log('"msg":"alert resolved"')  # logged before the text, written by the log's own thread
            with hooks.lock:  # the webhook post follows the text within the same notice
                self.assertTrue(hooks.lock.wait_for(
                    lambda: sum(b'"resolved"' in h["body"] for h in hooks.received) >= 1, 30))
                posted = [json.loads(h["body"]) for h in hooks.received]
            self.assertEqual([(p["rule"], p["state"]) for p in posted if p["rule"] == "high_error_ratio"],
                             [("high_error_ratio", "firing"), ("high_error_ratio", "resolved")])
            errors = [p for p in posted if p["rule"] == "high_error_ratio"]
            self.assertEqual(errors[0]["threshold"], 0.05)
            self.assertIn("FIRING high_error_ratio", errors[0]["text"])
        finally:
            stop.set()
            shop.close()
            twilio.close()
            hooks.close()

    def test_faults_stay_off_unless_asked_for(self):
        shop = Shop(products=10)
        try:
            self.assertEqual(shop.request("PUT", "/internal/faults", {"error_ratio": 1}, internal=True).status, 404)
            self.assertNotEqual(shop.request("PUT", "/internal/faults", {"error_ratio": 1}).status, 200)  # not public
            self.assertEqual(shop.get("/api/products").status, 200)
        finally:
            shop.close()


class KeyRotationTest(unittest.TestCase):
    def test_old_key_dropped_after_rotation_every_order_message_and_webhook_reads(self):
        """Rotation re-encrypts every module's sealed columns: after it reports 0 left and the old
        key is deleted from the key file, old orders, queued texts and webhook secrets still work."""
        twilio = FakeTwilio()
        receiver = Receiver()
        env = dict(twilio.env(), EMPORIUM_TWILIO_BASE_URL=f"http://127.0.0.1:{free_port()}")  # Twilio down at first
        shop = Shop(products=20, env=env,
                    extra_args=Shop.UNLIMITED + ("--notify-backoff", "1s", "--notify-lease", "2s",
                                                 "--webhook-private-targets"))
        try:
            hook = shop.admin("POST", "/api/admin/webhooks", {"url": receiver.url, "events": ["order.placed"]})
            self.assertEqual(hook.status, 201, hook.body)
            secret = hook.json["secret"]
            product = first_product(shop)
            placed = []
            for i in range(3):
                phone = f"+1555777{1000 + i}"
                token = buyer(shop, phone, product)
                address = dict(BODY["shipping_address"], line1=f"{i} Rotation Road")
                order = checkout(shop, token, f"rot-{i}-{random.randint(1, 10**9)}",
                                 dict(BODY, phone=phone, shipping_address=address))
                self.assertEqual(order.status, 201, order.body)
                placed.append((token, order.json["id"], phone, address))
            # Every text is queued (Twilio unreachable, so they wait and retry) before the rotation.
            wait_until(lambda: shop.admin("GET", "/api/admin/notifications?channel=sms").json["items"],
                       lambda rows: len(rows) == 3 and all(r["attempts"] >= 1 for r in rows))

            rotated = shop.cli("keys", "rotate").stdout.decode()
            for table in ("users", "orders", "messages", "webhooks"):
                self.assertRegex(rotated, table + r": re-encrypted [1-9]\d*; 0 left on old keys")
            self.assertRegex(rotated, r"; 0 left on old keys\n$")
            shop.stop()

            keys_path = os.path.join(shop.data, "pii.keys")
            lines = open(keys_path).read().splitlines()
            keys = [l for l in lines if l.strip() and not l.startswith("#")]
            self.assertEqual(len(keys), 2)
            with open(keys_path, "w") as f:
                f.write("\n".join([l for l in lines if l.startswith("#")] + [keys[-1]]) + "\n")  # the old key is gone
            shop.env["EMPORIUM_TWILIO_BASE_URL"] = twilio.url  # Twilio is back
            shop.start()

            for token, order_id, phone, address in placed:
                got = shop.get(f"/api/orders/{order_id}", token=token)
                self.assertEqual(got.status, 200, got.body)
                self.assertEqual((got.json["phone"], got.json["shipping_address"]["line1"]), (phone, address["line1"]))
                self.assertTrue(twilio.wait_for(lambda t, p=phone: t.posts_to(p)), phone)
            # Twilio has the post a moment before the sender marks the text sent.
            wait_until(lambda: shop.admin("GET", "/api/admin/notifications?channel=sms").json["items"],
                       lambda rows: {r["status"] for r in rows} == {"sent"})
            # A new order's webhook post is signed with the secret sealed before the rotation.
            with receiver.lock:
                before = len(receiver.received)
            token, _, phone, _ = placed[0]
            self.assertEqual(shop.request("POST", "/api/cart/items", {"product_id": product, "quantity": 1},
                                          token=token).status, 200)
            self.assertEqual(checkout(shop, token, f"rot-after-{random.randint(1, 10**9)}",
                                      dict(BODY, phone=phone)).status, 201)
            with receiver.lock:
                self.assertTrue(receiver.lock.wait_for(
                    lambda: any(r["status"] == 200 for r in receiver.received[before:]), 30))
                post = [r for r in receiver.received[before:] if r["status"] == 200][-1]
            parts = dict(p.split("=", 1) for p in post["headers"]["x-emporium-signature"].split(","))
            expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + post["body"], hashlib.sha256).hexdigest()
            self.assertEqual(parts["v1"], expected)
            self.assertNotIn("pii_unknown_key", shop.server_log())
        finally:
            shop.close()
            receiver.close()
            twilio.close()


if __name__ == "__main__":
    unittest.main()
