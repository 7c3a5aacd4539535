"""Customers: the people the procedure surveys and hears from.

Import is validate-everything-then-write: every bad row is reported with its
row number before anything is stored, and a file whose rows all match the
store changes nothing. A customer is never deleted, only deactivated, because
responses and complaints refer to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csat.errors import Conflict, CsatError, NotFound, ValidationFailed
from csat.i18n import _

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
FIELDS = ("code", "name", "contact", "email", "phone", "segment", "language")

# Header spellings accepted in customer files, English and Chinese.
HEADERS = {
    "code": ["code", "customer code", "customer_code", "customer", "id", "客户代码", "客户编号", "客户编码", "编号", "代码"],
    "name": ["name", "customer name", "company", "客户名称", "客户", "名称", "公司名称", "公司"],
    "contact": ["contact", "contact person", "联系人"],
    "email": ["email", "e-mail", "mail", "邮箱", "电子邮箱", "电子邮件", "邮件"],
    "phone": ["phone", "tel", "telephone", "电话", "联系电话", "手机"],
    "segment": ["segment", "category", "industry", "类别", "客户类别", "分类", "行业"],
    "language": ["language", "lang", "语言"],
}
LANGUAGES = {"en": "en", "english": "en", "英文": "en", "英语": "en",
             "zh": "zh", "cn": "zh", "chinese": "zh", "中文": "zh", "汉语": "zh", "zh-cn": "zh"}


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def check_email(email: str) -> tuple[str, str | None]:
    """(the address as stored, problem or None); empty is allowed (reach by phone or fax).

    The one rule of csat.mail.addresses: full-width characters are normalised (NFKC) and the
    address must be one csat can send to, so `survey send` never refuses what was accepted here.
    """
    from csat.mail.addresses import AddressProblem, normalise_email

    try:
        return normalise_email(email), None
    except AddressProblem as exc:
        return email, _("malformed e-mail {email!r}: {problem}", email=email, problem=exc)


def normalise_language(value: str, default: str) -> str | None:
    if not value:
        return default
    return LANGUAGES.get(value.strip().casefold())


def validate(values: dict[str, Any], default_language: str) -> tuple[dict[str, str], list[str]]:
    """Clean one customer's fields; returns (clean values, problems)."""
    clean = {name: _text(values.get(name)) for name in FIELDS if name in values}
    problems = []
    code = clean.get("code", "")
    if not code:
        problems.append(_("missing code"))
    elif not CODE_PATTERN.match(code):
        problems.append(_("code {code!r} may use only letters, digits and . _ / - (at most 64)", code=code))
    if "name" in clean and not clean["name"]:
        problems.append(_("missing name"))
    if len(clean.get("name", "")) > 200:
        problems.append(_("name longer than 200 characters"))
    if "email" in clean:
        clean["email"], problem = check_email(clean["email"])
        if problem:
            problems.append(problem)
    if "language" in clean:
        language = normalise_language(clean["language"], default_language)
        if language is None:
            problems.append(_("language {language!r} is not en or zh", language=clean["language"]))
        else:
            clean["language"] = language
    for name, value in clean.items():
        if any(char in value for char in "\r\n\0") and name != "name":
            problems.append(_("{field} contains a line break", field=name))
    if "\0" in clean.get("name", ""):
        problems.append(_("name contains a NUL character"))
    return clean, problems


def get(session, code: str):
    from sqlmodel import select

    from csat.store.models import Customer

    customer = session.exec(select(Customer).where(Customer.code == code)).first()
    if customer is None:
        raise NotFound(_("unknown customer {code!r}; see `csat customer list --all`", code=code))
    return customer


def add(session, default_language: str = "en", **values: Any):
    from sqlmodel import select

    from csat.store.models import Customer

    values.setdefault("language", "")
    clean, problems = validate(values, default_language)
    if problems:
        raise CsatError(_("customer {code!r}: {problems}", code=clean.get("code", ""), problems="; ".join(problems)))
    if session.exec(select(Customer.id).where(Customer.code == clean["code"])).first() is not None:
        raise Conflict(_("customer {code!r} already exists; use `csat customer edit`", code=clean["code"]))
    customer = Customer(**clean)
    session.add(customer)
    session.flush()
    return customer


def edit(session, code: str, default_language: str = "en", **changes: Any):
    """Change the given fields; None means 'leave as is'."""
    customer = get(session, code)
    given = {name: value for name, value in changes.items() if value is not None}
    if "code" in given:
        raise CsatError(_("a customer's code cannot change; it identifies the customer in every record"))
    clean, problems = validate({"code": code, **given}, default_language)
    if problems:
        raise CsatError(_("customer {code!r}: {problems}", code=code, problems="; ".join(problems)))
    for name, value in clean.items():
        if name != "code":
            setattr(customer, name, value)
    session.flush()
    return customer


def set_active(session, code: str, active: bool):
    customer = get(session, code)
    customer.active = active
    session.flush()
    return customer


def list_customers(session, include_inactive: bool = False):
    from sqlmodel import select

    from csat.store.models import Customer

    query = select(Customer).order_by(Customer.code)
    if not include_inactive:
        query = query.where(Customer.active == True)  # noqa: E712
    return session.exec(query).all()


def record(customer) -> dict[str, Any]:
    """The JSON shape of a customer (a contract: keys are stable)."""
    return {name: getattr(customer, name) for name in FIELDS} | {"active": bool(customer.active)}


def _match_headers(header: list[str], source: str) -> dict[str, str]:
    lookup = {spelling.casefold(): name for name, spellings in HEADERS.items() for spelling in spellings}
    mapping: dict[str, str] = {}
    for title in header:
        name = lookup.get(title.strip().casefold())
        if name and name not in mapping.values():
            mapping[title] = name
    missing = [name for name in ("code", "name") if name not in mapping.values()]
    if missing:
        raise CsatError(_("{source}: no {columns} column in the header row; found: {header}", source=source,
                               columns=_(" or ").join(missing), header=", ".join(header)))
    return mapping


def read_rows(path: Path, limits=None) -> list[tuple[str, dict[str, Any]]]:
    """(where, values) for every data row of the first sheet; where is FILE!SHEET!ROW."""
    from csat.sheets.guard import Limits
    from csat.sheets.read import header_rows, read_table
    from csat.sheets.unseen import refuse_unseen

    sheets = read_table(path, limits or Limits())
    if not sheets:
        raise CsatError(_("{path}: no visible sheet with data", path=path))
    sheet = sheets[0]
    refuse_unseen(Path(path).name, sheet)     # hidden rows or columns, merges, formulas without a value
    rows = list(header_rows(sheet))
    header_line = next((values for _sheet, _row, values in sheet.rows if any(v is not None for v in values)), None)
    if header_line is None:
        raise CsatError(_("{path}: the sheet is empty", path=path))
    mapping = _match_headers([_text(value) for value in header_line], f"{path}!{sheet.name}")
    result = []
    for row_number, record_values, _cells in rows:
        values = {name: record_values.get(title) for title, name in mapping.items()}
        result.append((_("{file}!{sheet}!row {row}", file=path.name, sheet=sheet.name, row=row_number), values))
    return result


def import_file(session, path: Path, default_language: str = "en", limits=None) -> ImportResult:
    """Add new customers and update changed ones from a file, all or nothing."""
    from sqlmodel import select

    from csat.sheets.read import archive_as_read, file_bytes
    from csat.store.models import Customer

    path = Path(path)
    content = file_bytes(path, limits)        # archived with the customers it adds or changes (csat.store.sources)
    rows = read_rows(path, limits)
    problems: list[str] = []
    seen: dict[str, str] = {}
    cleaned = []
    for where, values in rows:
        clean, row_problems = validate(values, default_language)
        code = clean.get("code", "")
        if code and code.casefold() in seen:
            row_problems.append(_("duplicate code {code!r} (first at {first})", code=code, first=seen[code.casefold()]))
        elif code:
            seen[code.casefold()] = where.rsplit("!", 1)[-1]
        problems.extend(f"{where}: {problem}" for problem in row_problems)
        cleaned.append(clean)
    if not rows:
        problems.append(_("{file}: no customer rows under the header", file=path.name))
    if problems:
        raise ValidationFailed(problems, _("{file}: {n} bad row(s), nothing imported", n=len(problems), file=path.name))
    existing = {customer.code: customer for customer in session.exec(select(Customer)).all()}
    result = ImportResult()
    changed = [clean for clean in cleaned if clean["code"] not in existing
               or any(getattr(existing[clean["code"]], name) != value for name, value in clean.items())]
    source_file_id = archive_as_read(session, path, content, "customers", limits) if changed else None   # a list that changes nothing is not kept
    for clean in cleaned:
        customer = existing.get(clean["code"])
        if customer is None:
            session.add(Customer(**({"language": default_language} | clean), source_file_id=source_file_id))
            result.added.append(clean["code"])
            continue
        changes = {name: value for name, value in clean.items() if getattr(customer, name) != value}
        if not changes:
            result.unchanged.append(clean["code"])
            continue
        for name, value in changes.items():
            setattr(customer, name, value)
        customer.source_file_id = source_file_id
        result.updated.append(clean["code"])
    session.flush()
    return result
