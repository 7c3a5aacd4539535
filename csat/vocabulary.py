"""The words for csat's codes, both ways: code -> word in a language, and word -> code.

Records keep stable English codes (`quality`, `phone`, `closed`): they are the
contract of JSON, CSV and the store. People read and type words: a table shows
质量 or 已关闭 in a Chinese workspace, and `--kind 质量`, `--kind quality` and
`--kind 品质投诉` all mean `quality`. Every code family lives here once, with its
English and Chinese word and the other spellings accepted on input, so output,
input and the message catalog (which holds sentences, not these words) agree.

An unknown word is refused with the list of codes, never mapped to a near one
or to `other`: a complaint filed under the wrong channel or kind is silent
wrong data. Departments are the company's own (csat.toml `[departments]`), so
their words come from the settings: the names as the company wrote them, then
common short forms (生产 for 生产部) and, for the default codes, the usual
other names (质量部 for 品质部), as long as they point at one department only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from csat.errors import CsatError
from csat.i18n import N_, _

LANGS = ("en", "zh")


class UnknownWord(CsatError, ValueError):
    """A word that names no code of its family; the message lists the codes."""


@dataclass(frozen=True)
class Family:
    name: str                                   # as said in messages (catalog id): "kind", "channel", "status"
    words: dict[str, tuple[str, str]]           # code -> (English, Chinese), in display order
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.words)


FAMILIES: dict[str, Family] = {
    # Feedback kinds (ISO 10002 intake); quality, conduct and service are complaints.
    "kind": Family(N_("kind"), {
        "quality": ("Product quality", "质量"),
        "requirement": ("Requirement", "要求"),
        "contract": ("Contract", "合同"),
        "market": ("Market", "市场"),
        "conduct": ("Sales conduct", "业务行为"),
        "service": ("Service", "服务"),
        "other": ("Other", "其他"),
    }, {
        "quality": ("product quality", "performance", "quality complaint", "product quality or performance",
                    "产品质量", "质量投诉", "品质", "品质投诉", "性能", "产品质量或性能", "投诉/质量"),
        "requirement": ("requirements", "wish", "wishes", "requirements and wishes",
                        "需求", "期望", "要求和期望", "需求与期望"),
        "contract": ("contract details", "合同细节", "合同条款"),
        "market": ("market change", "market changes", "price", "lead time", "market changes (price, lead time)",
                   "市场变化", "价格", "交期", "市场变化（价格、交期）"),
        "conduct": ("sales conduct", "sales staff conduct", "conduct complaint",
                    "业务员行为", "业务人员行为", "销售人员行为", "行为投诉", "投诉/业务行为"),
        "service": ("installation", "service quality", "installation or service quality", "service complaint",
                    "服务质量", "安装", "安装服务", "售后", "售后服务", "安装或服务质量", "服务投诉", "投诉/服务"),
        "other": ("其它",),
    }),
    "channel": Family(N_("channel"), {
        "phone": ("Phone", "电话"),
        "fax": ("Fax", "传真"),
        "email": ("E-mail", "邮件"),
        "meeting": ("Meeting", "会议"),
        "visit": ("Visit", "拜访"),
        "wechat": ("WeChat", "微信"),
        "dingtalk": ("DingTalk", "钉钉"),
        "other": ("Other", "其他"),
    }, {
        "phone": ("telephone", "tel", "call", "phone call", "来电", "电话沟通"),
        "fax": (),
        "email": ("mail", "e-mail", "电子邮件", "邮箱", "电邮"),
        "meeting": ("会谈", "面谈"),
        "visit": ("customer visit", "来访", "走访", "客户来访"),
        "wechat": ("weixin", "wecom", "wechat work", "企业微信", "微信群", "weixin work"),
        "dingtalk": ("ding talk", "dingding", "钉钉群"),
        "other": ("其它",),
    }),
    # Feedback entries: open -> replied -> closed.
    "feedback_status": Family(N_("status"), {
        "open": ("Open", "未回复"),
        "replied": ("Replied", "已回复"),
        "closed": ("Closed", "已关闭"),
    }, {
        "open": ("new", "pending", "未结", "处理中", "待回复", "待处理", "未结案"),
        "replied": ("answered", "已答复"),
        "closed": ("resolved", "done", "结案", "已结案", "关闭", "已解决", "完成"),
    }),
    "capa_status": Family(N_("status"), {
        "open": ("Open", "未开始"),
        "in_progress": ("In progress", "进行中"),
        "verified": ("Verified", "已验证"),
        "verified_not_effective": ("Verified, not effective", "验证无效"),
        "closed": ("Closed", "已关闭"),
        "cancelled": ("Cancelled", "已取消"),
    }, {
        "open": ("new", "开启", "未处理"),
        "in_progress": ("in-progress", "in progress", "started", "处理中", "整改中"),
        "verified": ("已确认有效", "验证有效"),
        "verified_not_effective": ("verified-not-effective", "not effective", "not-effective", "not_effective",
                                   "无效", "验证不通过", "未通过验证"),
        "closed": ("关闭", "结案", "已结案"),
        "cancelled": ("canceled", "取消", "作废"),
    }),
    "round_status": Family(N_("status"), {
        "open": ("Open", "进行中"),
        "closed": ("Closed", "已关闭"),
    }, {"open": ("开放", "未关闭"), "closed": ("关闭", "已结束", "结束")}),
    "invitation_status": Family(N_("status"), {
        "pending": ("Not sent", "未发送"),
        "sent": ("Sent", "已发送"),
        "failed": ("Failed", "发送失败"),
    }, {"pending": ("待发送", "pending"), "sent": ("发送",), "failed": ("失败",)}),
    # Where a stored response came from.
    "source": Family(N_("source"), {
        "form": ("Form", "调查表"),
        "sheet": ("Sheet", "汇总表"),
        "manual": ("Typed in", "手工录入"),
    }, {"form": ("表单", "问卷"), "sheet": ("spreadsheet", "汇总", "表格"), "manual": ("手工", "手动", "录入")}),
    # What an archived imported file fed (csat.store.sources).
    "source_kind": Family(N_("imported into"), {
        "responses": ("Survey responses", "调查答复"),
        "feedback": ("Feedback log", "客户反馈记录"),
        "customers": ("Customer list", "客户名单"),
    }, {"responses": ("survey", "调查"), "feedback": ("反馈",), "customers": ("客户",)}),
    # Where a CAPA came from.
    "capa_source": Family(N_("source"), {
        "item": ("Survey item", "调查项目"),
        "feedback": ("Feedback", "客户反馈"),
        "other": ("Other", "其他"),
    }, {"item": ("survey", "调查", "满意度调查"), "feedback": ("complaint", "反馈", "投诉"), "other": ("其它",)}),
    # The records retention works on (csat records check / purge).
    "record_kind": Family(N_("record"), {
        "round": ("Survey round", "调查轮次"),
        "feedback": ("Feedback", "客户反馈"),
        "capa": ("CAPA", "CAPA"),
    }),
    # The evidence pack's coverage: how a customer was asked in a half, and why no answer is on file.
    "invited_how": Family(N_("invited"), {
        "email": ("E-mail", "邮件"),
        "outbox": ("Outbox (sent by hand)", "发件箱（手工发送）"),
        "manual": ("Outside csat", "线下"),
        "none": ("Not invited", "未邀请"),
    }),
    "why_not": Family(N_("why not"), {
        "no_round": ("No survey round", "本半年无调查"),
        "inactive": ("Inactive customer", "客户已停用"),
        "no_email": ("No e-mail address", "无邮箱地址"),
        "not_invited": ("Not invited", "未邀请"),
        "no_answer": ("No answer", "未回复"),
    }),
    # A complaint's reply against its deadline.
    "deadline": Family(N_("deadline"), {
        "met": ("Met", "按时"),
        "late": ("Late", "超时回复"),
        "overdue": ("Overdue, no reply", "超期未回复"),
        "pending": ("Not due yet", "未到期"),
        "void": ("Void", "已作废"),
    }),
    # Effectiveness checks of a CAPA.
    "result": Family(N_("result"), {
        "effective": ("Effective", "有效"),
        "not-effective": ("Not effective", "无效"),
    }, {"effective": ("ok", "passed", "有效果", "验证有效"),
        "not-effective": ("not_effective", "not effective", "ineffective", "failed", "无效果", "验证无效", "未生效")}),
    # How serious a gap of the procedure is (csat check: major gaps make it exit 3).
    "gap_severity": Family(N_("severity"), {
        "major": ("Major", "严重"),
        "minor": ("Minor", "一般"),
    }, {"major": ("主要",), "minor": ("次要",)}),
}

# Words that name several codes: refused, with the codes they could mean (never a guess).
AMBIGUOUS = {
    "kind": {"投诉": ("quality", "conduct", "service"), "complaint": ("quality", "conduct", "service"),
             "客诉": ("quality", "conduct", "service"), "客户投诉": ("quality", "conduct", "service")},
}

# Longer descriptions where a form or report explains a kind (the feedback log's own words).
KIND_DESCRIPTIONS = {
    "quality": ("Product quality or performance", "产品质量或性能"),
    "requirement": ("Requirements and wishes", "要求和期望"),
    "contract": ("Contract details", "合同细节"),
    "market": ("Market changes (price, lead time)", "市场变化（价格、交期）"),
    "conduct": ("Sales staff conduct", "业务人员行为"),
    "service": ("Installation or service quality", "安装或服务质量"),
    "other": ("Other", "其他"),
}


def _key(text: str) -> str:
    """How typed words are compared: case, width, spaces, `_`/`-` and a trailing 。 do not matter."""
    import unicodedata

    folded = unicodedata.normalize("NFKC", str(text)).casefold().strip().rstrip("。.")
    return re.sub(r"[\s_\-]+", " ", folded).strip()


def _table(family: Family) -> dict[str, str]:
    table: dict[str, str] = {}
    for code, (english, chinese) in family.words.items():
        for spelling in (code, english, chinese, *family.aliases.get(code, ())):
            table.setdefault(_key(spelling), code)
    return table


_TABLES = {name: _table(family) for name, family in FAMILIES.items()}


def family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"no code family {name!r}; known: {', '.join(FAMILIES)}") from None


def codes(name: str) -> tuple[str, ...]:
    return family(name).codes


def lang_of(lang: str | None) -> str:
    return "zh" if lang == "zh" else "en"


def staff_lang(settings) -> str:
    """The language staff read: CSAT_LANG for one shell, else the workspace's company.lang."""
    chosen = os.environ.get("CSAT_LANG", "").strip().lower()
    if chosen[:2] in LANGS:
        return chosen[:2]
    return lang_of(getattr(getattr(settings, "company", None), "lang", "en"))


def word(name: str, code: str | None, lang: str | None = "en") -> str:
    """The word for a code in a language (a code no family knows is shown as it is; None is '')."""
    if code is None or code == "":
        return ""
    english, chinese = family(name).words.get(code, (code, code))
    return chinese if lang_of(lang) == "zh" else english


def in_sentence(name: str, code: str | None) -> str:
    """The word for a code in the language messages are written in now, as it reads inside a sentence."""
    from csat.i18n import language

    shown = word(name, code, language())
    return shown[:1].lower() + shown[1:] if lang_of(language()) == "en" else shown


def choices(name: str) -> str:
    """The list an error or a help text offers: `phone (电话), fax (传真), ...`."""
    return ", ".join(f"{code} ({chinese})" for code, (_, chinese) in family(name).words.items())


def parse(name: str, text: str) -> str:
    """The code a person meant, from the code, the word in either language or a known alias."""
    family(name)
    code = _TABLES[name].get(_key(text)) if text is not None and str(text).strip() else None
    if code is None:
        what = _(family(name).name)
        meant = AMBIGUOUS.get(name, {}).get(_key(text or ""))
        if meant:
            options = ", ".join(f"{option} ({word(name, option, 'zh')})" for option in meant)
            raise UnknownWord(_("{what} {text!r} may be {options}; say which", what=what, text=str(text).strip(),
                                options=options))
        raise UnknownWord(_("unknown {what} {text!r}; valid: {choices}", what=what, text=str(text or "").strip(),
                            choices=choices(name)))
    return code


def describe(code: str, lang: str | None = "en") -> str:
    """The longer description of a feedback kind (forms, the CAPA form)."""
    english, chinese = KIND_DESCRIPTIONS.get(code, (code, code))
    return chinese if lang_of(lang) == "zh" else english


# ---- departments: the company's own words ----------------------------------------------------

# Other names of the default departments, used only when the department is configured and no
# other department has that name.
DEPARTMENT_ALIASES = {
    "gm": ("gm office", "general manager", "总经办", "总经理", "总经理室", "总裁办"),
    "finance": ("accounting", "财务", "财会部", "会计部"),
    "sales": ("sales department", "销售部", "销售", "业务", "营销部", "市场部"),
    "purchasing": ("procurement", "采购", "采购部门"),
    "materials": ("pmc", "materials", "material control", "物控", "物料部", "计划部", "生管部"),
    "hr": ("personnel", "human resources", "人力资源", "人事部", "人事", "人资部"),
    "general_affairs": ("admin", "administration", "总务", "行政部", "行政"),
    "production": ("manufacturing", "生产", "制造部", "生产车间"),
    "quality": ("qa", "qc", "quality assurance", "quality department", "质量部", "质量", "品质", "品管部",
                "质检部", "质量管理部"),
    "engineering": ("engineering", "process engineering", "工程", "技术部", "工艺部", "技术"),
}
_DEPT_SUFFIXES = ("部门", "部", "办公室", "科", "处", "室")
_DEPT_SUFFIXES_EN = (" department", " dept.", " dept", " office")


def _department_spellings(code: str, department) -> list[str]:
    names = [code, department.en, department.zh]
    derived = []
    for name in (department.zh, department.en):
        stem = name
        for suffix in _DEPT_SUFFIXES + _DEPT_SUFFIXES_EN:
            if name.casefold().endswith(suffix) and len(name) > len(suffix):
                stem = name[: len(name) - len(suffix)]
                break
        if stem and stem != name:
            derived.append(stem)
        if stem and any("\u4e00" <= character <= "\u9fff" for character in stem):
            derived += [stem + "部", stem + "部门"]
    return [name for name in names if name] + derived


def department_table(settings) -> dict[str, str]:
    """Every accepted spelling of the configured departments -> code; a spelling two departments share is left out."""
    departments = settings.departments
    exact: dict[str, str] = {}
    for code, department in departments.items():
        for name in (code, department.en, department.zh):
            if name:
                exact.setdefault(_key(name), code)
    loose: dict[str, set[str]] = {}
    for code, department in departments.items():
        for name in _department_spellings(code, department)[3:] + list(DEPARTMENT_ALIASES.get(code, ())):
            loose.setdefault(_key(name), set()).add(code)
    table = dict(exact)
    for key, owners in loose.items():
        if key not in table and len(owners) == 1:
            table[key] = next(iter(owners))
    return table


def parse_department(settings, text: str) -> str:
    """A configured department's code from its code or a name in either language (or a short form)."""
    code = department_table(settings).get(_key(text)) if str(text).strip() else None
    if code is None:
        known = ", ".join(f"{code} ({department.zh or department.en})" for code, department in settings.departments.items())
        raise UnknownWord(_("unknown department {text!r}; known: {known}", text=str(text).strip(), known=known))
    return code


def department_word(settings, code: str | None, lang: str | None = "en") -> str:
    """A department's name as the company wrote it, in a language (the code when it is not configured)."""
    if not code:
        return ""
    department = settings.departments.get(code)
    if department is None:
        return code
    return (department.zh or department.en) if lang_of(lang) == "zh" else department.en


def labelled(record: dict, fields: dict[str, str], lang: str, settings=None) -> dict:
    """The record with a `<field>_label` beside each coded field: {field: family} ('dept' for departments)."""
    for field_name, name in fields.items():
        value = record.get(field_name)
        if name == "dept":
            record[f"{field_name}_label"] = department_word(settings, value, lang) if settings is not None else value
        else:
            record[f"{field_name}_label"] = word(name, value, lang)
    return record
