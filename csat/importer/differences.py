"""What a corrected form changes in the response already stored for its invitation.

Read only when a form is refused for differing (a handful of rows), so the
person sees which answers and fields changed: `delivery 70 -> 80, respondent`.
Called from context.plan with its Context, Candidate and Existing (not imported
here: context imports this module).
"""

from __future__ import annotations

from typing import Any, Optional

_FIELDS = (("respondent", "respondent"), ("respondent_title", "title"), ("answered_on", "date"),
           ("comment", "comment"))


def _value_text(score: Optional[float], not_applicable: bool, raw: str) -> str:
    if not_applicable:
        return raw or "N/A"
    if score is None:
        return "blank"
    return raw or f"{score:g}"


def stored_response(context: Any, response_id: int) -> tuple[dict[str, Any], dict[int, tuple]]:
    """A stored response's fields and its answers by item id: (score, not_applicable, raw, comment)."""
    from sqlalchemy import select

    from csat.store.models import Answer, Response

    connection = context.connection
    row = connection.execute(select(Response.respondent, Response.respondent_title, Response.answered_on,
                                    Response.comment).where(Response.id == response_id)).mappings().one()
    answers = {item_id: (score, bool(not_applicable), raw or "", comment or "")
               for item_id, score, not_applicable, raw, comment in connection.execute(
                   select(Answer.item_id, Answer.score, Answer.not_applicable, Answer.raw, Answer.comment)
                   .where(Answer.response_id == response_id))}
    return dict(row), answers


def changes(context: Any, candidate: Any, existing: Any) -> list[dict[str, Any]]:
    """What the file says that the stored response does not, one {"what", "stored", "file"} per
    difference: items in form order (their value, then their comment), then the changed fields."""
    fields, answers = stored_response(context, existing.response_id)
    found: list[dict[str, Any]] = []
    new_answers = {item_id: (score, bool(not_applicable), raw or "", note or "")
                   for item_id, score, not_applicable, raw, note in candidate.answers}
    rules = context.round_for(candidate.period).rules.values()
    known = [rule.item_id for rule in rules]
    order = known + sorted((set(new_answers) | set(answers)) - set(known))
    for item_id in order:
        old = answers.get(item_id, (None, False, "", ""))
        new = new_answers.get(item_id, (None, False, "", ""))
        code = context.item_code.get(item_id, str(item_id))
        old_value, new_value = _value_text(*old[:3]), _value_text(*new[:3])
        if old_value != new_value or old[:2] != new[:2]:
            found.append({"what": code, "stored": old_value, "file": new_value})
        if old[3] != new[3]:
            found.append({"what": f"{code} comment", "stored": old[3], "file": new[3]})
    given = {"respondent": candidate.respondent, "respondent_title": candidate.title,
             "answered_on": candidate.answered_on, "comment": candidate.comment}
    for column, name in _FIELDS:
        if (fields[column] or None) != (given[column] or None):
            found.append({"what": name, "stored": _field_text(fields[column]), "file": _field_text(given[column])})
    return found


def _field_text(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def differences(context: Any, candidate: Any, existing: Any) -> str:
    """`delivery 70 -> 80, price comment, respondent`: items in form order, then the changed fields."""
    parts = []
    for change in changes(context, candidate, existing):
        what = change["what"]
        if what.endswith(" comment") or what in {name for _column, name in _FIELDS}:
            parts.append(what)
        else:
            parts.append(f"{what} {change['stored']} -> {change['file']}")
    return ", ".join(parts) or "answers"
