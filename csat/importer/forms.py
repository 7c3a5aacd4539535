"""Returned survey forms: the signed identity sheet, then the cells it names.

A form is recognised by its identity sheet (csat.forms.identity.IDENTITY_SHEET),
whatever the file is called. The identity is verified with the workspace
secret before any answer is read: a form whose customer, period or cell
addresses were edited, or that was signed by another workspace, is refused.
Spreadsheet programs re-save forms their own way (LibreOffice may turn the
very hidden sheet into a hidden one and text that looks like a number into a
number), so keys and values are read back as text, and sheets by name
whatever their visibility.

The signed cells are where the answers were written, not necessarily where
they are now: form_layout.py follows rows and columns the customer moved, or
refuses the form with the cell named. A form left empty is refused (it is no
answer), and a form is one response of its invitation (see context.plan).
"""

from __future__ import annotations

import re
from typing import Any, Optional

from csat.dates import with_date_as_written
from csat.forms.identity import IDENTITY_SHEET, FormIdentity, IdentityError
from csat.i18n import _
from csat.importer.context import Candidate, Context
from csat.importer.form_layout import LayoutChanged, locate
from csat.importer.unseen import sheet_problems
from csat.importer.validate import Problems, clean_text, parse_date, parse_score, percent_problem
from csat.sheets.guard import column_letters
from csat.sheets.read import Sheet, normalise, split_address

def is_form(sheets: list[Sheet]) -> bool:
    return any(sheet.name == IDENTITY_SHEET for sheet in sheets)


def _as_text(value: Any) -> str:
    value = normalise(value)
    return "" if value is None else str(value)


def identity_rows(sheet: Sheet) -> tuple[dict[str, str], dict[str, str]]:
    """The identity's key/value pairs (column A/B) and the address of each value."""
    values, cells = {}, {}
    for offset, row in enumerate(sheet.grid):
        row_number = sheet.first_row + offset
        cells_in_row = {sheet.first_column + index: cell for index, cell in enumerate(row)}
        key = _as_text(cells_in_row.get(1))
        if key:
            values[key] = _as_text(cells_in_row.get(2))
            cells[key] = f"B{row_number}"
    return values, cells


_CODE_IN_BRACKETS = re.compile(r"[(（]\s*([^()（）]+?)\s*[)）]\s*$")


def other_customer_shown(sheet: Sheet, identity: FormIdentity, codes: dict[str, int]) -> Optional[tuple[str, str]]:
    """(cell, code) where the form's heading names another customer of this store than its signed identity.

    The signature proves the identity sheet came from this workspace, not that it belongs with the
    answers beside it: a customer holding two forms could move one's identity sheet into the other.
    The heading (the rows above the first answer) shows the customer as "Name (CODE)" or the bare code;
    naming another known customer, and never the signed one, gives the paste away.
    """
    try:
        first_answer = min(split_address(address)[0] for address in identity.items.values())
    except ValueError:
        return None
    other = None
    for offset, row in enumerate(sheet.grid[:max(0, first_answer - sheet.first_row)]):
        for index, value in enumerate(row):
            if not isinstance(value, str):
                continue
            text = value.strip()
            match = _CODE_IN_BRACKETS.search(text)
            for candidate in (text, match.group(1) if match else None):
                if candidate == identity.customer:
                    return None
                if candidate in codes and other is None:
                    other = (f"{column_letters(sheet.first_column + index)}{sheet.first_row + offset}", candidate)
    return other


def read_form(file_name: str, source_file: str, sheets: list[Sheet], context: Context, secret: bytes,
              half: Optional[str], problems: Problems) -> Optional[Candidate]:
    """The response in one returned form, or None (with problems) when it cannot be taken."""
    identity_sheet = next(sheet for sheet in sheets if sheet.name == IDENTITY_SHEET)
    rows, cells = identity_rows(identity_sheet)
    here = f"{file_name}!{IDENTITY_SHEET}"
    try:
        identity = FormIdentity.from_rows(rows, secret)
    except IdentityError as exc:
        problems.add(f"{here}!{cells.get('signature', 'A1')}", str(exc))
        return None
    customer_id = context.codes.get(identity.customer)
    if customer_id is None:
        problems.add(f"{here}!{cells.get('customer', 'A1')}",
                     _("unknown customer {customer!r}: the form comes from another workspace",
                       customer=identity.customer))
        return None
    if half is not None and identity.period != half:
        problems.add(f"{here}!{cells.get('period', 'A1')}", _("the form is for {period}, not --half {half}",
                                                                       period=identity.period, half=half))
        return None
    info = context.round_for(identity.period)
    if info.opens:
        problems.add(f"{here}!{cells.get('period', 'A1')}",
                     _("no {period} round in this store: the form comes from another workspace",
                       period=identity.period))
        return None
    round_problem = context.check_round(info, closed_ok=True)   # a closed round: its own answers again only (plan)
    if round_problem:
        problems.add(f"{here}!{cells.get('period', 'A1')}", round_problem)
        return None
    invitation = info.invitations.get(customer_id)
    if invitation is None or invitation[1] != identity.token:
        problems.add(f"{here}!{cells.get('token', 'A1')}",
                     _("the form's token does not match {customer}'s invitation for {period}"
                       " (re-issued, or sent from another workspace)", customer=identity.customer,
                       period=identity.period))
        return None
    answer_sheet = next((sheet for sheet in sheets if sheet.name == identity.sheet), None)
    if answer_sheet is None:
        problems.add(file_name, _("the form's answer sheet {sheet!r} is missing (renamed or deleted?)",
                                        sheet=identity.sheet))
        return None
    shown = other_customer_shown(answer_sheet, identity, context.codes)
    if shown is not None:
        address, code = shown
        problems.add(f"{file_name}!{identity.sheet}!{address}",
                     _("the sheet shows customer {shown} but its signed identity is {customer}'s: an identity sheet"
                       " taken from another customer's form; refused", shown=code, customer=identity.customer))
        return None
    try:
        identity = locate(identity, answer_sheet, info.rules)
    except LayoutChanged as exc:
        problems.add(f"{file_name}!{identity.sheet}!{exc.address}", str(exc))
        return None
    except ValueError as exc:   # a cell address in the identity that is not one: only a broken writer does that
        problems.add(f"{here}!{cells.get('items', 'A1')}", _("form identity malformed: {error}", error=exc))
        return None
    try:
        return _read_answers(file_name, source_file, identity, answer_sheet, info, customer_id, invitation[0],
                             problems, date_order=context.date_order)
    except ValueError as exc:   # a cell address in the identity that is not one: only a broken writer does that
        problems.add(f"{here}!{cells.get('items', 'A1')}", _("form identity malformed: {error}", error=exc))
        return None


def _read_answers(file_name: str, source_file: str, identity: FormIdentity, answer_sheet: Sheet, info,
                  customer_id: int, invitation_id: int, problems: Problems,
                  date_order: str = "auto") -> Optional[Candidate]:
    where = f"{file_name}!{identity.sheet}"
    named = [*identity.items.values(), *identity.comments.values(), identity.overall_comment, identity.respondent,
             identity.title, identity.date]
    bad = sheet_problems(file_name, answer_sheet, problems, only=named)   # answers Excel would not show
    percent_cells = {split_address(cell) for cell in (answer_sheet.marks or {}).get("percent", ())}
    answers = []
    first_cell = None
    for code, address in identity.items.items():
        first_cell = first_cell or address
        rule = info.rules.get(code)
        if rule is None:
            problems.add(f"{where}!{address}", _("item {item} is not part of the {period} round",
                                                                item=code, period=identity.period))
            bad = True
            continue
        value = answer_sheet.value(address)
        answer = parse_score(rule, value)
        if percent_cells and not isinstance(answer, str) and type(value) in (int, float) \
                and split_address(address) in percent_cells:     # typed as "90%": 0.9 (marks.py)
            answer = percent_problem(rule, value)
        if isinstance(answer, str):
            problems.add(f"{where}!{address}", answer)
            bad = True
            continue
        note_address = identity.comments.get(code)
        note_value = answer_sheet.value(note_address) if note_address else None
        note = clean_text(note_value, "comment", limit=None, single_line=False)[0]
        answers.append(answer[:4] + (note,))
    fields: dict[str, Any] = {}
    for name, limit, single_line in (("respondent", 200, True), ("title", 200, True),
                                     ("overall_comment", None, False)):
        address = getattr(identity, name)
        fields[name] = ""
        if address:
            text, problem = clean_text(answer_sheet.value(address), name, limit=limit, single_line=single_line)
            if problem:
                problems.add(f"{where}!{address}", problem)
                bad = True
            fields[name] = text
    answered_on = None
    if identity.date:
        written = answer_sheet.value(identity.date)
        answered_on, problem = parse_date(written, date_order)
        if problem:
            # A date alone never turns a signed, answered form away: what was written is kept with the comment.
            text = clean_text(written, "date", limit=100)[0]
            fields["overall_comment"] = with_date_as_written(fields["overall_comment"], text)
    if bad:
        return None
    if not any(score is not None or not_applicable or note for _, score, not_applicable, _, note in answers) \
            and not fields["respondent"] and not fields["title"] and not fields["overall_comment"]:
        # Returned untouched: storing it would count the customer as answered and stop the reminders.
        problems.add(file_name, _("the form of {customer} for {period} is empty",
                                        customer=identity.customer, period=identity.period))
        return None
    answers.sort(key=lambda answer: answer[0])
    return Candidate.single(
        answers,
        where=f"{where}!{first_cell or 'A1'}", origin=file_name, row=file_name, source="form",
        source_file=source_file, period=identity.period, customer_id=customer_id, respondent=fields["respondent"],
        title=fields["title"], answered_on=answered_on, comment=fields["overall_comment"],
        invitation_id=invitation_id, sheet=identity.sheet)
