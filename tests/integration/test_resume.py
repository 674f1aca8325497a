"""Resume: kills, stalls, resets, SIGTERM, changed sources, locks, damaged journals."""
import json
import os
import signal
import time

import pytest

from conftest import bucket_keys, get_bytes, read_spawn_output, use_server
from faultproxy import FaultProxy, Rule
from test_upload import list_uploads, pattern

MiB = 1 << 20


def server_parts(s3, bucket, key):
    uploads = [u for u in list_uploads(s3, bucket) if u["Key"] == key]
    if not uploads:
        return None, []
    upload_id = uploads[0]["UploadId"]
    try:
        parts = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload_id).get("Parts", [])
    except s3.exceptions.ClientError:
        parts = []
    return upload_id, parts


def wait_for_parts(proxy, n, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(proxy.parts()) >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} part requests after {timeout}s")


def kill_9_after_parts(proxy, proc, n):
    """kill -9 the agent once `n` part requests have reached the proxy."""
    wait_for_parts(proxy, n)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    return read_spawn_output(proc)


@pytest.mark.parametrize("kind,kill_after_parts", [("rclone", 2), ("rclone", 9), ("rclone", 17), ("rgw", 9)])
def test_kill_9_then_resume_sends_only_missing_parts(env, request, kind, kill_after_parts):
    server = use_server(request, kind)
    proxy = FaultProxy(server.port)
    vault = env.add_vault("primary", server, endpoint=proxy.endpoint, part_size="8MiB", multipart_threshold="8MiB",
                          bandwidth_limit="48MiB/s")
    env.write_config()
    content = pattern(160 * MiB, kill_after_parts)
    env.make_backup("killed", {"db.tar": content})
    p = env.spawn("upload", "killed")
    kill_9_after_parts(proxy, p, kill_after_parts)

    s3 = server.client()
    key = "host-a/killed/db.tar"
    upload_id, held = server_parts(s3, vault["bucket"], key)
    assert upload_id is not None, "the killed run left no multipart upload to resume"
    missing = 20 - len(held)
    before = len(proxy.parts())

    r = env.run("resume", "--all", "--json")
    assert r.code == 0, r
    assert r.json["resumed"] is True
    resent = len(proxy.parts()) - before
    # Never more than the parts missing plus those that were in flight (4 at a time). Parts in
    # flight at the kill may still land on the server after our ListParts, hence the lower bound.
    assert missing - 4 <= resent <= missing + 4, (missing, resent)
    # Parts the server held intact were not sent again.
    resent_numbers = {int(q.query["partNumber"]) for q in proxy.parts()[before:]}
    held_numbers = {p["PartNumber"] for p in held}
    assert not (resent_numbers & held_numbers), resent_numbers & held_numbers
    assert get_bytes(s3, vault["bucket"], key) == content
    assert list_uploads(s3, vault["bucket"]) == []
    proxy.close()


def test_sigterm_exits_75_quickly_and_upload_finishes_later(env, s3server):
    proxy = FaultProxy(s3server.port)
    vault = env.add_vault("primary", s3server, endpoint=proxy.endpoint, part_size="8MiB", multipart_threshold="8MiB",
                          bandwidth_limit="16MiB/s")
    env.write_config()
    content = pattern(64 * MiB, 1)
    env.make_backup("termed", {"a.tar": content})
    p = env.spawn("upload", "termed")
    wait_for_parts(proxy, 2)
    sent = time.time()
    p.send_signal(signal.SIGTERM)
    p.wait(30)
    took = time.time() - sent
    out = read_spawn_output(p)
    assert p.returncode == 75, out
    assert took < 10, took
    assert "INTERRUPTED" in out
    r = env.run("status", "--json")
    assert r.json["entries"][0]["state"] == "interrupted"

    r = env.run("upload", "termed", "--json")
    assert r.code == 0, r
    assert r.json["resumed"] is True
    assert get_bytes(s3server.client(), vault["bucket"], "host-a/termed/a.tar") == content
    proxy.close()


@pytest.mark.parametrize("fault", ["stall", "reset"])
def test_stalled_or_reset_part_is_cut_and_retried(env, rclone, fault):
    proxy = FaultProxy(rclone.port)
    proxy.add(Rule(lambda q: q.is_part and q.query["partNumber"] == "2", fault, at=0.4, stall_seconds=120))
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB",
                          stall_timeout="5s")
    env.write_config()
    content = pattern(16 * MiB, 2)
    env.make_backup("stally", {"s.tar": content})
    started = time.time()
    r = env.run("upload", "stally")
    took = time.time() - started
    assert r.code == 0, r
    assert took < 45, took
    if fault == "stall":
        assert "stalled" in r.stderr and "UploadPart 2 of " in r.stderr, r.stderr
    assert get_bytes(rclone.client(), vault["bucket"], "host-a/stally/s.tar") == content
    proxy.close()


def test_source_modified_between_kill_and_resume(env, s3server):
    proxy = FaultProxy(s3server.port)
    vault = env.add_vault("primary", s3server, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB",
                          bandwidth_limit="16MiB/s")
    env.write_config()
    d = env.make_backup("mod", {"m.tar": pattern(60 * MiB, 4)})
    p = env.spawn("upload", "mod")
    kill_9_after_parts(proxy, p, 3)
    new_content = pattern(23 * MiB, 8)
    (d / "m.tar").write_bytes(new_content)

    r = env.run("resume", "--all")
    assert r.code == 0, r
    assert "SOURCE_CHANGED" in r.stderr
    s3 = s3server.client()
    assert get_bytes(s3, vault["bucket"], "host-a/mod/m.tar") == new_content
    assert list_uploads(s3, vault["bucket"]) == []
    proxy.close()


def test_resume_after_the_server_lost_the_multipart_upload(env, s3server):
    # The upload the journal names is gone (aborted by a lifecycle rule, say). RGW answers ListParts for
    # it with NoSuchKey, rclone with NoSuchUpload: either way the file starts over with a new upload.
    proxy = FaultProxy(s3server.port)
    vault = env.add_vault("primary", s3server, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB",
                          bandwidth_limit="16MiB/s")
    env.write_config()
    content = pattern(40 * MiB, 12)
    env.make_backup("lost", {"l.tar": content})
    p = env.spawn("upload", "lost")
    kill_9_after_parts(proxy, p, 3)
    s3 = s3server.client()
    key = "host-a/lost/l.tar"
    upload_id, _ = server_parts(s3, vault["bucket"], key)
    assert upload_id is not None
    s3.abort_multipart_upload(Bucket=vault["bucket"], Key=key, UploadId=upload_id)

    r = env.run("resume", "--all", "--json")
    assert r.code == 0, r
    assert "starting this file over" in r.stderr, r
    assert get_bytes(s3, vault["bucket"], key) == content
    assert list_uploads(s3, vault["bucket"]) == []
    proxy.close()


@pytest.mark.parametrize("provider", ["minio", "other"])
def test_lost_complete_answer_ends_with_the_object_whole(env, s3server, provider):
    # CompleteMultipartUpload reaches the server and succeeds, its answer is lost: the retry finds no
    # such upload (rclone: NoSuchUpload; RGW: 500 InternalError, then NoSuchKey from ListParts). The
    # agent must end with the object whole and nothing left half-done, whatever the server says.
    proxy = FaultProxy(s3server.port)
    proxy.add(Rule(lambda q: q.method == "POST" and "uploadId" in q.query, "lose_answer", stall_seconds=10))
    vault = env.add_vault("primary", s3server, provider=provider, endpoint=proxy.endpoint, part_size="5MiB",
                          multipart_threshold="5MiB", max_attempts=3)
    env.write_config()
    content = pattern(11 * MiB, 13)
    env.make_backup("lostc", {"c.tar": content})
    r = env.run("upload", "lostc", "--json")
    assert proxy.rules[0].fired == 1
    assert r.code == 0, r
    s3 = s3server.client()
    assert get_bytes(s3, vault["bucket"], "host-a/lostc/c.tar") == content
    assert list_uploads(s3, vault["bucket"]) == []
    proxy.close()


def test_upload_gone_at_complete_starts_the_file_over(env, s3server):
    # The multipart upload disappears just before CompleteMultipartUpload (aborted elsewhere). rclone
    # answers NoSuchUpload; RGW answers 500 InternalError (then NoSuchKey from ListParts): both must
    # lead to a new upload of the file, not a failure after the retries.
    s3 = s3server.client()

    def abort_it(req):
        s3.abort_multipart_upload(Bucket=vault["bucket"], Key="host-a/gone/g.tar", UploadId=req.query["uploadId"])

    proxy = FaultProxy(s3server.port)
    proxy.add(Rule(lambda q: q.method == "POST" and "uploadId" in q.query, "before", before=abort_it))
    vault = env.add_vault("primary", s3server, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB",
                          max_attempts=2)
    env.write_config()
    content = pattern(11 * MiB, 14)
    env.make_backup("gone", {"g.tar": content})
    r = env.run("upload", "gone")
    assert proxy.rules[0].fired == 1
    assert r.code == 0, r
    assert "starting this file over" in r.stderr, r
    assert get_bytes(s3, vault["bucket"], "host-a/gone/g.tar") == content
    assert list_uploads(s3, vault["bucket"]) == []
    proxy.close()


def test_second_agent_on_same_backup_exits_75(env, rclone):
    proxy = FaultProxy(rclone.port)
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB",
                          bandwidth_limit="8MiB/s")
    env.write_config()
    content = pattern(30 * MiB, 6)
    env.make_backup("twice", {"t.tar": content})
    first = env.spawn("upload", "twice")
    wait_for_parts(proxy, 1)
    second = env.run("upload", "twice")
    assert second.code == 75, second
    assert "error: LOCKED:" in second.stderr
    assert "another agent" in second.stderr
    first.wait(120)
    out = read_spawn_output(first)
    assert first.returncode == 0, out
    assert get_bytes(rclone.client(), vault["bucket"], "host-a/twice/t.tar") == content
    proxy.close()


def test_truncated_journal_is_reported_and_work_goes_on(env, rclone):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("j1", {"a.tar": b"a" * 100})
    assert env.run("upload", "j1").code == 0
    journal = env.state_dir / "journal"
    entry = next(journal.glob("*.json"))
    text = entry.read_text()
    entry.write_text(text[: len(text) // 2])

    r = env.run("status")
    assert r.code == 0, r
    assert str(entry) in r.stderr and "damaged" in r.stderr
    assert list(journal.glob("*.corrupt-*")), "the damaged file was not set aside"
    r = env.run("resume", "--all")
    assert r.code == 0, r
    env.make_backup("j2", {"b.tar": b"b" * 100})
    assert env.run("upload", "j2").code == 0
    assert "host-a/j2/b.tar" in bucket_keys(rclone.client(), vault["bucket"])


def test_abort_and_cleanup_remove_multipart_uploads(env, rclone):
    proxy = FaultProxy(rclone.port)
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB",
                          bandwidth_limit="8MiB/s")
    env.write_config()
    env.make_backup("ab", {"x.tar": pattern(40 * MiB, 7)})
    p = env.spawn("upload", "ab")
    kill_9_after_parts(proxy, p, 2)
    s3 = rclone.client()
    # A stray upload no journal entry owns, as a crashed other tool would leave it.
    stray = s3.create_multipart_upload(Bucket=vault["bucket"], Key="host-a/stray/file.tar")["UploadId"]
    other_host = s3.create_multipart_upload(Bucket=vault["bucket"], Key="host-b/theirs.tar")["UploadId"]

    r = env.run("cleanup", "--older-than", "0s", "--dry-run", "--json")
    assert r.code == 0, r
    assert [u["upload_id"] for u in r.json["uploads"]] == [stray]
    assert len(list_uploads(s3, vault["bucket"])) == 3

    r = env.run("cleanup", "--older-than", "0s")
    assert r.code == 0, r
    remaining = {u["UploadId"] for u in list_uploads(s3, vault["bucket"])}
    assert stray not in remaining and other_host in remaining and len(remaining) == 2

    entry_id = env.run("status", "--json").json["entries"][0]["id"]
    r = env.run("abort", entry_id)
    assert r.code == 0, r
    assert {u["UploadId"] for u in list_uploads(s3, vault["bucket"])} == {other_host}
    assert env.run("status", "--json").json["entries"][0]["state"] == "aborted"
    proxy.close()


def test_status_max_age_flags_a_vault_without_recent_success(env, rclone):
    env.add_vault("primary", rclone)
    env.write_config()
    r = env.run("status", "--max-age", "26h")
    assert r.code == 1, r
    assert "primary" in r.stderr
    env.make_backup("fresh", {"a.tar": b"a"})
    assert env.run("upload", "fresh").code == 0
    r = env.run("status", "--max-age", "26h", "--json")
    assert r.code == 0, r
    assert r.json["stale_vaults"] == []
