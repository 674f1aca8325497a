#!/usr/bin/env bash
# Prints the path of a tarball of a clean Debian 12 root (debootstrap --variant=minbase bookworm, no
# Swift), creating it when the cache has none. The cache (PACKAGE_TEST_CACHE, default
# /var/cache/offsite-agent-package-test) survives between runs; every test unpacks a fresh copy.
set -euo pipefail
cache=${PACKAGE_TEST_CACHE:-/var/cache/offsite-agent-package-test}
tarball=$cache/bookworm-minbase.tar
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ ! -s "$tarball" ]; then
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/build.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    echo "package test: debootstrap --variant=minbase bookworm from $mirror (once; cached in $cache)" >&2
    # Its own mount namespace: whatever debootstrap mounts inside the root never reaches the host.
    if ! unshare --mount --propagation private debootstrap --variant=minbase bookworm "$tmp/root" "$mirror" >"$tmp/log" 2>&1; then
        tail -25 "$tmp/log" >&2
        exit 1
    fi
    tar -C "$tmp/root" -cf "$tmp/root.tar" .
    mv "$tmp/root.tar" "$tarball"
fi
echo "$tarball"
