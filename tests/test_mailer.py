"""The mailer against real SMTP servers (aiosmtpd on 127.0.0.1) and a real outbox folder."""

import time
from email import message_from_bytes, policy

import pytest
from smtp_fixtures import (  # noqa: F401
    AUTH_WITHOUT_TLS,
    PASSWORD,
    USER,
    Handler,
    closed_port,
    running_smtp,
    silent_server,
    smtp_server,
)

from csat.errors import ConfigError
from csat.mail.transport import (
    Attachment,
    OutboxTransport,
    SendError,
    SmtpSettings,
    SmtpTransport,
    address,
    build_message,
)

pytestmark = AUTH_WITHOUT_TLS


def _message(to="buyer@acme.example", name="Anna Becker", cc=None, subject="Survey"):
    message = build_message(sender=address("quality@maker.example", "Quality"), recipient=address(to, name),
                            subject=subject, text="Please answer.", html="<p>Please answer.</p>",
                            attachments=[Attachment("form.xlsx", b"PK\x03\x04 not really")])
    if cc:
        message["Cc"] = address(cc)
    return message


def test_header_injection_is_neutralised():
    message = _message(name='Evil"\r\nBcc: victim@elsewhere.example', subject="Hi\nBcc: victim@elsewhere.example")
    wire = message.as_bytes()
    parsed = message_from_bytes(wire, policy=policy.default)
    assert parsed["Bcc"] is None
    assert parsed["To"].addresses[0].addr_spec == "buyer@acme.example"
    assert "\n" not in parsed["To"].addresses[0].display_name
    assert b"\r\nBcc:" not in wire
    assert str(parsed["Subject"]) == "Hi Bcc: victim@elsewhere.example"


def test_message_parts_and_ids():
    message = _message()
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed.get_body(("plain",)).get_content().strip() == "Please answer."
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Please answer.</p>"
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "form.xlsx"
    assert attachment.get_content() == b"PK\x03\x04 not really"
    assert parsed["Message-ID"].endswith("@maker.example>")
    assert b"\r\n" in message.as_bytes() and b"\n" not in message.as_bytes().replace(b"\r\n", b"")


@pytest.mark.parametrize("bad", ["", "no-at-sign", "a@b\nBcc: x@y.example", "two@@signs@x.example"])
def test_malformed_addresses_are_refused(bad):
    with pytest.raises(ValueError):
        address(bad, "Someone")


def test_outbox_writes_parsable_eml_atomically(tmp_path):
    outbox = tmp_path / "outbox"
    with OutboxTransport(outbox) as transport:
        message_id = transport.send(_message(), name="2024H1/C-001")
    files = list(outbox.iterdir())
    assert [path.name for path in files] == ["2024H1_C-001.eml"]
    parsed = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert parsed["Message-ID"] == message_id
    assert parsed["To"].addresses[0].addr_spec == "buyer@acme.example"


def test_outbox_that_cannot_be_created_is_fatal(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SendError) as caught:
        OutboxTransport(blocker / "outbox").__enter__()
    assert caught.value.fatal


def _settings(port, **changes):
    return SmtpSettings(**({"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5.0} | changes))


def test_smtp_sends_over_one_connection(smtp_server):
    with SmtpTransport(_settings(smtp_server.port)) as transport:
        first = transport.send(_message())
        second = transport.send(_message(to="two@acme.example"))
        connection = transport._connection
        assert connection is not None
    assert first != second
    assert smtp_server.recipients() == ["buyer@acme.example", "two@acme.example"]
    received = smtp_server.received[0].message
    assert received["Message-ID"] == first
    assert received["From"].addresses[0].addr_spec == "quality@maker.example"
    assert smtp_server.received[0].mail_from == "quality@maker.example"


def test_partial_refusal_is_reported_not_swallowed():
    handler = Handler(reject=lambda rcpt: rcpt.startswith("gone@"))
    with running_smtp(handler) as server, SmtpTransport(_settings(server.port)) as transport:
        with pytest.raises(SendError) as caught:
            transport.send(_message(cc="gone@acme.example"))
        assert not caught.value.fatal
        assert list(caught.value.refused) == ["gone@acme.example"]
        assert "550 5.1.1" in caught.value.reason
        # the accepted recipient got it, and the connection is still usable
        assert server.recipients() == ["buyer@acme.example"]
        transport.send(_message(to="next@acme.example"))
    assert server.recipients() == ["buyer@acme.example", "next@acme.example"]


def test_all_recipients_refused_fails_only_that_message():
    handler = Handler(reject=lambda rcpt: rcpt.startswith("gone@"))
    with running_smtp(handler) as server, SmtpTransport(_settings(server.port)) as transport:
        with pytest.raises(SendError) as caught:
            transport.send(_message(to="gone@acme.example"))
        assert "gone@acme.example refused: 550" in caught.value.reason and not caught.value.fatal
        transport.send(_message())
    assert server.recipients() == ["buyer@acme.example"]


def test_no_server_is_fatal_and_quick():
    with SmtpTransport(_settings(closed_port())) as transport, pytest.raises(SendError) as caught:
        transport.send(_message())
    assert caught.value.fatal
    assert "connection refused" in caught.value.reason


def test_silent_server_times_out():
    with silent_server() as port:
        started = time.monotonic()
        with SmtpTransport(_settings(port, timeout=0.5)) as transport, pytest.raises(SendError) as caught:
            transport.send(_message())
        assert time.monotonic() - started < 5
    assert caught.value.fatal
    assert "timed out" in caught.value.reason


def test_login_refused_is_fatal_and_login_accepted_sends():
    with running_smtp(auth=True) as server:
        with SmtpTransport(_settings(server.port, username=USER, password="wrong")) as transport:
            with pytest.raises(SendError) as caught:
                transport.send(_message())
        assert caught.value.fatal and "535" in caught.value.reason and "wrong" not in caught.value.reason
        with SmtpTransport(_settings(server.port, username=USER, password=PASSWORD)) as transport:
            transport.send(_message())
    assert server.recipients() == ["buyer@acme.example"]


def test_dropped_connection_is_reopened():
    handler = Handler(drop_every=2)
    with running_smtp(handler) as server, SmtpTransport(_settings(server.port)) as transport:
        for number in range(5):
            transport.send(_message(to=f"n{number}@acme.example"))
    assert server.recipients() == [f"n{number}@acme.example" for number in range(5)]
    assert handler.drops == 2


def test_password_comes_from_the_environment(monkeypatch, workspace):
    from csat.workspace import config_set

    config_set(workspace, "mail.smtp_host", "smtp.example.com")
    config_set(workspace, "mail.username", "sales")
    with pytest.raises(ConfigError, match="CSAT_SMTP_PASSWORD"):
        SmtpSettings.from_settings(workspace.settings.mail)
    monkeypatch.setenv("CSAT_SMTP_PASSWORD", "s3cret")
    settings = SmtpSettings.from_settings(workspace.settings.mail)
    assert settings.password == "s3cret" and "s3cret" not in repr(settings)


def test_server_that_stalls_after_data_is_not_sent_the_message_twice():
    handler = Handler(stall_first=2.5)
    with running_smtp(handler) as server, SmtpTransport(_settings(server.port, timeout=1.0)) as transport:
        with pytest.raises(SendError) as caught:
            transport.send(_message(to="first@acme.example"))
        assert "timed out" in caught.value.reason and not caught.value.fatal
        transport.send(_message(to="second@acme.example"))
    assert server.recipients() == ["first@acme.example", "second@acme.example"]


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_sends_encrypted_and_checks_the_certificate(security):
    with running_smtp(tls=security) as server:
        with SmtpTransport(_settings(server.port, security=security, tls=server.client_tls)) as transport:
            transport.send(_message())
        with SmtpTransport(_settings(server.port, security=security)) as transport, \
                pytest.raises(SendError) as caught:
            transport.send(_message(to="never@acme.example"))  # the test CA is not trusted by default
    assert caught.value.fatal and "certificate" in caught.value.reason
    assert [(message.rcpt_tos, message.tls) for message in server.received] == [(["buyer@acme.example"], True)]


def test_server_requiring_starttls_refuses_plain_sessions():
    with running_smtp(tls="starttls") as server, SmtpTransport(_settings(server.port)) as transport:
        with pytest.raises(SendError) as caught:
            transport.send(_message())
    assert caught.value.fatal and "530" in caught.value.reason
