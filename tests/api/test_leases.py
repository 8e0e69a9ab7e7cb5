"""Jobs that must run once (event delivery, the payment reconciler, backups, alerts, retention,
scheduled retraining) over several shop processes on one PostgreSQL database: exactly one node
runs each, and when it is killed another takes them over once their leases expire."""
import unittest

from shop import PII_KEY, Shop, drop_database, fresh_database, postgres_server
from test_notify import wait_until

JOBS = {"events", "reconciler", "backups", "alerts", "retention", "recs"}
TTL = ("--lease-ttl", "3s")


def leases(shop):
    """{job: lease} for the leased jobs, as the node sees them (held_here: it runs the job)."""
    r = shop.request("GET", "/internal/leases", internal=True)
    assert r.status == 200, r.body
    return {item["name"]: item for item in r.json["leases"] if item["name"] in JOBS}


class LeasesOverTwoNodesTest(unittest.TestCase):
    def setUp(self):
        self.database = fresh_database(postgres_server())
        self.nodes = []
        self.nodes.append(Shop(database=self.database, pii_key=PII_KEY, extra_args=Shop.UNLIMITED + TTL))
        self.nodes.append(Shop(database=self.database, pii_key=PII_KEY, extra_args=Shop.UNLIMITED + TTL,
                               seed=False))

    def tearDown(self):
        for node in self.nodes:
            node.close()
        drop_database(self.database)

    def holders(self):
        """{job: index of the node running it} once every job runs on exactly one live node."""
        seen = [leases(node) if node.proc.poll() is None else {} for node in self.nodes]
        out = {}
        for job in JOBS:
            running = [i for i, view in enumerate(seen) if view.get(job, {}).get("held_here")]
            if len(running) != 1:
                return None
            out[job] = running[0]
        return out

    def test_each_job_runs_on_one_node_and_moves_when_that_node_is_killed(self):
        a, b = self.nodes
        before = wait_until(self.holders, bool)
        # Both nodes agree on who holds each lease: the database's view, not each node's guess.
        view_a, view_b = leases(a), leases(b)
        for job in JOBS:
            self.assertEqual(view_a[job]["owner"], view_b[job]["owner"], job)
            self.assertTrue(view_a[job]["live"], job)
        # The retention job ran (it purges at once when taken) on its holder only.
        runs_retention = self.nodes[before["retention"]]
        other = self.nodes[1 - before["retention"]]
        runs_retention.wait_for_log("retention purge")
        self.assertNotIn("retention purge", other.server_log())

        # kill -9: nothing is released; the other node takes every job the dead one ran once its
        # leases expire (3 s here), each with a new generation.
        victim = before["retention"]
        survivor = self.nodes[1 - victim]
        generations = {job: lease["generation"] for job, lease in leases(survivor).items()}
        self.nodes[victim].proc.kill()
        self.nodes[victim].proc.wait()
        after = wait_until(self.holders, lambda h: h and set(h.values()) == {1 - victim})
        self.assertEqual(set(after), JOBS)
        now = leases(survivor)
        for job in JOBS:
            if before[job] == victim:
                self.assertEqual(now[job]["generation"], generations[job] + 1, job)
            else:
                self.assertEqual(now[job]["generation"], generations[job], job)  # never changed hands
        survivor.wait_for_log("retention purge")
        self.assertIn('"lease":"events"', survivor.wait_for_log("lease acquired"))

    def test_a_node_stopped_cleanly_hands_its_jobs_over(self):
        before = wait_until(self.holders, bool)
        leaving = before["events"]
        staying = self.nodes[1 - leaving]
        self.assertEqual(self.nodes[leaving].stop(timeout=60), 0)  # a clean stop; slow under TSan
        # Released at shutdown: taken at the other node's next try, without waiting for expiry.
        wait_until(self.holders, lambda h: h and set(h.values()) == {1 - leaving})
        self.assertIn("lease given up", self.nodes[leaving].server_log())


if __name__ == "__main__":
    unittest.main()
