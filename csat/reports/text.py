"""Headings and words of the survey report (their translations live in the message catalog), and display formatting.

Data (JSON) keeps raw numbers; these helpers only shape what people read.
"""

from __future__ import annotations

from typing import Any

from csat.i18n import NC_, in_context
from csat.numbers import fixed

HEADINGS: dict[str, tuple[str, str]] = {
    "title": NC_("report", "Customer satisfaction survey {period}"),
    "trend_title": NC_("report", "Customer satisfaction trend"),
    "company": NC_("report", "Company"),
    "period": NC_("report", "Period"),
    "generated": NC_("report", "Generated"),
    "invited": NC_("report", "Invited"),
    "responses": NC_("report", "Responses"),
    "response_rate": NC_("report", "Response rate"),
    "csi": NC_("report", "CSI"),
    "csi_long": NC_("report", "Customer satisfaction index (CSI)"),
    "previous_csi": NC_("report", "Previous CSI"),
    "action_limit": NC_("report", "Action limit"),
    "min_action_limit": NC_("report", "Procedure's minimum action limit"),
    "below_minimum": NC_("report", "Below the procedure's minimum ({minimum}): {items}"),
    "summary": NC_("report", "Summary"),
    "items": NC_("report", "Items"),
    "item": NC_("report", "Item"),
    "code": NC_("report", "Code"),
    "n": NC_("report", "n"),
    "mean": NC_("report", "Mean"),
    "sd": NC_("report", "SD"),
    "median": NC_("report", "Median"),
    "min": NC_("report", "Min"),
    "max": NC_("report", "Max"),
    "ci": NC_("report", "95% CI"),
    "ci_low": NC_("report", "CI low"),
    "ci_high": NC_("report", "CI high"),
    "below_share": NC_("report", "Below limit"),
    "top_box_share": NC_("report", "Top box"),
    "previous_mean": NC_("report", "Previous"),
    "change": NC_("report", "Change"),
    "status": NC_("report", "Status"),
    "reason": NC_("report", "Reason"),
    "limit": NC_("report", "Limit"),
    "weight": NC_("report", "Weight"),
    "flagged": NC_("report", "Items needing action"),
    "no_flags": NC_("report", "No item is below its action limit or at risk."),
    "no_flags_no_data": NC_("report", "No responses yet: no item can be scored against its action limit."),
    "trend": NC_("report", "Trend"),
    "drivers": NC_("report", "Key drivers"),
    "drivers_overall": NC_("report", "Correlation of each item with the respondent's overall satisfaction item."),
    "drivers_weighted": NC_("report", "Correlation of each item with the respondent's weighted score over all items."),
    "correlation": NC_("report", "Correlation"),
    "focus": NC_("report", "Of the items needing action, {label} matters most (r = {r})."),
    "customers": NC_("report", "Customers"),
    "lowest": NC_("report", "Lowest-scoring customers"),
    "customer": NC_("report", "Customer"),
    "name": NC_("report", "Name"),
    "score": NC_("report", "Score"),
    "n_answers": NC_("report", "Answers"),
    "respondents": NC_("report", "Respondents"),
    "comments": NC_("report", "Comments"),
    "no_comments": NC_("report", "No comments."),
    "comments_flagged": NC_("report", "On items needing action"),
    "comments_other": NC_("report", "Other comments"),
    "more_below": NC_("report", "… and {count} more below the limit: every customer is on the Customers sheet of `{command}`"),
    "more_comments": NC_("report", "… and {count} more comments: every comment is on the Comments sheet of `{command}`"),
    "respondent": NC_("report", "Respondent"),
    "answered_on": NC_("report", "Answered on"),
    "comment": NC_("report", "Comment"),
    "answers": NC_("report sheet", "Answers"),
    "round": NC_("report", "Round"),
    "no_responses": NC_("report", "The {period} round has no responses yet ({invited} invited): nothing to score."),
    "not_applicable": NC_("report", "N/A"),
    "chart_mean": NC_("report", "Mean"),
    "chart_limit": NC_("report", "Action limit"),
    "small_note": NC_("report", "* fewer than {min_n} answers: read the mean and its interval with care."),
}

STATUS_WORDS: dict[str, tuple[str, str]] = {
    "below": NC_("report status", "below"),
    "at_risk": NC_("report status", "at risk"),
    "ok": NC_("report status", "ok"),
    "no_data": NC_("report status", "no data"),
}

STATUS_COLOURS = {"below": "C00000", "at_risk": "E69500", "ok": "2E7D32", "no_data": "808080"}
STATUS_FILLS = {"below": "F8D7DA", "at_risk": "FFF3CD", "ok": "D4EDDA", "no_data": "EEEEEE"}


def headings(lang: str) -> dict[str, str]:
    """The report's words in a language, from the message catalog (context "report")."""
    return {key: in_context(lang, *word) for key, word in HEADINGS.items()}


def no_flags_text(data: dict[str, Any]) -> str:
    """What stands under "Items needing action" when none is flagged: a round without responses
    has nothing scored, which is not the same as nothing below the limit."""
    h = headings(data["lang"])
    return h["no_flags"] if data["responses"] else h["no_flags_no_data"]


def status_word(status: str, lang: str) -> str:
    return in_context(lang, *STATUS_WORDS[status]) if status in STATUS_WORDS else status


def number(value: Any, digits: int = 1) -> str:
    """A number for people: fixed decimals, '' for None."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return fixed(value, digits)


def percent(value: Any, digits: int = 1) -> str:
    if value is None:
        return ""
    return fixed(value * 100, digits) + "%"


def signed(value: Any, digits: int = 1) -> str:
    if value is None:
        return ""
    return fixed(value, digits, sign=True)


def arrow(change: Any) -> str:
    """A trend arrow for a change between rounds (a tenth of a point or less is steady)."""
    if change is None:
        return ""
    if change > 0.05:
        return "↑"
    if change < -0.05:
        return "↓"
    return "→"


def n_text(item: dict[str, Any]) -> str:
    """An item's n, starred when it is a small sample (see the `small_note` under the table)."""
    return f"{item['n']}*" if item.get("small_sample") and item["n"] else str(item["n"])


def small_note(data: dict[str, Any]) -> str | None:
    """The footnote for starred n, when some item of the report is a small sample."""
    if not any(item.get("small_sample") and item["n"] for item in data["items"]):
        return None
    return headings(data["lang"])["small_note"].format(min_n=data.get("min_n", 5))


def limit_text(value: Any) -> str:
    return "" if value is None else f"{value:g}"


def below_minimum_text(data: dict[str, Any]) -> str:
    """The line a report prints when limits in force are below the procedure's minimum ('' when none are)."""
    below = data.get("below_minimum") or []
    if not below:
        return ""
    items = ", ".join(f"{entry['code']} {entry['action_limit']:g} < {entry['least']:g}" for entry in below)
    return headings(data["lang"])["below_minimum"].format(minimum=limit_text(data["min_action_limit"]), items=items)
def workbook_command(data: dict[str, Any]) -> str:
    """The command that writes the workbook holding every customer and every comment of the round."""
    return f"csat report --half {data['period']} -o report-{data['period']}.xlsx"


def more_below_text(data: dict[str, Any], shown: list[dict[str, Any]]) -> str | None:
    """'… and 12 more below the limit: ...' under a list of lowest customers cut at report.lowest_customers."""
    from csat.reports.survey import more_below

    count = more_below(data, shown)
    if not count:
        return None
    return headings(data["lang"])["more_below"].format(count=f"{count:,}", command=workbook_command(data))


def more_comments_text(data: dict[str, Any]) -> str | None:
    """'… and 250 more comments: ...' under comments cut at report.comments."""
    count = data.get("comments_total", len(data["comments"])) - len(shown_comments(data))
    if count <= 0:
        return None
    return headings(data["lang"])["more_comments"].format(count=f"{count:,}", command=workbook_command(data))


def shown_comments(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The comments people read: report.comments of them, those on items needing action first."""
    limit = data.get("display", {}).get("comments")
    return list(data["comments"] if limit is None else data["comments"][:limit])


def comment_groups(data: dict[str, Any]) -> list[tuple[str | None, list[dict[str, Any]]]]:
    """The shown comments as (heading, comments) groups: on items needing action, then the others.

    Without comments on flagged items there is one group and no heading."""
    comments = shown_comments(data)
    flagged = [comment for comment in comments if comment.get("on_flagged")]
    if not flagged:
        return [(None, comments)] if comments else []
    h = headings(data["lang"])
    other = [comment for comment in comments if not comment.get("on_flagged")]
    return [(h["comments_flagged"], flagged)] + ([(h["comments_other"], other)] if other else [])
