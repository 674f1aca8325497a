"""`agent list`, `verify`, `restore`, `prune` end to end: real binary, `rclone serve s3`, boto3 as
the independent client that reads, alters and ages what the agent stored."""
import hashlib
import json
import os
import pathlib
import shutil
import signal
import socket
import time

import pytest

from conftest import bucket_keys, get_bytes, read_spawn_output
from faultproxy import FaultProxy, Rule
from test_log_format import json_log

MiB = 1 << 20
HOST = socket.gethostname()


def content(size, seed):
    # Non-repeating content: a misplaced range shows up as different bytes.
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def tree(root):
    """Every file under root (relative path -> bytes) and every directory."""
    root = pathlib.Path(root)
    files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    dirs = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir()}
    return files, dirs


def put_manifest(s3, bucket, backup, edit):
    key = f"host-a/{backup}/offsite-manifest.json"
    manifest = json.loads(get_bytes(s3, bucket, key))
    edit(manifest)
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    return manifest


def kill_restore_when(proc, target, ready, timeout=60):
    """Watches the restore journal in `target` and SIGKILLs `proc` as soon as `ready(files by path)`
    returns something true; returns that (None if the restore ended first)."""
    journal_path = target / ".offsite-restore" / "journal.json"
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            journal = json.loads(journal_path.read_text())
        except (OSError, ValueError):
            time.sleep(0.05)
            continue
        seen = ready({f["path"]: f for f in journal["files"]})
        if seen:
            proc.kill()  # SIGKILL: no chance to clean up
            return seen
        time.sleep(0.05)
    return None


def iso_days_ago(days):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - days * 86400))


FILES = {
    "empty.bin": b"",
    "one.bin": b"x",
    "nested/a/deeper/small.tar": content(70_000, 1),
    "nested/b/multipart.tar.zst": content(12 * MiB + 17, 2),
    "nested/empty-dir-sibling/also-empty.bin": b"",
}


def test_upload_list_verify_then_restore_after_rebuild_is_byte_identical(env, s3server):
    vault = env.add_vault("primary", s3server, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    backup_id = "2026-11-21-0300-files"
    source = env.make_backup(backup_id, FILES)
    before, before_dirs = tree(source)

    r = env.run("upload", backup_id, "--json")
    assert r.code == 0, r
    # An upload that never finished: objects, no manifest.
    s3 = s3server.client()
    s3.put_object(Bucket=vault["bucket"], Key="host-a/2026-11-22-0300-files/part.tar", Body=b"half")

    r = env.run("list", "--json")
    assert r.code == 0, r
    listed = {b["id"]: b for b in r.json["backups"]}
    assert listed[backup_id]["complete"] is True
    assert listed[backup_id]["files"] == len(before)
    assert listed[backup_id]["size"] == sum(len(v) for v in before.values())
    assert listed[backup_id]["host"] == HOST
    assert listed[backup_id]["date"] == "2026-11-21T03:00:00Z"
    assert listed["2026-11-22-0300-files"]["complete"] is False
    human = env.run("list")
    assert human.code == 0, human
    assert "incomplete" in human.stdout and "complete" in human.stdout

    r = env.run("verify", backup_id, "--json")
    assert r.code == 0, r
    assert r.json["ok"] is True and len(r.json["files"]) == len(before)
    r = env.run("verify", backup_id, "--deep", "--json")
    assert r.code == 0, r.json
    assert r.json["bytes_read"] == sum(len(v) for v in before.values())

    r = env.run("verify", "2026-11-22-0300-files", "--json")
    assert r.code == 1, r
    assert r.json["error"]["code"] == "NOT_FOUND"
    assert "incomplete" in r.json["error"]["message"]

    # The server is rebuilt: no local backups, no state.
    shutil.rmtree(env.backup_dir)
    shutil.rmtree(env.state_dir, ignore_errors=True)

    r = env.run("restore", backup_id, "--json")
    assert r.code == 0, r
    assert r.json["ok"] is True
    assert r.json["target"] == str(env.backup_dir / backup_id)
    assert {f["status"] for f in r.json["files"]} == {"restored"}
    after, after_dirs = tree(env.backup_dir / backup_id)
    assert after == before
    assert after_dirs == before_dirs  # nothing of the agent's own left behind

    # The restored backup is whole again: upload sees it complete offsite.
    r = env.run("upload", backup_id, "--json")
    assert r.code == 0, r
    assert r.json["already_offsite"] is True

    # A second restore into the now-full target is refused, and --to elsewhere works.
    r = env.run("restore", backup_id, "--json")
    assert r.code == 1, r
    assert r.json["error"]["code"] == "RESTORE_EXISTS"
    other = env.tmp / "elsewhere"
    r = env.run("restore", backup_id, "--to", str(other))
    assert r.code == 0, r
    assert tree(other)[0] == before
    (env.tmp / "occupied").mkdir()
    (env.tmp / "occupied" / "keep.txt").write_text("mine")
    r = env.run("restore", backup_id, "--to", str(env.tmp / "occupied"), "--json")
    assert r.code == 1 and r.json["error"]["code"] == "RESTORE_EXISTS", r
    r = env.run("restore", backup_id, "--to", str(env.tmp / "occupied"), "--force", "--json")
    assert r.code == 0, r
    assert (env.tmp / "occupied" / "keep.txt").read_text() == "mine"
    assert tree(env.tmp / "occupied")[0] == {**before, "keep.txt": b"mine"}


def test_verify_deep_catches_an_object_altered_on_the_server(env, s3server):
    vault = env.add_vault("primary", s3server, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    files = {"db.sql.gz": content(300_000, 3), "big.tar": content(11 * MiB, 4)}
    env.make_backup("b1", files)
    assert env.run("upload", "b1").code == 0

    s3 = s3server.client()
    # Same sizes, other bytes: a HEAD cannot tell by size.
    altered = bytearray(files["db.sql.gz"])
    altered[1234] ^= 0x01
    s3.put_object(Bucket=vault["bucket"], Key="host-a/b1/db.sql.gz", Body=bytes(altered))
    altered_big = bytearray(files["big.tar"])
    altered_big[6 * MiB] ^= 0x01
    s3.put_object(Bucket=vault["bucket"], Key="host-a/b1/big.tar", Body=bytes(altered_big))

    r = env.run("verify", "b1", "--deep", "--json")
    assert r.code == 1, r
    assert r.json["ok"] is False
    assert r.json["error"]["code"] == "VERIFY_MISMATCH"
    by_path = {f["path"]: f for f in r.json["files"]}
    assert by_path["db.sql.gz"]["status"] == "mismatch"
    assert any("SHA-256" in p for p in by_path["db.sql.gz"]["problems"])
    assert by_path["big.tar"]["status"] == "mismatch"
    # The multipart file is checked part by part: the second 5 MiB part is named.
    assert any("part 2" in p for p in by_path["big.tar"]["problems"]), by_path["big.tar"]
    assert by_path["backup.json"]["status"] == "ok"
    assert "error: VERIFY_MISMATCH" in r.stderr

    # Restore downloads twice, then refuses to put the damaged bytes in place; the intact file is restored.
    r = env.run("restore", "b1", "--to", str(env.tmp / "out"), "--json")
    assert r.code == 1, r
    assert r.json["error"]["code"] == "VERIFY_MISMATCH"
    assert not (env.tmp / "out" / "db.sql.gz").exists()
    assert not (env.tmp / "out" / "big.tar").exists()
    assert (env.tmp / "out" / "backup.json").exists()

    # A missing object is found without --deep.
    s3.delete_object(Bucket=vault["bucket"], Key="host-a/b1/backup.json")
    r = env.run("verify", "b1", "--json")
    assert r.code == 1, r
    assert {f["path"]: f["status"] for f in r.json["files"]}["backup.json"] == "missing"



def test_restore_killed_mid_file_continues_with_ranges(env, s3server):
    proxy = FaultProxy(s3server.port)
    env.add_vault("primary", s3server, endpoint=proxy.endpoint)
    env.write_config()
    files = {"a/one.bin": content(100_000, 5), "a/two.bin": content(MiB, 6), "z/big.bin": content(48 * MiB, 7)}
    env.make_backup("b1", files)
    assert env.run("upload", "b1").code == 0
    big_key = "/" + env.vaults["primary"]["bucket"] + "/host-a/b1/z/big.bin"

    # Downloads throttled so the kill lands in the middle of big.bin (8 MiB ranges, 2 in flight).
    env.vaults["primary"].update(bandwidth_limit="8MiB/s", concurrency=2)
    env.write_config()
    target = env.tmp / "restored"
    first = len(proxy.requests)
    proc = env.spawn("restore", "b1", "--to", str(target))
    seen_chunks = kill_restore_when(
        proc, target,
        lambda e: e["a/two.bin"]["done"] and not e["z/big.bin"]["done"] and len(e["z/big.bin"]["chunks"]) >= 2 and set(e["z/big.bin"]["chunks"]))
    proc.wait(10)
    output = read_spawn_output(proc)
    assert seen_chunks is not None, output
    assert proc.returncode == -signal.SIGKILL
    assert (target / "a" / "one.bin").read_bytes() == files["a/one.bin"]
    assert not (target / "z" / "big.bin").exists()
    gets_first = [q for q in proxy.requests[first:] if q.method == "GET" and q.path == big_key]
    assert len(gets_first) >= 2

    # The interrupted target is ours: the re-run continues instead of refusing.
    second = len(proxy.requests)
    r = env.run("restore", "b1", "--to", str(target), "--json")
    assert r.code == 0, r
    assert r.json["resumed"] is True
    status = {f["path"]: f["status"] for f in r.json["files"]}
    assert status["a/one.bin"] == "already" and status["a/two.bin"] == "already"
    assert status["z/big.bin"] == "restored"
    assert tree(target)[0] == {**files, "backup.json": (env.backup_dir / "b1" / "backup.json").read_bytes()}

    gets = [q for q in proxy.requests[second:] if q.method == "GET"]
    # Finished files are not downloaded again; big.bin only for the ranges still missing.
    assert all(q.path == big_key for q in gets if "/host-a/b1/" in q.path and not q.path.endswith("offsite-manifest.json")), gets
    big_gets = [q for q in gets if q.path == big_key]
    assert big_gets and all(q.headers.get("range", "").startswith("bytes=") for q in big_gets)
    starts = {int(q.headers["range"][6:].split("-")[0]) for q in big_gets}
    assert not starts & {c * 8 * MiB for c in seen_chunks}, (starts, seen_chunks)
    assert len(big_gets) <= 6 - len(seen_chunks)
    assert r.json["bytes_downloaded"] <= 48 * MiB - len(seen_chunks) * 8 * MiB
    proxy.close()


@pytest.mark.parametrize("evil", ["../../escape.txt", "nested/../../../escape.txt", "/tmp/offsite-agent-escape-test.txt"])
def test_crafted_manifest_with_escaping_path_is_invalid_path(env, rclone, evil):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("b1", {"ok.tar": b"fine"})
    assert env.run("upload", "b1").code == 0
    s3 = rclone.client()
    s3.put_object(Bucket=vault["bucket"], Key="host-a/b1/evil", Body=b"pwned")

    def add_evil(m):
        m["files"].insert(0, {"path": evil, "key": "host-a/b1/evil", "size": 5, "etag": "",
                              "sha256": hashlib.sha256(b"pwned").hexdigest()})
    put_manifest(s3, vault["bucket"], "b1", add_evil)

    sandbox = env.tmp / "sandbox"
    target = sandbox / "inner" / "target"
    sandbox.mkdir()
    r = env.run("restore", "b1", "--to", str(target), "--json")
    assert r.code == 4, r
    assert r.json["error"]["code"] == "INVALID_PATH"
    assert evil in r.json["error"]["message"]
    # Nothing was written: not the target, not outside it.
    assert not target.exists()
    assert not any(p.name in ("escape.txt", "offsite-agent-escape-test.txt") for p in env.tmp.rglob("*"))
    assert not os.path.exists("/tmp/offsite-agent-escape-test.txt")
    r = env.run("verify", "b1")
    assert r.code == 0, r  # verify reads only; the paths matter to restore


def test_prune_by_age_and_count_only_this_hosts_backups(env, rclone):
    proxy = FaultProxy(rclone.port)
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint)
    env.write_config()
    ages = {"b60": 60, "b40": 40, "b20": 20, "b5": 5, "b1": 1, "other-host": 100}
    for backup in ages:
        env.make_backup(backup, {"data.tar": content(1000, backup), "sub/x.bin": b"x"})
        assert env.run("upload", backup).code == 0, backup
    s3 = rclone.client()
    bucket = vault["bucket"]
    for backup, days in ages.items():
        def age(m, days=days, backup=backup):
            m["created_at"] = iso_days_ago(days)
            if backup == "other-host":
                m["host"] = "db-01.example"
        put_manifest(s3, bucket, backup, age)
    all_keys = set(bucket_keys(s3, bucket))

    def held(backup):
        return {k for k in bucket_keys(s3, bucket) if k.startswith(f"host-a/{backup}/")}

    r = env.run("prune", "--keep-days", "30", "--dry-run", "--json")
    assert r.code == 0, r
    assert sorted(b["id"] for b in r.json["deleted"]) == ["b40", "b60"]
    assert set(bucket_keys(s3, bucket)) == all_keys  # --dry-run deletes nothing

    start = len(proxy.requests)
    r = env.run("prune", "--keep-days", "10", "--keep-last", "4", "--json")
    assert r.code == 0, r
    assert [b["id"] for b in r.json["deleted"]] == ["b60"]
    assert not held("b60")
    for backup in ("b40", "b20", "b5", "b1", "other-host"):
        assert len(held(backup)) == 4, backup  # data.tar, sub/x.bin, backup.json, manifest
    deletes = [q.path for q in proxy.requests[start:] if q.method == "DELETE"]
    assert len(deletes) == 4
    assert deletes[0].endswith("/host-a/b60/offsite-manifest.json")  # the manifest goes first

    # Retention from the vault's config, as the post-backup hook uses it.
    env.vaults["primary"].update(keep_days=10)
    env.write_config()
    r = env.run("prune")
    assert r.code == 0, r
    assert "deleted 2 backups" in r.stdout
    assert not held("b40") and not held("b20")
    assert held("b5") and held("b1")
    # Another host's backup, older than anything, is never touched.
    assert len(held("other-host")) == 4
    r = env.run("list", "--json")
    assert sorted(b["id"] for b in r.json["backups"]) == ["b1", "b5", "other-host"]
    proxy.close()


def test_upload_with_prune_applies_the_vaults_retention(env, rclone):
    vault = env.add_vault("primary", rclone, keep_last=1)
    env.write_config()
    env.make_backup("old", {"a.tar": b"old"})
    assert env.run("upload", "old").code == 0
    s3 = rclone.client()
    put_manifest(s3, vault["bucket"], "old", lambda m: m.update(created_at=iso_days_ago(3)))
    env.make_backup("new", {"a.tar": b"new"})
    (env.backup_dir / "new" / "backup.json").write_text(json.dumps(
        {"id": "new", "type": "files", "status": "completed", "created_at": iso_days_ago(0)}))
    r = env.run("upload", "new", "--prune")
    assert r.code == 0, r
    keys = bucket_keys(s3, vault["bucket"])
    assert not any(k.startswith("host-a/old/") for k in keys)
    assert "host-a/new/offsite-manifest.json" in keys


def test_prune_without_retention_is_a_usage_error(env, rclone):
    env.add_vault("primary", rclone)
    env.write_config()
    r = env.run("prune", "--json")
    assert r.code == 2, r
    assert "keep_days" in r.json["error"]["hint"]


@pytest.mark.parametrize("flag,value", [("--keep-days", "0"), ("--keep-days", "100001"),
                                         ("--keep-days", "9223372036854775807"), ("--keep-last", "0"),
                                         ("--keep-last", "100001")])
def test_prune_rejects_out_of_range_retention_as_usage(env, rclone, flag, value):
    env.add_vault("primary", rclone)
    env.write_config()
    r = env.run("prune", flag, value, "--dry-run", "--json")
    assert r.code == 2, r
    assert r.json["error"]["code"] == "USAGE", r
    assert flag in r.json["error"]["message"]


def test_prune_accepts_the_largest_keep_days(env, rclone):
    env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("b1", {"data.tar": b"x"})
    assert env.run("upload", "b1").code == 0
    r = env.run("prune", "--keep-days", "100000", "--keep-last", "100000", "--dry-run", "--json")
    assert r.code == 0, r
    assert r.json["deleted"] == []


def test_restore_fetches_a_range_overlapping_two_bad_parts_once(env, rclone):
    proxy = FaultProxy(rclone.port)
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    files = {"big.tar": content(11 * MiB, 8), "small.bin": content(1000, 9)}
    env.make_backup("b1", files)
    assert env.run("upload", "b1").code == 0
    # Parts 1 and 2 (5 MiB each) both differ: the first 8 MiB range overlaps both.
    altered = bytearray(files["big.tar"])
    altered[1 * MiB] ^= 0x01
    altered[6 * MiB] ^= 0x01
    s3 = rclone.client()
    s3.put_object(Bucket=vault["bucket"], Key="host-a/b1/big.tar", Body=bytes(altered))
    big_key = "/" + vault["bucket"] + "/host-a/b1/big.tar"

    start = len(proxy.requests)
    r = env.run("restore", "b1", "--to", str(env.tmp / "out"), "--json")
    assert r.code == 1, r
    assert r.json["error"]["code"] == "VERIFY_MISMATCH"
    assert not (env.tmp / "out" / "big.tar").exists()
    assert (env.tmp / "out" / "small.bin").read_bytes() == files["small.bin"]
    ranges = [q.headers.get("range") for q in proxy.requests[start:] if q.method == "GET" and q.path == big_key]
    # Each range once per download, two downloads: no duplicate GET racing the file's finish.
    assert sorted(ranges) == sorted([f"bytes=0-{8 * MiB - 1}", f"bytes={8 * MiB}-{11 * MiB - 1}"] * 2), ranges
    proxy.close()


def test_restore_refetches_ranges_missing_from_a_lost_partial(env, rclone):
    proxy = FaultProxy(rclone.port)
    env.add_vault("primary", rclone, endpoint=proxy.endpoint)
    env.write_config()
    files = {"a/one.bin": content(1000, 10), "z/big.bin": content(32 * MiB, 11)}
    env.make_backup("b1", files)
    assert env.run("upload", "b1").code == 0
    env.vaults["primary"].update(bandwidth_limit="8MiB/s", concurrency=2)
    env.write_config()
    target = env.tmp / "restored"
    staging = target / ".offsite-restore"
    proc = env.spawn("restore", "b1", "--to", str(target))
    seen = kill_restore_when(proc, target, lambda e: not e["z/big.bin"]["done"] and e["z/big.bin"]["chunks"])
    proc.wait(10)
    output = read_spawn_output(proc)
    assert seen is not None, output
    # What a power cut does to bytes never flushed: the journal says written, the .partial is empty.
    partials = list(staging.glob("*.partial"))
    assert partials
    for p in partials:
        os.truncate(p, 0)
    r = env.run("restore", "b1", "--to", str(target), "--json")
    assert r.code == 0, r
    assert r.json["resumed"] is True
    assert (target / "z" / "big.bin").read_bytes() == files["z/big.bin"]
    assert any("missing from" in w for w in r.json.get("warnings", [])), r.json
    # Only what was lost is fetched again, once: not a second download after a checksum mismatch.
    assert r.json["bytes_downloaded"] <= 32 * MiB
    proxy.close()


def make_occupied_target(env, rclone):
    env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("b1", {"data.tar": content(5000, 12)})
    assert env.run("upload", "b1").code == 0
    target = env.tmp / "target"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    return target


@pytest.mark.parametrize("kind", ["symlink", "file", "foreign"])
def test_restore_refuses_a_staging_folder_not_its_own(env, rclone, kind):
    target = make_occupied_target(env, rclone)
    staging = target / ".offsite-restore"
    elsewhere = env.tmp / "elsewhere"
    elsewhere.mkdir()
    if kind == "symlink":
        staging.symlink_to(elsewhere)
    elif kind == "file":
        staging.write_text("not a folder")
    else:
        if os.geteuid() != 0:
            pytest.skip("chown to another uid needs root")
        staging.mkdir(mode=0o700)
        os.chown(staging, 54321, 54321)
    r = env.run("restore", "b1", "--to", str(target), "--force", "--json")
    assert r.code == 1, r
    assert r.json["error"]["code"] == "RESTORE_EXISTS"
    assert ".offsite-restore" in r.json["error"]["message"]
    assert list(elsewhere.iterdir()) == []
    assert not (target / "data.tar").exists()


def test_restore_fails_when_the_in_progress_marker_cannot_be_made(env, rclone):
    target = make_occupied_target(env, rclone)
    (target / ".in-progress").mkdir()  # in the way of the marker file
    r = env.run("restore", "b1", "--to", str(target), "--force", "--json")
    assert r.code == 1, r
    assert r.json["error"]["code"] == "RESTORE_WRITE_FAILED"
    assert ".in-progress" in r.json["error"]["message"]
    assert not (target / "data.tar").exists()
    # The staging folder, made before the marker, is private.
    assert os.lstat(target / ".offsite-restore").st_mode & 0o7777 == 0o700


def test_restore_treats_an_unreadable_target_as_an_error(rclone):
    # root reads any directory: as root (CI), the agent runs as nobody (setpriv), so this never skips.
    import subprocess
    import tempfile
    from conftest import AGENT, OUTPUT_LOG, Env
    as_root = os.geteuid() == 0
    if as_root and not shutil.which("setpriv"):
        pytest.fail("setpriv (util-linux) is needed to run the agent as an unprivileged user")
    base = pathlib.Path(tempfile.mkdtemp(prefix="offsite-unreadable-", dir="/tmp"))
    os.chmod(base, 0o755)
    try:
        env = Env(base)
        env.add_vault("primary", rclone)
        env.write_config()
        env.make_backup("b1", {"data.tar": content(5000, 12)})
        assert env.run("upload", "b1").code == 0
        target = base / "target"
        target.mkdir()
        (target / "keep.txt").write_text("mine")
        prefix = []
        if as_root:
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            for p in (env.config_path, env.backup_dir):
                os.chmod(p, 0o644 if p.is_file() else 0o755)
            os.chmod(env.state_dir, 0o777)
            os.chown(target, 65534, 65534)
        os.chmod(target, 0o300)  # write and search, no read: the agent cannot list it
        run_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        run_env["OFFSITE_AGENT_CONFIG"] = str(env.config_path)
        proc = subprocess.run([*prefix, AGENT, "restore", "b1", "--to", str(target), "--json"], capture_output=True, text=True,
                              env=run_env, stdin=subprocess.DEVNULL, timeout=120)
        OUTPUT_LOG.append(proc.stdout + proc.stderr)
        os.chmod(target, 0o700)
        assert proc.returncode == 1, (proc.stdout, proc.stderr)
        assert json.loads(proc.stdout.strip().splitlines()[-1])["error"]["code"] == "RESTORE_WRITE_FAILED", proc.stdout
        assert not (target / "data.tar").exists()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_restore_names_an_object_replaced_mid_restore_and_logs_its_fields(env, rclone):
    """The object is replaced in the vault between two ranges of one file (the ETag changes): the
    digest decides as always (fetched once more, then not put in place), and the report names the
    replacement with both ETags. The JSON log's restore events carry path, key, backup and vault."""
    proxy = FaultProxy(rclone.port)
    # One GET at a time: range 0 is answered before range 1 replaces the object.
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint, concurrency=1)
    env.write_config(log_format="json")
    files = {"big.tar": content(11 * MiB, 10), "small.bin": content(1000, 11)}
    env.make_backup("b1", files)
    assert env.run("upload", "b1").code == 0
    s3 = rclone.client()
    old_etag = s3.head_object(Bucket=vault["bucket"], Key="host-a/b1/big.tar")["ETag"]
    altered = bytearray(files["big.tar"])
    altered[9 * MiB] ^= 0x01
    big_key = "/" + vault["bucket"] + "/host-a/b1/big.tar"

    def replace(_request):
        s3.put_object(Bucket=vault["bucket"], Key="host-a/b1/big.tar", Body=bytes(altered))

    proxy.add(Rule(lambda q: q.method == "GET" and q.path == big_key and q.headers.get("range", "").startswith(f"bytes={8 * MiB}-"),
                   "before", before=replace))
    r = env.run("restore", "b1", "--to", str(env.tmp / "out"), "--json")
    assert r.code == 1, r
    assert r.json["error"]["code"] == "VERIFY_MISMATCH", r
    big = {f["path"]: f for f in r.json["files"]}["big.tar"]
    new_etag = s3.head_object(Bucket=vault["bucket"], Key="host-a/b1/big.tar")["ETag"]
    assert old_etag != new_etag
    assert "replaced in the vault during the restore" in big["problem"], big
    assert old_etag in big["problem"] and new_etag in big["problem"], big
    assert not (env.tmp / "out" / "big.tar").exists()
    assert (env.tmp / "out" / "small.bin").read_bytes() == files["small.bin"]

    events = json_log(env)
    again = next(e for e in events if e["level"] == "WARNING" and "downloading those bytes again" in e["msg"])
    refused = next(e for e in events if e["level"] == "ERROR" and e["msg"].startswith("big.tar: ") and "not put in place" in e["msg"])
    for e in (again, refused):
        assert e["path"] == "big.tar" and e["key"] == "host-a/b1/big.tar" and e["backup"] == "b1" and e["vault"] == "primary", e

    # With the object put back, a clean restore's summary carries its numbers as fields.
    s3.put_object(Bucket=vault["bucket"], Key="host-a/b1/big.tar", Body=files["big.tar"])
    r = env.run("restore", "b1", "--to", str(env.tmp / "clean"))
    assert r.code == 0, r
    summary = next(e for e in json_log(env) if e["msg"].startswith("Restored: "))
    assert summary["backup"] == "b1" and summary["files"] == 3 and summary["target"] == str(env.tmp / "clean"), summary
    assert summary["bytes"] == sum(len(v) for v in files.values()) + (env.backup_dir / "b1" / "backup.json").stat().st_size, summary
    proxy.close()


def test_a_verified_file_that_cannot_be_moved_into_place_is_kept_not_downloaded_again(env, rclone):
    proxy = FaultProxy(rclone.port)
    env.add_vault("primary", rclone, endpoint=proxy.endpoint)
    env.write_config()
    files = {"a/one.bin": content(1000, 13), "z/big.bin": content(12 * MiB, 14)}
    env.make_backup("b1", files)
    assert env.run("upload", "b1").code == 0
    target = env.tmp / "restored"
    # A directory (not empty) sits where z/big.bin belongs: the rename into place fails.
    (target / "z" / "big.bin" / "inner").mkdir(parents=True)
    r = env.run("restore", "b1", "--to", str(target), "--force", "--json")
    assert r.code == 1 and r.json["error"]["code"] == "RESTORE_WRITE_FAILED", r
    assert str(target / "z" / "big.bin") in r.json["error"]["message"], r

    def big_gets():
        with proxy.lock:
            return [q for q in proxy.requests if q.method == "GET" and q.target.split("?")[0].endswith("/z/big.bin")]

    before = len(big_gets())
    assert before >= 2  # 12 MiB: more than one range
    # The run again, with the directory still there: the same error, and the checked file is not fetched again.
    r = env.run("restore", "b1", "--to", str(target), "--force", "--json")
    assert r.code == 1 and r.json["error"]["code"] == "RESTORE_WRITE_FAILED", r
    assert len(big_gets()) == before, "the verified file was downloaded again"
    # Once it is out of the way, the file kept under .offsite-restore is moved in: no download.
    shutil.rmtree(target / "z" / "big.bin")
    r = env.run("restore", "b1", "--to", str(target), "--force", "--json")
    assert r.code == 0, r
    assert len(big_gets()) == before, "the verified file was downloaded again"
    assert (target / "z" / "big.bin").read_bytes() == files["z/big.bin"]
    assert (target / "a" / "one.bin").read_bytes() == files["a/one.bin"]
    proxy.close()
