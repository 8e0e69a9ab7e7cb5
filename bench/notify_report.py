#!/usr/bin/env python3
"""Writes the notify-latency section of docs/PERFORMANCE.md from two checkout runs: Twilio
answering at once, and Twilio answering after 5 s."""
import argparse
import datetime
import json

from wrk_report import machine, write_section

START, END = "<!-- notify-latency:start -->", "<!-- notify-latency:end -->"

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--fast", required=True)
    ap.add_argument("--slow", required=True)
    ap.add_argument("--slow-delay", type=float, required=True)
    ap.add_argument("--sent-fast", type=int, required=True)
    ap.add_argument("--sent-slow", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    fast, slow = json.load(open(a.fast)), json.load(open(a.slow))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")

    def row(name, r, sent):
        return (f"| {name} | {r['orders']:,} | {r['orders'] / r['seconds']:.0f} | {r['checkout_p50']:.1f} | "
                f"{r['checkout_p99']:.1f} | {r['checkout_max']:.1f} | {sent:,} |")

    section = f"""{START}
## Checkout while Twilio is slow (`make bench`)

Measured {now} on {machine()}. {fast['buyers']} buyers with phones (so every order queues a text) repeat
add-to-cart, validate and checkout for {fast['seconds']:.0f} s against a fake Twilio on loopback, once
answering at once and once answering each text after {a.slow_delay:.0f} s. Texts leave through the
courier's own threads, so the checkout path never waits for Twilio.

| Twilio | orders | orders/s | checkout p50 ms | checkout p99 ms | checkout max ms | texts sent during the run |
|---|---|---|---|---|---|---|
{row("answers at once", fast, a.sent_fast)}
{row(f"answers after {a.slow_delay:.0f} s", slow, a.sent_slow)}
{END}"""
    write_section(a.out, START, END, section)
    print(section)
