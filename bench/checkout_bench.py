#!/usr/bin/env python3
"""Checkout under load: N buyers over a catalog, each repeating add-to-cart, validate, checkout
(with its own Idempotency-Key) for a while, either as fast as they can (saturation) or paced at
--rate orders a second in all (what shoppers in a surge see). Writes the figures as JSON; with
--report, writes the checkout section of docs/PERFORMANCE.md from a saturated and a paced run."""
import argparse
import concurrent.futures
import datetime
import http.client
import json
import random
import threading
import time

from wrk_report import machine, write_section

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
    ap.add_argument("--report", nargs="+", metavar="RUN_JSON",
                    help="write the checkout section of --out from earlier runs (each names its database), then stop")
    ap.add_argument("--database", default="SQLite", help="the server's database, as the report names it")
    ap.add_argument("--port", type=int)
    ap.add_argument("--buyers", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--products", type=int, default=10000)
    ap.add_argument("--out", help="with --report: docs/PERFORMANCE.md, where the checkout section goes")
    ap.add_argument("--json", help="write the run's figures as JSON here")
    ap.add_argument("--phone", action="store_true",
                    help="buyers sign up with a phone, so every order sends a text")
    ap.add_argument("--rate", type=float, default=0,
                    help="orders a second across all buyers, each buyer starting its rounds on a fixed schedule "
                         "(0: as fast as they can)")
    a = ap.parse_args()
    if a.report:
        report(a.report, a.out)
        return

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
        # Paced: buyer i starts a round every buyers/rate seconds, on a schedule that does not slip
        # when an answer is slow (so slow answers show as latency, not as fewer requests).
        period = a.buyers / a.rate if a.rate else 0
        next_round = time.time() + (period * i / a.buyers if period else 0)
        while time.time() < deadline_box[0]:
            if period:
                wait = next_round - time.time()
                if wait > 0:
                    time.sleep(wait)
                next_round += period
                if time.time() >= deadline_box[0]:
                    break
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
    with open(a.json, "w") as f:
        json.dump({"buyers": a.buyers, "seconds": a.seconds, "products": a.products, "rate": a.rate,
                   "database": a.database,
                   "orders": orders, "validate_count": len(validate_times), "checkout_count": len(checkout_times),
                   "validate_p50": pct(validate_times, 50), "validate_p99": pct(validate_times, 99),
                   "checkout_p50": pct(checkout_times, 50), "checkout_p99": pct(checkout_times, 99),
                   "checkout_max": pct(checkout_times, 100), "statuses": statuses}, f)


def report(paths, out):
    runs = [json.load(open(path)) for path in paths]
    rows = []
    for r in runs:
        label = f"paced at {r['rate']:.0f} orders/s" if r["rate"] else "as fast as they can"
        rows.append(f"| {r.get('database', 'SQLite')} | {label} | {r['orders'] / r['seconds']:.0f} | "
                    f"{r['validate_p50']:.1f} | {r['validate_p99']:.1f} | "
                    f"{r['checkout_p50']:.1f} | {r['checkout_p99']:.1f} | "
                    f"{', '.join(f'{k}: {v:,}' for k, v in sorted(r['statuses'].items()))} |")
    first = runs[0]
    # The client does not check its add-to-cart answer: when the shop sheds that request, the
    # checkout after it finds an empty cart.
    shed = ("A 503 is the shop shedding a request that waited past its queue-wait bound (`overloaded`, "
            "documented); a 422 is a checkout whose add-to-cart before it was shed, so the cart was empty.\n"
            if any(k in ("422", "503", 422, 503) for r in runs for k in r["statuses"]) else "")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = f"""{START}
## Checkout (`make bench`)

Measured {now} on {machine()}. {first['buyers']} signed-in buyers over a catalog of {first['products']:,} products,
each repeating for {first['seconds']:.0f} s: add a product to the cart, `POST /api/orders/validate`, `POST /api/checkout`
with its own Idempotency-Key; first as fast as they can (a closed loop: the latency there is mostly
waiting in line behind the other buyers), then paced, each buyer starting its rounds on a fixed
schedule. The Python client shares the two cores with the server, so these latencies include its
own scheduling delays: an upper bound. On PostgreSQL the server (15, `scripts/services/postgres.sh`:
loopback, fsync off, since it is a throwaway) shares the same two cores too.

| database | load | orders/s | validate p50 ms | validate p99 ms | checkout p50 ms | checkout p99 ms | answers to checkout |
|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + f"""

{shed}
Aims: validate p99 under 20 ms, checkout p99 under 50 ms (the shops' promises are 500 ms and 3 s).
{END}"""
    write_section(out, START, END, section)
    print(section)


if __name__ == "__main__":
    main()
