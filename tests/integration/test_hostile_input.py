"""Input from outside is hostile until parsed: a vault's offsite manifest written by someone else, a
journal file that is not what the agent wrote. No command may crash (signal) or hang on them: a
hostile manifest is refused with its code (exit < 64, or 75); a hostile journal file is set aside
with a warning naming it, and the command goes on."""
import hashlib
import json
import pathlib
import subprocess

import pytest

from conftest import bucket_keys, get_bytes

DEEP = 300_000

# name -> manifest body (bytes). Each was a crash or a hang before the parsers were bounded, or is
# a value downstream arithmetic would trap on.
HOSTILE_MANIFESTS = {
    "deep-array": b"[" * DEEP,
    "deep-object": b'{"a":' * DEEP,
    "deep-in-files": b'{"format":1,"backup":"b1","files":[' + b"[" * DEEP,
    "unpaired-high-surrogate": None,  # built from the real manifest below
    "lone-low-surrogate": None,
    "huge-size": None,
    "negative-size": None,
    "huge-part-size": None,
    "zero-part-size": None,
    "size-overflowing-total": None,
    "number-out-of-range": None,
    "truncated": None,
    "not-utf8": b'{"format":1,"backup":"b1","files":[{"path":"\xff\xfe","size":1}]}',
    "bad-escape": b'{"format":1,"backup":"b1","files":[{"path":"\\q","size":1}]}',
    "format-3": None,
    "empty": b"",
}


def hostile_manifest(name, real):
    """The body for `name`, derived from the agent's own manifest `real` (a dict) where needed."""
    if HOSTILE_MANIFESTS[name] is not None:
        return HOSTILE_MANIFESTS[name]
    m = json.loads(json.dumps(real))
    f = m["files"][0]
    text = None
    if name == "unpaired-high-surrogate":
        text = json.dumps(m).replace(json.dumps(f["path"]), '"\\uD800\\u0041"', 1)
    elif name == "lone-low-surrogate":
        text = json.dumps(m).replace(json.dumps(f["path"]), '"x\\uDC00y"', 1)
    elif name == "huge-size":
        f["size"] = 2 ** 63 - 1
    elif name == "negative-size":
        f["size"] = -5
    elif name == "huge-part-size":
        f.pop("sha256", None)
        f["part_size"] = 2 ** 63 - 1
        f["sha256_parts"] = ["00" * 32]
    elif name == "zero-part-size":
        f.pop("sha256", None)
        f["part_size"] = 0
        f["sha256_parts"] = ["00" * 32]
    elif name == "size-overflowing-total":
        m["files"] = [dict(f, size=2 ** 62) for _ in range(3)]
    elif name == "number-out-of-range":
        text = json.dumps(m).replace(f'"size": {f["size"]}', '"size": 1e999', 1)
    elif name == "truncated":
        text = json.dumps(m)[:-7]
    elif name == "format-3":
        m["format"] = 3
    return (text if text is not None else json.dumps(m)).encode()


@pytest.fixture(scope="module")
def uploaded(tmp_path_factory, rclone):
    """One backup uploaded once; each test rewrites its manifest in its own copy of the bucket."""
    from conftest import Env
    env = Env(tmp_path_factory.mktemp("hostile"))
    vault = env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("b1", {"data.tar": b"x" * 1000, "more/other.tar": b"y" * 10})
    r = env.run("upload", "b1")
    assert r.code == 0, r
    s3 = rclone.client()
    real = json.loads(get_bytes(s3, vault["bucket"], "host-a/b1/offsite-manifest.json"))
    objects = {k: get_bytes(s3, vault["bucket"], k) for k in bucket_keys(s3, vault["bucket"])}
    return real, objects


def refused_or_ok(r, allow_ok=False):
    """No signal, no crash: an exit code of the table (0 only when `allow_ok`)."""
    assert r.code >= 0, f"killed by signal {-r.code}: {r}"
    assert r.code < 64 or r.code == 75, r
    if not allow_ok:
        assert r.code != 0, r
    assert "Fatal error" not in r.stderr and "Stack dump" not in r.stderr, r


@pytest.mark.parametrize("name", list(HOSTILE_MANIFESTS))
def test_hostile_manifest_is_refused_by_every_command(env, rclone, uploaded, name):
    real, objects = uploaded
    vault = env.add_vault("primary", rclone)
    env.write_config()
    s3 = rclone.client()
    for key, body in objects.items():
        s3.put_object(Bucket=vault["bucket"], Key=key, Body=body)
    s3.put_object(Bucket=vault["bucket"], Key="host-a/b1/offsite-manifest.json", Body=hostile_manifest(name, real))

    # list shows the backup (as incomplete when its manifest cannot be read) and exits 0.
    r = env.run("list", "--json", timeout=60)
    refused_or_ok(r, allow_ok=True)
    assert r.code == 0, r
    listed = {b["id"]: b for b in r.json["backups"]}
    assert "b1" in listed

    for args in (["verify", "b1"], ["verify", "b1", "--deep"], ["restore", "b1", "--to", str(env.tmp / "out")]):
        r = env.run(*args, "--json", timeout=120)
        # A manifest whose values are in range but wrong (a replaced surrogate in a path) is read;
        # what it names then fails to check out. Either way: a code, never a crash.
        refused_or_ok(r, allow_ok=name in ("unpaired-high-surrogate", "lone-low-surrogate"))
        if r.json and "error" in r.json:
            assert r.json["error"]["code"] in ("REJECTED", "NOT_FOUND", "VERIFY_MISMATCH", "INVALID_PATH"), r
    r = env.run("prune", "--keep-last", "5", "--dry-run", "--json", timeout=60)
    refused_or_ok(r, allow_ok=True)


def test_hostile_manifest_is_named_with_the_reason(env, rclone, uploaded):
    real, objects = uploaded
    vault = env.add_vault("primary", rclone)
    env.write_config()
    s3 = rclone.client()
    for key, body in objects.items():
        s3.put_object(Bucket=vault["bucket"], Key=key, Body=body)
    s3.put_object(Bucket=vault["bucket"], Key="host-a/b1/offsite-manifest.json", Body=HOSTILE_MANIFESTS["deep-array"])
    r = env.run("verify", "b1", "--json")
    assert r.code == 1, r
    assert r.json["error"]["code"] == "REJECTED"
    assert "host-a/b1/offsite-manifest.json" in r.json["error"]["message"]
    assert "nested deeper than" in r.json["error"]["message"]


# name -> journal file content
HOSTILE_JOURNALS = {
    "deep-array": "[" * DEEP,
    "deep-object": '{"a":' * DEEP,
    "unpaired-surrogate": '{"version":1,"id":"\\uD800\\u0041","backup":"x","vault":"primary","state":"uploading","files":[]}',
    "huge-part-size": None,
    "huge-part": None,
    "time-overflow": None,
    "truncated": None,
    "binary": "\x00\x01\x02\xff",
}


def hostile_journal(name, real):
    if HOSTILE_JOURNALS[name] is not None:
        return HOSTILE_JOURNALS[name]
    j = json.loads(real)
    if name == "huge-part-size":
        j["files"][0]["part_size"] = 2 ** 63 - 1
        j["files"][0]["upload_id"] = "u"
        j["state"] = "uploading"
    elif name == "huge-part":
        j["files"][0]["parts"] = [{"n": 1, "etag": "e", "size": 2 ** 63 - 1}] * 3
    elif name == "time-overflow":
        j["updated"] = -(2 ** 63)
    elif name == "truncated":
        return real[: len(real) // 2]
    return json.dumps(j)


@pytest.mark.parametrize("name", list(HOSTILE_JOURNALS))
def test_hostile_journal_file_is_set_aside_and_work_goes_on(env, rclone, name):
    vault = env.add_vault("primary", rclone)
    env.write_config()
    env.make_backup("j1", {"a.tar": b"a" * 100})
    assert env.run("upload", "j1").code == 0
    journal = env.state_dir / "journal"
    entry = next(journal.glob("*.json"))
    real = entry.read_text()
    entry.write_text(hostile_journal(name, real))

    r = env.run("status", timeout=60)
    assert r.code == 0, r
    if name != "huge-part":  # parts out of range are dropped (sent again), the entry stays
        assert str(entry) in r.stderr and "damaged" in r.stderr, r
        assert list(journal.glob("*.corrupt-*")), "the damaged file was not set aside"
    r = env.run("status", "--json", timeout=60)
    assert r.code == 0, r
    r = env.run("resume", "--all", timeout=60)
    assert r.code == 0, r
    env.make_backup("j2", {"b.tar": b"b" * 100})
    assert env.run("upload", "j2", timeout=60).code == 0
    assert "host-a/j2/b.tar" in bucket_keys(rclone.client(), vault["bucket"])


def test_journal_warning_says_what_was_wrong(env, rclone):
    env.add_vault("primary", rclone)
    env.write_config()
    journal = env.state_dir / "journal"
    journal.mkdir(parents=True)
    bad = journal / "0123456789abcdef.json"
    bad.write_text("[" * DEEP)
    r = env.run("status")
    assert r.code == 0, r
    assert f"the journal file {bad} was damaged (not JSON: nested deeper than 128 levels" in r.stderr, r


FUZZ = pathlib.Path(__file__).resolve().parents[2] / "Fuzz"


@pytest.mark.parametrize("target", sorted(p.name for p in (FUZZ / "corpus").iterdir()))
def test_fuzz_corpus_and_regressions_replay_without_a_crash(target):
    # The committed seed corpus and every input a fuzzer ever crashed (Fuzz/regressions/TARGET),
    # run once through the target by the ordinary build's agent-fuzz (see `make fuzz`).
    from conftest import AGENT
    binary = pathlib.Path(AGENT).with_name("agent-fuzz")
    assert binary.exists(), f"{binary} missing: `swift build` builds it"
    files = sorted(str(p) for d in (FUZZ / "corpus" / target, FUZZ / "regressions" / target) if d.is_dir()
                   for p in d.iterdir() if p.is_file())
    assert files
    r = subprocess.run([str(binary), target, *files], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert r.stdout.count("ok ") == len(files)
