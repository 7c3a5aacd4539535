"""JSON and Markdown renderings of a built survey or trend report.

JSON is the machine contract: numbers unrounded, None (null) where a value is
undefined, never NaN. Markdown is for pasting into meeting minutes: the same
content as the HTML report, without charts, every cell escaped so customer
text cannot break a table or inject markup.
"""

from __future__ import annotations

import json
import math
from itertools import islice
from typing import Any

from csat.markdown import inline as md
from csat.reports import text as words
from csat.reports.survey import Records, lowest_customers

JSON_EXCLUDED = ("answers", "trend", "display")
JSON_CHUNK = 2_000  # customers or comments encoded per json.dumps call: fast, and memory stays flat


def plain(value: Any) -> Any:
    """Data fit for json.dumps: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, Records)):
        return [plain(item) for item in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _plain_scalar(value: Any) -> Any:
    """json.dumps' fallback inside the long lists: what plain() makes of a value json cannot encode."""
    converted = plain(value)
    if converted is value:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")
    return converted


def _json_texts(values):
    """The JSON object text of each value of a long list: Records write their rows straight as text."""
    if isinstance(values, Records):
        return values.json_texts()
    return (json.dumps(value, ensure_ascii=False, allow_nan=False, default=_plain_scalar) for value in values)


def render_json(data: dict[str, Any]) -> str:
    """The report as JSON text (the stable contract of `csat report --format json`)."""
    return "".join(render_json_chunks(data))


def render_json_chunks(data: dict[str, Any]):
    """The report's JSON in pieces: the long lists (customers, comments) encoded a few thousand objects
    at a time (one line each batch), so a round of 100,000 customers never sits in memory as one text."""
    document = {key: value for key, value in data.items() if key not in JSON_EXCLUDED}
    long_lists = {key: document[key] for key in ("customers", "comments") if key in document}
    for key in long_lists:
        document[key] = []
    keys = list(document)
    yield "{\n"
    for position, key in enumerate(keys):
        ending = ",\n" if position < len(keys) - 1 else "\n"
        if key in long_lists:   # read in chunks: the records may stream from the store (survey.build stream=True)
            texts = _json_texts(long_lists[key])
            chunk = list(islice(texts, JSON_CHUNK))
            if not chunk:
                yield f"  {json.dumps(key)}: []" + ending
                continue
            yield f"  {json.dumps(key)}: [\n"
            while chunk:
                following = list(islice(texts, JSON_CHUNK))
                yield "    " + ", ".join(chunk) + (",\n" if following else "\n")
                chunk = following
            yield "  ]" + ending
            continue
        value = json.dumps(plain(document[key]), ensure_ascii=False, indent=2, allow_nan=False)
        yield f"  {json.dumps(key)}: " + value.replace("\n", "\n  ") + ending
    yield "}\n"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(md(cell) for cell in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]
    return lines


def _csi_text(data: dict[str, Any]) -> str:
    text = words.number(data["csi"])
    if data.get("previous_csi") is not None and data["csi"] is not None:
        text += f" ({words.arrow(data['csi_change'])} {words.signed(data['csi_change'])})"
    return text


def focus_sentence(data: dict[str, Any]) -> str | None:
    focus = data.get("focus")
    if not focus:
        return None
    return words.headings(data["lang"])["focus"].format(label=focus["label"], r=words.number(focus["correlation"], 2))


def render_md(data: dict[str, Any]) -> str:
    """The survey report as Markdown: summary, items, flagged items, trend, drivers, customers, comments."""
    h = words.headings(data["lang"])
    lang = data["lang"]
    lines = [f"# {md(h['title'].format(period=data['period']))}", "",
             f"{md(data['company'])} · {h['generated']} {data['generated_at']}", "", f"## {h['summary']}", ""]
    lines += _table(["", ""], [
        [h["invited"], data["invited"]], [h["responses"], data["responses"]],
        [h["response_rate"], words.percent(data["response_rate"])],
        [h["csi_long"], _csi_text(data)], [h["action_limit"], words.limit_text(data["action_limit"])],
        [h["min_action_limit"], words.limit_text(data["min_action_limit"])],
    ])
    if words.below_minimum_text(data):
        lines += ["", f"**{md(words.below_minimum_text(data))}**"]
    if not data["responses"]:
        lines += ["", md(h["no_responses"].format(period=data["period"], invited=data["invited"]))]
    lines += ["", f"## {h['items']}", ""]
    lines += _table(
        [h["item"], h["n"], h["mean"], h["sd"], h["ci"], h["median"], h["min"], h["max"], h["below_share"],
         h["top_box_share"], h["previous_mean"], h["change"], h["limit"], h["status"]],
        [[item["label"], words.n_text(item), words.number(item["mean"]), words.number(item["sd"]),
          f"{words.number(item['ci_low'])}–{words.number(item['ci_high'])}" if item["ci_low"] is not None else "",
          words.number(item["median"]), words.number(item["min"]), words.number(item["max"]),
          words.percent(item["below_share"]), words.percent(item["top_box_share"]), words.number(item["previous_mean"]),
          f"{words.arrow(item['change'])} {words.signed(item['change'])}".strip(),
          words.limit_text(item["action_limit"]), words.status_word(item["status"], lang)] for item in data["items"]],
    )
    note = words.small_note(data)
    if note:
        lines += ["", md(note)]
    lines += ["", f"## {h['flagged']}", ""]
    if data["flagged"]:
        lines += [f"- **{md(item['label'])}** ({md(words.status_word(item['status'], lang))}): {md(item['reason'])}"
                  for item in data["flagged"]]
        sentence = focus_sentence(data)
        if sentence:
            lines += ["", md(sentence)]
    else:
        lines.append(md(words.no_flags_text(data)))
    lines += ["", f"## {h['trend']}", ""] + trend_table_md(data["trend"], lang)
    lines += ["", f"## {h['drivers']}", "",
              md(h["drivers_overall"] if data["driver_basis"] == "overall" else h["drivers_weighted"]), ""]
    lines += _table([h["item"], h["correlation"], h["n"], h["mean"], h["status"]],
                    [[driver["label"], words.number(driver["correlation"], 2), driver["n"],
                      words.number(driver["mean"]), words.status_word(driver["status"], lang)]
                     for driver in data["drivers"]])
    lines += ["", f"## {h['lowest']}", ""]
    lowest = lowest_customers(data)
    lines += _table([h["customer"], h["name"], h["score"], h["n_answers"]],
                    [[customer["code"], customer["name"], words.number(customer["score"]), customer["n_answers"]]
                     for customer in lowest])
    more = words.more_below_text(data, lowest)
    if more:
        lines += ["", _md_with_command(more)]
    lines += ["", f"## {h['comments']}", ""]
    groups = words.comment_groups(data)
    for heading, comments in groups:
        if heading:
            lines += [f"### {md(heading)}", ""]
        for comment in comments:
            about = f" ({md(comment['item_label'])})" if comment["item_label"] else ""
            who = " ".join(part for part in (comment["customer"], comment["name"], comment["respondent"]) if part)
            lines.append(f"- {md(comment['text'])} — {md(who)}{about}")
        lines.append("")
    if not data.get("comments_total", len(data["comments"])):
        lines += [md(h["no_comments"]), ""]
    more = words.more_comments_text(data)
    if more:
        lines += [_md_with_command(more), ""]
    lines.pop()
    return "\n".join(lines) + "\n"


def _md_with_command(text: str) -> str:
    """A sentence with one `command` in it: the sentence escaped, the command kept as inline code."""
    before, command, after = text.split("`", 2)
    return f"{md(before)}`{command}`{md(after)}"


def _trend_cell(point: dict[str, Any], lang: str) -> str:
    if point["mean"] is None:
        return ""
    cell = words.number(point["mean"])
    if point["status"] in ("below", "at_risk"):
        cell += f" ({words.status_word(point['status'], lang)})"
    return cell


def trend_table_md(trend: dict[str, Any], lang: str) -> list[str]:
    h = words.headings(lang)
    rows = [[item["label"], *(_trend_cell(point, lang) for point in item["series"])] for item in trend["items"]]
    rows.append([h["csi"], *(words.number(record["csi"]) for record in trend["rounds"])])
    rows.append([h["response_rate"], *(words.percent(record["response_rate"]) for record in trend["rounds"])])
    return _table([h["item"], *trend["periods"]], rows)


def render_trend_json(trend: dict[str, Any]) -> str:
    return json.dumps(plain(trend), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def render_trend_md(trend: dict[str, Any]) -> str:
    h = words.headings(trend["lang"])
    lines = [f"# {md(h['trend_title'])}", "", md(trend["company"]), ""]
    return "\n".join(lines + trend_table_md(trend, trend["lang"])) + "\n"
