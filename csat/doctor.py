"""`csat doctor`: check that a workspace can do its job before a survey round depends on it.

Mail that never leaves, or lands in junk because the From address is a
placeholder, is the failure users meet first; so the mail check connects,
negotiates TLS and logs in exactly as a send would, and can send a test
message. Each check returns one line: ok, warn or fail.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass


@dataclass
class Check:
    name: str
    status: str   # ok, warn, fail
    detail: str


def _secret(workspace) -> Check:
    from csat.config import SECRET_ENV, SECRET_FILE

    if os.environ.get(SECRET_ENV):
        return Check("secret", "ok", f"form-signing key from {SECRET_ENV}")
    path = workspace.root / SECRET_FILE
    if not path.is_file():
        return Check("secret", "fail", f"{path} is missing: forms cannot be signed or verified")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return Check("secret", "warn", f"{path} is readable by others (mode {mode:o}); run `chmod 600 {path}`")
    return Check("secret", "ok", f"{path} (mode 600)")


def _store(workspace) -> Check:
    from csat.errors import CsatError
    from csat.store.engine import open_store

    try:
        store = open_store(workspace)
    except CsatError as exc:
        return Check("store", "fail", str(exc))
    kind = "SQLite" if store.is_sqlite else "PostgreSQL"
    return Check("store", "ok", f"{kind} store at the current schema")


def _spreadsheets() -> Check:
    from csat.sheets.guard import defusedxml_active

    if defusedxml_active():
        return Check("spreadsheets", "ok", "openpyxl parses with defusedxml (XML entity attacks refused)")
    return Check("spreadsheets", "fail", "defusedxml is not active: reinstall csat with its dependencies")


def _sender(workspace) -> Check:
    from csat.errors import ConfigError
    from csat.mail.transport import sender_address

    try:
        sender = sender_address(workspace.settings)
    except ConfigError as exc:
        return Check("sender", "fail", str(exc))
    if sender.domain.endswith(("example.com", "example.org", "example.net")) or sender.domain == "localhost":
        return Check("sender", "warn", f"mail.sender is {sender.addr_spec}: set your real address"
                     " (`csat config set mail.sender quality@yourcompany.com`) or replies and spam filters fail")
    return Check("sender", "ok", f"From: {sender}")


def _transport(workspace) -> Check:
    from csat.errors import CsatError
    from csat.mail.transport import SendError, SmtpTransport, transport_for

    try:
        transport = transport_for(workspace)
    except CsatError as exc:
        return Check("mail", "fail", str(exc))
    if not isinstance(transport, SmtpTransport):
        from csat.files import ensure_writable

        outbox = workspace.outbox
        try:
            ensure_writable(outbox)
        except CsatError as exc:
            return Check("mail", "fail", f"outbox: {exc}")
        return Check("mail", "ok", f"no mail.smtp_host: messages are written to {outbox} as .eml files")
    try:
        with transport:
            return Check("mail", "ok", transport.verify())
    except SendError as exc:
        return Check("mail", "fail", exc.reason)


def run_checks(workspace) -> list[Check]:
    return [Check("workspace", "ok", f"{workspace.config_path}"), _secret(workspace), _store(workspace),
            _spreadsheets(), _sender(workspace), _transport(workspace)]


def send_test(workspace, recipient: str) -> str:
    """Send one short message to `recipient` the way survey mail goes; returns its Message-ID."""
    from csat.mail.transport import address, build_message, sender_address, transport_for

    settings = workspace.settings
    message = build_message(
        sender=sender_address(settings), recipient=address(recipient),
        subject=f"csat test message from {settings.company.name}",
        text=("This is a test message from csat. If it reached your inbox (not junk), survey invitations"
              " and reminders will too.\n\n这是 csat 的测试邮件。如果它出现在收件箱（而不是垃圾邮件），"
              "调查邀请和提醒邮件也能正常送达。\n"),
    )
    with transport_for(workspace) as transport:
        return transport.send(message, name="doctor-test")
