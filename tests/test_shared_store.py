"""Three workspace folders on one store: a quality server and two sales laptops (issue #18).

Each folder has its own csat.toml; the store (PostgreSQL with --backend postgresql, else one
SQLite file all three point at) holds the items, the company settings and the signing secret,
so whichever machine sends, imports or reminds, the outcome is the same.
"""

from __future__ import annotations

import email
import json
from datetime import date, timedelta
from email import policy

import pytest
from openpyxl import load_workbook
from smtp_fixtures import running_smtp
from sqlalchemy import text

from csat.config import Workspace
from csat.forms.identity import FormIdentity
from csat.forms.xlsx import identity_rows
from csat.store.engine import engine_for, open_store
from tests.conftest import EXAMPLES


@pytest.fixture
def shared_url(tmp_path, backend_database, monkeypatch) -> str:
    """The store the three folders share, given to each `csat init` (not through the environment)."""
    monkeypatch.delenv("CSAT_DATABASE_URL", raising=False)
    monkeypatch.delenv("CSAT_HOME", raising=False)
    return backend_database or f"sqlite:///{tmp_path / 'shared' / 'csat.db'}"


@pytest.fixture
def folders(tmp_path, shared_url, cli):
    """server, laptop1, laptop2: the server creates the store, the laptops join it."""
    (tmp_path / "shared").mkdir()
    roots = {name: tmp_path / name for name in ("server", "laptop1", "laptop2")}
    created = cli("init", roots["server"], "--database-url", shared_url, "--company", "Southbridge Precision")
    assert created.exit_code == 0, created
    assert "8 survey items (default template)" in created.stderr
    for name in ("laptop1", "laptop2"):
        joined = cli("init", roots[name], "--database-url", shared_url, "--company", "Laptop Co")
        assert joined.exit_code == 0, joined
        assert "Joined the store" in joined.stderr and "8 survey items in the store" in joined.stderr
    return roots


def run(cli, root, *args):
    result = cli("--home", root, *args)
    assert result.exit_code == 0, result
    return result


def opened(root) -> Workspace:
    workspace = Workspace.open(root)
    open_store(workspace)
    return workspace


def test_joining_keeps_the_stores_items_settings_and_secret(folders, shared_url, cli):
    server, laptop = folders["server"], folders["laptop1"]
    assert run(cli, laptop, "config", "get", "store.url").stdout.strip() == shared_url   # the URL given
    assert f'url = "{shared_url}"' in (laptop / "csat.toml").read_text()
    # Joining loaded no second template and kept the server's company name.
    items = json.loads(run(cli, laptop, "items", "list", "--format", "json").stdout)
    assert len(items) == 8
    assert run(cli, laptop, "config", "get", "company.name").stdout.strip() == "Southbridge Precision"
    assert opened(laptop).secret() == opened(server).secret()
    # A setting changed on one machine is what every other one sees, and the trail says who, where, from, to.
    changed = run(cli, laptop, "config", "set", "mail.sender", "quality@southbridge.cn")
    assert "(the store, settings revision 2)" in changed.stderr
    assert run(cli, folders["laptop2"], "config", "get", "mail.sender").stdout.strip() == "quality@southbridge.cn"
    shown = run(cli, server, "config", "show")
    assert 'sender = "quality@southbridge.cn"' in shown.stdout and "revision 2" in shown.stderr
    trail = json.loads(run(cli, server, "audit", "list", "--table", "setting", "--format", "json").stdout)
    import socket

    assert trail[0]["key"] == "mail.sender" and trail[0]["host"] == socket.gethostname()
    assert trail[0]["changes"]["value"] == ['"quality@example.com"', '"quality@southbridge.cn"']
    # doctor on every machine: the same key, the same settings revision.
    for root in folders.values():
        said = cli("--home", root, "doctor").stderr
        assert "ok   secret" in said and "revision 2 of the shared settings" in said


def test_a_form_sent_from_one_folder_imports_in_another(folders, cli, tmp_path):
    laptop, server = folders["laptop1"], folders["server"]
    run(cli, laptop, "customer", "import", EXAMPLES / "customers.csv")
    run(cli, laptop, "survey", "send", "--half", "2024H1", "--customer", "C-003")
    message = email.message_from_bytes(next((laptop / "outbox").glob("*.eml")).read_bytes(), policy=policy.default)
    form = tmp_path / "form.xlsx"
    form.write_bytes(next(message.iter_attachments()).get_content())
    workbook = load_workbook(form)
    identity = FormIdentity.from_rows(identity_rows(workbook), opened(server).secret())
    sheet = workbook[identity.sheet]
    for offset, cell in enumerate(identity.items.values()):
        sheet[cell] = 80 + offset
    sheet[identity.respondent] = "李伟"
    workbook.save(form)
    imported = cli("--home", server, "import", form)
    assert imported.exit_code == 0, imported
    status = run(cli, folders["laptop2"], "survey", "status", "--half", "2024H1", "--format", "json")
    assert json.loads(status.stdout)["responded"] == 1, status


def test_remind_from_a_folder_without_mail_settings_uses_the_shared_ones(folders, cli):
    server, laptop = folders["server"], folders["laptop2"]
    with running_smtp() as smtp:
        for key, value in (("mail.smtp_host", "127.0.0.1"), ("mail.smtp_port", str(smtp.port)),
                           ("mail.security", "none"), ("mail.username", ""),
                           ("remind.staff", "qa@southbridge.cn")):
            run(cli, server, "config", "set", key, value)
        run(cli, server, "customer", "import", EXAMPLES / "customers.csv")
        period = f"{date.today().year}H{1 if date.today().month <= 6 else 2}"
        sent = run(cli, server, "survey", "send", "--half", period, "--customer", "C-001")
        assert "1 sent" in sent.stderr or len(smtp.received) == 1, sent
        before = len(smtp.received)
        # The laptop's csat.toml has no mail server and no staff: the store's settings decide.
        assert "smtp_host" not in (laptop / "csat.toml").read_text()
        later = (date.today() + timedelta(days=10)).isoformat()
        reminded = run(cli, laptop, "remind", "--today", later)
        assert "1 reminder(s) sent" in reminded.stderr, reminded
        assert len(smtp.received) == before + 1
        assert not (laptop / "outbox").exists() or not list((laptop / "outbox").glob("*.eml"))


def test_a_folder_pointed_at_the_store_sees_its_items(folders, shared_url, cli, tmp_path):
    """Issue #18.2: a folder made on SQLite, then pointed at the shared store, said "no survey items"."""
    solo = tmp_path / "solo"
    assert cli("init", solo).exit_code == 0
    run(cli, solo, "config", "set", "store.url", shared_url)
    run(cli, solo, "db", "upgrade")
    assert len(json.loads(run(cli, solo, "items", "list", "--format", "json").stdout)) == 8
    assert run(cli, solo, "config", "get", "company.name").stdout.strip() == "Southbridge Precision"


def test_init_records_the_url_from_the_environment(shared_url, cli, tmp_path, monkeypatch):
    monkeypatch.setenv("CSAT_DATABASE_URL", shared_url)
    if shared_url.startswith("sqlite"):
        (tmp_path / "shared").mkdir()
    assert cli("init", tmp_path / "a").exit_code == 0
    assert f'url = "{shared_url}"' in (tmp_path / "a" / "csat.toml").read_text()
    monkeypatch.delenv("CSAT_DATABASE_URL")
    assert run(cli, tmp_path / "a", "config", "get", "store.url").stdout.strip() == shared_url
    assert not (tmp_path / "a" / "csat.db").exists()


def test_config_show_and_get_honour_the_database_url_override(folders, shared_url, cli, tmp_path, monkeypatch):
    """Issue #18.10: config show claimed effective settings but showed csat.toml's URL."""
    other = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setenv("CSAT_DATABASE_URL", other)
    assert cli("--home", folders["server"], "config", "get", "store.url").stdout.strip() == other
    assert f'url = "{other}"' in cli("--home", folders["server"], "config", "show").stdout


def test_db_status_never_creates_an_empty_store(tmp_path, cli, monkeypatch):
    monkeypatch.delenv("CSAT_DATABASE_URL", raising=False)
    root = tmp_path / "ws"
    (root).mkdir()
    (root / "csat.toml").write_text('[store]\nurl = "sqlite:///csat.db"\n')
    status = cli("--home", root, "db", "status")
    assert status.exit_code == 0 and "no store file" in status.stderr
    listed = cli("--home", root, "customer", "list")
    assert listed.exit_code == 1 and "no store at" in listed.stderr
    assert not (root / "csat.db").exists()
    assert cli("--home", root, "db", "upgrade").exit_code == 0 and (root / "csat.db").exists()


def test_items_load_defaults_restores_the_template(workspace, cli):
    assert cli("items", "retire", "price").exit_code == 0
    dry = cli("items", "load", "--defaults", "--dry-run")
    assert dry.exit_code == 0 and "price" in dry.stdout + dry.stderr
    loaded = cli("items", "load", "--defaults")
    assert loaded.exit_code == 0 and "Loaded the default template" in loaded.stderr
    assert "price" in [item["code"] for item in json.loads(cli("items", "list", "--format", "json").stdout)]
    assert cli("items", "load").exit_code == 2


def test_init_refuses_a_store_at_an_older_schema_and_writes_nothing(shared_url, cli, tmp_path):
    from alembic import command

    from csat.store.migrations import alembic_config

    (tmp_path / "shared").mkdir()
    with engine_for(shared_url).begin() as connection:
        command.upgrade(alembic_config(connection), "0005")
    result = cli("init", tmp_path / "late", "--database-url", shared_url)
    assert result.exit_code == 1 and "older than this csat" in result.stderr
    assert not (tmp_path / "late" / "csat.toml").exists()


OLD_CSAT_TOML = """\
[company]
name = "Old Folder Ltd"
lang = "zh"

[store]
url = "sqlite:///csat.db"

[mail]
smtp_host = "smtp.oldfolder.example"
sender = "qa@oldfolder.example"

[remind]
staff = ["lead@oldfolder.example"]
"""


@pytest.mark.sqlite_only("a workspace from before 0006 with its own SQLite file and .csat-secret")
def test_upgrade_moves_todays_settings_and_secret_into_the_store(tmp_path, cli, monkeypatch):
    from alembic import command

    from csat.store.migrations import alembic_config

    monkeypatch.delenv("CSAT_DATABASE_URL", raising=False)
    root = tmp_path / "old"
    root.mkdir()
    (root / "csat.toml").write_text(OLD_CSAT_TOML)
    (root / ".csat-secret").write_text("the-old-folder-secret\n")
    (root / ".csat-secret").chmod(0o600)
    with engine_for(f"sqlite:///{root / 'csat.db'}").begin() as connection:
        command.upgrade(alembic_config(connection), "0005")
    run(cli, root, "db", "upgrade")
    workspace = opened(root)
    assert workspace.secret() == b"the-old-folder-secret"
    assert (workspace.settings.company.name, workspace.settings.mail.smtp_host) == ("Old Folder Ltd", "smtp.oldfolder.example")
    with engine_for(workspace.database_url).connect() as connection:
        stored = dict(connection.execute(text("SELECT key, value FROM setting")).all())
    assert json.loads(stored["remind.staff"]) == ["lead@oldfolder.example"]
    # A single user notices nothing: get and set work as before, and csat.toml keeps saying the truth.
    run(cli, root, "config", "set", "mail.sender", "quality@oldfolder.example")
    assert 'sender = "quality@oldfolder.example"' in (root / "csat.toml").read_text()
    assert run(cli, root, "config", "get", "mail.sender").stdout.strip() == "quality@oldfolder.example"
    assert "正常 共享设置" in cli("--home", root, "doctor").stderr   # a zh workspace: doctor speaks Chinese


def test_a_form_signed_with_a_folders_old_secret_still_imports_there(folders, cli, tmp_path):
    """A laptop's forms sent before the key moved into the store verify in that laptop's folder only."""
    from import_fixtures import fill_form, open_round_with_invitations, round_layout, write_form

    laptop, server = folders["laptop1"], folders["server"]
    (laptop / ".csat-secret").write_text("the-laptops-own-key-from-before\n")
    (laptop / ".csat-secret").chmod(0o600)
    run(cli, server, "customer", "import", EXAMPLES / "customers.csv")
    store = open_store(Workspace.open(server))
    token = open_round_with_invitations(store, "2024H1", codes=["C-003"])["C-003"]
    layout = round_layout(store, "2024H1", "C-003", token)
    form = fill_form(write_form(tmp_path / "old-form.xlsx", layout, b"the-laptops-own-key-from-before"), layout,
                     {code: 88 for code, _ in layout.items})
    refused = cli("--home", server, "import", form, "--dry-run")
    assert refused.exit_code == 1 and "another workspace" in refused.stdout + refused.stderr
    imported = cli("--home", laptop, "import", form)
    assert imported.exit_code == 0, imported
    assert "warn secret" in cli("--home", laptop, "doctor").stderr
