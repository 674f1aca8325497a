"""Profile one agent upload with `perf record` (cpu-clock samples; VMs rarely expose cycles).

    AGENT_BIN=.build/release/agent python3 scripts/bench/profile.py [minio|other] [http|https] [size]

Starts the same `rclone serve s3` and config as `make bench`, uploads the test file once under
perf, and prints the top frames by self time, libcrypto's unnamed assembly named by calibration. The perf data is kept at
$BENCH_DIR/perf-<profile>-<scheme>.data for `perf report -i`.
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
import bench  # noqa: E402


def leaf_frames(data):
    """(symbol, dso, address, percent) of self time by symbol; unnamed code keeps its address
    (relative to its DSO, as `perf report` prints it)."""
    out = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children", "-g", "none", "--sort", "dso,sym", "--percent-limit", "0.01"],
                         capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[[^\]]*\]\s+(.*\S)", line)
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
        address = int(sym, 16) if re.fullmatch(r"0x[0-9a-f]+", sym) else None
        rows.append((sym, dso, address, pct))
    return rows


def crypto_labels(work):
    """libcrypto ships without symbols here: find which code pages MD5 and SHA-256 run in by
    profiling `openssl speed` on the same library, so the agent's samples can be named."""
    labels = {}
    for algo, name in (("md5", "md5_block_asm_data_order (MD5)"), ("sha256", "sha256_block_data_order* (SHA-256)"),
                       ("aes-256-gcm", "aesni_gcm_encrypt/ghash (TLS AES-256-GCM)")):
        data = work / f"{algo}.data"
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-o", str(data), "--", "openssl", "speed", "-evp", algo, "-bytes", "65536",
                        "-seconds", "1"], capture_output=True)
        pages = {}
        for sym, dso, address, pct in leaf_frames(data):
            if "libcrypto" in dso and address is not None:
                pages[address >> 12] = pages.get(address >> 12, 0) + pct
        total = sum(pages.values())
        for page, share in pages.items():
            if share >= 0.05 * total and page not in labels:
                labels[page] = name
    return labels


def top_frames(data, labels, limit=15):
    counts = {}
    for sym, dso, address, pct in leaf_frames(data):
        if address is not None and "libcrypto" in dso:
            name = labels.get(address >> 12) or f"libcrypto.so.3 page {address >> 12 << 12:#x}"
        else:
            name = f"{sym} ({dso})"
        counts[name] = counts.get(name, 0) + pct
    return sorted(counts.items(), key=lambda kv: -kv[1])[:limit]


def main():
    profile = sys.argv[1] if len(sys.argv) > 1 else "minio"
    scheme = sys.argv[2] if len(sys.argv) > 2 else "http"
    size = bench.parse_size(sys.argv[3] if len(sys.argv) > 3 else "1GiB")
    if not shutil.which("perf"):
        sys.exit("profile: perf not found (apt install linux-perf)")
    bench.ensure_tools()
    path = bench.make_file(size)
    work = pathlib.Path(tempfile.mkdtemp(prefix="offsite-profile-"))
    server = bench.Server(work, tls=(scheme == "https"))
    data = bench.DATA_DIR / f"perf-{profile}-{scheme}.data"
    try:
        tools = bench.Tools(work, server)
        backup_id = tools.prepare_backup(path)
        argv, env, key = tools.command(f"agent-{profile}", path, "unused", backup_id)
        r = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-F", "2000", "-g", "-o", str(data), "--", *argv], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0 or server.stored_size(key) != size:
            sys.exit(f"profile: the upload failed (exit {r.returncode}):\n{r.stderr[-2000:]}")
        print(f"top frames (self time, cpu-clock samples) of `agent upload` with profile {profile} over {scheme}, {bench.label(size)}:")
        for name, share in top_frames(data, crypto_labels(work)):
            print(f"  {share:5.1f}%  {name}")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
