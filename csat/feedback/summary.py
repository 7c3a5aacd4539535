"""The quarterly feedback and complaint summary: built once, kept as a record, rendered as JSON, Markdown or xlsx.

`build` returns plain data (the JSON contract); the renderers only read it,
and the terminal table is drawn by the CLI from the same data. Open, overdue,
unanswered and long-unresolved are judged on `today` (the day the summary is
made), the other figures only on entries received in the quarter (local time).

A summary of an ended quarter is a quality record: the first one made is kept
as version 1 (a QuarterSummary row holding its JSON exactly as printed, when
and by whom), and printing it again shows that record unchanged, whatever
happened to the feedback since. An entry of the quarter added, edited, replied,
closed or voided after the record was made (the audit trail says when) makes
it *stale*: printing says so, and `refresh` records a new version beside it.
A quarter still running is shown as a live preview and never recorded.
Keeping, reading and comparing the records is csat.feedback.summary_record.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from csat.errors import CsatError
from csat.i18n import NC_, _, in_context
from csat.numbers import fixed
from csat.periods import Quarter

_LABELS: dict[str, tuple[str, str]] = {
    "title": NC_("summary", "Feedback and complaints"),
    "summary": NC_("summary", "Summary"),
    "quarter": NC_("summary", "Quarter"),
    "total": NC_("summary", "Entries"),
    "complaints": NC_("summary", "Complaints"),
    "previous_total": NC_("summary", "Entries in the previous quarter"),
    "previous_complaints": NC_("summary", "Complaints in the previous quarter"),
    "reply_days_median": NC_("summary", "Reply time, median (days)"),
    "reply_days_max": NC_("summary", "Reply time, worst (days)"),
    "open": NC_("summary", "Open entries"),
    "overdue": NC_("summary", "Complaints without reply, overdue"),
    "long_unresolved": NC_("summary", "Complaints long unresolved"),
    "special_attention": NC_("summary", "Customers needing special attention"),
    "by_kind": NC_("summary", "By kind"),
    "by_channel": NC_("summary", "By channel"),
    "by_customer": NC_("summary", "By customer"),
    "by_dept": NC_("summary", "By department"),
    "repeat_topics": NC_("summary", "Repeated complaint topics"),
    "entries": NC_("summary sheet", "Entries"),
    "count": NC_("summary", "Count"),
    "customer": NC_("summary", "Customer"),
    "kind": NC_("summary", "Kind"),
    "channel": NC_("summary", "Channel"),
    "dept": NC_("summary", "Department"),
    "product": NC_("summary", "Product"),
    "id": NC_("summary", "No."),
    "received": NC_("summary", "Received"),
    "status": NC_("summary", "Status"),
    "replied_at": NC_("summary", "Replied"),
    "reply_days": NC_("summary", "Reply days"),
    "text": NC_("summary", "What the customer said"),
    "capa": NC_("summary", "CAPA"),
    "complaint": NC_("summary", "Complaint"),
    "made": NC_("summary", "Made on"),
    "none": NC_("summary", "none"),
    "version": NC_("summary", "Version"),
    "made_value": NC_("summary", "{at} by {who}"),
    "preview": NC_("summary", "{date}, preview (quarter not ended, not recorded)"),
    "live": NC_("summary", "{date}, computed now (not recorded)"),
    "unanswered": NC_("summary", "Complaints unanswered"),
    "unanswered_value": NC_("summary", "{n} ({entries}), oldest {days} working days"),
    "replied_late": NC_("summary", "Replies after the deadline"),
    "replied_late_value": NC_("summary", "{n} ({entries}), worst {days} working days late (#{worst})"),
}


def text(key: str, lang: str = "en", **fields) -> str:
    """A word of the summary in a language, from the message catalog (context "summary")."""
    return in_context(lang, *_LABELS[key], **fields)


def _counts(values: list[str], order: tuple[str, ...] | None = None) -> dict[str, int]:
    counted = Counter(values)
    if order:
        return {key: counted[key] for key in order if counted[key]}
    return dict(sorted(counted.items(), key=lambda pair: (-pair[1], pair[0])))


def _previous_counts(session, quarter: Quarter) -> tuple[int, int]:
    from sqlalchemy import case, func
    from sqlmodel import select

    from csat.feedback.log import quarter_bounds
    from csat.store.models import Feedback

    start, end = quarter_bounds(quarter)
    total, complaints = session.exec(
        select(func.count(Feedback.id), func.coalesce(func.sum(case((Feedback.complaint, 1), else_=0)), 0))
        .where(Feedback.received_at >= start, Feedback.received_at < end, Feedback.voided_at == None)  # noqa: E711
    ).one()
    return int(total), int(complaints)


def build(session, settings, quarter: Quarter, today: date | None = None) -> dict[str, Any]:
    """Every figure of the quarter's summary, as plain data."""
    import numpy
    from sqlmodel import select

    from csat.feedback import log as feedback
    from csat.store.models import Customer

    today = today or date.today()
    if quarter.start > today:
        raise CsatError(_("quarter {quarter} has not started yet (today is {today})", quarter=quarter,
                          today=today.isoformat()))
    entries = feedback.list_entries(session, quarter=quarter)
    rows = feedback.records(session, settings, entries, today)
    complaints = [row for row in rows if row["complaint"]]
    for row in rows:
        row["reply_days"] = ((row["replied_at"] - row["received"]).total_seconds() / 86400
                             if row["replied_at"] is not None else None)
    reply_days = [row["reply_days"] for row in complaints if row["reply_days"] is not None]
    reply_times = _reply_time_figures(settings, complaints, today)
    complaints_by_customer = _counts([row["customer"] for row in complaints])
    topics: dict[tuple[str, str, str], list[int]] = {}
    for row in complaints:
        topics.setdefault((row["customer"], row["kind"], row["product"]), []).append(row["id"])
    repeat_topics = [
        {"customer": customer, "kind": kind, "product": product, "count": len(ids), "entries": ids}
        for (customer, kind, product), ids in sorted(topics.items(), key=lambda pair: (-len(pair[1]), pair[0]))
        if len(ids) > 1
    ]
    threshold = settings.feedback.special_attention
    previous = quarter.previous()
    previous_total, previous_complaints = _previous_counts(session, previous)
    codes = sorted({row["customer"] for row in rows})
    names = dict(session.exec(select(Customer.code, Customer.name).where(Customer.code.in_(codes))).all()) if codes else {}
    return {
        "quarter": str(quarter),
        "start": quarter.start,
        "end": quarter.end,
        "made_on": today,
        "total": len(rows),
        "complaints": len(complaints),
        "by_kind": _counts([row["kind"] for row in rows], feedback.KINDS),
        "by_channel": _counts([row["channel"] for row in rows], feedback.CHANNELS),
        "by_customer": _counts([row["customer"] for row in rows]),
        "by_dept": _counts([row["dept"] for row in rows if row["dept"]]),
        "no_dept": sum(1 for row in rows if not row["dept"]),
        "complaints_by_customer": complaints_by_customer,
        "repeat_topics": repeat_topics,
        "open": [row["id"] for row in rows if row["status"] != "closed"],
        "overdue": [row["id"] for row in rows if row["overdue"]],
        "long_unresolved": [row["id"] for row in rows if row["long_unresolved"]],
        **reply_times,
        "reply_days_median": float(numpy.median(reply_days)) if reply_days else None,
        "reply_days_max": float(max(reply_days)) if reply_days else None,
        "special_attention": [code for code, count in complaints_by_customer.items() if count >= threshold],
        "special_attention_threshold": threshold,
        "previous_quarter": str(previous),
        "previous_total": previous_total,
        "previous_complaints": previous_complaints,
        "customer_names": names,
        "dept_names": {code: {"en": settings.department_name(code, "en"), "zh": settings.department_name(code, "zh")}
                       for code in sorted({row["dept"] for row in rows if row["dept"]})},
        "entries": rows,
    }


def _reply_time_figures(settings, complaints: list[dict[str, Any]], today: date) -> dict[str, Any]:
    """Complaints still unanswered by their age, and replies given after the deadline, in working days.

    The median and worst reply times count answered complaints only; these figures keep the
    unanswered ones (however old) and the late ones (once answered) in sight.
    """
    from csat.workdays import calendar_for

    calendar = calendar_for(settings)
    unanswered = [row for row in complaints if row["replied_at"] is None]
    ages = [calendar.working_days_between(row["received"].date(), today) for row in unanswered]
    late = [(calendar.working_days_between(row["reply_due"], row["replied_at"].date()), row["id"]) for row in complaints
            if row["replied_at"] is not None and row["reply_due"] is not None and row["replied_at"].date() > row["reply_due"]]
    worst = max(late, key=lambda pair: (pair[0], -pair[1])) if late else None
    return {
        "unanswered": [row["id"] for row in unanswered],
        "unanswered_count": len(unanswered),
        "unanswered_oldest_working_days": max(ages) if ages else None,
        "unanswered_oldest": unanswered[ages.index(max(ages))]["id"] if ages else None,
        "replied_late": [number for _days, number in late],
        "replied_late_count": len(late),
        "replied_late_worst_working_days": worst[0] if worst else None,
        "replied_late_worst": worst[1] if worst else None,
    }


def quarters_without_summary(session, settings, today: date) -> list[str]:
    """Ended quarters with no summary yet (for reminders), oldest first.

    The quarters considered run from the quarter of the first feedback entry
    (or the last ended quarter, if that is earlier or there is no feedback)
    up to the last ended quarter.
    """
    from sqlalchemy import func
    from sqlmodel import select

    from csat.store.models import Feedback, QuarterSummary

    last_ended = Quarter.containing(today).previous()
    first_received = session.exec(select(func.min(Feedback.received_at)).where(Feedback.voided_at == None)).one()  # noqa: E711
    quarter = min(last_ended, Quarter.containing(first_received.date())) if first_received else last_ended
    marked = set(session.exec(select(QuarterSummary.quarter)).all())
    missing = []
    while quarter <= last_ended:
        if str(quarter) not in marked:
            missing.append(str(quarter))
        quarter = quarter.next()
    return missing


# ---- renderers ------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def render_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, ensure_ascii=False, indent=2, default=_plain) + "\n"


def _number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return fixed(value, 1)
    return str(value)


def _ids(values: list[int], lang: str) -> str:
    return ", ".join(f"#{value}" for value in values) if values else text("none", lang)


def _made(summary: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    """The record's version and when and by whom it was made; a preview says it is not recorded."""
    if not summary.get("recorded"):
        key = "preview" if summary["made_on"] <= summary["end"] else "live"
        return [(text("made", lang), text(key, lang, date=summary["made_on"].isoformat()))]
    made = text("made_value", lang, at=summary["summarised_at"].strftime("%Y-%m-%d %H:%M"), who=summary["made_by"]) \
        if summary["made_by"] else summary["summarised_at"].strftime("%Y-%m-%d %H:%M")
    return [(text("version", lang), str(summary["version"])), (text("made", lang), made)]


def _unanswered(summary: dict[str, Any], lang: str) -> str:
    if not summary["unanswered"]:
        return text("none", lang)
    return text("unanswered_value", lang, n=summary["unanswered_count"], entries=_ids(summary["unanswered"], lang),
                days=summary["unanswered_oldest_working_days"])


def _late(summary: dict[str, Any], lang: str) -> str:
    if not summary["replied_late"]:
        return text("none", lang)
    return text("replied_late_value", lang, n=summary["replied_late_count"], entries=_ids(summary["replied_late"], lang),
                days=summary["replied_late_worst_working_days"], worst=summary["replied_late_worst"])


def headline(summary: dict[str, Any], lang: str = "en") -> list[tuple[str, str]]:
    """The key figures as (label, value) pairs, shared by every renderer."""
    change = summary["total"] - summary["previous_total"]
    return _made(summary, lang) + [
        (text("total", lang), str(summary["total"])),
        (text("complaints", lang), str(summary["complaints"])),
        (text("previous_total", lang) + f" ({summary['previous_quarter']})",
         f"{summary['previous_total']} ({change:+d})"),
        (text("previous_complaints", lang), str(summary["previous_complaints"])),
        (text("reply_days_median", lang), _number(summary["reply_days_median"])),
        (text("reply_days_max", lang), _number(summary["reply_days_max"])),
        (text("unanswered", lang), _unanswered(summary, lang)),
        (text("replied_late", lang), _late(summary, lang)),
        (text("open", lang), _ids(summary["open"], lang)),
        (text("overdue", lang), _ids(summary["overdue"], lang)),
        (text("long_unresolved", lang), _ids(summary["long_unresolved"], lang)),
        (text("special_attention", lang), ", ".join(summary["special_attention"]) or text("none", lang)),
    ]


def count_tables(summary: dict[str, Any], lang: str = "en") -> list[tuple[str, str, list[tuple[str, int]]]]:
    """(title, first column, rows) for each count table; kinds, channels and departments are named."""
    from csat.feedback import log as feedback

    def dept_name(code: str) -> str:
        return summary["dept_names"].get(code, {}).get(lang, code)

    names = summary["customer_names"]
    return [
        (text("by_kind", lang), text("kind", lang),
         [(feedback.label(feedback.KIND_LABELS, kind, lang), count) for kind, count in summary["by_kind"].items()]),
        (text("by_channel", lang), text("channel", lang),
         [(feedback.label(feedback.CHANNEL_LABELS, channel, lang), count)
          for channel, count in summary["by_channel"].items()]),
        (text("by_customer", lang), text("customer", lang),
         [(f"{code} {names.get(code, '')}".strip(), count) for code, count in summary["by_customer"].items()]),
        (text("by_dept", lang), text("dept", lang),
         [(dept_name(code), count) for code, count in summary["by_dept"].items()]),
    ]


_CODED = {"kind": "kind", "channel": "channel", "status": "feedback_status"}


def shown(summary: dict[str, Any], column: str, value: Any, lang: str = "en") -> Any:
    """A coded value of an entry or topic as a person reads it in `lang` (kinds, channels, statuses, departments)."""
    from csat import vocabulary

    if column in _CODED:
        return vocabulary.word(_CODED[column], value, lang)
    if column == "dept" and value:
        return summary["dept_names"].get(value, {}).get(lang, value)
    return value


def _md_cell(value: Any) -> str:
    from csat.markdown import table_cell

    return table_cell(value)


def render_md(summary: dict[str, Any], lang: str = "en", company: str = "") -> str:
    lines = [f"# {text('title', lang)} {summary['quarter']}", ""]
    if company:
        lines += [f"{_md_cell(company)} · {summary['start']} – {summary['end']}", ""]
    lines += [f"| {text('quarter', lang)} | {summary['quarter']} |", "|---|---|"]
    lines += [f"| {_md_cell(label_)} | {_md_cell(value)} |" for label_, value in headline(summary, lang)]
    for title, first, rows in count_tables(summary, lang):
        lines += ["", f"## {title}", "", f"| {first} | {text('count', lang)} |", "|---|---:|"]
        lines += [f"| {_md_cell(name)} | {count} |" for name, count in rows] or [f"| {text('none', lang)} | 0 |"]
    if summary["repeat_topics"]:
        lines += ["", f"## {text('repeat_topics', lang)}", "",
                  f"| {text('customer', lang)} | {text('kind', lang)} | {text('product', lang)} | {text('count', lang)} | {text('id', lang)} |",
                  "|---|---|---|---:|---|"]
        lines += [f"| {_md_cell(topic['customer'])} | {shown(summary, 'kind', topic['kind'], lang)} | {_md_cell(topic['product'])} | {topic['count']} |"
                  f" {_ids(topic['entries'], lang)} |" for topic in summary["repeat_topics"]]
    complaints = [row for row in summary["entries"] if row["complaint"]]
    if complaints:
        lines += ["", f"## {text('complaints', lang)}", "",
                  f"| {text('id', lang)} | {text('received', lang)} | {text('customer', lang)} | {text('kind', lang)} |"
                  f" {text('status', lang)} | {text('reply_days', lang)} | {text('text', lang)} |",
                  "|---:|---|---|---|---|---:|---|"]
        lines += [f"| {row['id']} | {row['received']:%Y-%m-%d %H:%M} | {_md_cell(row['customer'])} | {shown(summary, 'kind', row['kind'], lang)} |"
                  f" {shown(summary, 'status', row['status'], lang)} | {_number(row['reply_days'])} | {_md_cell(row['text'])} |" for row in complaints]
    return "\n".join(lines) + "\n"


def render_xlsx(summary: dict[str, Any], path: Path, lang: str = "en", company: str = "") -> Path:
    """A workbook with the key figures, the count tables and every entry; written atomically."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from csat.sheets.write import set_text_cell

    bold = Font(bold=True)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = text("summary", lang)
    sheet.append([f"{text('title', lang)} {summary['quarter']}"])
    sheet["A1"].font = Font(bold=True, size=14)
    if company:
        set_text_cell(sheet.cell(row=2, column=1), company)
    row_number = 3
    for label_, value in headline(summary, lang):
        set_text_cell(sheet.cell(row=row_number, column=1), label_)
        set_text_cell(sheet.cell(row=row_number, column=2), value)
        row_number += 1
    row_number += 1
    for title, first, rows in count_tables(summary, lang):
        sheet.cell(row=row_number, column=1, value=title).font = bold
        row_number += 1
        sheet.cell(row=row_number, column=1, value=first).font = bold
        sheet.cell(row=row_number, column=2, value=text("count", lang)).font = bold
        row_number += 1
        for name, count in rows:
            set_text_cell(sheet.cell(row=row_number, column=1), name)
            sheet.cell(row=row_number, column=2, value=count)
            row_number += 1
        row_number += 1
    sheet.column_dimensions["A"].width = 44
    sheet.column_dimensions["B"].width = 30

    detail = workbook.create_sheet(text("entries", lang))
    columns = ["id", "received", "customer", "kind", "complaint", "channel", "dept", "product", "status",
               "replied_at", "reply_days", "capa", "text"]
    detail.append([text(column, lang) for column in columns])
    for cell in detail[1]:
        cell.font = bold
    for row in summary["entries"]:
        values = []
        for column in columns:
            value = row.get(column)
            values.append(("yes" if value else "no") if column == "complaint" else shown(summary, column, value, lang))
        detail.append([None] * len(values))
        for index, value in enumerate(values, start=1):
            set_text_cell(detail.cell(row=detail.max_row, column=index), value)
    for letter, width in zip("ABCDEFGHIJKLM", (6, 18, 10, 12, 10, 10, 12, 16, 10, 18, 10, 16, 60)):
        detail.column_dimensions[letter].width = width
    for cells in detail.iter_rows(min_row=2, min_col=13, max_col=13):
        cells[0].alignment = Alignment(wrap_text=True, vertical="top")

    if summary["repeat_topics"]:
        topics = workbook.create_sheet(text("repeat_topics", lang)[:31])
        topics.append([text(key, lang) for key in ("customer", "kind", "product", "count", "id")])
        for topic in summary["repeat_topics"]:
            topics.append([None] * 5)
            for index, value in enumerate([topic["customer"], shown(summary, "kind", topic["kind"], lang), topic["product"], topic["count"],
                                           _ids(topic["entries"], lang)], start=1):
                set_text_cell(topics.cell(row=topics.max_row, column=index), value)
    from csat.files import replace_into

    return replace_into(Path(path), workbook.save)

