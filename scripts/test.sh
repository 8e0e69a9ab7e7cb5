#!/usr/bin/env bash
# Runs every test suite, in order of speed, and ends with one line: 'total: N passed, M failed'.
# Called by `make test` after the build; each suite's own output is shown as it runs.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
suite_failures=()
log=$(mktemp)

# run NAME COMMAND...: runs a suite, adds its counts (read from its closing lines) to the totals.
run() {
    local name=$1
    shift
    echo
    echo "==== $name: $*"
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    local p=0 f=0
    if grep -qE '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log"; then  # ctest
        local line
        line=$(grep -E 'tests passed, [0-9]+ tests failed out of' "$log" | tail -1)
        f=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
        p=$(( $(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line") - f ))
    elif grep -qE '^# pass [0-9]+' "$log"; then  # node --test
        p=$(grep -E '^# pass [0-9]+' "$log" | tail -1 | awk '{print $3}')
        f=$(grep -E '^# fail [0-9]+' "$log" | tail -1 | awk '{print $3}')
    elif grep -qE '^[0-9]+ passed, [0-9]+ failed' "$log"; then  # our Python runners
        p=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 | awk '{print $1}')
        f=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1 | awk '{print $3}')
    fi
    if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi  # a suite that crashed counts as a failure
    passed=$((passed + p))
    failed=$((failed + f))
    [[ $rc -eq 0 ]] || suite_failures+=("$name")
}

run "unit tests" bash -c "cd build && ctest --output-on-failure"
run "web unit tests" bash -c "cd web && npm test --silent"
run "API tests" python3 tests/api/run.py
run "contract smoke" python3 ../shared/contract/smoke.py catalog accounts orders
run "browser test" node --test tests/e2e/
run "fuzzers: committed corpus, 5 s each" bash tests/fuzz/run.sh 5
run "sanitizers: build" bash -c "test -f build-asan/build.ninja || cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DEMPORIUM_SANITIZE=ON >/dev/null && cmake --build build-asan"
run "sanitizers: unit tests" bash -c "cd build-asan && ctest --output-on-failure"
run "sanitizers: API tests" env EMPORIUM_BIN="$PWD/build-asan/emporium" python3 tests/api/run.py

rm -f "$log"
echo
if ((${#suite_failures[@]})); then
    echo "failed suites: ${suite_failures[*]}"
fi
echo "total: $passed passed, $failed failed"
[[ $failed -eq 0 && ${#suite_failures[@]} -eq 0 ]]
