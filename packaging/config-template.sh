#!/usr/bin/env bash
# Prints the config installed as /etc/offsite-agent/agent.toml (the .deb's conffile, `make install`)
# from samples/agent.toml: the same file, but with the sample's host-specific placeholders commented
# out, so that an admin who fills in only the bucket and the key gets this host's own defaults:
# prefix "<hostname>/" (several hosts sharing `web-01/` would see each other's backups as their own)
# and the default backup_dir. samples/agent.toml itself stays a valid, complete example.
# Usage: packaging/config-template.sh samples/agent.toml > agent.toml
set -euo pipefail
sample=$1
out=$(sed -E \
    -e 's|^backup_dir( *)= "([^"]*)"( *)#.*$|#backup_dir\1= "\2"\3# default; set it to where your backup job leaves finished backups|' \
    -e 's|^prefix( *)= "web-01/"( *)#.*$|#prefix\1= "web-01/"\2# left out: "<hostname>/", each host its own prefix in a shared bucket|' \
    "$sample")
# A sample edit that no longer matches must fail the build, not ship a live placeholder.
if grep -qE '^(backup_dir|prefix) *=' <<<"$out"; then
    echo "config-template.sh: $sample still sets backup_dir or prefix after templating; update the patterns" >&2
    exit 1
fi
printf '%s\n' "$out"
