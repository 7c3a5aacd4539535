"""The survey item template: the built-in default, loading from TOML, listing.

An item's code is its identity in sheets, forms and reports, so it never
changes; items that have answers are retired (inactive), never deleted, so
old rounds stay readable. The template version is a hash of the active items,
stamped on each round and form, so a form can tell which template it came from.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from csat.errors import ConfigError, ReasonRequired, ValidationFailed
from csat.i18n import N_, _
from csat.settings import PROCEDURE_MIN_ACTION_LIMIT, limit_problem

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_ALLOWED_KEYS = {
    "code", "label_en", "label_zh", "description_en", "description_zh", "weight",
    "action_limit", "scale", "scale_min", "scale_max", "choice", "choices",
}


# The fields of an item a template file can give (the code is its identity, not a field).
FIELDS = ("label_en", "label_zh", "description_en", "description_zh", "weight", "action_limit",
          "scale_min", "scale_max", "choices")
# Which fields each template key gives.
_KEY_FIELDS = {"scale": ("scale_min", "scale_max"), "choice": ("choices",), "choices": ("choices",)}


@dataclass
class ItemSpec:
    """One validated item definition, as read from a template file.

    `given` names the fields the file gave: loading without --replace changes only those on an
    item that exists (the others keep their stored values); a new item takes defaults for the rest.
    """

    code: str
    label_en: str
    label_zh: str = ""
    description_en: str = ""
    description_zh: str = ""
    weight: float = 1.0
    action_limit: float = 85.0
    scale_min: float = 0.0
    scale_max: float = 100.0
    choices: list[dict[str, Any]] = field(default_factory=list)
    given: frozenset[str] = frozenset(FIELDS)

    def choices_json(self) -> str:
        return json.dumps(self.choices, ensure_ascii=False) if self.choices else ""


@dataclass
class ItemChange:
    """What a load does to one item: add, update, retire or delete, and each field's old and new value."""

    code: str
    action: str
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        return {"code": self.code, "action": self.action,
                "changes": {name: [_shown(name, old), _shown(name, new)] for name, (old, new) in self.fields.items()}}


@dataclass
class LoadResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    version: str = ""
    dry_run: bool = False
    changes: list[ItemChange] = field(default_factory=list)

    def change_lines(self) -> list[str]:
        """One line per changed field, `code: field old -> new`, for a person checking a dry run."""
        lines = []
        headings = {"add": N_("new item"), "retire": N_("retired (it has answers; they are kept)"),
                    "delete": N_("deleted (never used)")}
        for change in self.changes:
            if change.action in headings:
                lines.append(f"{change.code}: {_(headings[change.action])}")
            for name, (old, new) in change.fields.items():
                lines.append(f"{change.code}: {name} {_text(name, old)} -> {_text(name, new)}")
        return lines


def _shown(name: str, value: Any) -> Any:
    """A field's value as JSON shows it: choices as their list, not the stored text."""
    if name == "choices":
        return json.loads(value) if value else []
    return value


def _text(name: str, value: Any) -> str:
    if name == "choices":
        choices = json.loads(value) if value else []
        return "[" + ", ".join(f"{choice['label_en']}={choice['points']:g}" for choice in choices) + "]"
    if value is None:
        return _("none")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _number(value: Any, where: str, problems: list[str]) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(_("{where}: expected a number, got {value!r}", where=where, value=value))
        return None
    return float(value)


def _parse_choices(raw: Any, where: str, problems: list[str]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        problems.append(_("{where}: choices must be a non-empty list of {{label_en, label_zh, points}}", where=where))
        return []
    choices, seen = [], set()
    for index, entry in enumerate(raw, start=1):
        here = f"{where}.choice[{index}]"
        if not isinstance(entry, dict):
            problems.append(_("{where}: expected a table with label_en, label_zh, points", where=here))
            continue
        label_en = str(entry.get("label_en", "")).strip()
        label_zh = str(entry.get("label_zh", "")).strip()
        points = _number(entry.get("points"), f"{here}.points", problems)
        if not label_en:
            problems.append(_("{where}: label_en is missing", where=here))
        for label in (label_en.casefold(), label_zh.casefold()):
            if label and label in seen:
                problems.append(_("{where}: label {label!r} is used twice", where=here, label=label))
            seen.add(label)
        if points is not None and label_en:
            choices.append({"points": points, "label_en": label_en, "label_zh": label_zh})
    return choices


def _given_fields(entry: dict[str, Any]) -> frozenset[str]:
    names: set[str] = set()
    for key in entry:
        if key in FIELDS:
            names.add(key)
        names.update(_KEY_FIELDS.get(key, ()))
    return frozenset(names)


def parse_template(data: dict[str, Any], source: str, default_limit: float = 85.0,
                   stored: dict[str, dict[str, Any]] | None = None,
                   minimum: float = PROCEDURE_MIN_ACTION_LIMIT) -> list[ItemSpec]:
    """Validate a template mapping ({"item": [...]}) into specs; every problem is reported at once.

    `stored` maps the codes of items that exist to their stored fields: an entry for one of them
    may leave fields out (they keep their stored values, against which scale, limit and choices
    are checked). Without it (or with --replace) every entry is a whole item.
    """
    entries = data.get("item")
    if not isinstance(entries, list) or not entries:
        raise ValidationFailed([_("{source}: no [[item]] tables found", source=source)])
    problems: list[str] = []
    specs: list[ItemSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = _("{source}: item {item}", source=source, item=index)
        if not isinstance(entry, dict):
            problems.append(_("{where}: expected a table", where=where))
            continue
        unknown = set(entry) - _ALLOWED_KEYS
        if unknown:
            problems.append(_("{where}: unknown key(s) {keys}", where=where, keys=", ".join(sorted(unknown))))
        code = str(entry.get("code", "")).strip()
        if not CODE_PATTERN.match(code):
            problems.append(_("{where}: code {code!r} must be lower-case letters, digits and _ (starting with a letter)",
                              where=where, code=code))
        elif code in seen:
            problems.append(_("{where}: code {code!r} appears twice", where=where, code=code))
        seen.add(code)
        where = _("{source}: item {item}", source=source, item=code or index)
        given = _given_fields(entry)
        base = (stored or {}).get(code, {})
        label_en = str(entry.get("label_en", base.get("label_en", ""))).strip()
        if not label_en:
            problems.append(_("{where}: label_en is missing", where=where))
        weight = _number(entry.get("weight", 1.0), f"{where}.weight", problems)
        if weight is not None and weight <= 0:
            problems.append(_("{where}.weight: must be greater than 0", where=where))
        scale = entry.get("scale", [entry.get("scale_min", base.get("scale_min", 0)),
                                    entry.get("scale_max", base.get("scale_max", 100))])
        if not (isinstance(scale, list) and len(scale) == 2):
            problems.append(_("{where}.scale: expected [min, max], e.g. [0, 100]", where=where))
            scale = [0, 100]
        low = _number(scale[0], f"{where}.scale", problems)
        high = _number(scale[1], f"{where}.scale", problems)
        if low is not None and high is not None and low >= high:
            problems.append(_("{where}.scale: min {low:g} must be below max {high:g}", where=where, low=low, high=high))
        limit = _number(entry.get("action_limit", base.get("action_limit", default_limit)),
                        f"{where}.action_limit", problems)
        if None not in (limit, low, high) and not low <= limit <= high:
            problems.append(_("{where}.action_limit: {limit:g} is outside the scale {low:g}-{high:g}",
                              where=where, limit=limit, low=low, high=high))
        elif (None not in (limit, low, high) and low < high and limit_problem(limit, minimum, low, high)
              and (not base or given & {"action_limit", "scale_min", "scale_max"})):
            # An item stored before the minimum keeps its limit until a file sets it (`csat doctor` names it).
            problems.append(f"{where}.action_limit: {limit_problem(limit, minimum, low, high)}")
        choices: list[dict[str, Any]] = []
        raw_choices = entry.get("choice", entry.get("choices"))
        if raw_choices is not None:
            choices = _parse_choices(raw_choices, where, problems)
        checked = choices if "choices" in given else json.loads(base.get("choices") or "[]")
        for choice in checked:
            if None not in (low, high) and not low <= choice["points"] <= high:
                problems.append(_("{where}: choice {label!r} = {points:g} is outside the scale", where=where,
                                  label=choice["label_en"], points=choice["points"]))
        if not problems:
            specs.append(ItemSpec(
                code=code, label_en=label_en, label_zh=str(entry.get("label_zh", "")).strip(),
                description_en=str(entry.get("description_en", "")).strip(),
                description_zh=str(entry.get("description_zh", "")).strip(),
                weight=weight or 1.0, action_limit=limit if limit is not None else default_limit,
                scale_min=low if low is not None else 0.0, scale_max=high if high is not None else 100.0,
                choices=choices, given=given if base else frozenset(FIELDS),
            ))
    if problems:
        raise ValidationFailed(problems, _("{source}: {n} problem(s), nothing loaded", n=len(problems), source=source))
    return specs


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(_("{path}: no such file", path=path)) from None
    except tomllib.TOMLDecodeError as exc:
        from csat.config import toml_problem

        raise ConfigError(toml_problem(path, exc)) from None
    except UnicodeDecodeError:
        raise ConfigError(_("{path}: not UTF-8 text", path=path)) from None


def read_template(path: Path, default_limit: float = 85.0,
                  minimum: float = PROCEDURE_MIN_ACTION_LIMIT) -> list[ItemSpec]:
    """Whole items from a template file (each entry complete, as --replace reads it)."""
    return parse_template(_read_toml(path), str(path), default_limit, minimum=minimum)


def load_file(session, path: Path, default_limit: float = 85.0, replace: bool = False,
              dry_run: bool = False, minimum: float = PROCEDURE_MIN_ACTION_LIMIT,
              reason: str | None = None) -> LoadResult:
    """`csat items load`: read a template file against the stored items and load it (or, dry, say what would change).

    A load that changes an item's action limit needs a reason (ReasonRequired without one);
    the reason goes into the audit entries of the load.
    """
    from sqlmodel import select

    from csat.store.models import Item

    data = _read_toml(path)
    stored = {} if replace else {item.code: _stored_values(item) for item in session.exec(select(Item)).all()}
    specs = parse_template(data, str(path), default_limit, stored, minimum)
    return _load_with_reason(session, specs, path.name, replace, dry_run, reason)


def _load_with_reason(session, specs, source: str, replace: bool, dry_run: bool, reason: str | None) -> LoadResult:
    from csat.store import audit

    if not dry_run and not (reason and reason.strip()):
        changed = limit_changes(load_template(session, specs, replace=replace, dry_run=True))
        if changed:
            raise ReasonRequired(_("{source} changes the action limit of {items}; say why with --reason TEXT"
                                   " (kept in the audit trail)", source=source, items=", ".join(changed)))
    with audit.reason(reason):
        return load_template(session, specs, replace=replace, dry_run=dry_run)


def limit_changes(result: LoadResult) -> list[str]:
    """`code old -> new` for each existing item whose action limit the load changes."""
    return [f"{change.code} {_text('action_limit', change.fields['action_limit'][0])} -> "
            f"{_text('action_limit', change.fields['action_limit'][1])}"
            for change in result.changes if change.action == "update" and "action_limit" in change.fields]


def below_minimum(session, minimum: float) -> list[tuple[str, str]]:
    """Active items whose action limit is below the procedure's minimum: (code, why)."""
    found = []
    for item in list_items(session):
        problem = limit_problem(item.action_limit, minimum, item.scale_min, item.scale_max)
        if problem:
            found.append((item.code, problem))
    return found


def default_template(default_limit: float = 85.0, minimum: float = PROCEDURE_MIN_ACTION_LIMIT) -> list[ItemSpec]:
    text = resources.files("csat").joinpath("data/default_items.toml").read_text(encoding="utf-8")
    return parse_template(tomllib.loads(text), "default template", default_limit, minimum=minimum)


def load_defaults(session, default_limit: float = 85.0, replace: bool = False, dry_run: bool = False,
                  minimum: float = PROCEDURE_MIN_ACTION_LIMIT, reason: str | None = None) -> LoadResult:
    """`csat items load --defaults`: load the default template shipped with csat, as a file would be."""
    from sqlmodel import select

    from csat.store.models import Item

    text = resources.files("csat").joinpath("data/default_items.toml").read_text(encoding="utf-8")
    stored = {} if replace else {item.code: _stored_values(item) for item in session.exec(select(Item)).all()}
    specs = parse_template(tomllib.loads(text), "default template", default_limit, stored, minimum)
    return _load_with_reason(session, specs, _("the default template"), replace, dry_run, reason)


def _spec_values(spec: ItemSpec) -> dict[str, Any]:
    return {
        "label_en": spec.label_en, "label_zh": spec.label_zh,
        "description_en": spec.description_en, "description_zh": spec.description_zh,
        "weight": spec.weight, "action_limit": spec.action_limit,
        "scale_min": spec.scale_min, "scale_max": spec.scale_max, "choices": spec.choices_json(),
    }


def _stored_values(item) -> dict[str, Any]:
    return {name: getattr(item, name) for name in FIELDS}


def template_version(items) -> str:
    """A short hash of the active items' definitions, in order."""
    canonical = [
        [item.code, item.label_en, item.label_zh, item.weight, item.action_limit,
         item.scale_min, item.scale_max, item.choices]
        for item in sorted(items, key=lambda item: (item.position, item.code)) if item.active
    ]
    return hashlib.sha256(json.dumps(canonical, ensure_ascii=False).encode()).hexdigest()[:12]


def load_template(session, specs: list[ItemSpec], replace: bool = False, dry_run: bool = False) -> LoadResult:
    """Add or update the given items; with replace, retire (or delete, if never answered) the others.

    Without replace an existing item changes only in the fields its spec gives and keeps its
    place in the template (new items go at the end); with replace the specs are the whole
    template, in their order. A dry run works out the same changes and writes nothing.
    """
    from types import SimpleNamespace

    from sqlmodel import select

    from csat.store.models import Answer, Item, RoundItem

    result = LoadResult(dry_run=dry_run)
    existing = {item.code: item for item in session.exec(select(Item)).all()}
    wanted = {spec.code for spec in specs}
    next_position = max((item.position for item in existing.values()), default=0) + 1
    final = {code: SimpleNamespace(**_stored_values(item), code=code, position=item.position, active=item.active)
             for code, item in existing.items()}
    for position, spec in enumerate(specs, start=1):
        values = _spec_values(spec)
        item = existing.get(spec.code)
        if item is None:
            values |= {"position": position if replace else next_position, "active": True}
            next_position += 1
            blank = {"label_en": "", "label_zh": "", "description_en": "", "description_zh": "", "choices": ""}
            result.changes.append(ItemChange(spec.code, "add", {
                name: (blank.get(name), value) for name, value in values.items()
                if name in FIELDS and value != blank.get(name, None)}))
            result.added.append(spec.code)
            final[spec.code] = SimpleNamespace(**values, code=spec.code)
            if not dry_run:
                session.add(Item(code=spec.code, **values))
            continue
        values = {name: value for name, value in values.items() if replace or name in spec.given}
        values |= {"active": True} | ({"position": position} if replace else {})
        changed = {name: (getattr(item, name), value) for name, value in values.items() if getattr(item, name) != value}
        if not changed:
            result.unchanged.append(spec.code)
            continue
        result.changes.append(ItemChange(spec.code, "update", changed))
        result.updated.append(spec.code)
        for name, value in values.items():
            setattr(final[spec.code], name, value)
            if not dry_run:
                setattr(item, name, value)
    if replace:
        for code, item in existing.items():
            if code in wanted or not item.active:
                continue
            used = session.exec(select(Answer.item_id).where(Answer.item_id == item.id).limit(1)).first()
            in_round = session.exec(select(RoundItem.id).where(RoundItem.item_id == item.id).limit(1)).first()
            if used is None and in_round is None:
                result.changes.append(ItemChange(code, "delete"))
                result.deleted.append(code)
                del final[code]
                if not dry_run:
                    session.delete(item)
            else:
                result.changes.append(ItemChange(code, "retire", {"active": (True, False)}))
                result.retired.append(code)
                final[code].active = False
                if not dry_run:
                    item.active = False
    if not dry_run:
        session.flush()
    result.version = template_version(final.values())
    return result


def retire_item(session, code: str) -> None:
    from sqlmodel import select

    from csat.errors import NotFound
    from csat.store.models import Item

    item = session.exec(select(Item).where(Item.code == code)).first()
    if item is None:
        raise NotFound(_("unknown item {code!r}; see `csat items list --all`", code=code))
    item.active = False


def list_items(session, include_retired: bool = False):
    from sqlmodel import select

    from csat.store.models import Item

    query = select(Item).order_by(Item.position, Item.code)
    if not include_retired:
        query = query.where(Item.active == True)  # noqa: E712
    return session.exec(query).all()


def _number_text(value: float) -> str:
    return f"{value:g}"


def item_record(item) -> dict[str, Any]:
    """The JSON shape of an item (a contract: keys are stable)."""
    return {
        "code": item.code,
        "label_en": item.label_en,
        "label_zh": item.label_zh,
        "weight": item.weight,
        "action_limit": item.action_limit,
        "scale": f"{_number_text(item.scale_min)}-{_number_text(item.scale_max)}",
        "scale_min": item.scale_min,
        "scale_max": item.scale_max,
        "choices": json.loads(item.choices) if item.choices else [],
        "active": bool(item.active),
        "description_en": item.description_en,
        "description_zh": item.description_zh,
    }
