"""A throw-away Ceph cluster with a RADOS Gateway (S3) on loopback, for the integration tests.

One monitor, one OSD on `memstore` (RAM only, nothing on disk but logs and keyrings) and one
`radosgw`, each on a loopback port picked at start, all state in a temporary folder. Started
once per test session (about 3-5 s), stopped rgw -> osd -> mon.

RGW is the only local server that verifies the signed SHA-256 payload (XAmzContentSHA256Mismatch)
as well as Content-MD5. Its answers differ from AWS in ways the agent must tolerate: an empty
<ETag> in CompleteMultipartUpload's answer, NoSuchKey from ListParts for an unknown upload id,
500 InternalError from CompleteMultipartUpload for one, empty <Message>s; it ignores regions,
x-amz-checksum-* and Object Lock headers on multipart uploads.

Usage (see the `rgw` fixture in conftest.py):
    server.endpoint, server.access_key, server.secret_key
    server.new_bucket()                      # a fresh bucket
    server.new_bucket(object_lock=True)      # versioned, Object Lock enabled
    server.client()                          # a boto3 client with the admin user's keys
    server.create_user("name")               # -> (access_key, secret_key) of another S3 user
"""
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time
import uuid

BINARIES = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph", "ceph-authtool", "monmaptool")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def missing_binaries():
    return [b for b in BINARIES if shutil.which(b) is None]


class CephRGW:
    """Starts the cluster in `root` (a fresh, empty folder). Raises RuntimeError with the daemon's
    log tail when a step fails, after stopping what was started."""
    kind = "rgw"

    def __init__(self, root: pathlib.Path, new_secret, startup_timeout=60.0):
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.procs = {}
        self.logs = {}
        self.buckets = []
        self.mon_port = _free_port()
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.access_key = "AKRGW" + uuid.uuid4().hex[:15].upper()
        self.secret_key = new_secret("rgw")
        self._new_secret = new_secret
        self.timeout = startup_timeout
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    # -- configuration -------------------------------------------------------------------------

    @property
    def conf(self):
        return str(self.root / "ceph.conf")

    def _write_conf(self):
        r = self.root
        fsid = str(uuid.uuid4())
        (r / "run").mkdir(exist_ok=True)
        (r / "log").mkdir(exist_ok=True)
        (r / "mon.a").mkdir(exist_ok=True)
        (r / "osd.0").mkdir(exist_ok=True)
        (r / "rgw").mkdir(exist_ok=True)
        text = f"""[global]
fsid = {fsid}
mon host = v1:127.0.0.1:{self.mon_port}
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
keyring = {r}/keyring
run dir = {r}/run
admin socket = {r}/run/$name.asok
pid file = {r}/run/$name.pid
log file = {r}/log/$name.log
log to stderr = false
err to stderr = true
crash dir = {r}/crash
exporter sock dir = {r}/run
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
osd crush chooseleaf type = 0
paxos propose interval = 0.1
mon osd reporter subtree level = osd
osd objectstore = memstore
memstore device bytes = 2147483648
osd max object name len = 460
osd max object namespace len = 64
osd op num threads per shard = 1
osd op num shards = 1
osd memory target = 268435456
ms async op threads = 1

[mon.a]
mon data = {r}/mon.a

[osd.0]
osd data = {r}/osd.0
osd journal = {r}/osd.0/journal

[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:{self.port}
rgw data = {r}/rgw
rgw dns name = localhost
rgw thread pool size = 32
rgw enable usage log = false
rgw lc debug interval = 10
rgw gc obj min wait = 1
rgw gc processor period = 5
"""
        (r / "ceph.conf").write_text(text)
        return fsid

    # -- helpers -------------------------------------------------------------------------------

    def _run(self, *args, timeout=None, check=True):
        proc = subprocess.run(list(args), capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              timeout=timeout or self.timeout, cwd=self.root)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:3])} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        return proc

    def _ceph(self, *args, timeout=None):
        # A monitor that has just become leader may answer a command with EPERM ("problem getting
        # command descriptions", its log: "handle_command on fsid 0000...") while the client's
        # map is not yet the cluster's: seen when several clusters start on one machine. Asked again.
        for attempt in range(10):
            proc = self._run("ceph", "-c", self.conf, "--connect-timeout", "10", *args, timeout=timeout, check=False)
            if proc.returncode == 0 or "EPERM" not in proc.stderr or attempt == 9:
                break
            time.sleep(0.3)
        if proc.returncode != 0:
            raise RuntimeError(f"ceph {' '.join(args[:2])} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        return proc

    def _spawn(self, name, *args):
        if name in self.logs:
            self.logs[name].close()
        log = open(self.root / "log" / f"{name}.stderr", "w")
        self.logs[name] = log
        self.procs[name] = subprocess.Popen(
            list(args), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.root,
            start_new_session=True)

    def _tail(self, name):
        text = ""
        for p in (self.root / "log" / f"{name}.stderr", self.root / "log" / f"{name.replace('osd', 'osd.').replace('mon', 'mon.')}.log"):
            try:
                text += p.read_text(errors="replace")[-1500:]
            except OSError:
                pass
        return text

    def _wait(self, what, predicate, proc_name=None):
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            if proc_name and self.procs[proc_name].poll() is not None:
                raise RuntimeError(f"{proc_name} exited with {self.procs[proc_name].returncode}: {self._tail(proc_name)}")
            try:
                if predicate():
                    return
            except (OSError, RuntimeError, subprocess.TimeoutExpired, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"Ceph RGW: {what} not ready after {self.timeout:.0f} s: {self._tail(proc_name or '')}")

    # -- start / stop --------------------------------------------------------------------------

    def _start(self):
        r = self.root
        fsid = self._write_conf()
        self._run("ceph-authtool", "--create-keyring", str(r / "keyring"), "--gen-key", "-n", "mon.",
                  "--cap", "mon", "allow *")
        self._run("monmaptool", "--create", "--fsid", fsid, "--add", "a", f"v1:127.0.0.1:{self.mon_port}",
                  str(r / "monmap"))
        self._run("ceph-mon", "-c", self.conf, "--mkfs", "-i", "a", "--monmap", str(r / "monmap"),
                  "--keyring", str(r / "keyring"))
        self._spawn("mon", "ceph-mon", "-c", self.conf, "-i", "a", "-f")
        self._wait("monitor", lambda: self._ceph("mon", "stat", timeout=5).returncode == 0, "mon")

        osd_uuid = str(uuid.uuid4())
        osd_id = self._ceph("osd", "new", osd_uuid).stdout.strip()
        if osd_id != "0":
            raise RuntimeError(f"unexpected OSD id {osd_id!r}")
        self._run("ceph-osd", "-c", self.conf, "-i", "0", "--mkfs", "--osd-uuid", osd_uuid)
        def osd_up():
            stat = json.loads(self._ceph("osd", "stat", "--format", "json", timeout=5).stdout)
            stat = stat.get("osdmap", stat)
            return stat.get("num_up_osds", 0) >= 1 and stat.get("num_in_osds", 0) >= 1
        # The same startup race makes the OSD's first registration fail ("wrong fsid"): started again.
        for attempt in range(3):
            self._spawn("osd", "ceph-osd", "-c", self.conf, "-i", "0", "-f")
            try:
                self._wait("OSD", osd_up, "osd")
                break
            except RuntimeError as e:
                if "wrong fsid" not in str(e) or attempt == 2:
                    raise
                time.sleep(0.5)

        self._spawn("rgw", "radosgw", "-c", self.conf, "-n", "client.rgw", "-f")

        def rgw_up():
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        self._wait("radosgw", rgw_up, "rgw")
        self.create_user("offsite-test", self.access_key, self.secret_key)
        # The gateway answers before its pools are ready for writes: wait for a real round trip.
        self._wait("radosgw S3", self._probe, "rgw")

    def _probe(self):
        client = self.client()
        client.list_buckets()
        return True

    def create_user(self, uid, access_key=None, secret_key=None):
        """An S3 user of this gateway; returns (access_key, secret_key)."""
        access_key = access_key or "AKRGW" + uuid.uuid4().hex[:15].upper()
        secret_key = secret_key or self._new_secret("rgw")
        self._run("radosgw-admin", "-c", self.conf, "-n", "client.rgw", "user", "create", f"--uid={uid}",
                  f"--display-name={uid}", f"--access-key={access_key}", f"--secret={secret_key}")
        return access_key, secret_key

    def stop(self):
        for name in ("rgw", "osd", "mon"):
            proc = self.procs.get(name)
            if proc is None:
                continue
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait(5)
            log = self.logs.pop(name, None)
            if log:
                log.close()
        self.procs.clear()

    # -- S3 side -------------------------------------------------------------------------------

    def client(self, access_key=None, secret_key=None):
        import boto3
        import botocore.config
        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key, region_name="us-east-1",
            config=botocore.config.Config(retries={"max_attempts": 2}, s3={"addressing_style": "path"}))

    def new_bucket(self, object_lock=False, versioning=False):
        name = "rgw-" + uuid.uuid4().hex[:12]
        self.buckets.append(name)
        client = self.client()
        if object_lock:
            client.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        else:
            client.create_bucket(Bucket=name)
            if versioning:
                client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    def purge(self):
        """Empties the buckets made by new_bucket() since the last purge (memstore keeps every byte in
        RAM): unfinished multipart uploads, objects and their versions. Locked versions stay."""
        client = self.client()
        buckets, self.buckets = self.buckets, []
        for bucket in buckets:
            try:
                for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
                    for u in page.get("Uploads", []):
                        client.abort_multipart_upload(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"])
                for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", []):
                        try:
                            client.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
                        except client.exceptions.ClientError:
                            pass
            except client.exceptions.ClientError:
                pass
