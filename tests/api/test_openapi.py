"""The API description (docs/openapi.yaml, served at GET /api/openapi.json) against the real
server: every route the router serves on the public listener is documented and every documented
route is served; every documented error answer uses the contract's error schema; anonymous calls
to every route answer a status the document lists, in the documented shape; the served copy is
the source file's, compressed and revalidated; and /api/docs serves the reference page."""
import copy
import datetime
import gzip
import os
import re
import time
import unittest

import jsonschema
import yaml

import pictures

from shop import ROOT, Shop

SOURCE = os.path.join(ROOT, "docs", "openapi.yaml")
METHODS = ("get", "put", "post", "patch", "delete")
ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}

shop = None
document = None


def setUpModule():
    global shop, document
    shop = Shop(products=20)
    with open(SOURCE, encoding="utf-8") as f:
        document = yaml.safe_load(f)


def tearDownModule():
    shop.close()


def resolve(node):
    """Follows a local $ref ("#/components/...") to what it names."""
    while isinstance(node, dict) and "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def operations():
    """(METHOD, path, operation) for every documented operation."""
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method.upper(), path, item[method]


def served_routes():
    r = shop.request("GET", "/internal/routes", internal=True)
    assert r.status == 200, r.body
    return {(i["method"], i["pattern"]) for i in r.json["items"]}


def validate(instance, schema):
    """Checks instance against a schema of the document ({"$ref": "#/components/schemas/Error"} or
    an inline one), its local $refs resolved within the document."""
    root = {"allOf": [schema], "components": document["components"]}
    jsonschema.Draft202012Validator(root).validate(instance)


def concrete(path):
    """A documented path with its parameters filled in: ids that name nothing."""
    return (re.sub(r"\{(id|product_id|image_id)\}", "999999", path).replace("{code}", "NOSUCHCODE")
            .replace("{file}", "320-0000000000000000.jpg"))


class CoverageTest(unittest.TestCase):
    def test_every_served_route_is_documented_and_every_documented_route_is_served(self):
        served = served_routes()
        documented = {(method, path) for method, path, _ in operations()}
        self.assertGreater(len(served), 60)
        self.assertEqual(sorted(served - documented), [], "served but not in docs/openapi.yaml")
        self.assertEqual(sorted(documented - served), [], "in docs/openapi.yaml but not served")

    def test_path_parameters_are_declared_with_the_routers_names(self):
        for method, path, op in operations():
            item = document["paths"][path]
            declared = {resolve(p)["name"] for p in item.get("parameters", []) + op.get("parameters", [])
                        if resolve(p)["in"] == "path"}
            with self.subTest(route=f"{method} {path}"):
                self.assertEqual(declared, set(re.findall(r"\{([a-z_]+)\}", path)))

    def test_every_operation_says_who_may_call_it(self):
        schemes = set(document["components"]["securitySchemes"])
        for method, path, op in operations():
            with self.subTest(route=f"{method} {path}"):
                self.assertIn("security", op)
                for requirement in op["security"]:
                    self.assertLessEqual(set(requirement), schemes)
                if op["security"]:  # someone must be signed in: the 401 is documented
                    self.assertIn("401", op["responses"])


class ErrorShapeTest(unittest.TestCase):
    def test_documented_error_responses_use_the_error_schema(self):
        checked = 0
        for method, path, op in operations():
            for status, response in op["responses"].items():
                if int(status) < 400:
                    continue
                with self.subTest(route=f"{method} {path}", status=status):
                    content = resolve(response).get("content", {})
                    self.assertEqual(list(content), ["application/json"])
                    media = content["application/json"]
                    self.assertEqual(media["schema"], ERROR_SCHEMA)
                    validate(media["example"], ERROR_SCHEMA)
                    checked += 1
        self.assertGreater(checked, 100)

    def test_error_schema_matches_what_the_server_answers(self):
        # A real 422 with field errors, a real 404 and a real 401, each against the schema.
        bad = shop.request("POST", "/api/auth/signup", {"email": "nope", "password": "x", "name": ""})
        self.assertEqual(bad.status, 422, bad.body)
        validate(bad.json, ERROR_SCHEMA)
        self.assertTrue(bad.json["error"]["details"]["fields"])
        for path, status in (("/api/products/999999", 404), ("/api/me", 401)):
            r = shop.get(path)
            self.assertEqual(r.status, status, r.body)
            validate(r.json, ERROR_SCHEMA)
        # The schema refuses what the contract does not allow.
        with self.assertRaises(jsonschema.ValidationError):
            validate({"error": {"code": "Not Snake", "message": "m", "details": {}}}, ERROR_SCHEMA)

    def test_anonymous_calls_answer_a_documented_status_in_the_documented_shape(self):
        for method, path, op in operations():
            with self.subTest(route=f"{method} {path}"):
                body = {} if method in ("POST", "PATCH", "PUT") else None
                r = shop.request(method, concrete(path), body)
                self.assertIn(str(r.status), op["responses"], r.body[:300])
                documented = resolve(op["responses"][str(r.status)]).get("content", {})
                if r.body:
                    media_type = r.header("content-type").split(";")[0]
                    self.assertIn(media_type, documented, "an undocumented body")
                    if media_type == "application/json":
                        validate(r.json, documented[media_type]["schema"])


class ResponseShapeTest(unittest.TestCase):
    def test_reads_answer_the_documented_shape(self):
        """Every documented read, as the admin (who may call them all) on a seeded shop, with the
        ids of real things: a documented status, and JSON that fits the documented schema."""
        token = shop.admin_token
        product = shop.get("/api/products?per_page=1").json["items"][0]["id"]
        order = shop.get("/api/seller/orders?per_page=1", token=token).json["items"][0]["id"]
        checked = 0
        for method, path, op in operations():
            if method != "GET":
                continue
            with self.subTest(route=path):
                target = path.replace("/api/products/{id}", f"/api/products/{product}")
                target = target.replace("/api/orders/{id}", f"/api/orders/{order}")
                if "{image_id}" in target:  # a photo's variant: one uploaded for it
                    image = shop.request("POST", f"/api/products/{product}/images", raw=pictures.png(64, 48),
                                         headers={"Content-Type": "image/png"}, token=token).json
                    target = image["sources"][0]["srcset"].split(" ")[0]
                r = shop.get(target, token=token)
                self.assertEqual(r.status, 200, r.body[:300])
                media_type = r.header("content-type").split(";")[0]
                documented = resolve(op["responses"]["200"])["content"]
                self.assertIn(media_type, documented)
                if media_type == "application/json":
                    validate(r.json, documented[media_type]["schema"])
                    checked += 1
        self.assertGreater(checked, 30)


    def test_a_purchase_made_from_the_documented_examples_answers_the_documented_shapes(self):
        """Sign-up, cart, validation and checkout with the document's own request examples: the
        server takes them, and each answer fits the documented schema of its status."""
        def call(method, path, body, token=None, headers=None):
            op = document["paths"][path][method.lower()]
            r = shop.request(method, path, body, token=token, headers=headers)
            self.assertIn(str(r.status), op["responses"], r.body[:300])
            self.assertLess(r.status, 300, r.body[:300])
            validate(r.json, resolve(op["responses"][str(r.status)])["content"]["application/json"]["schema"])
            return r.json

        def example(path):
            media = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
            return copy.deepcopy(media.get("example", resolve(media["schema"]).get("example")))

        signup = example("/api/auth/signup")
        signup["email"] = f"openapi-{os.getpid()}@example.com"
        token = call("POST", "/api/auth/signup", signup)["token"]
        item = example("/api/cart/items")
        item["product_id"] = shop.get("/api/products?per_page=1").json["items"][0]["id"]
        call("POST", "/api/cart/items", dict(item, quantity=1), token=token)
        call("POST", "/api/orders/validate", example("/api/orders/validate"), token=token)
        order = call("POST", "/api/checkout", example("/api/checkout"), token=token,
                     headers={"Idempotency-Key": f"openapi-{os.getpid()}"})
        self.assertEqual(order["status"], "placed")


def wait_for(read, what, timeout=300):
    """Polls read() until it returns something truthy (the shop's background work), with a deadline."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = read()
        if value:
            return value
        time.sleep(0.1)  # polling the shop's background work, not synchronising the test
    raise AssertionError(f"never happened: {what}")


class AdminAnswerShapeTest(unittest.TestCase):
    """The admin answers with a fixed shape, made non-empty first (a backup, delivery records, a
    text, two trained model versions), each checked against the schema of its documented status."""

    def answer(self, method, path, body=None, token=None):
        op = document["paths"][re.sub(r"/\d+(?=/|$)", "/{id}", path.split("?")[0])][method.lower()]
        r = shop.request(method, path, body, token=token or shop.admin_token)
        self.assertIn(str(r.status), op["responses"], r.body[:300])
        self.assertLess(r.status, 300, r.body[:300])
        schema = resolve(op["responses"][str(r.status)])["content"]["application/json"]["schema"]
        validate(r.json, schema)
        with self.assertRaises(jsonschema.ValidationError, msg=f"{method} {path}: the schema names its fields"):
            validate({}, schema)
        return r.json

    def test_backups(self):
        taken = self.answer("POST", "/api/admin/backups")
        listed = self.answer("GET", "/api/admin/backups")
        self.assertIn(taken["name"], [b["name"] for b in listed["items"]])

    def test_delivery_records(self):
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        iso = lambda t: t.isoformat().replace("+00:00", "Z")
        # An environment of its own: the seeded history's deployments (in "production") may be newer.
        recorded = self.answer("POST", "/api/admin/delivery/events", {"events": [
            {"type": "deployment", "id": "openapi-dep", "environment": "openapi",
             "deployed_at": iso(now - datetime.timedelta(hours=2)),
             "commits": [{"sha": "4f2c1e9a0b7d3c5e8f1a2b4c6d8e0f1a3b5c7d9e",
                          "committed_at": iso(now - datetime.timedelta(hours=3))}]},
            {"type": "incident", "id": "openapi-inc", "title": "Checkout slow", "environment": "openapi",
             "opened_at": iso(now - datetime.timedelta(hours=1))},
        ]})
        self.assertEqual([i["id"] for i in recorded["items"]], ["openapi-dep", "openapi-inc"])
        deployments = self.answer("GET", "/api/admin/delivery/deployments?environment=openapi")["items"]
        incidents = self.answer("GET", "/api/admin/delivery/incidents?environment=openapi")["items"]
        self.assertIn("openapi-dep", [d["deployment"] for d in deployments])
        incident = next(i for i in incidents if i["incident"] == "openapi-inc")
        self.assertEqual(incident["deployment"], "openapi-dep")  # linked automatically
        linked = self.answer("PATCH", f"/api/admin/delivery/incidents/{incident['id']}", {"deployment_id": None})
        self.assertEqual((linked["deployment_id"], linked["link"]), (None, "manual"))
        self.assertEqual(self.answer("PATCH", f"/api/admin/delivery/incidents/{incident['id']}",
                                     {"link": "auto"})["link"], "auto")

    def test_texts_in_the_send_log(self):
        token, _ = shop.signup(f"openapi-texts-{os.getpid()}@example.com", phone="+15551230077")
        product = shop.get("/api/products?per_page=1").json["items"][0]["id"]
        self.assertIn(shop.request("POST", "/api/cart/items", {"product_id": product, "quantity": 1},
                                   token=token).status, (200, 201))
        media = document["paths"]["/api/checkout"]["post"]["requestBody"]["content"]["application/json"]
        body = copy.deepcopy(media.get("example", resolve(media["schema"]).get("example")))
        r = shop.request("POST", "/api/checkout", body, token=token,
                         headers={"Idempotency-Key": f"openapi-texts-{os.getpid()}"})
        self.assertEqual(r.status, 201, r.body[:300])
        items = wait_for(lambda: self.answer("GET", "/api/admin/notifications?channel=sms")["items"], "a text logged",
                         timeout=30)
        self.assertTrue(all(m["channel"] == "sms" for m in items))
        listed = resolve(document["paths"]["/api/admin/notifications"]["get"]["responses"]["200"])
        with self.assertRaises(jsonschema.ValidationError, msg="the schema names a message's fields"):
            validate({"items": [{}], "total": 1, "page": 1, "per_page": 50},
                     listed["content"]["application/json"]["schema"])

    def test_model_versions_training_and_rollback(self):
        def live_after(version):
            view = self.answer("GET", "/api/admin/recommendations")
            rows = [v for v in view["versions"] if v["version"] == view["live_version"] and v["state"] == "live"]
            return view["live_version"] > version and rows and view

        for _ in range(2):
            before = self.answer("GET", "/api/admin/recommendations")["live_version"]
            self.assertEqual(self.answer("POST", "/api/admin/recommendations/train"), {"training": True})
            view = wait_for(lambda: live_after(before), "a newly trained version live")
        self.assertTrue(any(v["manifest"] for v in view["versions"]), view["versions"])
        back = self.answer("POST", "/api/admin/recommendations/rollback")
        self.assertLess(back["wanted_version"], view["live_version"])


class ServedDocumentTest(unittest.TestCase):
    def test_the_served_document_is_the_source_file(self):
        r = shop.get("/api/openapi.json")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith("application/json"))
        self.assertEqual(r.json, document)
        self.assertTrue(r.json["openapi"].startswith("3.1."))

    def test_compressed_and_revalidated_with_a_strong_etag(self):
        plain = shop.get("/api/openapi.json")
        etag = plain.header("etag")
        self.assertRegex(etag, r'^"[^"]+"$')  # strong: no W/
        self.assertEqual(plain.header("cache-control"), "no-cache")
        self.assertIn("Accept-Encoding", plain.header("vary"))
        zipped = shop.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(zipped.header("content-encoding"), "gzip")
        self.assertLess(len(zipped.body), len(plain.body) // 3)
        self.assertEqual(gzip.decompress(zipped.body), plain.body)
        self.assertEqual(zipped.header("etag"), etag)
        self.assertEqual(shop.get("/api/openapi.json", headers={"Accept-Encoding": "br"}).header("content-encoding"),
                         "br")
        again = shop.get("/api/openapi.json", headers={"If-None-Match": etag})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.body, b"")
        self.assertEqual(shop.get("/api/openapi.json", headers={"If-None-Match": '"other"'}).status, 200)

    def test_reference_page_is_served_at_api_docs(self):
        r = shop.get("/api/docs")
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertTrue(r.header("content-type").startswith("text/html"))
        self.assertIn(b'id="api-reference"', r.body)
        script = re.search(rb'<script type="module" crossorigin src="(/assets/[^"]+\.js)"', r.body)
        self.assertIsNotNone(script, r.body[:500])
        self.assertEqual(shop.get(script.group(1).decode()).status, 200)
        # One policy, the page's own: Redoc's inline styles allowed, scripts still from the shop only;
        # every other page keeps the strict default.
        policies = [v for k, v in r.raw_headers if k.lower() == "content-security-policy"]
        self.assertEqual(len(policies), 1, policies)
        self.assertIn("style-src 'self' 'unsafe-inline'", policies[0])
        self.assertIn("script-src 'self';", policies[0])
        self.assertIn("style-src 'self';", shop.get("/").header("content-security-policy"))
        # Still an API path: other /api/ addresses stay JSON 404s, not the page.
        other = shop.get("/api/docs/nothing")
        self.assertEqual(other.status, 404)
        validate(other.json, ERROR_SCHEMA)


if __name__ == "__main__":
    unittest.main()
