#!/usr/bin/env bash
# `npm run bench`: Ferry measured side by side with a bare node:http server (and the one-hop
# proxies, for scale) in one run of the shared anchors harness. Arguments go to the harness,
# e.g. `npm run bench -- --rounds 5 --duration 8`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ANCHORS="${FERRY_ANCHORS:-$HERE/../../shared/anchors}"
if [ ! -x "$ANCHORS/run.sh" ]; then
  echo "bench: the anchors harness is not at $ANCHORS (set FERRY_ANCHORS)" >&2
  exit 1
fi
exec "$ANCHORS/run.sh" --targets-dir "$HERE/targets" --only ferry-node,ferry-node-nopool,ferry-node-process,ferry-python,ferry-python-nopool,ferry-python-process,ferry-pool-idle,ferry-idle,proxy-undici "$@"
