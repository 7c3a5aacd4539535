"""Issue #20: codes read and typed as words in either language; WeChat and DingTalk; the English company name."""

import json

import pytest
from feedback_fixtures import EXAMPLES

from csat import vocabulary
from csat.errors import CsatError
from csat.settings import Settings
from csat.workspace import create


@pytest.fixture(autouse=True)
def no_shell_language(monkeypatch):
    monkeypatch.delenv("CSAT_LANG", raising=False)


# ---- input aliases for every code ------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(vocabulary.FAMILIES))
def test_every_code_is_accepted_as_code_english_word_chinese_word_and_alias(name):
    family = vocabulary.family(name)
    for code, (english, chinese) in family.words.items():
        spellings = [code, code.upper(), english, english.upper(), chinese, f" {chinese} ", *family.aliases.get(code, ())]
        for spelling in spellings:
            assert vocabulary.parse(name, spelling) == code, (name, spelling)
        assert vocabulary.word(name, code, "en") == english and vocabulary.word(name, code, "zh") == chinese


@pytest.mark.parametrize("name", sorted(vocabulary.FAMILIES))
def test_no_word_means_two_codes_of_one_family(name):
    family = vocabulary.family(name)
    seen: dict[str, str] = {}
    for code, (english, chinese) in family.words.items():
        for spelling in (code, english, chinese, *family.aliases.get(code, ())):
            key = vocabulary._key(spelling)
            assert seen.setdefault(key, code) == code, f"{name}: {spelling!r} means {seen[key]} and {code}"


@pytest.mark.parametrize("name, text", [("channel", "QQ"), ("channel", "pigeon"), ("kind", "praise"),
                                        ("capa_status", "done"), ("result", "maybe"), ("channel", "")])
def test_an_unknown_word_is_refused_with_the_list(name, text):
    with pytest.raises(CsatError) as raised:
        vocabulary.parse(name, text)
    message = str(raised.value)
    assert "\n" not in message and all(code in message for code in vocabulary.codes(name))


def test_wechat_and_dingtalk_are_channels_and_nothing_becomes_other():
    for text in ("微信", "企业微信", "WeChat", "wechat"):
        assert vocabulary.parse("channel", text) == "wechat"
    for text in ("钉钉", "DingTalk", "dingtalk"):
        assert vocabulary.parse("channel", text) == "dingtalk"
    with pytest.raises(CsatError, match="unknown channel 'QQ'"):
        vocabulary.parse("channel", "QQ")


def test_departments_in_either_language_short_forms_and_usual_names():
    settings = Settings()
    for text in ("production", "Production", "生产部", "生产", "生产部门"):
        assert vocabulary.parse_department(settings, text) == "production"
    for text in ("quality", "品质部", "品质", "质量部", "QA"):
        assert vocabulary.parse_department(settings, text) == "quality"
    assert vocabulary.department_word(settings, "quality", "zh") == "品质部"   # as the company wrote it
    with pytest.raises(CsatError, match="unknown department 'canteen'; known: gm"):
        vocabulary.parse_department(settings, "canteen")


def test_a_name_the_company_gave_wins_over_a_usual_name():
    settings = Settings.model_validate({"departments": {"quality": {"en": "Quality", "zh": "品质部"},
                                                        "qc_lab": {"en": "QC Lab", "zh": "质量部"}}})
    assert vocabulary.parse_department(settings, "质量部") == "qc_lab"
    assert vocabulary.parse_department(settings, "品质") == "quality"


# ---- what a person sees ----------------------------------------------------------------------

@pytest.fixture
def chinese(tmp_path, monkeypatch, cli):
    root = create(tmp_path / "zh", company="华南精密制造有限公司", lang="zh").root
    monkeypatch.setenv("CSAT_HOME", str(root))
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    return root


def test_chinese_words_in_and_out(chinese, cli):
    added = cli("feedback", "add", "C-003", "--kind", "质量", "--channel", "企业微信", "--text", "外壳开裂",
                "--received", "2024-07-02 08:45", "--dept", "生产")
    assert added.exit_code == 0, added
    assert cli("feedback", "reply", "1", "--text", "已补货", "--at", "2024-07-03 10:00").exit_code == 0
    assert cli("feedback", "close", "1", "--at", "2024-07-05 10:00").exit_code == 0
    shown = cli("feedback", "show", "1")
    values = dict(line.split(None, 1) for line in shown.stdout.splitlines() if len(line.split(None, 1)) == 2)
    assert {name: values[name].strip() for name in ("类别", "渠道", "状态", "部门")} == \
        {"类别": "质量", "渠道": "微信", "状态": "已关闭", "部门": "生产部"}, shown.stdout   # a zh workspace: zh field names
    assert not any(name.endswith("_label") for name in values)
    record = json.loads(cli("feedback", "show", "1", "--format", "json").stdout)
    assert (record["kind"], record["kind_label"], record["channel"], record["channel_label"]) == \
        ("quality", "质量", "wechat", "微信")
    assert (record["status"], record["status_label"], record["dept"], record["dept_label"]) == \
        ("closed", "已关闭", "production", "生产部")
    table = cli("feedback", "list")
    assert "质量" in table.stdout and "微信" in table.stdout and "wechat" not in table.stdout
    rows = cli("feedback", "list", "--format", "csv").stdout.splitlines()
    assert rows[0].lstrip("\ufeff").startswith("id,received,customer,kind,kind_label,complaint,channel,channel_label,"
                                                "status,status_label")
    assert ",quality,质量,true,wechat,微信,closed,已关闭," in rows[1]
    assert len(json.loads(cli("feedback", "list", "--kind", "品质投诉", "--format", "json").stdout)) == 1


def test_capa_words_and_statuses_typed_in_chinese(chinese, cli):
    assert cli("feedback", "add", "C-003", "--kind", "服务", "--channel", "钉钉", "--text", "安装延误",
               "--received", "2024-07-02 08:45").exit_code == 0
    opened = cli("capa", "open", "--from-feedback", "1", "--dept", "工程")
    assert opened.exit_code == 0, opened
    number = opened.stdout.strip()
    assert cli("capa", "update", number, "--cause", "未核对工具清单", "--action", "出发前签核清单").exit_code == 0
    assert [capa["number"] for capa in json.loads(cli("capa", "list", "--status", "进行中", "--format", "json").stdout)] \
        == [number]
    verified = cli("capa", "verify", number, "--by", "周丽", "--result", "有效")
    assert verified.exit_code == 0, verified
    record = json.loads(cli("capa", "show", number, "--format", "json").stdout)
    assert (record["status"], record["status_label"], record["dept_label"]) == ("verified", "已验证", "工程部")
    assert record["verifications"][0]["result_label"] == "有效"
    assert "已验证" in cli("capa", "list").stdout and "工程部" in cli("capa", "show", number).stdout
    refused = cli("capa", "list", "--status", "差不多")
    assert refused.exit_code == 2 and "in_progress (进行中)" in refused.stderr


def test_an_unknown_channel_is_refused_not_filed_as_other(chinese, cli):
    refused = cli("feedback", "add", "C-003", "--kind", "质量", "--channel", "QQ", "--text", "外壳开裂")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("错误： 未知的渠道 'QQ'；可用：phone (电话)")   # in the workspace's language
    assert "wechat (微信)" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert json.loads(cli("feedback", "list", "--format", "json").stdout) == []


def test_a_log_with_wechat_rows_keeps_the_channel(chinese, cli, tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("日期,客户代码,类型,方式,内容\n2024-09-25 08:00,C-008,其他,微信,询问国庆放假安排\n"
                   "2024-09-26 08:00,C-008,其他,钉钉,确认收货\n", encoding="utf-8-sig")
    assert cli("feedback", "import", log).exit_code == 0
    entries = json.loads(cli("feedback", "list", "--format", "json").stdout)
    assert [entry["channel"] for entry in entries] == ["wechat", "dingtalk"]
    bad = tmp_path / "bad.csv"
    bad.write_text("日期,客户代码,类型,方式,内容\n2024-09-27 08:00,C-008,其他,飞鸽传书,?\n", encoding="utf-8-sig")
    refused = cli("feedback", "import", bad)
    assert refused.exit_code == 1 and "未知的渠道 '飞鸽传书'" in refused.stderr


def test_an_entry_once_filed_as_other_is_found_again_and_corrected(workspace, store, tmp_path):
    """Before WeChat was a channel, 微信 was stored as `other`: importing the log again corrects it, no duplicate."""
    from sqlmodel import select

    from csat.feedback import log as feedback
    from csat.feedback.intake import import_file
    from csat.registry import customers
    from csat.store.models import Feedback
    from datetime import datetime

    with store.session() as session:
        customers.add(session, code="C-008", name="Kunming", email="k@example.com")
        when = datetime(2024, 9, 25, 8, 0)
        feedback.add(session, workspace.settings, "C-008", "other", "other", "询问国庆放假安排", received=when,
                     source_key=feedback.content_key("C-008", when, "other", "other"))
    log = tmp_path / "log.csv"
    log.write_text("日期,客户代码,类型,方式,内容\n2024-09-25 08:00,C-008,其他,微信,询问国庆放假安排\n", encoding="utf-8-sig")
    with store.session() as session:
        result = import_file(session, workspace.settings, log)
    assert (result.added, result.updated) == ([], [1])
    with store.read_session() as session:
        entries = list(session.exec(select(Feedback)).all())
    assert [(entry.id, entry.channel) for entry in entries] == [(1, "wechat")]


# ---- the company's English name --------------------------------------------------------------

def test_english_customers_read_the_english_company_name(tmp_path, monkeypatch, cli):
    import email
    from email import policy

    root = create(tmp_path / "zh", company="华南精密制造有限公司", lang="zh").root
    monkeypatch.setenv("CSAT_HOME", str(root))
    assert cli("config", "set", "company.name_en", "South China Precision Manufacturing Co., Ltd.").exit_code == 0
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    sent = cli("survey", "send", "--half", "2024H1", "--customer", "C-001", "--customer", "C-003")
    assert sent.exit_code == 0, sent
    letters = {}
    for path in sorted((root / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        letters[path.name.split("-")[1] + "-" + path.name.split("-")[2]] = message
    english, chinese = letters["C-001"], letters["C-003"]
    body = english.get_body(("plain",)).get_content()
    assert "Every half year South China Precision Manufacturing Co., Ltd. asks" in body and "华南" not in body
    assert "South China Precision Manufacturing" in str(english["From"])
    assert "华南精密制造有限公司" in chinese.get_body(("plain",)).get_content()
    assert "华南精密制造有限公司" in str(chinese["From"])


def test_a_word_for_several_kinds_asks_which():
    for text in ("投诉", "complaint"):
        with pytest.raises(CsatError) as raised:
            vocabulary.parse("kind", text)
        assert str(raised.value) == (f"kind {text!r} may be quality (质量), conduct (业务行为), service (服务); say which")


def test_csat_lang_shows_the_words_of_one_shell_in_its_language(workspace, cli, monkeypatch):
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert cli("feedback", "add", "C-001", "--kind", "quality", "--channel", "wechat", "--text", "Leak",
               "--received", "2024-07-02 08:45").exit_code == 0
    english = json.loads(cli("feedback", "show", "1", "--format", "json").stdout)
    assert (english["kind_label"], english["channel_label"], english["status_label"]) == ("Product quality", "WeChat", "Open")
    monkeypatch.setenv("CSAT_LANG", "zh_CN.UTF-8")
    chinese = json.loads(cli("feedback", "show", "1", "--format", "json").stdout)
    assert (chinese["kind"], chinese["kind_label"], chinese["channel_label"]) == ("quality", "质量", "微信")
