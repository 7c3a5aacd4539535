"""Stored responses as records a quality manager can check and correct.

`csat response list/show/withdraw`. A response entered in error is withdrawn,
never deleted: the row and its answers stay (an auditor can see what was
received and why it no longer counts), and every statistic leaves it out
(csat.reports.queries reads live responses only). When the customer has no
other live response in the round, its invitation is marked not answered
again, so `survey status`, the response rate and reminders treat the customer
as not having answered. Entering different answers for the same key later
(import or `response add`) stores them as the correction of that response;
re-importing the very same answers leaves it withdrawn.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from csat.i18n import _
from csat.dates import shown_comment
from csat.errors import Conflict, CsatError, NotFound


def _get(session, response_id: int):
    from csat.store.models import Response

    response = session.get(Response, int(response_id))
    if response is None:
        raise NotFound(_("no response #{number}; see `csat response list --all`", number=response_id))
    return response


def list_responses(session, period: Optional[str] = None, customer: Optional[str] = None,
                   include_withdrawn: bool = False) -> list[dict[str, Any]]:
    """Responses by period and customer (the JSON shape of `response list`); withdrawn ones only on request."""
    from sqlmodel import select

    from csat.store.models import Customer, Response, SourceFile, SurveyRound

    query = (select(Response.id, SurveyRound.period, Customer.code, Response.respondent, Response.source,
                    Response.created_at, Response.withdrawn_at, SourceFile.sha256, Response.source_sheet,
                    Response.source_row)
             .join(SurveyRound, SurveyRound.id == Response.round_id)
             .join(Customer, Customer.id == Response.customer_id)
             .outerjoin(SourceFile, SourceFile.id == Response.source_file_id)
             .order_by(SurveyRound.period, Customer.code, Response.respondent, Response.id))
    if period is not None:
        if session.exec(select(SurveyRound.id).where(SurveyRound.period == period)).first() is None:
            raise NotFound(_("no survey round for {period}; see `csat survey list`", period=period))
        query = query.where(SurveyRound.period == period)
    if customer is not None:
        if session.exec(select(Customer.id).where(Customer.code == customer)).first() is None:
            raise NotFound(_("unknown customer {code!r}; see `csat customer list --all`", code=customer))
        query = query.where(Customer.code == customer)
    if not include_withdrawn:
        query = query.where(Response.withdrawn_at.is_(None))
    return [{"id": response_id, "period": round_period, "customer": code, "respondent": respondent,
             "source": source, "created_at": created_at, "withdrawn": withdrawn_at is not None,
             "source_sha256": sha256, "source_sheet": sheet or None, "source_row": row}
            for response_id, round_period, code, respondent, source, created_at, withdrawn_at, sha256, sheet, row
            in session.exec(query).all()]


def _history(session, response) -> list[dict[str, Any]]:
    """Audit entries of one response, oldest first: who imported it (also as part of a sheet), replaced, withdrew it."""
    from sqlmodel import select

    from csat.store.models import AuditLog

    entries = list(session.exec(select(AuditLog).where(AuditLog.table_name == "response",
                                                       AuditLog.record_id == response.id)).all())
    # A sheet's import is one entry naming its file and the ids it added (see importer/write.py).
    if response.source_file or response.source:
        key = f"import {Path(response.source_file).name or response.source}"
        for entry in session.exec(select(AuditLog).where(AuditLog.table_name == "response",
                                                         AuditLog.record_id.is_(None),
                                                         AuditLog.record_key == key)).all():
            ids = json.loads(entry.changes or "{}").get("new", {}).get("ids", [])
            if any(first <= response.id <= last for first, last in ids):
                entries.append(entry)
    entries.sort(key=lambda entry: entry.id)
    return [{"at": entry.at, "actor": entry.actor, "action": entry.action} for entry in entries
            if entry.action != "update"]


def show_response(session, response_id: int) -> dict[str, Any]:
    """One response with its answers per item, its source, who imported it when, and its withdrawn state."""
    from sqlmodel import select

    from csat.store.models import Answer, Customer, Item, RoundItem, SurveyRound

    response = _get(session, response_id)
    round_ = session.get(SurveyRound, response.round_id)
    customer = session.get(Customer, response.customer_id)
    labels = {item_id: (code, label, label_zh) for item_id, code, label, label_zh in session.exec(
        select(RoundItem.item_id, Item.code, RoundItem.label_en, RoundItem.label_zh)
        .join(Item, Item.id == RoundItem.item_id).where(RoundItem.round_id == response.round_id)).all()}
    positions = dict(session.exec(select(RoundItem.item_id, RoundItem.position)
                                  .where(RoundItem.round_id == response.round_id)).all())
    answers = []
    for answer in sorted(session.exec(select(Answer).where(Answer.response_id == response.id)).all(),
                         key=lambda answer: (positions.get(answer.item_id, 10**9), answer.item_id)):
        code, label, label_zh = labels.get(answer.item_id) or (session.get(Item, answer.item_id).code, "", "")
        answers.append({"item": code, "label": label, "label_zh": label_zh or "",
                        "score": None if answer.not_applicable else answer.score,
                        "not_applicable": bool(answer.not_applicable), "raw": answer.raw, "note": answer.comment})
    from csat.store.sources import reference

    history = _history(session, response)
    imported = next((entry for entry in history if entry["action"] == "insert"), None)
    archived = reference(session, response.source_file_id)
    return {
        "id": response.id, "period": round_.period, "customer": customer.code, "customer_name": customer.name,
        "respondent": response.respondent, "respondent_title": response.respondent_title,
        "answered_on": response.answered_on, "comment": shown_comment(response.comment),
        "source": response.source, "source_file": response.source_file,
        "source_file_name": archived["name"] if archived else None,
        "source_sha256": archived["sha256"] if archived else None,
        "source_sheet": response.source_sheet or None, "source_row": response.source_row,
        "created_at": response.created_at, "imported_by": imported["actor"] if imported else None,
        "updated_at": response.updated_at,
        "withdrawn": response.withdrawn_at is not None, "withdrawn_at": response.withdrawn_at,
        "withdraw_reason": response.withdraw_reason,
        "answers": answers, "history": history,
    }


def withdraw_response(session, response_id: int, reason: str) -> dict[str, Any]:
    """Withdraw a response entered in error: kept, audited, counted nowhere; its customer is not answered again.

    Returns {"id", "period", "customer", "respondent", "withdrawn_at", "withdraw_reason", "invitation_reopened"}.
    """
    from sqlmodel import select

    from csat.store import audit
    from csat.store.models import Customer, Invitation, Response, SurveyRound, now

    reason = " ".join((reason or "").split())
    if not reason:
        raise CsatError(_("give the reason for withdrawing with --reason, e.g. --reason 'entered for the wrong customer'"))
    response = _get(session, response_id)
    round_ = session.get(SurveyRound, response.round_id)
    code = session.get(Customer, response.customer_id).code
    if response.withdrawn_at is not None:
        raise Conflict(_("response #{number} ({period} {customer}) was already withdrawn on {at}: {reason}",
                         number=response.id, period=round_.period, customer=code,
                         at=response.withdrawn_at.strftime("%Y-%m-%d %H:%M"), reason=response.withdraw_reason))
    if round_.status == "closed":
        raise Conflict(_("the {period} round is closed; reopen it with `csat survey open --half {period} --reopen`"
                         " to withdraw a response", period=round_.period))
    response.withdrawn_at = now()
    response.withdraw_reason = reason
    others = session.exec(select(Response.id).where(
        Response.round_id == response.round_id, Response.customer_id == response.customer_id,
        Response.id != response.id, Response.withdrawn_at.is_(None))).first()
    invitation = session.exec(select(Invitation).where(Invitation.round_id == response.round_id,
                                                       Invitation.customer_id == response.customer_id)).first()
    reopened = others is None and invitation is not None and invitation.responded_at is not None
    if reopened:
        invitation.responded_at = None          # the customer counts as not answered again (status, rate, reminders)
    session.flush()
    key = f"{round_.period}/{code}" + (f"/{response.respondent}" if response.respondent else "")
    audit.record(session.connection(), "response", "withdraw", response.id, key,
                 {"reason": reason, "invitation_reopened": reopened})
    return {"id": response.id, "period": round_.period, "customer": code, "respondent": response.respondent,
            "withdrawn_at": response.withdrawn_at, "withdraw_reason": reason, "invitation_reopened": reopened}
