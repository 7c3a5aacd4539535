"""Which CAPA handles a complaint, or why none is needed.

The procedure sends every complaint to the departments as a CAPA report. A CAPA opened from
an entry (`capa open --from-feedback N`, `feedback add --capa`) refers to it; one opened
elsewhere (a survey item, an earlier complaint about the same defect) is linked to it with
`feedback link`, kept on the entry (feedback.capa_id). One CAPA may handle several complaints
about one defect, but only when asked (`--shared`): linking a CAPA that already handles another
entry is most often a mistyped number. A complaint that needs no CAPA gets the reason instead
(`feedback no-capa`). Each step is audited; a void entry takes neither.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from csat.errors import Conflict, CsatError
from csat.i18n import _


def _now() -> datetime:
    from csat.store.models import now

    return now()


def entries_handled_by(session, capa) -> list[int]:
    """Numbers of the live (not void) entries a CAPA handles: the one it was opened from and those linked."""
    from sqlmodel import or_, select

    from csat.store.models import Feedback

    conditions = [Feedback.capa_id == capa.id]
    if capa.feedback_id is not None:
        conditions.append(Feedback.id == capa.feedback_id)
    return list(session.exec(select(Feedback.id).where(or_(*conditions), Feedback.voided_at == None)  # noqa: E711
                             .order_by(Feedback.id)).all())


def capa_of(session, entry):
    """The CAPA that handles an entry: the one opened from it, else the one linked to it; None if neither."""
    from csat.capa.records import find_for_feedback
    from csat.store.models import Capa

    found = find_for_feedback(session, entry.id)
    if found is None and entry.capa_id is not None:
        found = session.get(Capa, entry.capa_id)
    return found


def link(session, number: int | str, reference: str, *, shared: bool = False, now: datetime | None = None):
    """Link an existing CAPA to a feedback entry: (entry, capa, changed). Audited; a repeat changes nothing."""
    from csat.capa import records as capas
    from csat.feedback import log as feedback
    from csat.store import audit

    entry = feedback.get(session, number)
    capa = capas.get(session, reference)
    if entry.voided_at is not None:
        raise Conflict(_("feedback #{number} is void ({reason}); a void entry gets no CAPA", number=entry.id,
                         reason=entry.void_reason))
    current = capa_of(session, entry)
    if current is not None and current.id == capa.id:
        return entry, capa, False
    if current is not None:
        raise Conflict(_("feedback #{number} is already handled by {capa}; one CAPA per entry", number=entry.id,
                         capa=current.number))
    if capa.status == "cancelled":
        raise Conflict(_("{capa} is cancelled ({reason}); link an active CAPA or open one with"
                         " `csat capa open --from-feedback {number}`", capa=capa.number, reason=capa.cancel_reason,
                         number=entry.id))
    others = [other for other in entries_handled_by(session, capa) if other != entry.id]
    if others and not shared:
        raise Conflict(_("{capa} already handles feedback {entries}; add --shared if one CAPA handles both"
                         " (the same defect), or open a new one with `csat capa open --from-feedback {number}`",
                         capa=capa.number, entries=", ".join(f"#{other}" for other in others), number=entry.id))
    changes: dict[str, Any] = {"capa": [None, capa.number]}
    if entry.no_capa_reason:
        changes["no_capa_reason"] = [entry.no_capa_reason, ""]
    entry.capa_id = capa.id
    entry.no_capa_reason, entry.no_capa_at = "", None
    session.flush()
    audit.record(session.connection(), "feedback", "link", entry.id, f"#{entry.id}",
                 changes | ({"shared_with": [f"#{other}" for other in others]} if others else {}))
    return entry, capa, True


def no_capa(session, number: int | str, reason: str, *, now: datetime | None = None):
    """Record why a complaint needs no CAPA (audited); `csat check` no longer lists it."""
    from csat.feedback import log as feedback
    from csat.store import audit

    entry = feedback.get(session, number)
    reason = " ".join((reason or "").split())
    if not reason:
        raise CsatError(_("say why no CAPA is needed with --reason; the reason is kept on the record"))
    if entry.voided_at is not None:
        raise Conflict(_("feedback #{number} is void ({reason}); it counts nowhere and needs no reason",
                         number=entry.id, reason=entry.void_reason))
    if not entry.complaint:
        raise Conflict(_("feedback #{number} is not a complaint; only complaints need a CAPA", number=entry.id))
    current = capa_of(session, entry)
    if current is not None:
        raise Conflict(_("feedback #{number} is handled by {capa}; cancel it with `csat capa cancel {capa} --reason ...`"
                         " first if no CAPA is needed", number=entry.id, capa=current.number))
    old = entry.no_capa_reason
    if old == reason:
        return entry, False
    entry.no_capa_reason, entry.no_capa_at = reason, now or _now()
    session.flush()
    audit.record(session.connection(), "feedback", "no-capa", entry.id, f"#{entry.id}",
                 {"no_capa_reason": [old, reason]})
    return entry, True
