"""One e-mail rule for customer add, edit, import and survey send (csat.mail.addresses)."""

import json

import pytest

from csat.mail.addresses import AddressProblem, normalise_email
from csat.mail.transport import address

FULL_WIDTH = "ｔｅｓｔ@example.cn"

TRICKY = [FULL_WIDTH, "ｔｅｓｔ＠ｅｘａｍｐｌｅ．ｃｎ", "测试@example.cn", "info@例子.中国", "Sales@Example.COM",
          "a..b@example.com", ".a@example.com", "a@example", "a@-x.example", "a@x_y.example", "a b@example.com",
          "a@b@example.com", "<a@example.com>", "a@example.123", "x" * 65 + "@example.com", "  pad@example.com  ",
          "tab\t@example.com", "quote\"@example.com", "a@example.com.", "first.last+tag@sub.example.co.uk"]


@pytest.mark.parametrize("text, stored", [
    (FULL_WIDTH, "test@example.cn"),
    ("ｔｅｓｔ＠ｅｘａｍｐｌｅ．ｃｎ", "test@example.cn"),
    ("Sales@Example.COM", "Sales@example.com"),
    ("info@例子.中国", "info@xn--fsqu00a.xn--fiqs8s"),
    ("  first.last+tag@sub.example.co.uk ", "first.last+tag@sub.example.co.uk"),
    ("", ""),
])
def test_normalised(text, stored):
    assert normalise_email(text) == stored


@pytest.mark.parametrize("text, reason", [
    ("测试@example.cn", "non-ASCII character '测'"),
    ("a@example", "has no dot"),
    ("a..b@example.com", "misplaced dot"),
    ("a@b@example.com", "exactly one @"),
    ("no-at-sign", "has no @"),
    ("a b@example.com", "contains a space"),
    ("a@b.example\nBcc: x@y.example", "contains a line break"),
    ("x" * 65 + "@example.com", "longer than 64"),
    ("a@x_y.example", "malformed"),
])
def test_refused_with_a_reason(text, reason):
    with pytest.raises(AddressProblem, match=reason):
        normalise_email(text)


@pytest.mark.parametrize("text", TRICKY)
def test_what_is_accepted_can_be_sent_to(text):
    """The defect: add accepted what send then refused. Now the stored form always builds a To: header."""
    try:
        stored = normalise_email(text)
    except AddressProblem:
        return
    assert address(stored).addr_spec == stored and stored.isascii()


def test_add_edit_and_import_store_the_normalised_address(workspace, store, cli, tmp_path):
    added = cli("customer", "add", "C-1", "--name", "One", "--email", FULL_WIDTH)
    assert added.exit_code == 0, added
    shown = json.loads(cli("customer", "show", "C-1", "--format", "json").stdout)
    assert shown["email"] == "test@example.cn"
    assert cli("customer", "edit", "C-1", "--email", "ｓａｌｅｓ＠ｅｘａｍｐｌｅ．ｃｎ").exit_code == 0
    assert json.loads(cli("customer", "show", "C-1", "--format", "json").stdout)["email"] == "sales@example.cn"

    sheet = tmp_path / "customers.csv"
    sheet.write_text(f"code,name,email\nC-1,One,ｓａｌｅｓ＠ｅｘａｍｐｌｅ．ｃｎ\nC-2,Two,{FULL_WIDTH}\n", encoding="utf-8")
    imported = cli("customer", "import", str(sheet))
    assert imported.exit_code == 0, imported
    assert "1 added, 0 updated, 1 unchanged" in imported.stderr     # C-1's address is the same once normalised
    listed = {record["code"]: record["email"] for record in json.loads(cli("customer", "list", "--format", "json").stdout)}
    assert listed == {"C-1": "sales@example.cn", "C-2": "test@example.cn"}


def test_an_address_csat_cannot_send_to_is_refused_when_entered(workspace, store, cli, tmp_path):
    refused = cli("customer", "add", "C-1", "--name", "One", "--email", "测试@example.cn")
    assert refused.exit_code == 1
    assert "customer 'C-1': malformed e-mail '测试@example.cn': the part before the @ has the non-ASCII character" \
        in refused.stderr
    assert cli("customer", "list", "--format", "json").stdout.strip() == "[]"
    assert cli("customer", "add", "C-1", "--name", "One").exit_code == 0
    edit = cli("customer", "edit", "C-1", "--email", "sales@example")
    assert edit.exit_code == 1 and "malformed e-mail 'sales@example': the domain 'example' has no dot" in edit.stderr
    sheet = tmp_path / "customers.csv"
    sheet.write_text("code,name,email\nC-2,Two,测试@example.cn\n", encoding="utf-8")
    imported = cli("customer", "import", str(sheet))
    assert imported.exit_code == 1 and "row 2: malformed e-mail '测试@example.cn': the part before the @" in imported.stderr


def test_survey_send_reaches_the_full_width_address(workspace, store, cli):
    assert cli("customer", "add", "C-1", "--name", "One", "--email", FULL_WIDTH).exit_code == 0
    sent = cli("survey", "send", "--half", "2024H1")
    assert sent.exit_code == 0, sent
    assert "1 sent" in sent.stderr and "0 failed" in sent.stderr
    status = json.loads(cli("survey", "status", "--half", "2024H1", "--format", "json").stdout)
    assert [(customer["code"], customer["status"]) for customer in status["customers"]] == [("C-1", "sent")]
    [message] = list((workspace.root / "outbox").rglob("*.eml"))
    assert "To: One <test@example.cn>" in message.read_text(encoding="utf-8")
