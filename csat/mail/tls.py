"""TLS for SMTP: a private CA, and telling which TLS mode a port speaks.

SMTP has two TLS modes that do not mix: implicit TLS (`ssl`, usually port 465) starts the
handshake at the first byte, STARTTLS (`starttls`, usually 587 or 25) greets in plain text first.
Set the wrong one and the connection either fails with a cryptic TLS error (ssl on a STARTTLS
port) or hangs until the timeout, both sides waiting for the other to speak (starttls on an
implicit-TLS port). The probes here tell the two apart quickly, on a connection of their own, so
the real one is never disturbed and a slow server is never mistaken for the wrong mode.
"""

from __future__ import annotations

import select
import socket
import ssl
from pathlib import Path

from csat.errors import ConfigError
from csat.i18n import Text, _

# How long the real connection waits for the server's greeting before a probe looks at the port.
GREETING_GRACE = 3.0
# Port 25 is guarded by postscreen-style filters that punish a client speaking before the
# greeting; a TLS probe would do just that, so it is never sent there.
NO_PROBE_PORTS = frozenset({25})


def context_with_ca(ca_file: str | Path | None) -> ssl.SSLContext:
    """The system's trusted CAs, plus the CA certificates in ca_file (PEM) when given."""
    context = ssl.create_default_context()
    if ca_file:
        path = Path(ca_file)
        try:
            context.load_verify_locations(cafile=str(path))
        except FileNotFoundError:
            raise ConfigError(_("mail.ca_file: {path} does not exist", path=path)) from None
        except PermissionError:
            raise ConfigError(_("mail.ca_file: {path} cannot be read (permission denied)", path=path)) from None
        except (ssl.SSLError, OSError, ValueError):
            raise ConfigError(_("mail.ca_file: {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                                path=path)) from None
    return context


def greets_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server has sent something (its greeting) within seconds; nothing is read."""
    readable, _writable, _errors = select.select([sock], [], [], max(seconds, 0.0))
    return bool(readable)


def speaks_tls_first(host: str, port: int, timeout: float) -> bool:
    """Whether a fresh connection to host:port completes a TLS handshake without a plain greeting.

    Only the protocol is asked here, not whom to trust: the certificate is checked on the real
    connection, with the real settings.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            with context.wrap_socket(raw, server_hostname=host):
                return True
    except (OSError, ssl.SSLError, ValueError):
        return False


def greets_in_plain_text(host: str, port: int, timeout: float) -> bool:
    """Whether a fresh connection to host:port receives an SMTP greeting ("220 ...") in plain text."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            first = raw.recv(4)
            try:
                raw.sendall(b"QUIT\r\n")
            except OSError:
                pass
    except OSError:
        return False
    return first[:3] in (b"220", b"421", b"554")


def implicit_tls_hint(host: str, port: int, security: str) -> str:
    return Text("SMTP server {host}:{port} expects TLS from the first byte (implicit TLS, usually port 465), "
                "but mail.security is {security}: set mail.security to ssl", host=host, port=port, security=security)


def starttls_hint(host: str, port: int) -> str:
    return Text("SMTP server {host}:{port} greets in plain text (a STARTTLS port, usually 587 or 25), "
                "but mail.security is ssl: set mail.security to starttls", host=host, port=port)
