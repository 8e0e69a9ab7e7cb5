#!/usr/bin/env python3
"""Writes the product-photo section of docs/PERFORMANCE.md (between its markers) from
bench/results: the upload cost by picture size (media_bench, Google Benchmark JSON) and wrk serving
one cached photo variant from the shop and the same file from nginx. Fails when wrk saw any
non-2xx answer or socket error, on either side, or when a benchmark case errored."""
import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wrk_report import machine, parse, write_section  # noqa: E402

START, END = "<!-- product-photos:start -->", "<!-- product-photos:end -->"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("performance_md")
    ap.add_argument("--variant", required=True, help="the variant's path, for the text")
    ap.add_argument("--variant-bytes", type=int, required=True)
    ap.add_argument("--duration", required=True)
    ap.add_argument("--connections", type=int, required=True)
    args = ap.parse_args()

    runs = json.load(open(os.path.join(args.results, "media-upload.json")))["benchmarks"]
    failed = [b["name"] for b in runs if b.get("error_occurred")]
    if failed:
        sys.exit(f"media_bench cases failed: {failed}")
    shop = parse(os.path.join(args.results, "photo-emporium.txt"))
    nginx = parse(os.path.join(args.results, "photo-nginx.txt"))
    for name, r in (("emporium", shop), ("nginx", nginx)):
        if r["errors"]:
            sys.exit(f"{name} answered {r['errors']} non-2xx responses or socket errors serving the photo")

    load = os.getloadavg()[0]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [START, "## Product photos (`make bench`, BENCH_ONLY=photos)", "",
             f"Measured {now} on {machine()}; the machine was shared with other builds and tests (load "
             f"average {load:.1f} when the report was written), so the figures are noisy.", "",
             "**Upload cost.** `bench/micro/media_bench` runs `media::Process` on camera-like JPEGs (drawn shapes "
             "under Gaussian noise, quality 90): sniff, header check, full decode, upright sRGB, then 9 variants "
             "(AVIF at effort 2, WebP, JPEG; 320/640/1280 wide, never wider than the picture), one thread per "
             "picture as in the shop. This is the time an upload holds one of the hashing queue's threads.", "",
             "| picture | megapixels | upload size | ms per upload (wall) | CPU ms | stored (all variants) |",
             "|---|---|---|---|---|---|"]
    for b in runs:
        if b.get("run_type") == "aggregate":
            continue
        _, w, h = b["run_name"].split("/")[:3]
        lines.append(f"| {w} x {h} | {b['megapixels']:.2f} | {b['input_kb']:.0f} KB | {b['real_time']:.0f} | "
                     f"{b['cpu_time']:.0f} | {b['stored_kb']:.0f} KB |")
    lines += ["",
              f"**Serving a cached variant.** wrk, {args.connections} connections for {args.duration}, on "
              f"`{args.variant}` ({args.variant_bytes:,} bytes, the product page's main photo): the shop reads it "
              "from the database on the worker pool each time (browsers keep it for a year, `immutable`, so this "
              "is the first view of each shopper or a CDN's fill), against nginx serving the same bytes from a "
              "file.", "",
              "| server | requests/s | p50 ms | p99 ms | requests |", "|---|---|---|---|---|"]
    for name, r in (("emporium", shop), ("nginx (same file)", nginx)):
        lines.append(f"| {name} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['requests']:,} |")
    lines.append(END)
    write_section(args.performance_md, START, END, "\n".join(lines))


if __name__ == "__main__":
    main()
