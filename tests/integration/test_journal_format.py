"""Upgrades keep unfinished uploads (issue 12): a journal entry in format 1, the committed fixture
Tests/UploadTests/Fixtures/journal-format1.json, is resumed by this agent; a newer agent's entry is
refused by name and left untouched."""
import hashlib
import json
import os
import pathlib

FIXTURE = pathlib.Path(__file__).resolve().parents[2] / "Tests/UploadTests/Fixtures/journal-format1.json"
MIB = 1 << 20


def entry_id(backup, vault):
    return hashlib.sha256(f"{vault}\0{backup}".encode()).hexdigest()[:16]


def older_agents_entry(env, rclone):
    """An unfinished upload as an older agent left it: a format 1 entry (the fixture's fields), the
    multipart upload begun and part 1 sent. Returns (entry path, s3 client, bucket, key, data, part 1's etag)."""
    # A finished upload tells what this vault's entries record as endpoint and prefix.
    env.make_backup("warmup", {"a.txt": b"warm"})
    assert env.run("upload", "warmup").code == 0
    warm = json.loads((env.state_dir / "journal" / f"{entry_id('warmup', 'primary')}.json").read_text())

    backup = "2026-11-21-0300-files"
    data = os.urandom(12 * MIB + 12345)
    d = env.make_backup(backup, {"db/dump.sql.gz": data})
    source = d / "db/dump.sql.gz"
    bucket = env.vaults["primary"]["bucket"]
    key = f"{warm['prefix']}{backup}/db/dump.sql.gz"
    # What an older agent had done before it was stopped: the multipart upload begun, part 1 sent.
    s3 = rclone.client()
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part1 = data[:5 * MIB]
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=part1)["ETag"]

    fixture = json.loads(FIXTURE.read_text())
    assert fixture["version"] == 1
    entry = dict(fixture, id=entry_id(backup, "primary"), backup=backup, backup_directory=str(d), vault="primary", bucket=bucket,
                 endpoint=warm["endpoint"], prefix=warm["prefix"])
    st = source.stat()
    file = dict(fixture["files"][0], path="db/dump.sql.gz", source=str(source), key=key, size=len(data), mtime_ns=st.st_mtime_ns,
                inode=st.st_ino, upload_id=upload_id, part_size=5 * MIB,
                parts=[dict(fixture["files"][0]["parts"][0], n=1, etag=etag, size=len(part1), sha256=hashlib.sha256(part1).hexdigest(),
                            md5=hashlib.md5(part1).hexdigest())])
    entry["files"] = [file]
    # Exactly the fixture's fields: the file is in format 1 as it was written then.
    assert set(entry) == set(fixture) and set(file) == set(fixture["files"][0])
    path = env.state_dir / "journal" / f"{entry['id']}.json"
    path.write_text(json.dumps(entry, indent=2))
    os.chmod(path, 0o600)
    return path, s3, bucket, key, data, etag


def test_format_1_journal_is_resumed(env, rclone):
    env.add_vault("primary", rclone, part_size="5MiB", multipart_threshold="8MiB")
    env.write_config()
    path, s3, bucket, key, data, etag = older_agents_entry(env, rclone)

    r = env.run("resume", "--all", "--json")
    assert r.code == 0, r
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    after = json.loads(path.read_text())
    assert after["state"] == "completed" and after["version"] == 1
    # Part 1 was not sent again: the resumed upload kept the older agent's part.
    assert [p["etag"].strip('"') for p in after["files"][0]["parts"]][:1] == [etag.strip('"')]


def test_newer_journal_is_refused_by_name_and_kept(env, rclone):
    env.add_vault("primary", rclone)
    env.write_config()
    journal = env.state_dir / "journal"
    journal.mkdir(parents=True)
    newer = json.loads(FIXTURE.read_text())
    newer["version"] = 99
    path = journal / "00000000000000aa.json"
    text = json.dumps(newer, indent=2)
    path.write_text(text)

    for args in (("resume", "--all"), ("status",)):
        r = env.run(*args)
        assert r.code == 3, r
        assert "JOURNAL_TOO_NEW" in r.stderr and str(path) in r.stderr, r
    assert path.read_text() == text, "the newer agent's entry must be left as it was"
    assert not list(journal.glob("*.corrupt-*"))

    # doctor names it as a newer agent's file (not "damaged", whose fix would not apply) and reads only.
    r = env.run("doctor", "--json")
    uploads = next(c for c in r.json["checks"] if c["id"] == "uploads")
    assert uploads["status"] == "warn" and uploads["code"] == "JOURNAL_TOO_NEW", uploads
    assert str(path) in uploads["explanation"] and "damaged" not in uploads["explanation"] + uploads["fix"], uploads
    assert path.read_text() == text and not list(journal.glob("*.corrupt-*"))


def test_a_newer_entry_does_not_stop_resume_all_from_finishing_the_others(env, rclone):
    """One newer agent's file must not make every timer run fail before it resumes anything
    (review finding 4): the readable entries are finished, the newer file is named, exit 3 at the end."""
    env.add_vault("primary", rclone, part_size="5MiB", multipart_threshold="8MiB")
    env.write_config()
    path, s3, bucket, key, data, _ = older_agents_entry(env, rclone)
    newer = json.loads(FIXTURE.read_text())
    newer["version"] = 99
    newer_path = env.state_dir / "journal" / "00000000000000aa.json"
    text = json.dumps(newer, indent=2)
    newer_path.write_text(text)

    r = env.run("resume", "--all", "--json")
    assert r.code == 3, r
    assert "JOURNAL_TOO_NEW" in r.stderr and str(newer_path) in r.stderr, r
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and [e["error"]["code"] for e in doc["journal_errors"]] == ["JOURNAL_TOO_NEW"], doc
    assert [res["ok"] for res in doc["results"]] == [True], doc
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
    assert json.loads(path.read_text())["state"] == "completed"
    assert newer_path.read_text() == text, "the newer agent's entry must be left as it was"

    # Asked for by id, the newer entry is refused by name; the next timer run has nothing else to do.
    r = env.run("resume", "00000000000000aa")
    assert r.code == 3 and "JOURNAL_TOO_NEW" in r.stderr and str(newer_path) in r.stderr, r
    r = env.run("resume", "--all")
    assert r.code == 3 and "nothing to resume" not in r.stdout, r
    assert newer_path.read_text() == text
