#!/bin/bash
# logs.sh: the functions' logs.
set -e
. "$(dirname "$0")/common.sh"
require curl
curl -sS "$manager/logs"
