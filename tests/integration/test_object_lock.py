"""S3 Object Lock (issue 15): every object written locked and verified, buckets without Object
Lock refused before anything is sent, prune that keeps locked backups and deletes versions once
retention has passed, and the connection test's `lock` check with the key's blast radius.

Servers: moto_server (implements Object Lock, ignores retention given at CreateMultipartUpload: the
verification must catch it), `rclone serve s3` (no Object Lock: the disabled path), and recorded AWS
answers (stub_s3.py) for the InvalidRequest a locked write without Content-MD5 gets.
"""
import datetime
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import boto3
import botocore.config
import pytest

import conftest
from conftest import bucket_keys, free_port, wait_for_port

DAY = 86400


class MotoLock:
    """moto_server without IAM enforcement, with buckets made through its API."""

    def __init__(self, tmp):
        self.port = free_port()
        self.log = open(tmp / "moto.log", "w")
        self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for_port(self.port, timeout=30, proc=self.proc)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.access_key = "AKMOTO" + uuid.uuid4().hex[:10].upper()
        self.secret_key = conftest.new_secret("moto")

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key,
                            config=botocore.config.Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))

    def new_bucket(self, locked=True, default_retention=None):
        name = "lock-" + uuid.uuid4().hex[:10]
        c = self.client()
        c.create_bucket(Bucket=name, ObjectLockEnabledForBucket=locked)
        if default_retention:
            mode, days = default_retention
            c.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": mode, "Days": days}}})
        return name

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    server = MotoLock(tmp_path_factory.mktemp("moto-lock"))
    yield server
    server.stop()


def lock_vault(env, server, bucket, mode="GOVERNANCE", days=3, **extra):
    env.add_vault("primary", provider="aws", endpoint=server.endpoint, path_style=True, region="us-east-1", bucket=bucket,
                  access_key_id=server.access_key, secret_access_key=server.secret_key, **extra)
    if mode:
        env.vaults["primary"].update(object_lock_mode=mode, object_lock_days=days)
    env.write_config()


def retention_of(client, bucket, key):
    h = client.head_object(Bucket=bucket, Key=key)
    return h.get("ObjectLockMode"), h.get("ObjectLockRetainUntilDate")


def test_every_object_is_locked_multipart_included(env, moto):
    bucket = moto.new_bucket()
    lock_vault(env, moto, bucket, mode="COMPLIANCE", days=3, part_size="5MiB", multipart_threshold="5MiB")
    env.make_backup("b1", {"db.sql.gz": os.urandom(11 << 20), "small.tar": b"s" * 1000})
    started = datetime.datetime.now(datetime.timezone.utc)
    r = env.run("upload", "b1", "--json")
    assert r.code == 0, r
    c = moto.client()
    keys = bucket_keys(c, bucket, "host-a/b1/")
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == ["backup.json", "db.sql.gz", "offsite-manifest.json", "small.tar"]
    for key in keys:
        mode, until = retention_of(c, bucket, key)
        assert mode == "COMPLIANCE", (key, mode)
        assert until >= started + datetime.timedelta(days=3) - datetime.timedelta(seconds=2), (key, until)
    assert r.json["object_lock"]["mode"] == "COMPLIANCE", r
    assert datetime.datetime.fromisoformat(r.json["object_lock"]["retain_until"].replace("Z", "+00:00")) >= started + datetime.timedelta(days=3, seconds=-2)
    # moto ignores the retention given at CreateMultipartUpload: the agent noticed and set it.
    assert "PutObjectRetention" in r.stderr and "db.sql.gz" in r.stderr, r
    # A locked version refuses deletion (the server's own guarantee, checked with boto3).
    version = c.list_object_versions(Bucket=bucket, Prefix="host-a/b1/small.tar")["Versions"][0]["VersionId"]
    with pytest.raises(Exception):
        c.delete_object(Bucket=bucket, Key="host-a/b1/small.tar", VersionId=version)


def test_a_resumed_upload_locks_the_files_an_earlier_run_stored(env, moto):
    # The first run stores the small file unlocked (the vault had no lock yet) and is stopped;
    # once the vault asks for a lock, the resumed upload must lock that file too, not only its own.
    bucket = moto.new_bucket()
    lock_vault(env, moto, bucket, mode=None, bandwidth_limit="1MiB", part_size="5MiB", multipart_threshold="5MiB")
    env.make_backup("b1", {"a.tar": b"s" * 1000, "db.sql.gz": os.urandom(30 << 20)})
    c = moto.client()
    p = env.spawn("upload", "b1")
    deadline = time.time() + 60
    while "host-a/b1/a.tar" not in bucket_keys(c, bucket, "host-a/b1/") and time.time() < deadline:
        time.sleep(0.2)
    p.send_signal(signal.SIGTERM)
    assert p.wait(30) == 75
    assert retention_of(c, bucket, "host-a/b1/a.tar") == (None, None)

    env.vaults["primary"].update(object_lock_mode="GOVERNANCE", object_lock_days=3)
    del env.vaults["primary"]["bandwidth_limit"]
    env.write_config()
    started = datetime.datetime.now(datetime.timezone.utc)
    r = env.run("upload", "b1", "--json")
    assert r.code == 0, r
    assert r.json["resumed"] is True, r
    for key in bucket_keys(c, bucket, "host-a/b1/"):
        mode, until = retention_of(c, bucket, key)
        assert mode == "GOVERNANCE", (key, mode)
        assert until >= started + datetime.timedelta(days=3) - datetime.timedelta(minutes=5), (key, until)
    # The earliest retain-until of the result is that of the file the first run stored.
    assert r.json["object_lock"]["retain_until"] is not None


def test_bucket_without_object_lock_is_refused_before_sending(env, moto):
    bucket = moto.new_bucket(locked=False)
    lock_vault(env, moto, bucket)
    env.make_backup("b1", {"a.tar": b"a" * 100})
    r = env.run("upload", "b1", "--json")
    assert r.code == 5, r
    assert r.json["error"]["code"] == "OBJECT_LOCK_DISABLED", r
    assert "Object Lock" in r.json["error"]["hint"] and "existing bucket" in r.json["error"]["hint"]
    assert bucket_keys(moto.client(), bucket) == []


def test_rclone_has_no_object_lock_and_nothing_is_stored(env, rclone):
    bucket = rclone.new_bucket()
    env.add_vault("primary", rclone, bucket=bucket, provider="other", object_lock_mode="GOVERNANCE", object_lock_days=1)
    env.write_config()
    env.make_backup("b1", {"a.tar": b"a" * 100})
    r = env.run("upload", "b1", "--json")
    assert r.code == 5 and r.json["error"]["code"] == "OBJECT_LOCK_DISABLED", r
    assert bucket_keys(rclone.client(), bucket) == []


@pytest.mark.parametrize("provider,words", [("r2", "bucket lock rules"), ("spaces", "Object Lock")])
def test_lock_on_a_provider_without_it_is_invalid_config(env, provider, words):
    extra = {"account_id": "0123abcd"} if provider == "r2" else {"region": "nyc3"}
    env.add_vault("primary", provider=provider, bucket="b-lock", access_key_id="AKIDEXAMPLE", secret_access_key=conftest.new_secret(),
                  object_lock_mode="GOVERNANCE", object_lock_days=30, **extra)
    env.write_config()
    env.make_backup("b1", {"a.tar": b"a"})
    r = env.run("upload", "b1", "--json")
    assert r.code == 3 and r.json["error"]["code"] == "INVALID_CONFIG", r
    assert "object_lock_mode" in r.json["error"]["message"] and words in r.json["error"]["hint"], r


@pytest.mark.parametrize("line,problem", [
    ('object_lock_mode = "FOREVER"\nobject_lock_days = 3', "object_lock_mode"),
    ('object_lock_mode = "GOVERNANCE"', "object_lock_days"),
    ('object_lock_mode = "GOVERNANCE"\nobject_lock_days = 36501', "36500"),
    ('object_lock_days = 0\nobject_lock_mode = "COMPLIANCE"', "object_lock_days"),
])
def test_bad_lock_settings_are_invalid_config(env, line, problem):
    env.add_vault("primary", provider="aws", bucket="b-lock", access_key_id="AKIDEXAMPLE", secret_access_key=conftest.new_secret())
    env.write_config()
    env.config_path.write_text(env.config_path.read_text() + line + "\n")
    r = env.run("config", "check")
    assert r.code == 3, r
    assert "INVALID_CONFIG" in r.stderr and problem in r.stderr, r


# ---------------------------------------------------------------- Ceph RGW


def test_rgw_ignores_multipart_retention_and_the_agent_sets_it(env, rgw):
    bucket = rgw.new_bucket(object_lock=True)
    env.add_vault("primary", rgw, bucket=bucket, provider="other", object_lock_mode="GOVERNANCE", object_lock_days=2,
                  part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    env.make_backup("b1", {"big.tar": os.urandom(6 << 20), "small.tar": b"x" * 10})
    started = datetime.datetime.now(datetime.timezone.utc)
    r = env.run("upload", "b1", "--json")
    assert r.code == 0, r
    c = rgw.client()
    keys = bucket_keys(c, bucket, "host-a/b1/")
    assert len(keys) == 4, keys
    for key in keys:
        mode, until = retention_of(c, bucket, key)
        assert mode == "GOVERNANCE" and until >= started + datetime.timedelta(days=2) - datetime.timedelta(seconds=2), (key, mode, until)
    assert "PutObjectRetention" in r.stderr and "big.tar" in r.stderr, r


def test_rgw_bucket_without_lock_is_refused(env, rgw):
    bucket = rgw.new_bucket()
    env.add_vault("primary", rgw, bucket=bucket, provider="other", object_lock_mode="COMPLIANCE", object_lock_days=1)
    env.write_config()
    env.make_backup("b1", {"a.tar": b"a"})
    r = env.run("upload", "b1", "--json")
    assert r.code == 5 and r.json["error"]["code"] == "OBJECT_LOCK_DISABLED", r
    assert bucket_keys(rgw.client(), bucket) == []


# ---------------------------------------------------------------- prune, list, verify


def upload_dated(env, backup_id, created_at, files):
    d = env.make_backup(backup_id, files)
    (d / "backup.json").write_text(json.dumps({"id": backup_id, "type": "files", "status": "completed", "created_at": created_at}))
    r = env.run("upload", backup_id, "--json")
    assert r.code == 0, r


def locked_bucket(server):
    return server.new_bucket(object_lock=True) if hasattr(server, "create_user") else server.new_bucket(locked=True)


@pytest.mark.parametrize("kind", ["moto", "rgw"])
def test_prune_keeps_locked_backups_and_deletes_versions_once_retention_passed(env, kind, request):
    moto = request.getfixturevalue(kind)  # moto_server or Ceph RGW: both keep versions under Object Lock
    bucket = locked_bucket(moto)
    lock_vault(env, moto, bucket, mode="GOVERNANCE", days=1)
    upload_dated(env, "b0", "2026-11-01T03:00:00Z", {"a.tar": b"0" * 100})
    upload_dated(env, "b1", "2026-11-02T03:00:00Z", {"a.tar": b"1" * 100})
    upload_dated(env, "b2", "2026-11-20T03:00:00Z", {"a.tar": b"2" * 100})
    c = moto.client()
    # b0's retention ends in two seconds (GOVERNANCE may be shortened by a key allowed to bypass it).
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)
    for v in c.list_object_versions(Bucket=bucket, Prefix="host-a/b0/")["Versions"]:
        c.put_object_retention(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"], BypassGovernanceRetention=True,
                               Retention={"Mode": "GOVERNANCE", "RetainUntilDate": soon})
    time.sleep(3)

    dry = env.run("prune", "--keep-last", "1", "--dry-run", "--json")
    assert dry.code == 0, dry
    assert [b["id"] for b in dry.json["deleted"]] == ["b0"] and [b["id"] for b in dry.json["locked"]] == ["b1"], dry

    r = env.run("prune", "--keep-last", "1", "--json")
    assert r.code == 0, r
    assert [b["id"] for b in r.json["deleted"]] == ["b0"], r
    assert [b["id"] for b in r.json["locked"]] == ["b1"] and r.json["locked"][0]["mode"] == "GOVERNANCE", r
    until = datetime.datetime.fromisoformat(r.json["locked"][0]["retain_until"].replace("Z", "+00:00"))
    assert until > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=23), r
    assert r.json["versions_deleted"] == 3, r  # a.tar, backup.json, offsite-manifest.json
    # Storage freed: no version and no delete marker left of b0; b1 untouched, no marker over it.
    gone = c.list_object_versions(Bucket=bucket, Prefix="host-a/b0/")
    assert not gone.get("Versions") and not gone.get("DeleteMarkers"), gone
    kept = c.list_object_versions(Bucket=bucket, Prefix="host-a/b1/")
    assert len(kept["Versions"]) == 3 and not kept.get("DeleteMarkers"), kept
    human = env.run("prune", "--keep-last", "1", "--dry-run")
    assert "under Object Lock retention (GOVERNANCE) until" in human.stdout and "b1" in human.stdout, human

    listing = env.run("list", "--json")
    assert listing.code == 0, listing
    by_id = {b["id"]: b for b in listing.json["backups"]}
    assert set(by_id) == {"b1", "b2"} and all(b["lock_mode"] == "GOVERNANCE" and b["retain_until"] for b in by_id.values()), listing
    assert "RETAIN UNTIL" in env.run("list").stdout

    v = env.run("verify", "b1", "--json")
    assert v.code == 0 and v.json["retain_until"] and all(f["retain_until"] for f in v.json["files"]), v
    assert "Object Lock retention until" in env.run("verify", "b1").stdout


def test_a_protected_manifest_keeps_the_whole_backup(env):
    # Review finding 1: the prune key cannot see retention (no s3:GetObjectRetention), so prune tries
    # the backup; its manifest version is refused as protected. Nothing else may be deleted: data
    # gone under a manifest that still stands would look like a restorable backup.
    from stub_s3 import StubS3
    stub = StubS3("object-lock-manifest-held")
    try:
        env.add_vault("primary", provider="aws", endpoint=stub.endpoint, bucket=stub.bucket, path_style=True,
                      access_key_id="AKIDEXAMPLE", secret_access_key=conftest.new_secret())
        env.write_config()
        upload_dated(env, "b0", "2026-11-01T03:00:00Z", {"a.tar": b"0" * 100})
        upload_dated(env, "b1", "2026-11-20T03:00:00Z", {"a.tar": b"1" * 100})
        env.vaults["primary"].update(object_lock_mode="GOVERNANCE", object_lock_days=1)
        env.write_config()
        before = sorted(stub.objects)
        r = env.run("prune", "--keep-last", "1", "--json")
        assert r.code == 0, r
        assert r.json["deleted"] == [] and "b0" in [b["id"] for b in r.json["kept"]], r
        assert [h["key"].split(" ")[0] for h in r.json["held"]] == ["host-a/b0/offsite-manifest.json"], r
        assert sorted(stub.objects) == before, "data deleted under a protected manifest"
        assert not [q for q in stub.requests if q.method == "DELETE" and not q.key.endswith("offsite-manifest.json")], stub.requests
    finally:
        stub.close()


# ---------------------------------------------------------------- test-connection: lock and blast radius


def connection(env):
    r = env.run("test-connection", "--json")
    return r, {c["id"]: c for c in r.json["checks"]}


def probe_versions(client, bucket, prefix="host-a/"):
    v = client.list_object_versions(Bucket=bucket, Prefix=prefix + ".offsite-agent-probe-")
    return v.get("Versions", []) + v.get("DeleteMarkers", [])


def test_governance_with_a_key_that_may_bypass_it_is_a_warning(env, moto):
    bucket = moto.new_bucket()
    lock_vault(env, moto, bucket, mode="GOVERNANCE", days=7)
    r, checks = connection(env)
    lock = checks["lock"]
    assert r.code == 0 and lock["status"] == "warn", r
    assert "GOVERNANCE protects nothing" in lock["explanation"] and "s3:BypassGovernanceRetention" in lock["fix"], lock
    assert "COMPLIANCE" in lock["fix"]
    assert checks["write"]["status"] == "pass" and checks["delete"]["status"] == "pass", r
    assert r.json["blast_radius"] == {"bucket_object_lock": True, "vault_object_lock": True, "can_delete": True,
                                      "can_bypass_governance": True, "default_retention": None}, r
    assert probe_versions(moto.client(), bucket) == []  # the locked probe and its delete marker are gone


def test_compliance_vault_on_a_lock_bucket_passes(env, moto):
    bucket = moto.new_bucket()
    lock_vault(env, moto, bucket, mode="COMPLIANCE", days=7)
    r, checks = connection(env)
    assert r.code == 0 and checks["lock"]["status"] == "pass", r
    assert "COMPLIANCE retention for 7 days" in checks["lock"]["explanation"] and "no key can bypass" in checks["lock"]["explanation"], r
    assert probe_versions(moto.client(), bucket) == []


def test_lock_vault_on_a_bucket_without_lock_fails_the_lock_check(env, moto):
    bucket = moto.new_bucket(locked=False)
    lock_vault(env, moto, bucket, mode="COMPLIANCE", days=7)
    r, checks = connection(env)
    assert r.code == 5, r
    assert (checks["lock"]["status"], checks["lock"]["code"]) == ("fail", "OBJECT_LOCK_DISABLED"), r
    assert "put-object-lock-configuration" in checks["lock"]["fix"], r


def test_key_that_can_erase_an_unlocked_vault_is_warned_with_the_remedy(env, rclone):
    env.add_vault("primary", rclone, provider="other")
    env.write_config()
    r, checks = connection(env)
    lock = checks["lock"]
    assert r.code == 0 and (lock["status"], lock["code"]) == ("warn", "OBJECT_LOCK_DISABLED"), r
    assert "could erase every offsite copy" in lock["explanation"], lock
    assert r.json["blast_radius"] == {"bucket_object_lock": False, "vault_object_lock": False, "can_delete": True,
                                      "can_bypass_governance": None, "default_retention": None}, r
    assert "object_lock_mode" in lock["fix"] and "iam-policy-no-delete.json" in lock["fix"] and "lifecycle" in lock["fix"], lock


def test_no_write_leaves_the_blast_radius_unknown(env, rclone):
    env.add_vault("primary", rclone, provider="other")
    env.write_config()
    r = env.run("test-connection", "--no-write", "--json")
    lock = {c["id"]: c for c in r.json["checks"]}["lock"]
    assert r.code == 0 and lock["status"] == "pass" and "unknown" in lock["explanation"], r
    assert r.json["blast_radius"]["can_delete"] is None, r


def test_bucket_default_retention_is_reported_and_the_probe_still_removed(env, rgw):
    # Review finding 12: a probe written without its own retention would get the bucket's default
    # (here GOVERNANCE for 1 day; COMPLIANCE for years elsewhere) and stay, billed, behind a delete
    # marker after every run. It is written with a few seconds of GOVERNANCE instead and removed.
    bucket = rgw.new_bucket(object_lock=True)
    rgw.client().put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    env.add_vault("primary", rgw, bucket=bucket, provider="other")
    env.write_config()
    r, checks = connection(env)
    lock = checks["lock"]
    assert r.code == 0 and checks["delete"]["status"] == "pass" and checks["write"]["status"] == "pass", r
    assert "GOVERNANCE for 1 day" in lock["explanation"] and "delete marker" in lock["explanation"], lock
    assert r.json["blast_radius"]["default_retention"] == "GOVERNANCE for 1 day", r
    assert probe_versions(rgw.client(), bucket) == [], "the probe version was left behind"


# ---------------------------------------------------------------- recorded AWS answers


def test_locked_writes_carry_content_md5_whatever_the_profile_prefers(env):
    # Wasabi's profile relies on the signed payload (no Content-MD5 by default); AWS answers a locked
    # write without Content-MD5 or a checksum header with InvalidRequest "Content-MD5 OR x-amz-checksum-
    # HTTP header is required for Put Object requests with Object Lock parameters" (the stub's recording).
    from stub_s3 import StubS3
    stub = StubS3("object-lock")
    try:
        env.add_vault("primary", provider="wasabi", endpoint=stub.endpoint, bucket=stub.bucket, region="us-east-1",
                      access_key_id="AKIDEXAMPLE", secret_access_key=conftest.new_secret(), object_lock_mode="COMPLIANCE", object_lock_days=30)
        env.write_config()
        env.make_backup("b1", {"a.tar": b"a" * 500, "b.tar": b"b" * 10})
        now = datetime.datetime.now(datetime.timezone.utc)
        r = env.run("upload", "b1", "--json")
        assert r.code == 0, r
        puts = [q for q in stub.requests if q.method == "PUT" and q.key]
        assert len(puts) == 4, [q.key for q in puts]  # a.tar, b.tar, backup.json, offsite-manifest.json
        for q in puts:
            assert "content-md5" in q.lower_headers and q.lower_headers["x-amz-object-lock-mode"] == "COMPLIANCE", q
            until = datetime.datetime.fromisoformat(q.lower_headers["x-amz-object-lock-retain-until-date"].replace("Z", "+00:00"))
            assert until >= now + datetime.timedelta(days=30) - datetime.timedelta(seconds=2), q
        assert "requires Content-MD5" not in r.stderr  # never refused: sent from the first request
        assert not [q for q in stub.requests if "retention" in q.query]  # HEAD showed the retention: nothing to set
    finally:
        stub.close()


# ---------------------------------------------------------------- sample policies, enforced by moto's IAM


def policy_allows(name):
    policy = json.loads((conftest.ROOT / "samples" / name).read_text())
    actions = []
    for st in policy["Statement"]:
        if st["Effect"] == "Allow":
            actions += st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
    return actions


def start_moto_iam(actions, object_lock):
    args = [sys.executable, str(conftest.ROOT / "tests/support/moto_server.py"), "--actions", ",".join(actions)]
    proc = subprocess.Popen(args + (["--object-lock"] if object_lock else []), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info = json.loads(proc.stdout.readline())
    conftest.SECRETS.add(info["secret_key"])
    return proc, info


def iam_vault(env, info, **extra):
    # prefix "": moto refuses the signature of a listing whose prefix holds a "/" (a moto quirk).
    env.add_vault("primary", provider="aws", endpoint=info["endpoint"], path_style=True, region="us-east-1", bucket=info["bucket"], prefix="",
                  access_key_id=info["access_key"], secret_access_key=info["secret_key"], **extra)
    env.write_config()


def test_locked_vault_policy_is_enough_for_a_locked_upload(env):
    # moto's IAM checks the object and listing actions, not the retention ones
    # (s3:PutObjectRetention, s3:GetBucketObjectLockConfiguration): only the positive case is tested.
    proc, info = start_moto_iam(policy_allows("iam-policy-object-lock.json"), object_lock=True)
    try:
        iam_vault(env, info, object_lock_mode="GOVERNANCE", object_lock_days=2, part_size="5MiB", multipart_threshold="5MiB")
        env.make_backup("b1", {"big.tar": os.urandom(6 << 20), "small.tar": b"s" * 100})
        r = env.run("upload", "b1", "--json")
        assert r.code == 0, r
    finally:
        proc.stdin.close()
        proc.wait(20)


def test_no_delete_policy_uploads_but_cannot_prune(env):
    proc, info = start_moto_iam(policy_allows("iam-policy-no-delete.json"), object_lock=False)
    try:
        iam_vault(env, info)
        upload_dated(env, "b0", "2026-11-01T03:00:00Z", {"a.tar": b"0" * 100})
        upload_dated(env, "b1", "2026-11-20T03:00:00Z", {"a.tar": b"1" * 100})
        r = env.run("prune", "--keep-last", "1", "--json")
        assert r.code == 5 and r.json["error"]["code"] == "PERMISSION_DENIED", r
        assert "s3:DeleteObject" in r.json["error"]["message"] + r.json["error"]["hint"], r
    finally:
        proc.stdin.close()
        proc.wait(20)


def test_encrypted_locked_vault_locks_every_age_object(env, moto):
    from test_encryption import age_decrypt, keygen
    identity, recipient = keygen(env)
    bucket = moto.new_bucket()
    lock_vault(env, moto, bucket, mode="GOVERNANCE", days=1, encrypt_to=[recipient], part_size="5MiB", multipart_threshold="5MiB")
    big = os.urandom(7 << 20)
    env.make_backup("b1", {"big.tar": big})
    r = env.run("upload", "b1", "--json")
    assert r.code == 0, r
    c = moto.client()
    keys = bucket_keys(c, bucket, "host-a/b1/")
    assert "host-a/b1/big.tar.age" in keys, keys
    for key in keys:
        assert retention_of(c, bucket, key)[0] == "GOVERNANCE", key
    assert age_decrypt(identity, c.get_object(Bucket=bucket, Key="host-a/b1/big.tar.age")["Body"].read(), env.tmp) == big


@pytest.mark.parametrize("scenario,code,words", [
    ("object-lock-hidden", "PERMISSION_DENIED", "s3:GetObjectRetention"),
    ("object-lock-ignored", "OBJECT_LOCK_NOT_APPLIED", "host-a/b1/a.tar"),
])
def test_a_lock_that_cannot_be_confirmed_fails_the_upload(env, scenario, code, words):
    from stub_s3 import StubS3
    stub = StubS3(scenario)
    try:
        env.add_vault("primary", provider="aws", endpoint=stub.endpoint, bucket=stub.bucket, path_style=True,
                      access_key_id="AKIDEXAMPLE", secret_access_key=conftest.new_secret(), object_lock_mode="GOVERNANCE", object_lock_days=5)
        env.write_config()
        env.make_backup("b1", {"a.tar": b"a" * 50})
        r = env.run("upload", "b1", "--json")
        assert r.code == 5 and r.json["error"]["code"] == code, r
        assert words in r.json["error"]["message"] + r.json["error"]["hint"], r
        # Never reported complete: no offsite manifest stays in the vault.
        assert not [k for k in stub.objects if k.endswith("offsite-manifest.json")], list(stub.objects)
        assert [q for q in stub.requests if q.method == "PUT" and "retention" in q.query], "PutObjectRetention was not tried"
    finally:
        stub.close()


def test_config_check_shows_the_lock(env):
    env.add_vault("primary", provider="aws", bucket="b-lock", access_key_id="AKIDEXAMPLE", secret_access_key=conftest.new_secret(),
                  object_lock_mode="COMPLIANCE", object_lock_days=90)
    env.write_config()
    r = env.run("config", "check", "--json")
    assert r.code == 0 and r.json["vaults"][0]["object_lock"] == {"mode": "COMPLIANCE", "days": 90}, r
    assert "COMPLIANCE, 90 days" in env.run("config", "check").stdout


def test_key_denied_the_governance_bypass_is_told_so_on_rgw(env, rgw):
    bucket = rgw.new_bucket(object_lock=True)
    uid = "agent-" + uuid.uuid4().hex[:6]
    access, secret = rgw.create_user(uid)
    user = f"arn:aws:iam:::user/{uid}"
    resources = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    rgw.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": [user]}, "Action": "s3:*", "Resource": resources},
        {"Effect": "Deny", "Principal": {"AWS": [user]}, "Action": "s3:BypassGovernanceRetention", "Resource": resources},
    ]}))
    env.add_vault("primary", provider="other", endpoint=rgw.endpoint, bucket=bucket, access_key_id=access, secret_access_key=secret,
                  object_lock_mode="GOVERNANCE", object_lock_days=3)
    env.write_config()
    started = time.time()
    r, checks = connection(env)
    lock = checks["lock"]
    assert r.code == 0 and lock["status"] == "pass", r
    assert "may not bypass GOVERNANCE" in lock["explanation"], lock
    assert r.json["blast_radius"]["can_bypass_governance"] is False and r.json["blast_radius"]["can_delete"] is True, r
    assert time.time() - started < 60
    assert probe_versions(rgw.client(), bucket) == []  # removed once its few seconds of retention ended
