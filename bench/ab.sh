#!/usr/bin/env bash
# `npm run bench:ab`: the warm path of two commits of Ferry measured in one run of the anchors
# harness (bench/targets-ab/), then their after/before paired ratio per handler.
#   FERRY_AB_BEFORE=<commit> [FERRY_AB_AFTER=<commit>, default HEAD] npm run bench:ab -- --rounds 5
# Harness options pass through; the ratios are read from the run's latest.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/anchors.sh"
: "${FERRY_AB_BEFORE:?set FERRY_AB_BEFORE to the commit before the change}"
export FERRY_AB_BEFORE FERRY_AB_AFTER="${FERRY_AB_AFTER:-HEAD}"
"$ANCHORS/run.sh" --targets-dir "$HERE/targets-ab" --only ferry-before-string,ferry-after-string,ferry-before-response,ferry-after-response --phases throughput "$@"
exec node "$HERE/ab-ratio.mjs" "${ANCHORS_TMP:-/tmp/anchors}/results/latest.json"
