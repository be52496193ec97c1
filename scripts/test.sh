#!/usr/bin/env bash
# Runs every test: unit tests beside the code, then integration and end-to-end tests against real berthd instances.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# One file at a time: integration tests start daemons, mount overlays and run containers; 2 cores are not many.
exec node --test --test-concurrency=1 --test-timeout=240000 \
  $(find dist/src dist/test -name '*.test.js' | sort)
