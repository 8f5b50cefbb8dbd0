#!/usr/bin/env bash
# `npm run bench`: Ferry measured side by side with a bare node:http server (and the one-hop
# proxies, for scale) in one run of the shared anchors harness. Arguments go to the harness,
# e.g. `npm run bench -- --rounds 5 --duration 8`.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/anchors.sh"
exec "$ANCHORS/run.sh" --targets-dir "$HERE/targets" --only ferry-node,ferry-node-nopool,ferry-node-process,ferry-python,ferry-python-nopool,ferry-python-process,ferry-pool-idle,ferry-idle,ferry-idle-1000,proxy-undici "$@"
