#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian 12 root machine: system packages, npm dependencies, build, native pieces.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages berth needs at run time (runc, tini for --init, busybox-static for the offline base image,
# iptables/iproute2 for networking) and as test partners (docker.io: a real dockerd to compare with; docker-registry;
# skopeo; python3-docker, the Python SDK; zstd for layer tests; zlib1g-dev for the monitor's compressed log rotation and berth-untar's gunzip; libssl-dev for berth-untar's sha256; openssl for the TLS tests' certificates;
# chromium + a font for the dashboard's browser tests).
packages=(runc tini busybox-static iptables iproute2 kmod procps psmisc curl gcc libc6-dev zlib1g-dev libssl-dev make zstd python3
          docker.io docker-registry skopeo docker-compose python3-docker openssl chromium fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "setup: need root to install: ${missing[*]}" >&2; exit 1; fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps Debian's maintainer scripts from starting dockerd/registry services: tests start their own.
  had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
  [ "$had_policy" = 1 ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$had_policy" = 1 ] || rm -f /usr/sbin/policy-rc.d
fi

# npm 11 skips install scripts unless allowed; esbuild (tsx, dev only) ships its binary in the package, so none are needed.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

# berth compose as the docker CLI's `compose` plugin: docker 28 looks in /usr/local/lib/docker/cli-plugins (after
# $DOCKER_CONFIG/cli-plugins). Debian's docker-compose 1.29 stays /usr/bin/docker-compose, a different path.
if [ "$(id -u)" = 0 ]; then
  mkdir -p /usr/local/lib/docker/cli-plugins
  ln -sfn "$PWD/bin/docker-compose" /usr/local/lib/docker/cli-plugins/docker-compose
fi
