#!/bin/sh
# tinyFaaS's binary contract on Ferry's exec runtime: `fn.sh` gets the body on stdin and its
# stdout and stderr together are the answer. Added to the package by Ferry's tinyFaaS API.
exec ./fn.sh 2>&1
