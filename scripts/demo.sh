#!/usr/bin/env bash
# The quick start: set up if needed, then run a container through berth. The berth CLI starts berthd in the
# background when no daemon answers on the default socket; the offline busybox image is made on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bin/berth version
if ! bin/berth image inspect busybox >/dev/null 2>&1; then
  bash scripts/make-busybox-image.sh unix:///run/berth/berth.sock
fi
bin/berth run --rm busybox echo hello from berth
