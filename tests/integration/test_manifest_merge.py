"""Two archives of one backup uploaded at the same time by path (two hooks finishing together):
both end up in the offsite manifest. The manifest update is serialised per backup by a lock beside
the journal (the second run waits, it is not refused), and each run re-reads what the other wrote."""
import json
import time

from conftest import get_bytes
from faultproxy import FaultProxy, Rule


def test_concurrent_uploads_of_two_archives_both_land_in_the_manifest(env, rclone):
    proxy = FaultProxy(rclone.port)
    vault = env.add_vault("primary", rclone, endpoint=proxy.endpoint)
    env.write_config()
    d = env.make_backup("b1", {"a.tar": b"a" * 1000, "b.tar": b"b" * 1000})
    assert env.run("upload", "b1").code == 0
    (d / "c.tar").write_bytes(b"c" * 3000)
    (d / "d.tar").write_bytes(b"d" * 4000)

    # Each run's read of the manifest is held back 1.5 s: without the lock both would read the old
    # manifest and the second write would drop the first run's archive.
    def slow(req):
        time.sleep(1.5)

    proxy.add(Rule(lambda q: q.method == "GET" and q.path.endswith("/offsite-manifest.json"), "before", times=2, before=slow))
    first = env.spawn("upload", str(d / "c.tar"))
    second = env.spawn("upload", str(d / "d.tar"))
    first.wait(120)
    second.wait(120)
    from conftest import read_spawn_output
    out1, out2 = read_spawn_output(first), read_spawn_output(second)
    assert first.returncode == 0, out1
    assert second.returncode == 0, out2
    assert proxy.rules[0].fired == 2

    s3 = rclone.client()
    manifest = json.loads(get_bytes(s3, vault["bucket"], "host-a/b1/offsite-manifest.json"))
    assert manifest["format"] == 1
    assert {f["path"] for f in manifest["files"]} == {"a.tar", "b.tar", "c.tar", "d.tar", "backup.json"}
    # Reads serialised: the second GET started after the first run had written the manifest.
    r = env.run("verify", "b1", "--json")
    assert r.code == 0, r
    assert {f["path"] for f in r.json["files"]} == {"a.tar", "b.tar", "c.tar", "d.tar", "backup.json"}
    proxy.close()
