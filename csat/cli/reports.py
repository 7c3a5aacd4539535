"""`csat report`: the half-year survey report for the management review."""

from __future__ import annotations

import io
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from csat.cli._common import Home, LangOption, parse_or_usage, say, workspace_and_store, write_stdout
from csat.i18n import _
from csat.i18n import language as staff_language_now

FLAGGED_EXIT = 3
STATUS_STYLES = {"below": "bold red", "at_risk": "bold yellow", "ok": "green", "no_data": "dim"}


class ReportFormat(str, Enum):
    table = "table"
    json = "json"
    xlsx = "xlsx"
    html = "html"
    md = "md"


def report(
    half: Annotated[Optional[str], typer.Option("--half", help="Survey round, e.g. 2024H1 (default: the latest round with responses).", show_default=False)] = None,
    fmt: Annotated[Optional[ReportFormat], typer.Option("--format", "-f", help="Output format (default: from the -o file's extension, else table).", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file: .txt (the table), .json, .md, .html or .xlsx (default: stdout; xlsx: report-<period>.xlsx).", dir_okay=False, show_default=False)] = None,
    lang: LangOption = None,
    trend: Annotated[bool, typer.Option("--trend", help="Show every round side by side instead of one round.")] = False,
    open_capa: Annotated[bool, typer.Option("--open-capa", help="Open a CAPA for each flagged item that has none for this round yet.")] = False,
    fail_on_flag: Annotated[bool, typer.Option("--fail-on-flag", help="Exit with 3 when any item is below its action limit or at risk.")] = False,
    home: Home = None,
) -> None:
    """Score a survey round against the action limits and write its report.

    Example: csat report --half 2024H1 --format html -o review-2024H1.html
    """
    from csat.periods import Half

    period = parse_or_usage(Half.parse, half, "--half")
    fmt = _format_of(output, fmt)
    if trend and period is not None:
        raise typer.BadParameter(_("--trend shows every round; leave out --half"), param_hint="--trend")
    if trend and open_capa:
        raise typer.BadParameter(_("--open-capa works on one round; leave out --trend"), param_hint="--open-capa")
    opened, store = workspace_and_store(home)
    language = lang.value if lang else None
    if trend:
        from csat.reports.survey import build_trend

        with store.read_session() as session:
            data = build_trend(session, opened.settings, language)
        _write(data, fmt.value, output, TREND_RENDERERS, "report-trend.xlsx", _trend_table)
        flagged = [item for item in data["items"] if item["series"] and item["series"][-1]["status"] in ("below", "at_risk")]
    else:
        from csat.reports.survey import build

        with store.read_session() as session:
            # json and xlsx carry every customer and comment, read from the store while written (stream);
            # what people read shows the lowest and the first.
            data = build(session, opened.settings, str(period) if period else None, language,
                         answers=fmt is ReportFormat.xlsx, full=fmt in (ReportFormat.json, ReportFormat.xlsx),
                         stream=True)
            if not data["responses"]:
                from csat.reports.text import headings

                say(headings(staff_language_now())["no_responses"].format(period=data["period"],
                                                                           invited=data["invited"]))
            # Inside the session: the xlsx answers sheet streams its rows from the store.
            _write(data, fmt.value, output, REPORT_RENDERERS, f"report-{data['period']}.xlsx", _report_table)
        flagged = data["flagged"]
        if open_capa and flagged:
            _open_capas(store, opened.settings, data["period"], flagged)
    if fail_on_flag and flagged:
        say(_("{n} item(s) below the action limit or at risk", n=len(flagged)))
        raise typer.Exit(FLAGGED_EXIT)


def _open_capas(store, settings, period: str, flagged: list[dict[str, Any]]) -> None:
    from csat.capa.records import open_for_flagged

    with store.session() as session:
        opened = open_for_flagged(session, settings, period, flagged)
    for capa, created, item in opened:
        fields = {"capa": capa.number, "item": item["code"], "reason": item["reason"]}
        say(_("Opened {capa} for {item} ({reason})", **fields) if created
                          else _("Already open: {capa} for {item} ({reason})", **fields))


# file suffix -> format; anything else is a usage error, so no file ever gets the wrong content.
SUFFIX_FORMATS = {".txt": ReportFormat.table, ".json": ReportFormat.json, ".md": ReportFormat.md,
                  ".markdown": ReportFormat.md, ".html": ReportFormat.html, ".htm": ReportFormat.html,
                  ".xlsx": ReportFormat.xlsx}


def _format_of(output: Optional[Path], fmt: Optional[ReportFormat]) -> ReportFormat:
    """The format asked for: --format, else the -o file's suffix (review.html -> html), else table.

    An -o file whose suffix is not one of SUFFIX_FORMATS (r.docx) is refused, with or without --format.
    """
    if output is not None and output.suffix.lower() not in SUFFIX_FORMATS:
        known = ", ".join(SUFFIX_FORMATS)
        formats = ", ".join(member.value for member in ReportFormat)
        message = (_("{name} has no suffix; csat writes reports as {known} (formats: {formats})", name=output.name,
                     known=known, formats=formats) if not output.suffix else
                   _("{name} is a {suffix} file; csat writes reports as {known} (formats: {formats})", name=output.name,
                     suffix=output.suffix, known=known, formats=formats))
        raise typer.BadParameter(message, param_hint="--output")
    if fmt is not None:
        return fmt
    return SUFFIX_FORMATS[output.suffix.lower()] if output is not None else ReportFormat.table


def _deliver(text, output: Optional[Path]) -> None:
    """Write a text, or the pieces of one (an iterator of str), to stdout or the -o file."""
    pieces = [text] if isinstance(text, str) else text
    if output is None:
        for piece in pieces:
            write_stdout(piece)
        return
    from csat.files import replace_into

    def write(temporary: Path) -> None:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.writelines(pieces)

    replace_into(output, write)
    say(_("Wrote {path}", path=output))


# format -> (module, function); imported only when used, so `csat --help` stays light.
REPORT_RENDERERS = {"json": ("csat.reports.render", "render_json_chunks"), "md": ("csat.reports.render", "render_md"),
                    "html": ("csat.reports.html", "render_html"), "xlsx": ("csat.reports.xlsx", "render_xlsx")}
TREND_RENDERERS = {"json": ("csat.reports.render", "render_trend_json"),
                   "md": ("csat.reports.render", "render_trend_md"),
                   "html": ("csat.reports.html", "render_trend_html"),
                   "xlsx": ("csat.reports.xlsx", "render_trend_xlsx")}


def _write(data: dict[str, Any], fmt: str, output: Optional[Path], renderers: dict, workbook_name: str,
           draw_table) -> None:
    if fmt == "table":
        _print(lambda console: draw_table(data, console), output)
        return
    from importlib import import_module

    module, function = renderers[fmt]
    render = getattr(import_module(module), function)
    if fmt == "xlsx":
        say(_("Wrote {path}", path=render(data, output or Path(workbook_name))))
    else:
        _deliver(render(data), output)


def _print(draw, output: Optional[Path]) -> None:
    """Draw rich output on the terminal, or as plain text into a file."""
    from csat.cli._common import console

    if output is None:
        draw(console())
        return
    buffer = io.StringIO()
    draw(console(file=buffer, width=160, color_system=None))
    _deliver(buffer.getvalue(), output)


def _report_table(data: dict[str, Any], console) -> None:
    from rich.markup import escape
    from rich.table import Table

    from csat.reports import text as words
    from csat.reports.render import focus_sentence
    from csat.reports.survey import lowest_customers

    h, lang = words.headings(data["lang"]), data["lang"]
    csi = words.number(data["csi"])
    if data["csi_change"] is not None:
        csi += f" {words.arrow(data['csi_change'])} {words.signed(data['csi_change'])}"
    console.print(f"[bold]{escape(h['title'].format(period=data['period']))}[/] · {escape(data['company'])}")
    console.print(f"{h['invited']} {data['invited']} · {h['responses']} {data['responses']} · "
                  f"{h['response_rate']} {words.percent(data['response_rate']) or '-'} · "
                  f"[bold]{h['csi']} {csi or '-'}[/] · {h['action_limit']} {words.limit_text(data['action_limit'])}"
                  f" · {h['min_action_limit']} {words.limit_text(data['min_action_limit'])}")
    if words.below_minimum_text(data):
        console.print(f"[yellow]{escape(words.below_minimum_text(data))}[/]")
    table = Table(header_style="bold", title_justify="left")
    for heading, justify in ((h["item"], "left"), (h["n"], "right"), (h["mean"], "right"), (h["change"], "right"),
                             (h["ci"], "right"), (h["below_share"], "right"), (h["top_box_share"], "right"),
                             (h["status"], "left")):
        table.add_column(heading, justify=justify, no_wrap=justify == "right")
    for item in data["items"]:
        style = STATUS_STYLES.get(item["status"], "")
        ci = f"{words.number(item['ci_low'])}–{words.number(item['ci_high'])}" if item["ci_low"] is not None else ""
        table.add_row(escape(item["label"]), words.n_text(item), f"[{style}]{words.number(item['mean'])}[/]",
                      f"{words.arrow(item['change'])} {words.signed(item['change'])}".strip(), ci,
                      words.percent(item["below_share"]), words.percent(item["top_box_share"]),
                      f"[{style}]{escape(words.status_word(item['status'], lang))}[/]")
    console.print(table)
    if words.small_note(data):
        console.print(escape(words.small_note(data)))
    if data["flagged"]:
        console.print(f"[bold]{escape(h['flagged'])}[/]")
        for item in data["flagged"]:
            style = STATUS_STYLES[item["status"]]
            console.print(f"  [{style}]{escape(words.status_word(item['status'], lang))}[/] "
                          f"{escape(item['label'])}: {escape(item['reason'] or '')}")
    else:
        console.print(escape(words.no_flags_text(data)))
    sentence = focus_sentence(data)
    if sentence:
        console.print(escape(sentence))
    drivers = Table(title=h["drivers"], header_style="bold", title_justify="left")
    for heading in (h["item"], h["correlation"], h["n"], h["status"]):
        drivers.add_column(heading)
    for driver in data["drivers"]:
        style = STATUS_STYLES.get(driver["status"], "")
        drivers.add_row(escape(driver["label"]), words.number(driver["correlation"], 2), str(driver["n"]),
                        f"[{style}]{escape(words.status_word(driver['status'], lang))}[/]")
    console.print(drivers)
    lowest = Table(title=h["lowest"], header_style="bold", title_justify="left")
    for heading in (h["customer"], h["name"], h["score"], h["n_answers"]):
        lowest.add_column(heading)
    shown = lowest_customers(data)
    for customer in shown:
        score = words.number(customer["score"])
        lowest.add_row(escape(customer["code"]), escape(customer["name"]),
                       f"[bold red]{score}[/]" if customer["below"] else score, str(customer["n_answers"]))
    console.print(lowest)
    more = words.more_below_text(data, shown)
    if more:
        console.print(escape(more))


def _trend_table(trend: dict[str, Any], console) -> None:
    from rich.markup import escape
    from rich.table import Table

    from csat.reports import text as words

    h = words.headings(trend["lang"])
    table = Table(title=h["trend_title"], header_style="bold", title_justify="left")
    table.add_column(h["item"])
    for period in trend["periods"]:
        table.add_column(period, justify="right")
    for item in trend["items"]:
        cells, previous = [], None
        for point in item["series"]:
            if point["mean"] is None:
                cells.append("")
                continue
            change = None if previous is None else point["mean"] - previous
            style = STATUS_STYLES.get(point["status"] or "", "")
            cells.append(f"[{style}]{words.number(point['mean'])}[/] {words.arrow(change)} [dim]n={point['n']}[/]")
            previous = point["mean"]
        table.add_row(escape(item["label"]), *cells)
    table.add_row(f"[bold]{h['csi']}[/]", *(words.number(record["csi"]) for record in trend["rounds"]))
    table.add_row(h["response_rate"], *(words.percent(record["response_rate"]) for record in trend["rounds"]))
    console.print(table)
