"""Several vaults in one pass (SPEC 5.1): one read feeds every vault; each fails or finishes on its own."""
import time

from conftest import ROOT, get_bytes
from faultproxy import FaultProxy, Rule
from test_resume import kill_9_after_parts
from test_upload import list_uploads, pattern

MiB = 1 << 20


def test_backup_lands_in_both_vaults(env, rclone, rclone2):
    a = env.add_vault("primary", rclone, part_size="5MiB", multipart_threshold="5MiB")
    b = env.add_vault("offsite2", rclone2, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config(default_vaults=["primary", "offsite2"])
    files = {"small.txt": b"small", "nested/big.tar": pattern(23 * MiB + 7, 1), "empty": b""}
    env.make_backup("both", files)
    r = env.run("upload", "both", "--json")
    assert r.code == 0, r
    assert {x["vault"] for x in r.json["results"]} == {"primary", "offsite2"}
    for server, vault in ((rclone, a), (rclone2, b)):
        s3 = server.client()
        for path, content in files.items():
            assert get_bytes(s3, vault["bucket"], f"host-a/both/{path}") == content
        assert get_bytes(s3, vault["bucket"], "host-a/both/offsite-manifest.json")


def test_stalled_vault_does_not_hold_up_the_healthy_one(env, rclone, rclone2):
    proxy = FaultProxy(rclone2.port)
    proxy.add(Rule(lambda q: q.is_part and q.query["partNumber"] == "2", "stall", at=0.3, stall_seconds=120))
    env.add_vault("healthy", rclone, part_size="5MiB", multipart_threshold="5MiB")
    b = env.add_vault("stalling", rclone2, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB", stall_timeout="6s")
    env.write_config()
    content = pattern(20 * MiB, 2)
    env.make_backup("stall2", {"x.tar": content})
    r = env.run("upload", "stall2", "--vault", "healthy", "--vault", "stalling", "--json")
    assert r.code == 0, r
    by_vault = {x["vault"]: x for x in r.json["results"]}
    # The healthy vault finished at its own pace, long before the stalled part was cut (6 s).
    assert by_vault["healthy"]["seconds"] + 3 < by_vault["stalling"]["seconds"], by_vault
    assert get_bytes(rclone2.client(), b["bucket"], "host-a/stall2/x.tar") == content
    proxy.close()


def test_refusing_vault_fails_alone_with_exit_5(env, rclone, rclone2):
    good = env.add_vault("good", rclone)
    env.add_vault("badsecret", rclone2)
    env.vaults["badsecret"]["secret_access_key"] = rclone2.secret_key + "-wrong"
    env.write_config(default_vaults=["good", "badsecret"])
    env.make_backup("refused", {"a.tar": b"a" * 1000})
    r = env.run("upload", "refused", "--json")
    assert r.code == 5, r
    by_vault = {x["vault"]: x for x in r.json["results"]}
    assert by_vault["good"]["ok"] is True
    assert by_vault["badsecret"]["ok"] is False
    assert by_vault["badsecret"]["error"]["code"] == "SIGNATURE_MISMATCH"
    assert get_bytes(rclone.client(), good["bucket"], "host-a/refused/a.tar") == b"a" * 1000


def test_kill_during_two_vault_upload_then_resume_all(env, rclone, rclone2):
    pa, pb = FaultProxy(rclone.port), FaultProxy(rclone2.port)
    a = env.add_vault("va", rclone, endpoint=pa.endpoint, part_size="5MiB", multipart_threshold="5MiB", bandwidth_limit="32MiB/s")
    b = env.add_vault("vb", rclone2, endpoint=pb.endpoint, part_size="5MiB", multipart_threshold="5MiB", bandwidth_limit="32MiB/s")
    env.write_config(default_vaults=["va", "vb"])
    content = pattern(60 * MiB, 3)
    env.make_backup("k2", {"big.tar": content})
    p = env.spawn("upload", "k2")
    kill_9_after_parts(pa, p, 4)
    held = {}
    for name, server, vault in (("va", rclone, a), ("vb", rclone2, b)):
        s3 = server.client()
        uploads = [u for u in list_uploads(s3, vault["bucket"]) if u["Key"] == "host-a/k2/big.tar"]
        held[name] = set()
        if uploads:
            held[name] = {x["PartNumber"] for x in s3.list_parts(Bucket=vault["bucket"], Key="host-a/k2/big.tar",
                                                                   UploadId=uploads[0]["UploadId"]).get("Parts", [])}
    before = {"va": len(pa.parts()), "vb": len(pb.parts())}
    r = env.run("resume", "--all", "--json")
    assert r.code == 0, r
    for name, proxy in (("va", pa), ("vb", pb)):
        resent = {int(q.query["partNumber"]) for q in proxy.parts()[before[name]:]}
        assert not (resent & held[name]), (name, resent & held[name])
    for server, vault in ((rclone, a), (rclone2, b)):
        assert get_bytes(server.client(), vault["bucket"], "host-a/k2/big.tar") == content
        assert list_uploads(server.client(), vault["bucket"]) == []
    pa.close()
    pb.close()


def write_profile(directory, name, **multipart):
    base = (ROOT / "providers" / "minio.toml").read_text()
    lines = []
    section = None
    for line in base.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
        key = stripped.split("=")[0].strip() if "=" in stripped and not stripped.startswith("#") else None
        if section is None and key == "name":
            line = f'name = "{name}"'
        elif section == "[multipart]" and key in multipart:
            line = f"{key} = {multipart[key]}"
        lines.append(line)
    (directory / f"{name}.toml").write_text("\n".join(lines) + "\n")


def test_vaults_with_incompatible_part_rules_both_complete(env, rclone, rclone2, tmp_path):
    providers = tmp_path / "providers.d"
    providers.mkdir()
    # No part size fits both: one wants parts of at most 6 MiB, the other at least 8 MiB.
    write_profile(providers, "smallparts", max_part_size='"6MiB"', equal_parts="true")
    write_profile(providers, "fewparts", min_part_size='"8MiB"', max_parts="4", multipart_threshold='"8MiB"')
    a = env.add_vault("equal", rclone, provider="smallparts", multipart_threshold="5MiB")
    b = env.add_vault("few", rclone2, provider="fewparts")
    env.write_config(default_vaults=["equal", "few"], providers_dir=str(providers))
    content = pattern(30 * MiB + 5, 4)
    env.make_backup("rules", {"r.tar": content})
    r = env.run("upload", "rules", "--json")
    assert r.code == 0, r
    by_vault = {x["vault"]: x for x in r.json["results"]}
    assert by_vault["few"]["files"][0]["parts"] <= 4
    assert by_vault["equal"]["files"][0]["parts"] >= 5
    assert get_bytes(rclone.client(), a["bucket"], "host-a/rules/r.tar") == content
    assert get_bytes(rclone2.client(), b["bucket"], "host-a/rules/r.tar") == content
