"""Real SMTP servers for tests: aiosmtpd on 127.0.0.1 with a port the OS picks.

`SmtpServer` collects every accepted message; handlers can reject some
recipients, refuse logins or drop the connection every few messages. A
silent server accepts TCP connections and never says a word (the hang a
missing timeout turns into a frozen run). Import the fixtures you need:

    from smtp_fixtures import running_smtp, smtp_server, use_smtp  # noqa: F401

Modules using `auth=True` add `pytestmark = AUTH_WITHOUT_TLS` (aiosmtpd warns about it).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Callable, Iterator

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

USER, PASSWORD = "sales", "correct horse"
AUTH_WITHOUT_TLS = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


class RandomPortController(Controller):
    """aiosmtpd's controller bound to port 0; the real port is read back once the server listens."""

    def __init__(self, handler, **kwargs):
        super().__init__(handler, hostname="127.0.0.1", port=0, server_hostname="smtp.test", **kwargs)

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool = False

    @property
    def message(self):
        return message_from_bytes(self.data, policy=policy.default)


@dataclass
class Handler:
    """Accepts everything except the recipients `reject` says no to; can drop the connection every N messages."""

    reject: Callable[[str], bool] = lambda address: False
    drop_every: int = 0
    stall_first: float = 0.0  # seconds to sit on the first message before answering (a hung server)
    received: list[Received] = field(default_factory=list)
    drops: int = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # Counted on the session itself: an id() of a closed session can be reused by the next one.
        count = getattr(session, "csat_messages", 0)
        if self.drop_every and count >= self.drop_every:
            self.drops += 1
            server.transport.close()  # the server goes away between messages, as idle timeouts do
            return "421 4.4.2 closing connection"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.reject(address):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content),
                            tls=session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None)
        if self.stall_first and not self.received:
            self.received.append(received)
            await asyncio.sleep(self.stall_first)
            return "250 2.0.0 accepted, too late"
        self.received.append(received)
        session.csat_messages = getattr(session, "csat_messages", 0) + 1
        return "250 2.0.0 Message accepted for delivery"


class SmtpServer:
    def __init__(self, controller: RandomPortController, handler: Handler, client_tls=None, ca_pem: bytes = b""):
        self.controller = controller
        self.handler = handler
        self.client_tls = client_tls  # an SSLContext trusting the server's test CA
        self.ca_pem = ca_pem  # that CA's certificate (PEM), for mail.ca_file

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def recipients(self) -> list[str]:
        return [address for message in self.received for address in message.rcpt_tos]


def _authenticator(server, session, envelope, mechanism, auth_data):
    login = getattr(auth_data, "login", b"")
    password = getattr(auth_data, "password", b"")
    return AuthResult(success=(login, password) == (USER.encode(), PASSWORD.encode()), handled=False)


def _tls_contexts():
    """(server context, client context trusting it, the CA's PEM) from a throwaway CA, for 127.0.0.1."""
    import trustme

    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return server, client, authority.cert_pem.bytes()


@contextmanager
def running_smtp(handler: Handler | None = None, auth: bool = False, tls: str = "") -> Iterator[SmtpServer]:
    """An aiosmtpd server; tls="starttls" requires STARTTLS, tls="ssl" speaks TLS from the first byte."""
    handler = handler or Handler()
    options: dict = {}
    if auth:
        # AUTH without TLS is fine on loopback.
        options = {"authenticator": _authenticator, "auth_required": True, "auth_require_tls": False}
    client_tls, ca_pem = None, b""
    if tls:
        server_tls, client_tls, ca_pem = _tls_contexts()
        if tls == "starttls":
            options |= {"tls_context": server_tls, "require_starttls": True}
        else:
            options |= {"ssl_context": server_tls}
    controller = RandomPortController(handler, **options)
    controller.start()
    try:
        yield SmtpServer(controller, handler, client_tls, ca_pem)
    finally:
        controller.stop()


@contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers; yields its port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            accepted.append(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for connection in accepted:
            connection.close()
        listener.close()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def use_smtp(workspace, port: int, username: str = "", timeout: float = 5.0) -> None:
    """Point the workspace's csat.toml at an SMTP server on 127.0.0.1 (no TLS)."""
    from csat.workspace import config_set

    for key, value in (("mail.smtp_host", "127.0.0.1"), ("mail.smtp_port", str(port)), ("mail.security", "none"),
                       ("mail.username", username), ("mail.timeout", str(timeout))):
        config_set(workspace, key, value)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server
