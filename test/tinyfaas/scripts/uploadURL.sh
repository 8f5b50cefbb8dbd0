#!/bin/bash
# uploadURL.sh URL SUBFOLDER NAME ENV THREADS: the server fetches the zip at URL and deploys SUBFOLDER of it.
set -e
. "$(dirname "$0")/common.sh"
require curl
curl -sS "$manager/uploadURL" --data "{\"name\": \"$3\", \"env\": \"$4\", \"threads\": $5, \"url\": \"$1\", \"subfolder_path\": \"$2\"}"
