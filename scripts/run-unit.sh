#!/usr/bin/env bash
# Runs host unit test binaries (cmocka) under prove, one TAP stream each.
set -uo pipefail
[ $# -gt 0 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }
CMOCKA_MESSAGE_OUTPUT=TAP prove --exec '' "$@"
