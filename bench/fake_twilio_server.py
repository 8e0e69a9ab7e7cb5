#!/usr/bin/env python3
"""Runs the tests' fake Twilio as a process of its own for benchmarks: answers every message after
--delay seconds. Prints the environment lines that point Emporium at it, then serves until killed."""
import argparse
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "api"))
from fake_twilio import FakeTwilio  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    a = ap.parse_args()
    fake = FakeTwilio()
    fake.delay = a.delay
    for k, v in fake.env().items():
        print(f"{k}={v}", flush=True)
    threading.Event().wait()
