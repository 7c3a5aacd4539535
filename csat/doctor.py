"""`csat doctor`: check that a workspace can do its job before a survey round depends on it.

Mail that never leaves, or lands in junk because the From address is a
placeholder, is the failure users meet first; so the mail check connects,
negotiates TLS and logs in exactly as a send would, and can send a test
message. Each check returns one line: ok, warn or fail. On a store several machines share,
the secret and settings checks compare this machine's view with the store's: the fingerprint
of the key that signs forms here against the store's, and the company settings this folder's
csat.toml still writes against the store's revision that is used. On PostgreSQL the
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

from csat.i18n import NC_, _, in_context, language

LATENCY_PINGS = 5
SLOW_LATENCY_MS = 20.0   # an import or report runs hundreds of statements: beyond this, it shows


# The name and status of a check are codes (tests and scripts read them); people read them as words.
WORDS = (NC_("doctor", "ok"), NC_("doctor", "warn"), NC_("doctor", "fail"), NC_("doctor", "workspace"),
         NC_("doctor", "store"), NC_("doctor", "secret"), NC_("doctor", "settings"), NC_("doctor", "spreadsheets"),
         NC_("doctor", "sender"), NC_("doctor", "mail"), NC_("doctor", "calendar"), NC_("doctor", "latency"),
         NC_("doctor", "schema"), NC_("doctor", "privileges"), NC_("doctor", "limits"), NC_("doctor", "charts"), NC_("doctor", "audit"))


def word(code: str) -> str:
    """A check's name or status as a word in the current language."""
    return in_context(language(), "doctor", code)


@dataclass
class Check:
    name: str
    status: str   # ok, warn, fail
    detail: str


def _shared(workspace):
    """The store's shared state (settings revision, values, secret), laid over the workspace; None if unreadable."""
    from csat.errors import CsatError
    from csat.store import shared
    from csat.store.engine import open_store

    try:
        return shared.apply(workspace, open_store(workspace))
    except CsatError:
        return None      # the store check says why
    except Exception:    # noqa: BLE001 - an unreachable server is the store check's line, not a traceback here
        return None


def _file_secret(workspace) -> tuple[bytes | None, Check | None]:
    """This folder's .csat-secret: (its key, None), or (None, a check saying why it cannot be used)."""
    from csat.config import SECRET_FILE
    from csat.errors import ConfigError

    path = workspace.root / SECRET_FILE
    try:
        key = workspace.file_secret()
    except ConfigError as exc:
        return None, Check("secret", "fail", _("{error} (the current user must be able to read it)", error=exc))
    if key is None:
        return None, None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return key, Check("secret", "warn", _("{path} is readable by others (mode {mode}); run `chmod 600 {path}`", path=path, mode=f"{mode:o}"))
    return key, None


def _secret(workspace, state) -> Check:
    """Which key signs forms here, and whether it is the one every machine on the store uses."""
    from csat.config import SECRET_ENV, SECRET_FILE
    from csat.store.shared import fingerprint

    from_env = os.environ.get(SECRET_ENV)
    file_key, file_problem = _file_secret(workspace)
    if state is None or not state.secret:
        if from_env:
            return Check("secret", "ok", _("form-signing key from {variable} (fingerprint {fingerprint})", variable=SECRET_ENV, fingerprint=fingerprint(from_env.encode())))
        if file_problem is not None:
            return file_problem
        if file_key is None:
            return Check("secret", "fail", _("{path} is missing and the store holds no key: forms cannot be signed or verified",
                           path=workspace.root / SECRET_FILE))
        return Check("secret", "ok", _("{path} (mode 600, fingerprint {fingerprint})", path=workspace.root / SECRET_FILE, fingerprint=fingerprint(file_key)))
    shared = state.fingerprint
    if from_env and from_env.encode() != state.secret.encode():
        return Check("secret", "fail", _("{variable} (fingerprint {fingerprint}) differs from the store's key ({shared}): forms sent from here will"
                       " not import on other machines; unset {variable}", variable=SECRET_ENV,
                       fingerprint=fingerprint(from_env.encode()), shared=shared))
    if file_problem is not None:
        return file_problem
    if file_key is not None and file_key != state.secret.encode():
        return Check("secret", "warn", _("the store's key signs forms (fingerprint {shared}); this folder's old {file} differs ({fingerprint}):"
                       " forms sent from here before the key moved into the store import only in this folder",
                       shared=shared, file=SECRET_FILE, fingerprint=fingerprint(file_key)))
    return Check("secret", "ok", _("form-signing key in the shared store (fingerprint {shared}), the same on every machine", shared=shared))


def _settings(workspace, state) -> Check | None:
    """The store's settings revision, and any company setting this folder's csat.toml says otherwise."""
    from csat.config import file_holds, parse_settings, shared_values
    from csat.errors import ConfigError

    if state is None:
        return None
    try:
        own = shared_values(parse_settings(workspace.file_data))
    except ConfigError:
        own = {}
    used = shared_values(workspace.settings)
    differing = [_("{key} (csat.toml {own}, store {used})", key=key, own=repr(own[key]), used=repr(used.get(key)))
                 for key in sorted(own) if file_holds(workspace, key) and own[key] != used.get(key)]
    if differing:
        return Check("settings", "warn", _("revision {revision} of the shared settings is used; this folder's csat.toml"
                                           " says otherwise for {settings}: change them with `csat config set` (for"
                                           " every machine) or delete them from csat.toml",
                                           revision=state.revision, settings="; ".join(differing)))
    return Check("settings", "ok", _("revision {revision} of the shared settings; this folder's csat.toml agrees"
                                     " with the store", revision=state.revision))


def _config_file(workspace) -> Check:
    """csat.toml, and whether a password in it is readable by others (a hand edit keeps the file's mode)."""
    from csat.config import holds_secret

    path = workspace.config_path
    mode = stat.S_IMODE(path.stat().st_mode)
    if holds_secret(workspace.settings) and mode & 0o077:
        return Check("workspace", "warn", _("{path} holds the database password and is readable by others (mode {mode}); run `chmod 600 {path}`,"
                       " or move the password to store.password_env", path=path, mode=f"{mode:o}"))
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
    return [Check("store", "ok", _("SQLite store at the current schema"))]


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
            for _ping in range(LATENCY_PINGS):
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
        return [Check("store", "fail", _("cannot connect to {where}: {reason}", where=where, reason=reason))]
    checks = [Check("store", "ok", _("PostgreSQL {version} at {where}", version=version, where=where))]
    latency = statistics.median(samples)
    if latency > SLOW_LATENCY_MS:
        checks.append(Check("latency", "warn", _("{latency} ms per round trip (median of {pings} SELECT 1): imports and reports will be slow;"
                              " run csat near the database server", latency=f"{latency:.1f}", pings=LATENCY_PINGS)))
    else:
        checks.append(Check("latency", "ok", _("{latency} ms per round trip (median of {pings} SELECT 1)", latency=f"{latency:.1f}", pings=LATENCY_PINGS)))
    if revision == HEAD:
        checks.append(Check("schema", "ok", _("revision {revision}, the one this csat expects", revision=revision)))
    elif revision is None:
        checks.append(Check("schema", "fail", _("no csat schema in {where}; run `csat db upgrade`", where=where)))
    elif revision not in known_revisions():
        checks.append(Check("schema", "fail", _("revision {revision} is from a newer csat (this one expects {head}); upgrade csat",
                              revision=revision, head=HEAD)))
    else:
        checks.append(Check("schema", "fail", _("revision {revision} is older than this csat's {head}; run `csat db upgrade`",
                              revision=revision, head=HEAD)))
    if may_create:
        checks.append(Check("privileges", "ok", _("role {role} may create tables in schema {schema} (`csat db upgrade` needs it)",
                              role=role, schema=schema)))
    else:
        checks.append(Check("privileges", "warn", _("role {role} may not create tables in schema {schema}: `csat db upgrade` will fail;"
                              " run it as the database owner, or GRANT CREATE ON SCHEMA {schema} TO {role}",
                              role=role, schema=schema)))
    return checks


def _spreadsheets() -> Check:
    from csat.sheets.guard import defusedxml_active

    if defusedxml_active():
        return Check("spreadsheets", "ok", _("openpyxl parses with defusedxml (XML entity attacks refused)"))
    return Check("spreadsheets", "fail", _("defusedxml is not active: reinstall csat with its dependencies"))


def _sender(workspace) -> Check:
    from csat.errors import ConfigError
    from csat.mail.transport import sender_address

    try:
        sender = sender_address(workspace.settings)
    except ConfigError as exc:
        return Check("sender", "fail", str(exc))
    if sender.domain.endswith(("example.com", "example.org", "example.net")) or sender.domain == "localhost":
        return Check("sender", "warn", _("mail.sender is {sender}: set your real address (`csat config set mail.sender"
                       " quality@yourcompany.com`) or replies and spam filters fail", sender=sender.addr_spec))
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
            return Check("mail", "fail", _("outbox: {error}", error=exc))
        return Check("mail", "ok", _("no mail.smtp_host: messages are written to {outbox} as .eml files", outbox=outbox))
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
        if calendar.closed:
            return Check("calendar", "ok", _("working days are Monday to Friday ([calendar] country = none)"
                                             " less the closing days"))
        return Check("calendar", "ok", _("working days are Monday to Friday ([calendar] country = none)"))
    if calendar.country != "CN":
        return Check("calendar", "ok", _("working days skip {country}'s public holidays", country=calendar.country))
    missing = calendar.missing_years([today.year, today.year + 1] if today.month == 12 else [today.year])
    if missing:
        return Check("calendar", "warn", _("China's holidays of {years} are not in the installed chinesecalendar: those days"
                                           " count Monday to Friday; run `pip install -U chinesecalendar` or list them"
                                           " in [calendar] closing_days", years=", ".join(map(str, missing))))
    return Check("calendar", "ok", _("working days follow China's holidays and adjusted working days (调休)"))


def _limits(workspace, state) -> Check | None:
    """Action limits below the procedure's minimum, in the settings or on active items (stored before the rule)."""
    from csat.registry.items import below_minimum
    from csat.settings import limit_problem
    from csat.store.engine import open_store

    if state is None:
        return None
    minimum = workspace.settings.procedure.min_action_limit
    found = []
    problem = limit_problem(workspace.settings.survey.action_limit, minimum)
    if problem:
        found.append(f"survey.action_limit: {problem}")
    try:
        with open_store(workspace).read_session() as session:
            found += [_("item {code}: {problem}", code=code, problem=problem)
                      for code, problem in below_minimum(session, minimum)]
    except Exception:    # noqa: BLE001 - the store check says why the store cannot be read
        return None
    if found:
        return Check("limits", "warn", _("{found}; raise them (`csat items load FILE --reason TEXT`,"
                                         " `csat config set survey.action_limit 85 --reason TEXT`)",
                                         found=_("; ").join(found)))
    return Check("limits", "ok", _("every action limit is at least the procedure's minimum {minimum:g}"
                                   " ([procedure] min_action_limit)", minimum=minimum))


def _charts() -> Check:
    """Whether the review pack's chart pictures (docx) can draw Chinese: a warning ahead of the meeting, not boxes."""
    from csat import fonts

    named = fonts.configured()
    if named is not None and (not named.is_file() or fonts.load(named) is None):
        return Check("charts", "warn", _("{variable} names {path}, which is not a font file csat can read",
                                         variable=fonts.FONT_ENV, path=named))
    font = fonts.chinese_font()
    if font is None:
        return Check("charts", "warn", _("no font with Chinese characters: a .docx review pack with Chinese text will be"
                                         " refused; install {package} or set {variable} to a .ttf/.ttc/.otf file",
                                         package=fonts.PACKAGE_HINT, variable=fonts.FONT_ENV))
    return Check("charts", "ok", _("chart pictures draw Chinese with the font {path}", path=font.path))


def _audit_head(workspace, state) -> Check | None:
    """The audit chain's head, cheaply (one indexed row): note it to compare later; verify walks the chain."""
    from csat.store.chain import head_of
    from csat.store.engine import open_store

    if state is None:
        return None
    try:
        with open_store(workspace).read_session() as session:
            head = head_of(session.connection())
    except Exception:    # noqa: BLE001 - the store check says why the store cannot be read
        return None
    if head["head_id"] is None:
        return Check("audit", "ok", _("the audit trail is empty"))
    if not head["head_hash"]:
        return Check("audit", "warn", _("the newest audit entry #{entry} has no hash: it was written outside csat;"
                                        " `csat audit verify` names the first such entry", entry=head["head_id"]))
    return Check("audit", "ok", _("audit trail head #{entry}, hash {hash}; `csat audit verify` checks the whole chain",
                                  entry=head["head_id"], hash=head["head_hash"]))


def run_checks(workspace) -> list[Check]:
    """Every check, store first: the store's shared settings decide what the mail checks test."""
    store = _store(workspace)
    state = _shared(workspace)
    settings = _settings(workspace, state)
    limits = _limits(workspace, state)
    audit = _audit_head(workspace, state)
    return [_config_file(workspace), *store, _secret(workspace, state),
            *([settings] if settings else []), *([limits] if limits else []), *([audit] if audit else []), _spreadsheets(), _sender(workspace), _transport(workspace),
            _calendar(workspace), _charts()]


def send_test(workspace, recipient: str) -> str:
    """Send one short message to `recipient` the way survey mail goes; returns its Message-ID."""
    from csat.mail.transport import address, build_message, sender_address, transport_for

    settings = workspace.settings
    message = build_message(
        sender=sender_address(settings), recipient=address(recipient),
        subject=_("csat test message from {company}", company=settings.company.name),
        text=("This is a test message from csat. If it reached your inbox (not junk), survey invitations"
              " and reminders will too.\n\n这是 csat 的测试邮件。如果它出现在收件箱（而不是垃圾邮件），"
              "调查邀请和提醒邮件也能正常送达。\n"),
    )
    with transport_for(workspace) as transport:
        return transport.send(message, name="doctor-test")
