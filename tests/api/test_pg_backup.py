"""Backups of a shop whose database is PostgreSQL (pg_dump): one taken by a second process while
orders are being placed holds every order answered before it began, passes `backup verify` (a
scratch restore included), restores into a fresh database, and a shop started on that database
finds those orders; a damaged dump fails verify and restore; restore refuses a database a shop is
connected to. Runs on PostgreSQL whatever the run's backend (postgres_server starts one when none
is given)."""
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import tempfile
import threading
import unittest

from shop import Shop, drop_database, fresh_database, postgres_server
from test_notify import wait_until
from test_ops import backups, run
from test_orders import checkout, new_buyers


def pg_shop(**kw):
    database = fresh_database(postgres_server())
    try:
        return Shop(database=database, **kw), database
    except Exception:
        drop_database(database)
        raise


def env_for(database):
    """The environment the CLI reads its database from: EMPORIUM_DATABASE_URL, never an argument."""
    env = {k: v for k, v in os.environ.items() if k not in ("EMPORIUM_DATABASE_URL", "EMPORIUM_DATA_DIR")}
    env["EMPORIUM_DATABASE_URL"] = database
    return env


class PostgresBackupTest(unittest.TestCase):
    def test_backup_during_checkouts_restores_into_a_fresh_database_with_every_answered_order(self):
        shop, database = pg_shop(products=40, extra_args=Shop.UNLIMITED + ("--backup-interval", "24h"))
        restored_db, restored_shop, other = None, None, tempfile.mkdtemp(prefix="emporium-pg-restore-")
        try:
            product_ids = [p["id"] for p in shop.get("/api/products?per_page=40").json["items"] if p["stock"] > 20]
            buyers = new_buyers(shop, 8)
            answered, lock, stop = [], threading.Lock(), threading.Event()

            def storm(token, n):
                i = 0
                while not stop.is_set():
                    shop.request("POST", "/api/cart/items", {"product_id": random.choice(product_ids), "quantity": 1},
                                 token=token)
                    r = checkout(shop, token, f"pg-storm-{n}-{i}")
                    i += 1
                    if r.status == 201:
                        with lock:
                            answered.append(r.json["id"])

            threads = [threading.Thread(target=storm, args=(t, n)) for n, t in enumerate(buyers)]
            for t in threads:
                t.start()
            try:
                wait_until(lambda: len(answered), lambda n: n >= 20)
                with lock:
                    before = list(answered)  # every order answered 201 before the backup began
                taken = run("backup", "--data-dir", shop.data, env=shop.env)  # a second process, while serving
                self.assertEqual(taken.returncode, 0, taken.stderr)
                manifest = json.loads(taken.stdout)
                during = len(answered)
                wait_until(lambda: len(answered), lambda n: n >= during + 5)  # and the storm went on
            finally:
                stop.set()
                for t in threads:
                    t.join()
            self.assertEqual(manifest["format"], "pg_dump")
            self.assertTrue(manifest["file"].endswith(".pgdump"))
            self.assertEqual(len(manifest["sha256"]), 64)
            self.assertGreaterEqual(manifest["orders"], len(before))
            self.assertNotIn(database, taken.stdout + taken.stderr)

            # The admin page's list reads the same manifests; the schedule took one at start too.
            listed = wait_until(lambda: backups(shop), lambda b: len(b) >= 2)
            self.assertIn(manifest["name"], [b["name"] for b in listed])
            self.assertEqual({b["format"] for b in listed}, {"pg_dump"})

            # With the database's server at hand, verify also restores the dump into a scratch database
            # there, compares, and drops it.
            # This backup by name: the schedule's own may finish after it and be the newest.
            verified = run("backup", "verify", "--data-dir", shop.data,
                           os.path.join(shop.data, "backups", manifest["file"]), env=shop.env)
            self.assertEqual(verified.returncode, 0, verified.stdout + verified.stderr)
            report = json.loads(verified.stdout)
            self.assertTrue(report["ok"], report)
            self.assertTrue(report["restored_copy"], report)
            self.assertEqual(report["orders"], manifest["orders"])
            self.assertEqual(report["schema"], manifest["schema"])
            self.assertEqual(shop.query_int("SELECT COUNT(*) FROM pg_database WHERE datname LIKE 'emporium_verify_%'"), 0)

            # Into a fresh database, then a shop on it: every order answered before the backup is there.
            restored_db = fresh_database(postgres_server())
            dump = os.path.join(shop.data, "backups", manifest["file"])
            restored = run("restore", "--from", dump, "--data-dir", other, env=env_for(restored_db))
            self.assertEqual(restored.returncode, 0, restored.stderr)
            self.assertEqual(json.loads(restored.stdout)["restored"], manifest["name"])
            restored_shop = Shop(database=restored_db, seed=False)  # ready: it migrated and serves
            self.assertEqual(restored_shop.query_int("SELECT COUNT(*) FROM orders"), manifest["orders"])
            found = restored_shop.query_int("SELECT COUNT(*) FROM orders WHERE id IN (%s)" % ",".join(map(str, before)))
            self.assertEqual(found, len(before), "answered orders missing from the restored database")
            lines = restored_shop.query_int(
                "SELECT COUNT(*) FROM order_lines WHERE order_id IN (%s)" % ",".join(map(str, before)))
            self.assertGreaterEqual(lines, len(before))
            self.assertEqual(restored_shop.get("/api/products?per_page=5").status, 200)
        finally:
            if restored_shop:
                restored_shop.close()
            shop.close()
            shutil.rmtree(other, ignore_errors=True)
            for db in (database, restored_db):
                if db:
                    drop_database(db)

    def test_a_damaged_dump_fails_verify_and_restore_refuses_a_database_in_use(self):
        shop, database = pg_shop(products=20, extra_args=Shop.UNLIMITED + ("--backup-interval", "24h"))
        try:
            taken = shop.admin("POST", "/api/admin/backups")
            self.assertEqual(taken.status, 201, taken.body)
            self.assertEqual(taken.json["format"], "pg_dump")
            # The metric the backup age alert reads moves with it.
            def last_success():
                metrics = shop.get("/metrics", internal=True).body.decode()
                found = re.search(r"^emporium_backup_last_success_timestamp_seconds (\S+)$", metrics, re.M)
                return float(found.group(1)) if found else 0
            created = datetime.datetime.fromisoformat(taken.json["created_at"].replace("Z", "+00:00")).timestamp()
            self.assertEqual(wait_until(last_success, lambda t: t >= created), created)

            manifest = os.path.join(shop.data, "backups", taken.json["name"] + ".json")
            good = run("backup", "verify", manifest, "--data-dir", shop.data)
            self.assertEqual(good.returncode, 0, good.stdout + good.stderr)

            # The shop is connected to its database: restore refuses and changes nothing.
            elsewhere = os.path.join(shop.dir, "elsewhere")  # another data directory: only the database is shared
            busy = run("restore", "--from", manifest, "--data-dir", elsewhere, env=env_for(database))
            self.assertEqual(busy.returncode, 1)
            self.assertIn("stop them first", busy.stderr)

            dump = os.path.join(shop.data, "backups", taken.json["file"])
            with open(dump, "r+b") as f:
                f.seek(os.path.getsize(dump) // 2)
                byte = f.read(1)
                f.seek(-1, 1)
                f.write(bytes([byte[0] ^ 0xFF]))
            bad = run("backup", "verify", manifest, "--data-dir", shop.data)
            self.assertEqual(bad.returncode, 1)
            self.assertIn("SHA-256", json.loads(bad.stdout)["problem"])

            # A manifest rewritten to the damaged file's checksum: reading the dump back still fails it.
            with open(manifest) as f:
                forged = json.load(f)
            with open(dump, "rb") as f:
                forged["sha256"] = hashlib.sha256(f.read()).hexdigest()
            with open(manifest, "w") as f:
                json.dump(forged, f)
            still_bad = run("backup", "verify", manifest, "--data-dir", shop.data)
            self.assertEqual(still_bad.returncode, 1, still_bad.stdout)
            self.assertIn("pg_restore", json.loads(still_bad.stdout)["problem"])

            orders = shop.query_int("SELECT COUNT(*) FROM orders")
            shop.stop()
            refused = run("restore", "--from", manifest, "--data-dir", shop.data, env=env_for(database))
            self.assertEqual(refused.returncode, 1)
            self.assertIn("nothing changed", refused.stderr)
            self.assertEqual(shop.query_int("SELECT COUNT(*) FROM orders"), orders)
        finally:
            shop.close()
            drop_database(database)


if __name__ == "__main__":
    unittest.main()
