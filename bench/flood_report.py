#!/usr/bin/env python3
"""Writes the sign-in flood section of docs/PERFORMANCE.md from bench/results."""
import argparse
import datetime
import json
import os

from wrk_report import machine, parse, write_section

START, END = "<!-- signin-flood:start -->", "<!-- signin-flood:end -->"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("out")
    ap.add_argument("--rss-mib", default="")
    a = ap.parse_args()
    runs = {}
    for name in ("saturated", "paced"):
        runs[name] = (json.load(open(os.path.join(a.results, f"flood-signin-{name}.json"))),
                      parse(os.path.join(a.results, f"flood-catalog-{name}.txt")))
    flood, _ = runs["saturated"]
    rows = []
    for status, s in flood["statuses"].items():
        meaning = {"200": "signed in", "401": "wrong password", "503": "hashing queue too far behind: retry", "429": "throttled",
                   "0": "connection error"}.get(status, "")
        rows.append(f"| {status} {meaning} | {s['count']:,} | {s['p50_ms']} | {s['p99_ms']} |")
    admitted = sum(flood["statuses"].get(k, {}).get("count", 0) for k in ("200", "401"))
    reads = []
    for name, label in (("saturated", "as fast as wrk can (machine saturated)"),
                        ("paced", "paced: one request per connection every 20 ms")):
        signin, catalog = runs[name]
        hashed = sum(signin["statuses"].get(k, {}).get("count", 0) for k in ("200", "401")) / signin["seconds"]
        reads.append(f"| {label} | {catalog['rps']:,.0f} | {catalog['p50']:.2f} | {catalog['p99']:.2f} | "
                     f"{catalog['errors']} | {hashed:.1f} |")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = f"""{START}
## Sign-in flood (`make bench`)

Measured {now} on {machine()}. {flood['connections']} connections sign in as fast as they can for
{flood['seconds']:.0f} s (a quarter with wrong passwords; per-address sign-in limits lifted so every attempt
reaches Argon2id), while wrk reads the catalog list at 50 connections. Argon2id: 19 MiB, 2 passes, on
one hashing thread per core at lowered priority, refused while the oldest waiting one has waited
over --max-hash-wait-ms (1 s). The flood client
runs at nice 19 on the same two cores.

Sign-in answers (saturated run):

| sign-in answers | count | p50 ms | p99 ms |
|---|---|---|---|
""" + "\n".join(rows) + f"""

Catalog reads during the flood (aim: p99 under 50 ms):

| catalog load | req/s | p50 ms | p99 ms | errors | sign-ins hashed per s |
|---|---|---|---|---|---|
""" + "\n".join(reads) + f"""

The paced run is what shoppers see: about 2,500 page loads a second is a surge of 1,000 shoppers.
In the saturated run wrk, the flood client and the server share two cores, and the tail is mostly
time a request waits for a core. Resident memory after the flood: {a.rss_mib} MiB.
{END}"""
    write_section(a.out, START, END, section)


if __name__ == "__main__":
    main()
