"""Accounts over real HTTP: sign-up, sign-in, cookies with CSRF, roles, staff tokens, the
authorization matrix of every route against every role and scope, and hostile input."""
import concurrent.futures
import http.cookies
import json
import random
import time
import unittest

import pictures
from shop import DEMO_PASSWORD, Shop

shop = None
people = {}


def setUpModule():
    global shop
    shop = Shop(products=60)
    people["admin"] = shop.admin_token
    people["seller"] = shop.login("seller1@gitgoods.example")
    people["seller2"] = shop.login("seller2@gitgoods.example")
    people["customer"], _ = shop.signup(unique_email(), phone="+6581234567")
    people["customer2"], _ = shop.signup(unique_email())


def tearDownModule():
    shop.close()


def unique_email():
    return f"user{random.randint(1, 10**12)}@example.org"


def me(token):
    return shop.get("/api/me", token=token).json


class SignUpTest(unittest.TestCase):
    def test_signup_login_me_logout(self):
        email = unique_email()
        r = shop.request("POST", "/api/auth/signup", {"email": email, "password": "correct horse battery",
                                                      "name": "Ada Lovelace", "phone": "+6591234567"})
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json["user"], {"id": r.json["user"]["id"], "email": email, "name": "Ada Lovelace",
                                          "role": "customer"})
        self.assertEqual(r.header("cache-control"), "no-store")
        token = r.json["token"]
        profile = me(token)
        self.assertEqual((profile["email"], profile["phone"], profile["role"], profile["sms_notifications"]),
                         (email, "+6591234567", "customer", True))
        login = shop.request("POST", "/api/auth/login", {"email": email.upper(), "password": "correct horse battery"})
        self.assertEqual(login.status, 200)
        self.assertEqual(shop.request("POST", "/api/auth/logout", token=token).status, 204)
        self.assertEqual(shop.get("/api/me", token=token).status, 401)
        self.assertEqual(shop.get("/api/me", token=login.json["token"]).status, 200)  # other sessions live on

    def test_signup_checks_every_field(self):
        r = shop.request("POST", "/api/auth/signup", {"email": "nope", "password": "short", "name": "", "phone": "123"})
        self.assertEqual(r.status, 422)
        fields = {f["field"] for f in r.json["error"]["details"]["fields"]}
        self.assertEqual(fields, {"email", "password", "name", "phone"})
        r = shop.request("POST", "/api/auth/signup", {})
        self.assertEqual({f["field"] for f in r.json["error"]["details"]["fields"]}, {"email", "password", "name"})

    def test_email_taken_ignores_case(self):
        email = unique_email()
        shop.signup(email)
        r = shop.request("POST", "/api/auth/signup", {"email": email.upper(), "password": "correct horse battery", "name": "X"})
        self.assertEqual((r.status, r.json["error"]["code"]), (409, "email_taken"))

    def test_one_email_signed_up_at_once_many_times_gives_one_account_and_409s(self):
        """On PostgreSQL the sign-ups run side by side: the ones that lose the race to the unique
        index are told email_taken, never 500."""
        for _ in range(3):
            body = {"email": unique_email(), "password": "correct horse battery", "name": "Racer"}
            with concurrent.futures.ThreadPoolExecutor(5) as pool:  # within the sign-in queue on one core
                # A sign-up shed with 503 and Retry-After (a busy machine) is sent again, as the page does.
                answers = list(pool.map(lambda _: shop.hashed("/api/auth/signup", body), range(5)))
            self.assertEqual(sorted(r.status for r in answers), [201] + [409] * 4,
                             [r.body for r in answers if r.status not in (201, 409)])
            self.assertEqual({r.json["error"]["code"] for r in answers if r.status == 409}, {"email_taken"})
            login = shop.request("POST", "/api/auth/login", {"email": body["email"], "password": body["password"]})
            self.assertEqual(login.status, 200)

    def test_same_answer_for_unknown_email_and_wrong_password(self):
        email = unique_email()
        shop.signup(email)
        wrong = shop.request("POST", "/api/auth/login", {"email": email, "password": "wrong password!!"})
        unknown = shop.request("POST", "/api/auth/login", {"email": unique_email(), "password": "wrong password!!"})
        self.assertEqual(wrong.status, 401)
        self.assertEqual(unknown.status, 401)
        self.assertEqual(wrong.json, unknown.json)
        self.assertEqual(wrong.json["error"]["code"], "invalid_credentials")

    def test_profile_update(self):
        token, _ = shop.signup(unique_email())
        address = {"name": "Ada", "line1": "1 Analytical Way", "city": "London", "postal_code": "N1 9GU", "country": "GB"}
        r = shop.request("PATCH", "/api/me", {"name": "Ada L.", "phone": "+447700900123", "address": address}, token=token)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["name"], "Ada L.")
        self.assertEqual(r.json["address"]["city"], "London")
        self.assertTrue(r.json["sms_notifications"])
        r = shop.request("PATCH", "/api/me", {"sms_notifications": False}, token=token)
        self.assertFalse(r.json["sms_notifications"])
        self.assertEqual(me(token)["phone"], "+447700900123")
        bad = shop.request("PATCH", "/api/me", {"phone": "+0", "address": {"line1": "x"}, "role": "admin"}, token=token)
        self.assertEqual(bad.status, 422)
        fields = {f["field"] for f in bad.json["error"]["details"]["fields"]}
        self.assertLessEqual({"phone", "role", "address.city", "address.country"}, fields)
        self.assertEqual(me(token)["role"], "customer")


class CookieTest(unittest.TestCase):
    def cookies(self, reply):
        jar = http.cookies.SimpleCookie()
        raw = [v for k, v in reply.raw_headers if k.lower() == "set-cookie"]
        for line in raw:
            jar.load(line)
        return jar, raw

    def test_cookie_session_needs_csrf_on_writes(self):
        r = shop.request("POST", "/api/auth/signup", {"email": unique_email(), "password": "correct horse battery", "name": "C"})
        jar, raw = self.cookies(r)
        session_line = next(l for l in raw if l.startswith("emporium_session="))
        self.assertIn("HttpOnly", session_line)
        self.assertIn("SameSite=Lax", session_line)
        csrf_line = next(l for l in raw if l.startswith("emporium_csrf="))
        self.assertNotIn("HttpOnly", csrf_line)
        cookie = f"emporium_session={jar['emporium_session'].value}; emporium_csrf={jar['emporium_csrf'].value}"
        self.assertEqual(shop.get("/api/me", headers={"Cookie": cookie}).status, 200)
        denied = shop.request("PATCH", "/api/me", {"name": "Mallory"}, headers={"Cookie": cookie})
        self.assertEqual((denied.status, denied.json["error"]["code"]), (403, "csrf_failed"))
        forged = shop.request("PATCH", "/api/me", {"name": "Mallory"}, headers={"Cookie": cookie, "X-CSRF-Token": "0" * 32})
        self.assertEqual(forged.status, 403)
        ok = shop.request("PATCH", "/api/me", {"name": "Carol"},
                          headers={"Cookie": cookie, "X-CSRF-Token": jar["emporium_csrf"].value})
        self.assertEqual(ok.status, 200)
        out = shop.request("POST", "/api/auth/logout", headers={"Cookie": cookie, "X-CSRF-Token": jar["emporium_csrf"].value})
        self.assertEqual(out.status, 204)
        self.assertTrue(any("Max-Age=0" in v for k, v in out.raw_headers if k.lower() == "set-cookie"))
        self.assertEqual(shop.get("/api/me", headers={"Cookie": cookie}).status, 401)


class RoleTest(unittest.TestCase):
    def test_role_change_ends_sessions_and_admins_see_masked_users(self):
        email = unique_email()
        token, user = shop.signup(email, phone="+6599887766")
        listing = shop.get("/api/admin/users?per_page=100", token=people["admin"]).json
        row = next(u for u in listing["items"] if u["id"] == user["id"])
        self.assertNotEqual(row["email"], email)
        self.assertRegex(row["email"], r"^u\*\*\*@e\*\*\*\.org$")
        found = shop.get("/api/admin/users?q=" + email, token=people["admin"]).json
        self.assertEqual([u["id"] for u in found["items"]], [user["id"]])
        r = shop.request("PATCH", f"/api/admin/users/{user['id']}", {"role": "seller"}, token=people["admin"])
        self.assertEqual((r.status, r.json["role"]), (200, "seller"))
        self.assertEqual(shop.get("/api/me", token=token).status, 401)
        new_token = shop.login(email, "correct horse battery")
        self.assertEqual(me(new_token)["role"], "seller")
        admin_id = me(people["admin"])["id"]
        own = shop.request("PATCH", f"/api/admin/users/{admin_id}", {"role": "customer"}, token=people["admin"])
        self.assertEqual((own.status, own.json["error"]["code"]), (409, "own_role"))
        bad = shop.request("PATCH", f"/api/admin/users/{user['id']}", {"role": "king"}, token=people["admin"])
        self.assertEqual(bad.status, 422)

    def test_staff_tokens(self):
        r = shop.request("POST", "/api/admin/tokens", {"scopes": ["catalog:write"], "ttl_seconds": 600, "note": "intern"},
                         token=people["admin"])
        self.assertEqual(r.status, 201)
        token = r.json["token"]
        listed = shop.get("/api/admin/tokens", token=people["admin"]).json["items"]
        self.assertTrue(any(t["id"] == r.json["id"] and "token" not in t for t in listed))
        made = shop.request("POST", "/api/products", {"sku": f"TOK-{random.randint(1, 10**9)}", "name": "Token Made",
                                                      "category": "consoles", "price_cents": 100, "stock": 1}, token=token)
        self.assertEqual(made.status, 201)
        self.assertEqual(shop.get("/api/me", token=token).status, 403)
        self.assertEqual(shop.get("/api/admin/users", token=token).status, 403)
        self.assertEqual(shop.request("POST", "/api/admin/tokens", {"scopes": ["catalog:write"], "ttl_seconds": 60},
                                      token=token).status, 403)
        self.assertEqual(shop.request("DELETE", f"/api/admin/tokens/{r.json['id']}", token=people["admin"]).status, 204)
        self.assertEqual(shop.get("/api/seller/products", token=token).status, 401)
        for body in ({"scopes": ["analytics:read"], "ttl_seconds": 13 * 3600}, {"scopes": ["everything"], "ttl_seconds": 60},
                     {"scopes": [], "ttl_seconds": 60}, {"scopes": "analytics:read", "ttl_seconds": 60}, {"scopes": ["analytics:read"]}):
            self.assertEqual(shop.request("POST", "/api/admin/tokens", body, token=people["admin"]).status, 422, body)


STAFF_SCOPES = ["catalog:read", "catalog:write", "orders:read", "orders:write", "analytics:read", "users:read",
                "users:write", "ops:read", "ops:write", "delivery:write"]
PICTURE = pictures.png(64, 48)  # a product photo to upload
ROLES = ["anonymous", "customer", "customer2", "seller", "seller2", "admin"]
CARD = {"method": "card", "card_number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
ADDR = {"name": "Matrix Buyer", "line1": "1 Main Street", "city": "Singapore", "postal_code": "123456", "country": "SG"}


def staff_token(scopes):
    r = shop.request("POST", "/api/admin/tokens", {"scopes": scopes, "ttl_seconds": 3600, "note": "matrix"},
                     token=people["admin"])
    assert r.status == 201, r.body
    return r.json["token"]


class Route:
    """What a route may do for whom. `scope` is what it needs: None (anyone), "profile" (one's own
    account: never a staff token), "signed_in" (any principal), or a staff scope, in which case a
    token carrying that scope acts as its issuer, an admin, and every other token gets 403.
    `roles` maps role callers to statuses; `token` overrides what the right token gets; `setup`
    makes fresh things for each call (a route that changes state must not see the last call's
    change) and returns (path, body, headers)."""

    def __init__(self, method, pattern, scope, roles, setup, token=None, also=()):
        self.method, self.pattern, self.scope, self.roles, self.setup = method, pattern, scope, roles, setup
        self.token = token
        self.also = also  # scopes that, besides `scope`, admit a token

    def expected(self, caller):
        if caller in self.roles:
            return self.roles[caller]
        scope = caller[len("token:"):]
        if self.scope is None:
            return self.roles["anonymous"]
        if self.scope == "signed_in":
            return self.token
        if scope == self.scope or scope in self.also:
            return self.token if self.token is not None else self.roles["admin"]
        return 403


class MatrixTest(unittest.TestCase):
    """Every public route, as the server lists it, against every role and every single-scope staff
    token. A route the server has and this table lacks fails the test, so a new route cannot ship
    without deciding who may call it. 404 for another person's things."""

    @classmethod
    def setUpClass(cls):
        for scope in STAFF_SCOPES:
            people["token:" + scope] = staff_token([scope])
        cls.product = shop.request("POST", "/api/products", cls.product_body(), token=people["seller"]).json["id"]

    @staticmethod
    def product_body():
        return {"sku": f"MX-{random.randint(1, 10**12)}", "name": "Matrix Thing", "category": "consoles",
                "price_cents": 1000, "stock": 1000}

    def fresh_product(self, caller):
        r = shop.request("POST", "/api/products", self.product_body(), token=people["seller"])
        self.assertEqual(r.status, 201, r.body)
        return r.json["id"]

    def fresh_image(self, product):
        r = shop.request("POST", f"/api/products/{product}/images", raw=PICTURE,
                         headers={"Content-Type": "image/png"}, token=people["seller"])
        self.assertEqual(r.status, 201, r.body)
        return r.json

    def image_to_delete(self, caller):
        product = self.fresh_product(caller)
        return (f"/api/products/{product}/images/{self.fresh_image(product)['id']}", None, {})

    def image(self):
        """One photo of the matrix's product, kept for the routes that do not delete it."""
        if not getattr(self, "kept_image", None):
            type(self).kept_image = self.fresh_image(self.product)
        return self.kept_image

    def fresh_coupon(self):
        code = f"MXC{random.randint(1, 10**12)}"
        r = shop.request("POST", "/api/seller/coupons", {"code": code, "percent_off": 5}, token=people["seller"])
        self.assertEqual(r.status, 201, r.body)
        return code

    def fill_cart(self, caller):
        token = people.get(caller)
        if token and caller in ROLES:
            r = shop.request("POST", "/api/cart/items", {"product_id": self.product, "quantity": 1}, token=token)
            self.assertEqual(r.status, 200, r.body)

    def fresh_order(self, caller):
        """An order of `customer`'s holding a line of `seller`'s."""
        token = people["customer"]
        self.assertEqual(shop.request("POST", "/api/cart/items", {"product_id": self.product, "quantity": 1},
                                      token=token).status, 200)
        r = shop.request("POST", "/api/checkout", {"shipping_address": ADDR, "phone": "+6581234567", "payment": CARD},
                         token=token, headers={"Idempotency-Key": f"mx-{random.randint(1, 10**12)}"})
        self.assertEqual(r.status, 201, r.body)
        return r.json["id"]

    def routes(self):
        A, C, C2, S, S2, AD = ROLES
        public = {who: 200 for who in ROLES}
        profile = {A: 401, C: 200, C2: 200, S: 200, S2: 200, AD: 200}
        admin_only = lambda ok: {A: 401, C: 403, C2: 403, S: 403, S2: 403, AD: ok}
        fixed = lambda path, body=None: (lambda caller: (path, body, {}))
        pid = self.product

        def order_path(suffix):
            return lambda caller: (f"/api/orders/{self.fresh_order(caller)}{suffix}", None, {})

        def cart_item(caller):
            self.fill_cart(caller)
            return (f"/api/cart/items/{pid}", {"quantity": 1}, {})

        def cart_item_delete(caller):
            self.fill_cart(caller)
            return (f"/api/cart/items/{pid}", None, {})

        def validate(caller):
            self.fill_cart(caller)
            return ("/api/orders/validate", {"shipping_address": ADDR, "phone": "+6581234567"}, {})

        def checkout(caller):
            self.fill_cart(caller)
            return ("/api/checkout", {"shipping_address": ADDR, "phone": "+6581234567", "payment": CARD},
                    {"Idempotency-Key": f"mx-{random.randint(1, 10**12)}"})

        def victim(caller):
            _, user = shop.signup(unique_email())
            return (f"/api/admin/users/{user['id']}", {"role": "customer"}, {})

        def signup(caller):
            return ("/api/auth/signup", {"email": unique_email(), "password": "correct horse battery", "name": "M"}, {})

        def train(caller):
            # One training at a time (409 `training_running`): wait for the last call's to end.
            deadline = time.time() + 120
            while shop.get("/api/admin/recommendations", token=people["admin"]).json["training"]:
                self.assertLess(time.time(), deadline, "a training never ended")
                time.sleep(0.1)  # polling the training's state
            return ("/api/admin/recommendations/train", None, {})

        def rollback(caller):
            # A version to go back to: a fresh one trained by the admin, so a rollback can succeed.
            train(caller)
            self.assertEqual(shop.request("POST", "/api/admin/recommendations/train", token=people["admin"]).status, 202)
            train(caller)
            return ("/api/admin/recommendations/rollback", None, {})

        login_email = unique_email()
        shop.signup(login_email)
        catalog_write = {A: 401, C: 403, C2: 403, S: 200, S2: 404, AD: 200}
        return [
            Route("GET", "/api/store", None, public, fixed("/api/store")),
            Route("GET", "/api/categories", None, public, fixed("/api/categories")),
            Route("GET", "/api/products", None, public, fixed("/api/products")),
            Route("GET", "/api/products/{id}", None, public, fixed(f"/api/products/{pid}")),
            Route("GET", "/api/products/{id}/image.svg", None, public, fixed(f"/api/products/{pid}/image.svg")),
            Route("POST", "/api/products", "catalog:write", {A: 401, C: 403, C2: 403, S: 201, S2: 201, AD: 201},
                  lambda caller: ("/api/products", self.product_body(), {})),
            Route("PATCH", "/api/products/{id}", "catalog:write", catalog_write,
                  fixed(f"/api/products/{pid}", {"stock": 1000})),
            Route("DELETE", "/api/products/{id}", "catalog:write", dict(catalog_write, **{S: 204, AD: 204}),
                  lambda caller: (f"/api/products/{self.fresh_product(caller)}", None, {})),
            Route("GET", "/api/seller/products", "catalog:write", dict(catalog_write, **{S2: 200}),
                  fixed("/api/seller/products")),
            # Product photos: a fresh product for each upload (at most 8 each) and image to delete.
            Route("POST", "/api/products/{id}/images", "catalog:write", dict(catalog_write, **{S: 201, AD: 201}),
                  lambda caller: (f"/api/products/{self.fresh_product(caller)}/images", PICTURE,
                                  {"Content-Type": "image/png"})),
            Route("PATCH", "/api/products/{id}/images/{image_id}", "catalog:write", catalog_write,
                  lambda caller: (f"/api/products/{pid}/images/{self.image()['id']}", {"alt": "Matrix"}, {})),
            Route("DELETE", "/api/products/{id}/images/{image_id}", "catalog:write",
                  dict(catalog_write, **{S: 204, AD: 204}),
                  self.image_to_delete),
            Route("GET", "/api/products/{id}/images/{image_id}/{file}", None, public,
                  lambda caller: (self.image()["url"], None, {})),
            Route("POST", "/api/auth/signup", None, {who: 201 for who in ROLES}, signup),
            Route("POST", "/api/auth/login", None, public,
                  fixed("/api/auth/login", {"email": login_email, "password": "correct horse battery"})),
            # Every principal may end its own session or token; each call gets a fresh one (below).
            Route("POST", "/api/auth/logout", "signed_in", {A: 401, C: 204, C2: 204, S: 204, S2: 204, AD: 204},
                  fixed("/api/auth/logout"), token=204),
            Route("GET", "/api/me", "profile", profile, fixed("/api/me")),
            Route("PATCH", "/api/me", "profile", profile, fixed("/api/me", {"sms_notifications": False})),
            Route("GET", "/api/admin/users", "users:read", admin_only(200), fixed("/api/admin/users")),
            # A users:write token alone cannot even make a customer: the role grants catalog:read
            # and orders:read, which the token lacks (nobody grants more than they hold).
            Route("PATCH", "/api/admin/users/{id}", "users:write", admin_only(200), victim, token=403),
            Route("GET", "/api/admin/tokens", "users:read", admin_only(200), fixed("/api/admin/tokens")),
            Route("POST", "/api/admin/tokens", "users:write", admin_only(201),
                  fixed("/api/admin/tokens", {"scopes": ["orders:read"], "ttl_seconds": 60}), token=403),
            Route("DELETE", "/api/admin/tokens/{id}", "users:write", admin_only(404), fixed("/api/admin/tokens/999999")),
            Route("GET", "/api/cart", "profile", profile, fixed("/api/cart")),
            Route("POST", "/api/cart/items", "profile", profile,
                  fixed("/api/cart/items", {"product_id": pid, "quantity": 1})),
            Route("PATCH", "/api/cart/items/{product_id}", "profile", profile, cart_item),
            Route("DELETE", "/api/cart/items/{product_id}", "profile", profile, cart_item_delete),
            Route("POST", "/api/orders/validate", "profile", profile, validate),
            Route("POST", "/api/checkout", "profile", dict(profile, **{C: 201, C2: 201, S: 201, S2: 201, AD: 201}),
                  checkout),
            Route("GET", "/api/orders", "profile", profile, fixed("/api/orders")),
            Route("GET", "/api/orders/{id}", "orders:read", {A: 401, C: 200, C2: 404, S: 200, S2: 404, AD: 200},
                  order_path("")),
            # Cancelling changes state: the owner in person, or orders:write. Never orders:read.
            Route("POST", "/api/orders/{id}/cancel", "orders:write",
                  {A: 401, C: 200, C2: 404, S: 409, S2: 404, AD: 200}, order_path("/cancel")),
            Route("POST", "/api/orders/{id}/deliver", "orders:write",
                  {A: 401, C: 403, C2: 403, S: 409, S2: 404, AD: 409}, order_path("/deliver")),
            Route("POST", "/api/orders/{id}/refund", "orders:write",
                  {A: 401, C: 403, C2: 403, S: 409, S2: 404, AD: 409}, order_path("/refund")),
            Route("POST", "/api/orders/{id}/pay", "orders:write",
                  {A: 401, C: 403, C2: 403, S: 409, S2: 404, AD: 200}, order_path("/pay")),
            # Staff pay back part of an order: the seller of the line, or an admin (orders:write).
            Route("POST", "/api/orders/{id}/refunds", "orders:write",
                  {A: 401, C: 403, C2: 403, S: 201, S2: 404, AD: 201},
                  lambda caller: (f"/api/orders/{self.fresh_order(caller)}/refunds",
                                  {"items": [{"product_id": pid, "quantity": 1}]}, {})),
            Route("GET", "/api/seller/coupons", "catalog:write", dict(catalog_write, **{S2: 200}),
                  fixed("/api/seller/coupons")),
            Route("POST", "/api/seller/coupons", "catalog:write", {A: 401, C: 403, C2: 403, S: 201, S2: 201, AD: 201},
                  lambda caller: ("/api/seller/coupons", {"code": f"MX{random.randint(1, 10**12)}", "percent_off": 5},
                                  {})),
            Route("DELETE", "/api/seller/coupons/{code}", "catalog:write", dict(catalog_write, **{S: 204, AD: 204}),
                  lambda caller: (f"/api/seller/coupons/{self.fresh_coupon()}", None, {})),
            *[Route("GET", f"/api/seller/analytics/{report}", "analytics:read",
                    {A: 401, C: 403, C2: 403, S: 200, S2: 200, AD: 200}, fixed(f"/api/seller/analytics/{report}"))
              for report in ("summary", "sales", "top-products", "categories", "refunds", "sell-through", "funnel",
                             "export.csv", "settings")],
            # A seller's time zone is set in person (never by a token); customers have no reports.
            Route("PATCH", "/api/seller/analytics/settings", "profile",
                  {A: 401, C: 403, C2: 403, S: 200, S2: 200, AD: 200},
                  fixed("/api/seller/analytics/settings", {"time_zone": "Europe/Berlin"})),
            Route("POST", "/api/analytics/product-views", None, {who: 204 for who in ROLES},
                  fixed("/api/analytics/product-views", {"product_id": pid})),
            Route("GET", "/api/seller/orders", "orders:write", {A: 401, C: 403, C2: 403, S: 200, S2: 200, AD: 200},
                  fixed("/api/seller/orders")),
            Route("POST", "/api/seller/orders/{id}/ship", "orders:write",
                  {A: 401, C: 403, C2: 403, S: 200, S2: 404, AD: 200},
                  lambda caller: (f"/api/seller/orders/{self.fresh_order(caller)}/ship", None, {})),
            Route("GET", "/api/admin/notifications", "ops:read", admin_only(200), fixed("/api/admin/notifications")),
            Route("POST", "/api/admin/notifications/{id}/retry", "ops:write", admin_only(404),
                  fixed("/api/admin/notifications/999999/retry")),
            Route("GET", "/api/admin/events/subscribers", "ops:read", admin_only(200),
                  fixed("/api/admin/events/subscribers")),
            Route("GET", "/api/admin/events/broker", "ops:read", admin_only(200), fixed("/api/admin/events/broker")),
            Route("GET", "/api/admin/events/dead-letters", "ops:read", admin_only(200),
                  fixed("/api/admin/events/dead-letters")),
            Route("POST", "/api/admin/events/dead-letters/{id}/replay", "ops:write", admin_only(404),
                  fixed("/api/admin/events/dead-letters/999999/replay")),
            Route("GET", "/api/admin/webhooks", "ops:read", admin_only(200), fixed("/api/admin/webhooks")),
            Route("POST", "/api/admin/webhooks", "ops:write", admin_only(201),
                  fixed("/api/admin/webhooks", {"url": "https://hooks.example.com/emporium"})),
            Route("DELETE", "/api/admin/webhooks/{id}", "ops:write", admin_only(404),
                  fixed("/api/admin/webhooks/999999")),
            Route("GET", "/api/admin/backups", "ops:read", admin_only(200), fixed("/api/admin/backups")),
            Route("POST", "/api/admin/backups", "ops:write", admin_only(201),
                  fixed("/api/admin/backups")),
            Route("GET", "/api/admin/alerts", "ops:read", admin_only(200), fixed("/api/admin/alerts")),
            Route("GET", "/api/admin/slow-requests", "ops:read", admin_only(200), fixed("/api/admin/slow-requests")),
            # The API description and its reference page (tests/api/test_openapi.py): anyone.
            Route("GET", "/api/openapi.json", None, public, fixed("/api/openapi.json")),
            Route("GET", "/api/docs", None, public, fixed("/api/docs")),
            # Recommendations (src/recommend/recommend_routes.h): shelves for shoppers, the model for admins.
            Route("GET", "/api/products/{id}/recommendations", None, public,
                  fixed(f"/api/products/{pid}/recommendations")),
            Route("GET", "/api/recommendations", "profile", profile, fixed("/api/recommendations")),
            Route("POST", "/api/recommendations/feedback", None, {who: 204 for who in ROLES},
                  fixed("/api/recommendations/feedback", {"model_version": 0, "event": "click"})),
            Route("GET", "/api/admin/recommendations", "ops:read", admin_only(200), fixed("/api/admin/recommendations")),
            Route("POST", "/api/admin/recommendations/train", "ops:write", admin_only(202), train),
            Route("POST", "/api/admin/recommendations/rollback", "ops:write", admin_only(200), rollback),
            # Delivery metrics (src/delivery): CI writes with its own scope, admins read.
            Route("POST", "/api/admin/delivery/events", "delivery:write", admin_only(200),
                  lambda caller: ("/api/admin/delivery/events",
                                  {"type": "run", "id": f"matrix-{random.randint(1, 10**12)}", "commit": "abcd1234",
                                   "started_at": "2026-11-01T10:00:00Z"}, {})),
            Route("GET", "/api/admin/delivery/summary", "ops:read", admin_only(200), fixed("/api/admin/delivery/summary")),
            Route("GET", "/api/admin/delivery/deployments", "ops:read", admin_only(200),
                  fixed("/api/admin/delivery/deployments")),
            Route("GET", "/api/admin/delivery/incidents", "ops:read", admin_only(200),
                  fixed("/api/admin/delivery/incidents")),
            Route("PATCH", "/api/admin/delivery/incidents/{id}", "ops:write", admin_only(404),
                  fixed("/api/admin/delivery/incidents/999999", {"link": "auto"})),
            Route("GET", "/api/admin/delivery/export.csv", "ops:read", admin_only(200),
                  fixed("/api/admin/delivery/export.csv")),
        ]

    def caller_token(self, route, caller):
        if route.pattern != "/api/auth/logout" or caller == "anonymous":
            return people.get(caller)
        # Logging out ends the token: each call ends a fresh one of the same kind.
        if caller.startswith("token:"):
            return staff_token([caller[len("token:"):]])
        emails = {"customer": None, "customer2": None, "seller": "seller1@gitgoods.example",
                  "seller2": "seller2@gitgoods.example", "admin": "admin@gitgoods.example"}
        if emails[caller]:
            return shop.login(emails[caller])
        return shop.signup(unique_email())[0]

    def test_every_route_against_every_role_and_scope(self):
        listed = shop.get("/internal/routes", internal=True)
        self.assertEqual(listed.status, 200)
        served = {(r["method"], r["pattern"]) for r in listed.json["items"]}
        routes = self.routes()
        table = {(r.method, r.pattern) for r in routes}
        self.assertEqual(served - table, set(), "routes without a matrix entry: decide who may call them")
        self.assertEqual(table - served, set(), "matrix entries for routes the server does not have")
        callers = ROLES + ["token:" + s for s in STAFF_SCOPES]
        failures, checked = [], 0
        for route in routes:
            for caller in callers:
                path, body, headers = route.setup(caller)
                raw = body if isinstance(body, bytes) else None
                r = shop.request(route.method, path, None if raw else body, headers=headers, raw=raw,
                                 token=self.caller_token(route, caller))
                checked += 1
                want = route.expected(caller)
                if r.status != want:
                    failures.append(f"{caller} {route.method} {path}: {r.status} != {want} {r.body[:120]!r}")
                if r.status >= 400 and route.method != "HEAD":
                    self.assertIn("error", r.json, f"{caller} {route.method} {path}")
        self.assertEqual(failures, [])
        print(f"authorization matrix: {checked} checks over {len(routes)} routes and {len(callers)} callers "
              f"({len(ROLES)} roles, {len(STAFF_SCOPES)} single-scope tokens)")


class GrantTest(unittest.TestCase):
    """Nobody hands out more than they hold."""

    def test_a_users_write_token_cannot_make_an_admin_or_more_than_it_holds(self):
        _, target = shop.signup(unique_email())
        path = f"/api/admin/users/{target['id']}"
        users_write = staff_token(["users:write"])
        made = shop.request("PATCH", path, {"role": "admin"}, token=users_write)
        self.assertEqual((made.status, made.json["error"]["code"]), (403, "admin_session_required"))
        seller = shop.request("PATCH", path, {"role": "seller"}, token=users_write)
        self.assertEqual((seller.status, seller.json["error"]["code"]), (403, "scope_not_held"))
        self.assertIn("catalog:write", seller.json["error"]["message"])
        # A token holding every scope still cannot make an admin: that needs an admin in person.
        everything = staff_token(STAFF_SCOPES)
        made = shop.request("PATCH", path, {"role": "admin"}, token=everything)
        self.assertEqual((made.status, made.json["error"]["code"]), (403, "admin_session_required"))
        # With the seller role's scopes it may make a seller.
        ok = shop.request("PATCH", path, {"role": "seller"}, token=everything)
        self.assertEqual((ok.status, ok.json["role"]), (200, "seller"))
        # ... but not touch an admin's role.
        admin_id = me(people["admin"])["id"]
        other_admin = shop.request("PATCH", f"/api/admin/users/{target['id']}", {"role": "admin"},
                                   token=people["admin"])
        self.assertEqual(other_admin.status, 200)  # an admin in person may
        demote = shop.request("PATCH", path, {"role": "customer"}, token=everything)
        self.assertEqual((demote.status, demote.json["error"]["code"]), (403, "admin_session_required"))
        self.assertEqual(shop.get(f"/api/admin/users?per_page=100", token=people["admin"]).status, 200)
        roles = {u["id"]: u["role"] for u in shop.get("/api/admin/users?per_page=100", token=people["admin"]).json["items"]}
        self.assertEqual(roles[target["id"]], "admin")
        self.assertEqual(roles[admin_id], "admin")

    def test_tokens_never_issue_tokens(self):
        everything = staff_token(STAFF_SCOPES)
        r = shop.request("POST", "/api/admin/tokens", {"scopes": ["orders:read"], "ttl_seconds": 60}, token=everything)
        self.assertEqual((r.status, r.json["error"]["code"]), (403, "admin_session_required"))
        self.assertEqual(shop.request("POST", "/api/admin/tokens", {"scopes": ["orders:read"], "ttl_seconds": 60},
                                      token=people["admin"]).status, 201)


class HostileInputTest(unittest.TestCase):
    def test_malformed_and_odd_bodies(self):
        for raw in [b"{", b"[]", b"null", b'{"email": "\xff\xfe"}', b'{"email":' + b'"a' * 10 + b"}"]:
            r = shop.request("POST", "/api/auth/login", raw=raw, headers={"Content-Type": "application/json"})
            self.assertEqual(r.status, 400, raw)
        r = shop.request("POST", "/api/auth/signup", {"email": 5, "password": ["x"], "name": {"a": 1}, "extra": 1})
        self.assertEqual(r.status, 422)
        self.assertEqual({f["field"] for f in r.json["error"]["details"]["fields"]}, {"email", "password", "name", "extra"})
        r = shop.request("POST", "/api/auth/login", {"email": "x@y.z", "password": "p" * 100000})
        self.assertEqual(r.status, 401)

    def test_script_and_sql_payloads_come_back_inert(self):
        name = "<script>alert('x')</script> Robert'); DROP TABLE users;--"
        email = f"o'reilly+{random.randint(1, 10**9)}@example.org"
        token, user = shop.signup(email, name=name)
        profile = shop.get("/api/me", token=token)
        self.assertEqual(profile.json["name"], name)
        self.assertEqual(profile.json["email"], email)
        self.assertTrue(profile.header("content-type").startswith("application/json"))
        self.assertIn("default-src 'self'", profile.header("content-security-policy"))
        self.assertEqual(shop.request("POST", "/api/auth/login", {"email": "' OR 1=1 --", "password": "x" * 12}).status, 401)
        self.assertEqual(shop.get("/api/admin/users", token=people["admin"]).status, 200)

    def test_overlong_fields(self):
        r = shop.request("POST", "/api/auth/signup", {"email": "a" * 300 + "@example.com", "password": "x" * 2000,
                                                      "name": "n" * 101})
        self.assertEqual({f["field"] for f in r.json["error"]["details"]["fields"]}, {"email", "password", "name"})

    def test_bad_tokens(self):
        for token in ["", "x", "emp_" + "A" * 43, "a" * 5000]:
            self.assertEqual(shop.get("/api/me", headers={"Authorization": "Bearer " + token}).status, 401)
        self.assertEqual(shop.get("/api/me", headers={"Authorization": "Basic abc"}).status, 401)


class SecurityHeadersTest(unittest.TestCase):
    def test_public_answers_carry_security_headers(self):
        for path in ["/", "/api/products", "/api/nothing"]:
            r = shop.get(path)
            self.assertIn("frame-ancestors 'none'", r.header("content-security-policy"))
            self.assertEqual(r.header("x-content-type-options"), "nosniff")
            self.assertEqual(r.header("referrer-policy"), "strict-origin-when-cross-origin")
            self.assertIsNone(r.header("strict-transport-security"))  # only under TLS


if __name__ == "__main__":
    unittest.main()
