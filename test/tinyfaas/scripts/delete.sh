#!/bin/bash
# delete.sh NAME: the body is the bare name.
set -e
. "$(dirname "$0")/common.sh"
require curl
curl -sS "$manager/delete" --data "$1"
