#!/usr/bin/env python3
"""Checkout under load: N buyers over a catalog, each repeating add-to-cart, validate, checkout
(with its own Idempotency-Key) for a while. Writes the checkout section of docs/PERFORMANCE.md
with validate and checkout p50/p99 and orders per second."""
import argparse
import concurrent.futures
import datetime
import http.client
import json
import os
import random
import threading
import time

from wrk_report import machine

START, END = "<!-- checkout:start -->", "<!-- checkout:end -->"
CARD = {"method": "card", "card_number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
ADDR = {"name": "Bench Buyer", "line1": "1 Load Street", "city": "Singapore", "postal_code": "123456", "country": "SG"}


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000 if values else 0


class Client:
    def __init__(self, port, token=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.token = token

    def call(self, method, path, body=None, headers=None):
        h = {"Content-Type": "application/json", **(headers or {})}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        started = time.perf_counter()
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None), time.perf_counter() - started


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--buyers", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--products", type=int, default=10000)
    ap.add_argument("--out", help="docs/PERFORMANCE.md: write the checkout section there")
    ap.add_argument("--json", help="write the figures as JSON here instead")
    ap.add_argument("--phone", action="store_true",
                    help="buyers sign up with a phone, so every order sends a text")
    a = ap.parse_args()

    setup = Client(a.port)
    candidates = []
    for page in range(1, 11):
        _, js, _ = setup.call("GET", f"/api/products?per_page=100&page={page}&sort=newest")
        candidates += [p["id"] for p in js["items"] if p["stock"] >= 50]

    def signup(i):
        c = Client(a.port)
        body = {"email": f"bench{i}.{random.randint(1, 10**9)}@example.org", "password": "bench password 1",
                "name": f"Bench {i}"}
        if a.phone:
            body["phone"] = f"+1555{random.randint(0, 9_999_999):07d}"
        while True:  # a polite client: the hashing queue is short on purpose, so wait and retry on 503
            status, js, _ = c.call("POST", "/api/auth/signup", body)
            if status != 503:
                break
            time.sleep(0.2)
        assert status == 201, (status, js)
        return js["token"]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        tokens = list(pool.map(signup, range(a.buyers)))

    validate_times, checkout_times, statuses = [], [], {}
    lock = threading.Lock()
    start = threading.Barrier(a.buyers)
    deadline_box = []

    def buyer(i):
        c = Client(a.port, tokens[i])
        mine_v, mine_c, mine_s = [], [], {}
        start.wait()
        if i == 0:
            deadline_box.append(time.time() + a.seconds)
        while not deadline_box:
            time.sleep(0.001)
        n = 0
        while time.time() < deadline_box[0]:
            c.call("POST", "/api/cart/items", {"product_id": random.choice(candidates), "quantity": 1})
            s, _, t = c.call("POST", "/api/orders/validate", {"shipping_address": ADDR, "phone": "+6581234567"})
            mine_v.append(t)
            s, _, t = c.call("POST", "/api/checkout", {"shipping_address": ADDR, "phone": "+6581234567", "payment": CARD},
                             {"Idempotency-Key": f"bench-{i}-{n}"})
            n += 1
            mine_c.append(t)
            mine_s[s] = mine_s.get(s, 0) + 1
        with lock:
            validate_times.extend(mine_v)
            checkout_times.extend(mine_c)
            for k, v in mine_s.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(a.buyers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    orders = statuses.get(201, 0)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"buyers": a.buyers, "seconds": a.seconds, "orders": orders,
                       "validate_p50": pct(validate_times, 50), "validate_p99": pct(validate_times, 99),
                       "checkout_p50": pct(checkout_times, 50), "checkout_p99": pct(checkout_times, 99),
                       "checkout_max": pct(checkout_times, 100), "statuses": statuses}, f)
        return
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = f"""{START}
## Checkout (`make bench`)

Measured {now} on {machine()}. {a.buyers} signed-in buyers over a catalog of {a.products:,} products, each
repeating for {a.seconds:.0f} s: add a product to the cart, `POST /api/orders/validate`, `POST /api/checkout`
with its own Idempotency-Key. The Python client shares the two cores with the server, so these
latencies include its own scheduling delays: an upper bound.

| step | requests | p50 ms | p99 ms |
|---|---|---|---|
| validate | {len(validate_times):,} | {pct(validate_times, 50):.1f} | {pct(validate_times, 99):.1f} |
| checkout | {len(checkout_times):,} | {pct(checkout_times, 50):.1f} | {pct(checkout_times, 99):.1f} |

{orders:,} orders placed, {orders / a.seconds:.0f} orders a second; answers: {", ".join(f"{k}: {v:,}" for k, v in sorted(statuses.items()))}.
Aims: validate p99 under 20 ms, checkout p99 under 50 ms.
{END}"""
    text = open(a.out).read() if os.path.exists(a.out) else "# Performance\n"
    if START in text and END in text:
        text = text[:text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    open(a.out, "w").write(text)
    print(section)


if __name__ == "__main__":
    main()
