"""The systemd units and nginx config in deploy/: the systemd units pass `systemd-analyze verify`, the nginx
config passes `nginx -t`, and the program really starts from sockets systemd hands it
(systemd-socket-activate passes them as systemd does: LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES)."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from shop import BIN, PII_KEY, ROOT, Shop, free_port

DEPLOY = os.path.join(ROOT, "deploy")
UNITS = ["emporium.service", "emporium-public.socket", "emporium-internal.socket"]


def verify_units(directory):
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *[os.path.join(directory, u) for u in UNITS]],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stderr.strip()


class SystemdTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="emporium-deploy-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def units_copy(self, change=None):
        """The units with ExecStart naming the program under test (verify checks that it exists)."""
        for unit in UNITS:
            with open(os.path.join(DEPLOY, "systemd", unit)) as f:
                text = f.read().replace("/usr/local/bin/emporium", BIN)
            if change:
                text = change(unit, text)
            with open(os.path.join(self.dir, unit), "w") as f:
                f.write(text)
        return self.dir

    def test_systemd_units_verify_and_a_broken_one_does_not(self):
        self.assertEqual(verify_units(self.units_copy()), (0, ""))
        broken = self.units_copy(lambda unit, text: text.replace("Type=notify", "Type=notifyy"))
        code, errors = verify_units(broken)
        self.assertIn("notifyy", errors)

    def test_the_units_name_the_sockets_the_program_takes(self):
        with open(os.path.join(DEPLOY, "systemd", "emporium.service")) as f:
            service = f.read()
        self.assertIn("ExecReload=/bin/kill -HUP $MAINPID", service)
        self.assertIn("NotifyAccess=all", service)  # the successor says MAINPID= itself
        for unit, name in [("emporium-public.socket", "public"), ("emporium-internal.socket", "internal")]:
            with open(os.path.join(DEPLOY, "systemd", unit)) as f:
                self.assertIn(f"FileDescriptorName={name}\n", f.read())
        with open(os.path.join(DEPLOY, "systemd", "emporium-internal.socket")) as f:
            self.assertRegex(f.read(), r"ListenStream=127\.0\.0\.1:")  # never reachable from outside

    def test_nginx_config_passes_nginx_t(self):
        with open(os.path.join(DEPLOY, "nginx", "emporium.conf.template")) as f:
            template = f.read()
        values = {"NGINX_DIR": self.dir, "NGINX_LISTEN": f"127.0.0.1:{free_port()}", "NGINX_WORKERS": "1",
                  "NGINX_UPSTREAMS": f"        server 127.0.0.1:{free_port()} max_fails=1 fail_timeout=5s;\n"}
        config = re.sub(r"\$\{(NGINX_\w+)\}", lambda m: values[m.group(1)], template)
        path = os.path.join(self.dir, "nginx.conf")
        with open(path, "w") as f:
            f.write(config)
        r = subprocess.run(["nginx", "-t", "-p", self.dir, "-c", path, "-e", os.path.join(self.dir, "error.log")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        # The upstream keep-alive ends before a node's drain (20 s) and idle timeout (75 s).
        seconds = int(re.search(r"upstream emporium \{[^}]*keepalive_timeout (\d+)s;", config).group(1))
        self.assertLess(seconds, 20)

    def test_the_program_serves_the_sockets_systemd_hands_it(self):
        shop = Shop(products=10)  # a seeded data directory, and its PII key in the environment
        shop.stop()
        public, internal = free_port(), free_port()
        env = dict(shop.env, EMPORIUM_PII_KEY=shop.env.get("EMPORIUM_PII_KEY", PII_KEY))
        log = open(os.path.join(self.dir, "serve.log"), "wb")
        # The --port and --internal-port given lose to the sockets handed over under those names.
        proc = subprocess.Popen(
            ["systemd-socket-activate", "-l", f"127.0.0.1:{public}", "-l", f"127.0.0.1:{internal}",
             "--fdname=public:internal", "-E", "EMPORIUM_PII_KEY",
             BIN, "serve", "--data-dir", shop.data, "--port", "1", "--internal-port", "2", *Shop.UNLIMITED],
            env=env, stdout=log, stderr=log)
        try:
            shop.port, shop.internal_port = public, internal
            # Once the activator listens, the first connection starts the program; the connection
            # waits in the socket's backlog meanwhile.
            deadline = time.monotonic() + 30
            while True:
                try:
                    health = shop.request("GET", "/healthz", internal=True, conn=shop.connect(internal=True, timeout=60))
                    break
                except ConnectionRefusedError:
                    self.assertLess(time.monotonic(), deadline, "the activator never listened")
                    time.sleep(0.05)  # polling for the activator's sockets, not synchronising
            self.assertEqual(health.status, 200)
            self.assertEqual(health.json["pid"], proc.pid)  # the activator execs the program in place
            self.assertEqual(shop.get("/api/products?per_page=1").status, 200)
            # The public socket got the public routes (no metrics there), the internal one the rest.
            self.assertNotIn(b"# HELP", shop.get("/metrics").body)
            self.assertIn(b"# HELP", shop.get("/metrics", internal=True).body)
            # Log lines are written by a background thread: wait for this one, with a deadline.
            deadline = time.monotonic() + 30
            while True:
                with open(log.name, "rb") as f:
                    listening = re.search(rb'"msg":"listening","port":(\d+),"internal_port":(\d+)', f.read())
                if listening or time.monotonic() > deadline:
                    break
                time.sleep(0.02)  # polling the log file for a line
            self.assertIsNotNone(listening, "the program never logged its listeners")
            self.assertEqual((int(listening.group(1)), int(listening.group(2))), (public, internal))
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(30), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
            shop.close()


if __name__ == "__main__":
    unittest.main()
