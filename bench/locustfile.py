"""1,000 shoppers for `make bench` (BENCH_ONLY=shoppers): Locust users, each one a shopper who
signs up (30%) or signs in to an account made before the run (70%), then repeats a visit:

  the landing page's categories, two catalog list pages (the whole catalog or a category, sorted
  by popularity, price or date), a search, one to three product pages opened from what those
  showed, add one of them to the cart, the cart, validate the order, check out

with 1 to 3 s of think time between steps. Routes and bodies are API.md's. Every answer that is
not 2xx, or a 2xx whose body is not what the contract promises, is a failure of the run.

The fixture (SHOPPERS_FIXTURE, written by bench/shoppers_setup.py) names the pages a visit can
reach (all restocked before the run) and the returning shoppers' accounts. With several Locust
worker processes (SHOPPERS_WORKERS of them) each takes every SHOPPERS_WORKERS-th account from its
worker index, so that no two shoppers share an account and its cart. SHOPPERS_CPU_DIR, when set,
gets each Locust process's own CPU time and garbage-collection pauses when it quits (the load tool
shares the cores)."""
import gc
import itertools
import json
import os
import random
import resource
import time
import uuid

import gevent
import locust.runners
from locust import FastHttpUser, SequentialTaskSet, between, events, task
from locust.exception import StopUser

# Debian's python3-locust 2.12.1-1 ships an empty version string (locust/_version.py), and a master
# refuses a worker announcing "" as "an old (pre 2.0) worker": master and workers all load this
# file, so they agree on this one instead.
if not locust.runners.__version__:
    locust.runners.__version__ = "2.12.1"

with open(os.environ["SHOPPERS_FIXTURE"]) as _f:
    FIXTURE = json.load(_f)
NEW_SHARE = 3  # of every 10 shoppers sign up
SIGNIN_TRIES = 4
CARD = {"method": "card", "card_number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}
ADDRESS = {"name": "Locust Shopper", "line1": "1 Load Street", "city": "Singapore", "postal_code": "123456",
           "country": "SG"}
PHONE = "+6581234567"
_started = time.monotonic()
_arrivals = itertools.count()  # shoppers started in this process


def _returning_accounts(environment):
    workers = int(os.environ.get("SHOPPERS_WORKERS", "1"))
    index = getattr(environment.runner, "worker_index", 0)
    return iter(FIXTURE["returning"][index::workers])


class Visit(SequentialTaskSet):
    """One visit, step by step; the user's wait_time runs between steps. seen: the products the
    list and search pages showed in this visit; opened: the product pages it opened."""

    def call(self, method, path, name, body=None, headers=None, check=None):
        """The answer's JSON, or None after recording a failure: any status but 2xx, or a body that
        check (JSON -> problem or None) finds wrong."""
        with self.client.request(method, path, name=name, json=body, headers=headers, catch_response=True) as r:
            if not 200 <= r.status_code < 300:
                r.failure(f"{r.status_code} {(r.text or '')[:200]}")
                return None
            js = r.json()
            problem = check(js) if check else None
            if problem:
                r.failure(problem)
                return None
            return js

    def get(self, path, name):
        return self.call("GET", path, name)

    def browse(self):
        f = FIXTURE
        sort = random.choice(f["sorts"])
        if random.random() < 0.5:
            page = random.randint(1, f["catalog_pages"])
            path = f"/api/products?per_page={f['per_page']}&page={page}&sort={sort}"
        else:
            page = random.randint(1, f["category_pages"])
            category = random.choice(f["categories"])
            path = f"/api/products?per_page={f['per_page']}&page={page}&sort={sort}&category={category}"
        js = self.get(path, "GET /api/products (list)")
        if js:
            self.seen += js["items"]

    @task
    def landing(self):
        self.seen, self.opened = [], []
        self.get("/api/categories", "GET /api/categories")

    @task
    def list_page(self):
        self.browse()

    @task
    def another_list_page(self):
        self.browse()

    @task
    def search(self):
        q = random.choice(FIXTURE["searches"])
        js = self.get(f"/api/products?per_page={FIXTURE['per_page']}&q={q.replace(' ', '+')}",
                      "GET /api/products?q= (search)")
        if js:
            self.seen += js["items"]

    @task
    def products(self):
        for i, p in enumerate(random.sample(self.seen, min(len(self.seen), random.randint(1, 3)))):
            if i:
                self.wait()
            js = self.get(f"/api/products/{p['id']}", "GET /api/products/{id}")
            if js:
                self.opened.append(js)

    @task
    def add_to_cart(self):
        # The page offers "add to cart" only on a product in stock; everything reachable was restocked.
        in_stock = [p for p in self.opened if p["stock"] > 0]
        if not in_stock:
            self.interrupt(reschedule=False)  # nothing to buy this visit: start the next one
        p = random.choice(in_stock)
        if self.call("POST", "/api/cart/items", "POST /api/cart/items",
                     {"product_id": p["id"], "quantity": random.randint(1, 2)}) is None:
            self.interrupt(reschedule=False)  # counted; the steps after it would only fail because of it

    @task
    def cart(self):
        js = self.get("/api/cart", "GET /api/cart")
        if not js or not js["items"]:
            self.interrupt(reschedule=False)

    @task
    def validate(self):
        if self.call("POST", "/api/orders/validate", "POST /api/orders/validate",
                     {"shipping_address": ADDRESS, "phone": PHONE},
                     check=lambda js: None if js.get("valid") is True else f"not valid: {js}") is None:
            self.interrupt(reschedule=False)

    @task
    def checkout(self):
        self.call("POST", "/api/checkout", "POST /api/checkout",
                  {"shipping_address": ADDRESS, "phone": PHONE, "payment": CARD},
                  headers={"Idempotency-Key": str(uuid.uuid4())},
                  check=lambda js: None if js.get("status") in ("placed", "paid") else f"order: {js}")


class Shopper(FastHttpUser):
    wait_time = between(1, 3)
    tasks = [Visit]
    # One keep-alive connection per shopper, as a browser's; answers are checked by Visit.
    concurrency = 1
    network_timeout = 30.0
    connection_timeout = 30.0

    def on_start(self):
        env = self.environment
        if not hasattr(env, "shoppers_accounts"):
            env.shoppers_accounts = _returning_accounts(env)
        if next(_arrivals) % 10 < NEW_SHARE:
            body = {"email": f"new-{uuid.uuid4().hex}@shoppers.example", "password": FIXTURE["password"],
                    "name": "New Shopper"}
            path, route, want = "/api/auth/signup", "POST /api/auth/signup", 201
        else:
            email = next(env.shoppers_accounts, None)
            if email is None:  # a fixture too small for this run: a failure, not a silent shortfall
                events.request.fire(request_type="SETUP", name="returning shopper's account", response_time=0,
                                    response_length=0, exception=LookupError("no account left in the fixture"),
                                    context={})
                raise StopUser()
            body = {"email": email, "password": FIXTURE["password"]}
            path, route, want = "/api/auth/login", "POST /api/auth/login", 200
        # A refused sign-up or sign-in is a failure of the run. As the web page does, the shopper sends
        # it again after its Retry-After (a 503 shed or a 429), up to SIGNIN_TRIES times, then leaves
        # and stays away (a stopped Locust user would be replaced by a new one during the ramp).
        for _ in range(SIGNIN_TRIES):
            with self.client.post(path, json=body, name=route, catch_response=True) as r:
                if r.status_code == want:
                    self.client.auth_header = "Bearer " + r.json()["token"]  # sent on every request from now
                    return
                r.failure(f"{r.status_code} {(r.text or '')[:200]}")
                retry_after = r.headers.get("Retry-After")
            if r.status_code not in (429, 503) or not retry_after:
                break
            gevent.sleep(float(retry_after) + random.uniform(0, float(retry_after) / 2))
        while True:
            gevent.sleep(60)


# The load tool's own pauses. Python's full garbage collection walks every object the process holds
# (a thousand users, their greenlets and connections): 0.1-0.3 s every 10-12 s here, during which
# no user sends anything; the requests that came due meanwhile then reach the shop all at once, a
# burst no thousand independent shoppers make (measured 2026-11-30: each of the shop's slow
# episodes began as such a pause ended). Once every user is up, what exists is frozen out of the
# collections (gc.freeze) and full collections stop; the young generations are still collected,
# which is where a request's own garbage dies. The full collections there were are counted.
_gc_pauses = []  # seconds of each full collection
_gc_started = [0.0]


def _time_full_collections(phase, info):
    if phase == "start":
        _gc_started[0] = time.monotonic()
    elif info.get("generation") == 2:
        _gc_pauses.append(time.monotonic() - _gc_started[0])


gc.callbacks.append(_time_full_collections)


@events.spawning_complete.add_listener
def _freeze_what_exists(**_kwargs):
    gc.collect()
    gc.freeze()
    threshold0, threshold1, _ = gc.get_threshold()
    gc.set_threshold(threshold0, threshold1, 1_000_000_000)


@events.quitting.add_listener
def _write_cpu(environment, **_kwargs):
    out = os.environ.get("SHOPPERS_CPU_DIR")
    if not out:
        return
    u = resource.getrusage(resource.RUSAGE_SELF)
    role = type(environment.runner).__name__.replace("Runner", "").lower()
    with open(os.path.join(out, f"locust-cpu-{role}-{os.getpid()}.json"), "w") as f:
        json.dump({"role": role, "cpu_seconds": u.ru_utime + u.ru_stime,
                   "wall_seconds": time.monotonic() - _started, "gc_pauses": len(_gc_pauses),
                   "gc_pause_max_seconds": max(_gc_pauses, default=0)}, f)

