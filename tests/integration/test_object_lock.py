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
    # moto ignores the retention given at CreateMultipartUpload: the agent noticed and set it.
    assert "PutObjectRetention" in r.stderr and "db.sql.gz" in r.stderr, r
    # A locked version refuses deletion (the server's own guarantee, checked with boto3).
    version = c.list_object_versions(Bucket=bucket, Prefix="host-a/b1/small.tar")["Versions"][0]["VersionId"]
    with pytest.raises(Exception):
        c.delete_object(Bucket=bucket, Key="host-a/b1/small.tar", VersionId=version)


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
