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
import time

import pytest

from conftest import SECRETS, bucket_keys, get_bytes, read_spawn_output
from faultproxy import FaultProxy, Rule
from test_memory_slow_range import peak_rss
from test_restore import kill_restore_when
from test_restore_space import small_fs  # noqa: F401 (a 4 MiB tmpfs fixture)
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


# --- Restore decrypts while downloading (issue 14, item 4) -------------------------------------

SEALED = 65536 + 16
RANGE = (8 * MiB) // SEALED * SEALED  # restore's 8 MiB ranges, cut at sealed-chunk boundaries


def payload_start(stored_size, plain_size):
    """Where sealed chunk 0 starts: after the header and the 16-byte payload nonce."""
    chunks = max(1, -(-plain_size // 65536))
    return stored_size - (plain_size + 16 * chunks)


def unpadded_b64(text):
    import base64
    return base64.b64decode(text + "=" * (-len(text) % 4))


def big_gets(proxy, since, suffix):
    return [q for q in proxy.requests[since:] if q.method == "GET" and q.path.endswith(suffix)]


def range_start(q):
    return int(q.headers["range"][6:].split("-")[0])


def test_encrypted_restore_decrypts_range_by_range_and_resumes_after_kill_9(env, rclone):
    identity, recipient = keygen(env)
    proxy = FaultProxy(rclone.port)
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint, encrypt_to=[recipient], identity_file=str(identity))
    env.write_config()
    big = pattern(64 * MiB + 12345, 21)
    files = {"a/small.tar": b"small" * 1000, "z/big.tar": big}
    env.make_backup("eb", files)
    assert env.run("upload", "eb").code == 0
    s3 = rclone.client()
    entry = {f["path"]: f for f in manifest(s3, vault["bucket"], "eb")["files"]}["z/big.tar"]
    stored = get_bytes(s3, vault["bucket"], "host-a/eb/z/big.tar.age")
    start = payload_start(len(stored), len(big))
    ranges = -(-(len(stored) - start) // RANGE)

    # Throttled so the kill lands in the middle of big.tar (2 ranges in flight).
    env.vaults["primary"].update(bandwidth_limit="8MiB/s", concurrency=2)
    env.write_config()
    target = env.tmp / "restored"
    staging = target / ".offsite-restore"
    first = len(proxy.requests)
    proc = env.spawn("restore", "eb", "--to", str(target))
    seen = kill_restore_when(proc, target, lambda e: not e["z/big.tar"]["done"] and len(e["z/big.tar"]["chunks"]) >= 2 and set(e["z/big.tar"]["chunks"]))
    proc.wait(10)
    output = read_spawn_output(proc)
    assert seen is not None, output
    assert not (target / "z" / "big.tar").exists()

    # The journal keeps the object's header and nonce (its first bytes: no secret) to open them
    # again with the identity; the staging folder holds plaintext only, never the stored bytes.
    journal = json.loads((staging / "journal.json").read_text())
    assert journal["format"] == 2
    e = {f["path"]: f for f in journal["files"]}["z/big.tar"]
    assert unpadded_b64(e["age_header"]) == stored[:start]
    partials = list(staging.glob("*.partial"))
    assert partials and all(p.stat().st_size <= len(big) for p in partials)
    [partial] = [p for p in partials if p.stat().st_size > 100_000]
    written = partial.read_bytes()
    per_range_plain = RANGE // SEALED * 65536
    for c in seen:
        lo, hi = c * per_range_plain, min(len(big), (c + 1) * per_range_plain)
        assert written[lo:hi] == big[lo:hi], c
    # Every ranged GET asks for whole sealed chunks (the first one also for the header).
    starts = {range_start(q) for q in big_gets(proxy, first, "/z/big.tar.age")}
    assert starts and all(s == 0 or (s - start) % RANGE == 0 for s in starts), starts

    second = len(proxy.requests)
    r = env.run("restore", "eb", "--to", str(target), "--json")
    assert r.code == 0, r
    assert r.json["resumed"] is True
    for rel, data in files.items():
        assert (target / rel).read_bytes() == data, rel
    assert not staging.exists()
    # Only the ranges still missing are fetched, each once.
    again = big_gets(proxy, second, "/z/big.tar.age")
    done_starts = {0 if c == 0 else start + c * RANGE for c in seen}
    starts = [range_start(q) for q in again]
    assert not set(starts) & done_starts, (starts, seen)
    assert len(starts) == len(set(starts)) == ranges - len(seen)
    assert r.json["bytes_downloaded"] <= len(stored) - (len(seen) - 1) * RANGE
    proxy.close()


def test_a_tampered_range_of_a_large_encrypted_file_is_verify_mismatch(env, rclone):
    identity, recipient = keygen(env)
    vault = env.add_vault("primary", rclone, encrypt_to=[recipient], identity_file=str(identity))
    env.write_config()
    big = pattern(20 * MiB + 3, 22)
    env.make_backup("tb", {"big.tar": big, "ok.tar": b"fine" * 5000})
    assert env.run("upload", "tb").code == 0
    s3 = rclone.client()
    stored = bytearray(get_bytes(s3, vault["bucket"], "host-a/tb/big.tar.age"))

    # A flipped byte in the second range, object only: the chunk fails as it arrives.
    stored[12 * MiB] ^= 1
    s3.put_object(Bucket=vault["bucket"], Key="host-a/tb/big.tar.age", Body=bytes(stored))
    t1 = env.tmp / "t1"
    r = env.run("restore", "tb", "--to", str(t1), "--json")
    assert r.code == 1 and "VERIFY_MISMATCH" in r.stdout + r.stderr, r
    assert not (t1 / "big.tar").exists()
    assert (t1 / "ok.tar").read_bytes() == b"fine" * 5000
    assert not list(t1.rglob("*.partial"))

    # Object and manifest rewritten together: the stored-bytes hashes match, the tag does not.
    put_replacing(s3, vault["bucket"], "tb", "big.tar", bytes(stored), len(big))
    t2 = env.tmp / "t2"
    r = env.run("restore", "tb", "--to", str(t2), "--json")
    assert r.code == 1 and "VERIFY_MISMATCH" in r.stdout + r.stderr, r
    text = r.stdout + r.stderr
    assert "failed decryption" in text and "chunk 191 failed authentication" in text, text
    assert "downloading them again" in text  # damaged in transit? fetched once more, then given up
    assert not (t2 / "big.tar").exists()
    assert not list(t2.rglob("*.partial"))
    assert (t2 / "ok.tar").read_bytes() == b"fine" * 5000


def test_encrypted_restore_needs_room_for_the_plaintext_only(env, rclone, small_fs):
    identity, recipient = keygen(env)
    vault = env.add_vault("primary", rclone, encrypt_to=[recipient], identity_file=str(identity))
    env.write_config()
    # The 4 MiB tmpfs has room for 3 MiB of plaintext, not for it and its stored copy (6 MiB).
    data = pattern(3 * MiB, 23)
    env.make_backup("fits", {"three.tar": data})
    assert env.run("upload", "fits").code == 0
    target = small_fs / "restored"
    r = env.run("restore", "fits", "--to", str(target), "--json")
    assert r.code == 0, r
    assert (target / "three.tar").read_bytes() == data
    shutil.rmtree(target)

    # NO_SPACE counts the plaintext only: exactly the manifest's decrypted sizes.
    env.make_backup("too-big", {"five.tar": pattern(5 * MiB, 24)})
    assert env.run("upload", "too-big").code == 0
    m = manifest(rclone.client(), vault["bucket"], "too-big")
    r = env.run("restore", "too-big", "--to", str(target), "--json")
    assert r.code == 1 and r.json["error"]["code"] == "NO_SPACE", r
    import re
    needed = int(re.findall(r"(\d+) bytes \(", r.json["error"]["message"])[0])
    assert needed == sum(f["size"] for f in m["files"]) < sum(f["stored_size"] for f in m["files"]), (needed, m)
    assert not (target / "five.tar").exists()


def test_encrypted_restore_holds_no_out_of_order_range_in_memory(env, rclone):
    identity, recipient = keygen(env)
    proxy = FaultProxy(rclone.port)
    env.add_vault("primary", rclone, endpoint=proxy.endpoint, encrypt_to=[recipient], identity_file=str(identity), concurrency=4)
    env.write_config()
    data = pattern(64 * MiB, 25)
    env.make_backup("mem", {"big.tar": data})
    assert env.run("upload", "mem").code == 0

    def second_range(q):
        return q.method == "GET" and q.path.endswith("/big.tar.age") and not q.headers.get("range", "").startswith("bytes=0-")

    peaks = {}
    for label, hold in (("plain", 0), ("held", 8)):
        rule = proxy.add(Rule(second_range, "before", before=lambda q: time.sleep(hold))) if hold else None
        p = env.spawn("restore", "mem", "--to", str(env.tmp / f"out-{label}"))
        peaks[label] = peak_rss(p)
        out = read_spawn_output(p)
        assert p.returncode == 0, out
        if rule:
            assert rule.fired == 1
        assert (env.tmp / f"out-{label}" / "big.tar").read_bytes() == data
    print("peak RSS", {k: v // 1024 for k, v in peaks.items()}, "KiB")
    # The 6 ranges that arrive while one is held are decrypted and written at once, not kept.
    assert peaks["held"] <= peaks["plain"] + 4 * MiB, (peaks["plain"] // MiB, peaks["held"] // MiB)
    proxy.close()


def test_an_older_journal_without_the_header_starts_the_encrypted_file_over(env, rclone):
    """A format-1 journal (an older agent) kept an encrypted file's download as ciphertext, and no
    header: that file is downloaded again from the start, the others keep their progress."""
    identity, recipient = keygen(env)
    env.add_vault("primary", rclone, encrypt_to=[recipient], identity_file=str(identity))
    env.write_config()
    big = pattern(32 * MiB + 1, 26)
    env.make_backup("old", {"big.tar": big})
    assert env.run("upload", "old").code == 0
    env.vaults["primary"].update(bandwidth_limit="8MiB/s", concurrency=2)
    env.write_config()
    target = env.tmp / "restored"
    proc = env.spawn("restore", "old", "--to", str(target))
    seen = kill_restore_when(proc, target, lambda e: not e["big.tar"]["done"] and e["big.tar"]["chunks"])
    proc.wait(10)
    assert seen, read_spawn_output(proc)
    path = target / ".offsite-restore" / "journal.json"
    journal = json.loads(path.read_text())
    journal["format"] = 1
    for f in journal["files"]:
        f.pop("age_header", None)
    path.write_text(json.dumps(journal))
    r = env.run("restore", "old", "--to", str(target), "--json")
    assert r.code == 0, r
    assert (target / "big.tar").read_bytes() == big
    assert any("big.tar: the interrupted restore of it cannot be continued" in w for w in r.json["warnings"]), r.json
    assert r.json["bytes_downloaded"] >= len(big)
