"""`make text-order`: regenerate packaging/agent.text-order, the link order of the code an upload runs.

Why: the kernel maps a binary's code 64 KiB around each page the process touches ("fault-around"), so
peak RSS counts every 64 KiB window of .text that holds any executed function. An upload runs about 3 MB
of the agent's 11 MB of code, but spread over ~100 windows (6.4 MiB resident). Built with
`-function-sections`, each function is its own input section, and gold's `--section-ordering-file` puts
the listed ones first, side by side: the same code then fills far fewer windows (issue 12: peak RSS).
The file is only a layout hint: a stale or missing entry costs memory, never correctness.

How: links the release binary with a map (`make release` writes .build/release-agent.map), runs
`agent upload` of a 40 MiB file (multipart) to `rclone serve s3` over HTTP and HTTPS under valgrind's
callgrind (through scripts/bench.py, whose setup it reuses), collects every executed address inside the
agent binary, and lists the input sections of .text that hold them (functions of whole-object .text
sections cannot be moved and are left out). Needs valgrind (apt install valgrind); not part of `make test`.

`text-order.py --check` (run by `make bench`) says how many listed sections this build still has.
"""
import bisect
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
BINARY = pathlib.Path(os.environ.get("TEXT_ORDER_BINARY", ROOT / ".build/release/agent"))
MAP = pathlib.Path(os.environ.get("TEXT_ORDER_MAP", ROOT / ".build/release-agent.map"))
OUT = pathlib.Path(os.environ.get("TEXT_ORDER_OUT", ROOT / "packaging/agent.text-order"))
# Sections that hold many functions: moving them is all or nothing, leave them where they are.
# (".text.startup" is not among them: it holds only static initializers, and all of them run at start.)
WHOLE = {".text", ".text.unlikely", ".text.unlikely.", ".text.hot", ".text.hot.", ".text.exit", ".text.exit."}


def text_sections(path):
    """(address, size, name) of every input section of the output section .text, from a gold map."""
    out, inside, pending = [], False, None
    for line in open(path, errors="replace"):
        if line.startswith(".text "):
            inside = True
            continue
        if not inside:
            continue
        if re.match(r"^\.\w", line):
            break
        m = re.match(r"^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+) ", line)
        if m:
            out.append((int(m.group(2), 16), int(m.group(3), 16), m.group(1)))
            pending = None
            continue
        m = re.match(r"^ (\S+)\s*$", line)
        if m:
            pending = m.group(1)
            continue
        m = re.match(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+) ", line)
        if m and pending:
            out.append((int(m.group(1), 16), int(m.group(2), 16), pending))
            pending = None
    return sorted(out)


def executed_addresses(files, object_name):
    """Instruction addresses callgrind saw executed inside `object_name` (--dump-instr=yes outputs)."""
    seen = set()
    for path in files:
        objects, current, last = {}, None, 0
        for line in open(path, errors="replace"):
            if line.startswith(("ob=", "cob=")):
                m = re.match(r"c?ob=\((\d+)\)(?: (.*))?", line.strip())
                if m.group(2):
                    objects[m.group(1)] = m.group(2)
                if line.startswith("ob="):
                    current = objects.get(m.group(1), "")
                continue
            if line[:1] not in "0+-*" or line.startswith("calls="):
                continue
            token = line.split()[0]
            if token.startswith("0x"):
                last = int(token, 16)
            elif token[0] == "+":
                last += int(token[1:])
            elif token[0] == "-":
                last -= int(token[1:])
            if current and current.endswith(object_name):
                seen.add(last)
    return seen


def check():
    """`make bench`: how much of the order still names code of this build (renamed code drops out)."""
    listed = [l.strip() for l in open(OUT) if l.strip() and not l.startswith("#")]
    present = {s[2] for s in text_sections(MAP)} if MAP.exists() else set()
    found = sum(1 for name in listed if name in present)
    share = found / len(listed) if listed else 0
    print(f"text-order: {found} of {len(listed)} listed code sections are in this build ({share:.0%})"
          + ("" if share >= 0.9 else ": stale, `make text-order` remakes it (peak RSS grows meanwhile)"))


def main():
    if sys.argv[1:] == ["--check"]:
        return check()
    if not shutil_which("valgrind"):
        sys.exit("text-order: needs valgrind (apt install valgrind)")
    if not MAP.exists() or MAP.stat().st_mtime < BINARY.stat().st_mtime - 5:
        sys.exit(f"text-order: no link map {MAP} newer than {BINARY}: run `make release` first")
    with tempfile.TemporaryDirectory(prefix="text-order-") as tmp:
        work = pathlib.Path(tmp)
        # valgrind 3.19 cannot read the DWARF 5 debug info: a copy with the symbol table only, same layout.
        subject = work / "agent"
        subprocess.run(["strip", "--strip-debug", "-o", str(subject), str(BINARY)], check=True)
        wrapper = work / "agent-callgrind"
        wrapper.write_text(f'#!/bin/sh\nexec valgrind -q --tool=callgrind --dump-instr=yes '
                           f'--callgrind-out-file={work}/callgrind.%p {subject} "$@"\n')
        wrapper.chmod(0o755)
        env = dict(os.environ, AGENT_BIN=str(wrapper), BENCH_TOOLS="agent-minio", BENCH_ROUNDS="1", BENCH_SIZE="40MiB",
                   BENCH_SCHEMES="http,https", BENCH_DIR=str(work / "data"))
        env.pop("BENCH_JSON", None)
        subprocess.run([sys.executable, str(ROOT / "scripts/bench.py")], env=env, check=True, stdout=subprocess.DEVNULL)
        profiles = sorted(work.glob("callgrind.*"))
        addresses = executed_addresses(profiles, "/agent")
    sections = text_sections(MAP)
    starts = [s[0] for s in sections]
    hot = set()
    for a in addresses:
        i = bisect.bisect_right(starts, a) - 1
        if i >= 0 and a < sections[i][0] + sections[i][1] and sections[i][2] not in WHOLE:
            hot.add(sections[i][2])
    if len(hot) < 500:
        sys.exit(f"text-order: only {len(hot)} movable executed sections from {len(profiles)} profiles: "
                 "is the release build made with -function-sections (make release)?")
    size = sum(s[1] for s in sections if s[2] in hot)
    OUT.write_text("# Generated by `make text-order` (scripts/text-order.py): the code sections an upload runs,\n"
                   "# linked first and side by side (gold --section-ordering-file). A layout hint only.\n"
                   + "".join(name + "\n" for name in sorted(hot)))
    print(f"text-order: {len(hot)} sections, {size / 1024:.0f} KiB of code, from {len(profiles)} profiles -> {OUT}")


def shutil_which(name):
    import shutil
    return shutil.which(name)


if __name__ == "__main__":
    main()
