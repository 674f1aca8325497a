"""Operations (issue 16) end to end: calendar retention, monitoring pings, `agent doctor`,
`agent fleet` and the bandwidth timetable — the real binary against `rclone serve s3`, a local
HTTP monitor that records every ping, and prepared backup directories."""
import json
import os
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import SECRETS, bucket_keys, free_port, get_bytes

HOST = socket.gethostname()


def put_manifest(s3, bucket, backup, edit, prefix="host-a/"):
    key = f"{prefix}{backup}/offsite-manifest.json"
    manifest = json.loads(get_bytes(s3, bucket, key))
    edit(manifest)
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    return manifest


# ---------------------------------------------------------------------------------------------
# Calendar retention


def test_prune_keeps_the_newest_backup_of_each_calendar_period_and_says_which_rule(env, rclone):
    vault = env.add_vault("primary", rclone, keep_daily=2, keep_monthly=2, keep_yearly=2)
    env.write_config()
    dates = {
        "a-newest": "2026-11-20T03:00:00Z", "b-same-day": "2026-11-20T01:00:00Z", "c-day-before": "2026-11-19T03:00:00Z",
        "d-same-month": "2026-11-10T03:00:00Z", "e-october": "2026-10-05T03:00:00Z", "f-last-year": "2025-05-01T03:00:00Z",
    }
    s3 = rclone.client()
    for backup, created in dates.items():
        env.make_backup(backup, {"data.tar": backup.encode() * 100})
        assert env.run("upload", backup).code == 0, backup
        put_manifest(s3, vault["bucket"], backup, lambda m, c=created: m.update(created_at=c))
    before = set(bucket_keys(s3, vault["bucket"]))

    r = env.run("prune", "--dry-run", "--json")
    assert r.code == 0, r
    assert sorted(b["id"] for b in r.json["deleted"]) == ["b-same-day", "d-same-month"]
    kept = {b["id"]: b["kept_by"] for b in r.json["kept"]}
    assert kept["a-newest"] == ["newest", "daily 2026-11-20", "monthly 2026-11", "yearly 2026"]
    assert kept["c-day-before"] == ["daily 2026-11-19"]
    assert kept["e-october"] == ["monthly 2026-10"]
    assert kept["f-last-year"] == ["yearly 2025"]
    assert r.json["keep_daily"] == 2 and r.json["keep_weekly"] is None
    assert set(bucket_keys(s3, vault["bucket"])) == before

    r = env.run("prune", "--dry-run")
    assert "keep e-october (2026-10-05T03:00:00Z): monthly 2026-10" in r.stdout, r
    assert "would delete d-same-month" in r.stdout

    # A flag overrides the vault's setting of the same name: one monthly backup only.
    r = env.run("prune", "--keep-monthly", "1", "--json")
    assert r.code == 0, r
    assert sorted(b["id"] for b in r.json["deleted"]) == ["b-same-day", "d-same-month", "e-october"]
    left = {k.split("/")[1] for k in bucket_keys(s3, vault["bucket"])}
    assert left == {"a-newest", "c-day-before", "f-last-year"}


@pytest.mark.parametrize("line", ["keep_weekly = 0", "keep_yearly = -3", 'keep_monthly = "six"'])
def test_a_bad_retention_value_is_invalid_config_naming_the_line(env, rclone, line):
    env.add_vault("primary", rclone)
    env.write_config()
    env.config_path.write_text(env.config_path.read_text() + line + "\n")
    lineno = len(env.config_path.read_text().splitlines())
    r = env.run("prune", "--dry-run", "--json")
    assert r.code == 3, r
    assert r.json["error"]["code"] == "INVALID_CONFIG"
    assert f"{env.config_path}:{lineno}" in r.json["error"]["message"]
