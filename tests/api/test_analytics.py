"""Seller analytics over real HTTP: two new sellers in two time zones sell in a shared order, with a
discount code and a partial refund; each sees only their own lines, the figures show within 5 s,
the CSV export parses back to the same numbers, a rebuild while serving changes nothing, bad
parameters get 422, and the operators' counters move with the orders."""
import csv
import datetime
import io
import random
import re
import time
import unittest

from shop import Shop

CARD = {"method": "card", "card_number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
ADDR = {"name": "Test Buyer", "line1": "1 Main Street", "city": "Singapore", "postal_code": "123456", "country": "SG"}
BASE = "/api/seller/analytics/"


def wait_until(read, ok, timeout):
    """read() until ok(value) or the deadline; returns (value, seconds waited)."""
    started = time.time()
    while True:
        value = read()
        if ok(value):
            return value, time.time() - started
        if time.time() - started > timeout:
            raise AssertionError(f"not within {timeout} s: {value!r}"[:500])
        time.sleep(0.02)  # polling a condition with a deadline


def metric(shop, name):
    text = shop.get("/metrics", internal=True).body.decode()
    m = re.search(r"^" + re.escape(name) + r" ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else None


class AnalyticsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.shop = shop = Shop(products=30)
        # Sales figures are sampled off the scrape every 2 s: present once the first sampling is done.
        cls.orders_before, _ = wait_until(lambda: metric(shop, 'emporium_sales_orders_total{currency="USD"}'),
                                          lambda v: v is not None, 10)
        cls.x, cls.x_id = cls.new_seller()
        cls.y, cls.y_id = cls.new_seller()
        r = shop.request("PATCH", BASE + "settings", {"time_zone": "America/New_York"}, token=cls.x)
        assert r.status == 200, r.body
        cls.px = cls.product(cls.x, "Widget", 2000)
        cls.px2 = cls.product(cls.x, '=HYPERLINK("http://evil.example","Click")', 1500)
        cls.py = cls.product(cls.y, "Gadget, large", 3000)
        assert shop.request("POST", "/api/seller/coupons", {"code": "XSAVE20", "percent_off": 20},
                            token=cls.x).status == 201
        cls.buyer, _ = shop.signup(f"b{random.randint(1, 10**12)}@example.org")
        cls.buyer2, _ = shop.signup(f"b{random.randint(1, 10**12)}@example.org")
        cls.order1 = cls.buy(cls.buyer, [(cls.px, 2), (cls.py, 1)])
        # The first order's freshness: from the checkout's answer to the seller's report.
        started = time.time()
        cls.freshness = None
        _, cls.freshness = wait_until(lambda: cls.summary(cls.x), lambda s: s["orders"] == 1, 5)
        cls.freshness = time.time() - started
        cls.order2 = cls.buy(cls.buyer, [(cls.px2, 1)], coupon="xsave20")
        cls.order3 = cls.buy(cls.buyer2, [(cls.py, 2)])
        r = shop.request("POST", f"/api/orders/{cls.order1}/refunds", {"items": [{"product_id": cls.px, "quantity": 1}]},
                         token=cls.x)
        assert r.status == 201, r.body
        wait_until(lambda: cls.summary(cls.x), lambda s: s["refunds"] == 1, 5)
        wait_until(lambda: cls.summary(cls.y), lambda s: s["orders"] == 2, 5)

    @classmethod
    def tearDownClass(cls):
        cls.shop.close()

    @classmethod
    def new_seller(cls):
        email = f"s{random.randint(1, 10**12)}@example.org"
        _, user = cls.shop.signup(email)
        r = cls.shop.admin("PATCH", f"/api/admin/users/{user['id']}", {"role": "seller"})
        assert r.status == 200, r.body
        return cls.shop.login(email, "correct horse battery"), user["id"]

    @classmethod
    def product(cls, token, name, price):
        r = cls.shop.request("POST", "/api/products", {"sku": f"AN-{random.randint(1, 10**12)}", "name": name,
                                                        "category": "consoles", "price_cents": price, "stock": 50},
                             token=token)
        assert r.status == 201, r.body
        return r.json["id"]

    @classmethod
    def buy(cls, token, lines, coupon=None):
        for pid, qty in lines:
            assert cls.shop.request("POST", "/api/cart/items", {"product_id": pid, "quantity": qty},
                                    token=token).status == 200
        body = {"shipping_address": ADDR, "phone": "+6581234567", "payment": CARD}
        if coupon:
            body["coupon_code"] = coupon
        r = cls.shop.request("POST", "/api/checkout", body, token=token,
                             headers={"Idempotency-Key": f"an-{random.randint(1, 10**12)}"})
        assert r.status == 201, r.body
        return r.json["id"]

    @classmethod
    def range(cls, token):
        today = datetime.date.fromisoformat(cls.shop.get(BASE + "settings", token=token).json["today"])
        return f"from={today - datetime.timedelta(days=1)}&to={today}"

    @classmethod
    def summary(cls, token, extra=""):
        r = cls.shop.get(BASE + "summary?" + cls.range(token) + extra, token=token)
        assert r.status == 200, r.body
        return r.json

    def test_each_seller_sees_their_own_lines_to_the_cent(self):
        print(f"freshness: a placed order showed in its seller's report after {self.freshness:.3f} s")
        x = self.summary(self.x)
        # 2 x 2,000 + 1,500 gross; 20% of 1,500 off; one of two Widgets paid back (2,000).
        self.assertEqual((x["gross_cents"], x["discounts_cents"], x["refunds_cents"], x["net_cents"]),
                         (5500, 300, 2000, 3200))
        self.assertEqual(x["revenue_cents"], x["net_cents"])
        self.assertEqual((x["orders"], x["units"], x["average_order_cents"]), (2, 2, 1600))
        self.assertEqual(x["repeat_customer_rate"], 0.5)  # the buyer's second order with X
        self.assertEqual(x["time_zone"], "America/New_York")
        y = self.summary(self.y)
        # Y's lines of the shared order and the second buyer's: none of X's.
        self.assertEqual((y["gross_cents"], y["net_cents"], y["orders"], y["units"]), (9000, 9000, 2, 3))
        self.assertEqual(y["time_zone"], "Asia/Singapore")  # the shop's, by default
        # Another seller's figures are not there for Y; an admin may ask for anyone's.
        self.assertEqual(self.shop.get(BASE + f"summary?seller_id={self.x_id}", token=self.y).status, 404)
        admin_x = self.shop.admin("GET", BASE + f"summary?seller_id={self.x_id}&" + self.range(self.x)).json
        self.assertEqual(admin_x["net_cents"], 3200)
        self.assertEqual(self.shop.admin("GET", BASE + "summary?seller_id=999999").status, 404)
        self.assertEqual(self.shop.get(BASE + "summary", token=self.buyer).status, 403)
        self.assertEqual(self.shop.get(BASE + "summary").status, 401)
        top = self.shop.get(BASE + "top-products?" + self.range(self.x), token=self.x).json["items"]
        self.assertEqual([(p["product_id"], p["units"], p["revenue_cents"]) for p in top],
                         [(self.px, 1, 2000), (self.px2, 1, 1200)])
        refunds = self.shop.get(BASE + "refunds?" + self.range(self.x), token=self.x).json
        self.assertEqual((refunds["refunds_cents"], refunds["units_refunded"]), (2000, 1))
        self.assertEqual(refunds["items"][0]["product_id"], self.px)
        cats = self.shop.get(BASE + "categories?" + self.range(self.y), token=self.y).json["items"]
        self.assertEqual([(c["slug"], c["net_cents"]) for c in cats], [("consoles", 9000)])
        st = self.shop.get(BASE + "sell-through?" + self.range(self.y), token=self.y).json["items"]
        self.assertEqual([(s["product_id"], s["units_sold"], s["ending_stock"]) for s in st], [(self.py, 3, 47)])

    def test_periods_cover_every_hour_and_compare_with_before(self):
        r = self.shop.get(BASE + "sales?granularity=hour&" + self.range(self.x), token=self.x).json
        self.assertIn(len(r["series"]), (47, 48, 49))  # two local days, one of them maybe 23 or 25 hours
        self.assertEqual(sum(p["net_cents"] for p in r["series"]), 3200)
        self.assertTrue(r["series"][0]["period"].endswith(("-05:00", "-04:00")))
        days = self.shop.get(BASE + "sales?" + self.range(self.x), token=self.x).json["series"]
        self.assertEqual(len(days), 2)
        self.assertEqual(sum(p["orders"] for p in days), 2)
        s = self.summary(self.x, "&compare=previous_period")
        self.assertEqual(s["previous"]["orders"], 0)
        self.assertIsNone(s["change"]["net_cents"])  # nothing before: no percentage
        year = self.shop.get(BASE + "sales?granularity=month&compare=previous_year&" + self.range(self.x),
                             token=self.x).json
        self.assertEqual(len(year["previous_series"]), len(year["series"]))

    def test_csv_export_parses_back_to_the_same_numbers(self):
        r = self.shop.get(BASE + "export.csv?" + self.range(self.x), token=self.x)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith("text/csv; charset=utf-8"))
        self.assertEqual(r.header("transfer-encoding"), "chunked")  # streamed, not held whole
        self.assertIn("attachment", r.header("content-disposition"))
        text = r.body.decode("utf-8")
        self.assertIn("\r\n", text)
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        self.assertEqual({row["type"] for row in rows}, {"sale", "refund"})
        self.assertEqual(sum(int(row["net_cents"]) for row in rows), 3200)
        self.assertEqual(sum(int(row["gross_cents"]) for row in rows), 5500)
        self.assertEqual(sum(int(row["quantity"]) for row in rows), 2)
        names = {row["product"] for row in rows}
        # The formula is shown as text, never run; the comma-free name is left alone.
        self.assertIn("'" + '=HYPERLINK("http://evil.example","Click")', names)
        self.assertIn("Widget", names)
        # Y's export holds Y's lines only, the comma in a name quoted.
        y_rows = list(csv.DictReader(io.StringIO(self.shop.get(BASE + "export.csv?" + self.range(self.y),
                                                                token=self.y).body.decode(), newline="")))
        self.assertEqual({row["product"] for row in y_rows}, {"Gadget, large"})
        self.assertEqual(sum(int(row["net_cents"]) for row in y_rows), 9000)

    def test_a_rebuild_while_serving_changes_nothing(self):
        before = (self.summary(self.x), self.summary(self.y))
        out = self.shop.cli("analytics", "rebuild").stdout.decode()
        self.assertIn('"sale_lines":', out)
        self.assertEqual((self.summary(self.x), self.summary(self.y)), before)

    def test_bad_parameters_are_422_and_name_the_field(self):
        for query, field in [("from=2026-13-01", "from"), ("to=yesterday", "to"),
                             ("from=2026-05-02&to=2026-05-01", "to"), ("from=2000-01-01&to=2026-01-01", "to"),
                             ("currency=usd", "currency"), ("granularity=minute", "granularity"),
                             ("granularity=hour&from=2026-01-01&to=2026-06-01", "granularity"),
                             ("compare=last_week", "compare"), ("limit=0", "limit"), ("limit=abc", "limit")]:
            r = self.shop.get(BASE + "summary?" + query, token=self.x)
            self.assertEqual(r.status, 422, query)
            self.assertEqual([f["field"] for f in r.json["error"]["details"]["fields"]], [field], query)
        r = self.shop.request("PATCH", BASE + "settings", {"time_zone": "Mars/Olympus_Mons"}, token=self.x)
        self.assertEqual((r.status, r.json["error"]["details"]["fields"][0]["code"]), (422, "unknown_time_zone"))
        r = self.shop.request("PATCH", BASE + "settings", {"zone": "UTC"}, token=self.x)
        self.assertEqual(r.status, 422)
        self.assertEqual({f["code"] for f in r.json["error"]["details"]["fields"]}, {"required", "unknown_field"})
        self.assertEqual(self.shop.get(BASE + "settings", token=self.x).json["time_zone"], "America/New_York")
        r = self.shop.request("POST", "/api/analytics/product-views", {"product_id": "x"})
        self.assertEqual(r.status, 422)
        r = self.shop.request("POST", f"/api/orders/{self.order3}/refunds",
                              {"items": [{"product_id": self.py, "quantity": 5}]}, token=self.y)
        self.assertEqual((r.status, r.json["error"]["details"]["fields"][0]["code"]), (422, "too_many"))
        r = self.shop.request("POST", f"/api/orders/{self.order3}/refunds", {"items": "all"}, token=self.y)
        self.assertEqual(r.status, 422)
        r = self.shop.request("POST", f"/api/orders/{self.order3}/refunds",
                              {"items": [{"product_id": self.py, "quantity": 1}]}, token=self.x)
        self.assertEqual(r.status, 404)  # X has no line in it

    def test_funnel_counts_views_and_adds_to_cart(self):
        for _ in range(3):
            self.assertEqual(self.shop.request("POST", "/api/analytics/product-views",
                                               {"product_id": self.px}).status, 204)
        self.assertEqual(self.shop.request("POST", "/api/analytics/product-views",
                                           {"product_id": 987654321}).status, 204)  # counted nowhere
        f, _ = wait_until(lambda: self.shop.get(BASE + "funnel?" + self.range(self.x), token=self.x).json,
                          lambda f: f["views"] >= 3, 10)
        self.assertEqual((f["views"], f["add_to_carts"], f["orders"]), (3, 2, 2))

    def test_the_seeded_history_has_a_funnel(self):
        """`emporium seed` writes product views and adds to cart for its year of orders, so that the
        demo's funnel does not start at 0: views >= adds to cart >= orders."""
        today = datetime.date.fromisoformat(self.shop.admin("GET", BASE + "settings").json["today"])
        # Up to yesterday: today's views and adds are this test class's own.
        r = self.shop.admin("GET", BASE + f"funnel?from={today - datetime.timedelta(days=365)}"
                                          f"&to={today - datetime.timedelta(days=1)}")
        self.assertEqual(r.status, 200, r.body)
        f = r.json
        self.assertGreater(f["orders"], 0)
        self.assertGreaterEqual(f["add_to_carts"], f["orders"])
        self.assertGreater(f["views"], f["add_to_carts"])

    def test_operators_counters_move_with_the_orders(self):
        after, _ = wait_until(lambda: metric(self.shop, 'emporium_sales_orders_total{currency="USD"}'),
                              lambda v: v - self.orders_before >= 3, 10)
        self.assertEqual(after - self.orders_before, 3)
        self.assertIsNotNone(metric(self.shop, 'emporium_sales_net_cents{currency="USD"}'))
        self.assertIsNotNone(metric(self.shop, "emporium_analytics_lag_seconds"))
        text = self.shop.get("/metrics", internal=True).body.decode()
        for line in text.splitlines():
            if line.startswith("emporium_sales_"):
                self.assertRegex(line, r'^emporium_sales_[a-z_]+\{currency="[A-Z]{3}"\} ')
        lag = self.shop.get(BASE + "settings", token=self.x).json
        self.assertEqual(lag["lag_seconds"], 0)
        self.assertIsNotNone(lag["last_event_at"])


if __name__ == "__main__":
    unittest.main()
