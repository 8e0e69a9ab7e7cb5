#!/usr/bin/env python3
"""Writes the sign-in flood section of docs/PERFORMANCE.md from bench/results."""
import argparse
import datetime
import json
import os

from wrk_report import machine, parse

START, END = "<!-- signin-flood:start -->", "<!-- signin-flood:end -->"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("out")
    ap.add_argument("--rss-mib", default="")
    a = ap.parse_args()
    flood = json.load(open(os.path.join(a.results, "flood-signin.json")))
    catalog = parse(os.path.join(a.results, "flood-catalog.txt"))
    rows = []
    for status, s in flood["statuses"].items():
        meaning = {"200": "signed in", "401": "wrong password", "503": "hashing queue full: retry", "429": "throttled",
                   "0": "connection error"}.get(status, "")
        rows.append(f"| {status} {meaning} | {s['count']:,} | {s['p50_ms']} | {s['p99_ms']} |")
    admitted = sum(flood["statuses"].get(k, {}).get("count", 0) for k in ("200", "401"))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = f"""{START}
## Sign-in flood (`make bench`)

Measured {now} on {machine()}. {flood['connections']} connections sign in as fast as they can for
{flood['seconds']:.0f} s (a quarter with wrong passwords; per-address sign-in limits lifted so every attempt
reaches Argon2id), while wrk reads the catalog list at 50 connections. Argon2id: 19 MiB, 2 passes, on
one hashing thread per core at lowered priority, at most four waiting per thread.

| sign-in answers | count | p50 ms | p99 ms |
|---|---|---|---|
""" + "\n".join(rows) + f"""

Hashed {admitted / flood['seconds']:.1f} sign-ins a second. Catalog reads during the flood: {catalog['rps']:,.0f} req/s,
p50 {catalog['p50']:.2f} ms, p99 {catalog['p99']:.2f} ms, {catalog['errors']} errors (aim: p99 under 50 ms).
Resident memory after the flood: {a.rss_mib} MiB.
{END}"""
    text = open(a.out).read() if os.path.exists(a.out) else "# Performance\n"
    if START in text and END in text:
        text = text[:text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    open(a.out, "w").write(text)


if __name__ == "__main__":
    main()
