#!/bin/sh
# Runs once per request: the request body is on stdin, stdout is the response
# body. FERRY_METHOD and FERRY_PATH describe the request.
body=$(cat)
echo "Hello from a shell script: $FERRY_METHOD $FERRY_PATH"
if [ -n "$body" ]; then
  echo "You sent $(printf %s "$body" | wc -c | tr -d ' ') bytes, shouted back:"
  printf '%s\n' "$body" | tr '[:lower:]' '[:upper:]'
fi
