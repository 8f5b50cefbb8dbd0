#!/bin/bash
# upload.sh FOLDER NAME ENV THREADS: zips FOLDER, base64-encodes it and posts it to /upload.
set -e
. "$(dirname "$0")/common.sh"
require curl zip base64
cd "$1"
archive="$(zip -q -r - ./* | base64 | tr -d '\n')"
curl -sS "$manager/upload" --data "{\"name\": \"$2\", \"env\": \"$3\", \"threads\": $4, \"zip\": \"$archive\"}"
