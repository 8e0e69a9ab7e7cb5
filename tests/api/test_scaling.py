"""Autoscaling, tested offline: the manifests in deploy/k8s pass the Kubernetes and KEDA schemas
(tests/k8s/validate.mjs: kubernetes-models' validators, a strict unknown-field check through the
same packages' TypeScript types, and the shop's own policy), each kind of breakage is shown to
fail, and a web node exposes, on its /metrics, the figures the autoscalers are told to read.
Needs node and tests/k8s/node_modules (scripts/install-deps.sh); without them the tests fail."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import yaml

from broker import Broker
from shop import ROOT, Shop
from test_notify import buyer, first_product, place, wait_until

K8S = os.path.join(ROOT, "deploy", "k8s")
VALIDATOR = os.path.join(ROOT, "tests", "k8s", "validate.mjs")


def validate(directory):
    if not os.path.isdir(os.path.join(ROOT, "tests", "k8s", "node_modules", "kubernetes-models")):
        raise AssertionError("tests/k8s/node_modules is missing: run scripts/install-deps.sh")
    done = subprocess.run(["node", VALIDATOR, directory], capture_output=True, text=True, timeout=180)
    return done.returncode, done.stdout + done.stderr


def manifests():
    out = []
    for name in sorted(os.listdir(K8S)) + [os.path.join("sale", n) for n in sorted(os.listdir(os.path.join(K8S, "sale")))]:
        if name.endswith(".yaml"):
            with open(os.path.join(K8S, name)) as f:
                out += [(name, d) for d in yaml.safe_load_all(f) if d]
    return out


# (file, text to replace, replacement, what the validator must say): one breakage of each kind.
BREAKAGES = [
    ("web.yaml", "  replicas: 2  #", "  replica: 2  #", "'\"replica\"' does not exist in type 'IDeploymentSpec'"),
    ("worker.yaml", "authenticationRef: {name: emporium-rabbitmq}\n    - type",
     "authenticatoinRef: {name: emporium-rabbitmq}\n    - type", "'\"authenticatoinRef\"' does not exist"),
    ("worker.yaml", "minReplicaCount: 0 ", "minReplicaCount: none ", "minReplicaCount must be integer"),
    ("web.yaml", "averageUtilization: 65", "averageUtilization: high", "averageUtilization must be integer"),
    ("web.yaml", "apiVersion: autoscaling/v2\n", "apiVersion: autoscaling/v3\n",
     "unknown apiVersion/kind autoscaling/v3/HorizontalPodAutoscaler"),
    ("web.yaml", "              valueFrom: {secretKeyRef: {name: emporium-secrets, key: pii-key}}",
     "              value: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
     "sets EMPORIUM_PII_KEY without a secretKeyRef"),
    ("worker.yaml", "httpGet: {path: /readyz, port: internal}", "httpGet: {path: /ready, port: internal}",
     "needs a readiness probe on /readyz"),
    ("worker.yaml", "scaleTargetRef: {name: emporium-worker}", "scaleTargetRef: {name: emporium-workers}",
     "scales emporium-workers, which is not defined"),
    ("quota.yaml", "spec:\n  hard:", "spec:\n  hard:\n    pods: [30]\n  hardd:", "strict:"),
]


class ManifestTest(unittest.TestCase):
    def test_the_manifests_pass_schema_strict_and_policy_checks(self):
        code, out = validate(K8S)
        self.assertEqual(code, 0, out)
        kinds = sorted(d["kind"] for _, d in manifests())
        self.assertIn(f"{len(kinds)} objects valid", out)
        for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ScaledObject",
                     "TriggerAuthentication", "ResourceQuota"):
            self.assertIn(kind, kinds)

    def test_the_validator_rejects_each_kind_of_broken_manifest(self):
        for file, old, new, message in BREAKAGES:
            with self.subTest(file=file, breakage=new.strip()[:40]), tempfile.TemporaryDirectory() as d:
                copy = os.path.join(d, "k8s")
                shutil.copytree(K8S, copy)
                with open(os.path.join(copy, file)) as f:
                    text = f.read()
                self.assertIn(old, text, "the breakage must apply to the current manifest")
                with open(os.path.join(copy, file), "w") as f:
                    f.write(text.replace(old, new, 1))
                code, out = validate(copy)
                self.assertEqual(code, 1, out)
                self.assertIn(message, out)
                self.assertIn("FAIL ", out)

    def test_autoscaling_reads_what_the_shop_exposes_and_secrets_come_from_secret_objects(self):
        objects = {(d["kind"], d["metadata"]["name"], name): d for name, d in manifests()}
        web_hpa = objects[("HorizontalPodAutoscaler", "emporium-web", "web.yaml")]["spec"]
        pod_metrics = [m["pods"]["metric"]["name"] for m in web_hpa["metrics"] if m["type"] == "Pods"]
        self.assertEqual(pod_metrics, ["emporium_http_requests_in_flight"])
        self.assertIn("cpu", [m["resource"]["name"] for m in web_hpa["metrics"] if m["type"] == "Resource"])
        adapter = objects[("ConfigMap", "prometheus-adapter-emporium", "prometheus-adapter.yaml")]["data"]["config.yaml"]
        self.assertIn("emporium_http_requests_in_flight{", adapter)
        scaled = objects[("ScaledObject", "emporium-worker", "worker.yaml")]["spec"]
        self.assertEqual(scaled["minReplicaCount"], 0)
        self.assertEqual(sorted(t["metadata"]["queueName"] for t in scaled["triggers"]),
                         ["emporium.notify", "emporium.webhooks"])
        sale = objects[("HorizontalPodAutoscaler", "emporium-web", os.path.join("sale", "web-hpa.yaml"))]["spec"]
        self.assertGreater(sale["minReplicas"], web_hpa["minReplicas"])
        self.assertLessEqual(sale["maxReplicas"], 14)
        with open(os.path.join(K8S, "web.yaml")) as f:
            self.assertIsNone(re.search(r"EMPORIUM_\w*(KEY|TOKEN|URL)\w*\n\s+value:", f.read()))

    def test_a_web_node_exposes_requests_in_flight_and_the_broker_queue_depths(self):
        broker = Broker()
        shop = Shop(products=20, extra_args=Shop.UNLIMITED + ("--events", "rabbitmq"),
                    env={"EMPORIUM_AMQP_URL": broker.url})
        try:
            product = first_product(shop)
            phones = [f"+1555127{i:04d}" for i in range(3)]
            for phone in phones:
                place(shop, buyer(shop, phone, product), phone)

            def metrics():
                r = shop.get("/metrics", internal=True)
                self.assertEqual(r.status, 200)
                return r.body.decode()

            # No worker runs: the three orders' events wait in emporium.notify, and /metrics says so.
            text = wait_until(metrics, lambda t: 'emporium_broker_queue_ready{queue="emporium.notify"} 3\n' in t)
            self.assertIn("emporium_broker_up 1\n", text)
            self.assertIn('emporium_broker_queue_consumers{queue="emporium.notify"} 0\n', text)
            self.assertRegex(text, r'emporium_broker_queue_ready\{queue="emporium.webhooks"\} [1-9]')
            self.assertRegex(text, r"\nemporium_http_requests_in_flight \d+\n")
            self.assertEqual(broker.queue_depths().get("emporium.notify"), (3, 0))  # the broker agrees
            self.assertNotIn("emporium_broker", shop.get("/metrics").body.decode())  # not on the public port
        finally:
            shop.close()
            broker.close()


if __name__ == "__main__":
    unittest.main()
