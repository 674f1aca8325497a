"""`make package-test`: the .deb that `make deb` builds, checked and then proven on a clean machine.

The binary must need no Swift at run time (ldd), lintian must find no error and no warning that is
not overridden with a reason, and the package must install with apt on a fresh Debian 12 root
(debootstrap --variant=minbase bookworm, never touched by Swift), where the agent uploads a backup to
`rclone serve s3` on the host's loopback that the host then reads back byte for byte. Remove keeps the
config and the journal, a reinstall keeps the edited config, purge removes both.

Needs root (debootstrap, chroot, unshare --mount: every mount lives in a private namespace that
ends with the command, so nothing leaks onto the host). Environment: RELEASE_BIN, DIST (from make).
"""
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from conftest import RcloneServer  # noqa: E402  (the integration tests' server, same key handling)

RELEASE_BIN = pathlib.Path(os.environ.get("RELEASE_BIN", ROOT / ".build/release/agent"))
DIST = pathlib.Path(os.environ.get("DIST", ROOT / "dist"))
SWIFT_LIBS = re.compile(r"libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|libicu")


def run(*args, check=True, **kw):
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, stdin=subprocess.DEVNULL, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="session")
def deb():
    debs = sorted(DIST.glob("*.deb"))
    assert len(debs) == 1, f"expected exactly one .deb in {DIST}, found {debs}"
    return debs[0]


def toolchain_dir():
    swift = shutil.which("swift")
    return pathlib.Path(swift).resolve().parent.parent if swift else None


# MARK: the binary and the package file


def test_release_binary_needs_no_swift_at_run_time():
    out = run("ldd", RELEASE_BIN).stdout
    assert not SWIFT_LIBS.search(out), out
    toolchain = toolchain_dir()
    if toolchain:
        assert str(toolchain) not in out, out
    needed = set(re.findall(r"NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", RELEASE_BIN).stdout))
    # libisal.so.2: Intel ISA-L's CRC-32C (Debian ships no static libisal.a), named in Depends: as libisal2.
    # libstdc++ is linked in (make release: its shared library costs 1.1 MiB resident, issue 12).
    assert needed <= {"libc.so.6", "libm.so.6", "libgcc_s.so.1", "libcurl.so.4", "libcrypto.so.3", "libssl.so.3",
                      "libisal.so.2", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}, needed


def test_exactly_one_deb_in_the_tree(deb):
    found = [p for p in ROOT.rglob("*.deb") if ".git" not in p.parts and ".build" not in p.parts]
    assert found == [deb], found
    assert re.fullmatch(r"offsite-agent_\d+\.\d+\.\d+[^_]*_[a-z0-9]+\.deb", deb.name), deb.name


def test_control_and_contents(deb, tmp_path):
    fields = run("dpkg-deb", "-f", deb).stdout
    depends = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
    assert "swift" not in depends.lower() and "foundation" not in depends.lower(), depends
    for lib in ("libc6", "libcurl4", "libssl3", "libisal2"):
        assert re.search(rf"\b{re.escape(lib)}\b", depends), depends
    assert "libstdc++" not in depends, depends  # linked in, not a run-time dependency
    listing = run("dpkg-deb", "-c", deb).stdout
    modes = {line.split()[-1].lstrip("."): line.split()[0] for line in listing.splitlines()}
    assert modes["/etc/offsite-agent/agent.toml"] == "-rw-------"
    assert modes["/usr/bin/agent"] == "-rwxr-xr-x"
    for path in ["/usr/share/bash-completion/completions/agent", "/usr/share/zsh/vendor-completions/_agent",
                 "/usr/share/offsite-agent/providers/r2.toml", "/usr/share/doc/offsite-agent/copyright",
                 "/usr/share/doc/offsite-agent/changelog.gz", "/usr/share/doc/offsite-agent/README.md.gz",
                 "/usr/share/doc/offsite-agent/examples/agent.toml", "/usr/share/man/man1/agent.1.gz",
                 "/lib/systemd/system/offsite-agent-resume.service", "/lib/systemd/system/offsite-agent-resume.timer"]:
        assert path in modes, path
    assert not any("/etc/systemd/system" in p for p in modes), "the package must not enable its units"
    assert not any(p.startswith("/var/lib/offsite-agent") for p in modes), "state is made by postinst, kept on remove"
    run("dpkg-deb", "-e", deb, tmp_path / "control")
    assert (tmp_path / "control/conffiles").read_text().split() == ["/etc/offsite-agent/agent.toml"]
    # The packaged binary is the stripped release binary and still needs nothing of Swift.
    run("dpkg-deb", "-x", deb, tmp_path / "data")
    assert not SWIFT_LIBS.search(run("ldd", tmp_path / "data/usr/bin/agent").stdout)
    # The conffile is the sample with its host-specific placeholders commented out: hosts that fill in
    # only bucket and key each upload under their own <hostname>/ (review finding 2).
    installed = (tmp_path / "data/etc/offsite-agent/agent.toml").read_text()
    assert not re.search(r"^(prefix|backup_dir) *=", installed, re.M), installed
    assert installed == run(ROOT / "packaging/config-template.sh", ROOT / "samples/agent.toml").stdout
    # The installed units point at the installed binary.
    service = (tmp_path / "data/lib/systemd/system/offsite-agent-resume.service").read_text()
    assert "/usr/local" not in service and "ExecStart=-/usr/bin/agent resume --all" in service


def test_lintian_finds_no_error_and_no_unexplained_warning(deb):
    proc = run("lintian", "--pedantic", "--info", "--show-overrides", deb, check=False)
    tags = [line for line in proc.stdout.splitlines() if re.match(r"^[EWIPX]: ", line)]
    assert proc.returncode == 0 and not tags, proc.stdout + proc.stderr


def test_failed_build_leaves_no_package(tmp_path):
    """A binary that cannot be packaged (not ELF: strip fails) leaves DIST without any file."""
    fake = tmp_path / "agent"
    fake.write_text("#!/bin/sh\necho 'agent 0.1.0'\n")
    fake.chmod(0o755)
    dist = tmp_path / "dist"
    proc = run(ROOT / "packaging/build-deb.sh", fake, dist, check=False)
    assert proc.returncode != 0
    assert not dist.exists() or list(dist.iterdir()) == [], list(dist.iterdir())


# MARK: a clean Debian 12 root


class CleanRoot:
    """A fresh copy of the cached minbase root; commands run chrooted in a private mount namespace."""

    def __init__(self, path: pathlib.Path, tarball: str):
        self.path = path
        path.mkdir()
        run("tar", "-C", path, "-xf", tarball)
        shutil.copy("/etc/resolv.conf", path / "etc/resolv.conf")

    def run(self, *args, check=True, env=None):
        script = 'mount -t proc proc "$0/proc" && mount --bind /dev "$0/dev" && exec chroot "$0" "$@"'
        full = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive", *(env or [])]
        return run("unshare", "--mount", "--propagation", "private", "sh", "-c", script, self.path, *full, *args, check=check)

    def file(self, path):
        return self.path / path.lstrip("/")


@pytest.fixture(scope="session")
def root_tarball():
    if os.geteuid() != 0:
        pytest.fail("the clean-root test needs root (debootstrap, chroot, unshare --mount): run `sudo make package-test`")
    proc = run(ROOT / "tests/package/make-root.sh")
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    s = RcloneServer(tmp_path_factory.mktemp("rclone"))
    yield s
    s.stop()


def test_installs_and_uploads_on_a_clean_debian_12_root(deb, root_tarball, server, tmp_path):
    root = CleanRoot(tmp_path / "root", root_tarball)
    assert (root.file("/etc/debian_version")).read_text().startswith("12"), "not a Debian 12 root"
    swift_files = [p for p in root.path.rglob("*") if re.search(r"libswift|swiftc?$|libFoundation", p.name)]
    assert not root.file("/opt/swift").exists() and not swift_files, swift_files

    shutil.copy(deb, root.file("/tmp"))
    root.run("apt-get", "update", "-qq")
    root.run("apt-get", "install", "-y", "-qq", "--no-install-recommends", f"/tmp/{deb.name}")

    version = root.run("agent", "--version").stdout.splitlines()
    assert version[0] == f"agent {deb.name.split('_')[1]}", version
    assert version[1].startswith("commit ") and version[1] != "commit unknown", version
    assert version[2].startswith("libcurl 7.") and version[3].startswith("openssl 3."), version
    info = json.loads(root.run("agent", "--version", "--json").stdout)
    assert set(info) >= {"version", "commit", "libcurl", "openssl"}, info

    # Installed as Debian does it: config 0600 root, state 0700, units present but not enabled.
    config = root.file("/etc/offsite-agent/agent.toml")
    assert config.stat().st_mode & 0o777 == 0o600 and config.stat().st_uid == 0
    assert root.file("/var/lib/offsite-agent").stat().st_mode & 0o777 == 0o700
    assert root.file("/lib/systemd/system/offsite-agent-resume.timer").exists()
    assert not root.file("/etc/systemd/system/timers.target.wants/offsite-agent-resume.timer").exists()

    # The admin edits the config, checks it, uploads a backup to the host's server.
    bucket = server.new_bucket()
    secret = root.file("/etc/offsite-agent/secret")
    secret.write_text(server.secret_key + "\n")
    secret.chmod(0o600)
    config.write_text(f'''backup_dir = "/srv/backups"
default_vault = "offsite"

[vaults.offsite]
provider = "minio"
endpoint = "{server.endpoint}"
bucket = "{bucket}"
prefix = "web-01/"
access_key_id = "{server.access_key}"
secret_access_key_file = "/etc/offsite-agent/secret"
multipart_threshold = "8MiB"
part_size = "5MiB"
''')
    root.run("agent", "config", "check")
    backup_id = "2026-11-26-0300-files"
    backup = root.file(f"/srv/backups/{backup_id}")
    (backup / "db").mkdir(parents=True)
    files = {"db/dump.sql.gz": os.urandom(13 << 20), "etc.tar.gz": os.urandom(300_000)}
    for rel, data in files.items():
        (backup / rel).write_bytes(data)
    (backup / "backup.json").write_text(json.dumps({"id": backup_id, "type": "files", "status": "completed", "created_at": "2026-11-26T03:00:00Z"}))
    result = json.loads(root.run("agent", "upload", backup_id, "--json").stdout.strip().splitlines()[-1])
    assert result["ok"] is True, result

    # Read back from the host, through the S3 API: the same bytes.
    s3 = server.client()
    for rel, data in files.items():
        body = s3.get_object(Bucket=bucket, Key=f"web-01/{backup_id}/{rel}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest(), rel
    journal = list(root.file("/var/lib/offsite-agent/journal").glob("*.json"))
    assert journal, "the upload left no journal entry"

    # The admin enables the timer (`systemctl enable` makes this link; no systemd in the root).
    wants = root.file("/etc/systemd/system/timers.target.wants/offsite-agent-resume.timer")
    wants.parent.mkdir(parents=True, exist_ok=True)
    wants.symlink_to("/lib/systemd/system/offsite-agent-resume.timer")
    # And sets a state_dir of its own, which purge must name, not delete.
    config.write_text(config.read_text().replace('backup_dir = ', 'state_dir = "/srv/agent-state"\nbackup_dir = ', 1))
    root.file("/srv/agent-state").mkdir()

    # remove: binary gone, config (edited) and state kept.
    root.run("apt-get", "remove", "-y", "-qq", "offsite-agent")
    assert not root.file("/usr/bin/agent").exists()
    assert "web-01/" in config.read_text() and all(p.exists() for p in journal)
    # reinstall (as an upgrade would): the edited config is not overwritten, the journal stays.
    root.run("apt-get", "install", "-y", "-qq", "--no-install-recommends", f"/tmp/{deb.name}")
    assert "web-01/" in config.read_text() and all(p.exists() for p in journal)
    # The mask that remove put on the timer is lifted, the admin's enablement kept.
    assert not os.path.lexists(root.file("/etc/systemd/system/offsite-agent-resume.timer"))
    assert os.path.lexists(wants)
    assert root.run("agent", "status", "--json").returncode == 0
    # purge: config and state removed.
    purge = root.run("apt-get", "purge", "-y", "-qq", "offsite-agent")
    assert not root.file("/etc/offsite-agent").exists() and not root.file("/var/lib/offsite-agent").exists()
    # The timer's enablement goes with it; a state_dir elsewhere is kept and named.
    assert not os.path.lexists(wants), "purge left the timer's wants link"
    assert root.file("/srv/agent-state").exists()
    assert "state_dir /srv/agent-state" in purge.stdout + purge.stderr
