#!/bin/bash
# wipe-functions.sh: deletes every function.
set -e
. "$(dirname "$0")/common.sh"
require curl
curl -sS "$manager/wipe" --data ""
