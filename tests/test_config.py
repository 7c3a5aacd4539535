import json

from csat.config import Workspace


def test_get_default_and_set_keeps_comments(workspace, cli):
    assert cli("config", "get", "survey.action_limit").stdout.strip() == "85.0"
    assert cli("config", "set", "mail.smtp_host", "smtp.example.com").exit_code == 0
    assert cli("config", "set", "mail.smtp_port", "2525").exit_code == 0
    text = workspace.config_path.read_text()
    assert 'smtp_host = "smtp.example.com"' in text and "smtp_port = 2525" in text
    assert "# empty: messages are written to outbox/" in text
    assert Workspace.open(workspace.root).settings.mail.smtp_port == 2525
    assert cli("config", "get", "mail.smtp_port").stdout.strip() == "2525"


def test_set_validates_type_and_choices(workspace, cli):
    before = workspace.config_path.read_text()
    bad_port = cli("config", "set", "mail.smtp_port", "lots")
    assert bad_port.exit_code == 1 and "mail.smtp_port" in bad_port.stderr
    bad_choice = cli("config", "set", "mail.security", "tls")
    assert bad_choice.exit_code == 1 and "starttls" in bad_choice.stderr
    unknown = cli("config", "set", "mail.smtp_hots", "x")
    assert unknown.exit_code == 1 and "unknown key" in unknown.stderr
    assert workspace.config_path.read_text() == before


def test_lists_and_departments(workspace, cli):
    assert cli("config", "set", "remind.staff", '["qa@example.com", "sales@example.com"]').exit_code == 0
    assert json.loads(cli("config", "get", "remind.staff").stdout) == ["qa@example.com", "sales@example.com"]
    assert cli("config", "set", "departments.quality.en", "Quality Assurance").exit_code == 0
    settings = Workspace.open(workspace.root).settings
    assert settings.department_name("quality") == "Quality Assurance"
    assert settings.department_name("quality", "zh") == "品质部"
    assert settings.resolve_department("品质部") == "quality"


def test_password_is_never_stored(workspace, cli):
    result = cli("config", "set", "mail.password", "hunter2")
    assert result.exit_code == 1 and "password_env" in result.stderr
    assert "hunter2" not in workspace.config_path.read_text()


def test_show_never_prints_the_secret(workspace, cli):
    shown = cli("config", "show").stdout
    assert "smtp_host" in shown
    assert workspace.secret().decode() not in shown
