"""Product photos (issue 18) against the real program over loopback: uploads (raw and multipart),
the product JSON's images, variants served with immutable caching, ETags and 304, no EXIF GPS in
anything served, the format matrix, the limits (size, pixels, truncated, polyglot, type), who may
change whose images, at most eight, and reorder / main / alt / delete. Runs on PostgreSQL too when
EMPORIUM_TEST_DATABASE_URL is set (shop.py)."""
import json
import os
import random
import socket
import subprocess
import unittest
from unittest import mock

import pictures
from shop import BIN, Shop

shop = None
people = {}


def setUpModule():
    global shop
    shop = Shop(products=30)
    people["admin"] = shop.admin_token
    people["seller"] = shop.login("seller1@gitgoods.example")
    people["seller2"] = shop.login("seller2@gitgoods.example")
    people["customer"], _ = shop.signup(f"img-{random.randint(1, 10**12)}@example.com")


def tearDownModule():
    shop.close()


def new_product(who="seller"):
    body = {"sku": f"IMG-{random.randint(1, 10**12)}", "name": "Sunset Print", "category": "consoles",
            "price_cents": 1500, "stock": 3}
    r = shop.request("POST", "/api/products", body, token=people[who])
    assert r.status == 201, r.body
    return r.json["id"]


def upload(product, data, kind="image/png", who="seller", alt=None):
    path = f"/api/products/{product}/images" + (f"?alt={alt}" if alt else "")
    # Nine variants are encoded before the answer: allow a busy machine (and a sanitizer build) time.
    return shop.request("POST", path, raw=data, headers={"Content-Type": kind}, token=people.get(who),
                        conn=shop.connect(timeout=120))


def product(pid):
    r = shop.get(f"/api/products/{pid}")
    assert r.status == 200, r.body
    return r.json


def variant_urls(image):
    return [part.strip().split(" ")[0] for source in image["sources"] for part in source["srcset"].split(",")]


def stored_variants():
    return shop.query_int("SELECT COUNT(*) FROM product_image_variants")


class ImagesTest(unittest.TestCase):
    def assertError(self, reply, status, code):
        self.assertEqual(reply.status, status, reply.body[:300])
        self.assertEqual(reply.json["error"]["code"], code, reply.body[:300])
        return reply.json["error"]

    def test_upload_lists_the_image_in_the_product_and_makes_it_the_main_picture(self):
        pid = new_product()
        before = product(pid)
        self.assertEqual(before["images"], [])
        self.assertIn("/image.svg?v=", before["image_url"])  # the drawn tile
        r = upload(pid, pictures.png(900, 600), alt="A%20sunset")
        self.assertEqual(r.status, 201, r.body)
        image = r.json
        self.assertEqual((image["width"], image["height"], image["alt"], image["is_main"]), (900, 600, "A sunset", True))
        self.assertEqual([s["type"] for s in image["sources"]], ["image/avif", "image/webp", "image/jpeg"])
        for source in image["sources"]:
            self.assertEqual([p.strip().split(" ")[1] for p in source["srcset"].split(",")], ["320w", "640w", "900w"])
        after = product(pid)
        self.assertEqual([i["id"] for i in after["images"]], [image["id"]])
        self.assertEqual(set(after["images"][0]) >= {"id", "url", "width", "height", "alt"}, True)
        self.assertTrue(after["image_url"].endswith(".jpg") and "/640-" in after["image_url"], after["image_url"])
        listed = shop.get("/api/products?per_page=100&sort=newest").json["items"]
        self.assertEqual([p["images"][0]["id"] for p in listed if p["id"] == pid], [image["id"]])

    def test_variants_are_served_immutable_with_etags_and_304(self):
        pid = new_product()
        image = upload(pid, pictures.png(500, 400)).json
        urls = variant_urls(image)
        self.assertEqual(len(urls), 6)  # 320 and 500 wide, three encodings
        for url in urls:
            r = shop.get(url)
            self.assertEqual(r.status, 200, url)
            kind = {"avif": "image/avif", "webp": "image/webp", "jpg": "image/jpeg"}[url.rsplit(".", 1)[1]]
            self.assertEqual(r.header("content-type"), kind)
            self.assertEqual(r.header("cache-control"), "public, max-age=31536000, immutable")
            etag = r.header("etag")
            self.assertTrue(etag and etag.startswith('"'), etag)
            again = shop.get(url, headers={"If-None-Match": etag})
            self.assertEqual((again.status, again.body), (304, b""))
            self.assertEqual(again.header("etag"), etag)
            other = shop.get(url, headers={"If-None-Match": '"something-else"'})
            self.assertEqual(other.status, 200)
            self.assertEqual(other.body, r.body)
        base = urls[0].rsplit("/", 1)[0]
        for bad in ("320-0000000000000000.avif", "321-" + urls[0].rsplit("-", 1)[1], "320.avif", "x-y.gif", "99999999999-a.jpg"):
            self.assertError(shop.get(f"{base}/{bad}"), 404, "not_found")
        self.assertError(shop.get(urls[0].replace(f"/products/{pid}/", f"/products/{pid + 100000}/")), 404, "not_found")
        # Nothing from a malformed address reaches a header, even when If-None-Match names it.
        evil = f"{base}/320-0000%0d%0aX-Evil:%201.jpg"
        r = shop.get(evil, headers={"If-None-Match": "*"})
        self.assertError(r, 404, "not_found")
        self.assertIsNone(r.header("x-evil"))

    def test_no_served_variant_carries_the_uploads_gps_position(self):
        pid = new_product()
        jpeg = shop.get(variant_urls(upload(pid, pictures.png(700, 500)).json)[-1]).body
        self.assertEqual(jpeg[:3], b"\xff\xd8\xff")
        photo = pictures.with_gps(jpeg)
        self.assertIn(pictures.GPS_LATITUDE, photo)
        r = upload(pid, photo, kind="image/jpeg")
        self.assertEqual(r.status, 201, r.body)
        urls = variant_urls(r.json)
        self.assertEqual(len(urls), 9)
        for url in urls:
            body = shop.get(url).body
            self.assertGreater(len(body), 100)
            self.assertNotIn(b"Exif\x00\x00", body, url)
            self.assertNotIn(pictures.GPS_LATITUDE, body, url)
            self.assertNotIn(pictures.GPS_LONGITUDE, body, url)

    def test_every_format_is_accepted_by_content_raw_or_multipart(self):
        pid = new_product()
        first = upload(pid, pictures.png(400, 300)).json
        served = {url.rsplit(".", 1)[1]: shop.get(url).body for url in variant_urls(first) if "/400-" in url}
        self.assertEqual(set(served), {"avif", "webp", "jpg"})
        # The Content-Type an uploader claims does not matter: the bytes do.
        for ext, data in served.items():
            r = upload(pid, data, kind="application/octet-stream")
            self.assertEqual(r.status, 201, f"{ext}: {r.body[:200]}")
            self.assertEqual((r.json["width"], r.json["height"]), (400, 300), ext)
        body, kind = pictures.multipart([("alt", None, None, "From a form".encode()),
                                         ("file", "photo.png", "image/png", pictures.png(330, 200))])
        r = shop.request("POST", f"/api/products/{pid}/images", raw=body, headers={"Content-Type": kind},
                         token=people["seller"], conn=shop.connect(timeout=120))
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual((r.json["alt"], r.json["width"]), ("From a form", 330))
        self.assertEqual(len(product(pid)["images"]), 5)

    def test_a_large_upload_beyond_the_servers_usual_body_limit_is_taken(self):
        pid = new_product()
        big = pictures.png(800, 800, noise=True)
        self.assertGreater(len(big), 1024 * 1024)  # over the default --body-limit every other route keeps
        r = upload(pid, big)
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json["width"], 800)
        r = shop.request("PATCH", f"/api/products/{pid}", raw=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                         headers={"Content-Type": "application/json"}, token=people["seller"])
        self.assertError(r, 413, "payload_too_large")

    def test_a_body_over_the_upload_routes_limit_is_refused_before_it_is_read(self):
        pid = new_product()
        s = socket.create_connection(("127.0.0.1", shop.port), timeout=10)
        try:
            # 11 MB announced and none of it sent: the answer must not wait for it.
            s.sendall(f"POST /api/products/{pid}/images HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                      f"Authorization: Bearer {people['seller']}\r\nContent-Length: {11 * 1024 * 1024}\r\n\r\n"
                      .encode())
            reply = b""
            while not reply.endswith(b"}"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                reply += chunk
        finally:
            s.close()
        self.assertTrue(reply.startswith(b"HTTP/1.1 413"), reply[:80])
        self.assertIn(b'"payload_too_large"', reply)
        self.assertEqual(product(pid)["images"], [])

    def test_bad_pictures_get_clear_errors_and_change_nothing(self):
        pid = new_product()
        upload(pid, pictures.png(400, 300))
        before, variants = product(pid), stored_variants()
        jpeg = shop.get(variant_urls(before["images"][0])[-1]).body
        png = pictures.png(200, 150)
        zip_tail = b"PK\x03\x04\x14\x00\x00\x00\x08\x00payload.jsPK\x05\x06" + b"\x00" * 18
        html = b"<html><script>alert(document.cookie)</script></html>"
        cases = [
            (pictures.png_bomb(), "image/png", 422, "validation_failed", "too_many_pixels"),
            (jpeg[:len(jpeg) // 2], "image/jpeg", 422, "validation_failed", "undecodable"),
            (png + zip_tail, "image/png", 422, "validation_failed", "polyglot"),
            (jpeg + html, "image/jpeg", 422, "validation_failed", "polyglot"),
            (html, "image/jpeg", 415, "unsupported_media_type", None),
            (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "image/gif", 415, "unsupported_media_type", None),
            (b"", "image/png", 415, "unsupported_media_type", None),
            (png + b"\x00" * (10 * 1024 * 1024), "image/png", 413, "payload_too_large", None),
        ]
        for data, kind, status, code, field_code in cases:
            r = upload(pid, data, kind=kind)
            error = self.assertError(r, status, code)
            if field_code:
                self.assertEqual([f["code"] for f in error["details"]["fields"]], [field_code])
        # An HTML file called photo.jpg in a form is still HTML.
        body, form = pictures.multipart([("file", "photo.jpg", "image/jpeg", html)])
        r = shop.request("POST", f"/api/products/{pid}/images", raw=body, headers={"Content-Type": form},
                         token=people["seller"])
        self.assertError(r, 415, "unsupported_media_type")
        body, form = pictures.multipart([("picture", "photo.png", "image/png", png)])
        r = shop.request("POST", f"/api/products/{pid}/images", raw=body, headers={"Content-Type": form},
                         token=people["seller"])
        self.assertError(r, 400, "bad_multipart")
        self.assertError(upload(pid, png, alt="bad%01alt"), 422, "validation_failed")
        self.assertEqual(product(pid), before)
        self.assertEqual(stored_variants(), variants)

    def test_only_the_products_seller_and_admins_change_its_images(self):
        pid = new_product()
        image = upload(pid, pictures.png(400, 300)).json
        png = pictures.png(100, 80)
        before, variants = product(pid), stored_variants()
        patch = lambda who: shop.request("PATCH", f"/api/products/{pid}/images/{image['id']}", {"alt": "mine"},
                                         token=people.get(who))
        delete = lambda who: shop.request("DELETE", f"/api/products/{pid}/images/{image['id']}", token=people.get(who))
        for who, status in (("anonymous", 401), ("customer", 403), ("seller2", 404)):
            self.assertEqual(upload(pid, png, who=who).status, status, who)
            self.assertEqual(patch(who).status, status, who)
            self.assertEqual(delete(who).status, status, who)
        self.assertEqual(product(pid), before)
        self.assertEqual(stored_variants(), variants)
        self.assertEqual(patch("admin").status, 200)
        self.assertEqual(upload(pid, png, who="admin").status, 201)
        self.assertEqual(delete("admin").status, 204)

    def test_at_most_eight_images(self):
        pid = new_product()
        png = pictures.png(120, 90)
        for _ in range(8):
            self.assertEqual(upload(pid, png).status, 201)
        self.assertError(upload(pid, png), 409, "too_many_images")
        self.assertEqual(len(product(pid)["images"]), 8)

    def test_reorder_choose_main_alt_and_delete(self):
        pid = new_product()
        ids = [upload(pid, pictures.png(120 + i, 90), alt=name).json["id"] for i, name in enumerate("abc")]
        order = lambda: "".join(i["alt"] + ("*" if i["is_main"] else "") for i in product(pid)["images"])
        self.assertEqual(order(), "a*bc")
        path = lambda image: f"/api/products/{pid}/images/{image}"
        r = shop.request("PATCH", path(ids[2]), {"position": 0}, token=people["seller"])
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual([i["id"] for i in r.json["images"]], [ids[2], ids[0], ids[1]])
        self.assertEqual(shop.request("PATCH", path(ids[1]), {"is_main": True, "alt": "B"}, token=people["seller"]).status, 200)
        self.assertEqual(order(), "caB*")
        self.assertIn(f"/images/{ids[1]}/", product(pid)["image_url"])
        for bad in ({"position": -1}, {"is_main": False}, {"alt": 5}, {"position": "first"}, {"unknown": 1},
                    {"alt": "x" * 300}):
            self.assertError(shop.request("PATCH", path(ids[0]), bad, token=people["seller"]), 422, "validation_failed")
        self.assertEqual(shop.request("PATCH", path(ids[0]), raw=b"{", headers={"Content-Type": "application/json"},
                                      token=people["seller"]).status, 400)
        self.assertEqual(order(), "caB*")
        self.assertEqual(shop.request("DELETE", path(ids[1]), token=people["seller"]).status, 204)
        self.assertEqual(order(), "c*a")
        self.assertError(shop.request("DELETE", path(ids[1]), token=people["seller"]), 404, "not_found")
        self.assertError(shop.request("PATCH", path(999999999), {"alt": "x"}, token=people["seller"]), 404, "not_found")
        for image in ids[0], ids[2]:
            self.assertEqual(shop.request("DELETE", path(image), token=people["seller"]).status, 204)
        self.assertIn("/image.svg?v=", product(pid)["image_url"])


class BackupTest(unittest.TestCase):
    def test_a_restored_sqlite_backup_serves_the_same_photos(self):
        """Photos live in the database on SQLite too, so the one backup file carries them: a shop
        restored from it serves every variant byte for byte. On SQLite whatever the run's backend
        (test_pg_backup covers pg_dump, which carries BYTEA columns like any other)."""
        with mock.patch.dict(os.environ):
            os.environ.pop("EMPORIUM_TEST_DATABASE_URL", None)
            source = Shop(products=5, customers=1)
            target = Shop(products=5, customers=1, seed=False)
        try:
            token = source.admin_token
            pid = source.get("/api/products?per_page=1").json["items"][0]["id"]
            r = source.request("POST", f"/api/products/{pid}/images", raw=pictures.png(500, 300),
                               headers={"Content-Type": "image/png"}, token=token, conn=source.connect(timeout=120))
            self.assertEqual(r.status, 201, r.body)
            served = {url: source.get(url).body for url in variant_urls(r.json)}
            taken = subprocess.run([BIN, "backup", "--data-dir", source.data], env=source.env, capture_output=True,
                                   text=True, timeout=300)
            self.assertEqual(taken.returncode, 0, taken.stderr)
            backup = os.path.join(source.data, "backups", json.loads(taken.stdout)["file"])
            target.stop()
            restored = subprocess.run([BIN, "restore", "--from", backup, "--data-dir", target.data], env=target.env,
                                      capture_output=True, text=True, timeout=300)
            self.assertEqual(restored.returncode, 0, restored.stderr)
            target.start()
            self.assertEqual(target.get(f"/api/products/{pid}").json["images"], [r.json])
            for url, body in served.items():
                self.assertEqual(target.get(url).body, body, url)
        finally:
            source.close()
            target.close()


if __name__ == "__main__":
    unittest.main()
