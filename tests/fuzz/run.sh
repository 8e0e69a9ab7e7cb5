#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, in build-fuzz/) and runs each for SECONDS (the argument, else
# FUZZ_SECONDS, else 60), starting from its committed corpus tests/fuzz/corpus/TARGET/: every
# committed input runs first, then the fuzzer explores. New inputs it finds go to
# build-fuzz/corpus/TARGET/ (kept between runs, never into the committed corpus); a crash, a
# leak, undefined behaviour or an input slower than 25 s fails the target and leaves the input in
# build-fuzz/artifacts/TARGET/. Add such an input to the committed corpus with its fix.
# Ends with one line: 'N passed, M failed'.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-${FUZZ_SECONDS:-60}}
dir=${FUZZ_DIR:-build-fuzz}

if [[ ! -f $dir/build.ninja ]]; then
    # -O1 and line tables, as OSS-Fuzz builds its targets: quicker to build than -O2 -g, and a
    # crash's stack still names files and lines.
    CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" -DEMPORIUM_FUZZ=ON -DCMAKE_UNITY_BUILD=ON \
        -DEMPORIUM_TESTS=OFF > /dev/null || exit 1
fi
cmake --build "$dir" --target fuzzers -- -j "${FUZZ_BUILD_JOBS:-2}" || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
for corpus in tests/fuzz/corpus/*/; do
    name=$(basename "$corpus")
    mkdir -p "$dir/corpus/$name" "$dir/artifacts/$name"
    log="$dir/fuzz-$name.log"
    if "$dir/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/$name/" "$dir/corpus/$name" "$corpus" > "$log" 2>&1; then
        runs=$(awk '/^stat::number_of_executed_units/ {print $2}' "$log")
        echo "ok    $name: $runs inputs in ${seconds}s, corpus $(ls "$corpus" | wc -l) committed + $(ls "$dir/corpus/$name" | wc -l) found"
        passed=$((passed + 1))
    else
        echo "FAIL  $name (input in $dir/artifacts/$name/; log $log):"
        grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -20
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
