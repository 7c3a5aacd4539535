"""`csat remind` and `csat cron`: the unattended side of the procedure."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

from csat.cli._common import (
    Home,
    parse_or_usage,
    say,
    workspace,
    workspace_and_store,
)
from csat.i18n import _


def register(app: typer.Typer) -> None:
    app.command(name="remind")(remind)
    app.command(name="cron")(cron)


def remind(
    today: Annotated[Optional[str], typer.Option("--today", help="Act as if today were this date (YYYY-MM-DD), for back-filling and tests.", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would be sent; send and record nothing.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say what was sent to whom and list the digest.")] = False,
    home: Home = None,
) -> None:
    """Send due reminders to customers and the staff digest; safe to run from cron at any frequency.

    Example: csat remind --dry-run
    """
    from csat.store.locking import AlreadyRunning, exclusive
    from csat.survey.remind import run

    day = parse_or_usage(_day, today, "--today")
    opened, store = workspace_and_store(home)
    try:
        with exclusive(opened.root, "remind", store):
            report = run(opened, store, today=day, dry_run=dry_run)
    except AlreadyRunning as running:
        if running.holder:
            say(_("csat remind: another run is in progress, held by {holder}; nothing done",
                                holder=running.holder))
        else:
            say(_("csat remind: another run is in progress; nothing done"))
        return
    _print(report, verbose)
    if report.has_failures:
        raise typer.Exit(1)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("{text!r} is not a date; expected YYYY-MM-DD, e.g. 2024-07-15", text=text)) from None


def _print(report, verbose: bool) -> None:
    prefix = _("would send") if report.dry_run else _("sent")
    if report.dry_run or verbose:
        for outcome in report.reminders:
            state = _("FAILED: {error}", error=outcome.error) if outcome.error else prefix
            say(_("reminder {number} {period} {customer} <{email}>: {state}", number=outcome.number,
                                period=outcome.period, customer=outcome.code, email=outcome.email, state=state))
    if (report.dry_run or verbose) and report.digest_lines:
        say(_("Due today:") if report.digest != "planned" else _("Digest that would be sent:"))
        for line in report.digest_lines:
            say(f"  - {line.text}")
    if report.quiet and not verbose and not report.dry_run:
        return
    count = len(report.sent)
    parts = [_("{n} reminder(s) would send", n=count) if report.dry_run else _("{n} reminder(s) sent", n=count)]
    if report.failed:
        parts.append(_("{n} failed (retried next run)", n=len(report.failed)))
    items = len(report.digest_lines)
    if report.digest == "sent":
        digest = _("digest of {n} item(s) sent to {staff}", n=items, staff=", ".join(report.staff))
    elif report.digest == "printed":
        digest = _("{n} item(s) due for staff, not mailed (no remind.staff set; `csat remind -v` lists them)", n=items)
    elif report.digest == "failed":
        digest = _("digest FAILED: {error} (retried next run)", error=report.digest_error)
    else:
        digest = {"planned": _("digest due"), "already_sent": _("digest already sent today"),
                  "not_due": _("nothing due for staff")}[report.digest]
    parts.append(digest)
    for outcome in report.failed:
        if not verbose and not report.dry_run:
            say(_("reminder to {customer} failed: {error}", customer=outcome.code, error=outcome.error))
    say(f"csat remind {report.today}: " + _("; ").join(parts))


def cron(
    at: Annotated[str, typer.Option("--at", help="Time of day to run, HH:MM.")] = "08:00",
    hourly: Annotated[bool, typer.Option("--hourly", help="Run every hour (at the --at minute) instead of daily.")] = False,
    log: Annotated[Optional[Path], typer.Option("--log", help="Log file (default: remind.log in the workspace).", dir_okay=False)] = None,
    systemd: Annotated[bool, typer.Option("--systemd", help="Print a systemd service and timer instead of a crontab line.")] = False,
    home: Home = None,
) -> None:
    """Print a ready crontab line (or systemd units) that runs `csat remind` for this workspace.

    Example: csat cron --at 07:30 >> mycrontab
    """
    from csat.schedule import crontab_line, systemd_units

    try:
        hour, minute = (int(part) for part in at.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise typer.BadParameter(_("{text!r} is not a time; expected HH:MM, e.g. 08:00", text=at), param_hint="--at") from None
    root = workspace(home).root
    if systemd:
        service, timer = systemd_units(root, hour, minute, hourly=hourly)
        typer.echo(f"# /etc/systemd/system/csat-remind.service\n{service}\n# /etc/systemd/system/csat-remind.timer\n{timer}")
        return
    target = (log or root / "remind.log").expanduser().resolve()
    typer.echo(crontab_line(root, target, hour=hour, minute=minute, hourly=hourly))
