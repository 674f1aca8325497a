"""Client-side encryption (age, issue 14): what the agent stores decrypts with the stock `age`
tool, survives kill -9 + resume, restores with --identity, and fails closed."""
import hashlib
import json
import os
import pathlib
import shutil
import signal
import stat
import subprocess

import pytest

from conftest import SECRETS, bucket_keys, get_bytes, read_spawn_output
from faultproxy import FaultProxy
from test_resume import kill_9_after_parts, server_parts
from test_upload import list_uploads, pattern

MiB = 1 << 20
AGE = shutil.which("age") or "/usr/bin/age"
AGE_KEYGEN = shutil.which("age-keygen") or "/usr/bin/age-keygen"


def keygen(env, name="key.txt"):
    """A new identity through `agent keygen`; returns (path, recipient). The secret is registered
    so the secret scan fails if it ever shows up in the agent's output."""
    path = env.tmp / name
    r = env.run("keygen", "--out", str(path), "--json")
    assert r.code == 0, r
    for line in path.read_text().splitlines():
        if line.startswith("AGE-SECRET-KEY-1"):
            SECRETS.add(line)
    return path, r.json["recipient"]


def age_decrypt(identity, data, tmp):
    src = tmp / "in.age"
    src.write_bytes(data)
    out = subprocess.run([AGE, "-d", "-i", str(identity), str(src)], capture_output=True, check=True)
    return out.stdout


def manifest(s3, bucket, backup):
    return json.loads(get_bytes(s3, bucket, f"host-a/{backup}/offsite-manifest.json"))


def journal_files(env):
    return sorted((env.state_dir / "journal").glob("*.json"))


def test_encrypted_upload_decrypts_with_stock_age(env, s3server):
    identity, recipient = keygen(env)
    other_identity, other = keygen(env, "other.txt")
    vault = env.add_vault("primary", s3server, encrypt_to=[recipient, other], part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    big = pattern(12 * MiB + 123, 3)
    small = b"small archive\n" * 100
    env.make_backup("enc1", {"db.tar": big, "etc/small.tar": small, "empty.tar": b""})
    r = env.run("upload", "enc1", "--json")
    assert r.code == 0, r

    s3 = s3server.client()
    keys = set(bucket_keys(s3, vault["bucket"], "host-a/enc1/"))
    assert keys == {"host-a/enc1/db.tar.age", "host-a/enc1/etc/small.tar.age", "host-a/enc1/empty.tar.age",
                    "host-a/enc1/backup.json.age", "host-a/enc1/offsite-manifest.json"}, keys
    for rel, plain in {"db.tar": big, "etc/small.tar": small, "empty.tar": b""}.items():
        stored = get_bytes(s3, vault["bucket"], f"host-a/enc1/{rel}.age")
        assert stored.startswith(b"age-encryption.org/v1\n-> X25519 ")
        # Both recipients open it with the stock tool, byte for byte.
        assert age_decrypt(identity, stored, env.tmp) == plain
        assert age_decrypt(other_identity, stored, env.tmp) == plain
        # No plaintext byte run reaches the bucket.
        if len(plain) >= 4096:
            for at in (0, len(plain) // 2, len(plain) - 64):
                assert plain[at:at + 64] not in stored
    assert b'"status": "completed"' not in get_bytes(s3, vault["bucket"], "host-a/enc1/backup.json.age")

    m = manifest(s3, vault["bucket"], "enc1")
    assert m["format"] == 2
    by_path = {f["path"]: f for f in m["files"]}
    db = by_path["db.tar"]
    assert db["size"] == len(big)
    stored = get_bytes(s3, vault["bucket"], "host-a/enc1/db.tar.age")
    assert db["stored_size"] == len(stored)
    assert db["encryption"] == {"format": "age", "recipients": [recipient, other]}
    # The stored bytes' hashes, as for plain files.
    hashes = [hashlib.sha256(stored[i:i + db["part_size"]]).hexdigest() for i in range(0, len(stored), db["part_size"])]
    assert db["sha256_parts"] == hashes
    small_entry = by_path["etc/small.tar"]
    assert small_entry["sha256"] == hashlib.sha256(get_bytes(s3, vault["bucket"], "host-a/enc1/etc/small.tar.age")).hexdigest()

    # list works without a key; the finished journal holds no secret.
    r = env.run("list", "--json")
    assert r.code == 0, r
    for j in journal_files(env):
        text = j.read_text()
        assert "file_key" not in text and "nonce" not in text, text
        assert stat.S_IMODE(j.stat().st_mode) == 0o600


def test_each_upload_gets_a_new_file_key(env, rclone):
    identity, recipient = keygen(env)
    vault = env.add_vault("primary", rclone, encrypt_to=[recipient])
    env.write_config()
    env.make_backup("twice", {"a.tar": b"same content" * 1000})
    assert env.run("upload", "twice").code == 0
    s3 = rclone.client()
    first = get_bytes(s3, vault["bucket"], "host-a/twice/a.tar.age")
    assert env.run("upload", "twice", "--force").code == 0
    second = get_bytes(s3, vault["bucket"], "host-a/twice/a.tar.age")
    assert first != second
    assert age_decrypt(identity, first, env.tmp) == age_decrypt(identity, second, env.tmp) == b"same content" * 1000


def test_kill_9_then_resume_recreates_missing_encrypted_parts(env, rclone):
    identity, recipient = keygen(env)
    proxy = FaultProxy(rclone.port)
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint, encrypt_to=[recipient], part_size="8MiB",
                          multipart_threshold="8MiB", bandwidth_limit="48MiB/s")
    env.write_config()
    content = pattern(100 * MiB, 5)
    env.make_backup("killed", {"db.tar": content})
    p = env.spawn("upload", "killed")
    kill_9_after_parts(proxy, p, 5)

    # While unfinished, the journal (0600) keeps the file key, header and nonce.
    [journal] = journal_files(env)
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    entry = json.loads(journal.read_text())
    enc = [f["encryption"] for f in entry["files"] if f["path"] == "db.tar"][0]
    assert len(enc["file_key"]) == 32 and len(enc["nonce"]) == 32 and enc["header"]
    SECRETS.add(enc["file_key"])

    s3 = rclone.client()
    key = "host-a/killed/db.tar.age"
    upload_id, held = server_parts(s3, vault["bucket"], key)
    assert upload_id is not None
    parts = -(-enc["stored_size"] // (8 * MiB))
    missing = parts - len(held)
    before = len(proxy.parts())
    r = env.run("resume", "--all", "--json")
    assert r.code == 0, r
    resent = len(proxy.parts()) - before
    assert missing - 4 <= resent <= missing + 4, (missing, resent)
    held_numbers = {p["PartNumber"] for p in held}
    assert not ({int(q.query["partNumber"]) for q in proxy.parts()[before:]} & held_numbers)
    stored = get_bytes(s3, vault["bucket"], key)
    assert len(stored) == enc["stored_size"]
    assert age_decrypt(identity, stored, env.tmp) == content
    assert "file_key" not in journal.read_text()
    proxy.close()


def test_changed_source_gets_a_new_key(env, rclone):
    identity, recipient = keygen(env)
    proxy = FaultProxy(rclone.port)
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint, encrypt_to=[recipient], part_size="8MiB",
                          multipart_threshold="8MiB", bandwidth_limit="32MiB/s")
    env.write_config()
    d = env.make_backup("changing", {"db.tar": pattern(60 * MiB, 1)})
    p = env.spawn("upload", "changing")
    kill_9_after_parts(proxy, p, 3)
    [journal] = journal_files(env)
    old_key = [f["encryption"]["file_key"] for f in json.loads(journal.read_text())["files"] if f["path"] == "db.tar"][0]
    SECRETS.add(old_key)
    new = pattern(60 * MiB, 2)
    (d / "db.tar").write_bytes(new)
    r = env.run("resume", "--all")
    assert r.code == 0, r
    assert "SOURCE_CHANGED" in r.stderr
    stored = get_bytes(rclone.client(), vault["bucket"], "host-a/changing/db.tar.age")
    assert age_decrypt(identity, stored, env.tmp) == new
    proxy.close()


@pytest.mark.parametrize("bad,expect", [
    (["age1notarecipient"], "encrypt_to entry 2"),
    (["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkey"], "SSH recipient"),
])
def test_malformed_recipient_is_invalid_config_and_nothing_is_sent(env, rclone, bad, expect):
    _, good = keygen(env)
    vault = env.add_vault("primary", rclone, encrypt_to=[good] + bad)
    env.write_config()
    env.make_backup("refused", {"a.tar": b"x" * 100})
    r = env.run("upload", "refused")
    assert r.code == 3, r
    assert "INVALID_CONFIG" in r.stderr and expect in r.stderr and "agent.toml:" in r.stderr, r.stderr
    assert bucket_keys(rclone.client(), vault["bucket"]) == []


def test_recipients_file_line_is_named(env, rclone):
    _, good = keygen(env)
    rfile = env.tmp / "recipients.txt"
    rfile.write_text(f"# admins\n{good}\n\nage1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq\n")
    vault = env.add_vault("primary", rclone, encrypt_to_file=str(rfile))
    env.write_config()
    env.make_backup("refused2", {"a.tar": b"x" * 100})
    r = env.run("upload", "refused2")
    assert r.code == 3, r
    assert f"{rfile}:4" in r.stderr, r.stderr
    assert bucket_keys(rclone.client(), vault["bucket"]) == []
    # A good file works, and config check lists the recipients (public keys only).
    rfile.write_text(f"# admins\n{good}\n")
    r = env.run("config", "check", "--json")
    assert r.code == 0, r
    assert r.json["vaults"][0]["recipients"] == [good]
    assert env.run("upload", "refused2").code == 0


def put_replacing(s3, bucket, backup, rel, stored, plain_size):
    """Stores `stored` as the file's object and rewrites its manifest entry to match (as someone
    holding the bucket's keys could): the stored-bytes checks then pass, only decryption can tell."""
    key = f"host-a/{backup}/{rel}.age"
    s3.put_object(Bucket=bucket, Key=key, Body=stored)
    m = manifest(s3, bucket, backup)
    for f in m["files"]:
        if f["path"] == rel:
            f["size"] = plain_size
            f["stored_size"] = len(stored)
            f["etag"] = hashlib.md5(stored).hexdigest()
            f.pop("part_size", None)
            f.pop("sha256_parts", None)
            f["sha256"] = hashlib.sha256(stored).hexdigest()
    s3.put_object(Bucket=bucket, Key=f"host-a/{backup}/offsite-manifest.json", Body=json.dumps(m).encode())


def test_restore_and_verify_with_identity_and_the_error_codes(env, s3server):
    identity, recipient = keygen(env)
    wrong, _ = keygen(env, "wrong.txt")
    vault = env.add_vault("primary", s3server, encrypt_to=[recipient], part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    big = pattern(11 * MiB + 7, 9)
    files = {"db.tar": big, "sub/small.tar": b"tiny" * 1000, "empty.tar": b""}
    env.make_backup("rb", files)
    assert env.run("upload", "rb").code == 0
    s3 = s3server.client()

    # No identity: IDENTITY_REQUIRED (3), nothing written.
    target = env.tmp / "restored"
    r = env.run("restore", "rb", "--to", str(target))
    assert r.code == 3 and "IDENTITY_REQUIRED" in r.stderr, r
    assert not target.exists()
    # An identity that opens nothing: IDENTITY_MISMATCH (1), nothing written.
    r = env.run("restore", "rb", "--to", str(target), "--identity", str(wrong))
    assert r.code == 1 and "IDENTITY_MISMATCH" in r.stderr, r
    assert not target.exists()

    r = env.run("restore", "rb", "--to", str(target), "--identity", str(identity), "--json")
    assert r.code == 0, r
    for rel, content in files.items():
        assert (target / rel).read_bytes() == content, rel
    assert (target / "backup.json").exists()
    assert not list(target.rglob("*.age")) and not list(target.rglob("*.plain"))

    # verify --deep: stored bytes without a key; every chunk too with one.
    assert env.run("verify", "rb", "--deep").code == 0
    r = env.run("verify", "rb", "--deep", "--identity", str(identity), "--json")
    assert r.code == 0, r
    r = env.run("verify", "rb", "--deep", "--identity", str(wrong))
    assert r.code == 1 and "IDENTITY_MISMATCH" in r.stderr, r

    # A flipped byte in the bucket: VERIFY_MISMATCH (1), the file not put in place.
    stored = bytearray(get_bytes(s3, vault["bucket"], "host-a/rb/sub/small.tar.age"))
    stored[-20] ^= 1
    s3.put_object(Bucket=vault["bucket"], Key="host-a/rb/sub/small.tar.age", Body=bytes(stored))
    r = env.run("verify", "rb", "--deep")
    assert r.code == 1 and "VERIFY_MISMATCH" in r.stderr, r
    t2 = env.tmp / "restored2"
    r = env.run("restore", "rb", "--to", str(t2), "--identity", str(identity))
    assert r.code == 1 and "VERIFY_MISMATCH" in r.stderr, r
    assert not (t2 / "sub/small.tar").exists()

    # Object and manifest both rewritten: the stored bytes match, the chunk's tag does not.
    put_replacing(s3, vault["bucket"], "rb", "sub/small.tar", bytes(stored), 4000)
    assert env.run("verify", "rb", "--deep").code == 0
    r = env.run("verify", "rb", "--deep", "--identity", str(identity))
    assert r.code == 1 and "VERIFY_MISMATCH" in r.stderr and "decryption" in r.stdout + r.stderr, r
    t3 = env.tmp / "restored3"
    r = env.run("restore", "rb", "--to", str(t3), "--identity", str(identity))
    assert r.code == 1 and "VERIFY_MISMATCH" in r.stderr, r
    assert not (t3 / "sub/small.tar").exists()
    assert (t3 / "db.tar").read_bytes() == big


def test_file_encrypted_by_stock_age_restores_through_the_agent(env, rclone):
    identity, recipient = keygen(env)
    vault = env.add_vault("primary", rclone, encrypt_to=[recipient], identity_file=str(identity))
    env.write_config()
    content = pattern(3 * MiB + 5, 4)
    env.make_backup("interop", {"db.tar": b"placeholder"})
    assert env.run("upload", "interop").code == 0
    plain = env.tmp / "db.tar"
    plain.write_bytes(content)
    sealed = subprocess.run([AGE, "-r", recipient, str(plain)], capture_output=True, check=True).stdout
    s3 = rclone.client()
    put_replacing(s3, vault["bucket"], "interop", "db.tar", sealed, len(content))
    # The vault's identity_file is used when --identity is not given.
    target = env.tmp / "restored"
    r = env.run("restore", "interop", "--to", str(target))
    assert r.code == 0, r
    assert (target / "db.tar").read_bytes() == content


def test_config_check_and_test_connection_show_encryption(env, rclone):
    identity, recipient = keygen(env)
    env.add_vault("primary", rclone, encrypt_to=[recipient])
    env.write_config()
    r = env.run("config", "check")
    assert r.code == 0 and recipient in r.stdout and "AGE-SECRET-KEY" not in r.stdout, r
    r = env.run("test-connection", "--json")
    assert r.code == 0, r
    check = [c for c in r.json["checks"] if c["id"] == "encryption"][0]
    assert check["status"] == "pass", check
    # An identity that opens this vault's copies, readable on the server: a warning.
    env.vaults["primary"]["identity_file"] = str(identity)
    env.write_config()
    r = env.run("test-connection", "--json")
    assert r.code == 0, r
    check = [c for c in r.json["checks"] if c["id"] == "encryption"][0]
    assert check["status"] == "warn" and str(identity) in check["explanation"], check


def test_two_vaults_in_one_pass_each_get_their_own_encryption(env, rclone, rclone2):
    a_identity, a = keygen(env, "a.txt")
    b_identity, b = keygen(env, "b.txt")
    va = env.add_vault("enc-a", rclone, encrypt_to=[a], part_size="5MiB", multipart_threshold="5MiB")
    vb = env.add_vault("enc-b", rclone2, encrypt_to=[b], part_size="5MiB", multipart_threshold="5MiB")
    vp = env.add_vault("plain", rclone, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    content = pattern(12 * MiB + 1, 6)
    env.make_backup("three", {"db.tar": content})
    r = env.run("upload", "three", "--vault", "enc-a", "--vault", "enc-b", "--vault", "plain", "--json")
    assert r.code == 0, r
    sa = get_bytes(rclone.client(), va["bucket"], "host-a/three/db.tar.age")
    sb = get_bytes(rclone2.client(), vb["bucket"], "host-a/three/db.tar.age")
    assert get_bytes(rclone.client(), vp["bucket"], "host-a/three/db.tar") == content
    # Each vault its own header and key: neither identity opens the other's copy.
    assert sa[:200] != sb[:200]
    assert age_decrypt(a_identity, sa, env.tmp) == content
    assert age_decrypt(b_identity, sb, env.tmp) == content
    src = env.tmp / "x.age"
    src.write_bytes(sa)
    assert subprocess.run([AGE, "-d", "-i", str(b_identity), str(src)], capture_output=True).returncode != 0
    # Each manifest records its own stored bytes' hashes.
    ma, mb = manifest(rclone.client(), va["bucket"], "three"), manifest(rclone2.client(), vb["bucket"], "three")
    fa = [f for f in ma["files"] if f["path"] == "db.tar"][0]
    fb = [f for f in mb["files"] if f["path"] == "db.tar"][0]
    assert fa["sha256_parts"][0] == hashlib.sha256(sa[:fa["part_size"]]).hexdigest()
    assert fb["sha256_parts"][0] == hashlib.sha256(sb[:fb["part_size"]]).hexdigest()
