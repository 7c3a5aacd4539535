"""A round's invitations stamped from skeletons parse back as the plainly built ones do."""

from datetime import date
from email import message_from_bytes, policy

import pytest

from csat.workspace import config_set
from csat.forms.xlsx import read_identity
from csat.mail.transport import prepare
from csat.periods import Half
from csat.registry import customers
from csat.survey import rounds
from csat.survey import send as survey

PER_MESSAGE = {"Date", "Message-ID", "Content-Type"}  # Content-Type: only the boundary differs


@pytest.fixture
def round_forms(workspace, store):
    config_set(workspace, "mail.reply_to", "sales@example.com")
    with store.session() as session:
        hostile = customers.add(session, code="C-1", name='Acme "Motors" <GmbH>', email="a@acme.example")
        hostile.name = 'Acme "Motors"\n<GmbH>'  # as an older store might hold them
        hostile.contact = 'Anna "Ann"\r\nBcc: x@evil.example'
        customers.add(session, code="C-2", name="深圳华科电子有限公司", contact="李伟", email="li@huake.example",
                      language="zh")
        customers.add(session, code="C-3", name="Nordwerk GmbH", contact="联系人 Jürgen", email="j@nordwerk.example")
        round_ = rounds.open_round(session, Half.parse("2024H1"), due=date(2024, 7, 31), today=date(2024, 7, 1))
        recipients = [survey.Recipient.of(survey.ensure_invitation(session, round_, customer), customer)
                      for customer in customers.list_customers(session)]
        forms = survey.RoundForms.load(session, workspace, round_)
    return forms, recipients


def _parsed(data: bytes):
    return message_from_bytes(data, policy=policy.default)


def test_stamped_invitations_equal_plain_ones_header_by_header_and_part_by_part(workspace, round_forms):
    forms, recipients = round_forms
    for recipient in recipients:
        stamped = forms.prepared(recipient)
        plain = prepare(forms.message(recipient))
        ours, theirs = _parsed(stamped.data), _parsed(plain.data)
        assert list(ours.keys()) == list(theirs.keys())
        for key in ours.keys():
            if key not in PER_MESSAGE:
                assert str(ours[key]) == str(theirs[key]), key
        assert ours.get_content_type() == "multipart/mixed" and ours["Message-ID"] == stamped.message_id
        assert (stamped.sender, stamped.recipients) == (plain.sender, plain.recipients)
        our_parts, their_parts = list(ours.walk())[1:], list(theirs.walk())[1:]
        assert len(our_parts) == len(their_parts) == 4
        for our_part, their_part in zip(our_parts, their_parts):
            assert our_part.get_content_type() == their_part.get_content_type()
            assert our_part["Content-Transfer-Encoding"] == their_part["Content-Transfer-Encoding"]
            if not our_part.is_multipart():
                assert our_part.get_content() == their_part.get_content()
                assert our_part.get_filename() == their_part.get_filename()
        [attachment] = list(ours.iter_attachments())
        identity = read_identity(attachment.get_content(), workspace.secret())
        assert (identity.customer, identity.token) == (recipient.code, recipient.token)
        assert b"\n" not in stamped.data.replace(b"\r\n", b"")
    by_code = {recipient.code: _parsed(forms.prepared(recipient).data) for recipient in recipients}
    assert by_code["C-2"]["To"].addresses[0].display_name == "李伟"
    assert "李伟" in by_code["C-2"].get_body(("html",)).get_content()
    assert by_code["C-3"]["To"].addresses[0].display_name == "联系人 Jürgen"
    hostile = by_code["C-1"]
    assert hostile["Bcc"] is None and len(hostile["To"].addresses) == 1
    assert hostile["To"].addresses[0].display_name == 'Anna "Ann" Bcc: x@evil.example'
    assert hostile["Reply-To"].addresses[0].addr_spec == "sales@example.com"


def test_a_reminder_letter_stamps_too(round_forms):
    forms, recipients = round_forms
    recipient = recipients[1]
    extra = {"sent_on": "2024-07-01"}
    stamped = _parsed(forms.prepared(recipient, "reminder", subject_text="Reminder: survey", **extra).data)
    plain = forms.message(recipient, "reminder", subject_text="Reminder: survey", **extra)
    assert stamped["Subject"] == "Reminder: survey"
    assert stamped.get_body(("plain",)).get_content() == _parsed(plain.as_bytes()).get_body(("plain",)).get_content()


def test_unusable_address_is_refused_on_the_stamped_path_too(round_forms):
    forms, recipients = round_forms
    broken = survey.Recipient(recipients[0].invitation_id, recipients[0].token, "C-1", "Acme", "", "two@@x.example",
                              "en")
    with pytest.raises(ValueError, match="malformed"):
        forms.prepared(broken)
