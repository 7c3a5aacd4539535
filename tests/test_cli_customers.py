import json

from csat.store.auditlog import entries


def test_add_list_json(workspace, cli):
    result = cli("customer", "add", "C-100", "--name", "Acme", "--email", "a@acme.example", "--lang", "zh")
    assert result.exit_code == 0, result
    listed = json.loads(cli("customer", "list", "--format", "json").stdout)
    assert listed == [{"code": "C-100", "name": "Acme", "contact": "", "email": "a@acme.example", "phone": "",
                       "segment": "", "language": "zh", "active": True}]


def test_import_is_idempotent(workspace, cli, customers_csv):
    first = cli("customer", "import", customers_csv)
    assert first.exit_code == 0, first
    assert "10 added" in first.stderr
    again = cli("customer", "import", customers_csv)
    assert "0 added, 0 updated, 10 unchanged" in again.stderr


def test_bad_rows_are_all_reported_and_nothing_written(workspace, cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("客户代码,客户名称,邮箱\nC-1,One,one@x.example\nC-1,Dup,dup@x.example\nC-3,,c3@x.example\nC-4,Four,not-an-email\n",
                   encoding="utf-8-sig")
    result = cli("customer", "import", bad)
    assert result.exit_code == 1
    assert "row 3: duplicate code 'C-1'" in result.stderr
    assert "row 4: missing name" in result.stderr
    assert "row 5: malformed e-mail 'not-an-email'" in result.stderr
    assert json.loads(cli("customer", "list", "--format", "json").stdout) == []


def test_unknown_customer_is_one_line(workspace, cli):
    result = cli("customer", "edit", "NOPE", "--name", "x")
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("Error: unknown customer 'NOPE'")
    assert "Traceback" not in result.stderr


def test_edit_and_deactivate_are_audited(workspace, store, cli):
    cli("customer", "add", "C-1", "--name", "One")
    assert cli("customer", "edit", "C-1", "--email", "new@one.example").exit_code == 0
    assert cli("customer", "deactivate", "C-1").exit_code == 2, "a reason is required"
    assert cli("customer", "deactivate", "C-1", "--reason", "plant closed").exit_code == 0
    trail = json.loads(cli("audit", "list", "--table", "customer", "--key", "C-1", "--format", "json").stdout)
    assert trail[0]["changes"]["active"] == [True, False] and trail[0]["changes"]["reason"] == "plant closed"
    assert "active: yes -> no; reason: plant closed" in cli("audit", "list", "--table", "customer", "--format", "csv").stdout
    assert json.loads(cli("customer", "list", "--format", "json").stdout) == []
    listed = json.loads(cli("customer", "list", "--all", "--format", "json").stdout)
    assert listed[0]["active"] is False and listed[0]["email"] == "new@one.example"
    with store.read_session() as session:
        trail = entries(session, table="customer", key="C-1")
    actions = [entry["action"] for entry in reversed(trail)]
    assert actions == ["insert", "update", "update"]
    assert trail[0]["changes"] == {"active": [True, False], "reason": "plant closed"}
    assert trail[1]["changes"] == {"email": ["", "new@one.example"]}
    assert trail[0]["actor"]


def test_csv_has_bom(workspace, cli, customers_csv):
    cli("customer", "import", customers_csv)
    result = cli("customer", "list", "--format", "csv")
    assert result.stdout.startswith("\ufeffcode,name")
    assert "深圳华科电子有限公司" in result.stdout


def test_import_xlsx_with_chinese_headers_and_offset_table(workspace, cli, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "客户"
    sheet["B3"], sheet["C3"], sheet["D3"], sheet["E3"] = "客户代码", "客户名称", "电子邮箱", "语言"
    sheet["B4"], sheet["C4"], sheet["D4"], sheet["E4"] = "C-201", "宁波精密", "buyer@nb.example", "中文"
    sheet["B5"], sheet["C5"], sheet["D5"] = 202, "Kestrel", "bad@"
    path = tmp_path / "customers.xlsx"
    workbook.save(path)
    result = cli("customer", "import", path)
    assert result.exit_code == 1
    assert "customers.xlsx!客户!row 5: malformed e-mail 'bad@'" in result.stderr
    sheet["D5"] = "ok@kestrel.example"
    workbook.save(path)
    assert cli("customer", "import", path).exit_code == 0
    listed = {entry["code"]: entry for entry in json.loads(cli("customer", "list", "--format", "json").stdout)}
    assert listed["C-201"]["language"] == "zh" and listed["202"]["name"] == "Kestrel"


def test_csv_named_xlsx_and_missing_columns(workspace, cli, tmp_path):
    fake = tmp_path / "fake.xlsx"
    fake.write_text("code,name\nC-1,One\n")
    result = cli("customer", "import", fake)
    assert result.exit_code == 1 and "not an xlsx workbook" in result.stderr
    headerless = tmp_path / "people.csv"
    headerless.write_text("who,where\nx,y\n")
    result = cli("customer", "import", headerless)
    assert result.exit_code == 1 and "no code or name column" in result.stderr


def test_dry_run_writes_nothing(workspace, cli, customers_csv):
    result = cli("customer", "import", customers_csv, "--dry-run")
    assert "Would import" in result.stderr and "10 added" in result.stderr
    assert json.loads(cli("customer", "list", "--format", "json").stdout) == []


def test_add_rejects_header_injection_and_duplicates(workspace, cli):
    assert cli("customer", "add", "C-1", "--name", "One").exit_code == 0
    duplicate = cli("customer", "add", "C-1", "--name", "Again")
    assert duplicate.exit_code == 1 and "already exists" in duplicate.stderr
    injected = cli("customer", "add", "C-2", "--name", "Two", "--email", "a@b.example\nBcc: evil@x.example")
    assert injected.exit_code == 1 and "e-mail" in injected.stderr
