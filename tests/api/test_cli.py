"""The command line: a flag always beats the environment, for every command that takes a data
directory and for serve's options; `user create` takes its password from a file, the
environment or a prompt, and warns when it is given on the command line."""
import glob
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from shop import BIN, Shop, drop_database, free_port, fresh_database, postgres_server, psql

PASSWORD = "a secret of 20 chars"


def run(args, env, **kw):
    return subprocess.run([BIN, *args], env=env, capture_output=True, timeout=120, **kw)


def wait_for(predicate, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)  # polling a file or a port for an event
    raise AssertionError(f"never: {what}")


class PrecedenceTest(unittest.TestCase):
    """Every variable says /wrong, every flag says the right thing: the flags must win."""

    @classmethod
    def setUpClass(cls):
        cls.shop = Shop(products=20)
        cls.shop.stop()
        cls.right = cls.shop.data
        cls.wrong = tempfile.mkdtemp(prefix="emporium-wrong-")
        cls.env = dict(cls.shop.env, EMPORIUM_DATA_DIR=cls.wrong, EMPORIUM_PORT=str(free_port()),
                       EMPORIUM_INTERNAL_PORT=str(free_port()), EMPORIUM_LOG_LEVEL="error",
                       EMPORIUM_USER_PASSWORD=PASSWORD)

    @classmethod
    def tearDownClass(cls):
        cls.shop.close()
        shutil.rmtree(cls.wrong, ignore_errors=True)

    def tearDown(self):
        self.assertEqual(os.listdir(self.wrong), [], "a command used the environment's data directory")

    def ok(self, *args):
        r = run(args, self.env)
        self.assertEqual(r.returncode, 0, f"emporium {' '.join(args)}: {r.stderr.decode()[-600:]}")
        return r

    def test_offline_commands_use_the_flags_data_dir(self):
        self.ok("migrate", "--data-dir", self.right)
        self.ok("user", "create", "--email", "flag.wins@example.org", "--data-dir", self.right)
        self.assertIn(b"0 left on old keys", self.ok("keys", "rotate", "--data-dir", self.right).stdout)
        def manifests():
            return sorted(glob.glob(os.path.join(self.right, "backups", "*.json")))
        before = manifests()  # serve took one at start
        self.ok("backup", "--data-dir", self.right)
        self.assertEqual(len(manifests()), len(before) + 1)
        self.ok("backup", "verify", "--data-dir", self.right)
        self.ok("restore", "--from", manifests()[-1], "--data-dir", self.right)
        fresh = os.path.join(self.shop.dir, "fresh")
        if not self.shop.database:  # SQLite: the database lives in the flag's data directory
            self.ok("seed", "--products", "5", "--customers", "1", "--orders", "0", "--data-dir", fresh)
            self.assertTrue(os.path.exists(os.path.join(fresh, "emporium.db")))
            return
        # PostgreSQL: the environment names the shop's database, the flag a fresh one; the flag wins.
        database = fresh_database(postgres_server())
        try:
            self.ok("seed", "--products", "5", "--customers", "1", "--orders", "0", "--data-dir", fresh,
                    "--database", database)
            self.assertEqual(int(psql(database, "SELECT COUNT(*) FROM products")), 5)
            self.assertEqual(self.shop.query_int("SELECT COUNT(*) FROM products"), 20)
        finally:
            drop_database(database)

    def serve(self, command, data_dir, *extra):
        """Starts serve or standby with the right flags; returns (process, port, internal port, log path)."""
        port, internal = free_port(), free_port()
        log = os.path.join(self.shop.dir, f"{command}.log")
        with open(log, "wb") as out:
            proc = subprocess.Popen([BIN, command, "--data-dir", data_dir, "--port", str(port), "--internal-port",
                                     str(internal), "--log-level", "info", *extra], env=self.env, stdout=out,
                                    stderr=out)
        return proc, port, internal, log

    def stop(self, proc):
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def listening_line(self, log):
        for line in open(log, encoding="utf-8", errors="replace"):
            if '"msg":"listening"' in line:
                return json.loads(line)
        return None

    def test_serve_and_standby_take_their_flags(self):
        for command, data_dir, extra in (("serve", self.right, ()),
                                         ("standby", os.path.join(self.shop.dir, "standby-data"),
                                          ("--primary", "http://127.0.0.1:9", "--sync-interval", "1h"))):
            proc, port, internal, log = self.serve(command, data_dir, *extra)
            try:
                wait_for(lambda: self.listening_line(log) or proc.poll() is not None, f"{command} listening")
                event = self.listening_line(log)  # logged at info: --log-level beat EMPORIUM_LOG_LEVEL=error
                self.assertIsNotNone(event, open(log).read()[-600:])
                self.assertEqual((event["port"], event["internal_port"], event["data_dir"]),
                                 (port, internal, data_dir))
                self.shop.port, self.shop.internal_port = port, internal
                self.assertEqual(self.shop.get("/readyz", internal=True).status, 200)
                self.assertEqual(self.shop.get("/api/store").status, 200)
                self.assertTrue(os.path.exists(os.path.join(data_dir, "serve.lock")))
            finally:
                self.stop(proc)

    def test_worker_takes_its_flags(self):
        internal = free_port()
        env = dict(self.env, EMPORIUM_WORKER_INTERNAL_PORT=str(free_port()),
                   EMPORIUM_AMQP_URL=f"amqp://guest:guest@127.0.0.1:{free_port()}")
        log = os.path.join(self.shop.dir, "worker.log")
        with open(log, "wb") as out:
            proc = subprocess.Popen([BIN, "worker", "--data-dir", self.right, "--internal-port", str(internal),
                                     "--log-level", "info"], env=env, stdout=out, stderr=out)
        try:
            wait_for(lambda: '"msg":"worker running"' in open(log, errors="replace").read() or proc.poll() is not None,
                     "worker running")
            line = next(json.loads(l) for l in open(log, errors="replace") if '"msg":"worker running"' in l)
            self.assertEqual((line["data_dir"], line["internal_port"]), (self.right, internal))
        finally:
            self.stop(proc)


class UserPasswordTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.shop = Shop(products=10)
        cls.env = dict(cls.shop.env)
        cls.env.pop("EMPORIUM_USER_PASSWORD", None)

    @classmethod
    def tearDownClass(cls):
        cls.shop.close()

    def create(self, email, *args, env=None, **kw):
        return run(["user", "create", "--email", email, "--role", "seller", *args, "--data-dir", self.shop.data],
                   env or self.env, **kw)

    def signs_in(self, email, password=PASSWORD):
        r = self.shop.request("POST", "/api/auth/login", {"email": email, "password": password})
        return r.status == 200

    def test_from_a_file(self):
        path = os.path.join(self.shop.dir, "password.txt")
        with open(path, "w") as f:
            f.write(PASSWORD + "\n")
        r = self.create("file@example.org", "--password-file", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(b"warning", r.stderr)
        self.assertTrue(self.signs_in("file@example.org"))
        missing = self.create("missing@example.org", "--password-file", path + ".nope")
        self.assertEqual(missing.returncode, 2)
        self.assertIn(b"cannot be read", missing.stderr)

    def test_from_the_environment(self):
        r = self.create("env@example.org", env=dict(self.env, EMPORIUM_USER_PASSWORD=PASSWORD))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(b"warning", r.stderr)
        self.assertTrue(self.signs_in("env@example.org"))

    def test_from_the_flag_with_a_warning(self):
        r = self.create("flag@example.org", "--password", PASSWORD)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"warning: --password shows the password in the process list", r.stderr)
        self.assertTrue(self.signs_in("flag@example.org"))
        both = self.create("both@example.org", "--password", PASSWORD, "--password-file", "/dev/null")
        self.assertNotEqual(both.returncode, 0)
        self.assertFalse(self.signs_in("both@example.org"))

    def test_from_standard_input(self):
        r = self.create("stdin@example.org", input=(PASSWORD + "\n").encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(self.signs_in("stdin@example.org"))

    def prompt(self, email, answers):
        """Runs user create on a terminal, typing each answer after each prompt; returns (exit code, screen)."""
        master, slave = pty.openpty()
        proc = subprocess.Popen([BIN, "user", "create", "--email", email, "--role", "seller", "--data-dir",
                                 self.shop.data], env=self.env, stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        screen = b""
        try:
            for answer in answers:
                deadline = time.time() + 30
                prompts = screen.count(b"Password")
                while screen.count(b"Password") == prompts:
                    self.assertLess(time.time(), deadline, screen)
                    if select.select([master], [], [], 0.5)[0]:
                        screen += os.read(master, 1024)
                os.write(master, answer.encode() + b"\n")
            proc.wait(60)
            while select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 1024)
                except OSError:  # the terminal closed with the program
                    break
                if not chunk:
                    break
                screen += chunk
        finally:
            os.close(master)
            if proc.poll() is None:
                proc.kill()
        return proc.returncode, screen

    def test_from_a_prompt_without_echo(self):
        code, screen = self.prompt("prompt@example.org", [PASSWORD, PASSWORD])
        self.assertEqual(code, 0, screen)
        self.assertIn(b"Password: ", screen)
        self.assertIn(b"Password again: ", screen)
        self.assertNotIn(PASSWORD.encode(), screen)  # typed, never shown
        self.assertTrue(self.signs_in("prompt@example.org"))
        code, screen = self.prompt("typo@example.org", [PASSWORD, PASSWORD + "x"])
        self.assertEqual(code, 2, screen)
        self.assertIn(b"the passwords differ", screen)
        self.assertFalse(self.signs_in("typo@example.org"))


if __name__ == "__main__":
    unittest.main()
