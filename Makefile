# Emporium: `make run` serves a seeded demo shop, `make test` runs every test suite.
# Both install what is missing first (Debian packages and npm, through scripts/install-deps.sh).

PRESET ?= games
PRODUCTS ?= 2000
ORDERS ?= 5000  # a year of history: the sales reports have something to show
PORT ?= 8080
INTERNAL_PORT ?= 9090
DATA_DIR ?= data/$(PRESET)
BUILD_DIR ?= build
ASAN_DIR ?= build-asan
TSAN_DIR ?= build-tsan
CMAKE_FLAGS ?=
# A unity build (each module's sources compiled in batches, the Boost headers parsed once per
# batch): measured on this machine without ccache, 169 s and 325 s of CPU for the whole tree against
# 284 s and 563 s one file at a time. `make lint` compiles every file on its own, which still catches
# a file that only compiles beside another. UNITY=OFF for one-file rebuilds while editing.
UNITY ?= ON

.PHONY: all deps build web configure run seed test test-unit test-web test-api test-e2e test-quality test-asan test-tsan test-cluster cluster smoke bench fuzz lint format clean

all: build

deps:
	bash scripts/install-deps.sh

configure:
	@test -f $(BUILD_DIR)/build.ninja || cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=$(UNITY) $(CMAKE_FLAGS)

build: deps configure web
	cmake --build $(BUILD_DIR)

web:
	cd web && npm run build --silent

# A seeded demo shop, made once per preset; delete $(DATA_DIR) to start over.
seed: build
	@test -f $(DATA_DIR)/emporium.db || $(BUILD_DIR)/emporium seed --preset $(PRESET) --products $(PRODUCTS) --orders $(ORDERS) --photos 6 --data-dir $(DATA_DIR)

run: seed
	@echo "Storefront: http://127.0.0.1:$(PORT)   internal (health, metrics): http://127.0.0.1:$(INTERNAL_PORT)"
	$(BUILD_DIR)/emporium serve --data-dir $(DATA_DIR) --bind 127.0.0.1 --port $(PORT) --internal-port $(INTERNAL_PORT)

# The shop as a cluster on loopback: PostgreSQL, Redis, RabbitMQ, NODES web nodes and a worker over
# them, nginx in front (scripts/cluster.sh; docs/OPERATIONS.md). Ctrl-C stops it all.
# HA=1: the database as three PostgreSQL members under Patroni and etcd, with automatic failover.
NODES ?= 3
HA ?= 0
cluster: build
	bash scripts/cluster.sh --nodes $(NODES) --preset $(PRESET) --products 500 --orders 1000 $(if $(filter 1,$(HA)),--ha)

test: build
	bash scripts/test.sh

test-unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure

# The web page's unit tests (Vitest: form rules, the API client, stores, composables).
test-web: deps
	cd web && npm test --silent

test-api: build
	python3 tests/api/run.py

# Whole clusters started by scripts/cluster.sh: oversell across nodes, cache invalidation, a node,
# Redis or RabbitMQ lost under load, rate limits over nodes.
test-cluster: build
	python3 tests/cluster/run.py

test-e2e: build
	node --test tests/e2e/

# Lighthouse (95+ in all four categories, phone and desktop, median of QUALITY_RUNS runs; the
# phone's CPU slowdown follows the host's benchmark) and axe-core (no violations on any route) on
# both demo shops; scores go to build/quality/. Part of `make test`.
test-quality: build
	node --test --test-concurrency=1 tests/quality/

smoke: build
	python3 ../shared/contract/smoke.py catalog accounts orders

# The unit and API tests again, built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	@test -f $(ASAN_DIR)/build.ninja || cmake -S . -B $(ASAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEMPORIUM_SANITIZE=ON -DCMAKE_UNITY_BUILD=ON
	cmake --build $(ASAN_DIR)
	cd $(ASAN_DIR) && ctest --output-on-failure
	EMPORIUM_BIN=$(CURDIR)/$(ASAN_DIR)/emporium python3 tests/api/run.py

# The unit and API tests again, built with ThreadSanitizer (suppressions: tests/tsan.supp).
test-tsan: deps
	@test -f $(TSAN_DIR)/build.ninja || cmake -S . -B $(TSAN_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMPORIUM_SANITIZE=thread -DCMAKE_UNITY_BUILD=ON
	cmake --build $(TSAN_DIR)
	cd $(TSAN_DIR) && TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp second_deadlock_stack=1" ctest -LE postgresql -E 'MediaTest|ImagesTest' --output-on-failure
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp second_deadlock_stack=1" EMPORIUM_BIN=$(CURDIR)/$(TSAN_DIR)/emporium python3 tests/api/run.py

bench: build
	bash bench/run.sh

# libFuzzer targets on every parser of outside input (clang, in build-fuzz/), FUZZ_SECONDS each.
FUZZ_SECONDS ?= 60
fuzz: deps
	bash tests/fuzz/run.sh $(FUZZ_SECONDS)

lint:
	bash scripts/lint.sh

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.h')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) build-lint web/dist
