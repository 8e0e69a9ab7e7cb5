"""Accounts over real HTTP: sign-up, sign-in, cookies with CSRF, roles, staff tokens, the
authorization matrix of every route, and hostile input."""
import http.cookies
import json
import random
import unittest

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
    r = shop.request("POST", "/api/admin/tokens", {"scopes": ["analytics:read"], "ttl_seconds": 3600, "note": "matrix"},
                     token=people["admin"])
    assert r.status == 201, r.body
    people["scoped"] = r.json["token"]


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


class MatrixTest(unittest.TestCase):
    """Every route against every kind of caller. 404 for another person's things."""

    def test_matrix(self):
        own = shop.request("POST", "/api/products", {"sku": f"MX-{random.randint(1, 10**9)}", "name": "Seller One Thing",
                                                     "category": "consoles", "price_cents": 1000, "stock": 3},
                           token=people["seller"]).json
        pid = own["id"]
        _, victim = shop.signup(unique_email())  # whose role the admin row changes
        patch = {"stock": 4}
        A, C, C2, S, S2, AD, T = "anonymous", "customer", "customer2", "seller", "seller2", "admin", "scoped"
        routes = [
            ("GET", "/api/products", None, {A: 200, C: 200, C2: 200, S: 200, S2: 200, AD: 200, T: 200}),
            ("GET", f"/api/products/{pid}", None, {A: 200, C: 200, C2: 200, S: 200, S2: 200, AD: 200, T: 200}),
            ("GET", "/api/categories", None, {A: 200, C: 200, C2: 200, S: 200, S2: 200, AD: 200, T: 200}),
            ("GET", "/api/store", None, {A: 200, C: 200, C2: 200, S: 200, S2: 200, AD: 200, T: 200}),
            ("PATCH", f"/api/products/{pid}", patch, {A: 401, C: 403, C2: 403, S: 200, S2: 404, AD: 200, T: 403}),
            ("POST", "/api/products", "new", {A: 401, C: 403, C2: 403, S: 201, S2: 201, AD: 201, T: 403}),
            ("GET", "/api/seller/products", None, {A: 401, C: 403, C2: 403, S: 200, S2: 200, AD: 200, T: 403}),
            ("GET", "/api/me", None, {A: 401, C: 200, C2: 200, S: 200, S2: 200, AD: 200, T: 403}),
            ("PATCH", "/api/me", {"sms_notifications": True}, {A: 401, C: 200, C2: 200, S: 200, S2: 200, AD: 200, T: 403}),
            ("GET", "/api/admin/users", None, {A: 401, C: 403, C2: 403, S: 403, S2: 403, AD: 200, T: 403}),
            ("PATCH", f"/api/admin/users/{victim['id']}", {"role": "customer"},
             {A: 401, C: 403, C2: 403, S: 403, S2: 403, AD: 200, T: 403}),
            ("GET", "/api/admin/tokens", None, {A: 401, C: 403, C2: 403, S: 403, S2: 403, AD: 200, T: 403}),
            ("POST", "/api/admin/tokens", {"scopes": ["orders:read"], "ttl_seconds": 60},
             {A: 401, C: 403, C2: 403, S: 403, S2: 403, AD: 201, T: 403}),
            ("DELETE", "/api/admin/tokens/999999", None, {A: 401, C: 403, C2: 403, S: 403, S2: 403, AD: 404, T: 403}),
            ("DELETE", f"/api/products/{pid}", None, {A: 401, C: 403, C2: 403, S2: 404, T: 403, S: 204, AD: 404}),
        ]
        checked = 0
        failures = []
        for method, path, body, expected in routes:
            for who, status in expected.items():
                if body == "new":
                    payload = {"sku": f"MX-{random.randint(1, 10**12)}", "name": "New", "category": "consoles",
                               "price_cents": 1, "stock": 1}
                else:
                    payload = body
                r = shop.request(method, path, payload, token=people.get(who))
                checked += 1
                if r.status != status:
                    failures.append(f"{who} {method} {path}: {r.status} != {status}")
                if r.status >= 400:
                    self.assertIn("error", r.json)
        self.assertEqual(failures, [])
        print(f"authorization matrix: {checked} checks over {len(routes)} routes and {len(routes[0][3])} callers")


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
