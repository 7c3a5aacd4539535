"""`csat doctor` against the outbox, a real SMTP server, and a port where nothing listens."""

from smtp_fixtures import closed_port, running_smtp, use_smtp

from csat.workspace import config_set


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


def test_the_secret_is_the_stores_and_what_differs_here_is_named(workspace, cli, monkeypatch):
    from csat.store.engine import open_store
    from csat.store.shared import fingerprint

    open_store(workspace)
    shared = fingerprint(workspace.secret())
    result = cli("doctor")
    assert result.exit_code == 0, result
    assert "ok   secret" in result.stderr and f"shared store (fingerprint {shared})" in result.stderr
    # A folder from before the key moved into the store keeps its old file: named, with both fingerprints.
    legacy = workspace.root / ".csat-secret"
    legacy.write_text("an-old-folder-key\n")
    legacy.chmod(0o600)
    said = cli("doctor").stderr
    assert "warn secret" in said and fingerprint(b"an-old-folder-key") in said and shared in said
    legacy.chmod(0o644)
    assert "readable by others" in cli("doctor").stderr
    monkeypatch.setenv("CSAT_SECRET", "something-else")
    result = cli("doctor")
    assert result.exit_code == 1 and "fail secret" in result.stderr and "CSAT_SECRET" in result.stderr


def test_a_secret_file_that_cannot_be_read_is_not_ok(workspace, cli):
    """Issue #18.10: doctor said `ok (mode 600)` for a secret the current user could not read."""
    (workspace.root / ".csat-secret").mkdir()      # root reads any file: a folder cannot be read as one
    result = cli("doctor")
    assert result.exit_code == 1 and "fail secret" in result.stderr and "cannot read" in result.stderr


def test_settings_that_csat_toml_says_otherwise_are_named(workspace, cli):
    from csat.config import write_file_key

    assert "ok   settings" in cli("doctor").stderr
    write_file_key(workspace, "mail.smtp_host", "smtp.old-laptop.example")
    result = cli("doctor")
    assert "warn settings" in result.stderr
    assert "mail.smtp_host (csat.toml 'smtp.old-laptop.example', store '')" in result.stderr


def test_outbox_that_cannot_be_written_fails(workspace, cli):
    workspace.outbox.write_text("a file where the outbox folder should be")
    result = cli("doctor")
    assert result.exit_code == 1 and "fail mail" in result.stderr and "outbox: cannot write to" in result.stderr
