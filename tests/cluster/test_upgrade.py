"""Rolling upgrades and restarts with zero failed requests: each node of three behind nginx is
upgraded in place (a new binary renamed over the old, then SIGHUP: the node hands its sockets to a
process of the new binary and drains), then restarted the same way, while shoppers read and check
out through nginx and every outcome is counted. A control run of plain kill-and-restart shows
failures, so the test can tell the two apart."""
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import unittest

from cluster import BIN, BODY, Cluster, Load, Node, wait_until


def health(c, node):
    return c.get("/healthz", port=node.internal, timeout=5).json


def alive(pid):
    return Node(0, 0, 0, pid, "").alive()


class RollingUpgradeTest(unittest.TestCase):
    def test_rolling_upgrade_and_restart_fail_no_request_and_a_plain_restart_does(self):
        work = tempfile.mkdtemp(prefix="emporium-upgrade-")
        binary = os.path.join(work, "emporium")
        shutil.copy2(BIN, binary)
        c = Cluster(env={"EMPORIUM_BIN": binary})
        try:
            product = c.new_product(stock=1000000, price=500)
            order_threads = 3
            buyers = c.buyers(order_threads)
            acked, lock = [], threading.Lock()  # lock guards acked

            def step(i):
                if i >= order_threads:
                    r = c.get(random.choice(["/api/products?per_page=10&sort=price_asc", f"/api/products/{product['id']}"]))
                    return ("read", r.status, r.status == 200, r.body[:200])
                r = c.add_to_cart(buyers[i], product["id"])
                if r.status != 200:
                    return ("cart", r.status, False, r.body[:200])
                r = c.checkout(buyers[i], f"upgrade-{i}-{random.randrange(10**12)}")
                if r.status == 201:
                    with lock:
                        acked.append(r.json["id"])
                return ("checkout", r.status, r.status == 201, r.body[:200])

            def replace_binary(tail):
                fresh = binary + ".new"
                shutil.copy2(BIN, fresh)
                with open(fresh, "ab") as f:
                    f.write(tail)
                os.rename(fresh, binary)

            def hand_over(node):
                """SIGHUP to the node's current process; returns (old, new) health once another
                process answers on the node's ports and has served checkouts."""
                before = health(c, node)
                os.kill(before["pid"], signal.SIGHUP)
                after = wait_until(lambda: health(c, node), lambda h: h["pid"] != before["pid"], timeout=90)
                served = len(acked)
                wait_until(lambda: len(acked), lambda n: n >= served + 5, timeout=60)
                return before, after

            load = Load(order_threads + 3, step)
            old_pids = []
            try:
                wait_until(lambda: len(acked), lambda n: n >= 10, timeout=60)
                replace_binary(b"\0release-2")
                for node in c.nodes:
                    before, after = hand_over(node)
                    self.assertNotEqual(after["binary"], before["binary"])
                    old_pids.append(before["pid"])
                for node in c.nodes:
                    before, after = hand_over(node)
                    self.assertEqual(after["binary"], before["binary"])
                    old_pids.append(before["pid"])
                # The old processes drain: they exit once nginx let go of its idle connections.
                wait_until(lambda: [p for p in old_pids if alive(p)], lambda left: not left, timeout=90)
                upgraded = len(acked)
                wait_until(lambda: len(acked), lambda n: n >= upgraded + 5, timeout=60)
            finally:
                outcomes = load.stop()
            failed = [o for o in outcomes if not o[2]]
            self.assertEqual(failed, [], "requests failed during the rolling upgrade and restart")
            self.assertTrue(all(health(c, n)["binary"] == after["binary"] for n in c.nodes))
            self.assert_orders_present(c, acked)
            upgrade_requests = len(outcomes)

            # Control: the same load while each node is killed and started again as a plain restart
            # would; until a request fails (at most every node, twice).
            acked.clear()
            load = Load(order_threads + 3, step)
            try:
                wait_until(lambda: len(acked), lambda n: n >= 5, timeout=60)
                for node in c.nodes * 2:
                    self.kill_and_restart(c, node)
                    served = len(acked)
                    wait_until(lambda: len(acked), lambda n: n >= served + 5, timeout=60)
                    if load.count(lambda o: not o[2]):
                        break
            finally:
                control = load.stop()
            control_failed = [o for o in control if not o[2]]
            self.assertTrue(control_failed, "a plain kill-and-restart failed no request: the test cannot tell")
            checkouts = sum(1 for o in outcomes if o[0] == "checkout")
            print(f"rolling upgrade then restart of 3 nodes (6 hand-overs): {upgrade_requests} requests "
                  f"({checkouts} checkouts), 0 failed; control with "
                  f"kill-and-restart: {len(control)} requests, {len(control_failed)} failed "
                  f"({sorted(set(o[1] for o in control_failed))}; first: {control_failed[0]})")
        finally:
            c.close()
            shutil.rmtree(work, ignore_errors=True)

    def kill_and_restart(self, c, node):
        """What a restart without a hand-over does: the process dies and a new one binds the ports."""
        pid = health(c, node)["pid"]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0") if a]
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(e.decode().split("=", 1) for e in f.read().split(b"\0") if b"=" in e)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: alive(pid), lambda up: not up, timeout=10)
        with open(node.log, "ab") as out:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=out)
        c.added.append((Node(node.index, node.port, node.internal, proc.pid, node.log), proc))
        wait_until(lambda: proc.poll() is not None or c._ready(node), bool, timeout=60)
        if proc.poll() is not None:
            with open(node.log, "rb") as f:
                self.fail("the restarted node exited; its log ends:\n" + f.read()[-2000:].decode(errors="replace"))

    def assert_orders_present(self, c, acked):
        ids = sorted(acked)
        self.assertEqual(len(set(ids)), len(ids), "two acknowledgements for one order")
        rows = c.sql(f"SELECT id FROM orders WHERE id IN ({','.join(map(str, ids))}) ORDER BY id")
        self.assertEqual([int(r[0]) for r in rows], ids)


if __name__ == "__main__":
    unittest.main()
