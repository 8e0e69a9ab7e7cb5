"""The whole shop as a cluster for tests, started by the same script as `make cluster`
(scripts/cluster.sh: PostgreSQL, Redis, RabbitMQ, three web nodes, a worker, nginx in front, all on
loopback) and stopped with it. Tests talk HTTP to nginx or to one node directly, and break services
through the same service scripts (scripts/services/*.sh). Nothing here is mocked."""
import concurrent.futures
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))

from shop import BIN, DEMO_PASSWORD, PII_KEY, Reply, free_port  # noqa: E402

SERVICES = os.path.join(ROOT, "scripts", "services")
# Tests make many requests from one address: limits are lifted unless a test sets its own.
UNLIMITED = {"EMPORIUM_RATE_LIMIT": "0", "EMPORIUM_SIGNIN_PER_MINUTE": "100000",
             "EMPORIUM_SIGNIN_PER_ACCOUNT_MINUTE": "100000"}
CARD = {"method": "card", "card_number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
ADDR = {"name": "Test Buyer", "line1": "1 Main Street", "city": "Singapore", "postal_code": "123456", "country": "SG"}
BODY = {"shipping_address": ADDR, "phone": "+6581234567", "payment": CARD}


def wait_until(read, predicate, timeout=30, interval=0.05):
    """Polls read() until predicate holds on its value; returns the value, or fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if predicate(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition never held in {timeout} s; last value: {value!r}"[:2000])
        time.sleep(interval)  # polling a condition, not synchronising


def psql(url, query):
    """Rows of a query on the PostgreSQL database at url, as lists of strings."""
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", url, "-c", query],
                         check=True, capture_output=True, text=True, timeout=30).stdout
    return [line.split("\t") for line in out.splitlines() if line]


class Node:
    def __init__(self, index, port, internal, pid, log):
        self.index, self.port, self.internal, self.pid, self.log = index, port, internal, pid, log

    def alive(self):
        """Until the whole process has ended: a killed process's first thread turns zombie before
        its other threads have ended, and they still hold its files (the data directory's lock,
        its sockets) until then."""
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                if f.read().split(") ", 1)[1][0] != "Z":
                    return True
            return len(os.listdir(f"/proc/{self.pid}/task")) > 1
        except OSError:
            return False

    def kill9(self):
        os.kill(self.pid, signal.SIGKILL)
        wait_until(self.alive, lambda up: not up, timeout=10)


class Cluster:
    def __init__(self, env=None, nodes=3, products=30, timeout=300, ha=False):
        """A running cluster with `nodes` web nodes; env adds EMPORIUM_* settings for every node and
        the worker (UNLIMITED unless env says otherwise). With ha, the database is three PostgreSQL
        members under Patroni (scripts/cluster.sh --ha), driven through patroni()."""
        self.tmp = tempfile.mkdtemp(prefix="emporium-cluster-test-")
        self.state_path = os.path.join(self.tmp, "state")
        self.log_path = os.path.join(self.tmp, "cluster.out")
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("EMPORIUM_") or k == "EMPORIUM_BIN"}
        child_env.update(UNLIMITED)
        child_env.update({"EMPORIUM_NOTIFY_BACKOFF": "1s", "EMPORIUM_NOTIFY_LEASE": "2s", "EMPORIUM_BIN": BIN,
                          "EMPORIUM_PII_KEY": PII_KEY})  # known here, so that a test can add a node
        child_env.update(env or {})
        self.env = child_env
        self.added = []  # nodes a test added: (Node, Popen)
        child_env["CLUSTER_STATE"] = self.state_path
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["bash", os.path.join(ROOT, "scripts", "cluster.sh"), "--nodes", str(nodes),
                                      "--products", str(products), "--orders", "20"] + (["--ha"] if ha else []),
                                     env=child_env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until(lambda: os.path.exists(self.state_path) or self.proc.poll() is not None, bool,
                       timeout=timeout, interval=0.2)
            if self.proc.poll() is not None:
                raise RuntimeError("scripts/cluster.sh exited at start:\n" + self.output()[-3000:])
        except BaseException:
            self.close()
            raise
        with open(self.state_path) as f:
            self.state = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        self.url = self.state["URL"]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.nodes = [Node(i, int(self.state[f"NODE{i}_PORT"]), int(self.state[f"NODE{i}_INTERNAL"]),
                           int(self.state[f"NODE{i}_PID"]), self.state[f"NODE{i}_LOG"])
                      for i in range(1, int(self.state["NODES"]) + 1)]
        self.domain = "gitgoods.example"
        self._tokens = {}

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def add_node(self):
        """A web node more, started as scripts/cluster.sh starts one (same database, Redis, broker and
        PII key), and nginx reloaded with it among its upstreams (docs/OPERATIONS.md, "Add a node")."""
        index = len(self.nodes) + 1
        port, internal = free_port(), free_port()
        data = os.path.join(self.tmp, f"node{index}")
        os.makedirs(data)
        env = dict(self.env, EMPORIUM_DATABASE_URL=self.state["DATABASE_URL"],
                   EMPORIUM_REDIS_URL=self.state["REDIS_URL"], EMPORIUM_AMQP_URL=self.state["AMQP_URL"])
        log = os.path.join(self.tmp, f"node{index}.log")
        with open(log, "ab") as out:
            proc = subprocess.Popen([BIN, "serve", "--data-dir", data, "--bind", "127.0.0.1", "--port", str(port),
                                     "--internal-port", str(internal), "--trusted-proxies", "127.0.0.1",
                                     "--events", "rabbitmq", "--analytics", "off"],
                                    env=env, stdout=out, stderr=out)
        node = Node(index, port, internal, proc.pid, log)
        self.added.append((node, proc))
        # Ready, and ours: another test's server that took one of these ports first would answer too.
        listening = f'"msg":"listening","port":{port},"internal_port":{internal},'
        wait_until(lambda: proc.poll() is not None or (self._ready(node) and listening in open(log).read()), bool,
                   timeout=60)
        assert proc.poll() is None, open(log).read()[-2000:]
        self.nodes.append(node)
        self.service("nginx.sh", "reload", self.state["NGINX_DIR"], *[str(n.port) for n in self.nodes if n.alive()])
        return node

    def _ready(self, node):
        try:
            return self.get("/readyz", port=node.internal, timeout=2).status == 200
        except OSError:
            return False

    def close(self):
        """Stops the cluster as Ctrl-C does, and checks that the script removed what it made."""
        for _, proc in self.added:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(180)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        leftovers = [d for k, d in getattr(self, "state", {}).items() if k.endswith("_DIR") or k == "WORK"]
        leftovers = [d for d in leftovers if os.path.exists(d)]
        subprocess.run(["rm", "-rf", self.tmp])
        if leftovers:
            raise AssertionError(f"scripts/cluster.sh left {leftovers} behind")

    # --- HTTP -----------------------------------------------------------------------------------
    def request(self, method, path, body=None, token=None, headers=None, port=None, source="127.0.0.1",
                timeout=30, raw=None):
        """One request through nginx, or to the node listening on `port`; `source` is the client's
        own loopback address (127.0.0.0/8: every one is this machine), so tests can be many clients.
        raw: bytes sent as they are (with the Content-Type the headers give) instead of JSON."""
        c = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=timeout, source_address=(source, 0))
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            return Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read(), r.getheaders())
        finally:
            c.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def patient(self, method, path, body=None, timeout=120, **kw):
        """A request sent again after Retry-After while the shop sheds it (503 with Retry-After),
        as the web page does; a sign-up or a checkout with its Idempotency-Key is safe to resend."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.request(method, path, body, **kw)
            if not (r.status == 503 and r.header("retry-after")) or time.monotonic() > deadline:
                return r
            time.sleep(min(float(r.header("retry-after")), 1.0))  # the server's own Retry-After

    def login(self, email, password=DEMO_PASSWORD):
        if email not in self._tokens:
            r = self.patient("POST", "/api/auth/login", {"email": email, "password": password})
            assert r.status == 200, (r.status, r.body[:300])
            self._tokens[email] = r.json["token"]
        return self._tokens[email]

    @property
    def admin_token(self):
        return self.login("admin@" + self.domain)

    @property
    def seller_token(self):
        return self.login("seller1@" + self.domain)

    def signup(self, phone=None):
        body = {"email": f"buyer.{random.randrange(10**12)}@example.org", "password": "correct horse battery",
                "name": "Cluster Buyer"}
        if phone:
            body["phone"] = phone
        r = self.patient("POST", "/api/auth/signup", body)
        assert r.status == 201, (r.status, r.body[:300])
        return r.json["token"]

    def buyers(self, n, phones=None):
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            return list(pool.map(lambda i: self.signup(phones[i] if phones else None), range(n)))

    def new_product(self, stock, price=2500):
        r = self.request("POST", "/api/products", {"sku": f"CL-{random.randrange(10**12)}", "name": "Cluster Item",
                                                   "category": "consoles", "price_cents": price, "stock": stock},
                         token=self.seller_token)
        assert r.status == 201, (r.status, r.body[:300])
        return r.json

    def add_to_cart(self, token, product_id, **kw):
        return self.patient("POST", "/api/cart/items", {"product_id": product_id, "quantity": 1}, token=token, **kw)

    def checkout(self, token, key, body=BODY, **kw):
        return self.request("POST", "/api/checkout", body, token=token, headers={"Idempotency-Key": key}, **kw)

    def sql(self, query):
        """Rows of a read-only query on the cluster's PostgreSQL database, as lists of strings."""
        return psql(self.state["DATABASE_URL"], query)

    def service(self, script, *args):
        """scripts/services/SCRIPT ARGS (kill, restart, ... on one of the cluster's services)."""
        done = subprocess.run([os.path.join(SERVICES, script), *args], capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, f"{script} {args}: {done.stderr[-1500:]}"
        return done.stdout

    def patroni(self, command, *args):
        """scripts/services/patroni.sh COMMAND on this cluster's database (ha only): leader, kill N,
        restart N, wait, status; returns its output."""
        return self.service("patroni.sh", command, self.state["PATRONI_DIR"], *map(str, args))

    def member_sql(self, member, query):
        """Rows of a read-only query on one Patroni member (1-based) directly, primary or standby."""
        with open(os.path.join(self.state["PATRONI_DIR"], f"m{member}", "pg_port")) as f:
            port = f.read().strip()
        return psql(f"postgresql://postgres@127.0.0.1:{port}/emporium", query)

    def access_log(self):
        with open(os.path.join(self.state["NGINX_DIR"], "access.log")) as f:
            return f.read()


class Load:
    """Background traffic: each worker thread calls `step(i)` in a loop until stopped, and every
    outcome it returns is kept (a tuple whose second item is the status). An exception is kept too,
    as ("error", its text, False): a refused or reset connection is an outcome to judge."""

    def __init__(self, threads, step):
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.outcomes = []
        self.threads = [threading.Thread(target=self._run, args=(i, step), daemon=True) for i in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self, i, step):
        while not self.stop_flag.is_set():
            try:
                outcome = step(i)
            except Exception as e:  # noqa: BLE001 (judged by the test)
                outcome = ("error", repr(e), False)
            with self.lock:
                self.outcomes.append(outcome)

    def count(self, predicate=lambda o: True):
        with self.lock:
            return sum(1 for o in self.outcomes if predicate(o))

    def outcomes_copy(self):
        with self.lock:
            return list(self.outcomes)

    def stop(self, timeout=60):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self.threads), "a load thread did not finish"
        with self.lock:
            return list(self.outcomes)
