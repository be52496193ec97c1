#!/usr/bin/env bash
# Builds the offline base image busybox:latest from Debian's busybox-static and imports it through the Engine API.
#
#   scripts/make-busybox-image.sh [DOCKER_HOST]      (default: $DOCKER_HOST, else unix:///run/berth/berth.sock)
#
# The rootfs: /bin/busybox with every applet linked at its full path (`busybox --list-full`), /etc/passwd and
# /etc/group (root, daemon, bin, sys, nobody...), /tmp (1777), /root, /home, /var, /proc, /sys, /dev, /etc/hosts,
# and it is imported as busybox:latest with CMD ["sh"]. Needs only curl (no docker CLI).
set -euo pipefail

HOST="${1:-${DOCKER_HOST:-unix:///run/berth/berth.sock}}"
TAG="${BUSYBOX_TAG:-busybox:latest}"
BUSYBOX="${BUSYBOX_BIN:-/bin/busybox}"

if ! "$BUSYBOX" --list-full >/dev/null 2>&1; then
  echo "make-busybox-image: $BUSYBOX is not a static busybox (apt-get install busybox-static)" >&2
  exit 1
fi
if ldd "$BUSYBOX" >/dev/null 2>&1; then
  echo "make-busybox-image: $BUSYBOX is dynamically linked; install busybox-static" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/berth-busybox-XXXXXX")"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,var/spool/mail,var/www,proc,sys,dev,tmp}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
install -m 0755 "$BUSYBOX" "$root/bin/busybox"
for applet in $("$BUSYBOX" --list-full); do
  [ "$applet" = "bin/busybox" ] && continue
  dir="$root/$(dirname "$applet")"
  mkdir -p "$dir"
  rel="$(realpath --relative-to="$dir" "$root/bin/busybox")"
  ln -sf "$rel" "$root/$applet"
done
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
operator:x:37:
staff:x:50:
users:x:100:
nogroup:x:65534:
GROUP
cat > "$root/etc/shadow" <<'SHADOW'
root:*:10933:0:99999:7:::
daemon:*:10933:0:99999:7:::
nobody:*:10933:0:99999:7:::
SHADOW
chmod 640 "$root/etc/shadow"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
: > "$root/etc/resolv.conf"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"

# Reproducible tar: sorted names, numeric owners, fixed mtime.
tar --sort=name --numeric-owner --owner=0 --group=0 --mtime='2024-01-01 00:00:00Z' -C "$root" -cf "$work/rootfs.tar" .

repo="${TAG%:*}"
tag="${TAG##*:}"
[ "$repo" = "$TAG" ] && tag=latest
case "$HOST" in
  unix://*) curl_target=(--unix-socket "${HOST#unix://}" "http://localhost") ;;
  tcp://*) curl_target=("http://${HOST#tcp://}") ;;
  *) curl_target=("$HOST") ;;
esac
sock_url="${curl_target[*]: -1}"
resp="$(curl -sS --fail-with-body "${curl_target[@]:0:${#curl_target[@]}-1}" -X POST \
  -H 'Content-Type: application/x-tar' --data-binary @"$work/rootfs.tar" \
  "$sock_url/images/create?fromSrc=-&repo=${repo}&tag=${tag}&changes=CMD%20%5B%22sh%22%5D")"
if ! grep -q '"status":"sha256:' <<<"$resp"; then
  echo "make-busybox-image: import failed: $resp" >&2
  exit 1
fi
id="$(sed -n 's/.*"status":"\(sha256:[0-9a-f]*\)".*/\1/p' <<<"$resp" | head -1)"
echo "$TAG $id"
