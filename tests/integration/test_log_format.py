"""Issue 13 item 9: `log_format = "json"` writes agent.log as one JSON object per line (ts, level,
msg, and each event's metadata as fields); stderr keeps the documented human lines."""
import json
import re

from conftest import free_port, new_secret
from faultproxy import FaultProxy, Rule
from test_upload import pattern

MiB = 1 << 20
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def json_log(env):
    """Every line of agent.log, parsed; a line that is not one JSON object fails the test."""
    events = []
    for n, line in enumerate((env.state_dir / "agent.log").read_text().splitlines(), 1):
        event = json.loads(line)
        assert isinstance(event, dict), f"line {n}: {line}"
        assert TS.match(event["ts"]) and event["level"] in {"DEBUG", "INFO", "NOTICE", "WARNING", "ERROR"}, line
        assert isinstance(event["msg"], str) and event["msg"], line
        events.append(event)
    return events


def test_json_log_carries_vault_key_part_and_attempt_as_fields(env, rclone):
    files = {"small.tar": pattern(3000, 1), "db.tar": pattern(6 * MiB, 2)}
    proxy = FaultProxy(rclone.port)
    env.add_vault("primary", rclone, endpoint=proxy.endpoint, part_size="5MiB", multipart_threshold="5MiB")
    env.write_config(log_format="json")
    env.make_backup("b1", files)
    # Part 2 of db.tar is answered 503 once: a retry event.
    proxy.add(Rule(lambda q: q.is_part and q.query["partNumber"] == "2", "503"))

    r = env.run("upload", "b1")
    assert r.code == 0, r
    # stderr keeps the documented human lines, no JSON.
    assert "uploaded db.tar -> host-a/b1/db.tar (6.0 MiB, 2 parts" in r.stderr, r
    assert re.search(r"^warning: UploadPart 2 of host-a/b1/db\.tar: attempt 1/\d+ failed: HTTP 503", r.stderr, re.M), r
    assert "Transferred: 3 files" in r.stderr  # and backup.json
    assert "{" not in r.stderr

    events = json_log(env)
    per_file = [e for e in events if e["msg"].startswith("uploaded ") and " small files " not in e["msg"]]
    assert {e["path"] for e in per_file} == {"small.tar", "db.tar", "backup.json"}, events
    for e in per_file:
        assert e["vault"] == "primary" and e["backup"] == "b1", e
        assert e["key"] == "host-a/b1/" + e["path"], e
        # The message is the human line, word for word.
        assert e["msg"].startswith(f"uploaded {e['path']} -> {e['key']} ("), e
        assert e["level"] == "INFO"

    retry = next(e for e in events if e["level"] == "WARNING" and e["msg"].startswith("UploadPart 2 of"))
    assert retry["vault"] == "primary" and retry["key"] == "host-a/b1/db.tar", retry
    assert retry["operation"] == "UploadPart" and retry["part"] == 2 and retry["attempt"] == 1, retry

    summary = next(e for e in events if e["msg"].startswith("Transferred: "))
    manifest_size = (env.backup_dir / "b1" / "backup.json").stat().st_size
    assert summary["files"] == 3 and summary["bytes"] == 3000 + 6 * MiB + manifest_size, summary
    assert isinstance(summary["seconds"], (int, float)) and isinstance(summary["rate"], int), summary
    assert summary["vault"] == "primary" and summary["backup"] == "b1"

    # A failed run's ERROR line carries its code, hint and what it worked on as fields.
    broken_secret = new_secret()
    env.add_vault("broken", endpoint=f"http://127.0.0.1:{free_port()}", bucket="b", access_key_id="AKIAEXAMPLE000000000",
                  secret_access_key=broken_secret, max_attempts=1)
    env.write_config(log_format="json")
    env.make_backup("b2", {"a.tar": b"a"})
    r = env.run("upload", "b2", "--vault", "broken")
    assert r.code == 75, r
    error = json_log(env)[-1]
    assert error["level"] == "ERROR" and error["code"] == "CONNECTION_REFUSED", error
    assert error["msg"].startswith("CONNECTION_REFUSED: ") and error["msg"].endswith("; hint: " + error["hint"]), error
    assert error["vault"] == "broken" and error["backup"] == "b2", error

    # No secret reaches a field of the structured log: not the keys, not the failed vault's secret.
    raw = (env.state_dir / "agent.log").read_text()
    for secret in (rclone.secret_key, rclone.access_key, broken_secret, "AKIAEXAMPLE000000000"):
        assert secret not in raw, "a secret reached agent.log"


def test_log_format_option_overrides_the_config_and_a_bad_value_is_named(env, rclone):
    env.add_vault("primary", rclone)
    env.write_config(log_format="json")
    env.make_backup("b1", {"a.tar": b"a"})
    r = env.run("upload", "b1", "--log-format", "text")
    assert r.code == 0, r
    lines = (env.state_dir / "agent.log").read_text().splitlines()
    assert lines and all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ [A-Z]+ ", l) for l in lines), lines
    assert any(" INFO Transferred: 2 files" in l for l in lines), lines

    r = env.run("upload", "b1", "--log-format", "xml")
    assert r.code == 2, r

    env.write_config(log_format="yaml")
    r = env.run("config", "check")
    assert r.code == 3, r
    line = next(n for n, l in enumerate(env.config_path.read_text().splitlines(), 1) if l.startswith("log_format"))
    assert f"INVALID_CONFIG: {env.config_path}:{line}: `log_format` is \"yaml\"" in r.stderr, r
    assert "hint:" in r.stderr and '"json"' in r.stderr
