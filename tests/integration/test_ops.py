"""What an admin lives with besides the transfer: `make install`, the post-backup hook, the
systemd units, the metrics file, the sample config, `config check` warnings, and credentials
without a secret in the config (shared credentials profile, EC2 instance role over IMDSv2)."""
import configparser
import http.server
import json
import os
import pathlib
import re
import shutil
import socket
import stat
import subprocess
import threading
import time

import pytest

import conftest
from conftest import AGENT, ROOT, OUTPUT_LOG, bucket_keys, free_port, get_bytes, new_secret

SAMPLES = ROOT / "samples"


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def make(*args, **kw):
    # RELEASE_BIN on the command line: install the binary under test, no release build.
    proc = subprocess.run(["make", "-s", "-C", str(ROOT), *args, f"RELEASE_BIN={AGENT}"], capture_output=True, text=True, timeout=300, **kw)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


# ---------------------------------------------------------------------------------------------
# make install / uninstall


def test_make_install_lays_out_files_with_modes_and_keeps_an_edited_config(tmp_path):
    dest = tmp_path / "root"
    make("install", f"DESTDIR={dest}")
    prefix = dest / "usr/local"
    assert mode(prefix / "bin/agent") == 0o755
    assert subprocess.run([prefix / "bin/agent", "--version"], capture_output=True, text=True).stdout.strip()
    bash = (prefix / "share/bash-completion/completions/agent").read_text()
    zsh = (prefix / "share/zsh/site-functions/_agent").read_text()
    assert "upload" in bash and "test-connection" in bash
    assert zsh.startswith("#compdef agent")
    config = dest / "etc/offsite-agent/agent.toml"
    assert mode(config) == 0o600
    assert config.read_text() == installed_config_template()
    assert mode(dest / "var/lib/offsite-agent") == 0o700
    units = prefix / "lib/systemd/system"
    assert "ExecStart=-/usr/local/bin/agent resume --all" in (units / "offsite-agent-resume.service").read_text()
    assert (units / "offsite-agent-resume.timer").exists()
    # Installed, not enabled: nothing links the timer into timers.target.
    assert not list(dest.rglob("timers.target.wants"))
    share = prefix / "share/offsite-agent"
    assert mode(share / "samples/post-backup-hook.sh") == 0o755
    for name in ["agent.toml", "cron", "logrotate", "iam-policy.json", "iam-policy-no-delete.json", "iam-policy-object-lock.json", "credentials.md"]:
        assert (share / "samples" / name).is_file(), name
    assert sorted(p.name for p in (share / "providers").glob("*.toml")) == sorted(p.name for p in (ROOT / "providers").glob("*.toml"))

    config.write_text(config.read_text() + "\n# edited by the admin\n")
    proc = make("install", f"DESTDIR={dest}")
    assert "kept existing" in proc.stdout
    assert config.read_text().endswith("# edited by the admin\n")
    assert mode(config) == 0o600

    make("uninstall", f"DESTDIR={dest}")
    assert not (prefix / "bin/agent").exists()
    assert not (units / "offsite-agent-resume.service").exists()
    assert not share.exists()
    assert config.read_text().endswith("# edited by the admin\n"), "uninstall must keep the config"
    assert (dest / "var/lib/offsite-agent").is_dir(), "uninstall must keep the journal"


def test_install_honours_prefix_in_the_units(tmp_path):
    dest = tmp_path / "root"
    make("install", f"DESTDIR={dest}", "PREFIX=/usr")
    service = (dest / "usr/lib/systemd/system/offsite-agent-resume.service").read_text()
    assert "ExecStart=/usr/bin/agent upload --pending" in service
    assert "/usr/local" not in service


# ---------------------------------------------------------------------------------------------
# systemd units


def test_systemd_units_verify(tmp_path):
    # Installed without DESTDIR into a prefix of our own, so the units name a binary that exists.
    prefix = tmp_path / "prefix"
    make("install", f"PREFIX={prefix}", f"SYSCONFDIR={tmp_path}/etc", f"STATEDIR={tmp_path}/state")
    units = prefix / "lib/systemd/system"
    service, timer = units / "offsite-agent-resume.service", units / "offsite-agent-resume.timer"

    # Syntax: both files parse as INI with the sections systemd expects (ExecStart repeats).
    parsed = configparser.ConfigParser(strict=False, interpolation=None)
    parsed.optionxform = str
    parsed.read_string(service.read_text())
    assert parsed.sections() == ["Unit", "Service"]
    assert parsed["Service"]["Type"] == "oneshot"
    text = service.read_text()
    assert f"ExecStart=-{prefix}/bin/agent resume --all" in text
    assert f"ExecStart={prefix}/bin/agent upload --pending" in text
    for setting in ["NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/offsite-agent", "PrivateTmp=yes"]:
        assert setting in text, setting
    t = configparser.ConfigParser(interpolation=None)
    t.optionxform = str
    t.read_string(timer.read_text())
    assert t["Timer"]["OnCalendar"] == "*:0/15"
    assert t["Install"]["WantedBy"] == "timers.target"

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed (apt install systemd); the units were syntax-checked above")
    proc = subprocess.run([analyze, "verify", "--man=no", str(service), str(timer)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout + proc.stderr == "", proc.stdout + proc.stderr
    # The check is real: a misspelt hardening value is reported.
    broken = tmp_path / "broken.service"
    broken.write_text(text.replace("ProtectSystem=strict", "ProtectSystem=strikt"))
    proc = subprocess.run([analyze, "verify", "--man=no", str(broken)], capture_output=True, text=True, timeout=60)
    assert "strikt" in proc.stderr, proc.stderr


def test_cron_line_runs_resume_then_pending_every_15_minutes():
    line = next(l for l in (SAMPLES / "cron").read_text().splitlines() if l and not l.startswith("#"))
    fields = line.split(None, 6)
    assert fields[:5] == ["*/15", "*", "*", "*", "*"] and fields[5] == "root"
    assert fields[6].index("agent resume --all") < fields[6].index("agent upload --pending")


# ---------------------------------------------------------------------------------------------
# the post-backup hook


def run_hook(env, backup_dir, log):
    hook_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    hook_env.update(OFFSITE_AGENT_CONFIG=str(env.config_path), OFFSITE_AGENT_BIN=AGENT, OFFSITE_AGENT_HOOK_LOG=str(log),
                    OFFSITE_AGENT_RETRY_BASE="0.1")
    proc = subprocess.run(["bash", str(SAMPLES / "post-backup-hook.sh"), str(backup_dir)], capture_output=True, text=True,
                          env=hook_env, timeout=120, stdin=subprocess.DEVNULL)
    OUTPUT_LOG.append(proc.stdout + proc.stderr)
    return proc


def last_logged(log):
    line = log.read_text().splitlines()[-1]
    m = re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ exit=(\d+) backup=(\S+) (.*)$", line)
    assert m, line
    return int(m.group(1)), m.group(2), json.loads(m.group(3))


def test_hook_uploads_the_backup_and_logs_the_result(env, rclone, tmp_path):
    hook = (SAMPLES / "post-backup-hook.sh").read_text()
    assert "set -euo pipefail" in hook
    vault = env.add_vault("primary", rclone)
    env.write_config()
    d = env.make_backup("2026-11-21-0300-files", {"db.sql.gz": b"dump" * 1000, "www/files.tar": b"tar" * 500})
    log = tmp_path / "logs" / "hook.log"
    proc = run_hook(env, d, log)
    assert proc.returncode == 0, proc.stderr
    code, backup, result = last_logged(log)
    assert (code, backup, result["ok"]) == (0, str(d), True)
    assert mode(log) == 0o600
    s3 = rclone.client()
    assert get_bytes(s3, vault["bucket"], "host-a/2026-11-21-0300-files/db.sql.gz") == b"dump" * 1000
    assert "host-a/2026-11-21-0300-files/offsite-manifest.json" in bucket_keys(s3, vault["bucket"])


def test_hook_exits_4_for_a_backup_still_being_written(env, rclone, tmp_path):
    env.add_vault("primary", rclone)
    env.write_config()
    d = env.make_backup("2026-11-21-0400-files", {"a.tar": b"x"}, status="running")
    log = tmp_path / "hook.log"
    proc = run_hook(env, d, log)
    assert proc.returncode == 4, proc.stderr
    code, _, result = last_logged(log)
    assert code == 4 and result["error"]["code"] == "NOT_COMPLETED"


def test_hook_exits_75_when_the_storage_cannot_be_reached(env, tmp_path):
    env.add_vault("primary", endpoint=f"http://127.0.0.1:{free_port()}", bucket="b", access_key_id="AKHOOK",
                  secret_access_key=new_secret(), max_attempts=1)
    env.write_config()
    d = env.make_backup("2026-11-21-0500-files", {"a.tar": b"x" * 100})
    log = tmp_path / "hook.log"
    proc = run_hook(env, d, log)
    assert proc.returncode == 75, proc.stderr
    code, _, result = last_logged(log)
    # The cause, named with test-connection's code (issue 18, item 5); still 75: the timer tries again.
    assert code == 75 and result["error"]["code"] == "CONNECTION_REFUSED"


def test_hook_without_a_backup_is_a_usage_error(tmp_path):
    proc = subprocess.run(["bash", str(SAMPLES / "post-backup-hook.sh")], capture_output=True, text=True)
    assert proc.returncode == 2 and "usage:" in proc.stderr


# ---------------------------------------------------------------------------------------------
# metrics


def parse_prometheus(text):
    """A small parser for the text exposition format: returns {(name, labels): value} and
    {name: type}; fails on anything malformed."""
    samples, types, helps = {}, {}, set()
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            assert kind in ("counter", "gauge", "untyped", "summary", "histogram"), line
            assert name not in types, f"family declared twice: {name}"
            types[name] = kind
            continue
        assert not line.startswith("#") and line, line
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (\S+)( -?\d+)?', line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        assert name in types, f"sample before its TYPE: {line}"
        if types[name] == "counter":
            assert name.endswith("_total"), name
        samples[(name, labels)] = float(value)
    assert set(types) <= helps
    return samples, types


def metric(samples, name, vault):
    return samples[(name, f'vault="{vault}"')]


def test_metrics_file_parses_and_matches_what_was_uploaded(env, rclone, tmp_path):
    prom = tmp_path / "textfile" / "offsite_agent.prom"
    env.add_vault("primary", rclone)
    env.add_vault("down", endpoint=f"http://127.0.0.1:{free_port()}", bucket="b", access_key_id="AKDOWN",
                  secret_access_key=new_secret(), max_attempts=2)
    env.write_config(metrics_file=str(prom))
    files = {"a.tar": b"a" * 12345, "sub/b.tar": b"b" * 678}
    env.make_backup("2026-11-21-0300-files", files)

    before = time.time()
    r = env.run("upload", "2026-11-21-0300-files", "--vault", "primary", "--json")
    assert r.code == 0, r
    samples, types = parse_prometheus(prom.read_text())
    assert mode(prom) == 0o644
    assert types["offsite_agent_uploaded_bytes_total"] == "counter"
    assert types["offsite_agent_last_success_timestamp_seconds"] == "gauge"
    assert metric(samples, "offsite_agent_uploaded_bytes_total", "primary") == r.json["bytes_sent"]
    assert metric(samples, "offsite_agent_uploaded_files_total", "primary") == len(r.json["files"])
    assert before - 1 <= metric(samples, "offsite_agent_last_success_timestamp_seconds", "primary") <= time.time() + 1
    assert metric(samples, "offsite_agent_last_attempt_ok", "primary") == 1
    assert metric(samples, "offsite_agent_retries_total", "primary") == 0
    first_success = metric(samples, "offsite_agent_last_success_timestamp_seconds", "primary")

    # A second backup adds to the counters.
    env.make_backup("2026-11-22-0300-files", {"c.tar": b"c" * 1000})
    r2 = env.run("upload", "2026-11-22-0300-files", "--vault", "primary", "--json")
    assert r2.code == 0, r2
    samples, _ = parse_prometheus(prom.read_text())
    assert metric(samples, "offsite_agent_uploaded_bytes_total", "primary") == r.json["bytes_sent"] + r2.json["bytes_sent"]
    assert metric(samples, "offsite_agent_uploaded_files_total", "primary") == len(r.json["files"]) + len(r2.json["files"])

    # A failed run: last attempt not ok, last success unchanged for that vault, retries counted.
    r3 = env.run("upload", "2026-11-22-0300-files", "--vault", "down", "--json")
    assert r3.code == 75, r3
    samples, _ = parse_prometheus(prom.read_text())
    assert metric(samples, "offsite_agent_last_attempt_ok", "down") == 0
    assert metric(samples, "offsite_agent_last_success_timestamp_seconds", "down") == 0
    assert metric(samples, "offsite_agent_retries_total", "down") == 1
    assert metric(samples, "offsite_agent_last_attempt_ok", "primary") == 1
    assert metric(samples, "offsite_agent_last_success_timestamp_seconds", "primary") >= first_success

    # test-connection is recorded on its own gauges, never as an upload success.
    ok = env.run("test-connection", "--vault", "primary")
    assert ok.code == 0, ok
    bad = env.run("test-connection", "--vault", "down")
    assert bad.code in (3, 5), bad  # "b" breaks the bucket-name rules: a config failure
    samples, types = parse_prometheus(prom.read_text())
    assert types["offsite_agent_connection_test_ok"] == "gauge"
    assert metric(samples, "offsite_agent_connection_test_ok", "primary") == 1
    assert metric(samples, "offsite_agent_connection_test_ok", "down") == 0
    assert metric(samples, "offsite_agent_connection_test_timestamp_seconds", "down") >= int(before)
    assert metric(samples, "offsite_agent_last_success_timestamp_seconds", "down") == 0


# ---------------------------------------------------------------------------------------------
# the sample config and config check


def installed_config_template():
    """What `make install` and the .deb put in /etc/offsite-agent/agent.toml."""
    return subprocess.run([ROOT / "packaging/config-template.sh", SAMPLES / "agent.toml"], capture_output=True, text=True, check=True).stdout


def test_installed_config_leaves_prefix_and_backup_dir_to_their_defaults(env, tmp_path):
    """The installed config is the sample with its host-specific placeholders commented out: hosts that
    only fill in bucket and key must not share the sample's `web-01/` prefix (review finding 2)."""
    sample = (SAMPLES / "agent.toml").read_text()
    assert re.search(r'^prefix *= "web-01/"', sample, re.M) and re.search(r"^backup_dir *=", sample, re.M)
    template = installed_config_template()
    assert not re.search(r"^(prefix|backup_dir) *=", template, re.M), template
    assert re.search(r'^#prefix *= "web-01/" .*"<hostname>/"', template, re.M)
    assert re.search(r'^#backup_dir *= "/tmp/cloudpilot-backups" .*default', template, re.M)
    # Only those two lines differ from the sample.
    changed = [(a, b) for a, b in zip(sample.splitlines(), template.splitlines()) if a != b]
    assert len(sample.splitlines()) == len(template.splitlines()) and len(changed) == 2, changed

    config = tmp_path / "agent.toml"
    config.write_text(template)
    config.chmod(0o600)
    creds = {"AWS_ACCESS_KEY_ID": "AKIASAMPLE0000000000", "AWS_SECRET_ACCESS_KEY": new_secret()}
    r = env.run("config", "check", "--config", str(config), "--json", env=creds)
    assert r.code == 0, r
    hostname = socket.gethostname()
    assert [v["prefix"] for v in r.json["vaults"]] == [f"{hostname}/"], r.json
    r = env.run("config", "check", "--config", str(config), env=creds)
    assert r.code == 0 and "backup_dir  /tmp/cloudpilot-backups" in r.stdout, r

    # A sample whose placeholders the patterns no longer find fails the build instead of shipping them.
    changed_sample = tmp_path / "sample.toml"
    changed_sample.write_text(re.sub(r"^prefix .*$", 'prefix = "web-01/"', sample, flags=re.M))
    proc = subprocess.run([ROOT / "packaging/config-template.sh", changed_sample], capture_output=True, text=True)
    assert proc.returncode != 0 and "still sets backup_dir or prefix" in proc.stderr, proc


def uncomment_settings(text):
    """Turns the sample's ready-made settings (`#[vaults.x]`, `#key = value`) into live ones."""
    return re.sub(r"^#(?=\[|[a-z_]+ *=)", "", text, flags=re.M)


def test_sample_config_with_credentials_from_the_environment_passes_config_check(env, tmp_path):
    sample = tmp_path / "agent.toml"
    sample.write_text((SAMPLES / "agent.toml").read_text())
    sample.chmod(0o600)
    creds = {"AWS_ACCESS_KEY_ID": "AKIASAMPLE0000000000", "AWS_SECRET_ACCESS_KEY": new_secret()}

    r = env.run("config", "check", "--config", str(sample), "--json", env=creds)
    assert r.code == 0, r
    assert [v["name"] for v in r.json["vaults"]] == ["primary"]
    assert r.json["warnings"] == []

    # Without credentials it fails and says where to put them.
    r = env.run("config", "check", "--config", str(sample), "--json")
    assert r.code == 3 and "access_key_id" in r.json["error"]["hint"], r

    # Every provider block of the sample, uncommented, is valid too.
    sample.write_text(uncomment_settings(sample.read_text()))
    r = env.run("config", "check", "--config", str(sample), "--json", env=creds)
    assert r.code == 0, r
    by_name = {v["name"]: v for v in r.json["vaults"]}
    assert {v["provider"] for v in by_name.values()} == {"aws", "r2", "b2", "wasabi", "minio", "spaces", "other"}
    assert by_name["r2"]["endpoint"] == "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com"
    assert by_name["b2"]["endpoint"] == "https://s3.us-west-004.backblazeb2.com"
    assert by_name["spaces"]["endpoint"] == "https://fra1.digitaloceanspaces.com"
    assert by_name["primary"]["endpoint"] == "https://s3.eu-central-1.amazonaws.com"


def test_config_check_warns_about_readable_secrets_and_plain_http(env, tmp_path):
    secret_file = tmp_path / "primary.secret"
    secret_file.write_text(new_secret() + "\n")
    secret_file.chmod(0o644)
    env.add_vault("primary", endpoint="http://192.0.2.10:9000", bucket="b", access_key_id="AKWARN", secret_access_key_file=str(secret_file))
    env.add_vault("local", endpoint="http://127.0.0.1:9000", bucket="b", access_key_id="AKWARN", secret_access_key=new_secret())
    env.write_config()
    env.config_path.chmod(0o640)
    r = env.run("config", "check", "--json")
    assert r.code == 0, r
    codes = sorted((w["code"], w["message"].split(" ")[0]) for w in r.json["warnings"])
    messages = " | ".join(w["message"] for w in r.json["warnings"])
    assert [c for c, _ in codes] == ["PLAIN_HTTP", "READABLE_BY_OTHERS", "READABLE_BY_OTHERS"], messages
    assert str(env.config_path) in messages and str(secret_file) in messages
    assert "192.0.2.10" in messages and "127.0.0.1" not in messages
    assert "warning: READABLE_BY_OTHERS" in r.stderr and f"hint: chmod 600 {secret_file}" in r.stderr

    env.config_path.chmod(0o600)
    secret_file.chmod(0o600)
    r = env.run("config", "check", "--json")
    assert [w["code"] for w in r.json["warnings"]] == ["PLAIN_HTTP"]


# ---------------------------------------------------------------------------------------------
# --log-level


def test_log_level_filters_stderr_and_the_log_file(env, rclone):
    env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("b1", {"a.tar": b"a"})
    r = env.run("upload", "b1", "--log-level", "warning")
    assert r.code == 0, r
    assert "Transferred:" not in r.stderr
    assert "Transferred:" not in (env.state_dir / "agent.log").read_text()
    env.make_backup("b2", {"a.tar": b"a"})
    r = env.run("upload", "b2")
    assert "Transferred:" in r.stderr
    line = next(l for l in (env.state_dir / "agent.log").read_text().splitlines() if "Transferred:" in l)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO Transferred: ", line), line
    r = env.run("upload", "b2", "--log-level", "loud")
    assert r.code == 2, r


# ---------------------------------------------------------------------------------------------
# credentials without a secret in the config


def test_profile_from_a_shared_credentials_file_signs_requests_rclone_accepts(env, rclone, tmp_path):
    shared = tmp_path / "aws-credentials"
    shared.write_text(f"[default]\naws_access_key_id = AKWRONG\naws_secret_access_key = {new_secret()}\n\n"
                      f"[backup]\naws_access_key_id = {rclone.access_key}\naws_secret_access_key = {rclone.secret_key}\n")
    shared.chmod(0o600)
    vault = env.add_vault("primary", endpoint=rclone.endpoint, bucket=rclone.new_bucket(), credentials="profile:backup")
    env.write_config()
    env.make_backup("b1", {"a.tar": b"profile" * 100})
    extra = {"AWS_SHARED_CREDENTIALS_FILE": str(shared)}
    r = env.run("config", "check", "--json", env=extra)
    assert r.code == 0 and r.json["vaults"][0]["credentials"] == "profile:backup", r
    r = env.run("upload", "b1", "--json", env=extra)
    assert r.code == 0, r
    assert get_bytes(rclone.client(), vault["bucket"], "host-a/b1/a.tar") == b"profile" * 100


class IMDSStub:
    """A loopback EC2 instance metadata service, IMDSv2 only: a token from PUT /latest/api/token
    (TTL header required), then the role name and its credentials with that token."""

    def __init__(self, access_key, secret_key, session_token, role="offsite-agent-role", role_answer=None, padding=0):
        self.requests = []
        self.token = "imds-" + new_secret()
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def answer(self, status, body):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):
                stub.requests.append(("PUT", self.path, dict(self.headers)))
                if self.path != "/latest/api/token" or not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    return self.answer(400, "")
                self.answer(200, stub.token)

            def do_GET(self):
                stub.requests.append(("GET", self.path, dict(self.headers)))
                if self.headers.get("X-aws-ec2-metadata-token") != stub.token:
                    return self.answer(401, "")
                base = "/latest/meta-data/iam/security-credentials/"
                if self.path == base:
                    return self.answer(200, (role_answer if role_answer is not None else role) + "\n")
                if self.path == base + role:
                    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 6 * 3600))
                    return self.answer(200, json.dumps({
                        "Code": "Success", "LastUpdated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "Type": "AWS-HMAC",
                        "AccessKeyId": access_key, "SecretAccessKey": secret_key, "Token": session_token, "Expiration": expiry,
                        "Padding": "p" * padding}))
                self.answer(404, "")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_instance_role_over_imdsv2_signs_requests_rclone_accepts(env, rclone):
    session_token = new_secret("tok")
    stub = IMDSStub(rclone.access_key, rclone.secret_key, session_token)
    try:
        vault = env.add_vault("primary", endpoint=rclone.endpoint, bucket=rclone.new_bucket(), credentials="instance")
        env.write_config()
        env.make_backup("b1", {"a.tar": b"instance" * 100})
        extra = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": stub.endpoint}
        r = env.run("upload", "b1", "--json", env=extra)
        assert r.code == 0, r
        assert get_bytes(rclone.client(), vault["bucket"], "host-a/b1/a.tar") == b"instance" * 100
        methods = [(m, p) for m, p, _ in stub.requests]
        assert methods[:3] == [("PUT", "/latest/api/token"), ("GET", "/latest/meta-data/iam/security-credentials/"),
                               ("GET", "/latest/meta-data/iam/security-credentials/offsite-agent-role")]
        assert int(stub.requests[0][2]["X-aws-ec2-metadata-token-ttl-seconds"]) > 0

        r = env.run("config", "check", "--json", env=extra)
        assert r.code == 0 and r.json["vaults"][0]["credentials"] == "instance role", r
    finally:
        stub.stop()

    # No metadata service: a config error that says where credentials = "instance" works.
    r = env.run("upload", "b1", "--json", "--force", env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://127.0.0.1:{free_port()}"})
    assert r.code == 3, r
    assert r.json["error"]["code"] == "INVALID_CONFIG" and "metadata service" in r.json["error"]["message"]


@pytest.mark.parametrize("role_answer", ["../../latest/api/token", "role\nsecond-role", "r" * 65, "..", "r%2F..", "role\x1b[2J"])
def test_instance_role_hostile_role_name_is_refused_before_any_further_request(env, role_answer):
    stub = IMDSStub("AKIDUNUSED", new_secret(), new_secret("tok"), role_answer=role_answer)
    try:
        env.add_vault("primary", endpoint="http://127.0.0.1:9", bucket="unused", credentials="instance")
        env.write_config()
        r = env.run("config", "check", "--json", env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": stub.endpoint})
        assert r.code == 3, r
        assert "INVALID_CONFIG" in r.stdout + r.stderr and "role" in r.stdout + r.stderr, r
        assert len(role_answer) <= 2 or role_answer not in r.stdout + r.stderr, r
        # The token, then the listing: nothing was asked with the hostile name in the path.
        assert [(m, p) for m, p, _ in stub.requests] == [("PUT", "/latest/api/token"), ("GET", "/latest/meta-data/iam/security-credentials/")]
    finally:
        stub.stop()


def test_instance_role_oversized_credentials_answer_is_refused(env):
    secret = new_secret()
    stub = IMDSStub("AKIDUNUSED", secret, new_secret("tok"), padding=100 << 10)
    try:
        env.add_vault("primary", endpoint="http://127.0.0.1:9", bucket="unused", credentials="instance")
        env.write_config()
        r = env.run("config", "check", "--json", env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": stub.endpoint})
        assert r.code == 3, r
        assert "64 KiB" in r.stdout + r.stderr and secret not in r.stdout + r.stderr, r
    finally:
        stub.stop()


# ---------------------------------------------------------------------------------------------
# least-privilege AWS policy


def policy_actions():
    policy = json.loads((SAMPLES / "iam-policy.json").read_text())
    actions = []
    for statement in policy["Statement"]:
        a = statement["Action"]
        actions += [a] if isinstance(a, str) else a
    return actions


def test_iam_policy_grants_exactly_the_documented_actions():
    assert sorted(policy_actions()) == sorted([
        "s3:PutObject", "s3:GetObject", "s3:ListBucket", "s3:DeleteObject", "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation"])
    policy = json.loads((SAMPLES / "iam-policy.json").read_text())
    for statement in policy["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert all(r in ("arn:aws:s3:::acme-backups", "arn:aws:s3:::acme-backups/web-01/*") for r in resources), resources
        if statement["Action"] == "s3:ListBucket":
            assert statement["Condition"]["StringLike"]["s3:prefix"] == ["web-01/", "web-01/*"]


def start_moto(actions):
    proc = subprocess.Popen([conftest.sys.executable, str(ROOT / "tests/support/moto_server.py"), "--actions", ",".join(actions)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info = json.loads(proc.stdout.readline())
    return proc, info


@pytest.mark.parametrize("missing", [None, "s3:PutObject"])
def test_an_upload_needs_no_action_beyond_the_policy(env, missing):
    actions = [a for a in policy_actions() if a != missing]
    proc, info = start_moto(actions)
    try:
        secret = info["secret_key"]
        conftest.SECRETS.add(secret)
        env.add_vault("primary", endpoint=info["endpoint"], bucket=info["bucket"], access_key_id=info["access_key"],
                      secret_access_key=secret, part_size="5MiB", multipart_threshold="5MiB")
        env.write_config()
        env.make_backup("b1", {"small.tar": b"s" * 1000, "big.tar": os.urandom(6 << 20)})
        r = env.run("upload", "b1", "--json")
        if missing is None:
            assert r.code == 0, r
        else:
            assert r.code == 5 and r.json["error"]["code"] == "PERMISSION_DENIED" and missing in r.json["error"]["message"] + r.json["error"]["hint"], r
    finally:
        proc.stdin.close()
        proc.wait(20)
