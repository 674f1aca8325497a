"""Integration harness: the real `agent` binary against real S3 servers on loopback ports.

Servers: `rclone serve s3` (verifies SigV4, checks Content-MD5), `moto_server` (IAM
enforcement after INITIAL_NO_AUTH_ACTION_COUNT setup calls) and Ceph RGW (ceph_rgw.py: verifies
the signed SHA-256 payload and Content-MD5; the `rgw` fixture, or `s3server` to run a test on both
rclone and RGW). boto3 is the independent client
that creates buckets and reads back what the agent stored.
"""
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

import boto3
import botocore.config
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

ROOT = pathlib.Path(__file__).resolve().parents[2]
AGENT = os.environ.get("AGENT_BIN", str(ROOT / ".build" / "debug" / "agent"))

# Every secret any test uses is registered here; the secret scan checks all agent output for them.
SECRETS = set()
OUTPUT_LOG = []
STATE_DIRS = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, timeout=20.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} did not open")


def new_secret(prefix="S"):
    secret = prefix + uuid.uuid4().hex + uuid.uuid4().hex[:8]
    SECRETS.add(secret)
    return secret


class RcloneServer:
    """`rclone serve s3` over a temporary folder, with a generated key."""
    kind = "rclone"

    def __init__(self, root: pathlib.Path):
        self.root = root / "rclone-data"
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.access_key = "AKRC" + uuid.uuid4().hex[:12].upper()
        self.secret_key = new_secret("rc")
        rclone = shutil.which("rclone")
        assert rclone, "rclone not found: run `make setup`"
        self.log = open(root / "rclone.log", "w")
        self.proc = subprocess.Popen(
            [rclone, "serve", "s3", "--auth-key", f"{self.access_key},{self.secret_key}",
             "--addr", f"127.0.0.1:{self.port}", "--config", "/dev/null", str(self.root)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_for_port(self.port, proc=self.proc)
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def client(self):
        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, region_name="us-east-1",
            config=botocore.config.Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}))

    def new_bucket(self):
        name = "bkt-" + uuid.uuid4().hex[:10]
        self.client().create_bucket(Bucket=name)
        return name

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def rclone(tmp_path_factory):
    server = RcloneServer(tmp_path_factory.mktemp("rclone"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rclone2(tmp_path_factory):
    """A second, independent server: the other provider of a 3-2-1 setup."""
    server = RcloneServer(tmp_path_factory.mktemp("rclone2"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rgw(tmp_path_factory):
    """Ceph RGW (one mon, one memstore OSD, radosgw) on loopback, shared by the session.

    Yields a CephRGW: .endpoint, .access_key, .secret_key, .port, .new_bucket(object_lock=False,
    versioning=False), .client(), .create_user(uid). Started on first use, stopped rgw -> osd -> mon."""
    from ceph_rgw import CephRGW, missing_binaries
    missing = missing_binaries()
    assert not missing, f"Ceph RGW needs {', '.join(missing)}: run `make setup` (apt: radosgw ceph-mon ceph-osd)"
    server = CephRGW(tmp_path_factory.mktemp("ceph"), new_secret)
    yield server
    server.stop()


def use_server(request, kind):
    """The session's server of that kind ("rclone" or "rgw"), for tests parametrized over servers.
    RGW's buckets are emptied after the test: its memstore OSD holds everything in RAM."""
    server = request.getfixturevalue(kind)
    if kind == "rgw":
        request.addfinalizer(server.purge)
    return server


@pytest.fixture(params=["rclone", "rgw"])
def s3server(request):
    """The test runs once against rclone and once against Ceph RGW (same interface)."""
    return use_server(request, request.param)


class Env:
    """A test's world: backup_dir, state_dir, config file, and how to run the agent."""

    def __init__(self, tmp: pathlib.Path):
        self.tmp = tmp
        self.backup_dir = tmp / "backups"
        self.state_dir = tmp / "state"
        self.backup_dir.mkdir()
        self.config_path = tmp / "agent.toml"
        STATE_DIRS.append(self.state_dir)
        self.vaults = {}
        self.top = {}

    def add_vault(self, name, server=None, bucket=None, provider="minio", endpoint=None, **extra):
        v = {"provider": provider, "prefix": "host-a/"}
        if server is not None:
            v.update(endpoint=server.endpoint, access_key_id=server.access_key, secret_access_key=server.secret_key,
                     bucket=bucket or server.new_bucket())
        if endpoint is not None:
            v["endpoint"] = endpoint
        if bucket is not None:
            v["bucket"] = bucket
        v.update(extra)
        self.vaults[name] = v
        return v

    def write_config(self, default_vault=None, **top):
        lines = [f'backup_dir = "{self.backup_dir}"', f'state_dir = "{self.state_dir}"']
        dv = default_vault or (next(iter(self.vaults)) if self.vaults else None)
        if dv:
            lines.append(f'default_vault = "{dv}"')
        for k, v in {**self.top, **top}.items():
            lines.append(f"{k} = {toml_value(v)}")
        for name, v in self.vaults.items():
            lines.append(f"\n[vaults.{name}]")
            for k, val in v.items():
                lines.append(f"{k} = {toml_value(val)}")
        self.config_path.write_text("\n".join(lines) + "\n")
        # As the README says to keep it: a config others can read is a warning everywhere.
        self.config_path.chmod(0o600)
        return self.config_path

    def make_backup(self, backup_id, files, manifest=True, status="completed", btype="files"):
        d = self.backup_dir / backup_id
        d.mkdir(parents=True)
        for rel, content in files.items():
            p = d / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(content)
        if manifest:
            (d / "backup.json").write_text(json.dumps(
                {"id": backup_id, "type": btype, "status": status, "created_at": "2026-11-21T03:00:00Z"}))
        return d

    def run(self, *args, env=None, timeout=300, check_json=True, cwd=None):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        full_env["OFFSITE_AGENT_CONFIG"] = str(self.config_path)
        full_env.setdefault("OFFSITE_AGENT_RETRY_BASE", "0.2")
        if env:
            full_env.update(env)
        proc = subprocess.run([AGENT, *args], capture_output=True, text=True, env=full_env, timeout=timeout,
                              stdin=subprocess.DEVNULL, cwd=cwd)
        OUTPUT_LOG.append(proc.stdout + proc.stderr)
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        if "--json" in args and check_json and proc.stdout.strip():
            result.json = json.loads(proc.stdout.strip().splitlines()[-1])
        return result

    def spawn(self, *args, env=None):
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        full_env["OFFSITE_AGENT_CONFIG"] = str(self.config_path)
        full_env.setdefault("OFFSITE_AGENT_RETRY_BASE", "0.2")
        if env:
            full_env.update(env)
        out = open(self.tmp / f"spawn-{uuid.uuid4().hex[:6]}.log", "w+")
        proc = subprocess.Popen([AGENT, *args], stdout=out, stderr=subprocess.STDOUT, env=full_env, stdin=subprocess.DEVNULL)
        proc.output_file = out
        return proc


def read_spawn_output(proc):
    proc.output_file.flush()
    proc.output_file.seek(0)
    text = proc.output_file.read()
    OUTPUT_LOG.append(text)
    return text


class Result:
    def __init__(self, code, stdout, stderr):
        self.code = code
        self.stdout = stdout
        self.stderr = stderr
        self.json = None

    def __repr__(self):
        return f"exit {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


def bucket_keys(client, bucket, prefix=""):
    keys = []
    token = None
    while True:
        kw = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kw["ContinuationToken"] = token
        r = client.list_objects_v2(**kw)
        keys += [o["Key"] for o in r.get("Contents", [])]
        if not r.get("IsTruncated"):
            return keys
        token = r["NextContinuationToken"]


def get_bytes(client, bucket, key):
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()
