#!/usr/bin/env python3
"""Prepares a seeded shop for the Locust shoppers run (bench/locustfile.py) and writes the fixture
the locustfile reads: the pages the shoppers can reach and the returning shoppers' accounts.

- Reads every catalog page, category page and search the journey can land on, signs in as the
  seeded admin and restocks every product on them to RESTOCK units through `PATCH /api/products/{id}`,
  so that no checkout of the run can find its product sold out (the seed leaves a quarter of the
  products at 0 and most under 400).
- Signs up the returning shoppers' accounts through `POST /api/auth/signup`, before the run, as
  the shop's existing customers (a 503 with Retry-After is waited out and sent again: this is
  preparation, not the measured run).
- Reads the pages again, so that the catalog cache holds them as a running shop's would.

Standard library only: `python3` here is not always the interpreter Locust runs on."""
import argparse
import concurrent.futures
import http.client
import json
import sys
import time
import urllib.parse

# What a visit can reach; the locustfile takes these from the fixture, so they live only here.
SORTS = ["popular", "price_asc", "price_desc", "newest"]
CATALOG_PAGES = 10  # whole-catalog list pages 1..10 of each sort
CATEGORY_PAGES = 3  # pages 1..3 of each category in each sort
PER_PAGE = 24
SEARCHES = ["starfall", "pro controller", "wireless headset", "coffee mug", "gift card", "memory card",
            "enamel pin", "racing", "dragon", "knight", "galactic outlaws", "shadow leg", "switch case", "poster"]
RESTOCK = 1_000_000
ADMIN = {"email": "admin@gitgoods.example", "password": "demo password 123"}  # `emporium seed`'s demo admin
PASSWORD = "shopper password 1"


class Client:
    def __init__(self, port, token=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.token = token

    def call(self, method, path, body=None):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, r.getheader("Retry-After"), (json.loads(data) if data else None)

    def ok(self, method, path, body=None, want=200):
        """The answer's JSON; a 503 with Retry-After is waited out, anything else but `want` stops the setup."""
        for _ in range(20):
            status, retry_after, js = self.call(method, path, body)
            if status == 503 and retry_after:
                time.sleep(float(retry_after))
                continue
            if status != want:
                sys.exit(f"shoppers setup: {method} {path} answered {status}: {js}")
            return js
        sys.exit(f"shoppers setup: {method} {path} still 503 after 20 tries")


def list_paths(categories):
    paths = []
    for sort in SORTS:
        paths += [f"/api/products?per_page={PER_PAGE}&page={p}&sort={sort}" for p in range(1, CATALOG_PAGES + 1)]
        for slug in categories:
            paths += [f"/api/products?per_page={PER_PAGE}&page={p}&sort={sort}&category={slug}"
                      for p in range(1, CATEGORY_PAGES + 1)]
    paths += [f"/api/products?per_page={PER_PAGE}&q={urllib.parse.quote(q)}" for q in SEARCHES]
    return paths


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--accounts", type=int, required=True, help="returning shoppers' accounts to make")
    ap.add_argument("--out", required=True, help="the fixture (JSON) the locustfile reads")
    a = ap.parse_args()
    started = time.monotonic()

    reader = Client(a.port)
    categories = [c["slug"] for c in reader.ok("GET", "/api/categories")]
    products = set()
    for path in list_paths(categories):
        products.update(p["id"] for p in reader.ok("GET", path)["items"])
    admin_token = reader.ok("POST", "/api/auth/login", ADMIN)["token"]

    def restock(ids):
        c = Client(a.port, admin_token)
        for pid in ids:
            c.ok("PATCH", f"/api/products/{pid}", {"stock": RESTOCK})

    def signup(i):
        c = Client(a.port)
        email = f"returning{i}@shoppers.example"
        c.ok("POST", "/api/auth/signup", {"email": email, "password": PASSWORD, "name": f"Returning Shopper {i}"},
             want=201)
        return email

    ids = sorted(products)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(restock, [ids[k::4] for k in range(4)]))
        emails = list(pool.map(signup, range(a.accounts)))
    # Restocking emptied the catalog cache; a running shop's holds its busy pages: read them again.
    for path in list_paths(categories):
        reader.ok("GET", path)
    with open(a.out, "w") as f:
        json.dump({"sorts": SORTS, "catalog_pages": CATALOG_PAGES, "category_pages": CATEGORY_PAGES,
                   "per_page": PER_PAGE, "searches": SEARCHES, "categories": categories,
                   "password": PASSWORD, "returning": emails}, f)
    print(f"shoppers setup: restocked {len(ids)} reachable products to {RESTOCK:,}, made {len(emails)} accounts "
          f"in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
