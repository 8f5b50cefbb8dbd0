#!/bin/sh
# A Ferry function as a program: it runs once per request, the request body
# arrives on stdin and whatever it prints on stdout is the response body.
# FERRY_METHOD and FERRY_PATH describe the request.
body=$(cat)
echo "Hello from exec: $FERRY_METHOD $FERRY_PATH"
if [ -n "$body" ]; then
  echo "You sent: $body"
fi
