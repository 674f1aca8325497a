"""Issue 18, an admin's first hour: each rough edge found by trying the agent as a new user would,
with `rclone serve s3` as the vault. One test (or a few) per item of the issue."""
import json
import os
import pty
import re
import select
import signal
import subprocess
import time

import pytest

from conftest import AGENT, OUTPUT_LOG, free_port, get_bytes, read_spawn_output
from faultproxy import FaultProxy
from test_resume import kill_9_after_parts
from test_upload import pattern

MiB = 1 << 20


def log_text(env):
    path = env.state_dir / "agent.log"
    return path.read_text() if path.exists() else ""


def put_requests(proxy, since=0):
    return [q for q in proxy.requests[since:] if q.method == "PUT"]


# 1. Dated by when the backup was made, never by when it was uploaded.

def test_backup_dated_by_directory_time_not_upload_and_prune_keeps_real_newest(env, rclone):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    old = env.make_backup("older", {"a.tar": b"old"}, manifest=False)
    new = env.make_backup("newer", {"a.tar": b"new"}, manifest=False)
    os.utime(old, (1_700_000_000, 1_700_000_000))  # 2023-11-14
    os.utime(new, (1_750_000_000, 1_750_000_000))  # 2025-06-15
    # The newer backup goes offsite first, the older one later (a catch-up).
    r = env.run("upload", "newer")
    assert r.code == 0, r
    assert "no valid created_at" in r.stderr and "2025-06-15" in r.stderr
    time.sleep(1.1)
    r = env.run("upload", "older")
    assert r.code == 0, r
    s3 = rclone.client()
    manifest = json.loads(get_bytes(s3, vault["bucket"], "host-a/older/offsite-manifest.json"))
    assert manifest["created_at"].startswith("2023-11-14")

    # A re-upload never moves the date, even after the directory's time changed.
    os.utime(old, None)
    r = env.run("upload", "older", "--force")
    assert r.code == 0, r
    manifest = json.loads(get_bytes(s3, vault["bucket"], "host-a/older/offsite-manifest.json"))
    assert manifest["created_at"].startswith("2023-11-14")

    listing = env.run("list", "--json")
    dates = {b["id"]: b["created_at"] for b in listing.json["backups"]}
    assert dates["older"].startswith("2023-11-14") and dates["newer"].startswith("2025-06-15")
    r = env.run("prune", "--keep-last", "1", "--dry-run")
    assert r.code == 0, r
    assert "would delete older" in r.stdout and "would delete newer" not in r.stdout


# 2. Only completed backups go offsite with --pending.

def test_pending_takes_only_completed_backups_and_names_the_others(env, rclone):
    env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("done", {"a.tar": b"a"})
    env.make_backup("nojson", {"a.tar": b"b"}, manifest=False)
    env.make_backup("running", {"a.tar": b"c"}, status="running")
    marked = env.make_backup("marked", {"a.tar": b"d"})
    (marked / ".in-progress").write_text("")
    r = env.run("upload", "--pending")
    assert r.code == 0, r
    assert "done -> primary: uploaded" in r.stdout
    for name in ("nojson", "running", "marked"):
        assert f"skipped: {name}: NOT_COMPLETED" in r.stderr, r
        assert f"{name} -> primary" not in r.stdout
    listing = env.run("list", "--json")
    assert [b["id"] for b in listing.json["backups"]] == ["done"]
    # Named explicitly, a backup without backup.json is still taken.
    r = env.run("upload", "nojson")
    assert r.code == 0, r


# 3. A completed backup is never sent again because of a failed attempt.

def test_failed_attempts_never_reopen_a_completed_upload(env, rclone):
    proxy = FaultProxy(rclone.port)
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    env.make_backup("b1", {"big.tar": pattern(12 * MiB), "small.tar": b"x" * 1000})
    assert env.run("upload", "b1").code == 0

    good_endpoint, good_bucket = vault["endpoint"], vault["bucket"]
    vault["endpoint"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env.write_config()
    r = env.run("upload", "b1")
    assert r.code == 75 and "CONNECTION_REFUSED" in r.stderr, r
    vault["endpoint"] = good_endpoint
    vault["bucket"] = rclone.new_bucket() + "-missing"
    env.write_config()
    r = env.run("upload", "b1")
    assert r.code != 0, r
    status = env.run("status", "--json")
    assert [e["state"] for e in status.json["entries"]] == ["completed"], status

    vault["bucket"] = good_bucket
    env.write_config()
    before = len(proxy.requests)
    r = env.run("upload", "b1")
    assert r.code == 0, r
    assert "already complete offsite" in r.stdout
    assert "afresh" not in r.stderr
    assert put_requests(proxy, before) == []
    proxy.close()


# 4. Every failed run leaves its error in agent.log.

def test_failed_run_leaves_one_error_line_in_the_log(env, rclone):
    env.add_vault("primary", rclone, endpoint=f"http://127.0.0.1:{free_port()}", max_attempts=2)
    env.write_config()
    env.make_backup("b1", {"a.tar": b"a"})
    r = env.run("upload", "b1")
    assert r.code == 75, r
    errors = [l for l in log_text(env).splitlines() if " ERROR " in l]
    assert len(errors) == 1, errors
    assert "CONNECTION_REFUSED" in errors[0] and "backup b1" in errors[0] and "vault primary" in errors[0]
    assert "hint: " in errors[0] and "agent test-connection" in errors[0]
    # The same for a command that fails as a whole.
    r = env.run("list")
    assert r.code == 75, r
    errors = [l for l in log_text(env).splitlines() if " ERROR " in l]
    assert len(errors) == 2 and "[vault primary]" in errors[1], errors
    # And for a failed connection test.
    assert env.run("test-connection").code == 5
    errors = [l for l in log_text(env).splitlines() if " ERROR " in l]
    assert len(errors) == 3 and "CONNECTION_REFUSED" in errors[2] and "test-connection, vault primary" in errors[2], errors


# 5. Network failures say what failed; 6. retry warnings name the operation, not a struct.

@pytest.mark.parametrize("command", [("upload", "b1"), ("list",), ("restore", "b1"), ("resume", "--all")])
def test_refused_connection_is_named_with_exit_75(env, rclone, command):
    vault = env.add_vault("primary", rclone, part_size="5MiB", multipart_threshold="5MiB", max_attempts=3)
    env.write_config()
    if command[0] == "resume":
        # A journal entry to resume: an upload killed after its first parts.
        proxy = FaultProxy(rclone.port)
        vault["endpoint"] = proxy.endpoint
        env.write_config()
        env.make_backup("b1", {"big.tar": pattern(40 * MiB)})
        kill_9_after_parts(proxy, env.spawn("upload", "b1", "--bandwidth-limit", "8MiB/s"), 2)
        proxy.close()
    else:
        env.make_backup("b1", {"a.tar": b"a"})
        if command[0] == "restore":
            assert env.run("upload", "b1").code == 0
    vault["endpoint"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env.write_config()
    r = env.run(*command)
    assert r.code == 75, r
    assert "error: CONNECTION_REFUSED:" in r.stderr, r
    assert "agent test-connection" in r.stderr
    assert "RETRIES_EXHAUSTED" not in r.stderr
    warnings = [l for l in r.stderr.splitlines() if l.startswith("warning:")]
    assert warnings, r
    for w in warnings + log_text(env).splitlines():
        assert "Operation(" not in w and "ResponseSink" not in w, w
    for w in warnings:
        assert len(w) < 300, w
    op = r"(HeadObject|GetObject|ListObjectsV2|PutObject|ListParts) bkt-\w+/\S*"
    assert any(re.search(op + r": attempt 1/3 failed: ", w) for w in warnings), warnings


def test_unresolvable_host_is_dns_failure_and_test_connection_agrees(env, rclone):
    env.add_vault("primary", rclone, endpoint="http://no-such-host.invalid:9000", max_attempts=2)
    env.write_config()
    env.make_backup("b1", {"a.tar": b"a"})
    r = env.run("upload", "b1")
    assert r.code == 75 and "error: DNS_FAILURE:" in r.stderr, r
    r = env.run("list")
    assert r.code == 75 and "error: DNS_FAILURE:" in r.stderr, r
    t = env.run("test-connection", "--json")
    assert t.code == 5 and any(c["code"] == "DNS_FAILURE" for c in t.json["checks"]), t


def test_multipart_retry_names_the_part(env, rclone):
    from faultproxy import Rule
    proxy = FaultProxy(rclone.port)
    env.add_vault("primary", rclone, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    env.make_backup("b1", {"big.tar": pattern(11 * MiB)})
    proxy.add(Rule(match=lambda q: q.query.get("partNumber") == "2", action="503", times=1))
    r = env.run("upload", "b1")
    assert r.code == 0, r
    assert re.search(r"warning: UploadPart 2 of host-a/b1/big\.tar: attempt 1/5 failed: HTTP 503", r.stderr), r
    proxy.close()


# 7. Each message once; --quiet prints only errors.

def test_each_fact_said_once_and_quiet(env, rclone):
    env.add_vault("primary", rclone, keep_last=1)
    env.write_config()
    env.make_backup("b1", {"a.tar": b"a"})
    env.make_backup("b2", {"a.tar": b"b"})
    assert env.run("upload", "b1").code == 0
    r = env.run("upload", "b1")
    assert r.code == 0
    assert (r.stdout + r.stderr).count("already complete offsite") == 1, r
    assert env.run("upload", "b2").code == 0
    r = env.run("prune", "--dry-run")
    assert r.code == 0
    assert r.stdout.count("would delete b1") == 1 and "b1" not in r.stderr, r

    q = env.run("upload", "b2", "--quiet")
    assert q.code == 0 and q.stdout == "" and q.stderr == "", q
    assert "already complete offsite" in log_text(env)

    # test-connection's deciding failure: said once (on stderr, as error and hint).
    env.vaults["primary"]["bucket"] = "bkt-missing-" + str(free_port())
    env.write_config()
    t = env.run("test-connection")
    assert t.code == 5, t
    explanation = t.stderr.split("error: NO_SUCH_BUCKET: bucket: ", 1)[1].splitlines()[0]
    assert explanation not in t.stdout and (t.stdout + t.stderr).count(explanation) == 1, t

    env.vaults["primary"]["endpoint"] = f"http://127.0.0.1:{free_port()}"
    env.vaults["primary"]["max_attempts"] = 1
    env.write_config()
    q = env.run("upload", "b2", "--quiet", "--force")
    assert q.code == 75 and q.stdout == "", q
    assert q.stderr.startswith("error: CONNECTION_REFUSED") and "warning" not in q.stderr, q


# 8. resume honours limits.

def test_resume_takes_limits_and_keeps_those_the_upload_started_with(env, rclone):
    proxy = FaultProxy(rclone.port)
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    content = pattern(60 * MiB, 8)
    env.make_backup("b1", {"big.tar": content})
    p = env.spawn("upload", "b1", "--bandwidth-limit", "16MiB/s", "--concurrency", "2")
    kill_9_after_parts(proxy, p, 3)
    entry = json.loads(next((env.state_dir / "journal").glob("*.json")).read_text())
    assert entry["bandwidth_limit"] == 16 * MiB and entry["concurrency"] == 2

    r = env.run("resume", "--all", "--bandwidth-limit", "0")
    assert r.code == 2 and "--bandwidth-limit must be larger than zero" in r.stderr, r
    r = env.run("resume", "--all", "--concurrency", "3")
    assert r.code == 0, r
    assert "bandwidth limit 16.0 MiB/s" in r.stderr and "concurrency 3" in r.stderr, r
    assert get_bytes(rclone.client(), vault["bucket"], "host-a/b1/big.tar") == content
    proxy.close()


# 9. Flags are validated like the config.

@pytest.mark.parametrize("args,expected", [
    (("upload", "b1", "--part-size", "1TiB"), "outside"),
    (("upload", "b1", "--part-size", "1MiB"), "outside"),
    (("upload", "b1", "--bandwidth-limit", "0"), "larger than zero"),
    (("upload", "b1", "--concurrency", "0"), "outside 1...64"),
    (("status", "--max-age", "26"), "with a unit"),
    (("cleanup", "--older-than", "24"), "with a unit"),
])
def test_flags_checked_like_the_config(env, rclone, args, expected):
    env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("b1", {"a.tar": b"a"})
    r = env.run(*args)
    assert r.code == 2, r
    assert expected in r.stderr, r
    assert not (env.state_dir / "journal").exists() or not list((env.state_dir / "journal").glob("*.json"))


# 10. Progress that tells the truth on a terminal.

def run_on_terminal(env, *args, kill_when=None):
    """Runs the agent with stderr on a pseudo-terminal; returns (exit code, stdout, terminal text)."""
    master, slave = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full_env["OFFSITE_AGENT_CONFIG"] = str(env.config_path)
    proc = subprocess.Popen([AGENT, *args], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=full_env)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data and proc.poll() is not None:
                break
            chunks.append(data)
            if kill_when is not None and kill_when(b"".join(chunks).decode(errors="replace")):
                proc.send_signal(signal.SIGKILL)
                kill_when = None
        elif proc.poll() is not None:
            break
    os.close(master)
    out = proc.stdout.read().decode()
    proc.wait(30)
    text = b"".join(chunks).decode(errors="replace")
    OUTPUT_LOG.append(out + text)
    return proc.returncode, out, text


PROGRESS = re.compile(r"b1 -> primary: ([\d.]+) (B|KiB|MiB|GiB) / [\d.]+ MiB \(([\d.]+)%\) ([\d.]+) (B|KiB|MiB|GiB)/s")
UNIT = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def progress_samples(text):
    return [(float(m.group(3)), float(m.group(4)) * UNIT[m.group(5)]) for m in PROGRESS.finditer(text)]


def test_progress_moves_smoothly_rate_is_this_runs_and_lines_never_glued(env, rclone):
    env.add_vault("primary", rclone, part_size="16MiB", multipart_threshold="16MiB", concurrency=2)
    env.write_config()
    content = pattern(64 * MiB, 10)
    env.make_backup("b1", {"big.tar": content})
    # First run: killed once about 40 % has been sent.
    code, _, text = run_on_terminal(env, "upload", "b1", "--bandwidth-limit", "8MiB/s",
                                    kill_when=lambda t: any(p >= 40 for p, _ in progress_samples(t)))
    assert code == -signal.SIGKILL, text
    samples = progress_samples(text)
    percents = [p for p, _ in samples]
    # Whole-part steps would be 0, 25, 50 %: the line moves in between.
    assert any(0 < p < 25 for p in percents) and any(25 < p < 50 for p in percents), percents
    assert "\x1b[K" in text

    code, out, text = run_on_terminal(env, "resume", "--all")
    assert code == 0, text
    samples = progress_samples(text)
    assert samples, text
    # The rate is this run's bytes over a moving window: never the earlier run's bytes.
    assert max(r for _, r in samples) < 8 * MiB * 1.6, samples
    # Every other line starts on a clean line: each \r-drawn progress line is cleared before it.
    for line in text.split("\n"):
        visible = line.split("\r")[-1]
        if "progress" in visible or PROGRESS.search(visible):
            continue
        assert not PROGRESS.search(line.split("\x1b[K")[-1]), repr(line)
    assert "Transferred:" in text
    assert not any(PROGRESS.search(l) and "Transferred" in l for l in text.split("\n")), text
    assert "this run sent" in out, out
    assert get_bytes(rclone.client(), env.vaults["primary"]["bucket"], "host-a/b1/big.tar") == content


# 11. The smaller ones.

def test_help_for_an_unknown_command_is_a_usage_error(env):
    r = env.run("help", "nosuch")
    assert r.code == 2 and "no command nosuch" in r.stderr, r
    assert env.run("help", "upload").code == 0


def test_abort_refuses_a_completed_upload(env, rclone):
    env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("b1", {"a.tar": b"a"})
    up = env.run("upload", "b1", "--json")
    assert up.code == 0
    entry_id = env.run("status", "--json").json["entries"][0]["id"]
    r = env.run("abort", entry_id)
    assert r.code == 2 and "only an unfinished upload can be aborted" in r.stderr, r
    assert env.run("status", "--json").json["entries"][0]["state"] == "completed"


def test_test_connection_warns_about_a_world_readable_config(env, rclone):
    env.add_vault("primary", rclone)
    env.write_config()
    os.chmod(env.config_path, 0o644)
    t = env.run("test-connection", "--no-write", "--json")
    assert t.code == 0, t
    config = next(c for c in t.json["checks"] if c["id"] == "config")
    assert config["status"] == "warn" and config["code"] == "READABLE_BY_OTHERS", config


def test_rerun_of_a_finished_restore_says_so(env, rclone):
    env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("b1", {"a.tar": b"abc", "d/b.tar": b"defg"})
    assert env.run("upload", "b1").code == 0
    target = env.tmp / "restored"
    assert env.run("restore", "b1", "--to", str(target)).code == 0
    r = env.run("restore", "b1", "--to", str(target))
    assert r.code == 1 and "already holds a finished restore of backup b1" in r.stderr, r
    assert "not an interrupted restore" not in r.stderr


def test_minio_missing_bucket_fix_says_mc_mb(env, rclone):
    env.add_vault("primary", rclone, bucket="bkt-never-made", provider="minio")
    env.write_config()
    t = env.run("test-connection", "--no-write", "--json")
    bucket = next(c for c in t.json["checks"] if c["id"] == "bucket")
    assert bucket["code"] == "NO_SUCH_BUCKET" and "mc mb" in bucket["fix"], bucket


def test_config_typo_hint_suggests_the_key_and_points_to_readme(env, rclone):
    env.add_vault("primary", rclone, part_sise="16MiB")
    env.write_config()
    r = env.run("config", "check")
    assert r.code == 3, r
    assert "did you mean `part_size`?" in r.stderr and "README" in r.stderr and "SPEC" not in r.stderr, r


def test_config_check_shows_the_effective_settings(env, rclone):
    env.add_vault("primary", rclone, concurrency=3, bandwidth_limit="20MiB/s")
    env.write_config()
    r = env.run("config", "check")
    assert r.code == 0, r
    for expected in (f"backup_dir  {env.backup_dir}", f"state_dir   {env.state_dir}", "concurrency", "3", "20.0 MiB/s", "part size"):
        assert expected in r.stdout, (expected, r)
