"""Profile one agent upload with `perf record` (cpu-clock samples; VMs rarely expose cycles).

    AGENT_BIN=.build/release/agent python3 scripts/bench/profile.py [minio|other|minio-inline] [http|https] [size]

Starts the same `rclone serve s3` and config as `make bench`, uploads the test file once under
perf, and prints the top frames by self time, libcrypto's unnamed assembly named by calibration,
then where the CPU per GiB goes by category (issue 17): each sample classified by its leaf and
call chain and thread (the transfer thread or a digest-pool worker) into SHA-256, MD5, CRC-32C,
TLS, page-cache reads (`pread`, per thread), socket sends, curl, the agent's own code... at
2000 samples per CPU second. The perf data is kept at $BENCH_DIR/perf-<profile>-<scheme>.data
for `perf report -i`.
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
    """libcrypto ships without symbols here: find which 256-byte blocks of code MD5, SHA-256 and AES-GCM run in by
    profiling `openssl speed` on the same library, so the agent's samples can be named."""
    labels = {}
    best = {}
    for algo, name in (("md5", "md5_block_asm_data_order (MD5)"), ("sha256", "sha256_block_data_order* (SHA-256)"),
                       ("aes-256-gcm", "aesni_gcm_encrypt/ghash (TLS AES-256-GCM)")):
        data = work / f"{algo}.data"
        subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-o", str(data), "--", "openssl", "speed", "-evp", algo, "-bytes", "65536",
                        "-seconds", "1"], capture_output=True)
        pages = {}
        for sym, dso, address, pct in leaf_frames(data):
            if "libcrypto" in dso and address is not None:
                pages[address >> 8] = pages.get(address >> 8, 0) + pct
        total = sum(pages.values())
        # A page goes to the algorithm that spends the largest share of its time there (code of
        # two algorithms can share a page: first come would mislabel it).
        for page, share in pages.items():
            if share >= 0.05 * total and share / total > best.get(page, 0):
                best[page] = share / total
                labels[page] = name
    return labels


def top_frames(data, labels, limit=15):
    counts = {}
    for sym, dso, address, pct in leaf_frames(data):
        if address is not None and "libcrypto" in dso:
            name = labels.get(address >> 8) or f"libcrypto.so.3 page {address >> 8 << 8:#x}"
        else:
            name = f"{sym} ({dso})"
        counts[name] = counts.get(name, 0) + pct
    return sorted(counts.items(), key=lambda kv: -kv[1])[:limit]


def categories(data, labels, size):
    """CPU seconds per GiB by category, from `perf script` (2000 cpu-clock samples per second)."""
    out = subprocess.run(["perf", "script", "-i", str(data), "-F", "comm,tid,ip,sym,dso"], capture_output=True, text=True).stdout
    main_tid = None
    counts = {}
    total = 0

    def classify(tid, frames):
        leaf_sym, leaf_dso, leaf_ip = frames[0]
        where = "transfer thread" if tid == main_tid else "digest workers"
        stack = " ".join(sym for sym, _, _ in frames)
        if "libisal" in leaf_dso:
            return "CRC-32C (ISA-L)"
        if "libcrypto" in leaf_dso:
            try:
                page = int(leaf_ip, 16) >> 8
            except ValueError:
                page = None
            name = labels.get(page, "") if page is not None else ""
            if "SHA-256" in name:
                return "SHA-256"
            if "MD5" in name:
                return "MD5"
            if "AES" in name:
                return "TLS encryption (AES-GCM)"
            if "SSL_write" in stack or "ssl3_write" in stack or "tls" in stack.lower():
                return "TLS encryption (AES-GCM)"
            return "libcrypto, other (SigV4 HMAC, TLS)"
        if "libssl" in leaf_dso:
            return "TLS (libssl)"
        if "kernel" in leaf_dso:
            if "pread" in stack:
                return f"kernel: pread, page-cache copy ({where})"
            if "sendto" in stack or "sendmsg" in stack or "sock_write" in stack or "tcp_sendmsg" in stack or "sock_sendmsg" in stack:
                return "kernel: socket send (copy + TCP)"
            if "recv" in stack or "sock_read" in stack:
                return "kernel: socket receive"
            if "poll" in stack:
                return "kernel: poll"
            if "page_fault" in stack or "exc_page" in stack or "mmap" in stack or "munmap" in stack or "brk" in stack:
                return "kernel: page faults, mmap"
            return "kernel: other"
        if "libcurl" in leaf_dso:
            return "libcurl"
        if "libc.so" in leaf_dso or "libc-" in leaf_dso:
            if "memcpy" in leaf_sym or "memmove" in leaf_sym:
                return "libc memcpy"
            return "libc, other"
        if "agent" in leaf_dso:
            return f"agent's own code + Swift runtime ({where})"
        return f"other ({leaf_dso})"

    header = None
    frames = []
    for line in out.splitlines() + [""]:
        if not line.strip():
            if header is not None and frames:
                tid = header
                counts[classify(tid, frames)] = counts.get(classify(tid, frames), 0) + 1
                total += 1
            header, frames = None, []
            continue
        if not line.startswith((" ", "\t")):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                header = int(parts[1])
                if main_tid is None or header < main_tid:
                    main_tid = header
            continue
        m = re.match(r"\s*([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$", line)
        if m:
            frames.append((m.group(2), m.group(3), m.group(1)))
    gib = size / bench.GIB
    return total / 2000 / gib, sorted(((name, n / 2000 / gib, 100 * n / max(1, total)) for name, n in counts.items()), key=lambda r: -r[1])


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
        labels = crypto_labels(work)
        print(f"top frames (self time, cpu-clock samples) of `agent upload` with profile {profile} over {scheme}, {bench.label(size)}:")
        for name, share in top_frames(data, labels):
            print(f"  {share:5.1f}%  {name}")
        total, rows = categories(data, labels, size)
        load = pathlib.Path("/proc/loadavg").read_text().split()[0]
        print(f"\nCPU by category ({total:.2f} s/GiB sampled; load {load}):\n")
        print("| category | CPU s/GiB | share |")
        print("|---|---|---|")
        for name, per_gib, share in rows:
            print(f"| {name} | {per_gib:.3f} | {share:.1f}% |")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
