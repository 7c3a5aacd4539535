"""The README's workspace, customer, item, reminder and audit examples run as written, and what the
README promises of them holds (lists take CSV, backups make their folder, remind says one line,
a round without responses says so)."""

import json
import re
import shlex
from datetime import date, timedelta
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
SECTIONS = ["### Workspace", "### Customers", "### Survey items", "### Reminders (run from cron)", "### Audit trail",
            "### Record retention"]


def section_commands(heading: str) -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    start = text.index(heading)
    following = text.find("\n#", start + len(heading))
    section = text[start:following if following != -1 else None]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "csat":
                commands.append(words[1:])
    return commands


def test_tour_sections_run(tmp_path, monkeypatch, cli, store_backend):
    home = tmp_path / "quality" / "csat"
    monkeypatch.setenv("HOME", str(tmp_path))
    examples = Path(__file__).resolve().parent.parent / "examples"
    ran = 0
    for heading in SECTIONS:
        for words in section_commands(heading):
            words = [word.replace("~/quality/csat", str(home)).replace("examples/", f"{examples}/") for word in words]
            if words[0] == "doctor":
                continue  # the tour points mail at smtp.example.com; tests reach loopback only (test_doctor.py)
            if words[0] != "init":
                monkeypatch.setenv("CSAT_HOME", str(home))
            if words[0] == "remind":
                words += ["--dry-run"] if "--dry-run" not in words else []
            result = cli(*words)
            if words[:2] in (["db", "backup"], ["db", "restore"]) and store_backend == "postgresql":
                # The file backup is SQLite's; on a server store it says what to use instead.
                assert result.exit_code == 1 and "pg_" in result.stderr, (words, result)
            else:
                assert result.exit_code == 0, (words, result)
            ran += 1
    assert ran >= 25
    if store_backend == "sqlite":
        assert (tmp_path / "backups" / "csat-2024-07-01.db").is_file()  # backups/ did not exist before
    monkeypatch.setenv("CSAT_HOME", str(home))
    staff = json.loads(cli("config", "get", "remind.staff").stdout)
    assert staff == ["qa@example.com", "zhang.min@example.com"]  # set, --add, --remove as the tour says
    # the tour points mail at smtp.example.com; tests reach loopback only, so no digest is mailed below
    assert cli("config", "set", "remind.staff", "").exit_code == 0
    _promises_hold(cli, home)


def _promises_hold(cli, home):
    """What the tour's prose says of these commands, checked on the workspace the tour built."""
    # "Every list takes --format table|json|csv"
    for words in (["customer", "list"], ["items", "list"], ["survey", "list"], ["feedback", "list"],
                  ["capa", "list"], ["audit", "list"]):
        listed = cli(*words, "--format", "csv")
        assert listed.exit_code == 0 and listed.stdout.startswith("\ufeff"), (words, listed)
    # `survey status` too, once there is a round; a round without responses says so in its report.
    from csat.periods import Half

    half = str(Half.containing(date.today()).next())
    assert cli("survey", "open", "--half", half).exit_code == 0
    assert cli("survey", "status", "--half", half, "--format", "csv").stdout.startswith("\ufeffcode,name,contact,status,")
    report = cli("report", "--half", half, "--lang", "en")
    assert "No responses yet" in report.stdout and "No item is below" not in report.stdout
    # "Output is one summary line when something was sent or is due": a digest is due when the
    # next half year's round is unsent with fewer than 30 days of it left.
    late = Half.parse(half).end - timedelta(days=10)
    remind = cli("remind", "--today", late.isoformat())
    lines = remind.stderr.strip().splitlines()
    assert remind.exit_code == 0 and len(lines) == 1 and lines[0].startswith(f"csat remind {late}: "), remind
    assert "尚未发送" in cli("remind", "--today", late.isoformat(), "-v").stderr   # the tour's workspace speaks Chinese
    assert cli("remind", "--today", late.isoformat()).stderr == ""  # said once a day
    assert json.loads(cli("survey", "list", "--format", "json").stdout)[0]["period"] == half
