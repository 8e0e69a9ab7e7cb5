"""The delivery pipeline's record over real HTTP and the real CLI: who may post and read events,
posting the same events again changes nothing, bad events change nothing, the CSV export parses
back with Python's csv module and defuses formulas, `emporium ci-report` passes a command's exit
code through, spools events when no shop answers and flushes them later, records a deployment
with the commits of a real git range, and a firing alert opens an incident that its resolution
closes, linked to the last deployment before it and correctable by hand."""
import csv
import datetime
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest

from shop import BIN, ROOT, Shop, free_port
from test_notify import wait_until

DAY = 86400


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def date(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d")


def staff_token(shop, *scopes):
    r = shop.admin("POST", "/api/admin/tokens", {"scopes": list(scopes), "ttl_seconds": 3600, "note": "delivery"})
    assert r.status == 201, r.body
    return r.json["token"]


def run_cli(*args, env=None, cwd=None):
    return subprocess.run([BIN, "ci-report", *args], capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


class DeliveryApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.shop = Shop(products=20)
        cls.ci = staff_token(cls.shop, "delivery:write")
        cls.reader = staff_token(cls.shop, "ops:read")
        cls.now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
        # The last three days. The seeded history reaches into them too, so each test picks out
        # the records it made by the ids it chose (and its own times, hours apart from the others).
        cls.period = f"from={date(cls.now - 2 * DAY)}&to={date(cls.now)}"

    @classmethod
    def tearDownClass(cls):
        cls.shop.close()

    def post(self, body, token=None, raw=None, headers=None):
        return self.shop.request("POST", "/api/admin/delivery/events", body=body, raw=raw, headers=headers,
                                 token=token or self.ci)

    def csv_rows(self, kind, token=None):
        r = self.shop.get(f"/api/admin/delivery/export.csv?kind={kind}&{self.period}",
                          token=token or self.shop.admin_token)
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.header("content-type").startswith("text/csv"))
        self.assertIn(f"delivery-{kind}-", r.header("content-disposition"))
        return list(csv.DictReader(io.StringIO(r.body.decode("utf-8"), newline="")))

    def test_routes_check_their_scopes_and_roles(self):
        event = {"type": "run", "id": "scope-run", "commit": "abcd1234", "started_at": iso(self.now - 60)}
        customer, _ = self.shop.signup("delivery-customer@example.com")
        seller = self.shop.login("seller1@" + self.shop.domain)
        self.assertEqual(self.post(event, token="nobody").status, 401)
        self.assertEqual(self.shop.request("POST", "/api/admin/delivery/events", body=event).status, 401)
        self.assertEqual(self.post(event, token=customer).status, 403)
        self.assertEqual(self.post(event, token=seller).status, 403)
        denied = self.post(event, token=self.reader)
        self.assertEqual(denied.status, 403)
        self.assertIn("delivery:write", denied.json["error"]["message"])
        self.assertEqual(self.post(event).status, 200)
        self.assertEqual(self.post(event, token=self.shop.admin_token).status, 200)  # admins hold every scope
        reads = ["/api/admin/delivery/summary", "/api/admin/delivery/deployments", "/api/admin/delivery/incidents",
                 "/api/admin/delivery/export.csv"]
        for path in reads:
            with self.subTest(path=path):
                self.assertEqual(self.shop.get(path).status, 401)
                self.assertEqual(self.shop.get(path, token=self.ci).status, 403)  # a CI token only writes
                self.assertEqual(self.shop.get(path, token=seller).status, 403)
                self.assertEqual(self.shop.get(path, token=self.reader).status, 200)
        patch = self.shop.request("PATCH", "/api/admin/delivery/incidents/1", {"link": "auto"}, token=self.reader)
        self.assertEqual(patch.status, 403)  # correcting a link needs ops:write

    def test_posting_the_same_events_again_updates_and_never_duplicates(self):
        t = self.now - DAY + 20000
        batch = {"events": [
            {"type": "deployment", "id": "idem-dep", "deployed_at": iso(t), "commits": [
                {"sha": "aaaa0001", "committed_at": iso(t - 3600)}, {"sha": "aaaa0002", "committed_at": iso(t - 600)}]},
            {"type": "stage", "id": "idem-run/build", "run_id": "idem-run", "commit": "aaaa0002", "name": "idem build",
             "started_at": iso(t - 300), "duration_ms": 42000, "result": "success", "exit_code": 0},
            {"type": "tests", "id": "idem-run/tests", "run_id": "idem-run", "suite": "idem",
             "cases": [{"name": "one", "result": "passed"}, {"name": "two", "result": "failed", "duration_ms": 5}]},
            {"type": "incident", "id": "idem-inc", "title": "Idempotent trouble", "opened_at": iso(t + 60)},
        ]}
        first = self.post(batch)
        self.assertEqual(first.status, 200, first.body)
        self.assertEqual((first.json["recorded"], first.json["created"]), (4, 4))
        before = {kind: self.csv_rows(kind) for kind in ("deployments", "stages", "incidents")}
        again = self.post(batch)
        self.assertEqual((again.status, again.json["recorded"], again.json["created"]), (200, 4, 0))
        self.assertEqual([i["created"] for i in again.json["items"]], [False] * 4)
        after = {kind: self.csv_rows(kind) for kind in ("deployments", "stages", "incidents")}
        self.assertEqual(after, before)
        mine = [d for d in after["deployments"] if d["deployment"] == "idem-dep"]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["commits"], "2")
        self.assertEqual(mine[0]["incidents"], "1")  # idem-inc opened after it: linked automatically
        # The same id with new content updates the record.
        batch["events"][1]["duration_ms"] = 43000
        self.assertEqual(self.post({"events": [batch["events"][1]]}).json["created"], 0)
        stages = [s for s in self.csv_rows("stages") if s["stage"] == "idem build"]
        self.assertEqual([s["duration_ms"] for s in stages], ["43000"])

    def test_bad_events_get_clear_errors_and_change_nothing(self):
        t = self.now - DAY
        good = {"type": "deployment", "id": "never-dep", "deployed_at": iso(t), "commits": []}
        bad = {"events": [good, {"type": "stage", "id": "x/y", "run_id": "x", "name": "y", "started_at": "soon",
                                 "duration_ms": -1, "result": "great"}]}
        r = self.post(bad)
        self.assertEqual(r.status, 422, r.body)
        fields = [f["field"] for f in r.json["error"]["details"]["fields"]]
        self.assertEqual(fields, ["events[1].started_at", "events[1].duration_ms", "events[1].result"])
        orphan = {"type": "stage", "id": "o/s", "run_id": "o", "name": "s", "started_at": iso(t),
                  "duration_ms": 1, "result": "success"}
        r = self.post({"events": [good, orphan]})
        self.assertEqual(r.status, 422)
        self.assertEqual(r.json["error"]["details"]["fields"][0]["field"], "events[1].commit")
        self.assertEqual(self.post(None, raw=b"{not json", headers={"Content-Type": "application/json"}).status, 400)
        self.assertEqual(self.post(None, raw=b"[1]", headers={"Content-Type": "application/json"}).status, 400)
        self.assertEqual(self.post(None, raw=b"{}", headers={"Content-Type": "text/plain"}).status, 415)
        too_many = {"events": [good] * 501}
        self.assertEqual(self.post(too_many).status, 422)
        deep = {"type": "tests", "id": "deep", "commit": "abcd", "cases": [{"name": {"a": [1]}, "result": "passed"}]}
        self.assertEqual(self.post(deep).status, 422)
        self.assertNotIn("never-dep", [d["deployment"] for d in self.csv_rows("deployments")])
        for query in ("from=2026-02-30", "from=yesterday", f"from={date(self.now)}&to={date(self.now - 5 * DAY)}",
                      "environment=Prod!", "from=2020-01-01&to=2026-01-01"):
            with self.subTest(query=query):
                r = self.shop.get("/api/admin/delivery/summary?" + query, token=self.reader)
                self.assertEqual(r.status, 422, r.body)
        r = self.shop.get("/api/admin/delivery/export.csv?kind=secrets", token=self.reader)
        self.assertEqual(r.status, 422)

    def test_csv_export_parses_back_and_never_holds_a_live_formula(self):
        t = self.now - DAY
        title = 'Checkout "down", again; see =1+1'
        events = {"events": [
            {"type": "deployment", "id": "=HYPERLINK(\"http://evil.example\",\"x\")", "deployed_at": iso(t),
             "commits": [{"sha": "cccc0001", "committed_at": iso(t - 7200)}]},
            {"type": "deployment", "id": "+sum", "deployed_at": iso(t + 10), "commits": []},
            {"type": "incident", "id": "@csv-inc", "title": title, "opened_at": iso(t + 20),
             "resolved_at": iso(t + 920)},
        ]}
        self.assertEqual(self.post(events).status, 200)
        deployments = {d["deployment"]: d for d in self.csv_rows("deployments")}
        self.assertIn("'=HYPERLINK(\"http://evil.example\",\"x\")", deployments)
        self.assertIn("'+sum", deployments)
        hyperlink = deployments["'=HYPERLINK(\"http://evil.example\",\"x\")"]
        self.assertEqual(hyperlink["commits"], "1")
        self.assertEqual(hyperlink["lead_time_p50_seconds"], "7200")
        self.assertEqual(hyperlink["deployed_at"], iso(t))
        incidents = {i["incident"]: i for i in self.csv_rows("incidents")}
        self.assertEqual(incidents["'@csv-inc"]["title"], title)  # quotes and comma survive
        self.assertEqual(incidents["'@csv-inc"]["restore_seconds"], "900")
        self.assertEqual(incidents["'@csv-inc"]["deployment"], "'+sum")  # the last one before it
        for row in list(deployments.values()) + list(incidents.values()):
            for value in row.values():
                self.assertFalse(value and value[0] in "=+-@\t\r", value)

    def test_ci_report_passes_the_exit_code_through_and_records_stage_and_tests(self):
        with tempfile.TemporaryDirectory() as d:
            junit = os.path.join(d, "junit.xml")
            with open(junit, "w") as f:
                f.write('<testsuite name="cli"><testcase classname="cli" name="flips" time="0.5"/>'
                        '<testcase classname="cli" name="steady" time="0.1"/></testsuite>')
            env = dict(os.environ, EMPORIUM_CI_SHOP_URL=f"http://127.0.0.1:{self.shop.port}", EMPORIUM_CI_TOKEN=self.ci,
                       EMPORIUM_CI_RUN_ID="cli-run-1", EMPORIUM_CI_COMMIT="feedbeef01",
                       EMPORIUM_CI_SPOOL=os.path.join(d, "spool.ndjson"))
            r = run_cli("stage", "cli stage", "--junit", junit, "--", "sh", "-c", "echo out; echo err >&2; exit 3",
                        env=env)
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertEqual(r.stdout, "out\n")
            self.assertEqual(r.stderr, "err\n")  # nothing of ours: the shop took the events
            self.assertFalse(os.path.exists(env["EMPORIUM_CI_SPOOL"]))
            with open(junit, "w") as f:
                f.write('<testsuite name="cli"><testcase classname="cli" name="flips"><failure/></testcase>'
                        '<testcase classname="cli" name="steady"/></testsuite>')
            env["EMPORIUM_CI_RUN_ID"] = "cli-run-2"  # a retry of the same commit
            self.assertEqual(run_cli("stage", "cli stage", "--junit", junit, "--", "true", env=env).returncode, 0)
            self.assertEqual(run_cli("stage", "missing", "--", "/no/such/program", env=env).returncode, 127)
        stages = [(s["run"], s["result"], s["exit_code"]) for s in self.csv_rows("stages") if s["stage"] == "cli stage"]
        self.assertEqual(sorted(stages), [("cli-run-1", "failed", "3"), ("cli-run-2", "success", "0")])
        flaky = [(f["suite"], f["test"], f["commits"]) for f in self.csv_rows("flaky") if f["suite"] == "cli stage"]
        self.assertEqual(flaky, [("cli stage", "cli.flips", "1")])  # "steady" passed both times

    def test_ci_stage_script_records_before_the_program_exists_and_through_it_after(self):
        script = os.path.join(ROOT, "scripts", "ci-stage.sh")
        with tempfile.TemporaryDirectory() as d:
            spool = os.path.join(d, "build", "delivery-events.ndjson")
            env = {k: v for k, v in os.environ.items() if not k.startswith("EMPORIUM_CI_")}
            env.update(EMPORIUM_CI_SPOOL=spool, EMPORIUM_CI_RUN_ID="script-run", EMPORIUM_CI_COMMIT="5c41b7ed")
            # Before the build: the script times the command and writes the event itself.
            r = subprocess.run(["bash", script, "dependencies", "--", "sh", "-c", "echo deps; exit 5"],
                               env=dict(env, EMPORIUM_BIN=os.path.join(d, "not-built")), capture_output=True,
                               text=True, timeout=60)
            self.assertEqual((r.returncode, r.stdout), (5, "deps\n"), r.stderr)
            # After it: through `emporium ci-report stage`, with the API runner's JUnit XML.
            junit = os.path.join(d, "build", "junit-api.xml")
            quick = "test_scaling.ManifestTest.test_autoscaling_reads_what_the_shop_exposes_and_secrets_come_from_secret_objects"
            r = subprocess.run(["bash", script, "api tests", "--junit", junit, "--", sys.executable,
                                os.path.join(ROOT, "tests", "api", "run.py"), quick],
                               env=dict(env, EMPORIUM_BIN=BIN, EMPORIUM_TEST_JUNIT=junit), capture_output=True,
                               text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("1 passed, 0 failed", r.stdout)
            with open(spool) as f:
                self.assertEqual([json.loads(line)["type"] for line in f], ["stage", "stage", "tests"])
            seen = self.shop.get(f"/api/admin/delivery/summary?{self.period}", token=self.reader).json
            r = run_cli("flush", "--shop", f"http://127.0.0.1:{self.shop.port}", env=dict(env, EMPORIUM_CI_TOKEN=self.ci))
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("sent 3 events, 0 still waiting, 0 rejected", r.stdout)
        stages = sorted((s["stage"], s["result"], s["exit_code"]) for s in self.csv_rows("stages")
                        if s["run"] == "script-run")
        self.assertEqual(stages, [("api tests", "success", "0"), ("dependencies", "failed", "5")])
        now = self.shop.get(f"/api/admin/delivery/summary?{self.period}", token=self.reader).json
        self.assertEqual(now["flaky_tests"]["tests_seen"], seen["flaky_tests"]["tests_seen"] + 1)

    def test_ci_report_spools_when_no_shop_answers_and_flush_sends_each_event_once(self):
        with tempfile.TemporaryDirectory() as d:
            spool = os.path.join(d, "build", "events.ndjson")
            env = dict(os.environ, EMPORIUM_CI_SHOP_URL=f"http://127.0.0.1:{free_port()}", EMPORIUM_CI_TOKEN=self.ci,
                       EMPORIUM_CI_RUN_ID="spool-run", EMPORIUM_CI_COMMIT="5900100d", EMPORIUM_CI_SPOOL=spool)
            for name, code in (("spooled a", 0), ("spooled b", 1)):
                r = run_cli("stage", name, "--", "sh", "-c", f"exit {code}", env=env)
                self.assertEqual(r.returncode, code)
                self.assertIn("not sent: the shop did not answer", r.stderr)
            with open(spool) as f:
                self.assertEqual(len(f.read().splitlines()), 2)
            # Still unreachable: nothing is lost.
            r = run_cli("flush", env=env)
            self.assertEqual(r.returncode, 1)
            self.assertIn("sent 0 events, 2 still waiting", r.stdout)
            env["EMPORIUM_CI_SHOP_URL"] = f"http://127.0.0.1:{self.shop.port}"
            r = run_cli("flush", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("sent 2 events, 0 still waiting, 0 rejected", r.stdout)
            self.assertFalse(os.path.exists(spool))
            self.assertIn("is empty", run_cli("flush", env=env).stdout)
            # The same events sent twice (a flush that died after sending) are recorded once.
            r = run_cli("--shop", f"http://127.0.0.1:{free_port()}", "stage", "spooled a", "--", "true", env=env)
            self.assertEqual(r.returncode, 0)
            self.assertEqual(run_cli("flush", env=env).returncode, 0)
        stages = sorted((s["stage"], s["result"]) for s in self.csv_rows("stages") if s["run"] == "spool-run")
        self.assertEqual(stages, [("spooled a", "success"), ("spooled b", "failed")])

    def test_ci_report_deploy_records_the_commits_of_a_git_range(self):
        base = self.now - DAY
        with tempfile.TemporaryDirectory() as repo:
            def git(*args, when=None):
                env = dict(os.environ, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@example.com", GIT_COMMITTER_NAME="a",
                           GIT_COMMITTER_EMAIL="a@example.com")
                if when:
                    env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"] = f"@{when} +0000"
                return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True,
                                      text=True).stdout.strip()
            git("init", "-q")
            for i, when in enumerate((base - 9000, base - 5400, base - 1800)):
                git("commit", "-q", "--allow-empty", "-m", f"change {i}", when=when)
            first = git("rev-list", "--max-parents=0", "HEAD")
            env = dict(os.environ, EMPORIUM_CI_SHOP_URL=f"http://127.0.0.1:{self.shop.port}", EMPORIUM_CI_TOKEN=self.ci,
                       EMPORIUM_CI_SPOOL=os.path.join(repo, "spool.ndjson"))
            r = run_cli("deploy", "--commits", f"{first}..HEAD", "--environment", "gitrange", "--at", iso(base),
                        env=env, cwd=repo)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("2 commits", r.stdout)
            bad = run_cli("deploy", "--commits=--output=/tmp/x..HEAD", env=env, cwd=repo)
            self.assertEqual(bad.returncode, 2)
            self.assertEqual(run_cli("deploy", "--commits", "nope..HEAD", env=env, cwd=repo).returncode, 1)
        summary = self.shop.get(f"/api/admin/delivery/summary?{self.period}&environment=gitrange", token=self.reader)
        self.assertEqual(summary.status, 200)
        lead = summary.json["lead_time"]
        # The two commits after the first: 5400 s and 1800 s before the deployment; nearest-rank p50 is 1800.
        self.assertEqual((lead["commits"], lead["deployments"], lead["p50_seconds"], lead["p95_seconds"]),
                         (2, 1, 1800, 5400))
        self.assertEqual(summary.json["deployment_frequency"]["deployments"], 1)

    def test_incident_links_can_be_corrected_by_hand(self):
        t = self.now - DAY + 5000
        self.assertEqual(self.post({"events": [
            {"type": "deployment", "id": "link-a", "environment": "linktest", "deployed_at": iso(t), "commits": []},
            {"type": "deployment", "id": "link-b", "environment": "linktest", "deployed_at": iso(t + 100),
             "commits": []},
            {"type": "incident", "id": "link-inc", "environment": "linktest", "title": "t", "opened_at": iso(t + 200)},
        ]}).status, 200)
        q = f"{self.period}&environment=linktest"
        deployments = {d["deployment"]: d["id"] for d in
                       self.shop.get(f"/api/admin/delivery/deployments?{q}", token=self.reader).json["items"]}
        incident = self.shop.get(f"/api/admin/delivery/incidents?{q}", token=self.reader).json["items"][0]
        self.assertEqual((incident["deployment"], incident["link"]), ("link-b", "auto"))
        path = f"/api/admin/delivery/incidents/{incident['id']}"
        r = self.shop.admin("PATCH", path, {"deployment_id": deployments["link-a"]})
        self.assertEqual((r.status, r.json["deployment"], r.json["link"]), (200, "link-a", "manual"))
        summary = self.shop.get(f"/api/admin/delivery/summary?{q}", token=self.reader).json
        self.assertEqual((summary["change_failure_rate"]["failed"], summary["change_failure_rate"]["deployments"]),
                         (1, 2))
        for body in ({"deployment_id": "link-a"}, {"deployment_id": 0}, {}, {"link": "manual"},
                     {"deployment_id": 987654}):
            with self.subTest(body=body):
                self.assertEqual(self.shop.admin("PATCH", path, body).status, 422)
        self.assertEqual(self.shop.admin("PATCH", "/api/admin/delivery/incidents/987654", {"link": "auto"}).status,
                         404)
        self.assertEqual(self.shop.admin("PATCH", "/api/admin/delivery/incidents/x", {"link": "auto"}).status, 404)
        r = self.shop.admin("PATCH", path, {"deployment_id": None})
        self.assertEqual((r.status, r.json["deployment"]), (200, None))
        r = self.shop.admin("PATCH", path, {"link": "auto"})
        self.assertEqual((r.status, r.json["deployment"], r.json["link"]), (200, "link-b", "auto"))


class DeliveryAlertTest(unittest.TestCase):
    def test_a_firing_alert_opens_an_incident_on_the_last_deployment_and_its_resolution_closes_it(self):
        shop = Shop(products=10, extra_args=Shop.UNLIMITED + (
            "--faults", "--alert-window", "3s", "--alert-interval", "1s", "--alert-error-hold", "0s",
            "--alert-min-requests", "3"))
        stop = threading.Event()
        try:
            now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
            admin = shop.admin_token
            ci = staff_token(shop, "delivery:write")
            r = shop.request("POST", "/api/admin/delivery/events", token=ci, body={
                "type": "deployment", "id": "before-the-alert", "deployed_at": iso(now - 600), "commits": []})
            self.assertEqual(r.status, 200, r.body)

            def traffic():
                conn = shop.connect()
                while not stop.is_set():
                    try:
                        shop.request("GET", "/api/products?per_page=2", conn=conn)
                    except OSError:
                        conn = shop.connect()
                    stop.wait(0.05)

            threading.Thread(target=traffic, daemon=True).start()
            self.assertEqual(shop.request("PUT", "/internal/faults", {"error_ratio": 1}, internal=True).status, 200)
            shop.wait_for_log('"msg":"alert firing","rule":"high_error_ratio"', timeout=30)
            self.assertEqual(shop.request("PUT", "/internal/faults", {"error_ratio": 0}, internal=True).status, 200)

            period = f"from={date(now - DAY)}&to={date(now + DAY)}"

            def all_incidents():
                r = shop.get(f"/api/admin/delivery/incidents?{period}", token=admin)
                return r.json["items"] if r.status == 200 else []

            def incidents():
                return [i for i in all_incidents() if i["incident"].startswith("alert:high_error_ratio:")]

            opened = wait_until(incidents, lambda items: len(items) == 1)[0]
            self.assertEqual(opened["source"], "alert")
            self.assertEqual(opened["deployment"], "before-the-alert")
            closed = wait_until(incidents, lambda items: items and items[0]["resolved_at"] is not None, timeout=60)
            self.assertEqual(len(closed), 1)  # repeats and the resolution add no second incident
            self.assertGreaterEqual(closed[0]["resolved_at"], closed[0]["opened_at"])
            # Another rule may fire on a loaded machine (slow answers, say) and open an incident of
            # its own: the figures count every incident, so they are compared with the list.
            def restore_figures():
                summary = shop.get(f"/api/admin/delivery/summary?{period}", token=admin).json
                return summary, [i for i in all_incidents() if i["resolved_at"] is None]

            summary, still_open = wait_until(restore_figures, lambda v: v[0]["time_to_restore"]["open"] == len(v[1]))
            self.assertNotIn(closed[0]["incident"], [i["incident"] for i in still_open])
            self.assertGreaterEqual(summary["time_to_restore"]["resolved"], 1)
            self.assertGreaterEqual(summary["change_failure_rate"]["with_incidents"], 1)
        finally:
            stop.set()
            shop.close()


if __name__ == "__main__":
    unittest.main()
