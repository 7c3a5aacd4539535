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
from typing import Any, Optional

from csat.importer.answers import AnswerBlock
from csat.importer.validate import ItemRule, Problems, text_key


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


@dataclass
class RoundInfo:
    """A round as an import sees it; round_id None means it opens when the answers are written."""

    period: str
    round_id: Optional[int]
    status: str
    rules: dict[str, ItemRule]
    invitations: dict[int, tuple[int, str, bool]] = field(default_factory=dict)  # customer -> (id, token, responded)
    existing: dict[tuple[int, str], Existing] = field(default_factory=dict)

    @property
    def opens(self) -> bool:
        return self.round_id is None

    @property
    def closed(self) -> bool:
        return self.status == "closed"


class Context:
    """Customers, items and rounds of the store, for validating one import."""

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
            return None, "no customer given"
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        found = self.codes.get(text)
        if found is not None:
            return found, None
        if not text:
            return None, "no customer given"
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
            return None, f"customer {text!r} matches several customers ({codes}); use the code"
        return None, f"unknown customer {text!r}"

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
        for response_id, customer_id, respondent, digest, source, source_file in self.connection.execute(
                select(Response.id, Response.customer_id, Response.respondent, Response.content_hash,
                       Response.source, Response.source_file).where(Response.round_id == round_id)):
            info.existing[(customer_id, respondent)] = Existing(response_id, digest, source, source_file)
        return info

    def check_round(self, info: RoundInfo, closed_ok: bool = False) -> Optional[str]:
        """A problem when answers cannot go into this round.

        `closed_ok`: a closed round is checked later, per response (see `plan`): answers it already
        holds may be imported again (unchanged), new or different ones are refused.
        """
        if info.closed and not closed_ok:
            return closed_problem(info.period)
        if not info.rules:
            return f"the {info.period} round has no items (the template is empty); load some with `csat items load`"
        return None


@dataclass
class Plan:
    """What an import would change: new responses, unchanged ones, replacements."""

    new: list[Candidate] = field(default_factory=list)
    unchanged: list[Candidate] = field(default_factory=list)
    replaced: list[tuple[Candidate, Existing]] = field(default_factory=list)

    @property
    def answers(self) -> int:
        return sum(candidate.answer_count for candidate in self.new) + sum(
            candidate.answer_count for candidate, _ in self.replaced)


def closed_problem(period: str) -> str:
    return (f"the {period} round is closed; reopen it with "
            f"`csat survey open --half {period} --reopen` to import answers")


def describe_key(context: Context, candidate: Candidate) -> str:
    text = f"{context.code_of[candidate.customer_id]} ({candidate.period}"
    if candidate.respondent:
        text += f", respondent {candidate.respondent!r}"
    return text + ")"


def plan(context: Context, candidates: list[Candidate], replace: bool, problems: Problems) -> Plan:
    """Compare candidates with each other and with the store: new, unchanged, replaced, or a problem."""
    result = Plan()
    seen: dict[tuple[str, int, str], Candidate] = {}
    closed_reported: set[tuple[str, str]] = set()
    existing_by_period = {period: context.round_for(period).existing
                          for period in {candidate.period for candidate in candidates}}
    for candidate in candidates:
        key = (candidate.period, candidate.customer_id, candidate.respondent)
        first = seen.get(key)
        if first is not None:
            if first.origin == candidate.origin:
                who = f" (respondent {candidate.respondent!r})" if candidate.respondent else ""
                problems.add(candidate.where, f"same customer {context.code_of[candidate.customer_id]} twice in one "
                                              f"sheet{who}, first in {first.row}")
            elif first.content_hash != candidate.content_hash:
                problems.add(candidate.where, f"{describe_key(context, candidate)} is also answered, differently, "
                                              f"in {first.where}")
            else:
                result.unchanged.append(candidate)
            continue
        seen[key] = candidate
        existing = existing_by_period[candidate.period].get((candidate.customer_id, candidate.respondent))
        changes = existing is None or existing.content_hash != candidate.content_hash
        if changes and context.round_for(candidate.period).closed:
            if (candidate.origin, candidate.period) not in closed_reported:  # once per sheet and round
                closed_reported.add((candidate.origin, candidate.period))
                problems.add(candidate.where, closed_problem(candidate.period))
            continue
        if existing is None:
            result.new.append(candidate)
        elif existing.content_hash == candidate.content_hash:
            result.unchanged.append(candidate)
        elif replace:
            result.replaced.append((candidate, existing))
        else:
            came = existing.source_file or existing.source or "an earlier import"
            problems.add(candidate.where, f"{describe_key(context, candidate)} was already imported with different "
                                          f"answers (from {came}); use --replace to overwrite")
    return result
