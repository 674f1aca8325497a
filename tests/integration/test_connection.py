"""`agent test-connection` end to end: the real binary against `rclone serve s3`, an IAM-enforcing
moto server, and recorded provider answers (stub_s3.py) for what no local server emulates.

Every test asserts the check id, status and code, and that the fix names the setting or permission.
"""
import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from conftest import RcloneServer, bucket_keys, free_port, new_secret, wait_for_port
from stub_s3 import StubS3

ROOT = pathlib.Path(__file__).resolve().parents[2]
IDS = ["config", "dns", "connect", "tls", "clock", "credentials", "region", "bucket", "list", "write", "multipart", "delete", "lock", "encryption"]


def run_test(env, *args):
    r = env.run("test-connection", "--json", *args)
    assert r.json is not None, r
    assert [c["id"] for c in r.json["checks"]] == IDS, r
    return r


def check(r, check_id):
    return next(c for c in r.json["checks"] if c["id"] == check_id)


def assert_failed_at(r, check_id, code, exit_code=5, status="fail"):
    c = check(r, check_id)
    assert (c["status"], c["code"]) == (status, code), r
    assert c["explanation"] and c["fix"], r
    if status == "fail":
        assert r.code == exit_code, r
        assert r.json["ok"] is False
        # Every check after the deciding failure is skipped, and its code is printed on stderr.
        later = IDS[IDS.index(check_id) + 1:]
        assert all(check(r, i)["status"] == "skip" for i in later), r
        assert f"error: {code}" in r.stderr
    return c


def no_probes_left(client, bucket):
    keys = bucket_keys(client, bucket)
    assert not [k for k in keys if ".offsite-agent-probe-" in k], keys
    try:
        uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    except client.exceptions.ClientError as e:
        # rclone answers NoSuchUpload when there are none.
        assert e.response["Error"]["Code"] == "NoSuchUpload", e
        uploads = []
    assert not uploads, uploads


# ---------------------------------------------------------------- rclone serve s3


def test_healthy_vault_passes_every_check_and_leaves_nothing_behind(env, rclone):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    r = run_test(env)
    assert r.code == 0, r
    assert r.json["ok"] is True
    assert all(c["status"] == "pass" for c in r.json["checks"] if c["id"] not in ("tls", "lock")), r
    assert check(r, "tls")["status"] == "skip"  # plain http
    # The key can delete and the vault has no Object Lock: the blast-radius warning (issue 15).
    assert (check(r, "lock")["status"], check(r, "lock")["code"]) == ("warn", "OBJECT_LOCK_DISABLED"), r
    assert r.json["vault"] == "primary" and r.json["bucket"] == vault["bucket"] and r.json["provider"] == "minio"
    assert all(isinstance(c["ms"], int) for c in r.json["checks"])
    no_probes_left(rclone.client(), vault["bucket"])

    human = env.run("test-connection")
    assert human.code == 0, human
    assert "result: passed with 1 warning" in human.stdout
    for i in IDS:
        assert f"  {i} " in human.stdout


def test_no_write_skips_write_multipart_and_delete(env, rclone):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    r = run_test(env, "--no-write", "--vault", "primary")
    assert r.code == 0, r
    for i in ("write", "multipart", "delete"):
        assert check(r, i)["status"] == "skip"
        assert "--no-write" in check(r, i)["explanation"]
    assert check(r, "list")["status"] == "pass"
    assert bucket_keys(rclone.client(), vault["bucket"]) == []


def test_wrong_secret_is_signature_mismatch(env, rclone):
    env.add_vault("primary", rclone, secret_access_key=new_secret("wrong"))
    env.write_config()
    r = run_test(env)
    c = assert_failed_at(r, "credentials", "SIGNATURE_MISMATCH")
    assert "secret_access_key" in c["fix"]
    assert check(r, "clock")["status"] == "pass"


def test_whitespace_in_secret_is_named_without_printing_it(env, rclone):
    env.add_vault("primary", rclone, secret_access_key=rclone.secret_key + " ")
    env.write_config()
    r = run_test(env)
    c = assert_failed_at(r, "credentials", "SIGNATURE_MISMATCH")
    assert "whitespace" in c["explanation"] and "secret_access_key" in c["fix"]
    assert rclone.secret_key not in r.stdout + r.stderr


def test_unknown_key_is_invalid_access_key(env, rclone):
    env.add_vault("primary", rclone, access_key_id="AKUNKNOWN0000000")
    env.write_config()
    r = run_test(env)
    c = assert_failed_at(r, "credentials", "INVALID_ACCESS_KEY")
    assert "access_key_id" in c["fix"]
    assert "AKUNKNOWN0000000" not in r.stdout  # key ids are shown by their last 4 characters


def test_missing_bucket_is_no_such_bucket(env, rclone):
    env.add_vault("primary", rclone, bucket="bkt-never-created")
    env.write_config()
    r = run_test(env)
    c = assert_failed_at(r, "bucket", "NO_SUCH_BUCKET")
    assert "`bucket`" in c["fix"]
    # The checks between the request that got the answer and the owner are skipped.
    assert check(r, "credentials")["status"] == "skip" and check(r, "region")["status"] == "skip"


def test_invalid_bucket_name_is_found_offline(env, rclone):
    env.add_vault("primary", rclone, bucket="Backups_2026")
    env.write_config()
    r = run_test(env)
    c = assert_failed_at(r, "config", "INVALID_BUCKET_NAME", exit_code=3)
    assert "uppercase" in c["explanation"] and "`bucket`" in c["fix"]


def test_connection_refused(env):
    env.add_vault("primary", endpoint=f"http://127.0.0.1:{free_port()}", bucket="bkt", access_key_id="AK", secret_access_key=new_secret())
    env.write_config()
    r = run_test(env)
    c = assert_failed_at(r, "connect", "CONNECTION_REFUSED")
    assert "refused" in c["explanation"] and "`endpoint`" in c["fix"]
    assert check(r, "dns")["status"] == "pass"


def test_unresolvable_host_is_dns_failure(env):
    env.add_vault("primary", endpoint="http://s3.no-such-host.invalid:9000", bucket="bkt", access_key_id="AK", secret_access_key=new_secret())
    env.write_config()
    r = run_test(env)
    c = assert_failed_at(r, "dns", "DNS_FAILURE")
    assert "s3.no-such-host.invalid" in c["explanation"] and "`endpoint`" in c["fix"]


@pytest.fixture(scope="module")
def tls_rclone(tmp_path_factory):
    """`rclone serve s3` over https with a self-signed certificate made by `openssl req`."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    server = RcloneServer.__new__(RcloneServer)
    server.root = d / "data"
    server.root.mkdir()
    server.port = free_port()
    server.access_key = "AKTLS0000001"
    server.secret_key = new_secret("tls")
    server.log = open(d / "rclone.log", "w")
    server.proc = subprocess.Popen(
        [shutil.which("rclone"), "serve", "s3", "--auth-key", f"{server.access_key},{server.secret_key}",
         "--addr", f"127.0.0.1:{server.port}", "--cert", str(cert), "--key", str(key), "--config", "/dev/null", str(server.root)],
        stdout=server.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wait_for_port(server.port, proc=server.proc)
    server.endpoint = f"https://127.0.0.1:{server.port}"
    (server.root / "tls-bucket").mkdir()
    server.cert = cert
    yield server
    server.stop()


def test_self_signed_certificate_fails_tls(env, tls_rclone):
    env.add_vault("primary", tls_rclone, bucket="tls-bucket")
    env.write_config()
    r = run_test(env)
    c = assert_failed_at(r, "tls", "TLS_ERROR")
    assert "self-signed" in c["explanation"] and "ca_file" in c["fix"]
    assert check(r, "connect")["status"] == "pass"


def test_self_signed_certificate_passes_with_ca_file(env, tls_rclone):
    env.add_vault("primary", tls_rclone, bucket="tls-bucket", ca_file=str(tls_rclone.cert))
    env.write_config()
    r = run_test(env)
    assert r.code == 0, r
    assert check(r, "tls")["status"] == "pass"
    assert all(c["status"] == "pass" for c in r.json["checks"] if c["id"] != "lock"), r
    assert check(r, "lock")["status"] == "warn", r  # a key that can erase an unlocked vault


# ---------------------------------------------------------------- moto with IAM enforcement


@pytest.fixture
def moto_user(request):
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "support" / "moto_server.py"), "--actions", request.param],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    info = json.loads(proc.stdout.readline())
    new_secret_value = info["secret_key"]
    import conftest
    conftest.SECRETS.add(new_secret_value)
    yield info
    proc.stdin.close()
    proc.wait(20)


def add_moto_vault(env, info):
    # prefix "": moto refuses the signature of a listing whose prefix holds a "/" (boto3's too),
    # a moto quirk, not S3's behaviour.
    env.add_vault("primary", provider="aws", endpoint=info["endpoint"], path_style=True, region="us-east-1", bucket=info["bucket"], prefix="",
                  access_key_id=info["access_key"], secret_access_key=info["secret_key"])
    env.write_config()


@pytest.mark.parametrize("moto_user", ["s3:ListBucket,s3:GetObject"], indirect=True)
def test_read_only_user_fails_write_naming_put_object(env, moto_user):
    add_moto_vault(env, moto_user)
    r = run_test(env)
    c = assert_failed_at(r, "write", "PERMISSION_DENIED", status="fail")
    assert r.code == 5
    assert "s3:PutObject" in c["explanation"] and "s3:PutObject" in c["fix"]
    assert f"arn:aws:s3:::{moto_user['bucket']}/*" in c["fix"]  # the provider's words, filled in
    assert [check(r, i)["status"] for i in ("credentials", "region", "bucket", "list")] == ["pass"] * 4
    assert check(r, "multipart")["status"] == "skip" and check(r, "delete")["status"] == "skip"


@pytest.mark.parametrize(
    "moto_user", ["s3:ListBucket,s3:GetObject,s3:PutObject,s3:ListMultipartUploadParts,s3:DeleteObject"], indirect=True)
def test_user_without_abort_fails_multipart_naming_abort(env, moto_user):
    add_moto_vault(env, moto_user)
    r = run_test(env)
    c = check(r, "multipart")
    assert (c["status"], c["code"]) == ("fail", "PERMISSION_DENIED"), r
    assert "s3:AbortMultipartUpload" in c["explanation"] and "s3:AbortMultipartUpload" in c["fix"]
    assert "remains" in c["explanation"]
    assert check(r, "write")["status"] == "pass"
    assert check(r, "delete")["status"] == "pass"  # the probe object is removed although multipart failed
    assert r.code == 5


# ---------------------------------------------------------------- recorded provider answers


@pytest.fixture
def stub(request):
    scenario, offset = request.param if isinstance(request.param, tuple) else (request.param, 0)
    s = StubS3(scenario, clock_offset=offset)
    yield s
    s.close()


def add_stub_vault(env, stub, provider="aws", **extra):
    settings = dict(provider=provider, endpoint=stub.endpoint, bucket=stub.bucket, access_key_id="AKIASTUB00000001",
                    secret_access_key=new_secret())
    if provider in ("aws", "b2"):
        settings["path_style"] = True
    settings.update(extra)
    env.add_vault("primary", **settings)
    env.write_config()


def signed_requests(stub):
    return [(q.method, "list-type" in q.query) for q in stub.requests]


@pytest.mark.parametrize("stub", ["aws-wrong-region"], indirect=True)
def test_aws_wrong_region_names_the_bucket_region(env, stub):
    add_stub_vault(env, stub, region="us-east-1")
    r = run_test(env)
    c = assert_failed_at(r, "region", "WRONG_REGION")
    assert "eu-central-1" in c["explanation"] and "us-east-1" in c["explanation"]
    assert 'region = "eu-central-1"' in c["fix"] and "[vaults.primary]" in c["fix"]
    assert check(r, "credentials")["status"] == "skip"
    # The bodiless HEAD is followed by exactly one listing for the error body; nothing is repeated.
    assert signed_requests(stub) == [("HEAD", False), ("GET", True)]


@pytest.mark.parametrize("stub", ["aws-permanent-redirect"], indirect=True)
def test_aws_permanent_redirect_endpoint_names_the_region(env, stub):
    add_stub_vault(env, stub, region="us-east-1")
    r = run_test(env)
    c = assert_failed_at(r, "region", "WRONG_REGION")
    assert 'region = "eu-west-1"' in c["fix"]


@pytest.mark.parametrize("stub", ["r2-invalid-region"], indirect=True)
def test_r2_invalid_region_name_says_auto(env, stub):
    add_stub_vault(env, stub, provider="other", region="eu-central-1")
    r = run_test(env)
    c = assert_failed_at(r, "region", "WRONG_REGION")
    assert "InvalidRegionName" in c["explanation"]
    assert 'region = "auto"' in c["fix"]


@pytest.mark.parametrize("stub", ["b2-wrong-region"], indirect=True)
def test_b2_unknown_key_names_both_causes(env, stub):
    add_stub_vault(env, stub, provider="b2", region="us-west-002", access_key_id="0051a2b3c4d5e6f0000000001")
    r = run_test(env)
    c = assert_failed_at(r, "credentials", "INVALID_ACCESS_KEY")
    assert "another region" in c["explanation"]
    assert "access_key_id" in c["fix"] and "`region`" in c["fix"]
    assert "0051a2b3c4d5e6f0000000001" not in r.stdout + r.stderr
    assert len(stub.requests) == 2  # one HEAD, one listing: the refused key is never retried


@pytest.mark.parametrize("stub", [("clock-skew", -20 * 60)], indirect=True)
def test_clock_skew_refusal_says_by_how_much_and_which_way(env, stub):
    add_stub_vault(env, stub)
    r = run_test(env)
    c = assert_failed_at(r, "clock", "CLOCK_SKEW")
    assert "RequestTimeTooSkewed" in c["explanation"] and "ahead of" in c["explanation"] and "20 min" in c["explanation"]
    assert "timedatectl set-ntp true" in c["fix"]


@pytest.mark.parametrize("stub", [("healthy", -3 * 60)], indirect=True)
def test_small_clock_skew_is_a_warning(env, stub):
    add_stub_vault(env, stub)
    r = run_test(env)
    c = check(r, "clock")
    assert (c["status"], c["code"]) == ("warn", "CLOCK_SKEW"), r
    assert "3 min" in c["explanation"] and "ahead of" in c["explanation"] and "timedatectl set-ntp true" in c["fix"]
    assert r.code == 0 and r.json["ok"] is True, r
    assert not stub.objects and not stub.uploads  # probes removed


@pytest.mark.parametrize("stub", ["expired-token"], indirect=True)
def test_expired_session_token(env, stub):
    add_stub_vault(env, stub, session_token=new_secret("tok"))
    r = run_test(env)
    c = assert_failed_at(r, "credentials", "EXPIRED_TOKEN")
    assert "session_token" in c["fix"]


@pytest.mark.parametrize("stub", ["signature-altered"], indirect=True)
def test_differing_string_to_sign_means_the_request_was_altered(env, stub):
    add_stub_vault(env, stub)
    r = run_test(env)
    c = assert_failed_at(r, "credentials", "SIGNATURE_MISMATCH")
    assert "altered" in c["explanation"] and "canonical request" in c["explanation"]
    assert "HTTPS_PROXY" in c["fix"]


@pytest.mark.parametrize("stub", ["encryption-required"], indirect=True)
def test_bucket_policy_requiring_encryption(env, stub):
    add_stub_vault(env, stub)
    r = run_test(env)
    c = check(r, "write")
    assert (c["status"], c["code"]) == ("fail", "PERMISSION_DENIED"), r
    assert "server-side encryption" in c["explanation"]
    assert 'server_side_encryption = "AES256"' in c["fix"]
    assert r.code == 5
    assert check(r, "delete")["status"] == "pass"
    assert not stub.objects  # the probe accepted with encryption was removed


@pytest.mark.parametrize("stub", ["object-lock"], indirect=True)
def test_object_lock_demands_content_md5(env, stub):
    # Wasabi's profile sends no Content-MD5 by default (it verifies signed payloads), so the
    # demand shows; profiles that always send Content-MD5 never see it.
    add_stub_vault(env, stub, provider="wasabi")
    r = run_test(env)
    c = check(r, "write")
    assert (c["status"], c["code"]) == ("warn", "OBJECT_LOCK"), r
    assert "Object Lock" in c["explanation"] and "Content-MD5" in c["fix"]
    assert check(r, "multipart")["status"] == "pass"  # its part carried Content-MD5
    assert r.code == 0, r
    assert not stub.objects and not stub.uploads
    part_puts = [q for q in stub.requests if q.method == "PUT" and "partNumber" in q.query]
    assert part_puts and all("content-md5" in q.lower_headers for q in part_puts)
