"""The Prometheus and Alertmanager files in deploy/: they parse, the alerting rules pass their own
unit tests (deploy/prometheus/emporium-rules.test.yml), and every rule is loaded. Needs promtool
and amtool (Debian packages prometheus and prometheus-alertmanager, from scripts/install-deps.sh);
without them the tests fail rather than skip."""
import os
import re
import shutil
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES = "deploy/prometheus/emporium-rules.yml"
RULE_TESTS = "deploy/prometheus/emporium-rules.test.yml"
PROMETHEUS = "deploy/prometheus/prometheus.yml"
ALERTMANAGER = "deploy/alertmanager/alertmanager.yml"


def tool(name, package):
    path = shutil.which(name) or (f"/usr/bin/{name}" if os.access(f"/usr/bin/{name}", os.X_OK) else None)
    if path is None:
        raise AssertionError(f"{name} is not installed: run scripts/install-deps.sh "
                             f"(or apt-get install --no-install-recommends {package})")
    return path


def run(*args):
    """Runs a checker from the repository root and returns (exit code, stdout + stderr)."""
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def alert_count(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return len(re.findall(r"^\s*- alert:\s*\S", f.read(), re.M))


class DeployTest(unittest.TestCase):
    def test_rules_load_and_every_alert_is_found(self):
        code, out = run(tool("promtool", "prometheus"), "check", "rules", RULES)
        self.assertEqual(code, 0, out)
        found = re.search(r"SUCCESS: (\d+) rules found", out)
        self.assertIsNotNone(found, out)
        expected = alert_count(RULES)
        self.assertGreater(expected, 0)
        self.assertEqual(int(found.group(1)), expected, out)

    def test_rules_pass_their_unit_tests(self):
        code, out = run(tool("promtool", "prometheus"), "test", "rules", RULE_TESTS)
        self.assertEqual(code, 0, out)
        self.assertIn("SUCCESS", out)

    def test_prometheus_config_is_valid_and_loads_the_rules(self):
        code, out = run(tool("promtool", "prometheus"), "check", "config", PROMETHEUS)
        self.assertEqual(code, 0, out)
        self.assertIn("SUCCESS: 1 rule files found", out)
        self.assertIn(f"SUCCESS: {alert_count(RULES)} rules found", out)

    def test_alertmanager_config_is_valid(self):
        code, out = run(tool("amtool", "prometheus-alertmanager"), "check-config", ALERTMANAGER)
        self.assertEqual(code, 0, out)
        self.assertIn("SUCCESS", out)

    def test_every_alert_has_a_severity_and_both_annotations(self):
        with open(os.path.join(ROOT, RULES), encoding="utf-8") as f:
            text = f.read()
        # Each rule runs from its "- alert:" line to the next one.
        rules = re.split(r"^\s*- alert:", text, flags=re.M)[1:]
        self.assertEqual(len(rules), alert_count(RULES))
        for rule in rules:
            name = rule.split()[0]
            with self.subTest(alert=name):
                self.assertRegex(rule, r"\n\s+severity: (page|ticket)\n")
                self.assertRegex(rule, r"\n\s+summary: ")
                self.assertRegex(rule, r"\n\s+description: ")


if __name__ == "__main__":
    unittest.main()
