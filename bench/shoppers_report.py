#!/usr/bin/env python3
"""Writes the "1,000 shoppers" section of docs/PERFORMANCE.md from a Locust run of
bench/locustfile.py, all read from bench/results (so it can be rerun on a kept run): Locust's
stats and failures CSVs (shoppers_*.csv), each Locust process's CPU (shoppers-cpu/), the server's
access log (shoppers-server.log) and /metrics after the run (shoppers-metrics.txt), and what
bench/run.sh noted about the run (shoppers-run.json). Fails (exit 1) when any request failed or
answered non-2xx, or Locust itself did not finish cleanly."""
import argparse
import csv
import datetime
import glob
import json
import os
import re
import sys

from wrk_report import machine, write_section

START, END = "<!-- shoppers:start -->", "<!-- shoppers:end -->"
PAGE_ROUTES = ("GET /api/categories", "GET /api/products (list)", "GET /api/products?q= (search)",
               "GET /api/products/{id}", "GET /api/cart")
# The server log's route for each of the locustfile's names (search and list share a route there).
SERVER_ROUTE = {"GET /api/products (list)": "GET /api/products", "GET /api/products?q= (search)": "GET /api/products"}
PAGE_P99_MS = 50
WINDOW_S = 30
SATURATED = 0.8  # of a core: a Locust process this busy delays its own measurements


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else 0.0


def server_side(log_path, since):
    """From the access log (public listener) from since (RFC 3339 UTC) on, which leaves out the
    setup's requests: per route, p50 and p99 ms and how many took over 50 ms; per WINDOW_S
    seconds of the run, requests and how many took over 50 ms; and the slowest lines."""
    start = datetime.datetime.fromisoformat(since + "+00:00")
    by_route, lines, windows = {}, [], {}
    for line in open(log_path, errors="replace"):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("msg") != "request" or e.get("listener") != "public" or e.get("ts", "") < since:
            continue
        by_route.setdefault(f"{e['method']} {e['route']}", []).append(e["ms"])
        lines.append(e)
        at = datetime.datetime.fromisoformat(e["ts"].replace("Z", "+00:00"))
        w = windows.setdefault(int((at - start).total_seconds()) // WINDOW_S, [0, 0])
        w[0] += 1
        w[1] += e["ms"] > PAGE_P99_MS
    routes = {r: {"p50": pct(v, 50), "p99": pct(v, 99), "over_50": sum(1 for x in v if x > PAGE_P99_MS)}
              for r, v in by_route.items()}
    slowest = sorted(lines, key=lambda e: -e["ms"])[:5]
    return routes, slowest, windows


def metric(text, name):
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def unavailable(text):
    """The program's own count of 503 answers by route (every kind of shedding answers 503)."""
    pattern = r'^emporium_http_requests_total\{listener="public",method="(\w+)",route="([^"]+)",status="503"\} (\S+)$'
    return {f"{m.group(1)} {m.group(2)}": int(float(m.group(3))) for m in re.finditer(pattern, text, re.M)}


def error_text(text):
    """Locust writes a failure as the repr of CatchResponseError('...'): the message is what counts."""
    m = re.match(r"""^CatchResponseError\(['"](.*)['"]\)$""", text)
    return (m.group(1) if m else text).replace("\\'", "'").replace("|", "\\|")[:160]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("out")
    a = ap.parse_args()
    path = lambda name: os.path.join(a.results, name)
    run = json.load(open(path("shoppers-run.json")))
    rows = list(csv.DictReader(open(path("shoppers_stats.csv"))))
    routes = [r for r in rows if r["Name"] != "Aggregated"]
    total = next(r for r in rows if r["Name"] == "Aggregated")
    failures = list(csv.DictReader(open(path("shoppers_failures.csv"))))
    cpu = [json.load(open(p)) for p in sorted(glob.glob(path("shoppers-cpu/*.json")))]
    served, slowest, windows = server_side(path("shoppers-server.log"), run["since"])
    metrics = open(path("shoppers-metrics.txt")).read()
    seconds = run["seconds"]

    table, missed = [], []
    for r in sorted(routes, key=lambda r: (r["Name"] not in PAGE_ROUTES, r["Name"])):
        name, page = r["Name"], r["Name"] in PAGE_ROUTES
        if page and float(r["99%"]) >= PAGE_P99_MS:
            missed.append(f"`{name}`")
        s = served.get(SERVER_ROUTE.get(name, name), {})
        table.append(f"| `{name}`{' (page)' if page else ''} | {int(r['Request Count']):,} | "
                     f"{int(r['Failure Count']):,} | {r['50%']} | {r['95%']} | {r['99%']} | {r['Max Response Time']} | "
                     f"{s.get('p50', 0):.1f} | {s.get('p99', 0):.1f} | {s.get('over_50', 0):,} |")
    failed = int(total["Failure Count"])
    by_name = {r["Name"]: r for r in routes}
    got_in = sum(int(by_name[n]["Request Count"]) - int(by_name[n]["Failure Count"])
                 for n in ("POST /api/auth/login", "POST /api/auth/signup") if n in by_name)
    started = max(int(r["User Count"]) for r in csv.DictReader(open(path("shoppers_stats_history.csv"))))
    refused = (f"; the other {started - got_in:,} had not when the run ended (refused until they gave up, or"
               " still waiting for an answer)"
               if got_in < started else "")
    fail_lines = "\n".join(f"| `{f['Name']}` | {error_text(f['Error'])} | {int(f['Occurrences']):,} |"
                           for f in sorted(failures, key=lambda f: f["Name"]))
    slow_lines = "\n".join(f"| {e['ts']} | `{e['method']} {e['route']}` | {e['status']} | {e['ms']:.1f} |"
                           for e in slowest)
    window_lines = "\n".join(f"| {w * WINDOW_S}-{(w + 1) * WINDOW_S} s | {n:,} | {slow:,} |"
                             for w, (n, slow) in sorted(windows.items()))
    shed = ", ".join(f"`{r}` {n:,}" for r, n in sorted(unavailable(metrics).items())) or "none"
    hits = metric(metrics, 'emporium_cache_hits_total{cache="catalog"}') or 0
    misses = metric(metrics, 'emporium_cache_misses_total{cache="catalog"}') or 0
    hashed_shed = metric(metrics, "emporium_hash_shed_total")
    hashed_shed = f"{hashed_shed:,.0f}" if hashed_shed is not None else "n/a"
    # Orders empty the whole catalog cache once per --stock-refresh (1 s); before c. 2026-11-30 14:00
    # every checkout did, and 23% of catalog reads hit.
    cache_note = (" Orders' stock changes empty the catalog cache once per `--stock-refresh` (1 s), whatever"
                  " their number; catalog edits at once.")

    locust_cpu = sum(c["cpu_seconds"] for c in cpu)
    busiest = max((c["cpu_seconds"] / c["wall_seconds"] for c in cpu), default=0)
    per_process = ", ".join(f"{c['role']} {c['cpu_seconds']:.0f} s" for c in cpu)
    gc_pauses = sum(c.get("gc_pauses", 0) for c in cpu)
    gc_max_ms = max((c.get("gc_pause_max_seconds", 0) for c in cpu), default=0) * 1000
    gc_note = (f" Its full garbage collections, each a pause that holds back every shopper's next request and"
               f" then sends them at once (so none runs once every shopper is up; the locustfile says why):"
               f" {gc_pauses}, the longest {gc_max_ms:.0f} ms.")
    workers = run["workers"]
    mode = (f"a master and {workers} worker processes (`--master`, `--worker`, `--expect-workers {workers}`)"
            if workers else "one process")
    saturation = (f" Its busiest process used {busiest:.2f} of a core: above {SATURATED}, its own delays inflate "
                  "the latencies; run it with BENCH_SHOPPERS_WORKERS." if busiest > SATURATED else
                  f" Its busiest process used {busiest:.2f} of a core, far from saturating one.")
    aims = [(f"p99 under {PAGE_P99_MS} ms on every page route", not missed),
            ("zero failed requests", failed == 0 and run["locust_exit"] == 0),
            ("1,000 shoppers for 5 minutes", run["users"] >= 1000 and run["duration"] == "5m")]
    section = f"""{START}
## 1,000 shoppers (`make bench`, `BENCH_ONLY=shoppers`, Locust)

Measured {run['since'].replace('T', ' ')[:16]} UTC at commit `{run['commit']}` on {machine()}; load average {run['load_start']} at
the start and {run['load_end']} at the end: the machine is shared (other builds and tests ran
too), so the figures are noisy. {run['users']:,} Locust users (`bench/locustfile.py`, Debian's
`python3-locust` 2.12, FastHttpUser, one keep-alive connection each) for {run['duration']} including
the ramp (all up within 50 s; {seconds:.0f} s with start and stop), against `emporium serve` as
shipped except the per-address limits (requests, sign-ins, open connections: every shopper comes
from 127.0.0.1), on {run['products']:,} products, its recommendation model trained and a backup
taken before (as a shop that has been running). Each shopper first signs up (3 in 10) or signs in
to an account made before the run (the others: returning customers starting a visit; signing in
costs the shop a password hash where a kept session costs nothing, so this is the heavier of the
two, and what a sale announced by mail brings), sending a refused sign-up or sign-in again after
its Retry-After as the page does (up to 4 tries, `SIGNIN_TRIES` in the locustfile); then repeats a visit with 1-3 s of think time
between steps: the categories, two catalog list pages (the whole catalog, pages 1-10, or a
category, pages 1-3, sorted by popularity, price or date), a search, one to three product pages
opened from those, add one to the cart (1-2 units), the cart, `POST /api/orders/validate`,
`POST /api/checkout` with its own Idempotency-Key. Every product a visit can reach was restocked
before the run (`bench/shoppers_setup.py`), so no checkout can find it sold out. Any answer but
2xx, or a body not as the contract says, is a failure (a visit stops at a failed add, cart or
validate, so that one failure does not bring more).

Locust ran as {mode} on the same two cores as the server; its own CPU: {locust_cpu:.0f} s
({per_process}), {locust_cpu / seconds:.2f} of a core on average.{saturation}{gc_note} The server's CPU:
{run['server_cpu_seconds']:.0f} s, {run['server_cpu_seconds'] / seconds:.2f} of a core on average. Latencies are Locust's
(client side, whole milliseconds, including its own scheduling); the "server" columns are the
program's access log for the same route (list and search share `GET /api/products` there), which
counts the wait for a worker thread too.

Whole run: {int(total['Request Count']):,} requests, {float(total['Requests/s']):,.0f} req/s, {failed:,} failed;
p50 {total['50%']} ms, p95 {total['95%']} ms, p99 {total['99%']} ms. {started:,} shoppers started, {got_in:,}
got in (signed up or signed in){refused}.

| route | requests | failed | p50 ms | p95 ms | p99 ms | max ms | server p50 ms | server p99 ms | server > 50 ms |
|---|---|---|---|---|---|---|---|---|---|
""" + "\n".join(table) + f"""

Failures by route and answer:

| route | answer | count |
|---|---|---|
{fail_lines or "| (none) | | 0 |"}

Where the time went. After the run, `/metrics` counted 503 answers (shedding answers `overloaded`
with Retry-After; a catalog query over its time budget `query_timeout`): {shed}; of them sign-ins and sign-ups shed by the
hashing queue (`emporium_hash_shed_total`): {hashed_shed}. The catalog cache answered
{hits:,.0f} reads and missed {misses:,.0f} ({100 * hits / max(1, hits + misses):.0f}% hits).{cache_note} The server's log by
{WINDOW_S} s window from the start of the ramp, and its slowest requests:

| window | requests | over {PAGE_P99_MS} ms |
|---|---|---|
{window_lines}

| time | route | status | ms |
|---|---|---|---|
{slow_lines}

Raw outputs of the latest run: `bench/results/shoppers_*.csv` (Locust's), `shoppers-summary.txt`,
`shoppers-server.log`, `shoppers-metrics.txt`, `shoppers-cpu/`, `shoppers-run.json`
(`python3 bench/shoppers_report.py bench/results docs/PERFORMANCE.md` rewrites this section from them).

Aims: {"; ".join(f"{name}: {'met' if ok else 'NOT met'}" for name, ok in aims)}.{
        f" Over the page aim: {', '.join(missed)}." if missed else ""}
{END}"""
    write_section(a.out, START, END, section)
    if failed or run["locust_exit"]:
        print(f"shoppers: {failed} failed requests, locust exit {run['locust_exit']}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
