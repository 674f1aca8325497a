"""Runs last (file order): nothing any agent run printed or wrote may contain a secret."""
import conftest


def test_no_secret_in_any_output_or_state_file():
    assert conftest.SECRETS, "no secrets were registered: the scan would prove nothing"
    assert conftest.OUTPUT_LOG, "no agent output was captured"
    leaks = []
    for secret in conftest.SECRETS:
        for i, out in enumerate(conftest.OUTPUT_LOG):
            if secret in out:
                leaks.append(f"output #{i}")
        for d in conftest.STATE_DIRS:
            if not d.exists():
                continue
            for f in d.rglob("*"):
                if f.is_file() and secret.encode() in f.read_bytes():
                    leaks.append(str(f))
    assert not leaks, f"secrets found in: {leaks}"
