"""The CAPA part of the review pack: what was opened, closed, verified and is overdue in a half year.

A CAPA belongs to the half when it was opened, closed or verified in it, or is still being worked
on and overdue today (an overdue CAPA from an earlier half is exactly what the meeting must see).
Verifications are counted one by one (a CAPA verified not effective, reworked and verified
effective in the same half counts once in each column). Overdue is judged on `today`, as
`csat capa list --overdue` does. Records come from csat.capa.records, nothing else.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from csat import vocabulary
from csat.i18n import _
from csat.periods import Half
from csat.reports.review.model import Paragraph, Table


def _in_half(moment: datetime | date | None, half: Half) -> bool:
    if moment is None:
        return False
    day = moment.date() if isinstance(moment, datetime) else moment
    return half.start <= day <= half.end


def _source(record: dict[str, Any], lang: str) -> str:
    kind = vocabulary.word("capa_source", record["source_kind"], lang)
    if record["source_kind"] == "item":
        return f"{kind} {record['item']} ({record['period']})"
    if record["source_kind"] == "feedback":
        customer = f", {record['customer']}" if record["customer"] else ""
        return f"{kind} #{record['feedback']}{customer}"
    return kind


def capa_blocks(session, settings, half: Half, lang: str, today: date) -> list:
    from csat.capa import records

    everything = records.records(session, settings, records.list_capas(session, today=today), today)
    rows, counts = [], {"opened": 0, "closed": 0, "overdue": 0, "effective": 0, "not-effective": 0}
    for record in everything:
        opened = _in_half(record["created_at"], half)
        closed = _in_half(record["closed_at"], half)
        checks = [check for check in record["verifications"] if _in_half(check["verified_at"], half)]
        overdue = record["overdue"] and record["created_at"].date() <= half.end
        if not (opened or closed or checks or overdue):
            continue
        counts["opened"] += opened
        counts["closed"] += closed
        counts["overdue"] += overdue
        for check in checks:
            counts[check["result"]] = counts.get(check["result"], 0) + 1
        last = checks[-1] if checks else None
        verified = (f"{vocabulary.word('result', last['result'], lang)} {last['date'].isoformat()}" if last else "")
        status = vocabulary.word("capa_status", record["status"], lang)
        rows.append([record["number"], record["title"], _source(record, lang),
                     vocabulary.department_word(settings, record["dept"], lang),
                     record["created_at"].date().isoformat(), record["due"].isoformat() if record["due"] else "",
                     status + (f" ({_('overdue')})" if record["overdue"] else ""), verified])
    if not rows:
        return [Paragraph(_("No CAPA was opened, closed or verified in {half}, and none is overdue.", half=half))]
    summary = Table(_("CAPAs in {half}", half=half), [_("Figure"), _("Count")], [
        [_("Opened in the half"), counts["opened"]],
        [_("Closed in the half"), counts["closed"]],
        [_("Overdue on {date}", date=today.isoformat()), counts["overdue"]],
        [_("Verified effective"), counts["effective"]],
        [_("Verified not effective"), counts["not-effective"]],
    ])
    listing = Table(_("CAPA records"), [_("Number"), _("Title"), _("Source"), _("Owner department"), _("Opened"),
                                        _("Due"), _("Status"), _("Last verification in the half")], rows)
    return [summary, listing]
