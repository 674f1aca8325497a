"""Many small files (issue 19): a kill -9 half-way through a 10,000-file upload, then `resume --all`
sends only what the server had not acknowledged; small files go in parallel without a HEAD where
the PUT's answer proves the stored bytes; the log summarises them; restore brings all back."""
import hashlib
import signal
import time

from conftest import bucket_keys, read_spawn_output
from faultproxy import FaultProxy, Rule

CONCURRENCY = 8


def many_files(n, seed):
    """n small distinct files in 20 folders (1 to 300 bytes: the test is about counts, not bytes)."""
    files = {}
    for i in range(n):
        body = hashlib.sha256(f"{seed}-{i}".encode()).digest() * (1 + i % 9)
        files[f"dir{i % 20:02d}/file{i:05d}.bin"] = body
    return files


def object_puts(proxy, prefix):
    """The PutObject requests (not parts) the proxy saw, as object keys under `prefix`."""
    with proxy.lock:
        reqs = list(proxy.requests)
    keys = []
    for r in reqs:
        if r.method == "PUT" and "partNumber" not in r.query:
            key = r.path.split("/", 2)[2] if r.path.count("/") >= 2 else ""
            if key.startswith(prefix):
                keys.append(key)
    return keys


def test_kill_9_in_a_10000_file_upload_then_resume_sends_only_unacknowledged_files(env, rclone):
    proxy = FaultProxy(rclone.port)
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint, concurrency=CONCURRENCY)
    env.write_config()
    n = 10_000
    files = many_files(n, "kill")
    env.make_backup("many", files)
    prefix = "host-a/many/"
    p = env.spawn("upload", "many")
    deadline = time.time() + 240
    while len(object_puts(proxy, prefix)) < n // 2:
        assert p.poll() is None, read_spawn_output(p)
        assert time.time() < deadline, "the upload did not reach half-way in time"
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait(10)
    read_spawn_output(p)

    s3 = rclone.client()
    held = set(bucket_keys(s3, vault["bucket"], prefix))
    assert n // 2 - CONCURRENCY <= len(held) < n, len(held)
    # The journal (0600) is a snapshot plus an append-only log, both private.
    journal = env.state_dir / "journal"
    for f in journal.iterdir():
        if f.suffix in (".json", ".log"):
            assert (f.stat().st_mode & 0o777) == 0o600, f

    before = len(object_puts(proxy, prefix))
    r = env.run("resume", "--all", "--json")
    assert r.code == 0, r
    resent = object_puts(proxy, prefix)[before:]
    missing = {prefix + rel for rel in files} - held
    # Every file the server lacked was sent; of the ones it held, at most those in flight at the kill
    # (answered, not yet recorded) were sent again, each once.
    assert missing <= set(resent), len(missing - set(resent))
    again = [k for k in resent if k in held]
    assert len(again) <= CONCURRENCY, (len(again), again[:10])
    # A key twice in a row is a retried request (a transient failure), never more than max_attempts.
    assert max(resent.count(k) for k in set(resent)) <= 5
    assert not [k for k in resent if not k.startswith(prefix + "dir") and not k.endswith((".json",))]

    stored = set(bucket_keys(s3, vault["bucket"], prefix))
    assert {prefix + rel for rel in files} <= stored
    assert prefix + "offsite-manifest.json" in stored
    # Finished: the log is folded into the snapshot and gone.
    assert not list(journal.glob("*.log"))

    # The whole backup comes back, byte for byte.
    target = env.tmp / "restored"
    r = env.run("restore", "many", "--to", str(target), "--json")
    assert r.code == 0, r
    for rel, body in files.items():
        assert (target / rel).read_bytes() == body, rel
    proxy.close()


def content_md5_backup(env, rclone, backup, count):
    """A vault of profile "other" (Content-MD5 on every PUT, the ETag is the MD5 of the stored
    bytes) behind a fault proxy, and a backup of `count` small files."""
    proxy = FaultProxy(rclone.port)
    env.add_vault("primary", rclone, provider="other", endpoint=proxy.endpoint, concurrency=CONCURRENCY)
    env.write_config()
    files = many_files(count, backup)
    env.make_backup(backup, files)
    return proxy, files


def test_small_files_go_in_parallel_without_a_head_where_the_put_proves_them(env, rclone):
    proxy, files = content_md5_backup(env, rclone, "few", 300)
    r = env.run("upload", "few", "--json")
    assert r.code == 0, r
    with proxy.lock:
        reqs = list(proxy.requests)
    file_heads = [q for q in reqs if q.method == "HEAD" and "/dir" in q.path]
    assert not file_heads, file_heads[:5]
    assert all("content-md5" in q.headers for q in reqs if q.method == "PUT")
    # The log summarises small files instead of a line each.
    log = (env.state_dir / "agent.log").read_text()
    assert "uploaded 300 of 300 small files" in log  # backup.json after them, on its own line
    assert "uploaded dir00/file00000.bin" not in log
    assert len(r.json["files"]) == 301
    proxy.close()


def test_a_damaged_small_file_in_transit_is_never_stored_as_good(env, rclone):
    proxy, files = content_md5_backup(env, rclone, "flipped", 60)
    flipped = proxy.add(Rule(lambda q: q.method == "PUT" and q.path.endswith("file00007.bin"), "flip", times=1))
    r = env.run("upload", "flipped", "--json")
    assert r.code == 0, r
    assert flipped.fired == 1
    s3 = rclone.client()
    bucket = env.vaults["primary"]["bucket"]
    body = s3.get_object(Bucket=bucket, Key="host-a/flipped/dir07/file00007.bin")["Body"].read()
    assert body == files["dir07/file00007.bin"]
    proxy.close()


def test_verify_sends_its_heads_in_parallel_and_reports_every_file(env, rclone):
    proxy, files = content_md5_backup(env, rclone, "heads", 120)
    assert env.run("upload", "heads").code == 0
    s3 = rclone.client()
    bucket = env.vaults["primary"]["bucket"]
    s3.delete_object(Bucket=bucket, Key="host-a/heads/dir03/file00003.bin")
    # The first file's HEAD is held back until other files' HEADs have arrived beside it: one HEAD
    # after another would never get there (the hold gives up after 30 s and the test fails).
    first, seen = [], []

    def hold_first(q):
        with proxy.lock:
            if not first:
                first.append(q.path)
        if first[0] != q.path:
            seen.append(q.path)
            return
        deadline = time.time() + 30
        while len(seen) < CONCURRENCY - 1 and time.time() < deadline:
            time.sleep(0.01)

    proxy.add(Rule(lambda q: q.method == "HEAD" and "/heads/dir" in q.path, "before", times=len(files), before=hold_first))
    r = env.run("verify", "heads", "--json")
    assert r.code == 1, r  # one object missing
    assert len(seen) >= CONCURRENCY - 1, seen
    by_path = {f["path"]: f for f in r.json["files"]}
    assert len(by_path) == len(files) + 1  # and backup.json
    assert by_path["dir03/file00003.bin"]["status"] == "missing", by_path["dir03/file00003.bin"]
    assert all(f["status"] == "ok" for p, f in by_path.items() if p != "dir03/file00003.bin")
    # The report lists the files in the manifest's order, whatever order the answers came in.
    assert [f["path"] for f in r.json["files"]] == sorted(by_path)
    proxy.close()
