"""Starts the real program on free loopback ports with a temporary data directory, and talks
HTTP to it. Shared by every API test; nothing here is mocked.

With EMPORIUM_TEST_DATABASE_URL set to a PostgreSQL server's URL (scripts/services/postgres.sh
start prints one), every shop gets a fresh database of its own on that server (`--database`,
through EMPORIUM_DATABASE_URL so that every command the test runs uses it) instead of SQLite in
its data directory: the same tests on the other backend.

With EMPORIUM_SEED_CACHE set to a directory (make test sets one per run), a shop seeded with the
same preset, sizes and settings as one before it starts from a copy of that seeded shop (its data
directory and, on PostgreSQL, a database made with CREATE DATABASE ... TEMPLATE) instead of running
`emporium seed` again: on PostgreSQL a seed is about 15,000 statements, 2-3 s of the server's CPU
and 10-25 s of round trips on a busy machine, against 0.3 s for the copy. The copies are of one
run's own seeds, so every shop still starts from what this commit's `emporium seed` makes."""
import atexit
import fcntl
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("EMPORIUM_BIN", os.path.join(ROOT, "build", "emporium")))
# How ThreadSanitizer, AddressSanitizer and UndefinedBehaviorSanitizer start a report.
SANITIZER_MARKS = ("WARNING: ThreadSanitizer:", "ERROR: AddressSanitizer:", "runtime error:")
DEMO_PASSWORD = "demo password 123"  # what `emporium seed` gives every demo account
PII_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # tests only


def postgres_server():
    """The PostgreSQL server's URL: EMPORIUM_TEST_DATABASE_URL, or else one started for this process
    by scripts/services/postgres.sh (stopped at exit). For tests that need PostgreSQL whatever the
    run's backend (several nodes on one database)."""
    global _started_postgres
    url = os.environ.get("EMPORIUM_TEST_DATABASE_URL")
    if url:
        return url
    if _started_postgres is None:
        out = subprocess.run([os.path.join(ROOT, "scripts", "services", "postgres.sh"), "start"], check=True,
                             capture_output=True, text=True, timeout=120).stdout.splitlines()
        _started_postgres = out[0]
        atexit.register(subprocess.run, [os.path.join(ROOT, "scripts", "services", "postgres.sh"), "stop", out[1]],
                        capture_output=True, timeout=60)
    return _started_postgres


_started_postgres = None


def fresh_database(server_url, name=None, template=None):
    """A new database on the PostgreSQL server at server_url, empty or a copy of the database named
    template (which nobody may be connected to); returns its URL."""
    name = name or "emporium_api_%d_%06d" % (os.getpid(), random.randrange(10**6))
    if template:
        psql(server_url.rsplit("/", 1)[0] + "/postgres", f"CREATE DATABASE {name} TEMPLATE {template}")
        return server_url.rsplit("/", 1)[0] + "/" + name
    out = subprocess.run([os.path.join(ROOT, "scripts", "services", "postgres.sh"), "createdb", server_url, name],
                         check=True, capture_output=True, text=True, timeout=60)
    return out.stdout.strip()


def drop_database(url):
    server, name = url.rsplit("/", 1)
    subprocess.run(["psql", "-X", "-q", server + "/postgres", "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                   capture_output=True, timeout=60)


def psql(database, sql):
    """A query's rows on the PostgreSQL database at URL database: one a line, columns split by '|'."""
    return subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", database, "-c", sql], check=True,
                          capture_output=True, text=True, timeout=60).stdout


def free_port():
    """A free port below the ephemeral range, where load tools' client sockets never land."""
    while True:
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


class Reply:
    def __init__(self, status, headers, body, raw_headers=()):
        self.status = status
        self.headers = headers
        self.body = body
        self.raw_headers = list(raw_headers)  # in order, repeats kept (Set-Cookie)

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    def header(self, name):
        return self.headers.get(name.lower())


class Shop:
    # Tests make many requests from one address: limits are lifted unless a test sets its own.
    UNLIMITED = ("--rate-limit", "0", "--signin-per-minute", "100000", "--signin-per-account-minute", "100000")

    def __init__(self, preset="games", products=300, extra_args=UNLIMITED, env=None, customers=5,
                 pii_key=None, command="serve", seed=True, database=None, binary=None):
        """database: a PostgreSQL database URL this shop shares with others (several nodes); by
        default a fresh one on EMPORIUM_TEST_DATABASE_URL's server when that is set (dropped at
        close), else SQLite in the data directory. binary: the program to run (a copy that a test
        replaces, say), BIN by default."""
        self.bin = binary or BIN
        self.dir = tempfile.mkdtemp(prefix="emporium-api-")
        self.created = time.time()
        self.data = os.path.join(self.dir, "data")
        self.env = dict(os.environ, **(env or {}))
        for name in ("EMPORIUM_DATA_DIR", "EMPORIUM_PII_KEY", "EMPORIUM_PII_PREVIOUS_KEYS", "EMPORIUM_DATABASE_URL"):
            self.env.pop(name, None)
        if pii_key:
            self.env["EMPORIUM_PII_KEY"] = pii_key
        self.command = command
        seed_args = ("seed", "--preset", preset, "--products", str(products), "--customers", str(customers))
        template = self.seeded_template(seed_args) if seed and database is None else None
        self.own_database = None
        if database is None and os.environ.get("EMPORIUM_TEST_DATABASE_URL") and command == "serve":
            database = self.own_database = fresh_database(os.environ["EMPORIUM_TEST_DATABASE_URL"],
                                                          template=template and template[1])
        self.database = database
        if database:
            self.env["EMPORIUM_DATABASE_URL"] = database
        self.domain = "gomart.example" if preset == "grocery" else "gitgoods.example"
        if template:
            shutil.copytree(template[0], self.data)
        elif seed:
            self.cli(*seed_args)
        self.port, self.internal_port = free_port(), free_port()
        self.log_path = os.path.join(self.dir, "server.log")
        self.extra_args = list(extra_args)
        self.proc = None
        # free_port only finds a port free now: another test's server or client socket may take it
        # before this server binds it. That server exits at once, saying so; it gets new ports.
        for attempt in range(1, 4):
            try:
                self.start()
                break
            except RuntimeError as e:
                if "Address already in use" not in str(e) or attempt == 3:
                    raise
                self.log.close()
                self.port, self.internal_port = free_port(), free_port()

    def seeded_template(self, seed_args):
        """(data directory, PostgreSQL template database or None) of a shop seeded with seed_args and
        this shop's settings, made now if this run has none yet; None without EMPORIUM_SEED_CACHE.
        Test processes running at once share the templates: a lock file guards each one."""
        cache = os.environ.get("EMPORIUM_SEED_CACHE")
        if not cache:
            return None
        server = os.environ.get("EMPORIUM_TEST_DATABASE_URL") if self.command == "serve" else None
        settings = sorted((k, v) for k, v in self.env.items() if k.startswith("EMPORIUM_"))
        key = hashlib.sha256(repr((server, seed_args, settings)).encode()).hexdigest()[:16]
        os.makedirs(cache, exist_ok=True)
        where = os.path.join(cache, key)
        template_db = "emporium_seed_" + key if server else None
        with open(where + ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not os.path.exists(os.path.join(where, "seeded")):
                shutil.rmtree(where, ignore_errors=True)
                env = dict(self.env)
                if server:
                    psql(server.rsplit("/", 1)[0] + "/postgres", f"DROP DATABASE IF EXISTS {template_db}")
                    env["EMPORIUM_DATABASE_URL"] = fresh_database(server, name=template_db)
                r = subprocess.run([self.bin, *seed_args, "--data-dir", os.path.join(where, "data")], env=env,
                                   capture_output=True, timeout=120)
                if r.returncode != 0:
                    raise RuntimeError(f"emporium {' '.join(seed_args)} failed: {r.stderr.decode()[-400:]}")
                open(os.path.join(where, "seeded"), "w").close()
        return os.path.join(where, "data"), template_db

    def cli(self, *args):
        r = subprocess.run([self.bin, *args, "--data-dir", self.data], env=self.env, capture_output=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError(f"emporium {' '.join(args)} failed: {r.stderr.decode()[-400:]}")
        return r

    def start(self, probe="/readyz"):
        """Starts the server and waits until `probe` on its internal listener answers 200 (/healthz
        for a server that is up but must not be ready, such as a fenced old primary)."""
        self.log = open(self.log_path, "ab")
        log_start = self.log.tell()
        # Ours only once our own log says we listen on these ports: another test's server that took one
        # of them first answers the probe too (this one then exits, saying the address is in use).
        listening = f'"msg":"listening","port":{self.port},"internal_port":{self.internal_port},'.encode()
        self.proc = subprocess.Popen(
            [self.bin, self.command, "--data-dir", self.data, "--port", str(self.port), "--internal-port",
             str(self.internal_port), *self.extra_args],
            env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.time() + 60  # sanitizer builds on a busy machine start slowly
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.server_log()[-1000:])
            try:
                if self.request("GET", probe, internal=True).status == 200 and listening in self.log_since(log_start):
                    return
            except OSError:
                pass
            time.sleep(0.05)  # polling for readiness, not synchronising a test
        self.proc.kill()  # never leave a server behind a failed start
        self.proc.wait()
        raise RuntimeError("server did not become ready: " + self.server_log()[-1000:])

    def stop(self, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None
        return self.proc.returncode

    def close(self):
        self.stop()
        report = self.sanitizer_report()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.own_database:
            drop_database(self.own_database)
        if report:
            raise AssertionError("the server's sanitizer reported:\n" + report)

    def sanitizer_report(self):
        """What a sanitizer build (make test-asan, make test-tsan) said in the server's log, or ''."""
        text = self.server_log() if os.path.exists(self.log_path) else ""
        at = min((text.find(m) for m in SANITIZER_MARKS if m in text), default=-1)
        return text[at:at + 6000] if at >= 0 else ""

    def wait_for_log(self, needle, timeout=10):
        """The log after it says needle: lines are written by a background thread."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.server_log()
            if needle in text:
                return text
            time.sleep(0.02)  # polling the log file for an event
        raise AssertionError(f"the log never said {needle}")

    def query_int(self, sql):
        """The first column of the first row of a read-only query on the shop's database, whichever it
        is (for tests that watch what the shop has written: a payment being authorized, say)."""
        if self.database:
            return int(psql(self.database, sql).strip())
        import sqlite3
        with sqlite3.connect(f"file:{self.data}/emporium.db?mode=ro", uri=True) as db:
            return db.execute(sql).fetchone()[0]

    @property
    def wal_name(self):
        """The key of the write-ahead log among database_files()."""
        return "pg_wal" if self.database else "emporium.db-wal"

    def database_files(self):
        """The bytes the shop's database keeps on disk, for scans of what it stores, by name. On SQLite
        the files of the data directory named emporium.db* (the database and its write-ahead log). On
        PostgreSQL, after a CHECKPOINT (so that every write is in the table files too): 'database', this
        database's own files (tables, indexes, TOAST) joined, and 'pg_wal', the server's write-ahead
        log segments written since this shop was created (the server's other databases write there
        too; none holds this shop's data). Reads the server's data directory: for a server on this
        machine that this user may read, as scripts/services/postgres.sh starts."""
        if not self.database:
            return {name: open(os.path.join(self.data, name), "rb").read()
                    for name in os.listdir(self.data) if name.startswith("emporium.db")}
        psql(self.database, "CHECKPOINT")
        data_directory = psql(self.database, "SHOW data_directory").strip()
        oid = psql(self.database, "SELECT oid FROM pg_database WHERE datname = current_database()").strip()

        def joined(directory, keep=lambda path: True):
            paths = sorted(os.path.join(directory, n) for n in os.listdir(directory))
            return b"".join(open(p, "rb").read() for p in paths if os.path.isfile(p) and keep(p))
        return {"database": joined(os.path.join(data_directory, "base", oid)),
                "pg_wal": joined(os.path.join(data_directory, "pg_wal"),
                                 lambda p: os.path.getmtime(p) >= self.created - 1)}

    def log_since(self, offset):
        with open(self.log_path, "rb") as f:
            f.seek(offset)
            return f.read()

    def server_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def connect(self, internal=False, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.internal_port if internal else self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, internal=False, raw=None, token=None, conn=None):
        c = conn or self.connect(internal)
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if token:
            h["Authorization"] = "Bearer " + token
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        payload = r.read()
        reply = Reply(r.status, {k.lower(): v for k, v in r.getheaders()}, payload, r.getheaders())
        if conn is None:
            c.close()
        return reply

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def hashed(self, path, body, timeout=120):
        """POSTs a sign-in or sign-up, and sends it again after Retry-After while the shop sheds it
        (503 overloaded: its hashing threads are behind, as on a loaded machine), as the web page
        does. The answer that is not such a 503, or the last one at the deadline."""
        deadline = time.time() + timeout
        while True:
            # Its own connection, patient: a hash queued behind others on a loaded machine can
            # take longer than the usual 10 s before the shop answers (or sheds it).
            c = self.connect(timeout=60)
            try:
                r = self.request("POST", path, body, conn=c)
            finally:
                c.close()
            shed = r.status == 503 and r.header("retry-after") is not None and b'"overloaded"' in r.body
            if not shed or time.time() > deadline:
                return r
            time.sleep(float(r.header("retry-after")))  # the server's own Retry-After, not a guess

    def login(self, email, password=DEMO_PASSWORD):
        r = self.hashed("/api/auth/login", {"email": email, "password": password})
        if r.status != 200:
            raise RuntimeError(f"login {email}: {r.status} {r.body[:200]}")
        return r.json["token"]

    def signup(self, email, password="correct horse battery", name="Test Person", phone=None):
        body = {"email": email, "password": password, "name": name}
        if phone:
            body["phone"] = phone
        r = self.hashed("/api/auth/signup", body)
        if r.status != 201:
            raise RuntimeError(f"signup {email}: {r.status} {r.body[:200]}")
        return r.json["token"], r.json["user"]

    @property
    def admin_token(self):
        if not getattr(self, "_admin_token", None):
            self._admin_token = self.login("admin@" + self.domain)
        return self._admin_token

    def admin(self, method, path, body=None, **kw):
        return self.request(method, path, body=body, token=self.admin_token, **kw)
