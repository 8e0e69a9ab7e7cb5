"""A warm standby (`emporium standby`) loads the primary's backups and, promoted after the primary
stops, serves within 10 s with every order up to its last backup; one told to promote itself does so
when the primary dies, and the old primary, back, fences itself.

SQLite-only by nature: the warm standby is the SQLite deployment's replica. It loads the primary's
SQLite backup files and refuses a PostgreSQL primary's pg_dump backups (src/ops/standby.cpp; the
refusal is a unit test, ops/standby_test.cpp); a PostgreSQL shop's standby is a PostgreSQL replica
promoted by Patroni (docs/OPERATIONS.md). So these shops run on SQLite even when
EMPORIUM_TEST_DATABASE_URL names a PostgreSQL server, and the PostgreSQL API suite leaves this
module out (scripts/test.sh)."""
import base64
import hashlib
import json
import os
import time
import unittest
from unittest import mock

from shop import Shop
from test_notify import buyer, first_product, place, wait_until
from test_ops import run
from test_orders import BODY, checkout


class StandbyTest(unittest.TestCase):
    def setUp(self):
        environment = mock.patch.dict(os.environ)  # SQLite whatever the run's backend (the module's comment)
        environment.start()
        self.addCleanup(environment.stop)
        os.environ.pop("EMPORIUM_TEST_DATABASE_URL", None)

    def test_promoted_standby_serves_within_ten_seconds_with_every_backed_up_order(self):
        token = base64.b64encode(os.urandom(24)).decode()
        key = base64.b64encode(os.urandom(32)).decode()
        env = {"EMPORIUM_REPLICATION_TOKEN": token}
        primary = Shop(products=30, extra_args=Shop.UNLIMITED + ("--backup-interval", "24h"), env=env, pii_key=key)
        standby = None
        try:
            # Without the token the primary's backups are not served.
            self.assertEqual(primary.get("/internal/backups/latest", internal=True).status, 401)
            product = first_product(primary)
            phone = "+15551237777"
            tokens = [buyer(primary, phone, product) for _ in range(5)]
            orders = [place(primary, t, phone)["id"] for t in tokens]
            admin = primary.admin_token
            taken = primary.admin("POST", "/api/admin/backups")
            self.assertEqual(taken.status, 201)

            # The backup file comes streamed from disk, whole and exactly as the manifest says;
            # a HEAD gives its length without the body.
            auth = {"Authorization": "Bearer " + token}
            latest = primary.get("/internal/backups/latest", internal=True, headers=auth).json
            self.assertEqual(latest["name"], taken.json["name"])
            path = "/internal/backups/files/" + latest["file"]
            fetched = primary.get(path, internal=True, headers=auth)
            self.assertEqual(fetched.status, 200)
            self.assertEqual(fetched.headers["content-type"], "application/gzip")
            self.assertEqual(int(fetched.headers["content-length"]), latest["bytes"])
            self.assertEqual(hashlib.sha256(fetched.body).hexdigest(), latest["sha256"])
            head = primary.request("HEAD", path, internal=True, headers=auth)
            self.assertEqual((head.status, head.body, head.headers["content-length"]),
                             (200, b"", str(latest["bytes"])))
            self.assertEqual(primary.get(path, internal=True).status, 401)
            self.assertEqual(primary.get("/internal/backups/files/..%2Fshop.db", internal=True, headers=auth).status,
                             404)

            standby = Shop(seed=False, command="standby", env=env, pii_key=key,
                           extra_args=Shop.UNLIMITED + ("--primary", f"http://127.0.0.1:{primary.internal_port}",
                                                        "--sync-interval", "1s"))
            role = wait_until(lambda: standby.get("/internal/role", internal=True).json,
                              lambda r: r["applied_backup"] == taken.json["name"], timeout=120)
            self.assertEqual(role["role"], "standby")
            # The standby shows the catalog, refuses changes, and sends nothing.
            self.assertEqual(standby.get(f"/api/products/{product}").status, 200)
            refused = standby.request("POST", "/api/auth/login", {"email": "x@example.org", "password": "y"})
            self.assertEqual((refused.status, refused.json["error"]["code"]), (503, "read_only"))

            # Orders after the last backup are the recovery point's loss: documented, not hidden.
            late = place(primary, buyer(primary, phone, product), phone)["id"]
            primary.stop()

            started = time.time()
            promoted = run("promote", "--internal-port", str(standby.internal_port))
            self.assertEqual(promoted.returncode, 0, promoted.stderr)
            self.assertEqual(json.loads(promoted.stdout)["role"], "primary")
            # Serving as the primary: a customer signs in and buys.
            customer = standby.login("seller1@gitgoods.example")
            standby.request("POST", "/api/cart/items", {"product_id": product, "quantity": 1}, token=customer)
            bought = checkout(standby, customer, "after-promotion", BODY)
            took = time.time() - started
            self.assertEqual(bought.status, 201, bought.body)
            print(f"\n    promotion: serving writes {took:.2f} s after `emporium promote`", flush=True)
            for oid in orders:
                self.assertEqual(standby.get(f"/api/orders/{oid}", token=admin).status, 200, oid)
            # The late order is not there: its id went to the first order taken after promotion.
            after = standby.get(f"/api/orders/{late}", token=admin)
            self.assertTrue(after.status == 404 or after.json["id"] == bought.json["id"], after.body)
            self.assertEqual(standby.get("/internal/role", internal=True).json["role"], "primary")
        finally:
            if standby:
                standby.close()
            primary.close()

    def test_standby_promotes_itself_when_the_primary_dies_and_the_old_primary_fences_itself(self):
        token = base64.b64encode(os.urandom(24)).decode()
        key = base64.b64encode(os.urandom(32)).decode()
        env = {"EMPORIUM_REPLICATION_TOKEN": token}
        primary = Shop(products=20, extra_args=Shop.UNLIMITED + ("--backup-interval", "24h"), env=env, pii_key=key)
        standby = None
        try:
            product = first_product(primary)
            self.assertEqual(primary.get("/internal/role", internal=True).json["term"], 1)
            taken = primary.admin("POST", "/api/admin/backups")
            self.assertEqual(taken.status, 201)
            standby = Shop(seed=False, command="standby", env=env, pii_key=key,
                           extra_args=Shop.UNLIMITED + ("--primary", f"http://127.0.0.1:{primary.internal_port}",
                                                        "--sync-interval", "1s", "--promote-after", "2s"))
            role = wait_until(lambda: standby.get("/internal/role", internal=True).json,
                              lambda r: r["applied_backup"] == taken.json["name"], timeout=120)
            self.assertEqual((role["role"], role["term"]), ("standby", 1))

            # The primary's machine dies: no stop, no word.
            primary.proc.kill()
            primary.proc.wait()
            died = time.time()
            role = wait_until(lambda: standby.get("/internal/role", internal=True).json,
                              lambda r: r["role"] == "primary", timeout=60)
            took = time.time() - died
            self.assertEqual(role["term"], 2)
            standby.wait_for_log('"msg":"promoting"', timeout=30)  # written by a background thread
            customer = standby.login("seller1@gitgoods.example")  # a write: sessions are stored
            self.assertEqual(standby.request("POST", "/api/cart/items", {"product_id": product, "quantity": 1},
                                             token=customer).status, 200)
            print(f"\n    automatic promotion: primary killed, standby took writes {took:.2f} s later "
                  f"(--promote-after 2s)", flush=True)

            # The old primary comes back, told of its peer: it finds a primary of a later term and
            # takes no writes, runs no jobs and says it is not ready; reads still answer.
            primary.extra_args = list(primary.extra_args) + ["--peer", f"http://127.0.0.1:{standby.internal_port}"]
            primary.start(probe="/healthz")
            self.assertEqual(primary.get("/internal/role", internal=True).json, {"role": "fenced", "term": 1,
                                                                               "applied_backup": ""})
            self.assertEqual(primary.get("/readyz", internal=True).status, 503)
            refused = primary.request("POST", "/api/auth/login", {"email": "seller1@gitgoods.example",
                                                                  "password": "demo password 123"})
            self.assertEqual((refused.status, refused.json["error"]["code"]), (503, "read_only"))
            self.assertEqual(primary.get(f"/api/products/{product}").status, 200)
            log = primary.wait_for_log('"msg":"fenced"', timeout=30)
            self.assertNotIn('"msg":"lease acquired"', log.split('"msg":"fenced"')[1])
        finally:
            if standby:
                standby.close()
            primary.close()


if __name__ == "__main__":
    unittest.main()
