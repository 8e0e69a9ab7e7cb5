#!/usr/bin/env bash
# Runs every test suite and ends with one line: 'total: N passed, M failed'. Called by `make test`
# after the build.
#
# The sanitizer builds run the unit tests on SQLite only (-LE postgresql): the PostgreSQL run of
# the same tests belongs to the plain build.
#
# Two cores: the sanitizer builds (ASan+UBSan, then TSan) run at the lowest priority beside the
# plain suites (unit, web unit, API, contract smoke, browser), which mostly wait on servers and
# browsers; then the sanitizer suites run, ASan and TSan side by side. API modules run as
# separate processes, API_JOBS (2) at once, SANITIZER_API_JOBS (1) per sanitizer suite.
# Each suite writes its own log under $TEST_LOGS (default: a temp dir); a failed suite's log is
# printed whole, a passed one's closing line only. Every suite's wall time is listed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."

LOGS=${TEST_LOGS:-$(mktemp -d -t emporium-test-XXXXXX)}
API_JOBS=${API_JOBS:-2}
mkdir -p "$LOGS"
passed=0
failed=0
suite_failures=()
timings=()
declare -A started pids

# Counts a suite's passed and failed tests from its log's closing lines: ctest, node --test,
# and our Python runners ('N passed, M failed', one per module when modules ran apart).
count() {
    local log=$1 p=0 f=0 line
    if line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1) && [[ -n $line ]]; then
        f=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
        p=$(($(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line") - f))
    elif grep -qE '^# pass [0-9]+' "$log"; then
        p=$(grep -E '^# pass [0-9]+' "$log" | tail -1 | awk '{print $3}')
        f=$(grep -E '^# fail [0-9]+' "$log" | tail -1 | awk '{print $3}')
    elif grep -qE '^-?[0-9]+ passed, [0-9]+ failed' "$log"; then
        read -r p f < <(grep -E '^-?[0-9]+ passed, [0-9]+ failed' "$log" | awk '{p += $1; f += $3} END {print p, f}')
    fi
    echo "$p $f"
}

# start NAME COMMAND...: runs a suite in the background, its output in $LOGS/NAME.log.
start() {
    local name=$1
    shift
    echo "==== start $name: $*"
    started[$name]=$SECONDS
    "$@" >"$LOGS/$name.log" 2>&1 &
    pids[$name]=$!
}

# finish NAME: waits for a suite, adds its counts to the totals and shows its result.
finish() {
    local name=$1 rc p f
    wait "${pids[$name]}"
    rc=$?
    read -r p f < <(count "$LOGS/$name.log")
    if [[ $rc -ne 0 && $f -eq 0 ]]; then f=1; fi  # a suite that crashed counts as a failure
    passed=$((passed + p))
    failed=$((failed + f))
    local took=$((SECONDS - started[$name]))
    timings+=("$(printf '%-28s %5d s  %s passed, %s failed' "$name" "$took" "$p" "$f")")
    if [[ $rc -ne 0 ]]; then
        suite_failures+=("$name")
        echo
        echo "==== $name FAILED (exit $rc, ${took}s); its log ($LOGS/$name.log):"
        cat "$LOGS/$name.log"
    else
        echo "==== $name: $p passed, $f failed (${took}s)"
    fi
}

# run NAME COMMAND...: a suite in the foreground.
run() {
    start "$@"
    finish "$1"
}

# API tests, one process per module, API_JOBS at once; each module's output in the suite's log
# in turn, every one ending with its 'N passed, M failed' line.
api_tests() {
    local bin=$1 dir
    dir=$(mktemp -d -p "$LOGS" api-XXXXXX)
    local modules
    modules=$(cd tests/api && ls test_*.py | sed 's/\.py$//')
    # The longest modules first, so that the last one to start is a short one.
    modules=$(printf '%s\n' $modules | grep -xE 'test_(ops|notify|orders|protection|limits|cli)'
              printf '%s\n' $modules | grep -vxE 'test_(ops|notify|orders|protection|limits|cli)')
    printf '%s\n' $modules | EMPORIUM_BIN=$bin xargs -P "$API_JOBS" -I{} \
        sh -c 'python3 tests/api/run.py {} > "$1/{}.log" 2>&1' _ "$dir"
    local rc=0 m
    for m in $modules; do
        echo "---- $m"
        cat "$dir/$m.log"
        tail -1 "$dir/$m.log" | grep -qE '^[0-9]+ passed, 0 failed$' || rc=1
    done
    return $rc
}

# sanitizer_build DIR KIND BUILD_TYPE: configures (once) and builds at the lowest priority: the
# compilers take whatever CPU the suites running meanwhile leave idle (they mostly wait on
# servers and browsers), and the suites never wait for a compiler.
sanitizer_build() {
    local dir=$1 kind=$2 type=$3
    test -f "$dir/build.ninja" || cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" \
        -DEMPORIUM_SANITIZE="$kind" >/dev/null || return 1
    nice -n 19 cmake --build "$dir" -- -j "${SANITIZER_BUILD_JOBS:-2}"
}

export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp second_deadlock_stack=1 history_size=4 ${TSAN_OPTIONS:-}"

start "sanitizer builds" bash -c "$(declare -f sanitizer_build); sanitizer_build build-asan ON Debug && \
    sanitizer_build build-tsan thread RelWithDebInfo"
start "web quality" node --test --test-concurrency=1 tests/quality/
run "unit tests" bash -c "cd build && ctest --output-on-failure"
run "web unit tests" bash -c "cd web && npm test --silent"
run "API tests" api_tests "$PWD/build/emporium"
run "contract smoke" python3 ../shared/contract/smoke.py catalog accounts orders
run "browser tests" node --test tests/e2e/
finish "web quality"
finish "sanitizer builds"
if [[ " ${suite_failures[*]} " != *" sanitizer builds "* ]]; then
    start "ASan unit tests" bash -c "cd build-asan && ctest -LE postgresql --output-on-failure"
    start "TSan unit tests" bash -c "cd build-tsan && ctest -LE postgresql --output-on-failure"
    finish "ASan unit tests"
    finish "TSan unit tests"
    API_JOBS=${SANITIZER_API_JOBS:-1} start "ASan API tests" api_tests "$PWD/build-asan/emporium"
    API_JOBS=${SANITIZER_API_JOBS:-1} start "TSan API tests" api_tests "$PWD/build-tsan/emporium"
    finish "ASan API tests"
    finish "TSan API tests"
fi

echo
echo "suite wall times (logs in $LOGS):"
printf '  %s\n' "${timings[@]}"
if ((${#suite_failures[@]})); then
    echo "failed suites: ${suite_failures[*]}"
fi
echo "total: $passed passed, $failed failed"
[[ $failed -eq 0 && ${#suite_failures[@]} -eq 0 ]]
