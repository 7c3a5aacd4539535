"""`csat doctor` against the outbox, a real SMTP server, and a port where nothing listens."""

from smtp_fixtures import closed_port, running_smtp, use_smtp

from csat.config import config_set


def test_outbox_workspace_is_healthy_but_warns_about_placeholder_sender(workspace, cli):
    result = cli("doctor")
    assert result.exit_code == 0, result
    assert "ok   mail" in result.stderr and "outbox" in result.stderr
    assert "warn sender" in result.stderr
    config_set(workspace, "mail.sender", "quality@southbridge.cn")
    assert "ok   sender" in cli("doctor").stderr


def test_smtp_connects_and_sends_a_test_message(workspace, cli):
    with running_smtp() as server:
        use_smtp(workspace, server.port)
        result = cli("doctor", "--send-test", "me@southbridge.cn")
        assert result.exit_code == 0, result
        assert f"127.0.0.1:{server.port}: connected, no TLS, no login" in result.stderr
        assert server.recipients() == ["me@southbridge.cn"]
        assert "测试邮件" in server.received[0].message.get_body(("plain",)).get_content()


def test_unreachable_server_fails_in_one_line(workspace, cli):
    use_smtp(workspace, closed_port())
    result = cli("doctor")
    assert result.exit_code == 1
    assert "fail mail" in result.stderr and "connection refused" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "Error: 1 check(s) failed: mail"


def test_missing_secret_and_open_permissions(workspace, cli):
    secret = workspace.root / ".csat-secret"
    secret.chmod(0o644)
    assert "warn secret" in cli("doctor").stderr
    secret.unlink()
    result = cli("doctor")
    assert result.exit_code == 1 and "fail secret" in result.stderr


def test_outbox_that_cannot_be_written_fails(workspace, cli):
    workspace.outbox.write_text("a file where the outbox folder should be")
    result = cli("doctor")
    assert result.exit_code == 1 and "fail mail" in result.stderr and "outbox: cannot write to" in result.stderr
