"""`make bench` many-files row (issue 19): N x 1 KiB files, the agent against `aws s3 sync`.

For each N (default 1,000 and 10,000) one backup folder of N random 1 KiB files in 20 folders is
uploaded by `agent upload` (vault profile `minio`) and by `aws s3 sync` of the same folder to an
empty prefix, then restored by `agent restore` and by `aws s3 sync` back to an empty folder, on
the same `rclone serve s3` (loopback, HTTP) in the same run. Wall time, CPU (user+sys of the
process tree, /usr/bin/time) and peak RSS; the agent/aws ratios and the growth factor
(agent time at the largest N / time at the smallest) with the issue's goals checked.

Settings (environment):
  AGENT_BIN            the agent binary (default .build/release/agent)
  BENCH_MANY_COUNTS    comma list of N (default 1000,10000)
  BENCH_MANY_ROUNDS    rounds per N and tool (default 1; the median is reported)
  BENCH_DIR            where the test folders are kept between runs (default /tmp/offsite-agent-bench)
"""
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import bench  # noqa: E402  (the shared server and tool set-up)

COUNTS = [int(n) for n in os.environ.get("BENCH_MANY_COUNTS", "1000,10000").split(",") if n]
ROUNDS = int(os.environ.get("BENCH_MANY_ROUNDS", "1"))
FILE_SIZE = 1024


def make_tree(backups, n):
    """`many-<n>/`: n random 1 KiB files in 20 folders and a backup.json (kept between runs)."""
    d = backups / f"many-{n}"
    # The marker lives beside the tree: an empty file inside it would hang `aws s3 sync` on
    # rclone serve s3 (botocore's Expect: 100-continue for an empty body is never answered).
    marker = backups / f"many-{n}.complete"
    if not marker.exists():
        shutil.rmtree(d, ignore_errors=True)
        for i in range(n):
            sub = d / f"dir{i % 20:02d}"
            sub.mkdir(parents=True, exist_ok=True)
            (sub / f"file{i:05d}.bin").write_bytes(os.urandom(FILE_SIZE))
        (d / "backup.json").write_text(json.dumps({"id": f"many-{n}", "type": "files", "status": "completed",
                                                   "created_at": "2026-11-21T03:00:00Z"}))
        marker.write_text("")
    return d


def timed(argv, env, log):
    timing = log.with_suffix(".time")
    with open(log, "w") as out:
        proc = subprocess.run(["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(timing), *argv], env=env, stdout=out,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv[:3])} failed (exit {proc.returncode}):\n{log.read_text()[-3000:]}")
    wall, user, system, rss_kib = timing.read_text().split()[-4:]
    return {"wall": float(wall), "cpu": float(user) + float(system), "rss": int(rss_kib) / 1024}


def count_files(root):
    return sum(1 for p in root.rglob("*") if p.is_file() and ".offsite-restore" not in p.parts)


def run_n(tools, server, work, n):
    tree = make_tree(tools.backups, n)
    backup = tree.name
    agent_env = dict(tools.base_env, OFFSITE_AGENT_CONFIG=str(tools.agent_config))
    bucket_root = server.root / server.bucket
    results = {}
    for round_no in range(1, ROUNDS + 1):
        # Upload: the agent (its whole backup, --force), then aws s3 sync of the same folder to an empty prefix.
        shutil.rmtree(bucket_root / "agent-minio" / backup, ignore_errors=True)
        shutil.rmtree(work / "state-http", ignore_errors=True)
        r = timed([bench.AGENT, "upload", backup, "--vault", "minio", "--force"], agent_env, work / f"agent-up-{n}.log")
        stored = count_files(bucket_root / "agent-minio" / backup)
        if stored < n:
            raise SystemExit(f"bench: the agent stored {stored} of {n} files")
        results.setdefault(("agent", "upload"), []).append(r)
        # A fresh prefix each round: rclone serve s3 lists from a cache, so objects removed behind
        # its back would still be listed and `aws s3 sync` would send nothing.
        aws_prefix = f"aws/{backup}-r{round_no}"
        r = timed([bench.tool_path("aws"), "s3", "sync", str(tree), f"s3://{server.bucket}/{aws_prefix}/", "--endpoint-url", server.endpoint,
                   "--only-show-errors"], tools.aws_env, work / f"aws-up-{n}.log")
        stored = count_files(bucket_root / aws_prefix)
        if stored < n:
            raise SystemExit(f"bench: aws s3 sync stored {stored} of {n} files")
        results.setdefault(("aws", "upload"), []).append(r)
        # Restore: into empty folders.
        target = work / f"restore-agent-{n}"
        shutil.rmtree(target, ignore_errors=True)
        r = timed([bench.AGENT, "restore", backup, "--vault", "minio", "--to", str(target)], agent_env, work / f"agent-down-{n}.log")
        got = count_files(target)
        if got < n:
            raise SystemExit(f"bench: the agent restored {got} of {n} files")
        results.setdefault(("agent", "restore"), []).append(r)
        shutil.rmtree(target, ignore_errors=True)
        target = work / f"restore-aws-{n}"
        shutil.rmtree(target, ignore_errors=True)
        r = timed([bench.tool_path("aws"), "s3", "sync", f"s3://{server.bucket}/{aws_prefix}/", str(target), "--endpoint-url", server.endpoint,
                   "--only-show-errors"], tools.aws_env, work / f"aws-down-{n}.log")
        got = count_files(target)
        if got < n:
            raise SystemExit(f"bench: aws s3 sync restored {got} of {n} files")
        results.setdefault(("aws", "restore"), []).append(r)
        shutil.rmtree(target, ignore_errors=True)
        shutil.rmtree(bucket_root / aws_prefix, ignore_errors=True)
        for (tool, op), rs in sorted(results.items()):
            x = rs[-1]
            print(f"  {n:6d} files round {round_no} {tool:5s} {op:7s} wall {x['wall']:7.2f}s  cpu {x['cpu']:7.2f}s  rss {x['rss']:6.1f} MiB", flush=True)
    return {k: {"wall": statistics.median(r["wall"] for r in rs), "cpu": statistics.median(r["cpu"] for r in rs),
                "rss": max(r["rss"] for r in rs)} for k, rs in results.items()}


def report(table):
    print(f"\n### Many files: N x 1 KiB in 20 folders, agent vs aws s3 sync (rclone serve s3 over HTTP on loopback, "
          f"median of {ROUNDS}, {os.cpu_count()} cores shared)\n")
    print("| files | op | agent wall s | agent CPU s | agent peak RSS MiB | aws wall s | aws CPU s | aws peak RSS MiB | wall ratio | CPU ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in COUNTS:
        for op in ("upload", "restore"):
            a, w = table[n][("agent", op)], table[n][("aws", op)]
            print(f"| {n} | {op} | {a['wall']:.2f} | {a['cpu']:.2f} | {a['rss']:.1f} | {w['wall']:.2f} | {w['cpu']:.2f} | {w['rss']:.1f} | "
                  f"{a['wall'] / w['wall']:.2f}x | {a['cpu'] / w['cpu']:.2f}x |")
    lo, hi = min(COUNTS), max(COUNTS)
    print("\n### Goals (issue 19)\n")
    for op in ("upload", "restore"):
        a, w = table[hi][("agent", op)], table[hi][("aws", op)]
        rw, rc = a["wall"] / w["wall"], a["cpu"] / w["cpu"]
        line = (f"- {op} at {hi} files: wall {rw:.2f}x aws s3 sync (goal <= 1.0: {'holds' if rw <= 1.0 else 'misses'}); "
                f"CPU {rc:.2f}x (goal <= 1.0: {'holds' if rc <= 1.0 else 'misses'}); peak RSS {a['rss']:.1f} MiB "
                f"(goal <= 40: {'holds' if a['rss'] <= 40 else 'misses'})")
        if hi != lo:
            g_wall = a["wall"] / table[lo][("agent", op)]["wall"]
            g_cpu = a["cpu"] / max(table[lo][("agent", op)]["cpu"], 0.01)
            limit = 1.1 * hi / lo
            line += (f"; growth {lo} -> {hi}: wall {g_wall:.1f}, CPU {g_cpu:.1f} (goal <= {limit:.0f}: "
                     f"{'holds' if max(g_wall, g_cpu) <= limit else 'misses'})")
        print(line)


def main():
    bench.ensure_tools()
    work = pathlib.Path(tempfile.mkdtemp(prefix="offsite-bench-many-"))
    server = bench.Server(work, tls=False)
    try:
        tools = bench.Tools(work, server)
        # The trees live in BENCH_DIR (kept between runs); the agent's backup_dir points at them.
        keep = bench.DATA_DIR / "many-files"
        keep.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tools.backups)
        tools.backups.symlink_to(keep)
        text = tools.agent_config.read_text().replace(f'backup_dir = "{tools.backups}"', f'backup_dir = "{keep}"')
        tools.agent_config.write_text(text)
        tools.backups = keep
        table = {n: run_n(tools, server, work, n) for n in COUNTS}
        report(table)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
