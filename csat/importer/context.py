"""What the store knows that an import is checked against, loaded once per run.

Customers, items and rounds are read in bulk into dictionaries (a 100,000-row
sheet must not cost 100,000 queries), inside the same write transaction that
will store the answers, so nothing can change between checking and writing.
A period with no round yet is checked against the current template, which is
exactly what `open_round` will freeze when the answers are written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import Any, Optional

from csat.importer.answers import AnswerBlock
from csat.importer.validate import ItemRule, Problems, text_key
from csat.i18n import _


@dataclass(slots=True)
class Candidate:
    """One response as read from a source, validated, not yet compared with the store."""

    where: str                  # FILE!SHEET!CELL that names the response (its customer cell)
    origin: str                 # FILE!SHEET it came from
    row: str                    # how to point at it within its origin, e.g. "row 7"
    source: str                 # form, sheet or manual
    source_file: str
    period: str
    customer_id: int
    respondent: str
    title: str
    answered_on: Optional[date]
    comment: str
    block: AnswerBlock          # the answers: row `block_row` of a block shared with the rest of its sheet
    block_row: int = 0
    content_hash: str = ""
    invitation_id: Optional[int] = None   # a returned form: the invitation it answers (one form per invitation)
    sheet: str = ""                       # the sheet it was read from (a form's answer sheet)
    row_number: Optional[int] = None      # its row in that sheet (a consolidated sheet; None for a form)

    @classmethod
    def single(cls, answers: list[tuple], **fields) -> "Candidate":
        """A candidate with its own one-row block, from (item_id, score, not_applicable, raw, note) tuples."""
        candidate = cls(block=AnswerBlock.from_answers(answers), **fields)
        candidate.content_hash = candidate.block.content_hash(0, candidate.title, candidate.answered_on,
                                                              candidate.comment)
        return candidate

    @property
    def answers(self) -> list[tuple]:
        """(item_id, score or None, not_applicable, raw, note) per item, in item-id order."""
        return self.block.answers(self.block_row)

    @property
    def answer_count(self) -> int:
        return self.block.width


@dataclass(slots=True)
class Existing:
    response_id: int
    content_hash: str
    source: str
    source_file: str
    respondent: str = ""
    withdrawn: bool = False     # kept for the record, counted nowhere; new answers for its key correct it


@dataclass
class RoundInfo:
    """A round as an import sees it; round_id None means it opens when the answers are written."""

    period: str
    round_id: Optional[int]
    status: str
    rules: dict[str, ItemRule]
    invitations: dict[int, tuple[int, str, bool]] = field(default_factory=dict)  # customer -> (id, token, responded)
    existing: dict[tuple[int, str], Existing] = field(default_factory=dict)
    forms: dict[int, list[Existing]] = field(default_factory=dict)   # customer -> responses read from forms

    @property
    def opens(self) -> bool:
        return self.round_id is None

    @property
    def closed(self) -> bool:
        return self.status == "closed"


class Context:
    """Customers, items and rounds of the store, for validating one import."""

    # How a returned form's day/month/year date is read (forms.date_order); the import sets it.
    date_order = "auto"

    def __init__(self, session):
        from sqlalchemy import select

        from csat.store.models import Item, RoundItem

        self.session = session
        self.connection = session.connection()
        # 100,000 customers: plain driver tuples, not result rows, are worth the difference here.
        cursor = self.connection.connection.dbapi_connection.cursor()
        try:
            cursor.execute("SELECT id, code FROM customer")
            customers = cursor.fetchall()
        finally:
            cursor.close()
        self.code_of: dict[int, str] = dict(customers)
        self.codes: dict[str, int] = {code: customer_id for customer_id, code in customers}
        self._by_folded_code: Optional[dict[str, list[int]]] = None
        self._by_name: Optional[dict[str, list[int]]] = None
        self.items = list(self.connection.execute(
            select(Item.id, Item.code, Item.label_en, Item.label_zh, Item.active, Item.scale_min, Item.scale_max,
                   Item.choices, Item.position).order_by(Item.position, Item.code)))
        self.item_code = {item.id: item.code for item in self.items}
        self.headers: dict[str, set[str]] = {}
        for item in self.items:
            for text in (item.code, item.label_en, item.label_zh):
                self._add_header(text, item.code)
        for item_id, label_en, label_zh in self.connection.execute(
                select(RoundItem.item_id, RoundItem.label_en, RoundItem.label_zh).distinct()):
            for text in (label_en, label_zh):
                self._add_header(text, self.item_code.get(item_id, ""))
        self.rounds: dict[str, RoundInfo] = {}

    def _add_header(self, text: str, code: str) -> None:
        if text and code:
            self.headers.setdefault(text_key(text), set()).add(code)

    # Customers -----------------------------------------------------------------------------

    def customer(self, value: Any) -> tuple[Optional[int], Optional[str]]:
        """(customer_id, None) for a code (or a unique name), else (None, problem)."""
        from sqlalchemy import select

        from csat.store.models import Customer

        if value is None or value == "":
            return None, _("no customer given")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        found = self.codes.get(text)
        if found is not None:
            return found, None
        if not text:
            return None, _("no customer given")
        if self._by_folded_code is None:
            self._by_folded_code, self._by_name = {}, {}
            for customer_id, code, name in self.connection.execute(
                    select(Customer.id, Customer.code, Customer.name)):
                self._by_folded_code.setdefault(code.casefold(), []).append(customer_id)
                self._by_name.setdefault(text_key(name), []).append(customer_id)
        matches = self._by_folded_code.get(text.casefold()) or self._by_name.get(text_key(text)) or []
        if len(matches) == 1:
            return matches[0], None
        if len(matches) > 1:
            codes = ", ".join(sorted(self.code_of[match] for match in matches))
            return None, _("customer {text!r} matches several customers ({codes}); use the code", text=text, codes=codes)
        return None, _("unknown customer {code!r}", code=text)

    # Rounds ----------------------------------------------------------------------------------

    def round_for(self, period: str) -> RoundInfo:
        info = self.rounds.get(period)
        if info is None:
            info = self._load_round(period)
            self.rounds[period] = info
        return info

    def _load_round(self, period: str) -> RoundInfo:
        from sqlalchemy import select

        from csat.store.models import Invitation, Item, Response, RoundItem, SurveyRound

        found = self.connection.execute(
            select(SurveyRound.id, SurveyRound.status).where(SurveyRound.period == period)).first()
        if found is None:
            rules = {item.code: ItemRule(item.code, item.id, item.scale_min, item.scale_max, item.choices,
                                         item.label_en, item.label_zh)
                     for item in self.items if item.active}
            return RoundInfo(period=period, round_id=None, status="new", rules=rules)
        round_id, status = found
        rules = {}
        for row in self.connection.execute(
                select(Item.code, RoundItem.item_id, RoundItem.scale_min, RoundItem.scale_max, RoundItem.choices,
                       RoundItem.label_en, RoundItem.label_zh)
                .join(Item, Item.id == RoundItem.item_id).where(RoundItem.round_id == round_id)
                .order_by(RoundItem.position)):
            rules[row.code] = ItemRule(row.code, row.item_id, row.scale_min, row.scale_max, row.choices,
                                       row.label_en, row.label_zh)
        info = RoundInfo(period=period, round_id=round_id, status=status, rules=rules)
        for invitation_id, customer_id, token, responded_at in self.connection.execute(
                select(Invitation.id, Invitation.customer_id, Invitation.token, Invitation.responded_at)
                .where(Invitation.round_id == round_id)):
            info.invitations[customer_id] = (invitation_id, token, responded_at is not None)
        for response_id, customer_id, respondent, digest, source, source_file, withdrawn_at in self.connection.execute(
                select(Response.id, Response.customer_id, Response.respondent, Response.content_hash,
                       Response.source, Response.source_file, Response.withdrawn_at)
                .where(Response.round_id == round_id)):
            existing = Existing(response_id, digest, source, source_file, respondent, withdrawn_at is not None)
            info.existing[(customer_id, respondent)] = existing
            if source == "form":
                info.forms.setdefault(customer_id, []).append(existing)
        return info

    def check_round(self, info: RoundInfo, closed_ok: bool = False) -> Optional[str]:
        """A problem when answers cannot go into this round.

        `closed_ok`: a closed round is checked later, per response (see `plan`): answers it already
        holds may be imported again (unchanged), new or different ones are refused.
        """
        if info.closed and not closed_ok:
            return closed_problem(info.period)
        if not info.rules:
            return _("the {period} round has no items (the template is empty); load some with `csat items load`",
                     period=info.period)
        return None


@dataclass
class Plan:
    """What an import would change: new responses, unchanged ones, replacements."""

    new: list[Candidate] = field(default_factory=list)
    unchanged: list[Candidate] = field(default_factory=list)
    replaced: list[tuple[Candidate, Existing]] = field(default_factory=list)
    # The same answers as a withdrawn response: left withdrawn (re-importing a folder must not bring it back).
    withdrawn: list[tuple[Candidate, Existing]] = field(default_factory=list)
    # Extra responses of a replaced form's invitation (stored twice before forms were matched to
    # their invitation): deleted, so the customer keeps the one response the form is.
    removed: list[tuple[Candidate, Existing]] = field(default_factory=list)
    # A dry run only: answers that differ from what a closed round holds (existing None: not stored at
    # all). A real import refuses them (the round is closed); a dry run says what differs.
    differing: list[tuple[Candidate, Optional[Existing]]] = field(default_factory=list)

    @property
    def answers(self) -> int:
        width = attrgetter("block.width")
        return sum(map(width, self.new)) + sum(width(candidate) for candidate, _ in self.replaced)


def closed_problem(period: str) -> str:
    return _("the {period} round is closed; reopen it with `csat survey open --half {period} --reopen` to import answers",
             period=period)


def describe_key(context: Context, candidate: Candidate) -> str:
    customer = context.code_of[candidate.customer_id]
    if candidate.respondent:
        return _("{customer} ({period}, respondent {name!r})", customer=customer, period=candidate.period,
                 name=candidate.respondent)
    return _("{customer} ({period})", customer=customer, period=candidate.period)


def plan(context: Context, candidates: list[Candidate], replace: bool, problems: Problems,
         dry_run: bool = False) -> Plan:
    """Compare candidates with each other and with the store: new, unchanged, replaced, or a problem.

    A returned form is one response of its invitation whoever filled it in: its
    respondent is part of its content, not of its identity (see _plan_form). In a
    closed round only unchanged answers pass; a dry run lists the others as differing
    (to check an archived file against the store) where an import refuses them.
    """
    result = Plan()
    seen: dict[tuple, Candidate] = {}
    closed_reported: set[tuple[str, str]] = set()
    periods = set(map(attrgetter("period"), candidates))
    existing_by_period = {period: context.round_for(period).existing for period in periods}
    closed = {period for period in periods if context.round_for(period).closed}
    if _all_new(candidates, existing_by_period, closed):
        result.new = list(candidates)
        return result
    for candidate in candidates:
        if candidate.invitation_id is not None:
            form_key = ("form", candidate.period, candidate.customer_id)
            first = seen.get(form_key)
            if first is not None:
                _same_twice(context, result, problems, first, candidate)
                continue
            seen[form_key] = candidate
        key = (candidate.period, candidate.customer_id, candidate.respondent)
        first = seen.get(key)
        if first is not None:
            _same_twice(context, result, problems, first, candidate)
            continue
        seen[key] = candidate
        if candidate.invitation_id is not None and _plan_form(context, result, candidate, replace, problems,
                                                              dry_run):
            continue
        existing = existing_by_period[candidate.period].get((candidate.customer_id, candidate.respondent))
        changes = existing is None or existing.content_hash != candidate.content_hash
        if changes and candidate.period in closed:
            if dry_run:
                result.differing.append((candidate, existing))
            elif (candidate.origin, candidate.period) not in closed_reported:  # once per sheet and round
                closed_reported.add((candidate.origin, candidate.period))
                problems.add(candidate.where, closed_problem(candidate.period))
            continue
        if existing is None:
            result.new.append(candidate)
        elif existing.withdrawn:
            # Different answers for a withdrawn response are its correction (no --replace needed: the
            # withdrawal said the old ones are wrong); the very same answers stay withdrawn.
            if existing.content_hash == candidate.content_hash:
                result.withdrawn.append((candidate, existing))
            else:
                result.replaced.append((candidate, existing))
        elif existing.content_hash == candidate.content_hash:
            result.unchanged.append(candidate)
        elif replace:
            result.replaced.append((candidate, existing))
        else:
            came = existing.source_file or existing.source or _("an earlier import")
            problems.add(candidate.where, _("{response} was already imported with different answers (from {source});"
                                            " use --replace --reason TEXT to overwrite", response=describe_key(context, candidate),
                                            source=came))
    return result


def _all_new(candidates: list[Candidate], existing_by_period: dict[str, dict], closed: set[str]) -> bool:
    """True when the loop in `plan` would file every candidate as new: no returned form, rounds that hold
    no response yet and are open, no key twice. A fresh round's 100,000 sheet rows are then
    planned by three passes at C speed instead of a Python loop."""
    if closed or any(existing_by_period.values()):
        return False
    if any(invitation_id is not None for invitation_id in set(map(attrgetter("invitation_id"), candidates))):
        return False
    keys = set(map(attrgetter("period", "customer_id", "respondent"), candidates))
    return len(keys) == len(candidates)


def _same_twice(context: Context, result: Plan, problems: Problems, first: Candidate, candidate: Candidate) -> None:
    """A response met a second time in one import: unchanged when it says the same, else a problem."""
    if first.origin == candidate.origin:
        who = _(" (respondent {name!r})", name=candidate.respondent) if candidate.respondent else ""
        problems.add(candidate.where, _("same customer {customer} twice in one sheet{who}, first in {first}",
                                        customer=context.code_of[candidate.customer_id], who=who, first=first.row))
    elif first.content_hash != candidate.content_hash or first.respondent != candidate.respondent:
        problems.add(candidate.where, _("{response} is also answered, differently, in {first}",
                                        response=describe_key(context, candidate), first=first.where))
    else:
        result.unchanged.append(candidate)


def _plan_form(context: Context, result: Plan, candidate: Candidate, replace: bool, problems: Problems,
               dry_run: bool = False) -> bool:
    """A returned form against the response its invitation already has; False when it has none yet.

    The same form again is unchanged; a corrected one (other scores, another
    respondent) is refused naming what differs, or with --replace replaces the
    stored response (its respondent too), so the customer keeps one response.
    """
    from csat.importer.differences import differences

    info = context.round_for(candidate.period)
    stored = sorted(info.forms.get(candidate.customer_id, []), key=lambda existing: existing.response_id)
    if not stored:
        return False
    label = f"{context.code_of[candidate.customer_id]} {candidate.period}"
    if len(stored) == 1 and stored[0].withdrawn:
        # As for any withdrawn response: the very same form stays withdrawn; a corrected one is
        # its correction, with no --replace needed (the withdrawal said the old answers are wrong).
        if stored[0].content_hash == candidate.content_hash and stored[0].respondent == candidate.respondent:
            result.withdrawn.append((candidate, stored[0]))
            return True
        replace = True
    if len(stored) == 1 and stored[0].content_hash == candidate.content_hash \
            and stored[0].respondent == candidate.respondent:
        result.unchanged.append(candidate)
        return True
    if info.closed:          # a closed round takes its own answers again, nothing else
        if dry_run:
            found = next((existing for existing in stored if existing.respondent == candidate.respondent), stored[0])
            result.differing.append((candidate, found))
        else:
            problems.add(candidate.where, closed_problem(candidate.period))
        return True
    if len(stored) > 1 and not replace:        # even when one of them says the same: the others must go
        names = ", ".join(repr(existing.respondent) for existing in stored)
        problems.add(candidate.where, _("{response}: already imported from {n} forms (respondents {names});"
                                        " use --replace --reason TEXT to keep only this one", response=label, n=len(stored),
                                        names=names))
        return True
    # The stored response to replace: the one under the form's respondent, else the first.
    existing = next((existing for existing in stored if existing.respondent == candidate.respondent), stored[0])
    if not replace:
        changed = differences(context, candidate, existing)
        problems.add(candidate.where, _("{response}: already imported with different answers ({changes}); use --replace --reason TEXT",
                                        response=label, changes=changed))
        return True
    other = info.existing.get((candidate.customer_id, candidate.respondent))
    if other is not None and all(other.response_id != form.response_id for form in stored):
        came = other.source_file or other.source or _("an earlier import")
        problems.add(candidate.where, _("{response}: respondent {name!r} already has another response (from {source});"
                                        " the form cannot replace its own under that name", response=label,
                                        name=candidate.respondent, source=came))
        return True
    result.removed.extend((candidate, form) for form in stored if form is not existing)
    result.replaced.append((candidate, existing))
    return True
