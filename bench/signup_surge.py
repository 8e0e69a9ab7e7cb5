#!/usr/bin/env python3
"""A surge of new shoppers: COUNT sign-ups arriving at RATE a second (an open loop: each starts on
its own schedule, however slow the ones before it are), each a new connection as a new visitor's
browser makes. A 503 is retried after its Retry-After plus up to half of it again at random, as
the web page does (web/src/api.js), but up to --max-retries times (the page tries 4 times in all,
then asks the person to press again). Prints one JSON
object: the first answers by status, how many signed up in the end, and the time from a sign-up's
arrival to its final answer (retries included)."""
import argparse
import http.client
import json
import random
import threading
import time

from signin_flood import percentile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--rate", type=float, default=30)
    ap.add_argument("--max-retries", type=int, default=10)
    a = ap.parse_args()

    run = f"{int(time.time())}"
    first, final, seconds, retries = {}, {}, [], [0]
    lock = threading.Lock()
    start = time.monotonic() + 0.5

    def signup(i):
        time.sleep(max(0.0, start + i / a.rate - time.monotonic()))  # pacing, not synchronisation
        arrived = time.monotonic()
        body = json.dumps({"email": f"surge-{run}-{i}@example.com", "password": "correct horse battery",
                           "name": f"Shopper {i}"})
        status = 0
        for attempt in range(a.max_retries + 1):
            wait = 1.0
            try:
                conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60)
                conn.request("POST", "/api/auth/signup", body=body, headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                status = r.status
                wait = float(r.getheader("Retry-After") or 1)
                conn.close()
            except OSError:
                status = 0
            with lock:
                if attempt == 0:
                    first[status] = first.get(status, 0) + 1
                elif status:
                    retries[0] += 1
            if status != 503:
                break
            time.sleep(wait * (1 + random.random() / 2))  # as the web page does after a 503
        with lock:
            final[status] = final.get(status, 0) + 1
            seconds.append(time.monotonic() - arrived)

    threads = [threading.Thread(target=signup, args=(i,)) for i in range(a.count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({
        "count": a.count, "rate": a.rate,
        "first": {str(k): v for k, v in sorted(first.items())},
        "final": {str(k): v for k, v in sorted(final.items())},
        "retries": retries[0],
        "p50_ms": round(percentile(seconds, 50) * 1000, 1),
        "p99_ms": round(percentile(seconds, 99) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
    }))


if __name__ == "__main__":
    main()
