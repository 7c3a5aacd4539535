"""The half-year survey report, computed once as plain data.

`build()` returns a dict whose top-level keys and item keys are the JSON
contract of `csat report --format json` (numbers unrounded, None where
undefined); the other renderers read the same dict. Earlier rounds are
summarised by SQL aggregates (count, sum, sum of squares per item and round);
the requested round by sums over its one-row-per-response matrix
(queries.RoundTable, read once as a numpy matrix): no answer is ever held as a
Python object, so a round of 100,000 responses costs about what its GROUP BY costs. Variances and correlations are
combined from shifted sums in rational arithmetic (scoring.exact_variance), so
they equal numpy's two-pass results to the last printed digit.

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

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from csat import scoring
from csat.errors import CsatError, NotFound
from csat.dates import DATE_AS_WRITTEN, shown_comment
from csat.i18n import _
from csat.reports import queries
from csat.reports.json_text import json_value, quote

OVERALL_CODE = "overall"
DATE_MARKER = "[" + DATE_AS_WRITTEN
LOWEST_CUSTOMERS = 10


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
          answers: bool = False, now: datetime | None = None, full: bool = True,
          stream: bool = False) -> dict[str, Any]:
    """The survey report of one round (default: the latest round with responses).

    Statistics come from SQL aggregates (see queries): no answer is held in Python. With full=False
    (what people read: the table, HTML, Markdown) `customers` holds only the `report.lowest_customers`
    lowest-scoring customers and `comments` the first `report.comments` comments; `customers_total`
    and `comments_total` always count them all. With answers=True the data also carries every
    response's raw answers for the xlsx workbook, as rows read from the store while they are written:
    iterate them inside the session. With stream=True (and full) `customers` and `comments` are read
    the same way, in batches each time they are iterated (the JSON and the workbook of a round of
    100,000 responses never hold them), so they too must be read inside the session.
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
    invitations = queries.invitation_counts(session)

    codes = [row.code for row in template]
    basis_is_overall = OVERALL_CODE in codes
    stream = stream and full
    with queries.RoundTable(session, current.id, template,
                            codes.index(OVERALL_CODE) if basis_is_overall else None) as table:
        exact = _item_statistics(settings, table, template)
        customer_rows, customers_total, customers_below = table.customer_scores(
            settings.survey.action_limit, scoring.TOLERANCE, None if full else settings.report.lowest_customers,
            stream)
        driver_sums = table.driver_sums(settings.survey.action_limit)
        trend = _trend(settings, lang, history, round_items, moments, exact, invitations, counts)
        items = _items(settings, lang, template, exact, trend)
        flagged = [{"code": item["code"], "label": item["label"], "status": item["status"], "reason": item["reason"],
                    "mean": item["mean"], "action_limit": item["action_limit"]}
                   for item in items if item["status"] in scoring.FLAGGED]
        flagged_codes = {item["code"] for item in flagged}
        comment_rows, comments_total = table.comments(
            {row.item_id for row in template if row.code in flagged_codes},
            sorted(template, key=lambda row: row.code), None if full else settings.report.comments, stream)
    weights = [row.weight for row in template]
    drivers = _drivers(items, driver_sums)
    customers = _customers(customer_rows, settings.survey.action_limit)
    round_record = trend["rounds"][-1]
    previous_round = next((record for record in reversed(trend["rounds"][:-1]) if record["csi"] is not None), None)
    csi = scoring.weighted_index([item["mean"] for item in items], weights)
    comments = _comments(comment_rows, template, flagged_codes, lang)
    display = {"lowest_customers": settings.report.lowest_customers, "comments": settings.report.comments,
               "customers_below": customers_below}
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
        "customers_total": customers_total,
        "drivers": drivers,
        "driver_basis": "overall" if basis_is_overall else "weighted_score",
        "flagged": flagged,
        "focus": _focus(drivers),
        "previous_csi": previous_round["csi"] if previous_round else None,
        "csi_change": csi - previous_round["csi"] if previous_round and csi is not None else None,
        "responding_customers": counts.get(current.id, (0, 0))[1],
        "margin": settings.survey.margin,
        "min_n": settings.report.min_n,
        "top_box": settings.survey.top_box,
        "round_status": current.status,
        "company": settings.company.name,
        "lang": lang,
        "generated_at": (now or datetime.now()).replace(microsecond=0).isoformat(sep=" "),
        "comments": comments,
        "comments_total": comments_total,
        "trend": trend,
        "display": display,
    }
    if answers:
        data["answers"] = {"items": codes, "rows": _AnswerRows(session, current.id, template, lang)}
    return data


def _item_statistics(settings, table: queries.RoundTable, template: list[queries.RoundItemRow]) -> dict[int, dict]:
    """item id -> what scoring.describe gives, from the round's SQL aggregates."""
    sums = table.item_sums(settings.survey.top_box, scoring.TOLERANCE)
    medians = table.medians() if any(values[0] for values in sums) else [None] * len(template)
    exact = {}
    for row, values, median in zip(template, sums, medians):
        n, total, shift, shifted_sum, shifted_squares, low, high, below, top = values
        exact[row.item_id] = scoring.from_sums(n, total, shift, shifted_sum, shifted_squares, low, high,
                                               int(below or 0), int(top or 0), median)
    return exact


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


def _drivers(items: list[dict], sums: list[tuple | None]) -> list[dict[str, Any]]:
    """Pearson r of each item with the basis (the overall item, skipped, or the weighted score), from SQL
    sums of squares and cross-products."""
    drivers = []
    for item, values in zip(items, sums):
        if values is None:   # the basis item itself
            continue
        n, sum_x, sum_y, squares_x, squares_y, products, low_x, high_x, low_y, high_y = values
        n = int(n or 0)
        constant = n == 0 or low_x == high_x or low_y == high_y
        r = scoring.correlation_from_sums(n, sum_x, sum_y, squares_x, squares_y, products, constant)
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


class Records(Sequence):
    """A list of report records kept as the store's row tuples and made into dicts when read.

    A round of 100,000 customers and 100,000 comments costs a third of the memory this way; the
    renderers read it like a list of dicts (iterate, index, slice, len). The rows may also be
    queries.StreamedRows, read from the store on each iteration (never held). `encode`, when given,
    maps the rows to the JSON texts of their records (what json.dumps makes of record(row)), one generator
    over them all: the JSON of a round of 100,000 customers then builds no dicts at all."""

    def __init__(self, rows: list[tuple], record, encode=None):
        self.rows, self.record, self.encode = rows, record, encode

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        if not isinstance(self.rows, (list, tuple)):   # rows streamed from the store: read up to the index
            from itertools import islice

            if isinstance(index, slice):
                if (index.start or 0) < 0 or (index.stop or 0) < 0 or index.step not in (None, 1):
                    return list(self)[index]
                return list(islice(self, index.start, index.stop))
            if index < 0:
                return list(self)[index]
            found = list(islice(self, index, index + 1))
            if not found:
                raise IndexError(index)
            return found[0]
        if isinstance(index, slice):
            return [self.record(row) for row in self.rows[index]]
        return self.record(self.rows[index])

    def __iter__(self):
        return map(self.record, self.rows)

    def json_texts(self):
        """Each record as its JSON object text, in order."""
        if self.encode is None:
            import json

            return (json.dumps(record, ensure_ascii=False, allow_nan=False) for record in self)
        return self.encode(iter(self.rows))

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, (list, tuple, Records)) else NotImplemented

    def __repr__(self) -> str:
        return f"Records({len(self.rows)} rows)"


def _customers(rows, action_limit: float) -> Records:
    """The customers' rows as records, lowest score first."""
    bound = action_limit - scoring.TOLERANCE

    def record(row: tuple) -> dict[str, Any]:
        code, name, score, n_answers, respondents = row
        score = scoring.finite(score)
        return {"code": code, "name": name, "score": score, "n_answers": int(n_answers),
                "respondents": int(respondents), "below": score is not None and score < bound}

    def encode(rows):
        # Codes and names are text the store never leaves NULL. `score - score` is 0.0 (false) for a finite
        # score and NaN (true) for NaN and infinities, which the record makes None: the cheapest test per row.
        return (f'{{"code": {quote(code)}, "name": {quote(name)}, '
                f'"score": {"null" if score is None or score - score else repr(float(score))}, '
                f'"n_answers": {int(n_answers)}, "respondents": {int(respondents)}, '
                f'"below": {"false" if score is None or score - score or score >= bound else "true"}}}'
                for code, name, score, n_answers, respondents in rows)

    return Records(rows, record, encode)


def lowest_customers(data: dict[str, Any], count: int | None = None) -> list[dict[str, Any]]:
    """The `count` lowest-scoring customers of a built report (default: csat.toml [report] lowest_customers)."""
    if count is None:
        count = data.get("display", {}).get("lowest_customers", LOWEST_CUSTOMERS)
    from itertools import islice

    return list(islice((customer for customer in data["customers"] if customer["score"] is not None), count))


def more_below(data: dict[str, Any], shown: list[dict[str, Any]]) -> int:
    """Customers below the limit that the report's list of lowest customers does not show."""
    return max(data.get("display", {}).get("customers_below", 0) - sum(customer["below"] for customer in shown), 0)


def _comments(rows, template: list[queries.RoundItemRow], flagged_codes: set[str],
              lang: str) -> Records:
    """The comment rows (already in order: on items needing action first) as records."""
    labels = {row.item_id: (row.code, row.label(lang)) for row in template}
    encoded = {item_id: f'"item": {json_value(code)}, "item_label": {json_value(label)}, '
                        f'"text": ' for item_id, (code, label) in labels.items()}
    flags = {item_id: "true" if code in flagged_codes else "false" for item_id, (code, _label) in labels.items()}
    no_item = '"item": null, "item_label": null, "text": '
    marker = DATE_MARKER   # only a response's own comment can carry one (shown_comment translates it)

    def record(row: tuple) -> dict[str, Any]:
        code, name, respondent, item_id, text = row
        item, label = labels.get(item_id, (None, None)) if item_id is not None else (None, None)
        return {"customer": code, "name": name, "respondent": respondent, "item": item, "item_label": label,
                "text": shown_comment(text.strip(), lang) if item_id is None else text.strip(),
                "on_flagged": item in flagged_codes}

    def encode(rows):   # codes, names, respondents and comments are text the store never leaves NULL
        return (f'{{"customer": {quote(code)}, "name": {quote(name)}, '
                f'"respondent": {quote(respondent)}, {encoded.get(item_id, no_item)}'
                f'{quote(shown_comment(text.strip(), lang) if item_id is None and marker in text else text.strip())}, '
                f'"on_flagged": {flags.get(item_id, "false")}}}'
                for code, name, respondent, item_id, text in rows)

    return Records(rows, record, encode)


class _AnswerRows:
    """Every response of the round as one row (its scores in template order, 'N/A' or None for blanks),
    read from the store in batches while iterated: the workbook streams them without holding them all."""

    def __init__(self, session, round_id: int, template: list[queries.RoundItemRow], lang: str):
        self.session, self.round_id, self.lang = session, round_id, lang
        self.column = {row.item_id: position for position, row in enumerate(template)}
        self.width = len(template)

    def __iter__(self):
        row, current = None, None
        for (response_id, code, name, respondent, answered_on, comment, item_id, score,
             not_applicable) in queries.answer_table(self.session, self.round_id):
            if response_id != current:
                if row is not None:
                    yield row
                current = response_id
                row = {"customer": code, "name": name, "respondent": respondent,
                       "answered_on": answered_on.isoformat() if hasattr(answered_on, "isoformat") else answered_on,
                       "scores": [None] * self.width, "comment": shown_comment(comment, self.lang)}
            position = self.column.get(item_id)
            if position is not None:
                row["scores"][position] = "N/A" if not_applicable else (None if score is None else float(score))
        if row is not None:
            yield row
