"""Gather a half year's numbers once into a ReviewDocument (`csat review`).

Nothing is computed twice in another way: the survey part is csat.reports.survey.build of the
half's round (the numbers of `csat report --format json`), the feedback part the quarterly
summaries of csat.feedback.summary (the recorded version when the quarter has one, as
`csat feedback summary` prints it), the CAPA part csat.capa.records. Reading never writes:
a quarter not yet summarised is computed now and the document says it is not recorded.

Sections, by stable key: survey, feedback, capa, customers, built_from. A half without a round
or without feedback says so in a Paragraph. The content hash covers every section but
built_from; the record number is REV-<half>-<first 8 hex of the hash>.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from csat.i18n import _, use_language
from csat.periods import Half, Quarter
from csat.reports.review.model import (
    BuiltFrom,
    Chart,
    Paragraph,
    ReviewDocument,
    Section,
    Series,
    Table,
    content_hash,
)

# How many rounds the item charts go back (the half's round included).
CHART_ROUNDS = 6
# How many customers each "needing attention" list shows.
ATTENTION_CUSTOMERS = 10


def build_review(session, settings, half: Half | str, lang: str | None = None,
                 today: date | None = None) -> ReviewDocument:
    """The management review pack of a half year, in `lang` (default: the workspace's language)."""
    from csat import __version__
    from csat.i18n import normalise

    half = half if isinstance(half, Half) else Half.parse(str(half))
    lang = normalise(lang) or normalise(settings.company.lang) or "en"
    today = today or date.today()
    with use_language(lang):
        survey, report = _survey_section(session, settings, half, lang)
        feedback, summaries = _feedback_section(session, settings, half, lang, today)
        capa = _capa_section(session, settings, half, lang, today)
        customers = _customers_section(settings, report, summaries, lang)
        sections = [survey, feedback, capa, customers]
        digest = content_hash(sections)
        record_number = f"REV-{half}-{digest[:8]}"
        built = BuiltFrom(
            half=str(half),
            rounds=list(report["trend"]["periods"][-CHART_ROUNDS:]) if report else [],
            responses=report["responses"] if report else 0,
            feedback_entries=sum(summary["total"] for _quarter, summary, _state in summaries if summary),
            last_import=_last_import(session),
            csat_version=__version__,
            made_at=datetime.now().replace(microsecond=0).isoformat(sep=" "),
            content_hash=digest,
        )
        sections.append(_built_from_section(built, record_number, report))
        title = _("Management review {half}: customer satisfaction", half=half)
    return ReviewDocument(title=title, half=str(half), lang=lang, record_number=record_number, sections=sections,
                          built_from=built)


# ---- survey -------------------------------------------------------------------------------------

def _survey_section(session, settings, half: Half, lang: str) -> tuple[Section, dict[str, Any] | None]:
    from csat.reports import queries
    from csat.reports import text as words
    from csat.reports.render import focus_sentence
    from csat.reports.survey import build

    title = _("Survey results")
    if str(half) not in {round_.period for round_ in queries.rounds(session)}:
        return Section("survey", title, [Paragraph(_("No survey round for {half}: there are no survey results for"
                                                      " this half year.", half=half))]), None
    report = build(session, settings, str(half), lang, full=False)
    h = words.headings(lang)
    blocks: list = []
    if not report["responses"]:
        blocks.append(Paragraph(h["no_responses"].format(period=report["period"], invited=report["invited"])))
    previous = _("Previous CSI ({period})", period=_previous_period(report)) if report["previous_csi"] is not None \
        else h["previous_csi"]
    blocks.append(Table(_("Key figures"), [_("Figure"), _("Value")], [
        [h["csi"], report["csi"]],
        [previous, report["previous_csi"]],
        [_("CSI change"), report["csi_change"]],
        [h["invited"], report["invited"]],
        [h["responses"], report["responses"]],
        [_("Responding customers"), report["responding_customers"]],
        [_("Response rate (%)"), None if report["response_rate"] is None else report["response_rate"] * 100],
        [h["action_limit"], report["action_limit"]],
    ]))
    rows = [[item["code"], item["label"], item["n"], item["mean"], item["ci_low"], item["ci_high"], item["change"],
             item["action_limit"], words.status_word(item["status"], lang), item["reason"] or ""]
            for item in report["items"]]
    blocks.append(Table(h["items"], [h["code"], h["item"], h["n"], h["mean"], h["ci_low"], h["ci_high"], h["change"],
                                     h["action_limit"], h["status"], h["reason"]], rows, note=words.small_note(report) or ""))
    if report["flagged"]:
        blocks.append(Paragraph(_("Items needing action: {items}.", items="; ".join(
            f"{item['label']} ({words.status_word(item['status'], lang)}: {item['reason']})" for item in report["flagged"]))))
    elif report["responses"]:
        blocks.append(Paragraph(words.no_flags_text(report)))
    focus = focus_sentence(report)
    if focus:
        blocks.append(Paragraph(focus))
    blocks.extend(_item_charts(report, h))
    return Section("survey", title, blocks), report


def _previous_period(report: dict[str, Any]) -> str:
    """The period of the round whose CSI is the report's previous CSI."""
    earlier = [record for record in report["trend"]["rounds"][:-1] if record["csi"] is not None]
    return earlier[-1]["period"] if earlier else ""


def _item_charts(report: dict[str, Any], h: dict[str, str]) -> list[Chart]:
    """Each item's mean per round over the last CHART_ROUNDS rounds, against its action limit this half."""
    periods = report["trend"]["periods"][-CHART_ROUNDS:]
    limits = {item["code"]: item["action_limit"] for item in report["items"]}
    charts = []
    for item in report["trend"]["items"]:
        if item["code"] not in limits:   # no longer asked: the review charts this half's items
            continue
        values = [point["mean"] for point in item["series"][-CHART_ROUNDS:]]
        charts.append(Chart(title=item["label"], categories=list(periods),
                            series=[Series(h["chart_mean"], values, limits[item["code"]])], y_label=h["mean"]))
    return charts


# ---- feedback -----------------------------------------------------------------------------------

def quarters_of(half: Half) -> list[Quarter]:
    first = 1 if half.number == 1 else 3
    return [Quarter(half.year, first), Quarter(half.year, first + 1)]


def quarter_summary(session, settings, quarter: Quarter, today: date) -> tuple[dict[str, Any] | None, str]:
    """The quarter's summary as the review shows it, and where it comes from.

    state: "recorded" (the latest recorded version, as made), "stale" (that, with entries added or
    changed since), "computed" (an ended quarter not summarised yet: computed now, nothing recorded),
    "unkept" (summarised before csat kept a summary's figures: computed now),
    "preview" (a quarter still running) or "not_started" (summary None).
    """
    from csat.feedback import summary as summaries
    from csat.feedback import summary_record

    if quarter.start > today:
        return None, "not_started"
    kept = summary_record.versions(session, str(quarter))
    figures = summary_record.recorded(kept[-1]) if kept else None
    if figures is not None:
        changes = summary_record.changes_since(session, kept[-1])
        return figures, "stale" if changes["added"] or changes["changed"] else "recorded"
    summary = summaries.build(session, settings, quarter, today=today)
    if today <= quarter.end:
        return summary, "preview"
    return summary, "unkept" if kept else "computed"


def _source_sentence(quarter: Quarter, summary: dict[str, Any] | None, state: str) -> str:
    if state == "not_started":
        return _("{quarter} has not started yet.", quarter=quarter)
    if state == "preview":
        return _("{quarter} has not ended: its figures are a preview as of {date}, not a record.", quarter=quarter,
                 date=summary["made_on"].isoformat())
    if state == "computed":
        return _("{quarter} has no recorded summary yet: its figures are computed now; `csat feedback summary"
                 " --quarter {quarter}` records it.", quarter=quarter)
    if state == "unkept":
        return _("{quarter} was summarised before csat kept the figures of a summary: its figures are computed now.",
                 quarter=quarter)
    at = summary["summarised_at"].strftime("%Y-%m-%d %H:%M")
    if state == "stale":
        return _("{quarter}: summary version {version} as recorded on {at}; entries were added or changed since,"
                 " `csat feedback summary --quarter {quarter} --refresh` records a new version.", quarter=quarter,
                 version=summary["version"], at=at)
    return _("{quarter}: summary version {version} as recorded on {at}.", quarter=quarter, version=summary["version"],
             at=at)


def _feedback_section(session, settings, half: Half, lang: str, today: date) -> tuple[Section, list]:
    from csat.feedback.summary import count_tables, text

    title = _("Feedback and complaints")
    summaries = [(quarter, *quarter_summary(session, settings, quarter, today)) for quarter in quarters_of(half)]
    blocks: list = [Paragraph(_source_sentence(quarter, summary, state)) for quarter, summary, state in summaries]
    shown = [(quarter, summary) for quarter, summary, _state in summaries if summary is not None]
    if not any(summary["total"] for _quarter, summary in shown):
        blocks.append(Paragraph(_("No feedback or complaint was logged in {half}.", half=half)))
        return Section("feedback", title, blocks), summaries
    quarters = [str(quarter) for quarter, _summary in shown]

    def each(figure) -> list:
        return [figure(summary) for _quarter, summary in shown]

    def count(values: list) -> int:
        return len(values)

    blocks.append(Table(_("Quarterly figures"), [_("Figure"), *quarters], [
        [text("total", lang), *each(lambda summary: summary["total"])],
        [text("complaints", lang), *each(lambda summary: summary["complaints"])],
        [text("open", lang), *each(lambda summary: count(summary["open"]))],
        [text("overdue", lang), *each(lambda summary: count(summary["overdue"]))],
        [text("long_unresolved", lang), *each(lambda summary: count(summary["long_unresolved"]))],
        [text("unanswered", lang), *each(lambda summary: summary["unanswered_count"])],
        [text("replied_late", lang), *each(lambda summary: summary["replied_late_count"])],
        [text("reply_days_median", lang), *each(lambda summary: summary["reply_days_median"])],
        [text("reply_days_max", lang), *each(lambda summary: summary["reply_days_max"])],
    ]))
    # One table per dimension, the quarters side by side (rows in the first quarter's order, then new ones).
    tables = [count_tables(summary, lang) for _quarter, summary in shown]
    for position, (table_title, first, _rows) in enumerate(tables[0]):
        counts: dict[str, list[int]] = {}
        for index, quarter_tables in enumerate(tables):
            for name, number in quarter_tables[position][2]:
                counts.setdefault(name, [0] * len(tables))[index] = number
        rows = [[name, *numbers, sum(numbers)] for name, numbers in counts.items()]
        blocks.append(Table(table_title, [first, *quarters, _("Half year")], rows))
    for quarter, summary in shown:
        pending = [(text("overdue", lang), summary["overdue"]), (text("long_unresolved", lang), summary["long_unresolved"])]
        named = "; ".join(f"{label}: {', '.join(f'#{number}' for number in numbers)}" for label, numbers in pending if numbers)
        if named:
            blocks.append(Paragraph(_("{quarter}: {entries}", quarter=quarter, entries=named)))
    return Section("feedback", title, blocks), summaries


# ---- CAPA ---------------------------------------------------------------------------------------

def _capa_section(session, settings, half: Half, lang: str, today: date) -> Section:
    from csat.reports.review.capas import capa_blocks

    return Section("capa", _("Corrective and preventive actions (CAPA)"),
                   capa_blocks(session, settings, half, lang, today))


# ---- customers ----------------------------------------------------------------------------------

def _customers_section(settings, report: dict[str, Any] | None, summaries: list, lang: str) -> Section:
    from csat.reports import text as words
    from csat.reports.survey import lowest_customers

    h = words.headings(lang)
    blocks: list = []
    lowest = lowest_customers(report, ATTENTION_CUSTOMERS) if report else []
    if lowest:
        blocks.append(Table(_("Lowest survey scores"), [h["customer"], h["name"], h["score"], h["n_answers"],
                                                        _("Below the action limit")],
                            [[customer["code"], customer["name"], customer["score"], customer["n_answers"],
                              _("yes") if customer["below"] else _("no")] for customer in lowest]))
    else:
        blocks.append(Paragraph(_("No customer has a survey score for this half year.")))
    complaints: dict[str, int] = {}
    names: dict[str, str] = {}
    threshold = settings.feedback.special_attention
    for _quarter, summary, _state in summaries:
        if summary is None:
            continue
        names.update(summary["customer_names"])
        for code, number in summary["complaints_by_customer"].items():
            complaints[code] = complaints.get(code, 0) + number
    most = sorted(complaints.items(), key=lambda pair: (-pair[1], pair[0]))[:ATTENTION_CUSTOMERS]
    if most:
        blocks.append(Table(_("Most complaints"), [h["customer"], h["name"], _("Complaints")],
                            [[code, names.get(code, ""), number] for code, number in most],
                            note=_("{n} or more complaints in a quarter call for special attention.", n=threshold)))
    else:
        blocks.append(Paragraph(_("No complaint was logged in this half year.")))
    return Section("customers", _("Customers needing attention"), blocks)


# ---- built from ---------------------------------------------------------------------------------

def _last_import(session) -> str | None:
    """When answers or feedback were last imported from a file (the archived sources), else last stored."""
    from sqlalchemy import func
    from sqlmodel import select

    from csat.store.models import Response, SourceFile

    moments = [session.exec(select(func.max(SourceFile.imported_at))).one(),
               session.exec(select(func.max(Response.created_at)).where(Response.source != "manual")).one()]
    moments = [moment for moment in moments if moment is not None]
    return max(moments).replace(microsecond=0).isoformat(sep=" ") if moments else None


def _built_from_section(built: BuiltFrom, record_number: str, report: dict[str, Any] | None) -> Section:
    rows = [
        [_("Record number"), record_number],
        [_("Half year"), built.half],
        [_("Survey rounds"), ", ".join(built.rounds) or _("none")],
        [_("Responses in {half}", half=built.half), built.responses],
        [_("Feedback entries in {half}", half=built.half), built.feedback_entries],
        [_("Last import"), built.last_import or _("none")],
        [_("csat version"), built.csat_version],
        [_("Made at"), built.made_at],
        [_("Content hash (SHA-256)"), built.content_hash],
    ]
    note = _("The content hash covers every number and word of the sections above; the same data gives the same"
             " hash in every format.")
    return Section("built_from", _("Built from"), [Table(_("Built from"), [_("Figure"), _("Value")], rows, note=note)])
