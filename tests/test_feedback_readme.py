"""The README's feedback and CAPA tour runs, command by command, as written."""

import json
import re
import shlex
from datetime import date, timedelta
from pathlib import Path

from feedback_fixtures import EXAMPLES, open_survey_round, with_customers  # noqa: F401

README = Path(__file__).resolve().parent.parent / "README.md"


def tour_commands() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Feedback and complaints"):text.index("### Reports")]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                assert words[0] == "csat", line
                commands.append(words[1:])
    return commands


def test_the_tour_runs(workspace, with_customers, cli, tmp_path):
    open_survey_round(with_customers, "2024H1")
    year, future = date.today().year, (date.today() + timedelta(days=60)).isoformat()
    commands = tour_commands()
    assert len(commands) >= 20
    for words in commands:
        words = [word.replace("CAPA-2024-", f"CAPA-{year}-").replace("examples/", f"{EXAMPLES}/") for word in words]
        if "--due" in words:  # the tour's due dates are in 2024; due dates cannot be in the past
            words[words.index("--due") + 1] = future
        if "--at" in words:  # the tour's CAPAs are opened today here: its 2024 steps happen today too
            words[words.index("--at") + 1] = date.today().isoformat()
        result = cli(*words)
        assert result.exit_code == 0, (words, result)
    statuses = {record["number"]: record["status"] for record in
                json.loads(cli("capa", "list", "--format", "json").stdout)}
    assert statuses == {f"CAPA-{year}-001": "closed", f"CAPA-{year}-002": "cancelled", f"CAPA-{year}-003": "open",
                        f"CAPA-{year}-004": "closed"}
    for name in ("complaints-2024Q3.xlsx", "complaints-2024Q3.json", f"CAPA-{year}-003.xlsx", f"CAPA-{year}-001.html"):
        assert (tmp_path / name).is_file(), name
