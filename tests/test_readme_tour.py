"""The README's workspace, customer, item, reminder and audit examples run as written."""

import re
import shlex
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
SECTIONS = ["### Workspace", "### Customers", "### Survey items", "### Reminders (run from cron)", "### Audit trail"]


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


def test_tour_sections_run(tmp_path, monkeypatch, cli):
    home = tmp_path / "quality" / "csat"
    monkeypatch.setenv("HOME", str(tmp_path))
    examples = Path(__file__).resolve().parent.parent / "examples"
    ran = 0
    for heading in SECTIONS:
        for words in section_commands(heading):
            words = [word.replace("~/quality/csat", str(home)).replace("examples/", f"{examples}/") for word in words]
            if words[0] == "doctor":
                continue  # the tour points mail at smtp.example.com; tests reach loopback only (test_doctor.py)
            if words[:2] == ["db", "backup"]:
                (tmp_path / "backups").mkdir(exist_ok=True)
            if words[0] != "init":
                monkeypatch.setenv("CSAT_HOME", str(home))
            if words[0] == "remind":
                words += ["--dry-run"] if "--dry-run" not in words else []
            result = cli(*words)
            assert result.exit_code == 0, (words, result)
            ran += 1
    assert ran >= 25
