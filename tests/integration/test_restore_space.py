"""Restore's own failures: a target without room is NO_SPACE (exit 1) naming the target, the bytes
still needed and the bytes free, checked before downloading; a disk that fills during the download
gives the same code; no file is ever left half-written at its final path; a re-run continues."""
import os
import subprocess
import uuid

import pytest

from faultproxy import FaultProxy, Rule

MiB = 1 << 20


@pytest.fixture
def small_fs(tmp_path):
    """A 4 MiB tmpfs (root only: CI runs `make test` as root)."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", str(mount)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def content(size, seed):
    import hashlib
    out = bytearray()
    n = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{n}".encode()).digest()
        n += 1
    return bytes(out[:size])


def test_restore_refuses_a_target_without_room_before_downloading(env, rclone, small_fs):
    proxy = FaultProxy(rclone.port)
    env.add_vault("primary", rclone, endpoint=proxy.endpoint)
    env.write_config()
    env.make_backup("big", {"six.tar": content(6 * MiB, 1)})
    assert env.run("upload", "big").code == 0
    target = small_fs / "restored"
    before = len(proxy.requests)
    r = env.run("restore", "big", "--to", str(target), "--json")
    assert r.code == 1, r
    err = r.json["error"]
    assert err["code"] == "NO_SPACE", r
    assert str(target) in err["message"]
    import re
    needed, free = (int(n) for n in re.findall(r"(\d+) bytes \(", err["message"])[:2])
    assert 6 * MiB <= needed < 6 * MiB + 1000, err  # six.tar and backup.json
    assert free < needed
    assert "free" in err["message"]
    assert "--to" in err["hint"]
    # Nothing of the archive was fetched, nothing is at its final path.
    gets = [q for q in proxy.requests[before:] if q.method == "GET" and q.path.endswith("/six.tar")]
    assert gets == []
    assert not (target / "six.tar").exists()
    proxy.close()


def test_disk_filling_during_restore_is_no_space_and_a_rerun_continues(env, rclone, small_fs):
    proxy = FaultProxy(rclone.port)
    env.add_vault("primary", rclone, endpoint=proxy.endpoint)
    env.write_config()
    data = content(3 * MiB, 2)
    env.make_backup("fill", {"three.tar": data})
    assert env.run("upload", "fill").code == 0
    target = small_fs / "restored"
    filler = small_fs / f"filler-{uuid.uuid4().hex[:6]}"

    def fill_the_disk(req):
        # Someone else takes the room between the agent's free-space check and its writes.
        with open(filler, "wb") as f:
            try:
                f.write(b"\0" * (int(2.5 * MiB)))
            except OSError:
                pass

    proxy.add(Rule(lambda q: q.method == "GET" and q.path.endswith("/three.tar"), "before", before=fill_the_disk))
    r = env.run("restore", "fill", "--to", str(target), "--json")
    assert proxy.rules[0].fired == 1
    assert r.code == 1, r
    assert r.json["error"]["code"] == "NO_SPACE", r
    assert str(target) in r.json["error"]["message"]
    assert "UNREADABLE" not in r.stdout + r.stderr
    # Never half-written at its final path.
    assert not (target / "three.tar").exists()

    filler.unlink()
    r = env.run("restore", "fill", "--to", str(target), "--json")
    assert r.code == 0, r
    assert r.json["resumed"] is True
    assert (target / "three.tar").read_bytes() == data
    proxy.close()
