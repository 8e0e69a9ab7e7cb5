#!/usr/bin/env bash
# `make lint`: clang-format must have nothing to change, clang-tidy nothing to say.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t sources < <(git ls-files 'src/*.cpp' 'src/*.h')
echo "clang-format: ${#sources[@]} files"
clang-format --dry-run -Werror "${sources[@]}"
test -f build/compile_commands.json || cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
mapfile -t units < <(git ls-files 'src/*.cpp')
echo "clang-tidy: ${#units[@]} files"
# Two at a time: one per core.
printf '%s\n' "${units[@]}" | xargs -P 2 -n 4 clang-tidy -p build --quiet --warnings-as-errors='*' 2>/dev/null
echo "lint: clean"
