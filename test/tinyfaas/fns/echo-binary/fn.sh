#!/bin/sh
# Answers its input: stdin to stdout.
cat
