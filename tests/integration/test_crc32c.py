"""x-amz-checksum-crc32c over HTTPS (issue 17): where the profile says the provider verifies
CRC-32C and the endpoint is HTTPS, bodies go as UNSIGNED-PAYLOAD with the CRC, a multipart upload
asks for a full-object CRC, the offsite manifest records it, and a byte damaged on the way is
refused and sent again. The server is crc_s3.CRCStubS3 (no local S3 server verifies CRC-32C)."""
import json

import pytest

from crc_s3 import CRCStubS3, crc32c
from test_upload import pattern

MiB = 1 << 20


@pytest.fixture
def crc_stub(tmp_path):
    stub = CRCStubS3(tmp_path)
    yield stub
    stub.close()


def crc_vault(env, stub, **extra):
    return env.add_vault("primary", provider="aws", endpoint=stub.endpoint, path_style=True, region="us-east-1", bucket=stub.bucket,
                         access_key_id="AKIASTUB00000001", secret_access_key="stub/secret/0000000000000000000000000000",
                         ca_file=str(stub.cert), **extra)


def test_crc32c_uploads_are_unsigned_payload_with_a_verified_crc(env, crc_stub):
    crc_vault(env, crc_stub, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    big = pattern(11 * MiB + 12345, 3)
    small = pattern(200000, 4)
    env.make_backup("crc", {"big.tar": big, "small.tar": small})
    # One part and one single PUT damaged on arrival: both refused (BadDigest) and sent again.
    crc_stub.flips.append(lambda q: q.method == "PUT" and q.query.get("partNumber") == ["2"])
    crc_stub.flips.append(lambda q: q.method == "PUT" and q.key.endswith("small.tar"))
    r = env.run("upload", "crc", "--json")
    assert r.code == 0, r
    assert len(crc_stub.refused) == 2 and "BadDigest" in r.stderr, r
    assert crc_stub.objects["host-a/crc/big.tar"] == big
    assert crc_stub.objects["host-a/crc/small.tar"] == small
    data_puts = [q for q in crc_stub.requests if q.method == "PUT" and q.key.endswith(".tar")]
    assert len(data_puts) == 3 + 1 + 2, data_puts
    for q in data_puts:
        assert q.lower_headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD", q
        assert "x-amz-checksum-crc32c" in q.lower_headers, q
    create = [q for q in crc_stub.requests if q.method == "POST" and "uploads" in q.query]
    assert create[0].lower_headers["x-amz-checksum-algorithm"] == "CRC32C"
    assert create[0].lower_headers["x-amz-checksum-type"] == "FULL_OBJECT"
    # The stub accepted Complete only with the whole object's CRC: the part CRCs combined right.
    assert crc_stub.crcs["host-a/crc/big.tar"] == crc32c(big)
    manifest = json.loads(crc_stub.objects["host-a/crc/offsite-manifest.json"])
    files = {f["path"]: f for f in manifest["files"]}
    assert files["big.tar"]["crc32c"] == f"{crc32c(big):08x}" and "sha256_parts" not in files["big.tar"]
    assert files["small.tar"]["crc32c"] == f"{crc32c(small):08x}" and "sha256" not in files["small.tar"]
    results = {f["path"]: f for f in r.json["files"]}
    assert results["big.tar"]["checksum"] == f"crc32c:{crc32c(big):08x}"


def test_crc32c_manifest_is_checked_by_restore(env, crc_stub, tmp_path):
    crc_vault(env, crc_stub)
    env.write_config()
    content = pattern(300000, 7)
    env.make_backup("crcr", {"a.tar": content})
    assert env.run("upload", "crcr").code == 0
    out = tmp_path / "restored"
    r = env.run("restore", "crcr", "--to", str(out))
    assert r.code == 0, r
    assert (out / "a.tar").read_bytes() == content
    # The stored object damaged at rest: restore refuses it by its CRC-32C.
    damaged = bytearray(content)
    damaged[1000] ^= 1
    crc_stub.objects["host-a/crcr/a.tar"] = bytes(damaged)
    out2 = tmp_path / "restored2"
    r = env.run("restore", "crcr", "--to", str(out2))
    assert r.code != 0 and "CRC-32C" in r.stdout + r.stderr, r
    assert not (out2 / "a.tar").exists()


def test_plain_http_keeps_the_signed_payload(env, crc_stub):
    # The same provider over HTTP: nothing changes (signed SHA-256 payload, no checksum header).
    from stub_s3 import StubS3
    plain = StubS3("crc32c-https")
    try:
        env.add_vault("primary", provider="aws", endpoint=plain.endpoint, path_style=True, region="us-east-1", bucket=plain.bucket,
                      access_key_id="AKIASTUB00000001", secret_access_key="stub/secret/0000000000000000000000000000")
        env.write_config()
        env.make_backup("plain", {"a.tar": pattern(1000, 1)})
        assert env.run("upload", "plain").code == 0
        put = [q for q in plain.requests if q.method == "PUT" and q.key.endswith("a.tar")][0]
        assert put.lower_headers["x-amz-content-sha256"] != "UNSIGNED-PAYLOAD"
        assert not any(k.startswith("x-amz-checksum") for k in put.lower_headers)
        manifest = json.loads(plain.objects["host-a/plain/offsite-manifest.json"])
        assert "sha256" in manifest["files"][0] and "crc32c" not in manifest["files"][0]
    finally:
        plain.close()


def test_verify_compares_the_stored_crc_without_downloading(env, crc_stub):
    crc_vault(env, crc_stub)
    env.write_config()
    env.make_backup("crcv", {"a.tar": pattern(100000, 2), "b.tar": pattern(50000, 3)})
    assert env.run("upload", "crcv").code == 0
    gets_before = sum(1 for q in crc_stub.requests if q.method == "GET" and q.key and q.key.endswith(".tar"))
    r = env.run("verify", "crcv", "--json")
    assert r.code == 0, r
    assert {f["path"]: f["checked_by"] for f in r.json["files"]}["a.tar"] == "crc32c", r.json
    heads = [q for q in crc_stub.requests if q.method == "HEAD" and q.key == "host-a/crcv/a.tar"]
    assert heads[-1].lower_headers.get("x-amz-checksum-mode") == "ENABLED"
    assert sum(1 for q in crc_stub.requests if q.method == "GET" and q.key and q.key.endswith(".tar")) == gets_before
    r = env.run("verify", "crcv")
    assert "a.tar (checksum: stored CRC-32C)" in r.stdout, r
    # The server's stored CRC differs from the manifest's (the object was replaced, same size): a mismatch.
    crc_stub.crcs["host-a/crcv/b.tar"] ^= 1
    r = env.run("verify", "crcv", "--json")
    assert r.code == 1, r
    b = {f["path"]: f for f in r.json["files"]}["b.tar"]
    assert b["status"] == "mismatch" and "CRC-32C" in b["problems"][0], b
