"""Staff read mail, store and settings problems in the workspace's language.

Doctor's check lines, SMTP failures, address problems, csat.toml validation errors
and lock waits come from the catalog: a zh workspace reads them in Chinese (codes,
hosts and paths as they are), an en workspace keeps the English wording.
"""

from __future__ import annotations

import pytest
from prose import english_lines
from smtp_fixtures import closed_port, use_smtp

from csat.i18n import use_language
from csat.store.locking import Holder


@pytest.fixture
def chinese(workspace, cli, monkeypatch):
    monkeypatch.delenv("CSAT_LANG", raising=False)
    assert cli("config", "set", "company.lang", "zh").exit_code == 0
    return workspace


def test_doctor_speaks_chinese_and_names_the_failed_check_by_its_word(chinese, cli):
    use_smtp(chinese, closed_port())
    result = cli("doctor")
    assert result.exit_code == 1
    assert "失败 邮件" in result.stderr and "连接被拒绝" in result.stderr
    assert "正常 数据库" in result.stderr   # SQLite: at the current schema; PostgreSQL: the server's version
    assert result.stderr.strip().splitlines()[-1] == "错误： 1 项检查未通过：邮件"
    checked = [line for line in result.stderr.splitlines() if "PostgreSQL" not in line]   # the server names itself
    assert english_lines("\n".join(checked), ["Test Precision Co.", "SELECT 1", "postgres public"]) == []   # SQL, role, schema


def test_settings_errors_speak_the_workspace_language(workspace, cli, monkeypatch):
    monkeypatch.delenv("CSAT_LANG", raising=False)
    refused = cli("config", "set", "mail.smtp_port", "abc")
    assert refused.exit_code == 1 and "mail.smtp_port: expected a whole number" in refused.stderr
    assert cli("config", "set", "company.lang", "zh").exit_code == 0
    refused = cli("config", "set", "mail.smtp_port", "abc")
    assert refused.exit_code == 1 and "mail.smtp_port：应为整数" in refused.stderr.replace(": ", "：")
    refused = cli("config", "set", "survey.due_days", "0")
    assert refused.exit_code == 1 and "不得小于 1" in refused.stderr


def test_address_problems_speak_chinese(chinese, cli):
    refused = cli("customer", "add", "C-900", "--name", "华东泵业", "--email", "li wei@example.cn")
    assert refused.exit_code == 1 and "含有空格" in refused.stderr, refused
    assert english_lines(refused.stderr, ["li wei@example.cn", "C-900"]) == []


def test_a_lock_holder_is_described_in_the_language_in_force():
    holder = Holder(host="qa-pc", pid=4242, user="liwei", command="survey send")
    assert holder.describe() == "`csat survey send` (pid 4242 on qa-pc, user liwei)"
    with use_language("zh"):
        assert holder.describe() == "`csat survey send`（进程号 4242 在 qa-pc 上，用户 liwei）"
