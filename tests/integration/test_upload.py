"""`agent upload` end to end: real binary, `rclone serve s3`, boto3 reading back."""
import os
import time

import pytest

from conftest import bucket_keys, get_bytes, read_spawn_output, use_server
from faultproxy import FaultProxy, Rule

MiB = 1 << 20


def pattern(size, seed=0):
    # Deterministic, non-repeating-per-MiB content so misplaced parts are caught.
    block = bytes((i * 31 + seed * 7 + (i >> 8)) & 0xFF for i in range(65536))
    out = bytearray()
    n = 0
    while len(out) < size:
        out += bytes(b ^ (n & 0xFF) for b in block[: min(65536, size - len(out))]) if n % 16 == 0 else block[: min(65536, size - len(out))]
        n += 1
    return bytes(out[:size])


SIZES = {
    "empty.bin": 0,
    "one.bin": 1,
    "nested/a/under-5MiB.tar": 5 * MiB - 1,
    "nested/a/exactly-5MiB.tar": 5 * MiB,
    "nested/b/over-5MiB.tar": 5 * MiB + 1,
    "nested/b/c/37MiB.tar.zst": 37 * MiB + 123,
    "big/200MiB.tar": 200 * MiB,
}


def test_upload_roundtrip_every_size(env, s3server):
    files = {path: pattern(size, i) for i, (path, size) in enumerate(SIZES.items())}
    proxy = FaultProxy(s3server.port)
    vault = env.add_vault("primary", s3server, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    env.make_backup("2026-11-21-0300-files", files)

    r = env.run("upload", "2026-11-21-0300-files", "--json")
    assert r.code == 0, r
    assert r.json["ok"] is True
    assert r.json["vault"] == "primary"
    by_path = {f["path"]: f for f in r.json["files"]}
    assert by_path["big/200MiB.tar"]["parts"] == 40
    assert by_path["nested/b/over-5MiB.tar"]["parts"] == 2
    assert by_path["nested/a/exactly-5MiB.tar"]["parts"] == 1
    assert "Transferred: 8 files" in r.stderr

    s3 = s3server.client()
    bucket = vault["bucket"]
    for path, content in files.items():
        key = f"host-a/2026-11-21-0300-files/{path}"
        assert get_bytes(s3, bucket, key) == content, path
    keys = set(bucket_keys(s3, bucket))
    assert "host-a/2026-11-21-0300-files/backup.json" in keys
    assert "host-a/2026-11-21-0300-files/offsite-manifest.json" in keys

    # Order on the wire: archives, then backup.json, then the offsite manifest last.
    writes = [q.path for q in proxy.requests if q.method == "PUT" and "partNumber" not in q.query]
    assert writes[-1].endswith("/offsite-manifest.json")
    assert writes[-2].endswith("/backup.json")

    manifest = __import__("json").loads(get_bytes(s3, bucket, "host-a/2026-11-21-0300-files/offsite-manifest.json"))
    entries = {f["path"]: f for f in manifest["files"]}
    import hashlib
    assert entries["one.bin"]["sha256"] == hashlib.sha256(files["one.bin"]).hexdigest()
    assert len(entries["big/200MiB.tar"]["sha256_parts"]) == 40
    assert entries["big/200MiB.tar"]["sha256_parts"][0] == hashlib.sha256(files["big/200MiB.tar"][: 5 * MiB]).hexdigest()

    # A second upload of a backup complete offsite sends nothing and says so.
    before = len(proxy.requests)
    r2 = env.run("upload", "2026-11-21-0300-files", "--json")
    assert r2.code == 0, r2
    assert r2.json["already_offsite"] is True
    assert not any(q.method == "PUT" for q in proxy.requests[before:])
    proxy.close()


def test_keys_needing_uri_encoding_roundtrip(env, rclone):
    files = {
        "with space/file name.tar": b"space",
        "plus+equals=tilde~star*(paren).tar": b"symbols",
        "ünïcödé/日本語.tar": b"unicode",
    }
    vault = env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("enc-backup", files)
    r = env.run("upload", "enc-backup")
    assert r.code == 0, r
    s3 = rclone.client()
    for path, content in files.items():
        assert get_bytes(s3, vault["bucket"], f"host-a/enc-backup/{path}") == content


def test_single_archive_path_uploads_one_file(env, rclone):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    d = env.make_backup("one-archive", {"db.sql.gz": b"x" * 1000, "files.tar": b"y" * 10})
    r = env.run("upload", str(d / "db.sql.gz"), "--json")
    assert r.code == 0, r
    s3 = rclone.client()
    keys = bucket_keys(s3, vault["bucket"])
    assert "host-a/one-archive/db.sql.gz" in keys
    assert "host-a/one-archive/files.tar" not in keys
    # One archive is not the whole backup: no offsite manifest may claim it is complete.
    assert "host-a/one-archive/offsite-manifest.json" not in keys

    # The whole backup then goes up (it is not "already offsite").
    r = env.run("upload", "one-archive", "--json")
    assert r.code == 0, r
    assert r.json["already_offsite"] is False
    assert get_bytes(s3, vault["bucket"], "host-a/one-archive/files.tar") == b"y" * 10

    # A changed archive uploaded by path is sent again and merged into the manifest.
    (d / "db.sql.gz").write_bytes(b"z" * 2000)
    r = env.run("upload", str(d / "db.sql.gz"), "--json")
    assert r.code == 0, r
    assert r.json["already_offsite"] is False
    assert get_bytes(s3, vault["bucket"], "host-a/one-archive/db.sql.gz") == b"z" * 2000
    manifest = __import__("json").loads(get_bytes(s3, vault["bucket"], "host-a/one-archive/offsite-manifest.json"))
    sizes = {f["path"]: f["size"] for f in manifest["files"]}
    assert sizes["db.sql.gz"] == 2000 and sizes["files.tar"] == 10


def test_symlink_loop_and_special_files_are_refused(env, rclone):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    d = env.make_backup("looped", {"a.tar": b"a"})
    os.symlink(d, d / "again")
    assert_refused(env.run("upload", "looped"), "INVALID_PATH", 4)
    f = env.make_backup("fifo", {"a.tar": b"a"})
    os.mkfifo(f / "pipe")
    assert_refused(env.run("upload", str(f / "pipe"), timeout=30), "INVALID_PATH", 4)
    # In a whole backup a pipe is not an archive: skipped, the rest goes up.
    r = env.run("upload", "fifo", timeout=60)
    assert r.code == 0, r
    keys = bucket_keys(rclone.client(), vault["bucket"])
    assert "host-a/fifo/a.tar" in keys and "host-a/fifo/pipe" not in keys


def test_backup_of_only_empty_files_uploads_with_warning(env, rclone):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("empties", {"a.tar": b"", "b/c.tar": b""})
    r = env.run("upload", "empties", "--json")
    assert r.code == 0, r
    assert any("empty" in w for w in r.json["warnings"])
    assert "host-a/empties/b/c.tar" in bucket_keys(rclone.client(), vault["bucket"])


# -- refusals: exit code, code, and nothing sent


def assert_refused(r, code, exit_code):
    assert r.code == exit_code, r
    assert f"error: {code}:" in r.stderr, r
    assert "hint: " in r.stderr, r


def assert_bucket_empty(rclone, vault):
    assert bucket_keys(rclone.client(), vault["bucket"]) == []


def test_refuses_missing_backup(env, rclone):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    assert_refused(env.run("upload", "no-such-backup"), "NO_DIR", 4)
    assert_bucket_empty(rclone, vault)


def test_refuses_backup_not_completed(env, rclone):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("running", {"a.tar": b"a"}, status="running")
    d = env.make_backup("in-progress", {"a.tar": b"a"})
    (d / ".in-progress").write_text("")
    env.make_backup("no-status", {"a.tar": b"a"}, status=None)
    r = env.run("upload", "running", "--json")
    assert_refused(r, "NOT_COMPLETED", 4)
    assert r.json["ok"] is False and r.json["error"]["code"] == "NOT_COMPLETED" and r.json["error"]["hint"]
    assert_refused(env.run("upload", "in-progress"), "NOT_COMPLETED", 4)
    assert_refused(env.run("upload", "no-status"), "NOT_COMPLETED", 4)
    assert_bucket_empty(rclone, vault)


def test_refuses_snapshot(env, rclone):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("snap", {"a.img": b"a"}, btype="snapshot")
    assert_refused(env.run("upload", "snap"), "SNAPSHOT", 4)
    assert_bucket_empty(rclone, vault)


def test_refuses_paths_outside_backup_dir(env, rclone, tmp_path):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.tar").write_bytes(b"not a backup")
    d = env.make_backup("linked", {"a.tar": b"a"})
    os.symlink(outside / "secret.tar", d / "escape.tar")
    assert_refused(env.run("upload", str(env.backup_dir / ".." / "outside")), "INVALID_PATH", 4)
    assert_refused(env.run("upload", str(outside / "secret.tar")), "INVALID_PATH", 4)
    assert_refused(env.run("upload", "../outside/secret.tar", cwd=str(env.backup_dir)), "INVALID_PATH", 4)
    assert_refused(env.run("upload", "linked"), "INVALID_PATH", 4)
    # INVALID_PATH is checked before existence.
    assert_refused(env.run("upload", "/nonexistent/elsewhere"), "INVALID_PATH", 4)
    assert_bucket_empty(rclone, vault)


def test_refuses_empty_backup(env, rclone):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("empty", {})
    assert_refused(env.run("upload", "empty"), "EMPTY_BACKUP", 4)
    assert_bucket_empty(rclone, vault)


def test_refuses_missing_and_invalid_config(env, rclone, tmp_path):
    r = env.run("upload", "x", env={"OFFSITE_AGENT_CONFIG": str(tmp_path / "none.toml")})
    assert_refused(r, "MISSING_CONFIG", 3)
    vault = env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("ok", {"a.tar": b"a"})
    assert_refused(env.run("upload", "ok", "--vault", "nope"), "INVALID_CONFIG", 3)
    env.config_path.write_text(env.config_path.read_text().replace('default_vault = "primary"\n', ""))
    assert_refused(env.run("upload", "ok"), "MISSING_CONFIG", 3)
    assert_bucket_empty(rclone, vault)


def test_source_changed_while_uploading(env, rclone):
    proxy = FaultProxy(rclone.port)
    # Throttle part bodies so the file can be changed while it is being sent.
    proxy.add(Rule(lambda q: q.is_part, "throttle", times=100, throttle=4 * MiB))
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB", concurrency=1)
    env.write_config()
    d = env.make_backup("changing", {"big.tar": pattern(30 * MiB)})
    p = env.spawn("upload", "changing")
    time.sleep(2.0)
    with open(d / "big.tar", "ab") as f:
        f.write(b"appended while uploading")
    p.wait(120)
    out = read_spawn_output(p)
    assert p.returncode == 4, out
    assert "error: SOURCE_CHANGED:" in out
    s3 = rclone.client()
    assert "host-a/changing/big.tar" not in bucket_keys(s3, vault["bucket"])
    # Its multipart upload was aborted: nothing incomplete is left behind.
    uploads = list_uploads(s3, vault["bucket"])
    assert uploads == [], uploads
    proxy.close()


def list_uploads(s3, bucket):
    try:
        return s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    except s3.exceptions.ClientError as e:  # rclone answers NoSuchUpload when there are none
        if "NoSuchUpload" in str(e):
            return []
        raise


# -- transient failures are retried per request, the object stays byte-identical


def test_dropped_connection_mid_part_is_retried(env, rclone):
    proxy = FaultProxy(rclone.port)
    proxy.add(Rule(lambda q: q.is_part and q.query["partNumber"] == "2", "drop", at=0.5))
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    content = pattern(17 * MiB, 3)
    env.make_backup("drop", {"x.tar": content})
    r = env.run("upload", "drop")
    assert r.code == 0, r
    assert "UploadPart 2 of host-a/drop/x.tar: attempt 1/5 failed: " in r.stderr
    assert get_bytes(rclone.client(), vault["bucket"], "host-a/drop/x.tar") == content
    assert sum(1 for q in proxy.parts() if q.query["partNumber"] == "2") == 2
    proxy.close()


def test_slowdown_503_is_retried(env, rclone):
    proxy = FaultProxy(rclone.port)
    proxy.add(Rule(lambda q: q.method == "PUT", "503"))
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint)
    env.write_config()
    env.make_backup("slow", {"x.tar": b"hello" * 1000})
    r = env.run("upload", "slow")
    assert r.code == 0, r
    assert "SlowDown" in r.stderr
    assert get_bytes(rclone.client(), vault["bucket"], "host-a/slow/x.tar") == b"hello" * 1000
    proxy.close()


# Which server refuses a damaged body, and how: rclone checks Content-MD5 (profile "other" sends it);
# RGW checks the signed SHA-256 payload (profile "minio" relies on it) and Content-MD5 too ("other"
# sends both, either refusal will do).
INTEGRITY_CASES = [("rclone", "other", ("BadDigest", "InvalidDigest")),
                   ("rgw", "other", ("BadDigest", "XAmzContentSHA256Mismatch")),
                   ("rgw", "minio", ("XAmzContentSHA256Mismatch",))]


@pytest.mark.parametrize("kind,provider,refusal", INTEGRITY_CASES)
def test_flipped_byte_in_transit_is_rejected_and_resent(env, request, kind, provider, refusal):
    server = use_server(request, kind)
    proxy = FaultProxy(server.port)
    # One byte of part 1's body is damaged in transit: the server refuses it, the agent sends it again.
    proxy.add(Rule(lambda q: q.is_part and q.query["partNumber"] == "1", "flip", at=0.3))
    vault = env.add_vault("primary", server, provider=provider, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    content = pattern(12 * MiB, 5)
    env.make_backup("flip", {"x.tar": content})
    r = env.run("upload", "flip")
    assert r.code == 0, r
    assert any(code in r.stderr for code in refusal), r
    assert get_bytes(server.client(), vault["bucket"], "host-a/flip/x.tar") == content
    assert proxy.rules[0].fired == 1
    # rclone forgets the whole multipart upload after a BadDigest (NoSuchUpload next): part 1 may go 3 times.
    assert sum(1 for q in proxy.parts() if q.query["partNumber"] == "1") >= 2
    proxy.close()


@pytest.mark.parametrize("kind,provider,refusal", INTEGRITY_CASES)
def test_flipped_byte_in_single_put_is_rejected_and_resent(env, request, kind, provider, refusal):
    server = use_server(request, kind)
    proxy = FaultProxy(server.port)
    proxy.add(Rule(lambda q: q.method == "PUT" and q.path.endswith("small.tar"), "flip", at=0.5))
    vault = env.add_vault("primary", server, provider=provider, endpoint=proxy.endpoint)
    env.write_config()
    content = pattern(300000, 9)
    env.make_backup("flip1", {"small.tar": content})
    r = env.run("upload", "flip1")
    assert r.code == 0, r
    assert any(code in r.stderr for code in refusal), r
    assert get_bytes(server.client(), vault["bucket"], "host-a/flip1/small.tar") == content
    proxy.close()


@pytest.mark.skipif(os.geteuid() != 0 or not __import__("shutil").which("setpriv"), reason="needs root to run the agent as another user")
def test_unreadable_file_is_named_and_nothing_is_sent(rclone):
    import shutil
    import subprocess
    import tempfile
    from conftest import AGENT, Env
    # root reads everything: run the agent as nobody, in a tree nobody can traverse.
    base = tempfile.mkdtemp(prefix="offsite-perm-", dir="/tmp")
    os.chmod(base, 0o755)
    try:
        e = Env(__import__("pathlib").Path(base))
        os.chmod(e.backup_dir, 0o755)
        vault = e.add_vault("primary", rclone)
        e.write_config()
        os.chmod(e.config_path, 0o644)
        d = e.make_backup("perm", {"ok.tar": b"fine", "locked/secret.tar": b"root only"})
        for p in [d, d / "locked"]:
            os.chmod(p, 0o755)
        for p in [d / "ok.tar", d / "backup.json"]:
            os.chmod(p, 0o644)
        os.chmod(d / "locked" / "secret.tar", 0o600)
        e.state_dir.mkdir()
        os.chmod(e.state_dir, 0o777)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["OFFSITE_AGENT_CONFIG"] = str(e.config_path)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", AGENT, "upload", "perm"],
                           capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=60)
        __import__("conftest").OUTPUT_LOG.append(r.stdout + r.stderr)
        assert r.returncode == 4, r
        assert "error: UNREADABLE:" in r.stderr and "locked/secret.tar" in r.stderr, r.stderr
        assert "hint: " in r.stderr
        assert bucket_keys(rclone.client(), vault["bucket"]) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)
