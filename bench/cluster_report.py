#!/usr/bin/env python3
"""Writes the cluster section of docs/PERFORMANCE.md: the catalog list (wrk) and checkout
(bench/checkout_bench.py) through nginx in front of 1 node on SQLite, 1 node on PostgreSQL and 3
nodes on PostgreSQL, from the runs bench/run.sh made (one directory per setup, holding wrk.txt and
checkout.json). Fails when a run answered anything but 2xx: a baseline that fails is no baseline."""
import argparse
import datetime
import json
import os

from wrk_report import machine, parse, write_section

START, END = "<!-- cluster-bench:start -->", "<!-- cluster-bench:end -->"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", nargs=2, action="append", metavar=("LABEL", "DIR"), required=True,
                    help="a setup's label and the directory with its wrk.txt and checkout.json")
    ap.add_argument("--connections", type=int, required=True)
    ap.add_argument("--duration", required=True)
    ap.add_argument("--buyers", type=int, required=True)
    ap.add_argument("--rate", type=float, required=True)
    ap.add_argument("--products", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    rows = []
    for label, directory in a.run:
        catalog = parse(os.path.join(directory, "wrk.txt"))
        if catalog["errors"]:
            raise SystemExit(f"{label}: {catalog['errors']} catalog requests failed or answered non-2xx")
        checkout = json.load(open(os.path.join(directory, "checkout.json")))
        failed = {s: n for s, n in checkout["statuses"].items() if s != "201"}
        if failed:
            raise SystemExit(f"{label}: checkouts answered {failed}")
        rows.append(f"| {label} | {catalog['rps']:,.0f} | {catalog['p50']:.1f} | {catalog['p99']:.1f} | "
                    f"{checkout['orders'] / checkout['seconds']:,.1f} | {checkout['checkout_p50']:.0f} | "
                    f"{checkout['checkout_p99']:.0f} |")
    section = f"""{START}
## A cluster through nginx

Measured {datetime.date.today().isoformat()} on {machine()}, by `make bench` (`BENCH_ONLY=cluster`):
every setup behind the same nginx (`deploy/nginx/`, one worker), the PostgreSQL ones started by
`scripts/cluster.sh` (PostgreSQL, Redis, RabbitMQ, a worker), {a.products:,} products. Catalog: wrk,
{a.connections} connections for {a.duration} on the first page of the list. Checkout:
`bench/checkout_bench.py`, {a.buyers} buyers each adding to the cart, validating and checking out,
paced at {a.rate:g} checkouts a second in all for {json.load(open(os.path.join(a.run[0][1], "checkout.json")))["seconds"]:g} s.

| setup | catalog req/s | p50 ms | p99 ms | checkouts/s | checkout p50 ms | p99 ms |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

What this can and cannot show: every process (nginx, the nodes, PostgreSQL, Redis, RabbitMQ, wrk
and the Python buyers) shares the same 2 cores, so three nodes cannot serve more than one here:
they split the same CPU, and add their coordination (Redis round trips, PostgreSQL connections)
on top. The figures show the cost of the cluster's parts against SQLite on one machine, and that
nothing fails through nginx; scaling out needs a machine per node (docs/OPERATIONS.md, "Scaling
further"). One run each: on a machine shared with other work, runs differ by tens of percent, so
read the rows as orders of magnitude, not a ranking. nginx writes an access log line per request
throughout.
{END}"""
    write_section(a.out, START, END, section)


if __name__ == "__main__":
    main()
