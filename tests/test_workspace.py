import json

import pytest

from csat.config import Workspace, find_workspace
from csat.errors import WorkspaceNotFound
from csat.store.engine import engine_for, open_store, schema_revision
from csat.store.migrations import HEAD
from tests.privileges import as_user, who


def test_init_creates_config_store_and_private_secret(tmp_path, cli):
    result = cli("init", tmp_path / "ws", "--lang", "zh", "--company", "华南精密")
    assert result.exit_code == 0, result
    root = tmp_path / "ws"
    assert (root / "csat.toml").is_file()
    store_url = Workspace.open(root).database_url  # csat.db in the folder, or CSAT_DATABASE_URL
    assert (root / "csat.db").is_file() == store_url.startswith("sqlite")
    assert schema_revision(engine_for(store_url)) == HEAD
    # The signing secret and the company settings live in the store, shared by every machine on it.
    assert not (root / ".csat-secret").exists()
    opened = Workspace.open(root)
    open_store(opened)
    secret = opened.secret().decode()
    assert len(secret) >= 32 and secret not in (root / "csat.toml").read_text()
    assert opened.settings.company.name == "华南精密" and opened.settings.company.lang == "zh"
    assert "华南精密" not in (root / "csat.toml").read_text()
    assert cli("config", "get", "company.name", "--home", root).stdout.strip() == "华南精密"


def test_init_refuses_existing_workspace(tmp_path, cli):
    assert cli("init", tmp_path).exit_code == 0
    again = cli("init", tmp_path)
    assert again.exit_code == 1 and "already a csat workspace" in again.stderr


def test_init_makes_the_workspace_home_names(tmp_path, cli, monkeypatch):
    """`csat --home DIR init` makes DIR a workspace, as every other command reads --home; so does CSAT_HOME."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    made = cli("--home", tmp_path / "by-option", "init")
    assert made.exit_code == 0, made
    assert (tmp_path / "by-option" / "csat.toml").is_file() and not (here / "csat.toml").exists()
    assert cli("--home", tmp_path / "by-option", "items", "list").exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "by-env"))
    assert cli("init").exit_code == 0
    assert (tmp_path / "by-env" / "csat.toml").is_file() and not (here / "csat.toml").exists()
    both = cli("--home", tmp_path / "one", "init", tmp_path / "other")
    assert both.exit_code == 1 and "name two different workspaces" in both.stderr
    assert not (tmp_path / "one").exists() and not (tmp_path / "other").exists()
    assert cli("--home", tmp_path / "same", "init", tmp_path / "same").exit_code == 0
    monkeypatch.delenv("CSAT_HOME")
    assert cli("init").exit_code == 0 and (here / "csat.toml").is_file()     # nothing named: this folder


def test_discovery_walks_up_from_subfolder(tmp_path, cli, monkeypatch):
    cli("init", tmp_path / "ws")
    nested = tmp_path / "ws" / "a" / "b"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    assert find_workspace() == (tmp_path / "ws").resolve()
    assert cli("customer", "list", "--format", "json").stdout.strip() == "[]"


def test_home_option_and_env(tmp_path, cli, monkeypatch):
    cli("init", tmp_path / "ws")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert cli("--home", tmp_path / "ws", "customer", "add", "C-1", "--name", "One").exit_code == 0
    assert cli("customer", "show", "C-1", "--home", tmp_path / "ws").exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "ws"))
    assert json.loads(cli("customer", "list", "--format", "json").stdout)[0]["code"] == "C-1"


def test_outside_workspace_is_one_line_suggesting_init(tmp_path, cli):
    result = cli("customer", "list")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "csat init" in result.stderr


def test_database_url_env_overrides_config(tmp_path, monkeypatch, cli):
    cli("init", tmp_path / "ws")
    other = tmp_path / "other.db"
    monkeypatch.setenv("CSAT_DATABASE_URL", f"sqlite:///{other}")
    assert Workspace.open(tmp_path / "ws").database_url == f"sqlite:///{other}"
    result = cli("--home", tmp_path / "ws", "customer", "list")
    assert result.exit_code == 1 and "csat db upgrade" in result.stderr
    assert cli("--home", tmp_path / "ws", "db", "upgrade").exit_code == 0
    assert cli("--home", tmp_path / "ws", "customer", "list").exit_code == 0


def test_read_only_folder_is_refused_cleanly(tmp_path):
    # As root (CI) the command runs without the capabilities that bypass permission bits (tests/privileges.py).
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    result = as_user("init", locked / "ws", cwd=tmp_path)
    assert result.returncode == 1, (who(), result)
    assert result.stderr.startswith("Error: cannot write to"), result.stderr
    assert result.stderr.count("\n") == 1 and not (locked / "ws").exists()


def test_malformed_toml_is_one_line(workspace, cli):
    workspace.config_path.write_text("[mail\nsmtp_host = 'x'\n")
    result = cli("customer", "list")
    assert result.exit_code == 1 and "malformed TOML" in result.stderr and "Traceback" not in result.stderr


def test_wrong_type_in_toml_names_the_key(workspace, cli):
    text = workspace.config_path.read_text().replace("timeout = 30", 'timeout = "many"')
    workspace.config_path.write_text(text)
    result = cli("customer", "list")
    assert result.exit_code == 1 and "mail.timeout" in result.stderr


def test_missing_workspace_for_home_is_named(tmp_path):
    with pytest.raises(WorkspaceNotFound, match="csat init"):
        find_workspace(tmp_path / "nowhere")
