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

from csat.errors import ConfigError, ValidationFailed

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_ALLOWED_KEYS = {
    "code", "label_en", "label_zh", "description_en", "description_zh", "weight",
    "action_limit", "scale", "scale_min", "scale_max", "choice", "choices",
}


@dataclass
class ItemSpec:
    """One validated item definition, as read from a template file."""

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

    def choices_json(self) -> str:
        return json.dumps(self.choices, ensure_ascii=False) if self.choices else ""


@dataclass
class LoadResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    version: str = ""


def _number(value: Any, where: str, problems: list[str]) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{where}: expected a number, got {value!r}")
        return None
    return float(value)


def _parse_choices(raw: Any, where: str, problems: list[str]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"{where}: choices must be a non-empty list of {{label_en, label_zh, points}}")
        return []
    choices, seen = [], set()
    for index, entry in enumerate(raw, start=1):
        here = f"{where}.choice[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{here}: expected a table with label_en, label_zh, points")
            continue
        label_en = str(entry.get("label_en", "")).strip()
        label_zh = str(entry.get("label_zh", "")).strip()
        points = _number(entry.get("points"), f"{here}.points", problems)
        if not label_en:
            problems.append(f"{here}: label_en is missing")
        for label in (label_en.casefold(), label_zh.casefold()):
            if label and label in seen:
                problems.append(f"{here}: label {label!r} is used twice")
            seen.add(label)
        if points is not None and label_en:
            choices.append({"points": points, "label_en": label_en, "label_zh": label_zh})
    return choices


def parse_template(data: dict[str, Any], source: str, default_limit: float = 85.0) -> list[ItemSpec]:
    """Validate a template mapping ({"item": [...]}) into specs; every problem is reported at once."""
    entries = data.get("item")
    if not isinstance(entries, list) or not entries:
        raise ValidationFailed([f"{source}: no [[item]] tables found"])
    problems: list[str] = []
    specs: list[ItemSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        where = f"{source}: item {index}"
        unknown = set(entry) - _ALLOWED_KEYS
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        code = str(entry.get("code", "")).strip()
        if not CODE_PATTERN.match(code):
            problems.append(f"{where}: code {code!r} must be lower-case letters, digits and _ (starting with a letter)")
        elif code in seen:
            problems.append(f"{where}: code {code!r} appears twice")
        seen.add(code)
        where = f"{source}: item {code or index}"
        label_en = str(entry.get("label_en", "")).strip()
        if not label_en:
            problems.append(f"{where}: label_en is missing")
        weight = _number(entry.get("weight", 1.0), f"{where}.weight", problems)
        if weight is not None and weight <= 0:
            problems.append(f"{where}.weight: must be greater than 0")
        scale = entry.get("scale", [entry.get("scale_min", 0), entry.get("scale_max", 100)])
        if not (isinstance(scale, list) and len(scale) == 2):
            problems.append(f"{where}.scale: expected [min, max], e.g. [0, 100]")
            scale = [0, 100]
        low = _number(scale[0], f"{where}.scale", problems)
        high = _number(scale[1], f"{where}.scale", problems)
        if low is not None and high is not None and low >= high:
            problems.append(f"{where}.scale: min {low:g} must be below max {high:g}")
        limit = _number(entry.get("action_limit", default_limit), f"{where}.action_limit", problems)
        if None not in (limit, low, high) and not low <= limit <= high:
            problems.append(f"{where}.action_limit: {limit:g} is outside the scale {low:g}-{high:g}")
        choices: list[dict[str, Any]] = []
        raw_choices = entry.get("choice", entry.get("choices"))
        if raw_choices is not None:
            choices = _parse_choices(raw_choices, where, problems)
            for choice in choices:
                if None not in (low, high) and not low <= choice["points"] <= high:
                    problems.append(f"{where}: choice {choice['label_en']!r} = {choice['points']:g} is outside the scale")
        if not problems:
            specs.append(ItemSpec(
                code=code, label_en=label_en, label_zh=str(entry.get("label_zh", "")).strip(),
                description_en=str(entry.get("description_en", "")).strip(),
                description_zh=str(entry.get("description_zh", "")).strip(),
                weight=weight or 1.0, action_limit=limit if limit is not None else default_limit,
                scale_min=low if low is not None else 0.0, scale_max=high if high is not None else 100.0,
                choices=choices,
            ))
    if problems:
        raise ValidationFailed(problems, f"{source}: {len(problems)} problem(s), nothing loaded")
    return specs


def read_template(path: Path, default_limit: float = 85.0) -> list[ItemSpec]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: malformed TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return parse_template(data, str(path), default_limit)


def default_template(default_limit: float = 85.0) -> list[ItemSpec]:
    text = resources.files("csat").joinpath("data/default_items.toml").read_text(encoding="utf-8")
    return parse_template(tomllib.loads(text), "default template", default_limit)


def _spec_values(spec: ItemSpec) -> dict[str, Any]:
    return {
        "label_en": spec.label_en, "label_zh": spec.label_zh,
        "description_en": spec.description_en, "description_zh": spec.description_zh,
        "weight": spec.weight, "action_limit": spec.action_limit,
        "scale_min": spec.scale_min, "scale_max": spec.scale_max, "choices": spec.choices_json(),
    }


def template_version(items) -> str:
    """A short hash of the active items' definitions, in order."""
    canonical = [
        [item.code, item.label_en, item.label_zh, item.weight, item.action_limit,
         item.scale_min, item.scale_max, item.choices]
        for item in sorted(items, key=lambda item: (item.position, item.code)) if item.active
    ]
    return hashlib.sha256(json.dumps(canonical, ensure_ascii=False).encode()).hexdigest()[:12]


def load_template(session, specs: list[ItemSpec], replace: bool = False) -> LoadResult:
    """Add or update the given items; with replace, retire (or delete, if never answered) the others."""
    from sqlmodel import select

    from csat.store.models import Answer, Item, RoundItem

    result = LoadResult()
    existing = {item.code: item for item in session.exec(select(Item)).all()}
    wanted = {spec.code for spec in specs}
    for position, spec in enumerate(specs, start=1):
        values = _spec_values(spec) | {"position": position, "active": True}
        item = existing.get(spec.code)
        if item is None:
            session.add(Item(code=spec.code, **values))
            result.added.append(spec.code)
            continue
        if all(getattr(item, key) == value for key, value in values.items()):
            result.unchanged.append(spec.code)
            continue
        for key, value in values.items():
            setattr(item, key, value)
        result.updated.append(spec.code)
    if replace:
        for code, item in existing.items():
            if code in wanted or not item.active:
                continue
            used = session.exec(select(Answer.item_id).where(Answer.item_id == item.id).limit(1)).first()
            in_round = session.exec(select(RoundItem.id).where(RoundItem.item_id == item.id).limit(1)).first()
            if used is None and in_round is None:
                session.delete(item)
                result.deleted.append(code)
            else:
                item.active = False
                result.retired.append(code)
    session.flush()
    result.version = template_version(session.exec(select(Item)).all())
    return result


def retire_item(session, code: str) -> None:
    from sqlmodel import select

    from csat.errors import NotFound
    from csat.store.models import Item

    item = session.exec(select(Item).where(Item.code == code)).first()
    if item is None:
        raise NotFound(f"unknown item {code!r}")
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
    }
