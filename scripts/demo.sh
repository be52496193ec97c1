#!/usr/bin/env bash
# The quick start: set up if needed, then run a container through berth (the CLI starts berthd when none runs).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x node_modules/.bin/tsc ] && [ -f dist/src/cli/main.js ] || bash scripts/setup.sh
bin/berth version
