"""Text from customers stays plain text in everything csat writes (issue #15, output injection).

Customer names, comments and feedback carry formulas, markup, template syntax, line breaks and
terminal escape sequences. Each test writes them through the commands staff use and reads what a
person would then see: the terminal, CSV and xlsx files, HTML pages, Markdown and the e-mails.
"""

from __future__ import annotations

import csv
import email
import email.policy
import io
import re
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from csat.periods import Half, Quarter
from csat.terminal_text import printable

ESC, BEL, CSI_C1 = "\x1b", "\x07", "\x9b"
HOSTILE_NAMES = {
    "C-1": f"{ESC}]8;;http://evil.example{ESC}\\click{ESC}]8;;{ESC}\\ {ESC}[31mRED{ESC}[0m{BEL} Ltd",
    "C-2": '=HYPERLINK("http://evil.example","Acme") {{ 7*7 }} <script>alert(1)</script>',
    "C-3": "+cmd|' /C calc'!A0 [/red] :warning: \u202eevil",
    "C-4": "Line1\r\nBcc: victim@evil.example",
    "C-5": "@SUM(1+1) -2+3",
}
COMMENT = f"=HYPERLINK(\"http://evil.example\",\"x\") {{{{ 7*7 }}}} <script>x</script> {ESC}]0;pwned{BEL} {ESC}[2J{CSI_C1}31m"
FEEDBACK = f"@SUM(1+1) {ESC}[31mred{ESC}[0m {{{{ 7*7 }}}} <img src=x onerror=alert(1)> +cmd|' /C calc'!A0"
# What may never reach a terminal: C0 controls but tab and line feed, DEL, C1, direction overrides.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
IN_FILE_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # CR LF lines allowed
UNESCAPED_TAG = re.compile(r"(?<!\\)<(script|img)")
FORMULA_START = ("=", "+", "-", "@")


def _half() -> Half:
    return Half.containing(date.today())


def _fill(cli, workspace) -> tuple[str, str]:
    """Customers, a sent round, an answer and a complaint, all written with hostile text; returns (half, quarter)."""
    half = str(_half())
    for code, name in HOSTILE_NAMES.items():
        result = cli("customer", "add", code, "--name", name, "--email", f"{code.lower()}@example.com", "--lang", "en")
        assert result.exit_code == 0, result
    assert cli("survey", "open", "--half", half).exit_code == 0
    assert cli("survey", "send", "--half", half).exit_code == 0
    result = cli("response", "add", "C-2", "--half", half, "--score", "quality=60", "--score", "delivery=70",
                 "--comment", COMMENT)
    assert result.exit_code == 0, result
    result = cli("feedback", "add", "C-3", "--kind", "quality", "--channel", "phone", "--text", FEEDBACK,
                 "--dept", "quality", "--capa")
    assert result.exit_code == 0, result
    capa = "CAPA-" + str(date.today().year) + "-001"
    result = cli("capa", "update", capa, "--cause", '=HYPERLINK("http://evil.example","cause")', "--title", "-1 " + COMMENT)
    assert result.exit_code == 0, result
    return half, str(Quarter.containing(date.today()))


def test_the_terminal_never_receives_a_control_character_from_data(cli, workspace):
    half, quarter = _fill(cli, workspace)
    shown = {}
    for command in (["customer", "list"], ["customer", "show", "C-1"], ["customer", "show", "C-3"],
                    ["survey", "status", "--half", half], ["response", "list", "--half", half], ["response", "show", "1"],
                    ["feedback", "list"], ["feedback", "show", "1"], ["feedback", "summary", "--quarter", quarter],
                    ["report", "--half", half], ["capa", "list"], ["capa", "show", "CAPA-" + str(date.today().year) + "-001"],
                    ["audit", "list"]):
        result = cli(*command)
        assert result.exit_code == 0, (command, result)
        shown[" ".join(command)] = result.stdout + result.stderr
    for command, text in shown.items():
        assert not RAW_CONTROL.search(text), (command, RAW_CONTROL.search(text).group(0), text[-400:])
    # ...and the text is still all there, readable, with its escapes visible.
    assert "\\x1b[31mRED\\x1b[0m\\x07 Ltd" in shown["customer list"]
    assert "[/red] :warning: \\u202eevil" in shown["customer show C-3"]       # no markup, emoji or reordering
    assert "\\x1b]0;pwned\\x07" in shown["response show 1"] and "{{ 7*7 }}" in shown["response show 1"]
    assert "\\x1b[31mred\\x1b[0m" in shown["feedback show 1"]


def test_a_name_that_looks_like_markup_is_printed_not_parsed(cli, workspace):
    result = cli("customer", "add", "C-9", "--name", "[/red] [bold]Bold[/bold] :warning:", "--email", "c9@example.com")
    assert result.exit_code == 0, result      # was a rich MarkupError traceback after the customer was stored
    assert "[/red] [bold]Bold[/bold] :warning:" in result.stderr
    assert "⚠" not in result.stderr


def test_csv_outputs_never_hold_a_formula(cli, workspace):
    half, _quarter = _fill(cli, workspace)
    for command, column in ((["customer", "list"], "name"), (["feedback", "list"], "text"),
                            (["survey", "status", "--half", half], "name"), (["capa", "list"], "title")):
        result = cli(*command, "--format", "csv")
        assert result.exit_code == 0, result
        rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
        values = [row[column] for row in rows if row.get(column)]
        assert values, (command, rows)
        for value in values:
            assert not value.startswith(FORMULA_START), (command, value)
        assert any(value.startswith("'") and value[1:2] in FORMULA_START for value in values), (command, values)
    names = {row["code"]: row["name"] for row in csv.DictReader(io.StringIO(cli("customer", "list", "--format", "csv")
                                                                               .stdout.lstrip("\ufeff")))}
    assert names["C-2"] == "'" + HOSTILE_NAMES["C-2"]           # the text itself is kept, only made inert
    assert names["C-5"] == "'" + HOSTILE_NAMES["C-5"]


def _cells(path: Path):
    workbook = openpyxl.load_workbook(path)
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.value is not None:
                    yield sheet.title, cell


def test_xlsx_outputs_write_data_as_text(cli, workspace, tmp_path):
    half, quarter = _fill(cli, workspace)
    files = {"report": tmp_path / "report.xlsx", "summary": tmp_path / "summary.xlsx",
             "form": tmp_path / "form.xlsx", "capa": tmp_path / "capa.xlsx"}
    assert cli("report", "--half", half, "--format", "xlsx", "-o", files["report"]).exit_code == 0
    assert cli("feedback", "summary", "--quarter", quarter, "-o", files["summary"]).exit_code == 0
    assert cli("survey", "form", "C-2", "--half", half, "-o", files["form"]).exit_code == 0
    capa = "CAPA-" + str(date.today().year) + "-001"
    assert cli("capa", "form", capa, "-o", files["capa"]).exit_code == 0, cli("capa", "form", capa, "-o", files["capa"])
    for name, path in files.items():
        hostile = [(sheet, cell) for sheet, cell in _cells(path)
                   if isinstance(cell.value, str) and cell.value.startswith(FORMULA_START)]
        assert hostile, f"{name}: no hostile text written"
        for sheet, cell in hostile:
            assert cell.data_type == "s", (name, sheet, cell.coordinate, cell.value)
        assert not [cell for _sheet, cell in _cells(path) if cell.data_type == "f"
                    and any(marker in str(cell.value) for marker in ("HYPERLINK", "SUM(1+1)", "cmd|"))], name


def test_html_escapes_markup_and_never_evaluates_templates(cli, workspace, tmp_path):
    half, quarter = _fill(cli, workspace)
    pages = {"report": tmp_path / "report.html", "capa": tmp_path / "capa.html"}
    assert cli("report", "--half", half, "-o", pages["report"]).exit_code == 0
    assert cli("capa", "form", "CAPA-" + str(date.today().year) + "-001", "-o", pages["capa"]).exit_code == 0
    outbox = sorted((workspace.root / "outbox").glob("*.eml"))
    assert outbox
    mails = {path.name: email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in outbox}
    bodies = {name: message.get_body(("html",)).get_content() for name, message in mails.items()}
    texts = {name: path.read_text(encoding="utf-8") for name, path in pages.items()} | bodies
    for name, text in texts.items():
        assert "<script>alert(1)</script>" not in text and "<script>x</script>" not in text, name
        assert "<img src=x" not in text, name
        assert not IN_FILE_CONTROL.search(text), (name, IN_FILE_CONTROL.search(text))
    report = texts["report"]
    assert "&lt;script&gt;x&lt;/script&gt;" in report and "{{ 7*7 }}" in report and "\\x1b]0;pwned" in report
    c2_mail = next(text for name, text in bodies.items() if "-C-2-" in name)
    assert "{{ 7*7 }}" in c2_mail and "&lt;script&gt;alert(1)&lt;/script&gt;" in c2_mail


def test_markdown_escapes_markup_and_controls(cli, workspace, tmp_path):
    half, quarter = _fill(cli, workspace)
    report, summary = tmp_path / "report.md", tmp_path / "summary.md"
    assert cli("report", "--half", half, "-o", report).exit_code == 0
    assert cli("feedback", "summary", "--quarter", quarter, "-o", summary).exit_code == 0
    for path in (report, summary):
        text = path.read_text(encoding="utf-8")
        assert not IN_FILE_CONTROL.search(text), path.name
        assert not UNESCAPED_TAG.search(text), path.name   # raw HTML would run in a wiki
    assert "\\<img src=x onerror=alert(1)\\>" in summary.read_text(encoding="utf-8")


def test_mail_headers_stay_one_line_without_controls(cli, workspace):
    _fill(cli, workspace)
    for path in (workspace.root / "outbox").glob("*.eml"):
        raw = path.read_bytes()
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", head), path.name
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert message["Bcc"] is None and message["Cc"] is None, path.name
        assert len(message["To"].addresses) == 1, path.name
    c4 = next((workspace.root / "outbox").glob("*-C-4-*.eml"))
    message = email.message_from_bytes(c4.read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].display_name == "Line1 Bcc: victim@evil.example"
    assert message["To"].addresses[0].addr_spec == "c-4@example.com"


def test_printable_shows_every_control_and_keeps_text():
    assert printable("plain 中文 text") == "plain 中文 text"
    assert printable("a\r\nb\tc") == "a\nb\tc"
    assert printable(f"{ESC}[31m{BEL}{CSI_C1}\x7f\u202e") == "\\x1b[31m\\x07\\x9b\\x7f\\u202e"


@pytest.mark.parametrize("arg", ["bad \udc9b31m", "\udcff"])
def test_an_argument_that_is_not_utf8_is_refused_before_anything_is_stored(cli, workspace, arg):
    result = cli("customer", "add", "C-8", "--name", arg, "--email", "c8@example.com")
    assert result.exit_code == 2
    assert "not UTF-8" in result.stderr and "Traceback" not in result.stderr
    assert "C-8" not in cli("customer", "list", "--format", "csv").stdout
