"""The half-year survey report, computed once as plain data.

`build()` returns a dict whose top-level keys and item keys are the JSON
contract of `csat report --format json` (numbers unrounded, None where
undefined); the other renderers read the same dict. Earlier rounds are
summarised by SQL aggregates (count, sum, sum of squares per item and round);
only the requested round's scores are fetched, once, into numpy.

Definitions a reader of the report may ask about:
- response rate: invited customers who returned at least one response, over
  customers invited (None when nobody was invited, e.g. phone-only rounds);
- CSI: the template-weighted mean of item means, renormalised over items with data;
- a customer's score: the same weighted mean over that customer's own item
  means (several respondents of one customer are averaged per item first);
- small sample: an item with fewer counted answers than `report.min_n`
  (default 5) is marked `small_sample` and "only 2 answers" in its reason; its
  Student t interval is clipped to the item's scale;
- key drivers: Pearson r of each item's scores with the respondent's score on
  the item coded `overall` when the round has one, else with the respondent's
  weighted score over all items (`driver_basis` says which).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from csat import scoring
from csat.errors import CsatError, NotFound
from csat.dates import shown_comment
from csat.i18n import _
from csat.reports import queries

OVERALL_CODE = "overall"
LOWEST_CUSTOMERS = 5


def _rules(settings, action_limit: float) -> scoring.Rules:
    return scoring.Rules(action_limit=action_limit, margin=settings.survey.margin, top_box=settings.survey.top_box)


def _pick_round(all_rounds: list[queries.RoundRow], counts: dict, period: str | None) -> queries.RoundRow:
    if not all_rounds:
        raise NotFound(_("no survey rounds yet; open one with `csat survey open --half 2024H1`"))
    if period is None:
        answered = [round_ for round_ in all_rounds if counts.get(round_.id, (0, 0))[0] > 0]
        if not answered:
            raise CsatError(_("no survey round has responses yet; import returned forms first"))
        return answered[-1]
    for round_ in all_rounds:
        if round_.period == str(period):
            return round_
    known = ", ".join(round_.period for round_ in all_rounds)
    raise NotFound(_("no survey round for {period}; rounds: {known}", period=period, known=known))


def _trend(settings, lang: str, history: list[queries.RoundRow], round_items: list[queries.RoundItemRow],
           moments: list[tuple], current_means: dict[int, dict] | None = None,
           invitations: dict | None = None, responses: dict | None = None) -> dict[str, Any]:
    """Means, n and status of every item in every given round, and each round's CSI and response figures.

    current_means overrides the SQL aggregate of the last round with exact values (item id -> stats).
    """
    by_round: dict[int, list[queries.RoundItemRow]] = {}
    for row in round_items:
        by_round.setdefault(row.round_id, []).append(row)
    stats = {(round_id, item_id): scoring.from_moments(count, total, squares)
             for round_id, item_id, count, total, squares, *_ in moments}
    if current_means is not None and history:
        for item_id, values in current_means.items():
            stats[(history[-1].id, item_id)] = values
    # Items in order of their latest appearance in the template.
    items: dict[int, queries.RoundItemRow] = {}
    for round_ in history:
        for row in by_round.get(round_.id, []):
            items.pop(row.item_id, None)
            items[row.item_id] = row
    ordered = sorted(items.values(), key=lambda row: row.position)
    series: dict[int, list[dict[str, Any]]] = {item_id: [] for item_id in items}
    earlier_means: dict[int, list[float]] = {item_id: [] for item_id in items}
    round_records = []
    for round_ in history:
        template = {row.item_id: row for row in by_round.get(round_.id, [])}
        means, weights = [], []
        for item_id in items:
            row = template.get(item_id)
            values = stats.get((round_.id, item_id), {"n": 0, "mean": None, "sd": None})
            if row is None:  # not asked in this round
                series[item_id].append({"period": round_.period, "n": 0, "mean": None,
                                        "action_limit": None, "status": None, "reason": None})
                continue
            assessment = scoring.assess(values["mean"], earlier_means[item_id], _rules(settings, row.action_limit), lang)
            series[item_id].append({"period": round_.period, "n": values["n"], "mean": values["mean"],
                                    "action_limit": row.action_limit, "status": assessment.status,
                                    "reason": assessment.reason})
            means.append(values["mean"])
            weights.append(row.weight)
            if values["mean"] is not None:
                earlier_means[item_id].append(values["mean"])
        invited, responded = (invitations or {}).get(round_.id, (0, 0))
        round_records.append({
            "period": round_.period, "status": round_.status, "invited": invited,
            "responses": (responses or {}).get(round_.id, (0, 0))[0],
            "response_rate": responded / invited if invited else None,
            "csi": scoring.weighted_index(means, weights),
        })
    return {
        "periods": [round_.period for round_ in history],
        "rounds": round_records,
        "items": [{"code": row.code, "label": row.label(lang), "label_en": row.label_en, "label_zh": row.label_zh,
                   "series": series[row.item_id]} for row in ordered],
    }


def build_trend(session, settings, lang: str | None = None) -> dict[str, Any]:
    """Every round side by side: per item its mean, n and status in each round; per round CSI and response rate."""
    lang = lang or settings.company.lang
    all_rounds = queries.rounds(session)
    if not all_rounds:
        raise NotFound(_("no survey rounds yet; open one with `csat survey open --half 2024H1`"))
    round_ids = [round_.id for round_ in all_rounds]
    trend = _trend(settings, lang, all_rounds, queries.round_items(session, round_ids),
                   queries.item_moments(session, round_ids), invitations=queries.invitation_counts(session),
                   responses=queries.response_counts(session))
    return {"kind": "trend", "lang": lang, "company": settings.company.name,
            "action_limit": settings.survey.action_limit, "margin": settings.survey.margin,
            "min_action_limit": settings.procedure.min_action_limit,
            "below_minimum": _below_minimum(settings, [row for row in queries.round_items(session, round_ids[-1:])]),
            **trend}


def _below_minimum(settings, template) -> list[dict[str, Any]]:
    """The limits in force below the procedure's minimum: the setting, and items as the round froze them.

    A store from before the rule may hold them; the report names them rather than hide them.
    """
    from csat.settings import least_limit

    minimum = settings.procedure.min_action_limit
    found = []
    if settings.survey.action_limit < least_limit(minimum) - 1e-9:
        found.append({"code": "survey.action_limit", "action_limit": settings.survey.action_limit,
                      "least": least_limit(minimum)})
    for row in template:
        least = least_limit(minimum, row.scale_min, row.scale_max)
        if row.action_limit < least - 1e-9:
            found.append({"code": row.code, "action_limit": row.action_limit, "least": least})
    return found


def build(session, settings, period: str | None = None, lang: str | None = None,
          answers: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """The survey report of one round (default: the latest round with responses).

    With answers=True the data also carries every response's raw answers (for the xlsx workbook).
    """
    lang = lang or settings.company.lang
    _preload("scipy.special")
    all_rounds = queries.rounds(session)
    counts = queries.response_counts(session)
    current = _pick_round(all_rounds, counts, period)
    history = [round_ for round_ in all_rounds if round_.period <= current.period]
    round_items = queries.round_items(session, [round_.id for round_ in history])
    template = [row for row in round_items if row.round_id == current.id]
    moments = queries.item_moments(session, [round_.id for round_ in history[:-1]])
    responses = queries.round_responses(session, current.id)
    response_ids, item_ids, scores = queries.round_scores(session, current.id)
    invitations = queries.invitation_counts(session)

    answers_of = _AnswerIndex(response_ids, item_ids, scores, responses, template)
    per_item = scoring.per_item(answers_of.item, answers_of.score, len(template))
    exact = {row.item_id: scoring.describe(values, row.action_limit, settings.survey.top_box)
             for row, values in zip(template, per_item)}
    trend = _trend(settings, lang, history, round_items, moments, exact, invitations, counts)
    items = _items(settings, lang, template, exact, trend)
    weights = [row.weight for row in template]

    respondent_scores, _, matrix = scoring.group_scores(answers_of.respondent, answers_of.item, answers_of.score,
                                                        len(responses), weights)
    customer_scores, customer_answers, _ = scoring.group_scores(answers_of.customer, answers_of.item,
                                                                answers_of.score, len(answers_of.customer_ids), weights)
    codes = [row.code for row in template]
    basis_is_overall = OVERALL_CODE in codes
    basis = matrix[:, codes.index(OVERALL_CODE)] if basis_is_overall else respondent_scores
    drivers = _drivers(items, matrix, basis, skip=OVERALL_CODE if basis_is_overall else None)
    customers = _customers(responses, answers_of.customer_ids, customer_scores, customer_answers,
                           settings.survey.action_limit)

    round_record = trend["rounds"][-1]
    previous_round = next((record for record in reversed(trend["rounds"][:-1]) if record["csi"] is not None), None)
    csi = scoring.weighted_index([item["mean"] for item in items], weights)
    flagged = [{"code": item["code"], "label": item["label"], "status": item["status"], "reason": item["reason"],
                "mean": item["mean"], "action_limit": item["action_limit"]}
               for item in items if item["status"] in scoring.FLAGGED]
    data: dict[str, Any] = {
        "period": current.period,
        "action_limit": settings.survey.action_limit,
        "min_action_limit": settings.procedure.min_action_limit,
        "below_minimum": _below_minimum(settings, template),
        "invited": round_record["invited"],
        "responses": round_record["responses"],
        "response_rate": round_record["response_rate"],
        "csi": csi,
        "items": items,
        "customers": customers,
        "drivers": drivers,
        "driver_basis": "overall" if basis_is_overall else "weighted_score",
        "flagged": flagged,
        "focus": _focus(drivers),
        "previous_csi": previous_round["csi"] if previous_round else None,
        "csi_change": csi - previous_round["csi"] if previous_round and csi is not None else None,
        "responding_customers": len(answers_of.customer_ids),
        "margin": settings.survey.margin,
        "min_n": settings.report.min_n,
        "top_box": settings.survey.top_box,
        "round_status": current.status,
        "company": settings.company.name,
        "lang": lang,
        "generated_at": (now or datetime.now()).replace(microsecond=0).isoformat(sep=" "),
        "comments": _comments(session, current.id, responses, template, lang),
        "trend": trend,
    }
    if answers:
        data["answers"] = _answer_rows(session, current.id, responses, template, lang)
    return data


class _AnswerIndex:
    """The round's counted answers as 0-based item, respondent and customer indexes (numpy arrays).

    Respondents follow `responses` (ordered by customer code), customers their first appearance there;
    answers to items outside the round's template are dropped.
    """

    def __init__(self, response_ids: np.ndarray, item_ids: np.ndarray, scores: np.ndarray,
                 responses: list[tuple], template: list[queries.RoundItemRow]):
        item = _index_of(item_ids, np.array([row.item_id for row in template], dtype=np.int64))
        respondent = _index_of(response_ids, np.array([row[0] for row in responses], dtype=np.int64))
        keep = (item >= 0) & (respondent >= 0)
        self.item, self.respondent, self.score = item[keep], respondent[keep], scores[keep]
        self.customer_ids = list(dict.fromkeys(row[1] for row in responses))
        customer_of_response = _index_of(np.array([row[1] for row in responses], dtype=np.int64),
                                         np.array(self.customer_ids, dtype=np.int64))
        self.customer = customer_of_response[self.respondent]


def _items(settings, lang: str, template: list[queries.RoundItemRow], exact: dict[int, dict],
           trend: dict[str, Any]) -> list[dict[str, Any]]:
    """The item table: statistics, the previous round with data, status and reason."""
    series_of = {entry["code"]: entry["series"] for entry in trend["items"]}
    items = []
    for row in template:
        values = exact[row.item_id]
        earlier = [point for point in series_of[row.code][:-1] if point["mean"] is not None]
        previous = earlier[-1] if earlier else None
        assessment = scoring.assess(values["mean"], [point["mean"] for point in earlier],
                                    _rules(settings, row.action_limit), lang)
        values = dict(values)
        values["ci_low"], values["ci_high"] = scoring.clip_interval(values["ci_low"], values["ci_high"],
                                                                    row.scale_min, row.scale_max)
        small = scoring.small_sample(values["n"], settings.report.min_n)
        reasons = list(assessment.reasons)
        if small and values["n"] > 0:
            reasons.append(scoring.small_sample_reason(values["n"], lang))
        items.append({
            "code": row.code, "label": row.label(lang), **values,
            "previous_mean": previous["mean"] if previous else None,
            "change": values["mean"] - previous["mean"] if previous and values["mean"] is not None else None,
            "status": assessment.status, "reason": "; ".join(reasons) if reasons else None,
            "small_sample": small,
            "label_en": row.label_en, "label_zh": row.label_zh, "weight": row.weight,
            "action_limit": row.action_limit, "previous_period": previous["period"] if previous else None,
            "slope": assessment.slope, "projection": assessment.projection,
        })
    return items


def _preload(module: str) -> None:
    """Import a slow module on a helper thread while the database works (sqlite3 releases the GIL).

    scipy.special takes a third of a second to import; the scoring code imports
    it normally later and simply waits if this thread is not done yet.
    """
    import sys
    import threading

    if module not in sys.modules:
        threading.Thread(target=__import__, args=(module,), name=f"preload {module}").start()


def _index_of(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Position of each value in keys (-1 when absent), vectorised."""
    if keys.size == 0 or values.size == 0:
        return np.full(values.shape, -1, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    positions = np.clip(np.searchsorted(sorted_keys, values), 0, keys.size - 1)
    found = sorted_keys[positions] == values
    return np.where(found, order[positions], -1).astype(np.int64)


def _drivers(items: list[dict], matrix: np.ndarray, basis: np.ndarray, skip: str | None) -> list[dict[str, Any]]:
    drivers = []
    for column, item in enumerate(items):
        if item["code"] == skip:
            continue
        r, n = scoring.correlation(matrix[:, column], basis) if matrix.size else (None, 0)
        drivers.append({"code": item["code"], "label": item["label"], "correlation": r, "n": n,
                        "mean": item["mean"], "status": item["status"]})
    drivers.sort(key=lambda driver: (driver["correlation"] is None, -(driver["correlation"] or 0.0)))
    return drivers


def _focus(drivers: list[dict]) -> dict[str, Any] | None:
    """The flagged item most tied to overall satisfaction: where action pays most."""
    for driver in drivers:
        if driver["status"] in scoring.FLAGGED and driver["correlation"] is not None:
            return {"code": driver["code"], "label": driver["label"], "correlation": driver["correlation"]}
    return None


def _customers(responses: list[tuple], customer_ids: list[int], scores: np.ndarray, answers: np.ndarray,
               action_limit: float) -> list[dict[str, Any]]:
    first = {}
    respondents: dict[int, int] = {}
    for row in responses:
        first.setdefault(row[1], row)
        respondents[row[1]] = respondents.get(row[1], 0) + 1
    records = []
    for position, customer_id in enumerate(customer_ids):
        score = scoring.finite(scores[position]) if position < scores.size else None
        records.append({"code": first[customer_id][2], "name": first[customer_id][3], "score": score,
                        "n_answers": int(answers[position]) if position < answers.size else 0,
                        "respondents": respondents[customer_id],
                        "below": score is not None and score < action_limit - scoring.TOLERANCE})
    records.sort(key=lambda record: (record["score"] is None, record["score"] or 0.0, record["code"]))
    return records


def lowest_customers(data: dict[str, Any], count: int = LOWEST_CUSTOMERS) -> list[dict[str, Any]]:
    """The lowest-scoring customers of a built report (all that are below the limit, at least `count`)."""
    scored = [customer for customer in data["customers"] if customer["score"] is not None]
    below = [customer for customer in scored if customer["below"]]
    return scored[:max(count, len(below))]


def _comments(session, round_id: int, responses: list[tuple], template: list[queries.RoundItemRow],
              lang: str) -> list[dict[str, Any]]:
    by_response = {row[0]: row for row in responses}
    labels = {row.item_id: (row.code, row.label(lang)) for row in template}
    comments = []
    for row in responses:
        if row[6] and row[6].strip():
            comments.append({"customer": row[2], "name": row[3], "respondent": row[4], "item": None,
                             "item_label": None, "text": shown_comment(row[6].strip(), lang)})
    for response_id, item_id, text in queries.answer_comments(session, round_id):
        response = by_response.get(response_id)
        if response is None or not text.strip():
            continue
        code, label = labels.get(item_id, (None, None))
        comments.append({"customer": response[2], "name": response[3], "respondent": response[4], "item": code,
                         "item_label": label, "text": text.strip()})
    comments.sort(key=lambda comment: (comment["customer"], comment["respondent"], comment["item"] or ""))
    return comments


def _answer_rows(session, round_id: int, responses: list[tuple], template: list[queries.RoundItemRow],
                 lang: str) -> dict:
    """Every response of the round as one row: its scores in template order, 'N/A' or None for blanks."""
    column = {row.item_id: position for position, row in enumerate(template)}
    cells: dict[int, list[Any]] = {row[0]: [None] * len(template) for row in responses}
    for response_id, item_id, score, not_applicable in queries.all_answers(session, round_id):
        position = column.get(item_id)
        if position is None or response_id not in cells:
            continue
        cells[response_id][position] = "N/A" if not_applicable else (None if score is None else float(score))
    rows = [{"customer": row[2], "name": row[3], "respondent": row[4],
             "answered_on": row[5].isoformat() if hasattr(row[5], "isoformat") else row[5],
             "scores": cells[row[0]], "comment": shown_comment(row[6], lang)} for row in responses]
    return {"items": [row.code for row in template], "rows": rows}
