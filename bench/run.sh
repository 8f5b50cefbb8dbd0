#!/usr/bin/env bash
# `npm run bench`: one run of the shared anchors harness (cold start and idle RSS; Ferry beside bare
# node:http, workerd, Knative and a proxy hop), then bench/warm.mjs (the warm rows, every body
# checked), the protocol, image and cluster rows, one after the other (bench/run.mjs). Options pass
# through, e.g.
#   npm run bench -- --rounds 5 --duration 8
#   npm run bench -- --only ferry-hello,ferry-node     # each runner gets the names it has
#   npm run bench -- --only cluster-async,cluster-sync # the cluster rows alone (bench/cluster.mjs)
#   npm run bench -- --quick                           # 1 round of 2 s (or FERRY_BENCH_QUICK=1)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/anchors.sh"
# the harness's targets when no --only is given (those this host cannot run, e.g. ferry-node-gvisor
# without runsc, are left out by bench/run.mjs)
export FERRY_BENCH_ANCHORS_ONLY=ferry-node,ferry-node-nopool,ferry-node-process,ferry-node-gvisor,ferry-python,ferry-python-nopool,ferry-python-process,ferry-pool-idle,ferry-idle,ferry-idle-1000,proxy-undici,workerd,knative
export FERRY_ANCHORS="$ANCHORS"
exec node "$HERE/run.mjs" "$@"
