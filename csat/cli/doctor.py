"""`csat doctor`: is this workspace ready to send a survey round?"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from csat.cli._common import Home, escape_markup, fail, say, workspace

STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def doctor(
    send_test: Annotated[Optional[str], typer.Option("--send-test", help="Also send a test message to this address.", show_default=False)] = None,
    home: Home = None,
) -> None:
    """Check the workspace, store, signing secret and mail settings (connects and logs in to SMTP).

    On PostgreSQL the store check shows the server version, the round-trip latency, the schema
    revision and whether the role may create tables (which `csat db upgrade` needs).

    Example: csat doctor --send-test me@example.com
    """
    from csat.doctor import run_checks
    from csat.doctor import send_test as send

    opened = workspace(home)
    checks = run_checks(opened)
    for check in checks:
        say(f"[{STYLES[check.status]}]{check.status:<4}[/] {check.name:<12} {escape_markup(check.detail)}")
    failed = [check for check in checks if check.status == "fail"]
    if failed:
        fail(f"{len(failed)} check(s) failed: {', '.join(check.name for check in failed)}")
    if send_test:
        from csat.mail.transport import SendError

        try:
            message_id = send(opened, send_test)
        except (SendError, ValueError) as exc:
            fail(f"test message to {send_test} not sent: {exc}")
        say(f"Sent a test message to {send_test} ({message_id}); check it arrives in the inbox, not junk.")
