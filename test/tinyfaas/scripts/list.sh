#!/bin/bash
# list.sh: the deployed functions, one a line.
set -e
. "$(dirname "$0")/common.sh"
require curl
curl -sS "$manager/list"
