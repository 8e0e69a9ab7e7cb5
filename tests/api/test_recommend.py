"""Recommendations over real HTTP: `emporium recs export | train | rollback`, the hot swap in a
running shop, the filtering rules of every answer, counting per model version, the admin routes,
the schedule, and every route against every role and scope."""
import csv
import json
import os
import random
import subprocess
import tempfile
import time
import unittest

from shop import BIN, Shop

shop = None
people = {}
RECS = ("--recs-poll", "1s", "--recs-retrain-interval", "0")


def setUpModule():
    global shop
    shop = Shop(products=300, customers=40, extra_args=Shop.UNLIMITED + RECS)
    people["admin"] = shop.admin_token
    people["seller"] = shop.login("seller1@gitgoods.example")
    people["customer"], _ = shop.signup(unique_email())
    for name, scopes in (("analytics", ["analytics:read"]), ("ops_read", ["ops:read"]), ("ops_write", ["ops:write"])):
        r = shop.admin("POST", "/api/admin/tokens", {"scopes": scopes, "ttl_seconds": 3600, "note": name})
        assert r.status == 201, r.body
        people[name] = r.json["token"]


def tearDownModule():
    shop.close()


def unique_email():
    return f"recs{random.randint(1, 10**12)}@example.org"


def train(*extra):
    r = shop.cli("recs", "train", *extra)
    return json.loads(r.stdout)


def wait_until(check, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)  # polling the shop for a background swap, not synchronising a test
    raise AssertionError(f"never happened: {what}")


def live_version():
    return shop.admin("GET", "/api/admin/recommendations").json["live_version"]


def wait_live(version):
    # Generous: the shop validates a new model (checksums, a recall smoke test) before the swap,
    # which takes a while under the sanitizers.
    wait_until(lambda: live_version() == version, f"version {version} live", timeout=300)


def some_products(n=5):
    return shop.get(f"/api/products?sort=popular&per_page={n}").json["items"]


class TrainTest(unittest.TestCase):
    def test_train_prints_the_manifest_and_the_shop_swaps_it_in(self):
        m = train()
        self.assertGreater(m["version"], 0)
        for field in ("recall_at_10", "ndcg_at_10", "hit_rate_at_10"):
            self.assertIn(field, m["evaluation"]["blend"])
        self.assertIn("recall_at_10", m["evaluation"]["popularity"])
        self.assertIn("new", m["evaluation"]["buy_again"])
        self.assertGreaterEqual(m["ann_recall_at_10"], 0.95)
        self.assertEqual(m["items"], shop.get("/api/products?per_page=1").json["total"])
        self.assertLessEqual({"M", "ef_construction", "ef", "co_purchase_top", "shrinkage", "seed"}, set(m["parameters"]))
        self.assertTrue(m["checksum"].startswith("sha256:"))
        self.assertGreater(m["data_window"]["orders"], 0)
        self.assertGreater(m["memory_bytes"], 0)
        self.assertGreater(m["size_bytes"], 0)
        wait_live(m["version"])
        product = some_products(1)[0]
        r = shop.get(f"/api/products/{product['id']}/recommendations")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["model_version"], m["version"])
        self.assertEqual(len(r.json["items"]), 10)
        shop.wait_for_log("model live", timeout=30)  # log lines are written by a background thread

    def test_export_is_csv_without_personal_data_and_trains_the_same(self):
        out = tempfile.mkdtemp(prefix="emporium-recs-export-")
        r = shop.cli("recs", "export", "--out", out)
        summary = json.loads(r.stdout)
        with open(os.path.join(out, "items.csv"), newline="") as f:
            items = list(csv.DictReader(f))
        with open(os.path.join(out, "baskets.csv"), newline="") as f:
            baskets = list(csv.DictReader(f))
        self.assertEqual(len(items), summary["items"])
        self.assertEqual(len(baskets), summary["order_lines"])
        self.assertEqual(list(baskets[0]), ["order_id", "customer", "product_id", "quantity", "time"])
        self.assertEqual(list(items[0]), ["product_id", "name", "category_path", "tags", "attributes", "price_cents",
                                          "stock", "archived"])
        # Customers are keyed hashes, a new key per export: no id, email or name, and not linkable.
        raw = open(os.path.join(out, "baskets.csv")).read()
        self.assertNotIn("@", raw)
        self.assertTrue(all(b["customer"].startswith("c") and len(b["customer"]) == 17 for b in baskets))
        again = tempfile.mkdtemp(prefix="emporium-recs-export-")
        shop.cli("recs", "export", "--out", again)
        with open(os.path.join(again, "baskets.csv"), newline="") as f:
            second = list(csv.DictReader(f))
        self.assertNotEqual(baskets[0]["customer"], second[0]["customer"])
        m = train("--from", out)
        self.assertEqual(m["source"], out)
        self.assertEqual(m["data_window"]["order_lines"], len(baskets))

    def test_bad_csv_is_refused_with_the_line(self):
        out = tempfile.mkdtemp(prefix="emporium-recs-bad-")
        shop.cli("recs", "export", "--out", out)
        with open(os.path.join(out, "baskets.csv"), "a") as f:
            f.write("1,cX,not-a-number,1,2026-01-01T00:00:00Z\r\n")
        before = shop.admin("GET", "/api/admin/recommendations").json["versions"]
        r = subprocess.run([BIN, "recs", "train", "--from", out, "--data-dir", shop.data], capture_output=True,
                           timeout=120)
        self.assertEqual(r.returncode, 2)
        self.assertIn("baskets.csv", r.stderr.decode())
        self.assertIn("line", r.stderr.decode())
        self.assertEqual(len(shop.admin("GET", "/api/admin/recommendations").json["versions"]), len(before))


class ServingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.version = train()["version"]
        wait_live(cls.version)

    def test_answers_follow_the_rules(self):
        for p in some_products(8):
            r = shop.get(f"/api/products/{p['id']}/recommendations?limit=12")
            self.assertEqual(r.status, 200, r.body)
            items = r.json["items"]
            ids = [i["id"] for i in items]
            self.assertEqual(len(items), 12)
            self.assertNotIn(p["id"], ids)
            self.assertEqual(len(set(ids)), len(ids))
            self.assertTrue(all(i["stock"] > 0 for i in items))
            for i in items:
                self.assertEqual(shop.get(f"/api/products/{i['id']}").status, 200)  # not archived
            bases = [(i["category"], i["name"].split(" \u2013 ")[0].lower()) for i in items]
            self.assertEqual(len(set(bases)), len(bases), "two variants of one item")

    def test_changes_show_at_once(self):
        p = some_products(1)[0]
        first = shop.get(f"/api/products/{p['id']}/recommendations?limit=5").json["items"]
        gone, sold_out = first[0]["id"], first[1]["id"]
        self.assertEqual(shop.admin("DELETE", f"/api/products/{gone}").status, 204)
        self.assertEqual(shop.admin("PATCH", f"/api/products/{sold_out}", {"stock": 0}).status, 200)
        after = [i["id"] for i in shop.get(f"/api/products/{p['id']}/recommendations?limit=5").json["items"]]
        self.assertEqual(len(after), 5)
        self.assertNotIn(gone, after)
        self.assertNotIn(sold_out, after)
        shop.admin("PATCH", f"/api/products/{sold_out}", {"stock": 20})

    def test_bad_input_is_a_clear_error(self):
        p = some_products(1)[0]
        for limit in ("0", "51", "abc", "-1", "1e3", ""):
            r = shop.get(f"/api/products/{p['id']}/recommendations?limit={limit}")
            self.assertEqual(r.status, 422, limit)
            self.assertEqual(r.json["error"]["details"]["fields"][0]["field"], "limit")
        self.assertEqual(shop.get("/api/products/99999999/recommendations").status, 404)
        self.assertEqual(shop.get("/api/products/abc/recommendations").status, 404)
        r = shop.get(f"/api/recommendations?limit=100", token=people["customer"])
        self.assertEqual(r.status, 422)

    def test_a_shopper_never_gets_what_is_in_the_cart(self):
        token, _ = shop.signup(unique_email())
        r = shop.get("/api/recommendations?limit=6", token=token)
        self.assertEqual((r.status, len(r.json["items"])), (200, 6))  # no history: popular products
        self.assertEqual(r.header("cache-control"), "no-store")
        in_cart = [i["id"] for i in r.json["items"][:2]]
        for pid in in_cart:
            self.assertEqual(shop.request("POST", "/api/cart/items", {"product_id": pid, "quantity": 1},
                                          token=token).status, 200)
        after = shop.get("/api/recommendations?limit=6", token=token).json
        self.assertEqual(len(after["items"]), 6)
        self.assertFalse(set(in_cart) & {i["id"] for i in after["items"]})
        self.assertEqual(after["model_version"], self.version)

    def test_feedback_is_counted_per_version(self):
        before = self.counters(self.version)
        p = some_products(1)[0]
        shown = len(shop.get(f"/api/products/{p['id']}/recommendations?limit=7").json["items"])
        for event in ("click", "click", "add_to_cart"):
            r = shop.request("POST", "/api/recommendations/feedback", {"model_version": self.version, "event": event})
            self.assertEqual(r.status, 204, r.body)
        after = self.counters(self.version)
        self.assertGreaterEqual(after["impressions"] - before["impressions"], shown)
        self.assertEqual(after["clicks"] - before["clicks"], 2)
        self.assertEqual(after["add_to_carts"] - before["add_to_carts"], 1)
        self.assertGreater(after["click_through"], 0)
        for body in ({"model_version": 987654, "event": "click"}, {"model_version": self.version, "event": "view"},
                     {"model_version": "1", "event": "click"}, {"event": "click"}, {"model_version": 1, "x": 1}):
            r = shop.request("POST", "/api/recommendations/feedback", body)
            self.assertEqual(r.status, 422, body)
        self.assertEqual(shop.request("POST", "/api/recommendations/feedback", raw=b"{",
                                      headers={"Content-Type": "application/json"}).status, 400)

    def counters(self, version):
        versions = shop.admin("GET", "/api/admin/recommendations").json["versions"]
        return next(v for v in versions if v["version"] == version)


class DeployTest(unittest.TestCase):
    def test_admin_retrains_then_rolls_back(self):
        start = train()["version"]
        wait_live(start)
        r = shop.admin("POST", "/api/admin/recommendations/train")
        self.assertEqual(r.status, 202, r.body)
        def retrained_live():
            # The shop serves the new version a moment before its row says so: wait for both.
            view = shop.admin("GET", "/api/admin/recommendations").json
            rows = [v for v in view["versions"] if v["version"] == view["live_version"] and v["state"] == "live"]
            return view["live_version"] > start and rows and rows[0]

        row = wait_until(retrained_live, "the retrained version live", timeout=300)  # trains on the shop: slow under ASan
        new = row["version"]
        self.assertGreater(row["summary"]["training_seconds"], 0)
        self.assertIn("recall_at_10", row["summary"]["popularity"])
        back = shop.admin("POST", "/api/admin/recommendations/rollback")
        self.assertEqual(back.status, 200, back.body)
        self.assertEqual(back.json["live_version"], start)
        states = {v["version"]: v["state"] for v in shop.admin("GET", "/api/admin/recommendations").json["versions"]}
        self.assertEqual((states[new], states[start]), ("rolled_back", "live"))
        p = some_products(1)[0]
        self.assertEqual(shop.get(f"/api/products/{p['id']}/recommendations").json["model_version"], start)

    def test_cli_rollback_is_picked_up_and_stops_at_the_first_version(self):
        a = train()["version"]
        b = train()["version"]
        wait_live(b)
        r = shop.cli("recs", "rollback")
        self.assertEqual(json.loads(r.stdout)["wanted_version"], a)
        wait_live(a)
        # Roll back until nothing earlier is left: then a clear refusal, and the live one stays.
        while True:
            r = subprocess.run([BIN, "recs", "rollback", "--data-dir", shop.data], capture_output=True, timeout=60)
            if r.returncode != 0:
                break
            wait_live(json.loads(r.stdout)["wanted_version"])
        self.assertEqual(r.returncode, 3)
        self.assertIn("no earlier model version", r.stderr.decode())
        self.assertGreater(live_version(), 0)

    def test_a_damaged_version_is_rejected_and_the_live_one_stays(self):
        good = train()["version"]
        wait_live(good)
        shop.stop()
        try:
            bad = train()["version"]
            with open(os.path.join(shop.data, "recs", f"v{bad}", "index.hnsw"), "r+b") as f:
                f.seek(200)
                f.write(b"\xff" * 16)
        finally:
            shop.start()
        self.assertEqual(live_version(), good)
        versions = {v["version"]: v for v in shop.admin("GET", "/api/admin/recommendations").json["versions"]}
        self.assertEqual(versions[bad]["state"], "rejected")
        self.assertIn("checksum", versions[bad]["note"])
        shop.wait_for_log("recommendation model rejected", timeout=30)


class ScheduleTest(unittest.TestCase):
    def test_a_shop_without_a_model_trains_one_and_retrains_on_schedule(self):
        s = Shop(products=60, customers=10, extra_args=Shop.UNLIMITED + ("--recs-poll", "1s",
                                                                          "--recs-retrain-interval", "3s"))
        try:
            def versions():
                return s.admin("GET", "/api/admin/recommendations").json["versions"]
            wait_until(lambda: len(versions()) >= 2, "two scheduled trainings", timeout=60)
            view = s.admin("GET", "/api/admin/recommendations").json
            self.assertEqual(view["retrain_interval"], "3s")
            self.assertEqual([v["state"] for v in view["versions"]].count("live"), 1)
        finally:
            s.close()

    def test_a_bad_schedule_setting_stops_the_shop(self):
        with self.assertRaises(RuntimeError):
            Shop(products=10, customers=1, extra_args=Shop.UNLIMITED + ("--recs-retrain-interval", "soon"))


class MatrixTest(unittest.TestCase):
    """Every recommendation route against every role and every kind of staff token."""

    def test_matrix(self):
        pid = some_products(1)[0]["id"]
        A, C, S, AD = "anonymous", "customer", "seller", "admin"
        T, OR, OW = "analytics", "ops_read", "ops_write"
        anyone = {who: {200} for who in (A, C, S, AD, T, OR, OW)}
        feedback = {"model_version": 0, "event": "click"}
        routes = [
            ("GET", f"/api/products/{pid}/recommendations", None, anyone),
            ("GET", "/api/recommendations", None, {A: {401}, C: {200}, S: {200}, AD: {200}, T: {403}, OR: {403},
                                                   OW: {403}}),
            ("POST", "/api/recommendations/feedback", feedback, {who: {204} for who in anyone}),
            ("GET", "/api/admin/recommendations", None, {A: {401}, C: {403}, S: {403}, AD: {200}, T: {403},
                                                         OR: {200}, OW: {403}}),
            # Allowed callers get 202, or 409 while a training they started a moment ago runs.
            ("POST", "/api/admin/recommendations/train", None, {A: {401}, C: {403}, S: {403}, AD: {202, 409},
                                                                T: {403}, OR: {403}, OW: {202, 409}}),
            # Allowed callers go back a version, or hear there is none.
            ("POST", "/api/admin/recommendations/rollback", None, {A: {401}, C: {403}, S: {403}, AD: {200, 409},
                                                                   T: {403}, OR: {403}, OW: {200, 409}}),
        ]
        failures = []
        checked = 0
        for method, path, body, expected in routes:
            for who, statuses in expected.items():
                r = shop.request(method, path, body, token=people.get(who))
                checked += 1
                if r.status not in statuses:
                    failures.append(f"{who} {method} {path}: {r.status} not in {sorted(statuses)}")
                if r.status >= 400:
                    self.assertIn("error", r.json)
        self.assertEqual(failures, [])
        print(f"recommendation matrix: {checked} checks over {len(routes)} routes")


if __name__ == "__main__":
    unittest.main()
