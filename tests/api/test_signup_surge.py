"""Sign-ups in a surge: they wait for a hashing thread by the age of the oldest waiting one
(--max-hash-wait-ms), not by how many wait, so a burst the shop gets through within that time is
taken whole; what is refused is a 503 with Retry-After, and the metric counts it."""
import threading
import time
import unittest

from shop import Shop


def burst(shop, count, prefix):
    """count sign-ups sent at the same moment, each on its own connection: their replies."""
    replies = [None] * count
    go = threading.Event()

    def one(i):
        go.wait()
        # The last of a burst waits for every hash before it: on this shared machine that can be
        # longer than the usual ten seconds.
        conn = shop.connect(timeout=300)
        try:
            replies[i] = shop.request("POST", "/api/auth/signup",
                                      {"email": f"{prefix}-{i}@example.com", "password": "correct horse battery",
                                       "name": f"Shopper {i}"}, conn=conn)
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    go.set()
    for t in threads:
        t.join()
    return replies


def metric(shop, name):
    for line in shop.get("/metrics", internal=True).body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no metric {name}")


class SignupSurgeTest(unittest.TestCase):
    def test_a_burst_within_the_wait_budget_is_all_accepted(self):
        # One hashing thread and 30 sign-ups at once: the last waits for 29 hashes. Under a count
        # limit (four per thread) most were refused; within a generous wait budget none is.
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + ("--hash-threads", "1", "--max-hash-wait-ms", "120000"))
        try:
            replies = burst(shop, 30, f"burst-{int(time.time())}")
            self.assertEqual([r.status for r in replies], [201] * 30, [r.body[:200] for r in replies if r.status != 201])
            self.assertEqual(len({r.json["user"]["id"] for r in replies}), 30)
            self.assertEqual(metric(shop, "emporium_hash_shed_total"), 0)
            self.assertEqual(metric(shop, "emporium_hash_queue_waiting"), 0)
        finally:
            shop.close()

    def test_past_the_wait_budget_sign_ups_get_503_with_retry_after(self):
        # A budget of nothing: any sign-up that finds another already waiting is refused. Which
        # ones that is depends on timing; what every answer is, and that the metric counts each
        # refusal, does not.
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + ("--hash-threads", "1", "--max-hash-wait-ms", "0"))
        try:
            prefix = f"shed-{int(time.time())}"
            replies = burst(shop, 30, prefix)
            refused = [r for r in replies if r.status == 503]
            for r in replies:
                self.assertIn(r.status, (201, 503), r.body[:200])
            for r in refused:
                self.assertEqual(r.json["error"]["code"], "overloaded")
                self.assertEqual(r.header("retry-after"), "1")
            self.assertEqual(metric(shop, "emporium_hash_shed_total"), len(refused))
            # A refused sign-up changed nothing: its email is still free. One at a time, nobody
            # waits ahead of it, so even a budget of nothing takes it.
            for i, r in enumerate(replies):
                if r.status == 503:
                    again = shop.request("POST", "/api/auth/signup",
                                         {"email": f"{prefix}-{i}@example.com", "password": "correct horse battery",
                                          "name": f"Shopper {i}"})
                    self.assertEqual(again.status, 201, again.body[:200])
        finally:
            shop.close()


if __name__ == "__main__":
    unittest.main()
