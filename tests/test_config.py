import json

from csat.config import Workspace
from csat.store.engine import open_store


def effective(root) -> Workspace:
    """The workspace as a command sees it: csat.toml with the store's shared settings laid over."""
    opened = Workspace.open(root)
    open_store(opened)
    return opened


def test_get_default_and_set_keeps_comments(workspace, cli):
    assert cli("config", "get", "survey.action_limit").stdout.strip() == "85.0"
    assert cli("config", "set", "mail.smtp_host", "smtp.example.com").exit_code == 0
    assert cli("config", "set", "mail.smtp_port", "2525").exit_code == 0
    assert cli("config", "set", "mail.timeout", "12").exit_code == 0
    text = workspace.config_path.read_text()
    # Company settings go to the store; this machine's keys to csat.toml, its comments kept.
    assert "smtp_host" not in text and "timeout = 12" in text
    assert "# seconds to wait for the mail server from this machine" in text
    assert effective(workspace.root).settings.mail.smtp_port == 2525
    assert cli("config", "get", "mail.smtp_port").stdout.strip() == "2525"
    assert cli("config", "get", "mail.timeout").stdout.strip() == "12.0"


def test_set_validates_type_and_choices(workspace, cli):
    before = workspace.config_path.read_text()
    bad_port = cli("config", "set", "mail.smtp_port", "lots")
    assert bad_port.exit_code == 1 and "mail.smtp_port" in bad_port.stderr
    bad_choice = cli("config", "set", "mail.security", "tls")
    assert bad_choice.exit_code == 1 and "starttls" in bad_choice.stderr
    unknown = cli("config", "set", "mail.smtp_hots", "x")
    assert unknown.exit_code == 1 and "unknown setting 'mail.smtp_hots'; did you mean mail.smtp_host?" in unknown.stderr
    negative = cli("config", "set", "survey.due_days", "-1")     # a value, not an option: checked as one
    assert negative.exit_code == 1 and "survey.due_days: must be at least 1" in negative.stderr
    assert workspace.config_path.read_text() == before
    assert cli("config", "get", "survey.due_days").stdout.strip() == "30"
    misspelt = cli("config", "set", "survey.action_limit", "88", "--reasn", "review")
    assert misspelt.exit_code == 2 and "--reasn" in misspelt.stderr
    assert cli("config", "get", "survey.action_limit").stdout.strip() == "85.0"


def test_lists_and_departments(workspace, cli):
    assert cli("config", "set", "remind.staff", '["qa@example.com", "sales@example.com"]').exit_code == 0
    assert json.loads(cli("config", "get", "remind.staff").stdout) == ["qa@example.com", "sales@example.com"]
    assert cli("config", "set", "departments.quality.en", "Quality Assurance").exit_code == 0
    settings = effective(workspace.root).settings
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
    assert effective(workspace.root).secret().decode() not in shown


def test_list_keys_take_comma_separated_entries(workspace, cli):
    """Issue #16.3: `config set remind.staff a@b.example` failed with "Input should be a valid list"."""
    one = cli("config", "set", "remind.staff", "a@b.example")
    assert one.exit_code == 0, one
    assert json.loads(cli("config", "get", "remind.staff").stdout) == ["a@b.example"]
    two = cli("config", "set", "remind.staff", "qa@example.com, sales@example.com")
    assert two.exit_code == 0, two
    assert effective(workspace.root).settings.remind.staff == ["qa@example.com", "sales@example.com"]
    holidays = cli("config", "set", "feedback.holidays", "2024-10-01, 2024-10-02")
    assert holidays.exit_code == 0, holidays
    assert json.loads(cli("config", "get", "feedback.holidays").stdout) == ["2024-10-01", "2024-10-02"]
    bad = cli("config", "set", "feedback.holidays", "2024-10-01, 1 Oct")
    assert bad.exit_code == 1 and "'1 Oct' is not a date" in bad.stderr
    assert effective(workspace.root).settings.feedback.holidays == ["2024-10-01", "2024-10-02"]


def test_add_and_remove_one_list_entry(workspace, cli):
    assert cli("config", "set", "remind.staff", "qa@example.com").exit_code == 0
    added = cli("config", "set", "remind.staff", "--add", "li.wei@example.com")
    assert added.exit_code == 0, added
    assert 'remind.staff = ["qa@example.com", "li.wei@example.com"]' in added.stderr
    again = cli("config", "set", "remind.staff", "--add", "li.wei@example.com")
    assert again.exit_code == 0
    assert effective(workspace.root).settings.remind.staff == ["qa@example.com", "li.wei@example.com"]
    removed = cli("config", "set", "remind.staff", "--remove", "qa@example.com")
    assert removed.exit_code == 0, removed
    assert json.loads(cli("config", "get", "remind.staff").stdout) == ["li.wei@example.com"]
    before = workspace.config_path.read_text()
    absent = cli("config", "set", "remind.staff", "--remove", "nobody@example.com")
    assert absent.exit_code == 1 and "does not hold 'nobody@example.com'" in absent.stderr
    not_a_list = cli("config", "set", "mail.sender", "--add", "x@example.com")
    assert not_a_list.exit_code == 1 and "mail.sender is not a list" in not_a_list.stderr
    both = cli("config", "set", "remind.staff", "a@example.com", "--add", "b@example.com")
    assert both.exit_code == 2
    assert workspace.config_path.read_text() == before


def test_unknown_key_suggests_the_closest(workspace, cli):
    before = workspace.config_path.read_text()
    typo = cli("config", "set", "remind.staf", "a@b.example")
    assert typo.exit_code == 1
    assert "unknown setting 'remind.staf'; did you mean remind.staff?" in typo.stderr
    wrong_section = cli("config", "set", "survey.staff", "a@b.example")
    assert wrong_section.exit_code == 1 and "did you mean remind.staff?" in wrong_section.stderr
    no_section = cli("config", "get", "mail")
    assert no_section.exit_code == 1 and "unknown setting 'mail'" in no_section.stderr
    got = cli("config", "get", "survey.action_limt")
    assert got.exit_code == 1 and "did you mean survey.action_limit?" in got.stderr
    nothing_like = cli("config", "set", "zzz.qqq", "1")
    assert nothing_like.exit_code == 1 and "see `csat config show`" in nothing_like.stderr
    assert workspace.config_path.read_text() == before
