"""The printable CAPA report form, sent to the owner department: xlsx (openpyxl) or HTML (Jinja2).

Both are drawn from one list of (label, value) sections built by `form_data`,
so the two formats always carry the same fields. Labels speak the chosen
language; text typed by people is written as plain text (never a formula in
xlsx, always escaped in HTML). Files are written to a temporary name and then
renamed, so a failure never leaves half a form.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from csat.errors import CsatError
from csat.i18n import NC_, _, in_context

# The form's words, in the catalog under the context "capa form" (Chinese as quality departments write them).
_LABELS = {
    "title": NC_("capa form", "Corrective and Preventive Action Report"),
    "number": NC_("capa form", "CAPA number"),
    "status": NC_("capa form", "Status"),
    "created": NC_("capa form", "Opened on"),
    "due": NC_("capa form", "Due date"),
    "dept": NC_("capa form", "Owner department"),
    "source": NC_("capa form", "Source"),
    "source_item": NC_("capa form", "Customer satisfaction survey"),
    "source_feedback": NC_("capa form", "Customer feedback"),
    "period": NC_("capa form", "Survey round"),
    "item": NC_("capa form", "Survey item"),
    "action_limit": NC_("capa form", "Action limit"),
    "feedback": NC_("capa form", "Feedback entry"),
    "customer": NC_("capa form", "Customer"),
    "received": NC_("capa form", "Received"),
    "channel": NC_("capa form", "Channel"),
    "kind": NC_("capa form", "Kind"),
    "product": NC_("capa form", "Product"),
    "subject": NC_("capa form", "Title"),
    "description": NC_("capa form", "Description of the nonconformity"),
    "investigation": NC_("capa form", "Investigation and actions"),
    "root_cause": NC_("capa form", "Root cause"),
    "correction": NC_("capa form", "Correction"),
    "corrective_action": NC_("capa form", "Corrective action"),
    "preventive_action": NC_("capa form", "Preventive action"),
    "verification": NC_("capa form", "Verification of effectiveness"),
    "verified_by": NC_("capa form", "Verified by"),
    "verified_at": NC_("capa form", "Verified on"),
    "verification_result": NC_("capa form", "Result"),
    "verification_note": NC_("capa form", "Note"),
    "verification_n": NC_("capa form", "Verification {n}"),
    "entered_at": NC_("capa form", "entered"),
    "reopened": NC_("capa form", "Reopened on {at}"),
    "reopened_by": NC_("capa form", "by"),
    "cancel_reason": NC_("capa form", "Reason for cancelling"),
    "closed_at": NC_("capa form", "Closed on"),
    "signatures": NC_("capa form", "Signatures"),
    "prepared_by": NC_("capa form", "Prepared by (quality)"),
    "acknowledged_by": NC_("capa form", "Acknowledged by (owner department)"),
    "approved_by": NC_("capa form", "Approved by"),
    "record": NC_("capa form", "Record"),
}


def label(key: str, lang: str) -> str:
    return in_context(lang, *_LABELS[key])


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def form_data(session, settings, capa, lang: str = "en") -> dict[str, Any]:
    """Every field of a CAPA as titled sections of (label, value) rows, in the chosen language."""
    from sqlmodel import select

    from csat.capa import records as capas
    from csat.feedback import log as feedback
    from csat.store.models import Customer, Feedback, Item, RoundItem, SurveyRound

    def row(key: str, value: Any) -> tuple[str, str]:
        return label(key, lang), _show(value)

    status = capas.STATUS_LABELS.get(capa.status, (capa.status, capa.status))[1 if lang == "zh" else 0]
    record = [row("number", capa.number), row("status", status), row("created", capa.created_at.date()),
              row("due", capa.due_date),
              row("dept", settings.department_name(capa.dept, lang) if capa.dept else "")]
    if capa.source_kind == "item":
        round_ = session.get(SurveyRound, capa.round_id)
        item = session.get(Item, capa.item_id)
        frozen = session.exec(select(RoundItem).where(RoundItem.round_id == capa.round_id,
                                                      RoundItem.item_id == capa.item_id)).first()
        item_label = (frozen.label_zh or frozen.label_en) if lang == "zh" and frozen else (
            frozen.label_en if frozen else "")
        record += [row("source", label("source_item", lang)), row("period", round_.period if round_ else ""),
                   row("item", f"{item.code if item else ''} {item_label}".strip())]
        if frozen:
            record.append(row("action_limit", f"{frozen.action_limit:g}"))
    elif capa.source_kind == "feedback":
        entry = session.get(Feedback, capa.feedback_id)
        customer = session.get(Customer, entry.customer_id)
        record += [row("source", label("source_feedback", lang)), row("feedback", f"#{entry.id}"),
                   row("customer", f"{customer.code} {customer.name}"), row("received", entry.received_at),
                   row("channel", feedback.label(feedback.CHANNEL_LABELS, entry.channel, lang)),
                   row("kind", feedback.label(feedback.KIND_LABELS, entry.kind, lang))]
        if entry.product:
            record.append(row("product", entry.product))
    record += [row("subject", capa.title), row("description", capa.description)]
    sections = [
        (label("record", lang), record),
        (label("investigation", lang), [row("root_cause", capa.root_cause), row("correction", capa.correction),
                                        row("corrective_action", capa.corrective_action),
                                        row("preventive_action", capa.preventive_action)]),
        (label("verification", lang), _verification_rows(session, capa, lang)
         + [row("closed_at", capa.closed_at.date() if capa.closed_at else None)]
         + ([row("cancel_reason", capa.cancel_reason)] if capa.cancel_reason else [])),
    ]
    signatures = [label(key, lang) for key in ("prepared_by", "acknowledged_by", "approved_by")]
    return {"lang": lang, "company": settings.company.name, "title": label("title", lang), "number": capa.number,
            "sections": sections, "signatures_title": label("signatures", lang), "signatures": signatures}


def _verification_rows(session, capa, lang: str) -> list[tuple[str, str]]:
    """Every verification and every reopening, in the order they happened.

    A CAPA still awaiting its check (open, in progress) gets the blank fields of the next
    one after them, to fill in by hand. A step written after the fact shows when it was
    entered beside the date it happened.
    """
    from csat.capa import records as capas

    history = capas.verifications(session, [capa.id])[capa.id]
    blank = [(label(key, lang), "") for key in ("verified_by", "verified_at", "verification_result",
                                                 "verification_note")] if capa.status in ("open", "in_progress") else []
    events = []  # (when it happened, when it was entered, label, text): the story in the order it happened
    for number, verification in enumerate(history, start=1):
        result = capas.RESULT_LABELS.get(verification.result, (verification.result, verification.result))
        lines = [f"{_when(verification.verified_at, verification.entered_at)} · {result[1 if lang == 'zh' else 0]} · "
                 f"{label('verified_by', lang)}: {verification.verified_by}"]
        if verification.note:
            lines.append(verification.note)
        lines += _entered(verification.verified_at, verification.entered_at, lang)
        events.append((verification.verified_at, verification.entered_at,
                       label("verification_n", lang).format(n=number), "\n".join(lines)))
    for reopening in capas.reopenings(session, [capa.id])[capa.id]:
        lines = [f"{reopening['reason']} ({label('reopened_by', lang)} {reopening['by']})",
                 *_entered(reopening["at"], reopening["entered_at"], lang)]
        events.append((reopening["at"], reopening["entered_at"],
                       label("reopened", lang).format(at=_when(reopening["at"], reopening["entered_at"])),
                       "\n".join(lines)))
    return [(name, text) for _at, _entered_at, name, text in sorted(events, key=lambda event: event[:2])] + blank


def _when(stated: datetime, entered: datetime) -> str:
    """When a step happened: the time if it was entered as it happened, the stated date if written after the fact."""
    return _show(stated.date() if stated.date() != entered.date() else stated)


def _entered(stated: datetime, entered: datetime, lang: str) -> list[str]:
    """A line saying when a step written after the fact was entered (none for a step entered as it happened)."""
    return [f"({label('entered_at', lang)} {_show(entered)})"] if stated.date() != entered.date() else []


def render_html(data: dict[str, Any]) -> str:
    from csat.templating import template

    return template("capa/form.html").render(**data)


def write_xlsx(data: dict[str, Any], path: Path) -> Path:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    from csat.sheets.write import set_text_cell

    thin = Side(style="thin", color="808080")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    shade = PatternFill("solid", fgColor="E8EEF4")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "CAPA"
    set_text_cell(sheet.cell(row=1, column=1), data["company"])
    sheet.cell(row=1, column=1).font = Font(bold=True, size=12)
    sheet.cell(row=2, column=1, value=data["title"]).font = Font(bold=True, size=14)
    sheet.merge_cells("A1:B1")
    sheet.merge_cells("A2:B2")
    row_number = 4
    for title, rows in data["sections"]:
        cell = sheet.cell(row=row_number, column=1, value=title)
        cell.font, cell.fill = Font(bold=True), shade
        sheet.cell(row=row_number, column=2).fill = shade
        row_number += 1
        for name, value in rows:
            name_cell, value_cell = sheet.cell(row=row_number, column=1), sheet.cell(row=row_number, column=2)
            set_text_cell(name_cell, name)
            set_text_cell(value_cell, value)
            name_cell.font = Font(bold=True)
            name_cell.alignment = Alignment(vertical="top", wrap_text=True)
            value_cell.alignment = Alignment(vertical="top", wrap_text=True)
            name_cell.border = value_cell.border = box
            lines = sum(max(1, len(part) // 60 + 1) for part in value.splitlines()) if value else 1
            sheet.row_dimensions[row_number].height = max(18, 15 * lines)
            row_number += 1
        row_number += 1
    sheet.cell(row=row_number, column=1, value=data["signatures_title"]).font = Font(bold=True)
    for signature in data["signatures"]:
        row_number += 1
        set_text_cell(sheet.cell(row=row_number, column=1), signature)
        sheet.cell(row=row_number, column=2, value="")
        sheet.cell(row=row_number, column=2).border = Border(bottom=thin)
        sheet.row_dimensions[row_number].height = 30
    sheet.column_dimensions["A"].width = 32
    sheet.column_dimensions["B"].width = 80
    sheet.print_title_rows = "1:2"
    sheet.page_setup.orientation = "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToHeight = 0
    from csat.files import replace_into

    return replace_into(Path(path), workbook.save)


def write_html(data: dict[str, Any], path: Path) -> Path:
    from csat.files import write_text

    return write_text(Path(path), render_html(data))


def write_form(session, settings, reference: str, path: Path, lang: str | None = None) -> Path:
    """Write the form of one CAPA; the format follows the file name (.xlsx or .html)."""
    from csat.capa import records as capas

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".html", ".htm"):
        raise CsatError(_("{name}: the form is written as .xlsx or .html; name the file accordingly", name=path.name))
    if not path.parent.is_dir():
        raise CsatError(_("cannot write {path}: folder {folder} does not exist", path=path, folder=path.parent))
    data = form_data(session, settings, capas.get(session, reference), lang or settings.company.lang)
    return write_xlsx(data, path) if suffix == ".xlsx" else write_html(data, path)
