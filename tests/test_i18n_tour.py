"""The README tour speaks one language: no English prose in a zh workspace, no Chinese in an en one.

Every command of the tour's sections runs as written (the same adjustments as
tests/test_readme_tour.py and tests/test_feedback_readme.py make); what it prints on
stdout and stderr is checked line by line with tests/prose.py. Data the user typed or
imported (customer names, comments, the company name) may be in any language.
"""

from __future__ import annotations

import getpass
import json
import re
import shlex
import socket
from datetime import date, timedelta
from pathlib import Path

from feedback_fixtures import EXAMPLES
from prose import chinese_lines, english_lines
from smtp_fixtures import running_smtp

README = Path(__file__).resolve().parent.parent / "README.md"
# Commands whose stdout is a file's content (csat.toml, a crontab, systemd units), not sentences.
FILE_OUTPUT = [["config", "show"], ["cron"]]
SECTIONS = ["### Workspace", "### Customers", "### Survey items", "### Survey rounds", "### Feedback and complaints", "### CAPA",
            "### Reports", "### Management review", "### Reminders (run from cron)", "### Audit trail", "### Record retention", "### Importing answers",
            "### Correcting records", "### Checking the procedure"]


def section_commands(heading: str) -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    start = text.index(heading)
    following = text.find("\n### ", start + len(heading))
    section = text[start:following if following != -1 else None]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "csat":
                commands.append(words[1:])
    return commands


def _data_texts() -> list[str]:
    """What the user brings: example files and every argument of the tour."""
    texts = [path.read_text(encoding="utf-8-sig") for path in EXAMPLES.iterdir()
             if path.suffix in (".csv", ".toml", ".txt")]
    texts += [" ".join(words) for heading in SECTIONS for words in section_commands(heading)]
    texts.append(getpass.getuser())   # who made a change, in the audit trail
    texts.append(socket.gethostname())   # and on which machine
    import csat  # the default survey template's item names are data too

    return texts + [(Path(csat.__file__).parent / "data" / "default_items.toml").read_text(encoding="utf-8")]


def _returned_forms(cli, home: Path, folder: Path) -> None:
    """The files the import tour names: forms sent for 2024H1 (into the outbox), filled as customers would."""
    import email
    from email import policy

    from openpyxl import load_workbook

    from csat.config import Workspace
    from csat.forms.identity import FormIdentity
    from csat.forms.xlsx import identity_rows
    from csat.store.engine import open_store

    for words in (["config", "set", "mail.smtp_host", ""], ["survey", "send", "--half", "2024H1"],
                  ["config", "set", "mail.smtp_host", "smtp.example.com"]):
        result = cli(*words)
        assert result.exit_code == 0, (words, result)
    workspace = Workspace.open(home)
    open_store(workspace)   # the signing secret lives in the store
    secret = workspace.secret()
    folder.mkdir()
    for number, sent in enumerate(sorted((home / "outbox").glob("*.eml"))):
        message = email.message_from_bytes(sent.read_bytes(), policy=policy.default)
        for attachment in message.iter_attachments():
            if not attachment.get_filename().endswith(".xlsx"):
                continue
            form = folder / attachment.get_filename()
            form.write_bytes(attachment.get_content())
            workbook = load_workbook(form)
            identity = FormIdentity.from_rows(identity_rows(workbook), secret)
            sheet = workbook[identity.sheet]
            for offset, cell in enumerate(identity.items.values()):
                sheet[cell] = (60, 80, 100)[(number + offset) % 3]   # on every scale, choice ones too
            sheet[identity.respondent] = "李伟"
            workbook.save(form)
    forms = sorted(folder.glob("*.xlsx"))
    assert forms
    workbook = load_workbook(forms[0])   # a corrected copy of the first form
    identity = FormIdentity.from_rows(identity_rows(workbook), secret)
    workbook[identity.sheet][next(iter(identity.items.values()))] = 99
    workbook.save(folder.parent / "corrected.xlsx")
    for name in ("C-003-2024H1.xls", "C-007-2024H1.ods"):   # not re-saved by an office suite: refused, in words
        (folder / name).write_bytes(forms[0].read_bytes())


def _run_tour(lang: str, tmp_path, monkeypatch, cli) -> list[str]:
    home = tmp_path / "quality" / "csat"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CSAT_LANG", raising=False)
    data = _data_texts()
    check = english_lines if lang == "zh" else chinese_lines
    future = (date.today() + timedelta(days=60)).isoformat()
    year = date.today().year
    wrong = []
    for heading in SECTIONS:
        if heading == "### Reports":   # the tour's reports are of 2024H2; here of 2024H1, with answers taken by phone
            for code, quality in (("C-006", "90"), ("C-007", "70")):
                added = cli("response", "add", code, "--half", "2024H1", "--score", f"quality={quality}",
                            "--score", "delivery=80", "--comment", "电话回访")
                assert added.exit_code == 0, added
                wrong += [f"csat response add: {line}" for line in check(added.stderr, data)]
        for words in section_commands(heading):
            for shell in (">", "|", "||", "&&"):   # what the shell does with the output is not csat's
                words = words[:words.index(shell)] if shell in words else words
            if heading in ("### Reports", "### Management review"):
                words = [word.replace("2024H2", "2024H1") for word in words]
            words = [word.replace("~/quality/csat", str(home)).replace("examples/", f"{EXAMPLES}/")
                     .replace("CAPA-2024-", f"CAPA-{year}-") for word in words]
            if words[:2] == ["response", "add"] and "--score" not in words:
                continue   # `response add` without scores asks on a terminal only
            if words[0] == "doctor":   # against a loopback SMTP server, then back to the outbox
                with running_smtp() as server:
                    for key, value in (("mail.smtp_host", "127.0.0.1"), ("mail.smtp_port", str(server.port)),
                                       ("mail.security", "none")):
                        assert cli("config", "set", key, value).exit_code == 0
                    result = cli(*words)
                for key, value in (("mail.smtp_host", ""), ("mail.smtp_port", "587"), ("mail.security", "starttls")):
                    assert cli("config", "set", key, value).exit_code == 0
                wrong += [f"csat {shlex.join(words)} [{stream}]: {line}"
                          for stream, text in (("stderr", result.stderr), ("stdout", result.stdout))
                          for line in check(text, data)]
                continue
            if words[0] == "init":
                words[words.index("--lang") + 1] = lang
            else:
                monkeypatch.setenv("CSAT_HOME", str(home))
            if heading == "### Importing answers" and not (tmp_path / "returned").exists():
                _returned_forms(cli, home, tmp_path / "returned")
            if words[0] == "import":   # the shell expands returned/*.xlsx
                words = [expanded for word in words for expanded in
                         (sorted(str(path.relative_to(tmp_path)) for path in tmp_path.glob(word)) or [word]
                          if "*" in word else [word])]
            if words[:2] in (["response", "show"], ["response", "withdraw"]):   # the tour's #12: a response it stored
                listed = json.loads(cli("response", "list", "--half", "2024H1", "--format", "json").stdout)
                words[2] = str(listed[-1]["id"])
            if words[:2] == ["sources", "get"]:   # the tour's 3f5a9c: a workbook it imported
                words[2] = next(source["sha256"][:8] for source in json.loads(
                    cli("sources", "list", "--format", "json").stdout) if source["name"].endswith(".xlsx"))
            if words[:2] == ["feedback", "import"]:
                open_round = cli("survey", "open", "--half", "2024H1")
                if open_round.exit_code != 0:   # the Survey rounds section closed it
                    open_round = cli("survey", "open", "--half", "2024H1", "--reopen", "--reason", "feedback tour")
                assert open_round.exit_code == 0, open_round
            if "--due" in words:
                words[words.index("--due") + 1] = future
            if "--at" in words and words[0] == "capa":
                words[words.index("--at") + 1] = date.today().isoformat()
            if words[0] == "remind" and "--dry-run" not in words:
                words.append("--dry-run")
            result = cli(*words)
            if words[0] == "init":   # the settings the user keeps in csat.toml are data too
                data.append((home / "csat.toml").read_text(encoding="utf-8"))
            shown = [("stderr", result.stderr)]
            if not any(words[:len(command)] == command for command in FILE_OUTPUT):
                shown.append(("stdout", result.stdout))
            for stream, text in shown:
                wrong += [f"csat {shlex.join(words)} [{stream}]: {line}" for line in check(text, data)]
    return wrong


def test_a_chinese_workspace_prints_no_english_prose(tmp_path, monkeypatch, cli):
    wrong = _run_tour("zh", tmp_path, monkeypatch, cli)
    assert wrong == [], "\n".join(wrong)


def test_an_english_workspace_prints_no_chinese(tmp_path, monkeypatch, cli):
    wrong = _run_tour("en", tmp_path, monkeypatch, cli)
    assert wrong == [], "\n".join(wrong)


def test_the_check_finds_prose_and_lets_codes_and_data_pass():
    data = ["C-003,Acme Motors GmbH", "--text \"Housing cracks after 2 weeks\""]
    assert english_lines("已登记 C-003 的投诉 #19（quality，phone）；见 `csat feedback list`", data) == []
    assert english_lines("│ 19 │ C-003 │ Acme Motors GmbH │ Housing cracks after 2 weeks │", data) == []
    assert english_lines("sqlite:////tmp/a/csat.db  quality@example.com  report-2024H1.xlsx", data) == []
    assert english_lines("Logged complaint #19 from C-003", data) != []
    assert english_lines("已导入 customers.csv：10 added", data) != []
    assert chinese_lines("Logged complaint #19 from C-003", ["华南精密"]) == []
    assert chinese_lines("Company: 华南精密", ["华南精密"]) == []
    assert chinese_lines("已登记 C-003 的投诉", ["华南精密"]) != []
