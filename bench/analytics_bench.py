#!/usr/bin/env python3
"""Seller analytics under a year of a big shop: each report over a one-year range (for sellers and
for the whole shop), the Sales page's load (its eight requests at once, as the browser sends
them), and the CSV export of a year, with the server's memory before and after. Writes JSON; with
--report, writes the analytics section of docs/PERFORMANCE.md from that JSON and two checkout runs
(with and without the analytics subscriber). Any answer but 200 stops the run: a fast error is not
a fast report."""
import argparse
import concurrent.futures
import datetime
import http.client
import json
import os
import random
import re
import time

from wrk_report import machine, write_section

START, END = "<!-- analytics:start -->", "<!-- analytics:end -->"
BASE = "/api/seller/analytics/"
PASSWORD = "demo password 123"
REPORTS = [
    ("summary", "summary?compare=previous_period"),
    ("sales by day", "sales?granularity=day&compare=previous_period"),
    ("sales by week", "sales?granularity=week"),
    ("sales by month", "sales?granularity=month&compare=previous_year"),
    ("top products", "top-products?limit=10"),
    ("categories", "categories"),
    ("refunds", "refunds?limit=5"),
    ("sell-through", "sell-through?limit=10"),
    ("funnel", "funnel"),
]
PAGE = ["summary?compare=previous_period", "sales?granularity=week&compare=previous_period", "top-products?limit=10",
        "categories", "refunds?limit=5", "funnel", "sell-through?limit=10", "settings"]


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000 if values else 0


class Client:
    def __init__(self, port, token):
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(self, path):
        try:
            return self.get_once(path)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closes a keep-alive connection left idle past --idle-timeout (75 s), as
            # while another client's reports were measured; a browser opens a new one, and so do we.
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            return self.get_once(path)

    def get_once(self, path):
        started = time.perf_counter()
        self.conn.request("GET", path, headers={"Authorization": "Bearer " + self.token})
        r = self.conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise SystemExit(f"GET {path}: HTTP {r.status} {body[:200]!r}")
        return body, time.perf_counter() - started


def login(port, email):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("POST", "/api/auth/login", json.dumps({"email": email, "password": PASSWORD}),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    data = json.loads(r.read())
    if r.status != 200:
        raise SystemExit(f"login {email}: HTTP {r.status} {data}")
    return data["token"]


def year_of(client, back=0):
    """One year (365 local days) ending `back` days before the client's today: requests in a row
    ask for different years, so no answer is one the server computed a moment ago."""
    today = datetime.date.fromisoformat(json.loads(client.get(BASE + "settings")[0])["today"])
    end = today - datetime.timedelta(days=back)
    return f"from={end - datetime.timedelta(days=364)}&to={end}"


def rss_kib(pid, field):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid):
    """The server's user + system CPU time so far: what its work cost, whatever else the machine runs.
    Stops the run when it cannot be read: a zero would pass for a free report."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError) as e:
        raise SystemExit(f"server CPU time of pid {pid}: {e}")


def measure(a):
    admin = Client(a.port, login(a.port, f"admin@{a.domain}"))
    sellers = [Client(a.port, login(a.port, f"seller{i}@{a.domain}")) for i in random.sample(range(1, a.sellers + 1), 10)]
    ranges = {id(c): [year_of(c, back) for back in range(30)] for c in sellers}
    shop_ranges = [year_of(admin, back) for back in range(30)]
    shop_range = shop_ranges[0]
    out = {"reports": [], "page": [], "export": {}}
    for name, path in REPORTS:
        for who, clients in (("seller", sellers), ("shop", [admin])):
            times = []
            cpu_before = cpu_seconds(a.server_pid)
            for i in range(a.requests):
                c = clients[i % len(clients)]
                sep = "&" if "?" in path else "?"
                rng = ranges[id(c)][i % 30] if who == "seller" else shop_ranges[i % 30]
                _, seconds = c.get(BASE + path + sep + rng)
                times.append(seconds)
            cpu_ms = (cpu_seconds(a.server_pid) - cpu_before) * 1000 / len(times)
            out["reports"].append({"report": name, "who": who, "n": len(times), "p50": pct(times, 50),
                                   "p95": pct(times, 95), "p99": pct(times, 99), "cpu_ms": cpu_ms})
            print(f"{name:16} {who:6} p50 {pct(times, 50):7.1f} p95 {pct(times, 95):7.1f} p99 {pct(times, 99):7.1f} ms")
    # The Sales page's load: its eight requests at once, each on a connection of its own.
    for who, clients, rng in (("seller", sellers, None), ("shop", [admin], shop_range)):
        times = []
        with concurrent.futures.ThreadPoolExecutor(len(PAGE)) as pool:
            for i in range(a.loads):
                token = clients[i % len(clients)].token
                r = shop_ranges[i % 30] if rng else ranges[id(clients[i % len(clients)])][i % 30]
                started = time.perf_counter()

                def one(path):
                    sep = "&" if "?" in path else "?"
                    return Client(a.port, token).get(BASE + path + (sep + r if path != "settings" else ""))

                list(pool.map(one, PAGE))
                times.append(time.perf_counter() - started)
        out["page"].append({"who": who, "n": len(times), "p50": pct(times, 50), "p95": pct(times, 95),
                            "p99": pct(times, 99)})
        print(f"page load {who:6} p50 {pct(times, 50):7.1f} p95 {pct(times, 95):7.1f} p99 {pct(times, 99):7.1f} ms")
    # Freshness: an order placed now, until the shop's report shows it.
    buyer = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60)
    buyer.request("POST", "/api/auth/signup", json.dumps({"email": f"bench{random.randint(1, 10**12)}@example.org",
                                                          "password": "correct horse battery", "name": "Bench"}),
                  {"Content-Type": "application/json"})
    token = json.loads(buyer.getresponse().read())["token"]
    shopper = Client(a.port, token)
    out["freshness"] = []
    for i in range(5):
        before = json.loads(admin.get(BASE + "summary?" + shop_range)[0])["orders"]
        for pid in range(1 + i, 200, 7):  # a product with stock
            shopper.conn.request("POST", "/api/cart/items", json.dumps({"product_id": pid, "quantity": 1}),
                                 {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
            r = shopper.conn.getresponse()
            r.read()
            if r.status == 200:
                break
        shopper.conn.request("POST", "/api/checkout", json.dumps(
            {"shipping_address": {"name": "B", "line1": "1 Street", "city": "Singapore", "postal_code": "123456",
                                  "country": "SG"}, "phone": "+6581234567",
             "payment": {"method": "card", "card_number": "4242424242424242", "exp_month": 12, "exp_year": 2031,
                         "cvc": "123"}}),
            {"Authorization": "Bearer " + token, "Content-Type": "application/json",
             "Idempotency-Key": f"fresh-{random.randint(1, 10**12)}"})
        r = shopper.conn.getresponse()
        body = r.read()
        if r.status != 201:
            raise SystemExit(f"checkout: HTTP {r.status} {body[:200]!r}")
        placed = time.perf_counter()
        while json.loads(admin.get(BASE + "summary?" + shop_range)[0])["orders"] <= before:
            if time.perf_counter() - placed > 30:
                raise SystemExit("the order did not show in the report within 30 s")
        out["freshness"].append(time.perf_counter() - placed)
    print(f"freshness: {out['freshness']}")
    # A year of CSV: one seller's, then the whole shop's, and the server's memory meanwhile.
    for who, client, rng in (("seller", sellers[0], ranges[id(sellers[0])][0]), ("shop", admin, shop_range)):
        # Anonymous memory (the heap): the database file's pages mapped for reading are not held by us.
        rss_before = rss_kib(a.server_pid, "RssAnon")
        body, seconds = client.get(BASE + "export.csv?" + rng)
        out["export"][who] = {"seconds": seconds, "bytes": len(body), "lines": body.count(b"\r\n") - 1,
                              "rss_before_mib": rss_before / 1024,
                              "rss_after_mib": rss_kib(a.server_pid, "RssAnon") / 1024,
                              "hwm_mib": rss_kib(a.server_pid, "VmHWM") / 1024}
        print(f"export {who}: {out['export'][who]}")
    return out


def report(a):
    m = json.load(open(a.report))
    with_sub, without = json.load(open(a.checkout_with)), json.load(open(a.checkout_without))
    rows = []
    worst = 0
    for r in m["reports"]:
        cpu = f"{r['cpu_ms']:.1f}" if "cpu_ms" in r else "-"
        rows.append(f"| {r['report']} | {'one seller' if r['who'] == 'seller' else 'whole shop'} | {r['p50']:.1f} | "
                    f"{r['p95']:.1f} | {r['p99']:.1f} | {cpu} |")
        worst = max(worst, r["p95"])
    page = "\n".join(f"| Sales page load (8 requests at once) | {'one seller' if p['who'] == 'seller' else 'whole shop'} | "
                     f"{p['p50']:.1f} | {p['p95']:.1f} | {p['p99']:.1f} | - |" for p in m["page"])
    exports = "\n".join(
        f"| {'one seller' if who == 'seller' else 'whole shop'} | {e['lines']:,} | {e['bytes'] / 2**20:.1f} MiB | "
        f"{e['seconds']:.2f} s | heap {e['rss_before_mib']:.0f} → {e['rss_after_mib']:.0f} MiB (peak resident {e['hwm_mib']:.0f}) |"
        for who, e in m["export"].items())
    checkout = "\n".join(
        f"| {label} | {r['orders'] / r['seconds']:.0f} | {r['checkout_p50']:.1f} | {r['checkout_p99']:.1f} |"
        for label, r in (("analytics subscriber on", with_sub), ("analytics subscriber off", without)))
    verdict = "met" if worst < 100 else "missed"
    rabbitmq = rabbitmq_freshness(a.rabbitmq)
    section = f"""{START}
## Seller analytics (`make bench`, `BENCH_ONLY=analytics`)

{datetime.date.today().isoformat()}, {machine()}, shared with other work: the load average was {m.get('load_average', '?')}
on 2 cores while the reports were measured, so wall times are several times the work's own. The shop:
{m['lines']:,} order lines in {m['orders']:,} orders over a year, {a.sellers} sellers, {m['products']:,} products,
with discounts, refunds and cancellations (`emporium seed --sellers {a.sellers} --orders {m['orders']}`); the rollups
were built by `emporium analytics rebuild` in {m['rebuild_seconds']:.1f} s. Each report below asks for one year
(365 local days), {m['requests']} requests one after another on one connection, spread over 10 sellers (or the
admin's whole shop); each request's year ends on another of the last 30 days, so no answer was computed a moment
before (one page load computes the products' figures once for its four product reports).

| report (one year) | whose | p50 ms | p95 ms | p99 ms | server CPU ms per request |
|---|---|---|---|---|---|
{chr(10).join(rows)}
{page}

Aim: p95 under 100 ms for each report: **{verdict}** on this machine (worst p95 {worst:.1f} ms); the last column is
the server's own CPU time per request (user + system, from /proc), which the machine's other work does not
inflate. Reports read only the rollup tables by primary-key ranges (`rollup_sql_test` pins the plans); the whole
shop's figures are the shop's own rollup rows (seller 0), never the sellers' added up. Products over a year read each
product's lifetime row less the weeks and days with figures outside the range, when that is fewer rows than the
range's own months, weeks and days (before: twelve monthly rows a product and the days at either end).

CSV export of a year (streamed in pages of 500 orders; the server's heap, RssAnon, before and after, and its
peak resident memory, which also counts the database pages it maps to read):

| whose | lines | size | time | server memory |
|---|---|---|---|---|
{exports}

Rollup cost per placed order (the two runs one after the other, on the same busy machine: differences
within the noise say the subscriber costs less than that noise): checkout paced at {with_sub['rate']:.0f} orders/s by {with_sub['buyers']} buyers for
{with_sub['seconds']:.0f} s on 10,000 products, with the in-process analytics subscriber and with `--analytics off`:

| run | orders/s | checkout p50 ms | checkout p99 ms |
|---|---|---|---|
{checkout}

Freshness on this shop, in-process: a placed order showed in the whole shop's report
{min(m['freshness']) * 1000:.1f} to {max(m['freshness']) * 1000:.1f} ms after the checkout's answer (5 orders; the
aim is 5 s). Through RabbitMQ (a web node with `--events rabbitmq`, `emporium worker --only analytics`, a small shop;
`test_rabbitmq` `test_sales_reports_through_the_broker`): {rabbitmq}.
{END}"""
    write_section(a.out, START, END, section)
    print(section)


def rabbitmq_freshness(path):
    """The figures test_rabbitmq printed ("freshness through RabbitMQ: 0.105, 0.098 s"), as text."""
    if not path:
        return "not measured in this run"
    for line in open(path):
        found = re.search(r"freshness through RabbitMQ: ([0-9., ]+) s", line)
        if found:
            seconds = [float(x) for x in found.group(1).split(",")]
            return (f"{min(seconds) * 1000:.0f} to {max(seconds) * 1000:.0f} ms from the checkout's answer to the "
                    f"report ({len(seconds)} orders)")
    raise SystemExit(f"{path}: no freshness line from test_rabbitmq")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int)
    ap.add_argument("--domain", default="gitgoods.example")
    ap.add_argument("--sellers", type=int, default=50)
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--loads", type=int, default=40)
    ap.add_argument("--server-pid", type=int, default=0)
    ap.add_argument("--json")
    ap.add_argument("--facts", help="JSON of the shop: lines, orders, products, rebuild_seconds")
    ap.add_argument("--report", help="write the section from this JSON")
    ap.add_argument("--checkout-with")
    ap.add_argument("--checkout-without")
    ap.add_argument("--rabbitmq", help="output of test_rabbitmq's test_sales_reports_through_the_broker")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.report:
        report(a)
        return
    out = measure(a)
    out["load_average"] = open("/proc/loadavg").read().split()[1]  # the last 5 minutes
    out.update(json.load(open(a.facts)) if a.facts else {})
    out["requests"] = a.requests
    with open(a.json, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
