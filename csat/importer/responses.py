"""Manual entry: answers taken by phone or at a visit, checked like any imported cell.

`csat response add C-001 --half 2024H1 --score quality=90 ...` builds the same
candidate a sheet row would, so the same scale, label, N/A and conflict rules
apply, and the same write path stores it (source "manual").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from csat.i18n import _
from csat.errors import Conflict, CsatError, NotFound, ValidationFailed
from csat.importer.context import Candidate, Context, plan
from csat.importer.validate import ItemRule, Problems, clean_text, parse_date, parse_score, text_key


@dataclass
class EntryItem:
    """An item as the person entering answers is asked it."""

    code: str
    label_en: str
    label_zh: str
    scale: str
    choices: str
    rule: Optional[ItemRule] = field(default=None, repr=False, compare=False)

    def problem(self, value: str) -> Optional[str]:
        """Why a typed answer cannot be stored for this item (None if it can), by the rule every import uses."""
        if self.rule is None:
            return None
        answer = parse_score(self.rule, value)
        return answer if isinstance(answer, str) else None


@dataclass
class ManualResult:
    status: str                # new, unchanged or replaced
    customer: str
    period: str
    answers: int
    round_opened: bool
    response_rate: Optional[float]
    round_closed: bool = False     # the round is closed (it takes the answers it holds again, unchanged)

    def record(self) -> dict:
        return {"status": self.status, "customer": self.customer, "period": self.period, "answers": self.answers,
                "round_opened": self.round_opened, "round_closed": self.round_closed,
                "response_rate": self.response_rate}


def latest_open_period(session) -> Optional[str]:
    from sqlmodel import select

    from csat.store.models import SurveyRound

    return session.exec(select(SurveyRound.period).where(SurveyRound.status == "open")
                        .order_by(SurveyRound.period.desc())).first()


def entry_items(session, period: str, code: Optional[str] = None, respondent: str = "", title: str = "",
                answered_on: Optional[str] = None) -> list[EntryItem]:
    """The items to ask for a period: the round's, or the current template if it has no round yet.

    Given the customer and the other options, checks them first, so nobody types a whole
    response only to hear that the customer code or the date was wrong.
    """
    context = Context(session)
    if code is not None and context.codes.get(code) is None:
        raise NotFound(_("unknown customer {code!r}; see `csat customer list --all`", code=code))
    info = context.round_for(period)
    problem = context.check_round(info)
    if problem:
        raise CsatError(problem)
    problems = Problems()
    for option, text, what in (("--respondent", respondent, "respondent"), ("--title", title, "title")):
        problem = clean_text(text, what)[1]
        if problem:
            problems.add(option, problem)
    problem = parse_date(answered_on)[1]
    if problem:
        problems.add("--date", problem)
    if problems:
        raise ValidationFailed(problems.report())
    return [EntryItem(code=rule.code, label_en=rule.label_en, label_zh=rule.label_zh, scale=rule.scale,
                      choices="" if rule.numeric else rule.choice_list(), rule=rule) for rule in info.rules.values()]


def parse_score_options(options: list[str]) -> list[tuple[str, str]]:
    """ITEM=VALUE strings as pairs; ValueError names a malformed one (a usage error)."""
    pairs = []
    for option in options:
        item, separator, value = option.partition("=")
        if not separator or not item.strip():
            raise ValueError(_("{option!r} is not ITEM=VALUE, e.g. quality=90", option=option))
        pairs.append((item.strip(), value.strip()))
    return pairs


def _find_rule(info_rules: dict[str, ItemRule], context: Context, item: str) -> Optional[ItemRule]:
    if item in info_rules:
        return info_rules[item]
    for code in context.headers.get(text_key(item), set()):
        if code in info_rules:
            return info_rules[code]
    return None


def add_response(session, code: str, period: str, scores: list[tuple[str, str]], comment: str = "",
                 respondent: str = "", title: str = "", answered_on: Optional[str] = None, replace: bool = False,
                 due_days: int = 30, dry_run: bool = False) -> ManualResult:
    """Validate and store one customer's answers for a period; ValidationFailed lists every problem."""
    from csat.importer.run import round_summaries
    from csat.importer.write import lock_responses, write_plan

    lock_responses(session)
    context = Context(session)
    customer_id = context.codes.get(code)
    if customer_id is None:
        raise NotFound(_("unknown customer {code!r}; see `csat customer list --all`", code=code))
    info = context.round_for(period)
    problem = context.check_round(info, closed_ok=True)   # a closed round: unchanged answers only (see plan)
    if problem:
        raise CsatError(problem)
    problems = Problems()
    answers, given = [], set()
    for item, value in scores:
        where = f"--score {item}={value}"
        rule = _find_rule(info.rules, context, item)
        if rule is None:
            problems.add(where, _("unknown item {item!r}; the {period} items are {items}", item=item, period=period,
                                    items=", ".join(info.rules)))
            continue
        if rule.code in given:
            problems.add(where, _("item {item} is given twice", item=rule.code))
            continue
        given.add(rule.code)
        answer = parse_score(rule, value)
        if isinstance(answer, str):
            problems.add(where, answer)
        else:
            answers.append(answer)
    respondent_text, problem = clean_text(respondent, "respondent")
    if problem:
        problems.add("--respondent", problem)
    title_text, problem = clean_text(title, "title")
    if problem:
        problems.add("--title", problem)
    day, problem = parse_date(answered_on)
    if problem:
        problems.add("--date", problem)
    comment_text = clean_text(comment, "comment", limit=None, single_line=False)[0]
    if not problems and not any(score is not None or not_applicable for _, score, not_applicable, _, _ in answers):
        problems.add("--score", _("no answers given: give at least one score or N/A"))
    if problems:
        raise ValidationFailed(problems.report())
    answers.sort(key=lambda answer: answer[0])
    manual = _("manual entry")
    candidate = Candidate.single(
        answers, where=manual, origin=manual, row=manual, source="manual", source_file="",
        period=period, customer_id=customer_id, respondent=respondent_text, title=title_text, answered_on=day,
        comment=comment_text)
    result = plan(context, [candidate], replace, problems)
    if problems:
        raise ValidationFailed(problems.report())
    if result.withdrawn:
        raise Conflict(_("these are the answers of withdrawn response #{number}; enter the corrected answers"
                         " (the withdrawal stands)", number=result.withdrawn[0][1].response_id))
    status = "new" if result.new else "replaced" if result.replaced else "unchanged"
    opened = False
    if not dry_run and (result.new or result.replaced):
        opened = bool(write_plan(session, context, result, due_days=due_days, close_ended=False).rounds_opened)
    summary = round_summaries(context, result, [candidate], [period] if opened else [], close_ended=False)[0]
    return ManualResult(status=status, customer=code, period=period, answers=len(answers),
                        round_opened=opened or info.opens, response_rate=summary.response_rate,
                        round_closed=summary.closed)
