"""`csat doctor`: is this workspace ready to send a survey round?"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from csat.cli._common import Home, escape_markup, fail, say, say_styled, workspace

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
    from rich.cells import cell_len

    from csat.doctor import run_checks, word
    from csat.doctor import send_test as send
    from csat.i18n import _

    def padded(text: str, width: int) -> str:   # Chinese characters take two columns
        return text + " " * max(width - cell_len(text), 1)

    opened = workspace(home)
    checks = run_checks(opened)
    for check in checks:
        say_styled(f"[{STYLES[check.status]}]{padded(word(check.status), 5)}[/]{padded(word(check.name), 13)}"
            f"{escape_markup(check.detail)}")
    failed = [check for check in checks if check.status == "fail"]
    if failed:
        fail(_("{n} check(s) failed: {checks}", n=len(failed), checks=", ".join(word(check.name) for check in failed)))
    if send_test:
        from csat.mail.transport import SendError

        try:
            message_id = send(opened, send_test)
        except (SendError, ValueError) as exc:
            fail(_("test message to {recipient} not sent: {error}", recipient=send_test, error=exc))
        say(_("Sent a test message to {recipient} ({message_id}); check it arrives in the inbox, not junk.",
                            recipient=send_test, message_id=message_id))
