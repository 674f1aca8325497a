#!/usr/bin/env bash
# Post-backup hook: the backup job calls it with the finished backup's directory, e.g.
#   /usr/local/share/offsite-agent/samples/post-backup-hook.sh /tmp/cloudpilot-backups/2026-11-21-0300-files
# It uploads the backup with `agent upload --json`, appends the JSON result to a log, and exits
# with the agent's exit code: 0 uploaded, 4 the backup cannot be uploaded, 5 the storage refused,
# 75 interrupted or network trouble (the resume timer finishes it), 3 configuration error.
#
# No secret is passed on the command line: the agent reads its keys from its config
# (OFFSITE_AGENT_CONFIG, default /etc/offsite-agent/agent.toml).
# Environment: OFFSITE_AGENT_BIN (default: agent on PATH), OFFSITE_AGENT_HOOK_LOG
# (default /var/log/offsite-agent/hook.log).
set -euo pipefail

if [[ $# -ne 1 || -z "$1" ]]; then
    echo "usage: $0 BACKUP_DIR" >&2
    exit 2
fi
backup=$1
agent=${OFFSITE_AGENT_BIN:-agent}
log=${OFFSITE_AGENT_HOOK_LOG:-/var/log/offsite-agent/hook.log}

umask 077   # the log holds results, not secrets, but is nobody else's business
# The upload matters more than its log line: a log that cannot be written never changes the exit code.
mkdir -p -- "$(dirname -- "$log")" 2>/dev/null || true
status=0
# The agent's log lines go to stderr (the backup job's log) and to state_dir/agent.log.
result=$("$agent" upload --json -- "$backup") || status=$?
[[ -n $result ]] || result='{}'
printf '%s exit=%d backup=%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$status" "$backup" "$result" >>"$log" 2>/dev/null \
    || echo "post-backup-hook: cannot append to $log" >&2
exit "$status"
