"""The staff digest e-mail speaks the workspace's language from subject to item lines.

A zh workspace gets a Chinese subject, introduction and item lines (complaints, CAPAs,
rounds, summaries), with codes and numbers as they are; an en workspace gets English
with no Chinese besides the names the company wrote. CSAT_LANG changes it for one shell.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from prose import chinese_lines, english_lines
from smtp_fixtures import running_smtp, use_smtp

from csat.capa import records as capas
from csat.config import Workspace
from csat.workspace import config_set
from csat.feedback import log as feedback
from csat.registry import customers
from tests.conftest import EXAMPLES

TODAY = date.today()


def _digest(workspace, store, cli, lang: str):
    config_set(workspace, "company.lang", lang)
    assert workspace.settings.company.lang == lang      # config_set changed the store and this view of it
    with store.session() as session:
        customers.import_file(session, EXAMPLES / "customers.csv")
        entry = feedback.add(session, workspace.settings, "C-001", "quality", "phone", "Cracked housing",
                             received=datetime.now() - timedelta(days=1))
        capa, _created = capas.open_for_feedback(session, workspace.settings, entry.id)
        capa.dept = "quality"
    later = TODAY + timedelta(days=120)   # past the reply time, the CAPA's due date and a quarter's end
    with running_smtp() as server:
        use_smtp(workspace, server.port)
        config_set(workspace, "remind.staff", '["qa@example.com"]')
        result = cli("remind", "--today", later.isoformat())
        assert result.exit_code == 0, result
        assert len(server.received) == 1
        message = server.received[0].message
    body = message.get_body(("plain",)).get_content()
    return str(message["Subject"]), body


def test_the_digest_of_a_chinese_workspace_is_chinese(workspace, store, cli, monkeypatch):
    monkeypatch.delenv("CSAT_LANG", raising=False)
    subject, body = _digest(workspace, store, cli, "zh")
    assert re.fullmatch(r"csat：\d{4}-\d\d-\d\d 待办事项 \d+ 项", subject), subject
    assert "Test Precision Co. 顾客满意度程序在" in body
    assert "C-001 的投诉 #1" in body and "个工作日仍未答复" in body
    assert "已于 " in body and "当前状态为" in body and "（品质部）" in body   # the CAPA line, its department in Chinese
    assert "当前状态为 未开始" in body   # its status as a word, not the code `open`
    data = ["Test Precision Co.", "Cracked housing", "qa@example.com"]
    assert english_lines(subject + "\n" + body, data) == []


def test_the_digest_of_an_english_workspace_is_english(workspace, store, cli, monkeypatch):
    monkeypatch.delenv("CSAT_LANG", raising=False)
    subject, body = _digest(workspace, store, cli, "en")
    assert re.fullmatch(r"csat: \d+ item\(s\) due on \d{4}-\d\d-\d\d", subject), subject
    assert "The customer satisfaction procedure of Test Precision Co. has these items due on" in body
    assert "complaint #1 from C-001" in body and "has no reply after" in body and "(Quality)" in body
    assert "and is open" in body   # the CAPA status, as a word in lower case
    assert chinese_lines(subject + "\n" + body, []) == []


@pytest.mark.parametrize("shell", ["en"])
def test_csat_lang_overrides_the_workspace_for_one_shell(workspace, store, cli, monkeypatch, shell):
    monkeypatch.setenv("CSAT_LANG", shell)
    subject, body = _digest(workspace, store, cli, "zh")
    assert "item(s) due on" in subject and "complaint #1 from C-001" in body
