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


# ---------------------------------------------------------------------------------------------
# Monitoring pings


class Monitor:
    """A local HTTP monitor that records every ping: method, path, query and body."""

    def __init__(self, status=200, delay=0.0):
        self.pings = []
        monitor = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                path, _, query = self.path.partition("?")
                monitor.pings.append({"method": self.command, "path": path, "query": query, "body": body})
                if delay:
                    time.sleep(delay)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            do_GET = _record
            do_POST = _record
            do_HEAD = _record

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name):
        # The path is the capability: registered so the secret scan fails any output that shows it.
        token = "ping" + uuid.uuid4().hex
        SECRETS.add(token)
        return f"http://127.0.0.1:{self.port}/{name}/{token}", f"/{name}/{token}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def monitor():
    m = Monitor()
    yield m
    m.close()


def rid(ping):
    return dict(p.split("=", 1) for p in ping["query"].split("&") if p)["rid"]


def test_upload_pings_start_then_success_with_the_summary_and_a_paired_run_id(env, rclone, monitor):
    url, path = monitor.url("top")
    env.add_vault("primary", rclone)
    env.write_config(ping_url=url)
    env.make_backup("b1", {"db.sql.gz": b"x" * 5000, "files.tar": b"y" * 300})
    r = env.run("upload", "b1", "--json")
    assert r.code == 0, r
    assert [(p["method"], p["path"]) for p in monitor.pings] == [("GET", path + "/start"), ("POST", path)]
    start, end = monitor.pings
    assert rid(start) == rid(end) and len(rid(start)) == 36
    assert end["body"].startswith("Transferred: 3 files, ")
    assert "b1 -> primary: uploaded 3 files" in end["body"]
    assert path not in r.stdout + r.stderr

    # A second run has its own run id.
    monitor.pings.clear()
    env.make_backup("b2", {"a.tar": b"z"})
    assert env.run("upload", "b2").code == 0
    assert rid(monitor.pings[0]) != rid(start)


def test_a_failed_upload_pings_fail_with_code_message_and_hint_and_the_vaults_own_url_wins(env, rclone, monitor):
    top, top_path = monitor.url("top")
    own, own_path = monitor.url("own")
    env.add_vault("primary", rclone, ping_url=own)
    env.write_config(ping_url=top)
    env.make_backup("running", {"a.tar": b"a"}, status="running")
    r = env.run("upload", "running")
    assert r.code == 4, r
    assert [(p["method"], p["path"]) for p in monitor.pings] == [("GET", own_path + "/start"), ("POST", own_path + "/fail")]
    body = monitor.pings[1]["body"]
    assert "exit status 4" in body and "error: NOT_COMPLETED:" in body and "hint: " in body
    assert not any(p["path"].startswith(top_path) for p in monitor.pings)

    # A vault that refuses the upload (wrong key): /fail with the storage code.
    monitor.pings.clear()
    env.vaults["primary"]["secret_access_key"] = "wrong-secret-" + uuid.uuid4().hex
    SECRETS.add(env.vaults["primary"]["secret_access_key"])
    env.write_config(ping_url=top)
    env.make_backup("b3", {"a.tar": b"a"})
    r = env.run("upload", "b3")
    assert r.code == 5, r
    assert [p["path"] for p in monitor.pings] == [own_path + "/start", own_path + "/fail"]
    assert "exit status 5\n" in monitor.pings[1]["body"] and "error: SIGNATURE_MISMATCH:" in monitor.pings[1]["body"]


def test_an_uptime_kuma_push_monitor_hears_up_and_down_on_its_one_url_and_no_warning(env, rclone, monitor):
    token = "kuma" + uuid.uuid4().hex
    SECRETS.add(token)
    path = "/api/push/" + token
    env.add_vault("primary", rclone)
    env.write_config(ping_url=f"http://127.0.0.1:{monitor.port}{path}?status=up&msg=OK&ping=")
    env.make_backup("b1", {"a.tar": b"a" * 100})
    r = env.run("upload", "b1")
    assert r.code == 0, r
    # No start ping (Kuma has none); the success ping is a GET with status=up.
    assert [(p["method"], p["path"]) for p in monitor.pings] == [("GET", path)]
    query = dict(q.split("=", 1) for q in monitor.pings[0]["query"].split("&"))
    assert query["status"] == "up" and query["msg"] == "OK"
    assert "monitor ping" not in r.stderr

    monitor.pings.clear()
    env.make_backup("running", {"a.tar": b"a"}, status="running")
    r = env.run("upload", "running")
    assert r.code == 4, r
    assert [(p["method"], p["path"]) for p in monitor.pings] == [("GET", path)]
    query = dict(q.split("=", 1) for q in monitor.pings[0]["query"].split("&"))
    assert query["status"] == "down"
    assert "exit%20status%204" in query["msg"] and "NOT_COMPLETED" in query["msg"]
    assert token not in r.stdout + r.stderr


def test_a_dead_or_failing_monitor_is_only_a_warning(env, rclone):
    dead = f"http://127.0.0.1:{free_port()}/dead/ping{uuid.uuid4().hex}"
    SECRETS.add(dead.rsplit("/", 1)[1])
    env.add_vault("primary", rclone)
    env.write_config(ping_url=dead)
    env.make_backup("b1", {"a.tar": b"a"})
    r = env.run("upload", "b1")
    assert r.code == 0, r
    assert "monitor ping (start) to http://127.0.0.1" in r.stderr and "the run's result is unchanged" in r.stderr
    assert "/dead/" not in r.stderr + r.stdout

    failing = Monitor(status=500)
    try:
        url, _ = failing.url("err")
        env.write_config(ping_url=url)
        env.make_backup("b2", {"a.tar": b"a"})
        r = env.run("upload", "b2")
        assert r.code == 0, r
        assert "answered HTTP 500" in r.stderr
    finally:
        failing.close()


def test_resume_pings_only_when_it_has_something_to_finish(env, rclone, monitor):
    url, path = monitor.url("top")
    env.add_vault("primary", rclone)
    env.write_config(ping_url=url)
    r = env.run("resume", "--all")
    assert r.code == 0, r
    r = env.run("upload", "--pending")
    assert r.code == 0, r
    assert monitor.pings == []  # quiet timer runs never look like a backup that went offsite


def test_config_check_redacts_ping_urls_and_prints_the_bandwidth_timetable(env, rclone, monitor):
    url, path = monitor.url("top")
    env.add_vault("primary", rclone, bandwidth_limit="08:00,2MiB/s Sat-00:00,off 23:00,512KiB")
    env.write_config(ping_url=url)
    r = env.run("config", "check")
    assert r.code == 0, r
    assert f"http://127.0.0.1:{monitor.port}/<redacted>" in r.stdout
    assert "timetable: 08:00 2.0 MiB/s, Sat-00:00 off, 23:00 512.0 KiB/s" in r.stdout
    assert path not in r.stdout + r.stderr
    r = env.run("config", "check", "--json")
    assert r.json["vaults"][0]["ping_url"] == f"http://127.0.0.1:{monitor.port}/<redacted>"


@pytest.mark.parametrize("value", ["ftp://example.com/tok1x", "https:///tok2x", "https://hc-ping.com/a tok3x", "https://hc-ping.com/x#tok4x"])
def test_a_malformed_ping_url_is_invalid_config_naming_file_and_line(env, rclone, value):
    env.add_vault("primary", rclone)
    env.write_config(ping_url=value)
    lineno = next(i for i, l in enumerate(env.config_path.read_text().splitlines(), 1) if l.startswith("ping_url"))
    r = env.run("upload", "--pending", "--json")
    assert r.code == 3, r
    assert f"{env.config_path}:{lineno}" in r.json["error"]["message"]
    assert value[-5:] not in r.stdout + r.stderr  # the URL is a secret even when malformed


# ---------------------------------------------------------------------------------------------
# agent doctor


def iso(offset_seconds=0):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset_seconds))


def write_backup(env, backup_id, files, created, status="completed", btype="database", in_progress=False):
    d = env.backup_dir / backup_id
    d.mkdir(parents=True)
    for rel, size in files.items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_bytes(os.urandom(size) if size else b"")
    (d / "backup.json").write_text(json.dumps({"id": backup_id, "type": btype, "status": status, "created_at": created}))
    if in_progress:
        (d / ".in-progress").write_text("")
    return d


def checks(result):
    return {c["id"]: c for c in result.json["checks"]}


def snapshot(root):
    return sorted((str(p), p.stat().st_mtime_ns, p.stat().st_mode) for p in root.rglob("*"))


def test_doctor_finds_a_stuck_backup_a_shrunken_dump_and_an_overdue_vault_and_changes_nothing(env, rclone):
    env.add_vault("primary", rclone)
    env.add_vault("second", rclone)
    env.write_config()
    # A healthy history for `primary`: one upload just now.
    write_backup(env, "2026-11-24-0300-db", {"db.sql.gz": 10 * (1 << 20), "schema.sql": 5000}, iso(-2 * 86400))
    assert env.run("upload", "2026-11-24-0300-db", "--vault", "primary").code == 0
    # The next night's dump shrank from 10 MiB to 10 KiB.
    write_backup(env, "2026-11-25-0300-db", {"db.sql.gz": 10 * 1024, "schema.sql": 5000}, iso(-86400))
    # A backup still "running" two hours after it started.
    stuck = write_backup(env, "2026-11-26-0100-files", {"site.tar": 100}, iso(-7200), status="running", btype="files", in_progress=True)
    os.utime(stuck / ".in-progress", (time.time() - 7200, time.time() - 7200))
    # A damaged journal file doctor must report, not move.
    (env.state_dir / "journal" / "damaged.json").write_text("{not json")
    before = snapshot(env.state_dir) + snapshot(env.backup_dir)

    r = env.run("doctor", "--json")
    assert r.code == 1, r
    c = checks(r)
    assert c["config"]["status"] == "pass"
    assert c["last_success:primary"]["status"] == "pass"
    assert c["last_success:second"]["status"] == "fail" and c["last_success:second"]["code"] == "BACKUP_OVERDUE"
    assert c["stuck"]["status"] == "fail" and c["stuck"]["code"] == "BACKUP_STUCK"
    assert "2026-11-26-0100-files" in c["stuck"]["explanation"] and "2 h" in c["stuck"]["explanation"]
    assert c["small"]["status"] == "warn" and c["small"]["code"] == "UNEXPECTEDLY_SMALL"
    assert "2026-11-25-0300-db/db.sql.gz is 10.0 KiB, against 10.0 MiB" in c["small"]["explanation"]
    assert "2026-11-24-0300-db/db.sql.gz" in c["small"]["explanation"]
    assert "schema.sql" not in c["small"]["explanation"]
    assert c["uploads"]["status"] == "warn" and "damaged.json" in c["uploads"]["explanation"]
    assert c["disk"]["status"] in ("pass", "warn", "fail") and "backup_dir" in c["disk"]["explanation"]
    # The clock is measured against the vault's Date header (rclone's), within a minute.
    assert "within a minute of vault primary's server clock" in c["clock"]["explanation"]
    for check in r.json["checks"]:
        assert set(check) == {"id", "status", "code", "explanation", "fix"}
        assert check["status"] in ("pass", "warn", "fail", "skip")
        if check["status"] in ("warn", "fail"):
            assert check["code"] and check["fix"], check
    assert snapshot(env.state_dir) + snapshot(env.backup_dir) == before  # doctor only reads

    # Human report: the table, then each finding with its fix.
    r = env.run("doctor", "--max-age", "1000d")
    assert r.code == 1, r  # the stuck backup still fails
    assert "stuck: FAILED BACKUP_STUCK" in r.stdout and "  fix: " in r.stdout
    assert "last_success:second: FAILED" in r.stdout  # never uploaded: overdue at any --max-age


def test_doctor_passes_a_healthy_host_and_reports_interrupted_uploads(env, rclone):
    env.add_vault("primary", rclone)
    env.write_config()
    env.config_path.chmod(0o600)
    write_backup(env, "b1", {"db.sql.gz": 1000}, iso(-3600))
    assert env.run("upload", "b1").code == 0
    r = env.run("doctor", "--json")
    assert r.code == 0, r
    assert r.json["ok"] is True
    c = checks(r)
    assert c["files"]["status"] == "pass", c["files"]
    assert c["uploads"]["status"] == "pass" and c["locks"]["status"] == "pass"

    # An upload the journal holds as interrupted, with an open multipart upload.
    write_backup(env, "b2", {"db.sql.gz": 1000}, iso(-60))
    assert env.run("upload", "b2").code == 0
    journal = next(p for p in (env.state_dir / "journal").glob("*.json") if json.loads(p.read_text())["backup"] == "b2")
    entry = json.loads(journal.read_text())
    entry["state"] = "interrupted"
    entry["last_error"] = "CONNECTION_REFUSED: the vault stopped answering"
    entry["files"][0]["state"] = "uploading"
    entry["files"][0]["upload_id"] = "fake-upload-id"
    journal.write_text(json.dumps(entry))
    r = env.run("doctor", "--json")
    assert r.code == 0, r  # a warning: resume will finish it
    u = checks(r)["uploads"]
    assert u["status"] == "warn" and u["code"] == "UPLOAD_INTERRUPTED"
    assert "CONNECTION_REFUSED" in u["explanation"] and "1 multipart upload(s) open" in u["explanation"]
    assert "agent resume --all" in u["fix"]

    entry["state"] = "failed"
    journal.write_text(json.dumps(entry))
    r = env.run("doctor", "--json")
    assert r.code == 1, r
    assert checks(r)["uploads"]["code"] == "UPLOAD_FAILED"

    # World-readable config and state directory.
    env.config_path.chmod(0o644)
    env.state_dir.chmod(0o755)
    r = env.run("doctor", "--json")
    f = checks(r)["files"]
    assert f["status"] == "warn" and "chmod 600" in f["explanation"] and "chmod 700" in f["explanation"]


def test_doctor_exits_3_for_a_config_error(env, rclone):
    env.add_vault("primary", rclone)
    env.vaults["primary"].pop("bucket")
    env.write_config()
    r = env.run("doctor", "--json")
    assert r.code == 3, r
    c = checks(r)["config"]
    assert c["status"] == "fail" and c["code"] == "INVALID_CONFIG" and "bucket" in c["explanation"]
    env.config_path.write_text("[vaults\n")
    r = env.run("doctor", "--json")
    assert r.code == 3, r
    assert r.json["error"]["code"] == "INVALID_CONFIG"


def test_doctor_names_the_process_holding_an_upload_lock_without_progress(env, rclone):
    import fcntl
    env.add_vault("primary", rclone)
    env.write_config()
    write_backup(env, "b1", {"db.sql.gz": 1000}, iso(-3600))
    assert env.run("upload", "b1").code == 0
    journal = next((env.state_dir / "journal").glob("*.json"))
    entry = json.loads(journal.read_text())
    entry["state"] = "uploading"
    entry["updated"] = int(time.time()) - 3 * 3600
    journal.write_text(json.dumps(entry))
    with open(journal.with_suffix(".lock"), "r") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # this test process plays a hung agent
        r = env.run("doctor", "--json")
        lock = checks(r)["locks"]
        assert lock["status"] == "warn" and lock["code"] == "LOCK_HELD", lock
        assert f"agent process {os.getpid()}" in lock["explanation"] and "no progress for 3 h" in lock["explanation"]
        assert "kill PID" in lock["fix"]
        assert checks(r)["uploads"]["status"] == "pass"  # a locked upload is running, not interrupted
    r = env.run("doctor", "--json")
    assert checks(r)["locks"]["status"] == "pass"
    assert checks(r)["uploads"]["code"] == "UPLOAD_INTERRUPTED"  # the same entry, its agent gone


# ---------------------------------------------------------------------------------------------
# agent fleet


def test_fleet_lists_every_host_prefix_from_the_manifests_and_flags_the_overdue_one(env, rclone, tmp_path):
    bucket = rclone.new_bucket()
    env.add_vault("primary", rclone, bucket=bucket, prefix="fleet/web-01/")
    env.add_vault("db", rclone, bucket=bucket, prefix="fleet/db-01/")
    env.write_config()
    write_backup(env, "web-backup", {"site.tar": 2000}, iso(-3600), btype="files")
    write_backup(env, "db-old", {"db.sql.gz": 2000}, iso(-4 * 86400))
    write_backup(env, "db-older", {"db.sql.gz": 2000}, iso(-5 * 86400))
    assert env.run("upload", "web-backup", "--vault", "primary").code == 0
    assert env.run("upload", "db-older", "db-old", "--vault", "db").code == 0
    s3 = rclone.client()
    # db-01 stopped backing up three days ago: its manifests say when they were uploaded.
    put_manifest(s3, bucket, "db-old", lambda m: m.update(uploaded_at=iso(-3 * 86400), host="db-01.example"), prefix="fleet/db-01/")
    put_manifest(s3, bucket, "db-older", lambda m: m.update(uploaded_at=iso(-4 * 86400), host="db-01.example"), prefix="fleet/db-01/")
    # Not a host of this fleet: outside the parent prefix, or an upload that never finished.
    s3.put_object(Bucket=bucket, Key="elsewhere/x/offsite-manifest.json", Body=b"{}")
    s3.put_object(Bucket=bucket, Key="fleet/half-01/b1/data.tar", Body=b"partial")

    metrics = tmp_path / "fleet.prom"
    r = env.run("fleet", "--json", "--metrics", str(metrics))
    assert r.code == 1, r
    hosts = {h["prefix"]: h for h in r.json["hosts"]}
    assert set(hosts) == {"fleet/db-01/", "fleet/half-01/", "fleet/web-01/"}
    web, db, half = hosts["fleet/web-01/"], hosts["fleet/db-01/"], hosts["fleet/half-01/"]
    assert set(web) == {"prefix", "host", "last_backup", "uploaded_at", "age_seconds", "overdue"}
    assert web["host"] == HOST and web["last_backup"] == "web-backup" and web["overdue"] is False and web["age_seconds"] < 600
    assert db["host"] == "db-01.example" and db["last_backup"] == "db-old" and db["overdue"] is True
    assert 3 * 86400 - 600 < db["age_seconds"] < 3 * 86400 + 600
    assert half["last_backup"] is None and half["uploaded_at"] is None and half["overdue"] is True

    text = metrics.read_text()
    assert 'offsite_agent_fleet_backup_age_seconds{vault="primary",prefix="fleet/db-01/",host="db-01.example"} ' in text
    assert 'offsite_agent_fleet_backup_age_seconds{vault="primary",prefix="fleet/half-01/",host="half-01"} +Inf' in text
    assert 'offsite_agent_fleet_overdue{vault="primary",prefix="fleet/web-01/",host="' + HOST + '"} 0' in text

    # A wider --max-age: nobody with a backup is overdue; the host that never finished still is.
    r = env.run("fleet", "--max-age", "5d")
    assert r.code == 1, r
    assert "OVERDUE" in r.stdout and "db-01.example" in r.stdout and "(this vault)" in r.stdout
    assert "half-01" in r.stderr
    # A folder that is not a host is left out by name or by full prefix; this vault never is.
    s3.put_object(Bucket=bucket, Key="fleet/shared/keys.txt", Body=b"not a host")
    r = env.run("fleet", "--max-age", "5d", "--json", "--exclude", "half-01", "--exclude", "fleet/shared/", "--exclude", "web-01")
    assert r.code == 0, r
    assert {h["prefix"] for h in r.json["hosts"]} == {"fleet/db-01/", "fleet/web-01/"}
    r = env.run("fleet", "--max-age", "5d", "--exclude", "half-01")
    assert r.code == 1 and "shared" in r.stderr and "--exclude" in r.stderr, r
    s3.delete_object(Bucket=bucket, Key="fleet/half-01/b1/data.tar")
    s3.delete_object(Bucket=bucket, Key="fleet/shared/keys.txt")
    r = env.run("fleet", "--max-age", "5d", "--json")
    assert r.code == 0, r
    assert not any(h["overdue"] for h in r.json["hosts"])


# ---------------------------------------------------------------------------------------------
# Bandwidth timetable (the boundary crossing itself is tested with an injected clock in
# Tests/S3Tests/BandwidthTimetableTransferTests.swift)


def test_an_upload_follows_the_timetable_for_every_backup_of_the_run(env, rclone):
    env.add_vault("primary", rclone, bandwidth_limit="00:00,40MiB/s 12:00,50MiB/s")
    env.write_config()
    write_backup(env, "t1", {"a.tar": 300_000}, iso(-60))
    write_backup(env, "t2", {"a.tar": 300_000}, iso(-30))
    hour = time.localtime().tm_hour
    expected = "50.0 MiB/s" if hour >= 12 else "40.0 MiB/s"
    r = env.run("upload", "t1", "t2")
    assert r.code == 0, r
    assert r.stderr.count(f"bandwidth limit now {expected} (bandwidth_limit timetable)") == 2, r.stderr
    # --bandwidth-limit replaces the table for one run.
    write_backup(env, "t3", {"a.tar": 1000}, iso(-10))
    r = env.run("upload", "t3", "--bandwidth-limit", "30MiB/s")
    assert r.code == 0 and "bandwidth_limit timetable" not in r.stderr, r


def test_an_interrupted_upload_pings_fail_with_exit_status_75(env, rclone, monitor):
    import signal
    url, path = monitor.url("top")
    env.add_vault("primary", rclone, bandwidth_limit="256KiB/s")
    env.write_config(ping_url=url)
    write_backup(env, "slow", {"big.tar": 8 << 20}, iso(-60))
    p = env.spawn("upload", "slow")
    deadline = time.time() + 20
    while not monitor.pings and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1)
    p.send_signal(signal.SIGTERM)
    assert p.wait(30) == 75
    assert [q["path"] for q in monitor.pings] == [path + "/start", path + "/fail"]
    assert "exit status 75" in monitor.pings[1]["body"] and "INTERRUPTED" in monitor.pings[1]["body"]
