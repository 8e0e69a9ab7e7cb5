#!/usr/bin/env bash
# Runs COMMAND as the CI stage NAME and records it for the admin Delivery page; exits with
# COMMAND's own exit code, whatever happens to the record.
#   scripts/ci-stage.sh NAME [--junit FILE] -- COMMAND...
# Once the program is built this is `build/emporium ci-report stage` (EMPORIUM_BIN overrides the
# path). Before that (installing dependencies, the first build) it times the command itself and
# appends the same stage event to the spool file. Either way the event lands in EMPORIUM_CI_SPOOL
# (default build/delivery-events.ndjson, kept with the build outputs) unless EMPORIUM_CI_SHOP_URL
# and EMPORIUM_CI_TOKEN name a shop that takes it now. The run is EMPORIUM_CI_RUN_ID (.ci/run sets
# it), the commit EMPORIUM_CI_COMMIT or git's HEAD.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ $# -lt 3 ]]; then
    echo "usage: scripts/ci-stage.sh NAME [--junit FILE] -- COMMAND..." >&2
    exit 2
fi
name=$1
shift
junit=()
if [[ $1 == --junit ]]; then
    junit=(--junit "$2")
    shift 2
fi
[[ ${1:-} == -- ]] && shift
export EMPORIUM_CI_SPOOL=${EMPORIUM_CI_SPOOL:-$root/build/delivery-events.ndjson}
bin=${EMPORIUM_BIN:-$root/build/emporium}
if [[ -x $bin ]]; then
    exec "$bin" ci-report stage "$name" "${junit[@]}" -- "$@"
fi

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
t0=$(date +%s%N)
"$@"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
commit=${EMPORIUM_CI_COMMIT:-$(git -C "$root" rev-parse HEAD 2>/dev/null || true)}
run=${EMPORIUM_CI_RUN_ID:-local-${commit:0:12}-$(date +%s)}
pipeline=${EMPORIUM_CI_PIPELINE:-ci}
# The event is written by hand here, so only plain names are taken: nothing needs JSON escaping.
if [[ $name =~ ^[A-Za-z0-9\ ._:/-]{1,100}$ && $run =~ ^[A-Za-z0-9._:/-]{1,150}$ && $commit =~ ^[0-9a-f]{4,64}$ &&
      $pipeline =~ ^[A-Za-z0-9._-]{1,100}$ ]]; then
    result=success
    [[ $rc -eq 0 ]] || result=failed
    mkdir -p "$(dirname "$EMPORIUM_CI_SPOOL")"
    line=$(printf '{"type":"stage","id":"%s/%s","run_id":"%s","pipeline":"%s","commit":"%s","name":"%s","started_at":"%s","duration_ms":%d,"result":"%s","exit_code":%d}' \
        "$run" "$name" "$run" "$pipeline" "$commit" "$name" "$started" "$ms" "$result" "$rc")
    # The same lock as `emporium ci-report`, so that stages running side by side never mix lines.
    ( flock 9 && printf '%s\n' "$line" >>"$EMPORIUM_CI_SPOOL" ) 9>>"$EMPORIUM_CI_SPOOL.lock" ||
        echo "ci-stage: cannot write $EMPORIUM_CI_SPOOL: stage $name not recorded" >&2
else
    echo "ci-stage: stage $name not recorded (a plain name, run id and git commit are needed)" >&2
fi
exit "$rc"
