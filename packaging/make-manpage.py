"""Writes the agent(1) man page from the binary's own help, so it lists every command it has.

Usage: python3 packaging/make-manpage.py BINARY DATE > agent.1   (DATE: YYYY-MM-DD)
"""
import re
import subprocess
import sys


def help_text(binary, *words):
    return subprocess.run([binary, "help", *words], capture_output=True, text=True, check=True).stdout


def subcommands(text):
    """Names listed under SUBCOMMANDS: (two spaces, a name, then its abstract)."""
    names, inside = [], False
    for line in text.splitlines():
        if line.startswith("SUBCOMMANDS:"):
            inside = True
            continue
        if inside:
            m = re.match(r"^  ([a-z][a-z0-9-]*)(\s|$)", line)
            if m:
                names.append(m.group(1))
            elif line and not line.startswith(" "):
                inside = False
    return names


def roff(text):
    """Text safe in a .nf block: backslashes escaped, no line starting with a control character."""
    out = []
    for line in text.rstrip().splitlines():
        line = line.replace("\\", "\\e")
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def main():
    binary, date = sys.argv[1], sys.argv[2]
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout.splitlines()[0].split()[-1]
    top = help_text(binary)
    print(f'.TH AGENT 1 "{date}" "offsite-agent {version}" "User Commands"')
    print(".SH NAME\nagent \\- push finished backup archives offsite to S3\\-compatible storage")
    print(".SH SYNOPSIS\n.B agent\n.I command\n.RI [ options ]\n.br\n.B agent \\-\\-version\n.RB [ \\-\\-json ]")
    print(".SH DESCRIPTION")
    print("The agent copies each finished backup from this server to S3\\-compatible storage "
          "(a \\(lqvault\\(rq), resumes interrupted uploads from its journal, lists, verifies, restores and "
          "prunes offsite copies, and explains every failure with an error code and the fix. "
          "Every command takes \\fB\\-\\-config\\fR \\fIpath\\fR, \\fB\\-\\-json\\fR and \\fB\\-\\-log\\-level\\fR.")
    print(".SH COMMANDS")
    queue = [[name] for name in subcommands(top)]
    while queue:
        words = queue.pop(0)
        text = help_text(binary, *words)
        print(f".SS agent {' '.join(words)}")
        print(".nf")
        print(roff(text))
        print(".fi")
        queue[0:0] = [words + [name] for name in subcommands(text)]
    print(".SH FILES")
    for path, what in [
        ("/etc/offsite-agent/agent.toml", "the configuration (mode 0600: it may hold secrets)"),
        ("/etc/offsite-agent/providers.d/", "provider profiles of your own, or overriding the shipped ones"),
        ("/var/lib/offsite-agent/", "state_dir: the journal of unfinished uploads, locks, agent.log"),
        ("/usr/share/offsite-agent/providers/", "the shipped provider profiles"),
        ("/usr/share/offsite-agent/post-backup-hook.sh", "the hook a backup job calls with the finished backup's directory"),
        ("/lib/systemd/system/offsite-agent-resume.timer", "finishes interrupted uploads every 15 minutes, once enabled"),
        ("/usr/share/doc/offsite-agent/", "README, sample config, cron, logrotate and IAM policy examples"),
    ]:
        print(f".TP\n.I {path.replace('-', chr(92) + '-')}\n{what}")
    print(".SH ENVIRONMENT\n.TP\n.B OFFSITE_AGENT_CONFIG\nthe config file when \\fB\\-\\-config\\fR is not given.")
    print(".SH EXIT STATUS\n0 success; 1 failed; 2 usage; 3 configuration; 4 the backup cannot be uploaded; "
          "5 the storage refused (keys, region, bucket, permission); 75 interrupted or the network is down "
          "(run it again, or let the timer). The README lists every error code with its fix.")
    print(".SH SEE ALSO\n/usr/share/doc/offsite\\-agent/README.md.gz")


if __name__ == "__main__":
    main()
