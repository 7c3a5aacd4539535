"""`csat doctor`: check that a workspace can do its job before a survey round depends on it.

Mail that never leaves, or lands in junk because the From address is a
placeholder, is the failure users meet first; so the mail check connects,
negotiates TLS and logs in exactly as a send would, and can send a test
message. Each check returns one line: ok, warn or fail. On PostgreSQL the
store check is four lines: the server's version, the round-trip latency, the
schema revision against this csat's, and whether the role may create tables
(which `csat db upgrade` needs, and daily work does not).
"""

from __future__ import annotations

import os
import stat
import statistics
import time
from dataclasses import dataclass

LATENCY_PINGS = 5
SLOW_LATENCY_MS = 20.0   # an import or report runs hundreds of statements: beyond this, it shows


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


def _config_file(workspace) -> Check:
    """csat.toml, and whether a password in it is readable by others (a hand edit keeps the file's mode)."""
    from csat.config import holds_secret

    path = workspace.config_path
    mode = stat.S_IMODE(path.stat().st_mode)
    if holds_secret(workspace.settings) and mode & 0o077:
        return Check("workspace", "warn", f"{path} holds the database password and is readable by others "
                     f"(mode {mode:o}); run `chmod 600 {path}`, or move the password to store.password_env")
    return Check("workspace", "ok", f"{path}")


def _store(workspace) -> list[Check]:
    from csat.errors import CsatError
    from csat.store.engine import open_store

    try:
        url = workspace.database_url
    except CsatError as exc:   # store.password_env names a variable that is not set
        return [Check("store", "fail", str(exc))]
    if not url.startswith("sqlite"):
        return _postgres(url)
    try:
        open_store(workspace)
    except CsatError as exc:
        return [Check("store", "fail", str(exc))]
    return [Check("store", "ok", "SQLite store at the current schema")]


def _postgres(url: str) -> list[Check]:
    """Server version, round-trip latency, schema revision and CREATE privilege of a PostgreSQL store."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from csat.store.engine import describe_url, engine_for
    from csat.store.migrations import HEAD, known_revisions

    where = describe_url(url)
    try:
        with engine_for(url).connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar()
            samples = []
            for _ in range(LATENCY_PINGS):
                started = time.perf_counter()
                connection.execute(text("SELECT 1")).scalar()
                samples.append((time.perf_counter() - started) * 1000)
            has_versions = connection.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar()
            revision = (connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
                        if has_versions else None)
            role, schema, may_create = connection.execute(text(
                "SELECT current_user, current_schema(), "
                "coalesce(has_schema_privilege(current_user, current_schema(), 'CREATE'), false)")).one()
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())     # psycopg's hints span lines
        return [Check("store", "fail", f"cannot connect to {where}: {reason}")]
    checks = [Check("store", "ok", f"PostgreSQL {version} at {where}")]
    latency = statistics.median(samples)
    if latency > SLOW_LATENCY_MS:
        checks.append(Check("latency", "warn", f"{latency:.1f} ms per round trip (median of {LATENCY_PINGS} SELECT 1):"
                            " imports and reports will be slow; run csat near the database server"))
    else:
        checks.append(Check("latency", "ok", f"{latency:.1f} ms per round trip (median of {LATENCY_PINGS} SELECT 1)"))
    if revision == HEAD:
        checks.append(Check("schema", "ok", f"revision {revision}, the one this csat expects"))
    elif revision is None:
        checks.append(Check("schema", "fail", f"no csat schema in {where}; run `csat db upgrade`"))
    elif revision not in known_revisions():
        checks.append(Check("schema", "fail", f"revision {revision} is from a newer csat (this one expects {HEAD});"
                            " upgrade csat"))
    else:
        checks.append(Check("schema", "fail", f"revision {revision} is older than this csat's {HEAD};"
                            " run `csat db upgrade`"))
    if may_create:
        checks.append(Check("privileges", "ok", f"role {role} may create tables in schema {schema}"
                            " (`csat db upgrade` needs it)"))
    else:
        checks.append(Check("privileges", "warn", f"role {role} may not create tables in schema {schema}:"
                            " `csat db upgrade` will fail; run it as the database owner, or"
                            f" GRANT CREATE ON SCHEMA {schema} TO {role}"))
    return checks


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


def _calendar(workspace, today=None) -> Check:
    """Whose working days count reply deadlines, and whether this year's holidays are known."""
    from datetime import date

    from csat.workdays import calendar_for

    calendar = calendar_for(workspace.settings)
    today = today or date.today()
    if calendar.country == "none":
        return Check("calendar", "ok", "working days are Monday to Friday ([calendar] country = none)"
                                       f"{' less the closing days' if calendar.closed else ''}")
    if calendar.country != "CN":
        return Check("calendar", "ok", f"working days skip {calendar.country}'s public holidays")
    missing = calendar.missing_years([today.year, today.year + 1] if today.month == 12 else [today.year])
    if missing:
        return Check("calendar", "warn", f"China's holidays of {', '.join(map(str, missing))} are not in the installed"
                                         " chinesecalendar: those days count Monday to Friday; run"
                                         " `pip install -U chinesecalendar` or list them in [calendar] closing_days")
    return Check("calendar", "ok", "working days follow China's holidays and adjusted working days (调休)")


def run_checks(workspace) -> list[Check]:
    return [_config_file(workspace), _secret(workspace), *_store(workspace),
            _spreadsheets(), _sender(workspace), _transport(workspace), _calendar(workspace)]


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
