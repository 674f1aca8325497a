"""Memory under a slow range: `verify --deep` and `restore` hold a bounded amount of out-of-order
data whatever one slow range does. The first range of a 96 MiB file is held back 20 s while the
others could arrive; peak RSS stays within a chunk of a run without the hold."""
import os
import time

from conftest import read_spawn_output
from faultproxy import FaultProxy, Rule

MiB = 1 << 20


def peak_rss(proc):
    """The agent's VmHWM (peak resident set), read until it exits."""
    peak = 0
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
        except OSError:
            pass
        time.sleep(0.05)
    return peak


def test_a_held_back_range_does_not_grow_memory(env, rclone):
    proxy = FaultProxy(rclone.port)
    env.add_vault("primary", rclone, endpoint=proxy.endpoint, concurrency=4)
    env.write_config()
    block = os.urandom(MiB)
    data = b"".join(bytes([i]) + block[1:] for i in range(96))
    env.make_backup("b1", {"big.tar": data})
    assert env.run("upload", "b1").code == 0

    def first_range(q):
        return q.method == "GET" and q.path.endswith("/big.tar") and q.headers.get("range", "").startswith("bytes=0-")

    results = {}
    for label, hold in (("plain", 0), ("held", 20)):
        for command in ("verify", "restore"):
            rule = None
            if hold:
                rule = proxy.add(Rule(first_range, "before", before=lambda q: time.sleep(hold)))
            args = ["verify", "b1", "--deep"] if command == "verify" else ["restore", "b1", "--to", str(env.tmp / f"out-{label}")]
            p = env.spawn(*args)
            peak = peak_rss(p)
            out = read_spawn_output(p)
            assert p.returncode == 0, out
            if hold:
                # Held until the agent's stall cut gives up on it and asks again (or 20 s pass).
                assert rule.fired == 1
            results[(command, label)] = peak
    for command in ("verify", "restore"):
        plain, held = results[(command, "plain")], results[(command, "held")]
        # Without the bound, the 11 ranges behind the held one (88 MiB) would wait in memory.
        assert held <= plain + 24 * MiB, (command, plain // MiB, held // MiB)
    assert (env.tmp / "out-held" / "big.tar").read_bytes() == data
    proxy.close()
