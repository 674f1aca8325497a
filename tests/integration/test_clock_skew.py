"""Issue 20, clock skew: the agent's clock shifted with libfaketime (the `faketime` package),
25 minutes behind and ahead, against `rclone serve s3` (AccessDenied "The difference between the
request time and the server's time ...") and Ceph RGW (RequestTimeTooSkewed). Every command
corrects the skew the way the AWS SDKs do (sign again with the server's time, once) and says so
in one CLOCK_SKEW warning; a skew that cannot be corrected is CLOCK_SKEW, never a permission."""
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

from conftest import AGENT, OUTPUT_LOG, Result, get_bytes, read_spawn_output
from faultproxy import FaultProxy
from test_resume import wait_for_parts
from test_upload import pattern

MiB = 1 << 20


def skewed(offset):
    """Runs the agent with its wall clock `offset` off ("-25m", "+25m") under libfaketime, through
    the `faketime` wrapper (it sets up the shared state libfaketime needs; a bare LD_PRELOAD of the
    library leaves a Swift binary without its arguments). The monotonic clock stays true
    (FAKETIME_DONT_FAKE_MONOTONIC), so timeouts and stall detection keep a sane clock."""
    faketime = shutil.which("faketime")
    assert faketime, "faketime is missing: run `make setup` (apt: faketime)"
    return {"FAKETIME_DONT_FAKE_MONOTONIC": "1", "OFFSITE_AGENT_TEST_WRAPPER": f"{faketime}\t-f\t{offset}"}


def remove_stale_faketime_state():
    """The faketime wrapper names its shared memory and semaphore after its own pid and removes them
    when it exits; a wrapper killed with kill -9 leaves them in /dev/shm, and a later wrapper that
    gets the same pid then fails with "sem_open: File exists". Remove those of processes gone."""
    for entry in pathlib.Path("/dev/shm").glob("*faketime_s*_*"):
        pid = entry.name.rsplit("_", 1)[-1]
        if pid.isdigit() and not pathlib.Path(f"/proc/{pid}").exists():
            entry.unlink(missing_ok=True)


def wrapped(env, args, extra):
    extra = dict(extra or {})
    wrapper = extra.pop("OFFSITE_AGENT_TEST_WRAPPER", "")
    if wrapper:
        remove_stale_faketime_state()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    full_env["OFFSITE_AGENT_CONFIG"] = str(env.config_path)
    full_env.setdefault("OFFSITE_AGENT_RETRY_BASE", "0.2")
    full_env.update(extra)
    return (wrapper.split("\t") if wrapper else []) + [AGENT, *args], full_env


def run(env, *args, clock=None, timeout=300):
    command, full_env = wrapped(env, args, clock)
    proc = subprocess.run(command, capture_output=True, text=True, env=full_env, timeout=timeout, stdin=subprocess.DEVNULL)
    OUTPUT_LOG.append(proc.stdout + proc.stderr)
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    if "--json" in args and proc.stdout.strip():
        result.json = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def spawn(env, *args, clock=None):
    command, full_env = wrapped(env, args, clock)
    out = open(env.tmp / f"spawn-{uuid.uuid4().hex[:6]}.log", "w+")
    # Its own process group: the faketime wrapper forks the agent, and kill -9 must reach both.
    proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=full_env, stdin=subprocess.DEVNULL, start_new_session=True)
    proc.output_file = out
    return proc


def kill_9_group_after_parts(proxy, proc, n):
    wait_for_parts(proxy, n)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    # The agent, a child of the faketime wrapper, may outlive it by a moment on a loaded machine,
    # still holding its journal lock (the resume then said LOCKED): wait until the group is gone.
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    return read_spawn_output(proc)


def skew_warnings(text):
    return [l for l in text.splitlines() if "CLOCK_SKEW" in l and l.startswith("warning:")]


@pytest.mark.parametrize("offset", ["-25m", "+25m"])
def test_upload_list_restore_with_a_skewed_clock(env, s3server, offset):
    vault = env.add_vault("primary", s3server, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config()
    files = {"small.tar": pattern(300_000, 1), "big.tar": pattern(12 * MiB, 2)}
    env.make_backup("b1", files)
    clock = skewed(offset)

    r = run(env, "upload", "b1", clock=clock)
    assert r.code == 0, r
    warnings = skew_warnings(r.stderr)
    assert len(warnings) == 1, r
    way = "behind" if offset.startswith("-") else "ahead of"
    assert f"25 min" in warnings[0] and way in warnings[0] and "timedatectl set-ntp true" in warnings[0], warnings
    assert "PERMISSION_DENIED" not in r.stderr
    log = (env.state_dir / "agent.log").read_text()
    assert sum("CLOCK_SKEW" in l and " WARNING " in l for l in log.splitlines()) == 1, log
    s3 = s3server.client()
    for path, content in files.items():
        assert get_bytes(s3, vault["bucket"], f"host-a/b1/{path}") == content

    listing = run(env, "list", "--json", clock=clock)
    assert listing.code == 0, listing
    assert [b["id"] for b in listing.json["backups"]] == ["b1"]

    target = env.tmp / "restored"
    r = run(env, "restore", "b1", "--to", str(target), clock=clock)
    assert r.code == 0, r
    assert len(skew_warnings(r.stderr)) == 1, r
    for path, content in files.items():
        assert (target / path).read_bytes() == content


def test_resume_after_kill_9_with_a_skewed_clock(env, s3server):
    proxy = FaultProxy(s3server.port)
    vault = env.add_vault("primary", s3server, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB",
                          bandwidth_limit="16MiB/s")
    env.write_config()
    content = pattern(40 * MiB, 3)
    env.make_backup("b1", {"big.tar": content})
    clock = skewed("-25m")
    p = spawn(env, "upload", "b1", clock=clock)
    out = kill_9_group_after_parts(proxy, p, 3)
    assert "PERMISSION_DENIED" not in out
    r = run(env, "resume", "--all", "--json", clock=clock)
    assert r.code == 0, r
    assert r.json["resumed"] is True
    assert len(skew_warnings(r.stderr)) == 1, r
    assert get_bytes(s3server.client(), vault["bucket"], "host-a/b1/big.tar") == content
    proxy.close()


def test_other_commands_correct_the_skew_too(env, rclone):
    env.add_vault("primary", rclone, keep_last=1)
    env.write_config()
    env.make_backup("b1", {"a.tar": b"a" * 1000})
    env.make_backup("b2", {"a.tar": b"b" * 1000})
    assert env.run("upload", "b1").code == 0
    assert env.run("upload", "b2").code == 0
    clock = skewed("+25m")
    for args in (("verify", "b2", "--deep"), ("prune", "--dry-run"), ("cleanup", "--dry-run")):
        r = run(env, *args, clock=clock)
        assert r.code == 0, (args, r)
        assert len(skew_warnings(r.stderr)) == 1, (args, r)


class NoTimeSkewServer:
    """Answers every request as a skewed clock, without any usable server time (no <ServerTime>,
    no Date header): the skew cannot be corrected."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>RequestTimeTooSkewed</Code>'
                b"<Message>The difference between the request time and the current time is too large.</Message></Error>")
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head = b"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nConnection: close\r\n"
                if not data.startswith(b"HEAD"):
                    head += b"Content-Length: %d\r\n\r\n" % len(body) + body
                else:
                    head += b"Content-Length: 0\r\n\r\n"
                conn.sendall(head)

    def close(self):
        self.sock.close()


def test_skew_without_a_server_time_fails_as_clock_skew(env):
    server = NoTimeSkewServer()
    env.add_vault("primary", endpoint=server.endpoint, bucket="bkt", access_key_id="AKSKEW000000",
                  secret_access_key="not-a-real-secret-value")
    env.write_config()
    env.make_backup("b1", {"a.tar": b"a"})
    r = env.run("upload", "b1", "--json")
    assert r.code == 5, r
    assert r.json["error"]["code"] == "CLOCK_SKEW", r
    assert "timedatectl set-ntp true" in r.json["error"]["hint"]
    assert "PERMISSION_DENIED" not in r.stderr and "s3:GetObject" not in r.json["error"]["hint"]
    r = env.run("list")
    assert r.code == 5 and "error: CLOCK_SKEW:" in r.stderr, r
    server.close()


def test_metrics_gauge_records_the_skew(env, rclone, tmp_path):
    prom = tmp_path / "metrics" / "offsite_agent.prom"
    env.add_vault("primary", rclone)
    env.write_config(metrics_file=str(prom))
    env.make_backup("b1", {"a.tar": b"a"})
    r = run(env, "upload", "b1", clock=skewed("-25m"))
    assert r.code == 0, r
    text = prom.read_text()
    line = next(l for l in text.splitlines() if l.startswith('offsite_agent_clock_skew_seconds{vault="primary"}'))
    value = int(line.split()[-1])
    assert -25 * 60 - 30 <= value <= -25 * 60 + 30, line
