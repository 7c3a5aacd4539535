"""Building e-mails and sending them over SMTP or into the workspace outbox.

Messages are EmailMessage objects with policy SMTP (CRLF line ends, so no
server answers "line too long"); every address is an
email.headerregistry.Address and every header value has its line breaks
removed first, so a customer name cannot add headers.

A transport is a context manager whose `send(message)` returns the
Message-ID or raises SendError with the server's reason. SendError.fatal
says the next message would fail the same way (no connection, login refused,
sender refused), so a caller can stop instead of waiting out a timeout per
recipient. The SMTP transport keeps one connection for the whole run, always
with a timeout, and reconnects once when the server dropped it.
"""

from __future__ import annotations

import os
import re
import secrets
import smtplib
import socket
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from email.errors import MessageError
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, localtime, make_msgid
from pathlib import Path

from csat.errors import ConfigError, CsatError
from csat.files import write_bytes
from csat.i18n import Text, _, joined



class _FoldOnceHeader(BaseHeader):
    """A header that remembers how it folds under a policy (headers are immutable)."""

    def fold(self, *, policy):
        # Keyed by the policy's settings: the generator clones the policy for every MIME part.
        key = tuple(policy.__dict__.items())
        folded = self.__dict__.setdefault("_csat_folded", {})
        text = folded.get(key)
        if text is None:
            text = folded[key] = super().fold(policy=policy)
        return text


class _CachedHeaderRegistry(HeaderRegistry):
    """The standard header registry, made fast for thousands of similar messages.

    The stock registry builds a new class for every header of every message and parses every
    value; header objects are immutable, so the classes are made once per name and the parsed
    headers that repeat (From, Subject, MIME part headers) are reused, folded once. Together that
    halves the cost of building and serialising a message.
    """

    def __init__(self):
        super().__init__(base_class=_FoldOnceHeader)
        self._classes: dict[str, type] = {}
        self._headers: OrderedDict = OrderedDict()

    def __getitem__(self, name):
        key = name.lower()
        header_class = self._classes.get(key)
        if header_class is None:
            header_class = self._classes[key] = super().__getitem__(name)
        return header_class

    def __call__(self, name, value):
        key = (name, type(value), str(value))
        header = self._headers.get(key)
        if header is None:
            header = self._headers[key] = self[name](name, value)
            if len(self._headers) > 256:
                self._headers.popitem(last=False)
        return header


SMTP_POLICY = SMTP.clone(header_factory=_CachedHeaderRegistry())
# Line breaks, control characters (C0, DEL, C1) and direction overrides: none may reach a header.
_LINE_BREAKS = re.compile("[\r\n\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class SendError(Exception):
    """A message was not sent; str() is the reason (the server's reply when there was one)."""

    def __init__(self, reason: str, fatal: bool = False, refused: dict | None = None):
        super().__init__(reason)
        self.reason = reason
        self.fatal = fatal
        self.refused = refused or {}


@dataclass
class Attachment:
    filename: str
    data: bytes
    maintype: str = "application"
    subtype: str = "vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def one_line(text: str) -> str:
    """Header-safe text: line breaks and control characters become single spaces."""
    return _LINE_BREAKS.sub(" ", text or "").strip()


def address(addr_spec: str, display_name: str = "") -> Address:
    """An Address from a stored e-mail and a name; ValueError for an address the e-mail package refuses."""
    from csat.mail.addresses import AddressProblem, normalise_email

    try:
        spec = normalise_email(addr_spec)     # the same rule as when the address was entered
    except AddressProblem as exc:
        raise ValueError(_("malformed e-mail address {address}: {reason}", address=repr(addr_spec), reason=exc)) from None
    if not spec:
        raise ValueError(_("malformed e-mail address {address}: empty", address=repr(addr_spec)))
    try:
        return Address(display_name=one_line(display_name), addr_spec=spec)
    except (ValueError, TypeError, IndexError, MessageError) as exc:
        raise ValueError(_("malformed e-mail address {address}: {reason}", address=repr(addr_spec), reason=exc)) from None


def safe_filename(text: str) -> str:
    return _UNSAFE_FILENAME.sub("_", text).strip("._") or "message"


def build_message(*, sender: Address, recipient: Address, subject: str, text: str, html: str | None = None,
                  attachments: list[Attachment] = (), reply_to: Address | None = None,
                  headers: dict[str, str] | None = None, fixed: "Fixed | None" = None) -> EmailMessage:
    """A multipart/alternative message (plain text first, then HTML) with attachments and a fresh Message-ID.

    `fixed` pins what is otherwise new per message (Date, Message-ID, boundaries) or chosen by the
    email package (the bodies' transfer encodings): for reproducible builds and message skeletons.
    """
    fixed = fixed or Fixed()
    message = EmailMessage(policy=SMTP_POLICY)
    message["From"] = sender
    message["To"] = recipient
    if reply_to is not None and reply_to.addr_spec != sender.addr_spec:
        message["Reply-To"] = reply_to
    message["Subject"] = one_line(subject)
    message["Date"] = fixed.date or format_datetime(localtime())
    # make_msgid looks up the host's FQDN unless given a domain: slow on some networks.
    message["Message-ID"] = fixed.message_id or make_msgid(domain=sender.domain or "localhost")
    for name, value in (headers or {}).items():
        message[name] = one_line(value)
    message.set_content(text, cte=fixed.text_cte)
    # Boundaries chosen here: left to the generator, each one costs a regex compiled per message.
    if html is not None:
        message.make_alternative(boundary=fixed.inner_boundary or _boundary())
        message.add_alternative(html, subtype="html", cte=fixed.html_cte)
    if attachments:
        message.make_mixed(boundary=fixed.outer_boundary or _boundary())
    for attachment in attachments:
        message.add_attachment(attachment.data, maintype=attachment.maintype, subtype=attachment.subtype,
                               filename=attachment.filename)
    return message


@dataclass(frozen=True)
class Fixed:
    """Values build_message otherwise makes up per message (None: make it up)."""

    date: str | None = None
    message_id: str | None = None
    inner_boundary: str | None = None  # multipart/alternative
    outer_boundary: str | None = None  # multipart/mixed
    text_cte: str | None = None  # None: the email package picks 7bit, 8bit, quoted-printable or base64
    html_cte: str | None = None


@dataclass(frozen=True)
class Prepared:
    """A message serialised once for the wire, with its envelope: what a transport sends.

    Transports accept a prepared message as well as an EmailMessage, so a caller that
    needs the bytes (to store or measure them) serialises only once.
    """

    message_id: str
    sender: str
    recipients: tuple[str, ...]
    data: bytes


def prepare(message: EmailMessage) -> Prepared:
    """Serialise with CRLF line ends; Bcc recipients are kept in the envelope and taken out of the headers."""
    recipients = tuple(item.addr_spec for name in ("To", "Cc", "Bcc") if message[name] is not None
                       for item in message[name].addresses)
    if message["Bcc"] is not None:
        del message["Bcc"]
    return Prepared(message_id=str(message["Message-ID"]), sender=message["From"].addresses[0].addr_spec,
                    recipients=recipients, data=message.as_bytes(policy=SMTP_POLICY))


def _boundary() -> str:
    """A MIME boundary with 128 random bits, so no part can contain it by chance."""
    return f"==_csat_{secrets.token_hex(16)}_=="


class OutboxTransport:
    """Writes each message as an .eml file into a folder (no configuration needed)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.description = Text("outbox {folder}", folder=self.folder)

    def __enter__(self) -> "OutboxTransport":
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SendError(Text("cannot create the outbox {folder}: {reason}", folder=self.folder, reason=exc.strerror),
                            fatal=True) from None
        return self

    def __exit__(self, *exc_info) -> None:
        return None

    def path_for(self, name: str) -> Path:
        return self.folder / f"{safe_filename(name)}.eml"

    def send(self, message: EmailMessage | Prepared, name: str | None = None) -> str:
        """Write the message atomically (temporary file, then rename); returns its Message-ID."""
        prepared = message if isinstance(message, Prepared) else prepare(message)
        try:
            write_bytes(self.path_for(name or prepared.message_id.strip("<>")), prepared.data)
        except CsatError as exc:
            raise SendError(str(exc), fatal=True) from None
        return prepared.message_id


@dataclass
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0
    tls: ssl.SSLContext | None = field(default=None, repr=False)  # default: the system's trusted CAs
    ca_file: str = ""  # a private CA's certificate (PEM), trusted besides the system's

    def tls_context(self) -> ssl.SSLContext:
        from csat.mail.tls import context_with_ca

        return self.tls or context_with_ca(self.ca_file)

    @classmethod
    def from_settings(cls, mail, root: Path | None = None) -> "SmtpSettings":
        """From csat.toml's [mail]; the password comes from the environment variable it names.

        A relative mail.ca_file is relative to the workspace folder (root); the file is read here,
        so a missing or unreadable one stops a run before anything is sent.
        """
        from csat.mail.tls import context_with_ca

        ca_file = ""
        tls = None
        if mail.ca_file:
            ca_file = str(Path(root or ".", Path(mail.ca_file).expanduser()))
            tls = context_with_ca(ca_file)
        password = ""
        if mail.username:
            password = os.environ.get(mail.password_env, "") if mail.password_env else ""
            if not password:
                raise ConfigError(
                    _("mail.username is set but the environment variable {variable} holding the SMTP password is"
                      " empty; set it, or clear mail.username", variable=mail.password_env or "(mail.password_env)"))
        return cls(host=mail.smtp_host, port=mail.smtp_port, security=mail.security, username=mail.username,
                   password=password, timeout=mail.timeout, tls=tls, ca_file=ca_file)


def _reply(code, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {one_line(str(text))}".strip()


_DROPPED = (smtplib.SMTPServerDisconnected, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


class _WrongTlsMode(Exception):
    """The port speaks the other TLS mode; str() says which to set."""


class _DataStage:
    """Notes when a message's DATA began: a connection dropped after that may have delivered it."""

    csat_in_data = False

    def data(self, msg):
        self.csat_in_data = True
        return super().data(msg)


class _SslSMTP(_DataStage, smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL that notes the DATA stage."""


class _PlainFirstSMTP(_DataStage, smtplib.SMTP):
    """smtplib.SMTP (starttls or no TLS) that checks the port when the greeting is slow to come.

    A server that says nothing for a few seconds may be an implicit-TLS port waiting for our
    handshake: a probe on a second connection asks, and if it is, the run stops at once with the
    mode to set instead of waiting out the timeout. Otherwise this connection waits on as usual.
    """

    def __init__(self, *args, security: str = "starttls", **kwargs):
        self.csat_security = security  # before connecting: the constructor connects
        super().__init__(*args, **kwargs)

    def _get_socket(self, host, port, timeout):
        from csat.mail.tls import GREETING_GRACE, NO_PROBE_PORTS, greets_within, implicit_tls_hint, speaks_tls_first

        started = time.monotonic()
        sock = super()._get_socket(host, port, timeout)
        if port in NO_PROBE_PORTS or not isinstance(timeout, (int, float)):
            return sock
        # Grace and probe take at most three quarters of the timeout: the whole wait stays mail.timeout.
        if not greets_within(sock, min(GREETING_GRACE, timeout / 2)):
            if speaks_tls_first(host, port, min(GREETING_GRACE, timeout / 4)):
                sock.close()
                raise _WrongTlsMode(implicit_tls_hint(host, port, self.csat_security))
            sock.settimeout(max(timeout - (time.monotonic() - started), timeout / 4))
        return sock

    def connect(self, host="localhost", port=0, source_address=None):
        reply = super().connect(host, port, source_address)
        if isinstance(self.timeout, (int, float)):
            self.sock.settimeout(self.timeout)  # the greeting may have had less: every later step has the whole timeout
        return reply


class SmtpTransport:
    """One SMTP connection reused for a run: timeout on every operation, one reconnect when dropped."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self.description = f"{settings.host}:{settings.port}"
        self._connection: smtplib.SMTP | None = None
        self._local_hostname = socket.gethostname() or "localhost"

    def __enter__(self) -> "SmtpTransport":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()

    def verify(self) -> str:
        """Connect, negotiate TLS and log in exactly as a send would; returns what was negotiated."""
        connection = self._connection or self._connect()
        secured = _("TLS") if self.settings.security in ("ssl", "starttls") else _("no TLS")
        login = (_("logged in as {username}", username=self.settings.username) if self.settings.username
                 else _("no login"))
        size = connection.esmtp_features.get("size", "")
        if size.isdigit() and int(size):
            return _("{server}: connected, {tls}, {login}, accepts messages up to {size} MB", server=self.description,
                     tls=secured, login=login, size=int(size) // 1048576)
        return _("{server}: connected, {tls}, {login}", server=self.description, tls=secured, login=login)

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        where = f"{settings.host}:{settings.port}"
        connection: smtplib.SMTP | None = None
        try:
            # The host goes to the constructor: smtplib names it to TLS (SNI, certificate check) from there.
            if settings.security == "ssl":
                connection = _SslSMTP(settings.host, settings.port, timeout=settings.timeout,
                                              local_hostname=self._local_hostname, context=settings.tls_context())
            else:
                connection = _PlainFirstSMTP(settings.host, settings.port, timeout=settings.timeout,
                                             local_hostname=self._local_hostname, security=settings.security)
            connection.ehlo()
            if settings.security == "starttls":
                connection.starttls(context=settings.tls_context())
                connection.ehlo()
            if settings.username:
                connection.login(settings.username, settings.password)
        except smtplib.SMTPAuthenticationError as exc:
            self._abandon(connection)
            raise SendError(Text("SMTP login to {server} as {username} refused: {reply}", server=where,
                              username=settings.username, reply=_reply(exc.smtp_code, exc.smtp_error)),
                            fatal=True) from None
        except smtplib.SMTPNotSupportedError as exc:
            self._abandon(connection)
            raise SendError(Text("SMTP server {server} does not support it: {reason}", server=where, reason=exc),
                            fatal=True) from None
        except smtplib.SMTPResponseException as exc:
            self._abandon(connection)
            raise SendError(Text("SMTP server {server} refused the session: {reply}", server=where,
                              reply=_reply(exc.smtp_code, exc.smtp_error)), fatal=True) from None
        except _WrongTlsMode as exc:
            self._abandon(connection)
            raise SendError(exc.args[0], fatal=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._abandon(connection)
            if settings.security == "ssl" and _plain_port_under_ssl(exc, settings):
                from csat.mail.tls import starttls_hint

                raise SendError(starttls_hint(settings.host, settings.port), fatal=True) from None
            raise SendError(Text("cannot connect to SMTP server {server}: {reason}", server=where,
                              reason=_describe_os_error(exc)), fatal=True) from None
        self._connection = connection
        return connection

    @staticmethod
    def _abandon(connection) -> None:
        if connection is not None:
            try:
                connection.close()
            except OSError:
                pass

    def send(self, message: EmailMessage | Prepared, name: str | None = None) -> str:
        """Send one message; returns its Message-ID, or raises SendError."""
        prepared = message if isinstance(message, Prepared) else prepare(message)
        for attempt in (1, 2):
            connection = self._connection or self._connect()
            connection.csat_in_data = False
            try:
                refused = connection.sendmail(prepared.sender, list(prepared.recipients), prepared.data)
            except smtplib.SMTPRecipientsRefused as exc:
                self._reset()
                raise SendError(_refusals(exc.recipients), refused=exc.recipients) from None
            except smtplib.SMTPSenderRefused as exc:
                self._reset()
                raise SendError(Text("sender {sender} refused: {reply}", sender=exc.sender,
                                  reply=_reply(exc.smtp_code, exc.smtp_error)), fatal=True) from None
            except _DROPPED as exc:
                self._drop()
                if attempt == 1 and not _timed_out(exc) and not connection.csat_in_data:
                    # The server closed an idle connection: reconnect and try this message again. Not after
                    # a timeout, nor once DATA began: the server may have taken the message and not said so;
                    # the message fails (not marked sent) and the next run sends it, once.
                    continue
                raise SendError(Text("connection to {server} dropped: {reason}", server=self.description,
                                  reason=_describe_os_error(exc))) from None
            except smtplib.SMTPResponseException as exc:
                self._reset()
                raise SendError(_reply(exc.smtp_code, exc.smtp_error)) from None
            except (smtplib.SMTPException, OSError, UnicodeError) as exc:
                self._drop()  # a timeout or protocol error leaves the session in an unknown state
                raise SendError(Text("sending to {server} failed: {reason}", server=self.description,
                                  reason=_describe_os_error(exc))) from None
            if refused:
                raise SendError(_refusals(refused), refused=refused)
            return prepared.message_id
        raise AssertionError("unreachable")

    def _reset(self) -> None:
        """Get the session back to a clean state after a refused message (or drop it)."""
        if self._connection is None:
            return
        try:
            self._connection.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()


def _plain_port_under_ssl(exc: BaseException, settings: SmtpSettings) -> bool:
    """A TLS handshake that failed on the protocol (not the certificate) because the port greets in plain text."""
    from csat.mail.tls import greets_in_plain_text

    protocol_failure = (isinstance(exc, ssl.SSLError) and not isinstance(exc, ssl.SSLCertVerificationError)) \
        or isinstance(exc, (ConnectionResetError, smtplib.SMTPServerDisconnected, TimeoutError))
    return protocol_failure and greets_in_plain_text(settings.host, settings.port, min(settings.timeout, 5.0))


def _timed_out(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc.__context__
    return isinstance(exc, TimeoutError) or isinstance(cause, TimeoutError)


def _refusals(refused: dict) -> str:
    return joined([Text("{recipient} refused: {reply}", recipient=recipient, reply=_reply(code, text))
                   for recipient, (code, text) in refused.items()])


def _describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return Text("timed out waiting for the server")
    if isinstance(exc, ConnectionRefusedError):
        return Text("connection refused (is the server running and the port right?)")
    if isinstance(exc, socket.gaierror):
        return Text("unknown host ({reason})", reason=exc.strerror)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Text("TLS certificate not trusted: {reason}", reason=exc.verify_message)
    if isinstance(exc, ssl.SSLError):
        return Text("TLS failed: {reason}", reason=exc.reason or exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return one_line(str(exc)) or type(exc).__name__


def transport_for(workspace):
    """SMTP when mail.smtp_host is set in csat.toml, else the workspace's outbox/ folder."""
    mail = workspace.settings.mail
    if mail.smtp_host:
        return SmtpTransport(SmtpSettings.from_settings(mail, workspace.root))
    return OutboxTransport(workspace.outbox)


def _sender_name(settings, language: str | None) -> str:
    """mail.sender_name, else the company's name in the reader's language (company.name_en for English)."""
    return settings.mail.sender_name or settings.company.name_for(language or settings.company.lang)


def sender_address(settings, language: str | None = None) -> Address:
    """The From address: mail.sender, named mail.sender_name or the company (as `language` readers know it)."""
    try:
        return address(settings.mail.sender, _sender_name(settings, language))
    except ValueError as exc:
        raise ConfigError(_("csat.toml: mail.sender: {reason}", reason=exc)) from None


def reply_to_address(settings, language: str | None = None) -> Address | None:
    if not settings.mail.reply_to:
        return None
    try:
        return address(settings.mail.reply_to, _sender_name(settings, language))
    except ValueError as exc:
        raise ConfigError(_("csat.toml: mail.reply_to: {reason}", reason=exc)) from None
