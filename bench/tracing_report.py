#!/usr/bin/env python3
"""Writes the tracing overhead section of docs/PERFORMANCE.md (between its markers): wrk on the
cached catalog list with tracing off, on at the default ratio and on at ratio 1 with a receiver.
Fails when any run had a non-2xx answer or a socket error."""
import argparse
import datetime
import sys

from wrk_report import machine, parse, write_section

START, END = "<!-- tracing-bench:start -->", "<!-- tracing-bench:end -->"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", nargs=4, action="append", required=True,
                   metavar=("NAME", "WRK_OUTPUT", "SPANS_EXPORTED", "SPANS_DROPPED"))
    p.add_argument("--connections", required=True)
    p.add_argument("--duration", required=True)
    p.add_argument("--products", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    rows, base = [], None
    for name, path, exported, dropped in a.run:
        r = parse(path)
        if r["errors"]:
            sys.exit(f"{name}: {r['errors']} failed or non-2xx answers in {path}")
        base = base or r["rps"]
        rows.append(f"| {name} | {r['rps']:,.0f} | {(r['rps'] / base - 1) * 100:+.1f}% | {r['p50']:.2f} | "
                    f"{r['p99']:.2f} | {exported} | {dropped} |")
    section = "\n".join([
        START,
        "## Tracing overhead (`make bench`, `BENCH_ONLY=tracing`)",
        "",
        f"wrk, {a.connections} connections for {a.duration}, on the cached catalog list "
        f"(`/api/products?page=1&per_page=24`, {a.products} products), after a 2 s warm-up; one run each. "
        "Spans per request: the request and its cache lookup. \"exported\" and \"dropped\" are the "
        "process's `emporium_trace_spans_*_total` after the run (a local OTLP receiver, bench/otlp_receiver.py).",
        "",
        "| Tracing | Requests/s | vs off | p50 ms | p99 ms | Spans exported | Spans dropped |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Measured {datetime.date.today().isoformat()} on {machine()}, shared with other builds and "
        "tests at the time, one run each: read small differences as noise.",
        END,
    ])
    write_section(a.out, START, END, section)


if __name__ == "__main__":
    main()
