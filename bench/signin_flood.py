#!/usr/bin/env python3
"""A sign-in flood: N connections signing in as fast as they can for a while, each timing its
own requests by status. Prints one JSON object. Used by bench/run.sh while wrk reads the catalog,
to show that hashing floods neither exhaust memory nor slow browsing down."""
import argparse
import http.client
import json
import threading
import time


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--email", required=True)
    ap.add_argument("--password", required=True)
    a = ap.parse_args()

    results = []  # (status, seconds)
    lock = threading.Lock()
    deadline = time.time() + a.seconds
    body = json.dumps({"email": a.email, "password": a.password})

    def worker(i):
        conn = None
        local = []
        # Every fourth connection uses a wrong password: floods are mostly guesses.
        payload = body if i % 4 else json.dumps({"email": a.email, "password": "wrong password " + str(i)})
        while time.time() < deadline:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/auth/login", body=payload, headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                local.append((r.status, time.perf_counter() - started))
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except OSError:
                local.append((0, time.perf_counter() - started))
                conn = None
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(a.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    by_status = {}
    for status, seconds in results:
        by_status.setdefault(status, []).append(seconds)
    summary = {"requests": len(results), "seconds": a.seconds, "connections": a.connections, "statuses": {}}
    for status, times in sorted(by_status.items()):
        summary["statuses"][str(status)] = {"count": len(times), "p50_ms": round(percentile(times, 50) * 1000, 1),
                                            "p99_ms": round(percentile(times, 99) * 1000, 1)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
