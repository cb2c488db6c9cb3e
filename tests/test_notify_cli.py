"""`cafleet notify`: notifiers kept in the user's 0600 config with their secrets masked in every
output, bad input refused with nothing changed, and `notify test` reaching a real local HTTP
server (each webhook format and ntfy), a command (the event on its stdin) and Debian's
notify-send on a private session bus."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.notify_support import Receiver, files_holding

SECRET_PATH = "/hooks/T0KEN-s3cr3t-path"
NTFY_TOPIC = "/cafleet-topic-9f8e7d"
NTFY_TOKEN = "tk_secret_token_4242"
DAEMON = Path(__file__).parent / "fixtures" / "notification_daemon.py"


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def config_file() -> Path:
    return Path(os.environ["HOME"]) / ".config" / "cafleet" / "notifiers.json"


def outputs(*results) -> str:
    return "".join(r.out + r.err for r in results)


def test_a_notifier_is_kept_in_a_private_config_and_shown_masked(cli, receiver):
    url = receiver.url(SECRET_PATH)
    added = cli("notify", "add", "hook", "--kind", "webhook", "--url", url, "--format", "slack", "--events", "needs-you,held")
    ntfy = cli(
        "notify", "add", "phone", "--kind", "ntfy", "--url", "-", "--token", NTFY_TOKEN, input=receiver.url(NTFY_TOPIC) + "\n"
    )
    assert added.code == 0 and ntfy.code == 0, outputs(added, ntfy)
    port = receiver.server.server_address[1]
    assert (
        added.out
        == f"Added notifier hook: webhook (slack) http://127.0.0.1:{port}/***; every fleet; needs-you,held; at most one per 10 s\n"
    )

    path = config_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    stored = json.loads(path.read_text())["notifiers"]
    assert [(n["name"], n["url"]) for n in stored] == [("hook", url), ("phone", receiver.url(NTFY_TOPIC))]
    assert stored[1]["token"] == NTFY_TOKEN

    listed = cli("notify", "list")
    as_json = cli("--json", "notify", "list")
    assert listed.code == 0 and as_json.code == 0
    assert [n["target"] for n in as_json.json()] == [f"http://127.0.0.1:{port}/***", f"http://127.0.0.1:{port}/*** (token ***)"]
    for secret in (SECRET_PATH, NTFY_TOPIC, NTFY_TOKEN, "T0KEN", "cafleet-topic"):
        assert secret not in outputs(added, ntfy, listed, as_json)

    removed = cli("notify", "remove", "hook")
    assert removed.code == 0 and removed.out == "Removed notifier hook\n"
    assert [n["name"] for n in json.loads(path.read_text())["notifiers"]] == ["phone"]


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--kind", "pager"], 2, "'pager' is not one of"),
        (["--kind", "webhook", "--url", "ftp://example.com/T0KEN-s3cr3t"], 2, "is not an http:// or https:// URL"),
        (["--kind", "webhook", "--url", "https://exa mple.com/T0KEN-s3cr3t"], 2, "is not an http:// or https:// URL"),
        (["--kind", "ntfy", "--url", "https://ntfy.sh/"], 2, "names no topic"),
        (["--kind", "webhook"], 2, "needs --url"),
        (["--kind", "ntfy", "--url", "https://ntfy.sh/t", "--format", "slack"], 2, "--format does not apply to a ntfy notifier"),
        (["--kind", "webhook", "--url", "https://example.com/x", "--events", "needs-you,lunch"], 2, "lunch"),
        (["--kind", "command", "--command", "no-such-program-here --key T0KEN-s3cr3t"], 1, "not an executable on PATH"),
        (["--kind", "desktop"], 1, "notify-send is not installed"),
    ],
)
def test_bad_input_is_an_error_that_changes_nothing(cli, args, code, words):
    first = cli("notify", "add", "keep", "--kind", "command", "--command", "cat")
    assert first.code == 0, first.err
    before = config_file().read_bytes()
    # PATH without notify-send (the desktop case), with what else the CLI needs.
    env = {"PATH": os.path.dirname(sys.executable) + ":/nonexistent"}
    result = cli("notify", "add", "new", *args, env=env)
    assert result.code == code, result
    assert result.err.startswith(("Error: ", "Usage: ")) and words in result.err, result.err
    assert "Traceback" not in result.err and "T0KEN-s3cr3t" not in result.err
    assert config_file().read_bytes() == before


def test_a_second_notifier_of_the_same_name_and_an_unknown_name_are_refused(cli):
    assert cli("notify", "add", "me", "--kind", "command", "--command", "cat").code == 0
    again = cli("notify", "add", "ME", "--kind", "command", "--command", "cat")
    assert again.code == 1 and "a notifier named 'ME' exists already" in again.err
    for command in ("remove", "test"):
        missing = cli("notify", command, "nobody")
        assert missing.code == 1 and "no notifier named 'nobody'" in missing.err


@pytest.mark.parametrize("shape", ["json", "slack", "discord"])
def test_notify_test_posts_each_webhook_format(cli, receiver, shape):
    assert cli("notify", "add", "hook", "--kind", "webhook", "--url", receiver.url(SECRET_PATH), "--format", shape).code == 0
    sent = cli("notify", "test", "hook")
    assert sent.code == 0, sent.err
    assert sent.out.startswith("Sent a test to hook (http://127.0.0.1:") and sent.out.endswith("/***): HTTP 200\n")
    (request,) = receiver.at(SECRET_PATH)
    assert request.headers["Content-Type"] == "application/json"
    body = request.json()
    expected_text = "A test from cafleet to the notifier hook."
    if shape == "slack":
        assert body == {"text": f"*cafleet test*\n{expected_text}"}
    elif shape == "discord":
        assert body == {"content": f"**cafleet test**\n{expected_text}"}
    else:
        assert (body["source"], body["kind"], body["title"], body["text"]) == ("cafleet", "test", "cafleet test", expected_text)
        assert [e["kind"] for e in body["events"]] == ["test"]
    assert SECRET_PATH not in sent.out + sent.err


def test_notify_test_posts_to_ntfy_with_its_headers_and_says_when_it_failed(cli, receiver):
    assert cli("notify", "add", "phone", "--kind", "ntfy", "--url", receiver.url(NTFY_TOPIC), "--token", NTFY_TOKEN).code == 0
    assert cli("notify", "test", "phone").code == 0
    (request,) = receiver.at(NTFY_TOPIC)
    assert request.body.decode() == "A test from cafleet to the notifier phone."
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert (headers["title"], headers["priority"], headers["tags"]) == ("cafleet test", "3", "white_check_mark")
    assert headers["authorization"] == f"Bearer {NTFY_TOKEN}"

    receiver.statuses.append(500)
    failed = cli("notify", "test", "phone")
    assert failed.code == 1 and "failed: HTTP 500 Internal Server Error" in failed.err
    listed = cli("notify", "list")
    assert "phone: ntfy" in listed.out and " failed: HTTP 500 Internal Server Error" in listed.out
    shown = cli("notify", "test", "phone")  # a server that answers again
    assert shown.code == 0
    doctor = cli("--json", "doctor")
    (entry,) = doctor.json()["notifiers"]
    assert entry["name"] == "phone" and entry["last_delivery"]["status"] == "sent"
    for secret in (NTFY_TOPIC, NTFY_TOKEN):
        assert secret not in outputs(failed, listed, shown, doctor)


def test_a_command_notifier_gets_the_event_as_json_on_stdin(cli, tmp_path):
    script = tmp_path / "record.sh"
    script.write_text(f'#!/bin/sh\ncat > "{tmp_path}/got.json"\n')
    script.chmod(0o755)
    assert cli("notify", "add", "rec", "--kind", "command", "--command", f"{script} --api-key T0KEN-s3cr3t").code == 0
    listed = cli("notify", "list")
    assert f"rec: command {script} *** (2 args)" in listed.out and "T0KEN" not in listed.out
    sent = cli("notify", "test", "rec")
    assert sent.code == 0, sent.err
    got = json.loads((tmp_path / "got.json").read_text())
    assert got["kind"] == "test" and got["title"] == "cafleet test" and got["events"][0]["kind"] == "test"

    script.write_text("#!/bin/sh\necho 'refused: T0KEN-s3cr3t' >&2\nexit 3\n")
    failed = cli("notify", "test", "rec")
    assert failed.code == 1 and "exited with status 3: refused: ***" in failed.err and "T0KEN" not in failed.err


def test_a_desktop_notifier_runs_notify_send_against_the_session_bus(cli, tmp_path):
    if shutil.which("dbus-run-session") is None or shutil.which("notify-send") is None:
        pytest.fail("the desktop notifier test needs notify-send on a session bus: apt-get install -y libnotify-bin dbus")
    log = tmp_path / "notifications.jsonl"
    script = tmp_path / "session.sh"
    cafleet = " ".join(__import__("tests.support", fromlist=["cafleet_command"]).cafleet_command())
    script.write_text(
        f"{sys.executable} {DAEMON} {log} & daemon=$!\n"
        f"i=0; while [ ! -e {log.with_suffix('.ready')} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n"
        f"{cafleet} notify add desk --kind desktop && {cafleet} notify test desk; status=$?\n"
        "kill $daemon; exit $status\n"
    )
    done = subprocess.run(["dbus-run-session", "--", "sh", str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Sent a test to desk (notify-send): notify-send exited 0" in done.stdout
    (shown,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert shown == {
        "app": "cafleet",
        "summary": "cafleet test",
        "body": "A test from cafleet to the notifier desk.",
        "urgency": 1,
    }


def test_secrets_reach_no_file_but_the_config(cli, receiver, tmp_path):
    assert cli("notify", "add", "hook", "--kind", "webhook", "--url", receiver.url(SECRET_PATH)).code == 0
    assert cli("notify", "add", "phone", "--kind", "ntfy", "--url", receiver.url(NTFY_TOPIC), "--token", NTFY_TOKEN).code == 0
    receiver.statuses.append(500)
    cli("notify", "test", "hook")
    cli("notify", "test", "phone")
    assert files_holding(tmp_path, [SECRET_PATH, NTFY_TOPIC, NTFY_TOKEN], skip={config_file()}) == []


def test_a_notifier_for_a_fleet_that_does_not_exist_is_refused(cli):
    refused = cli("--fleet-id", "99", "notify", "add", "x", "--kind", "command", "--command", "cat")
    assert refused.code == 1 and "99" in refused.err and refused.err.startswith("Error: ")
    assert not config_file().exists()


def test_doctor_says_when_the_config_is_readable_by_others(cli):
    assert cli("notify", "add", "x", "--kind", "command", "--command", "cat").code == 0
    config_file().chmod(0o644)
    doctor = cli("doctor")
    assert f"the notifier config {config_file()} (mode 644) holds secrets others can read; chmod 600" in doctor.out
