"""Mistakes speak the workspace's language too: usage errors, settings errors, missing records, --help.

Typer's copy of Click writes its usage errors in English; csat tells them again from the
catalog (csat/cli/_usage.py) with the option names and values as typed and exit code 2.
pydantic's English never reaches a person: every error type has a catalog message.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import pytest
import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from csat.cli import app
from csat.config import validation_problem
from csat.i18n import use_language
from csat.workspace import create
from prose import english_lines

USAGE_MISTAKES = [
    (["feedback", "list", "--kind"], "--kind"),                 # an option without its value
    (["feedback", "list", "--bogus"], "--bogus"),               # no such option
    (["feedback", "list", "--opn"], "--opn"),                   # no such option, with a suggestion
    (["--bogus"], "--bogus"),                                   # no such option of csat itself
    (["feedbak", "list"], "feedbak"),                           # no such command, with a suggestion
    (["feedback", "frobnicate"], "frobnicate"),                 # no such command in a group
    (["feedback", "show"], "number"),                           # a missing argument
    (["feedback", "show", "abc"], "abc"),                       # not a number
    (["feedback", "list", "--format", "xml"], "xml"),           # not one of the choices
    (["feedback", "list", "extra"], "extra"),                   # an extra argument
    (["customer", "add"], "code"),                              # a missing argument
    (["report", "--half", "2024H1", "--lang", "fr"], "fr"),     # not one of the choices
    (["survey", "send", "--half"], "--half"),
    (["customer", "list", "--format"], "--format"),
]


@pytest.fixture
def zh_home(tmp_path, monkeypatch):
    home = tmp_path / "zh"
    create(home, company="华南精密制造有限公司", lang="zh")
    monkeypatch.setenv("CSAT_HOME", str(home))
    return home


@pytest.fixture
def en_home(tmp_path, monkeypatch):
    home = tmp_path / "en"
    create(home, company="Test Precision Co.", lang="en")
    monkeypatch.setenv("CSAT_HOME", str(home))
    return home


@pytest.mark.parametrize("words, named", USAGE_MISTAKES, ids=[" ".join(words) for words, _named in USAGE_MISTAKES])
def test_usage_mistakes_are_told_in_chinese_with_exit_2(zh_home, cli, words, named):
    result = cli(*words)
    assert result.exit_code == 2, result
    assert named in result.stderr
    assert "错误" in result.stderr
    assert english_lines(result.stderr, [" ".join(words)]) == [], result.stderr


@pytest.mark.parametrize("words, expected", [
    (["feedback", "list", "--kind"], "Option '--kind' requires a value."),
    (["feedback", "list", "--bogus"], "No such option: --bogus"),
    (["feedback", "list", "--opn"], "(Possible options: --open)"),
    (["feedbak", "list"], "No such command 'feedbak'. Did you mean 'feedback'?"),
    (["feedback", "show"], "Missing argument 'number'."),
    (["feedback", "show", "abc"], "Invalid value for 'number': 'abc' is not accepted: expected a whole number"),
    (["feedback", "list", "--format", "xml"], "'xml' is not one of 'table', 'json', 'csv'"),
    (["feedback", "list", "extra"], "Unexpected extra argument: extra"),
])
def test_usage_mistakes_in_english_still_say_what_was_wrong(en_home, cli, words, expected):
    result = cli(*words)
    assert result.exit_code == 2, result
    assert expected in result.stderr
    assert "Error:" in result.stderr


def test_the_usage_line_and_help_hint_are_translated(zh_home, cli):
    result = cli("feedback", "list", "--bogus")
    assert "用法" in result.stderr and "csat feedback list" in result.stderr and "查看帮助" in result.stderr
    assert "Usage" not in result.stderr and "Try" not in result.stderr


def test_csats_own_bad_parameter_messages_stay_translated(zh_home, cli):
    result = cli("feedback", "list", "--quarter", "2024X9")
    assert result.exit_code == 2 and "2024X9" in result.stderr
    assert english_lines(result.stderr, []) == [], result.stderr


def _commands(command, path=()):
    yield path, command
    for name, child in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(child, (*path, name))


def _names_and_examples(root) -> list[str]:
    """What --help shows as it is: command and parameter names, defaults, and the examples' own words."""
    data = []
    for path, command in _commands(root):
        data += [" ".join(path), *path]
        data += [line for line in (command.help or "").splitlines() if "csat " in line]
        for param in command.params:
            data += [param.name or "", *param.opts, str(param.default)]
    return data


# Column names of the files csat reads, named in --help as the file must spell them.
COLUMNS = "code name contact email phone segment language received customer kind channel text number product owner dept"


def test_help_of_every_command_is_chinese_in_a_chinese_workspace(zh_home, cli, monkeypatch):
    from typer._click import formatting

    narrow = formatting.HelpFormatter.__init__

    def wide(self, indent_increment=2, width=None, max_width=None):   # no line wrapped inside a word or an example
        narrow(self, indent_increment, 1000, max_width)

    monkeypatch.setattr(formatting.HelpFormatter, "__init__", wide)
    root = typer.main.get_command(app)
    data = _names_and_examples(root) + COLUMNS.split()
    wrong = []
    for path, _command in _commands(root):
        result = cli(*path, "--help")
        assert result.exit_code == 0, (path, result)
        wrong += [f"csat {' '.join(path)} --help: {line}" for line in english_lines(result.stdout, data)]
    assert wrong == [], "\n".join(wrong)
    said = cli("feedback", "list", "--help").stdout
    for english in ("Usage", "Options", "Show this message and exit", "[OPTIONS]", "required", "default"):
        assert english not in said


class _Every(BaseModel):
    model_config = ConfigDict(extra="forbid")
    whole: int = 1
    number: float = 1.0
    flag: bool = True
    text: str = ""
    short: str = Field(default="", max_length=3)
    longer: str = Field(default="abc", min_length=3)
    items: list[str] = Field(default_factory=list, max_length=2)
    choice: Literal["starttls", "ssl", "none"] = "none"
    day: date = date(2024, 1, 1)
    positive: int = Field(default=1, gt=0)
    small: float = Field(default=1, lt=10)
    at_least: int = Field(default=1, ge=1)
    at_most: int = Field(default=1, le=5)
    required: int


BAD_VALUES = [
    {"whole": "many"}, {"whole": 1.5}, {"number": "x"}, {"flag": "maybe"}, {"text": 3}, {"short": "abcd"},
    {"longer": "a"}, {"items": "a"}, {"items": ["a", "b", "c"]}, {"choice": "tls"}, {"day": "2024-13-45"},
    {"positive": 0}, {"small": 10}, {"at_least": 0}, {"at_most": 6}, {"unknown": 1}, {},
]


@pytest.mark.parametrize("values", BAD_VALUES, ids=[str(values) for values in BAD_VALUES])
def test_every_pydantic_error_is_a_catalog_message(values):
    try:
        _Every.model_validate({"required": 1, **values} if values else {})
    except ValidationError as exc:
        errors = [error for error in exc.errors() if error["loc"] != ("required",) or not values]
    else:
        pytest.fail("no error")
    for error in errors:
        with use_language("zh"):
            chinese = validation_problem(error)
        with use_language("en"):
            english = validation_problem(error)
        assert english_lines(chinese, []) == [], (error, chinese)
        assert chinese != error["msg"] and english != error["msg"]


def test_an_unknown_error_type_names_the_key_and_the_value():
    error = {"type": "some_future_check", "loc": ("mail", "smtp_host"), "msg": "Some English", "input": "x.y"}
    with use_language("zh"):
        said = validation_problem(error)
    assert "mail.smtp_host" in said and "'x.y'" in said and "Some English" not in said
    assert english_lines(said, []) == []


def test_literal_choices_are_listed_without_english_words(zh_home, cli):
    result = cli("config", "set", "mail.security", "tls")
    assert result.exit_code != 0
    assert "'starttls'" in result.stderr and " or " not in result.stderr
    assert english_lines(result.stderr, ["mail.security tls"]) == [], result.stderr


@pytest.mark.parametrize("key, value", [("mail.smtp_port", "abc"), ("mail.smtp_port", "70000"),
                                        ("survey.due_days", "0"), ("company.lang", "fr"),
                                        ("feedback.holidays", "2024-13-01"), ("report.min_n", "1.5")])
def test_config_set_mistakes_are_chinese(zh_home, cli, key, value):
    result = cli("config", "set", key, value)
    assert result.exit_code != 0
    assert key in result.stderr
    assert english_lines(result.stderr, [f"{key} {value}"]) == [], result.stderr


def test_capa_steps_name_statuses_and_results_in_words(zh_home, cli):
    from datetime import timedelta

    from feedback_fixtures import EXAMPLES, FEEDBACK_LOG

    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert cli("feedback", "import", FEEDBACK_LOG).exit_code == 0
    due = (date.today() + timedelta(days=60)).isoformat()
    number = cli("capa", "open", "--from-feedback", "13", "--due", due).stdout.strip()
    said = []
    for words in (["capa", "update", number, "--cause", "模具磨损", "--action", "计数器"],
                  ["capa", "verify", number, "--by", "周莉", "--result", "无效"],
                  ["capa", "update", number, "--action", "再次整改"],
                  ["capa", "reopen", number, "--reason", "返工"]):
        result = cli(*words)
        said.append(result.stderr)
        assert english_lines(result.stderr, [" ".join(words)]) == [], result.stderr
    assert "进行中" in said[0] and "in_progress" not in said[0]
    assert "无效" in said[1] and "验证无效" in said[1] and "not-effective" not in said[1]
    assert "验证无效" in said[2] and "verified" not in said[2]
    assert "进行中" in said[3]


ERROR_PATHS = [
    ["capa", "show", "CAPA-9999-999"], ["capa", "show", "xyz"], ["feedback", "show", "999"], ["response", "show", "999"],
    ["customer", "show", "C-404"], ["response", "withdraw", "999", "--reason", "重复"],
    ["capa", "open", "--from-feedback", "999"], ["feedback", "reply", "999", "--text", "已回复"],
    ["feedback", "add", "C-404", "--kind", "quality", "--channel", "phone", "--text", "外壳裂纹"],
    ["survey", "status", "--half", "2024H1"], ["survey", "status", "--half", "2024X1"], ["report", "--half", "2024H1"],
    ["capa", "list", "--status", "bad"], ["feedback", "list", "--quarter", "2024Q9"], ["audit", "list", "--since", "bad"],
    ["config", "get", "nope"], ["config", "set", "mail.nope", "1"], ["survey", "form", "C-404", "--half", "2024H1"],
    ["import", "{bad.xlsx}", "{missing.xlsx}"], ["import", "{bad.csv}"], ["import", "{empty.csv}"],
    ["customer", "import", "{bad.xlsx}"], ["customer", "import", "{bad.csv}"], ["customer", "import", "{empty.csv}"],
    ["customer", "import", "{missing.xlsx}"],
    ["items", "load", "{bad.toml}"], ["items", "load", "{unclosed.toml}"], ["items", "load", "{no-label.toml}"],
    ["items", "load", "{missing.toml}"],
    ["feedback", "import", "{bad.csv}"], ["feedback", "import", "{bad.xlsx}"], ["feedback", "import", "{empty.csv}"],
]


@pytest.mark.parametrize("words", ERROR_PATHS, ids=[" ".join(words) for words in ERROR_PATHS])
def test_error_paths_speak_chinese(zh_home, tmp_path, cli, words):
    files = {"bad.xlsx": b"garbage\x00\x01", "bad.csv": "a,b\n1,2\n".encode(), "empty.csv": b"\n",
             "bad.toml": b"not toml [[[", "unclosed.toml": b"x = [1, 2\n", "no-label.toml": b'[[item]]\ncode = "x"\n'}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    words = [str(tmp_path / word[1:-1]) if word.startswith("{") else word for word in words]
    result = cli(*words)
    assert result.exit_code in (1, 2), result
    said = result.stderr + result.stdout
    assert "错误" in said
    assert english_lines(said, [" ".join(words), *COLUMNS.split()]) == [], said   # column names as the file must spell them
