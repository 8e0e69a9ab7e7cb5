#!/usr/bin/env bash
# `make lint`: clang-format must have nothing to change, clang-tidy nothing to say.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t sources < <(git ls-files 'src/*.cpp' 'src/*.h')
echo "clang-format: ${#sources[@]} files"
clang-format --dry-run -Werror "${sources[@]}"
# Each file's own compile command: a build directory of its own, configured one file at a time (the
# plain build is a unity build, whose commands name the batches), never built.
test -f build-lint/compile_commands.json ||
    cmake -S . -B build-lint -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=OFF >/dev/null
mapfile -t units < <(git ls-files 'src/*.cpp')
echo "clang-tidy: ${#units[@]} files"
# Two at a time: one per core.
printf '%s\n' "${units[@]}" | xargs -P 2 -n 4 clang-tidy -p build-lint --quiet --warnings-as-errors='*' 2>/dev/null
echo "lint: clean"
