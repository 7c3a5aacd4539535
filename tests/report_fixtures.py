"""A store with several survey rounds of known answers, for scoring and report tests.

`seed()` writes any plan of rounds -> responses -> scores through the ORM
(real SQLite file, the rounds opened by csat.rounds.open_round); `standard()`
writes the four-round history below, whose item means were chosen to hit each
status rule, and returns what a report of its latest round must say.

Latest round 2024H2, default template, customers C-001..C-004 answer every
round, C-005 is invited but never answers (response rate 0.8):

item                2023H1 2023H2 2024H1 2024H2   status in 2024H2
quality               90     91     92     93     ok
delivery              88     87     86     83.5   below ("mean 83.5 < 85")
price                 84     86     85.5   86     ok (all four answers equal)
responsiveness        89     90     91     87     at_risk (within margin, down from 91)
tech_support          N/A    96     92     88.5   at_risk (three points falling, projected 84.7)
after_sales           92     93     94     95     ok (n = 1)
communication         90     90     90     N/A    no_data (N/A only)
complaint_handling    86     86.5   87     87.5   ok (n = 2: 80 and 95)
"""

from __future__ import annotations

from datetime import date
from typing import Any

NA = "N/A"
CUSTOMERS = [
    ("C-001", "Acme Motors", "en"),
    ("C-002", "华南机电有限公司", "zh"),
    ("C-003", "Borealis Pumps", "en"),
    ("C-004", "-Minus & <Sons>", "en"),
    ("C-005", "Silent Industries", "en"),
]
PERIODS = ["2023H1", "2023H2", "2024H1", "2024H2"]
MEANS = {
    "quality": [90, 91, 92, 93],
    "delivery": [88, 87, 86, 83.5],
    "price": [84, 86, 85.5, 86],
    "responsiveness": [89, 90, 91, 87],
    "tech_support": [None, 96, 92, 88.5],
    "after_sales": [92, 93, 94, 95],
    "communication": [90, 90, 90, None],
    "complaint_handling": [86, 86.5, 87, 87.5],
}
OFFSETS = {
    "quality": [-3, -1, 1, 3],
    "delivery": [-2, -2, 2, 2],
    "price": [-1, 1, -1, 1],
    "responsiveness": [-5, 5, -5, 5],
    "tech_support": [-2, -1, 1, 2],
    "after_sales": [1, -1, 1, -1],
    "communication": [0, 0, 0, 0],
    "complaint_handling": [-1, 1, -1, 1],
}
RESPONSE_COMMENT = "Delivery was late twice <script>alert('x')</script>"
FORMULA_COMMENT = '=HYPERLINK("http://evil.example","click")'


def standard_plan() -> dict[str, list[dict[str, Any]]]:
    """The four rounds of the table above as a seed() plan."""
    plan: dict[str, list[dict[str, Any]]] = {}
    for round_number, period in enumerate(PERIODS):
        latest = round_number == len(PERIODS) - 1
        responses = []
        for position, (code, _name, _lang) in enumerate(CUSTOMERS[:4]):
            scores: dict[str, Any] = {}
            for item, means in MEANS.items():
                mean = means[round_number]
                if mean is None:
                    scores[item] = NA
                    continue
                offset = OFFSETS[item][position]
                if latest and item == "price":
                    offset = 0
                scores[item] = mean + offset
            if latest:
                scores["after_sales"] = 95 if position == 0 else None
                scores["complaint_handling"] = {0: 80, 1: 95}.get(position)
            response = {"customer": code, "scores": scores, "answered_on": date(2024, 11, 3 + position)}
            if latest and code == "C-002":
                response["comment"] = RESPONSE_COMMENT
                response["item_comments"] = {"delivery": FORMULA_COMMENT}
            responses.append(response)
        plan[period] = responses
    return plan


def seed(store, plan: dict[str, list[dict[str, Any]]], customers=CUSTOMERS, invite: bool = True) -> dict[str, int]:
    """Write customers, rounds (opened with the current template), invitations and responses.

    plan: period -> list of {"customer", "scores": {item code: score | None (blank) | "N/A"},
    optional "respondent", "comment", "item_comments", "answered_on"}. Returns period -> round id.
    """
    from sqlmodel import select

    from csat.periods import Half
    from csat.store.models import Answer, Customer, Invitation, Item, Response
    from csat.survey.rounds import open_round

    round_ids = {}
    with store.session() as session:
        by_code = {}
        for code, name, lang in customers:
            customer = session.exec(select(Customer).where(Customer.code == code)).first()
            if customer is None:
                customer = Customer(code=code, name=name, language=lang, email=f"{code.lower()}@example.com")
                session.add(customer)
                session.flush()
            by_code[code] = customer
        item_ids = {item.code: item.id for item in session.exec(select(Item)).all()}
        for period, responses in plan.items():
            half = Half.parse(period)
            round_ = open_round(session, half, today=half.start)
            round_ids[period] = round_.id
            if invite:
                for code, customer in by_code.items():
                    session.add(Invitation(round_id=round_.id, customer_id=customer.id,
                                           token=f"{period}-{code}", status="sent"))
            for spec in responses:
                response = Response(round_id=round_.id, customer_id=by_code[spec["customer"]].id,
                                    respondent=spec.get("respondent", ""), comment=spec.get("comment", ""),
                                    answered_on=spec.get("answered_on"), source="manual")
                session.add(response)
                session.flush()
                comments = spec.get("item_comments", {})
                for item_code, score in spec["scores"].items():
                    session.add(Answer(response_id=response.id, item_id=item_ids[item_code],
                                       score=None if score in (None, NA) else float(score),
                                       not_applicable=score == NA, comment=comments.get(item_code, "")))
        session.flush()
    return round_ids


def standard(store) -> dict[str, int]:
    return seed(store, standard_plan())


def load_items(store, specs) -> None:
    """Replace the template with the given ItemSpecs (before any round is opened)."""
    from csat.registry import items

    with store.session() as session:
        items.load_template(session, specs, replace=True)
