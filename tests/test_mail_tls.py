"""Issue #18 "Mail": a private CA in mail.ca_file, and the TLS mode that does not fit the port.

Real aiosmtpd servers on 127.0.0.1: one speaking TLS from the first byte (implicit TLS, as on
port 465), one requiring STARTTLS (as on 587), each with a certificate from a CA made in the
test (trustme, on the cryptography package) that no system trusts.
"""

from __future__ import annotations

import time

import pytest
from smtp_fixtures import running_smtp, use_smtp

from csat.workspace import config_set
from csat.mail.transport import SendError, SmtpSettings, SmtpTransport
from csat.registry import customers


def _tls_workspace(workspace, server, security: str, ca_file: str = "", timeout: float = 30.0) -> None:
    use_smtp(workspace, server.port, timeout=timeout)
    config_set(workspace, "mail.security", security)
    if ca_file:
        config_set(workspace, "mail.ca_file", ca_file)


def test_starttls_on_an_implicit_tls_port_says_use_ssl_without_waiting_for_the_timeout(workspace, cli):
    with running_smtp(tls="ssl") as server:
        (workspace.root / "smtp-ca.pem").write_bytes(server.ca_pem)
        _tls_workspace(workspace, server, "starttls", "smtp-ca.pem", timeout=30)
        started = time.monotonic()
        result = cli("doctor")
        elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert (f"fail mail         SMTP server 127.0.0.1:{server.port} expects TLS from the first byte (implicit TLS, "
            "usually port 465), but mail.security is starttls: set mail.security to ssl") in result.stderr, result
    assert elapsed < 10, f"waited {elapsed:.1f}s of the 30s timeout"


def test_ssl_on_a_starttls_port_says_use_starttls(workspace, cli):
    with running_smtp(tls="starttls") as server:
        (workspace.root / "smtp-ca.pem").write_bytes(server.ca_pem)
        _tls_workspace(workspace, server, "ssl", "smtp-ca.pem", timeout=30)
        started = time.monotonic()
        result = cli("doctor")
        elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert (f"SMTP server 127.0.0.1:{server.port} greets in plain text (a STARTTLS port, usually 587 or 25), "
            "but mail.security is ssl: set mail.security to starttls") in result.stderr, result
    assert elapsed < 10


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_each_mode_on_its_own_port_still_works(security):
    with running_smtp(tls=security) as server:
        settings = SmtpSettings(host="127.0.0.1", port=server.port, security=security, timeout=5.0,
                                tls=server.client_tls)
        with SmtpTransport(settings) as transport:
            assert "connected, TLS" in transport.verify()


def test_a_slow_plain_greeting_is_waited_for_not_taken_for_implicit_tls():
    """A server that greets after the grace period is asked once on the side, then waited for."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]

    def serve():
        for _ in range(2):   # the probe's connection and the real one, in either order
            connection, _ = listener.accept()
            threading.Thread(target=_slow_greeter, args=(connection,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    settings = SmtpSettings(host="127.0.0.1", port=port, security="none", timeout=10.0)
    try:
        with SmtpTransport(settings) as transport:
            assert "connected, no TLS" in transport.verify()
    finally:
        listener.close()


def _slow_greeter(connection) -> None:
    """Greets after 4 s (past the 3 s grace), answers EHLO and QUIT; drops a client that speaks first."""
    with connection:
        connection.settimeout(4.0)
        try:
            early = connection.recv(1)
        except TimeoutError:
            early = b""
        if early:
            return           # a TLS probe sent its handshake first: a plain server would answer 500 and close
        connection.sendall(b"220 slow.test ESMTP\r\n")
        connection.settimeout(10.0)
        buffer = b""
        while True:
            chunk = connection.recv(1024)
            if not chunk:
                return
            buffer += chunk
            while b"\r\n" in buffer:
                line, buffer = buffer.split(b"\r\n", 1)
                if line.upper().startswith((b"EHLO", b"HELO")):
                    connection.sendall(b"250-slow.test\r\n250 8BITMIME\r\n")
                elif line.upper().startswith(b"QUIT"):
                    connection.sendall(b"221 bye\r\n")
                    return
                else:
                    connection.sendall(b"250 OK\r\n")


def test_private_ca_in_mail_ca_file(workspace, cli, customers_csv, store):
    with store.session() as session:
        customers.import_file(session, customers_csv)
    with running_smtp(tls="starttls") as server:
        _tls_workspace(workspace, server, "starttls")
        untrusted = cli("doctor")
        assert untrusted.exit_code == 1 and "TLS certificate not trusted" in untrusted.stderr, untrusted

        (workspace.root / "certs").mkdir()
        (workspace.root / "certs" / "company-ca.pem").write_bytes(server.ca_pem)
        assert cli("config", "set", "mail.ca_file", "certs/company-ca.pem").exit_code == 0
        trusted = cli("doctor")
        assert f"ok   mail         127.0.0.1:{server.port}: connected, TLS, no login" in trusted.stderr, trusted

        sent = cli("survey", "send", "--half", "2024H1")
        assert sent.exit_code == 0 and "9 sent" in sent.stderr, sent
        assert len(server.received) == 9 and all(message.tls for message in server.received)
        status = cli("survey", "status", "--half", "2024H1", "--format", "json")
        assert '"sent": 9' in status.stdout


def test_unreadable_ca_file_stops_before_anything_is_sent(workspace, cli, customers_csv, store):
    with store.session() as session:
        customers.import_file(session, customers_csv)
    with running_smtp(tls="starttls") as server:
        _tls_workspace(workspace, server, "starttls", "missing-ca.pem")
        result = cli("survey", "send", "--half", "2024H1")
        assert result.exit_code == 1
        assert f"mail.ca_file: {workspace.root / 'missing-ca.pem'} does not exist" in result.stderr, result
        (workspace.root / "missing-ca.pem").write_text("not a certificate\n")
        again = cli("doctor")
        assert "holds no PEM certificate" in again.stderr
        assert server.received == []
    assert "no survey rounds yet" in cli("survey", "list").stderr   # nothing opened, nothing recorded


def test_transport_error_is_fatal():
    with running_smtp(tls="ssl") as server:
        settings = SmtpSettings(host="127.0.0.1", port=server.port, security="starttls", timeout=30.0,
                                tls=server.client_tls)
        with SmtpTransport(settings) as transport, pytest.raises(SendError) as caught:
            transport.verify()
    assert caught.value.fatal and "set mail.security to ssl" in caught.value.reason
