"""Messages stamped from a skeleton are the messages build_message makes, byte for byte."""

import os
from email import message_from_bytes, policy
from email.utils import make_msgid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from csat.mail.skeleton import (
    MessageSkeleton,
    _date_line,
    _disposition,
    _disposition_line,
    _folded,
    _message_id_line,
    _to_line,
)
from csat.mail.transport import Attachment, Fixed, _boundary, address, build_message, prepare

SENDER = address("quality@maker.example", "Maker Precision Co., Ltd.")
REPLY_TO = address("sales@maker.example", "Sales")
SUBJECT = "Maker Precision Co., Ltd.: customer satisfaction survey, January to June 2024"
LONG_LINE = ("Every half year we ask our customers how well we served them, so that we can keep improving "
             "our products and service.")


def _fixed() -> Fixed:
    return Fixed(date="Mon, 01 Jul 2024 09:30:00 +0800", message_id="<172.4242.99@maker.example>",
                 inner_boundary=_boundary(), outer_boundary=_boundary())


def _both(skeleton, name, text, html, filename="survey-2024H1-C-001.xlsx", data=None, email="buyer@acme.example"):
    """(plain build, skeleton build) of the same message with the same Date, Message-ID and boundaries."""
    recipient = address(email, name)
    attachment = Attachment(filename, data if data is not None else os.urandom(5000))
    fixed = _fixed()
    plain = prepare(build_message(sender=SENDER, recipient=recipient, subject=SUBJECT, text=text, html=html,
                                  reply_to=REPLY_TO, attachments=[attachment], fixed=fixed))
    stamped = skeleton.prepare(recipient=recipient, text=text, html=html, attachment=attachment, fixed=fixed)
    return plain, stamped


@pytest.fixture
def skeleton():
    return MessageSkeleton(sender=SENDER, subject=SUBJECT, reply_to=REPLY_TO)


CASES = {
    "english": ("Anna Becker", f"Dear Anna Becker,\n\n{LONG_LINE}\n\nThank you.\n"),
    "chinese contact": ("李伟", "尊敬的李伟：\n\n深圳华科电子有限公司每半年开展一次客户满意度调查，以持续改进我们的产品和服务。\n"),
    "quotes and newlines": ('Mr "X"\r\nBcc: victim@elsewhere.example', "Dear Mr \"X\" Bcc:\n\nshort\n"),
    "english letter, chinese name": ("联系人 7", f"Dear 联系人 7,\n\n{LONG_LINE}\n"),
    "latin-1, short lines": ("Jürgen Groß", "Sehr geehrter Herr Groß,\nkurz.\n"),
    "long name": ("Purchasing Department of the Very Long Named Customer Manufacturing Company Limited",
                  "Dear buyer,\n"),
    "specials": ("O'Brien, Pat (Purchasing) <buyer>", "Dear Pat,\n"),
    "empty name": ("", "Hello,\n"),
}


@pytest.mark.parametrize("case", CASES)
def test_stamped_message_is_the_plain_build_byte_for_byte(skeleton, case):
    name, text = CASES[case]
    html = "<p>" + text.replace("\n", "<br>\n") + "</p>\n"
    plain, stamped = _both(skeleton, name, text, html)
    assert stamped == plain
    assert b"\n" not in stamped.data.replace(b"\r\n", b"") and b"\r" not in stamped.data.replace(b"\r\n", b"")


def test_every_transfer_encoding_gets_its_own_skeleton(skeleton):
    for name, text in [*CASES.values(), ("A", "short\n")]:
        plain, stamped = _both(skeleton, name, text, text)
        assert stamped == plain
    plain, stamped = _both(skeleton, "A", "short\n", LONG_LINE + "\n")
    assert stamped == plain
    encodings = set(skeleton._cuts)
    assert {("7bit", "7bit"), ("8bit", "8bit"), ("quoted-printable", "quoted-printable"),
            ("base64", "base64"), ("7bit", "quoted-printable")} <= encodings


def test_stamped_message_parses_back_like_the_plain_one(skeleton):
    name, text = CASES["chinese contact"]
    html = f"<p>{text}</p>"
    form = os.urandom(11000)
    plain, stamped = _both(skeleton, name, text, html, data=form)
    ours, theirs = (message_from_bytes(item.data, policy=policy.default) for item in (stamped, plain))
    assert list(ours.keys()) == list(theirs.keys())
    for key in ours.keys():
        assert str(ours[key]) == str(theirs[key])
    assert ours["To"].addresses[0].display_name == "李伟"
    assert ours["To"].addresses[0].addr_spec == "buyer@acme.example"
    assert b"=?utf-8?" in stamped.data.split(b"\r\n\r\n")[0]  # the Chinese name is encoded, not raw
    assert ours.get_body(("plain",)).get_content() == theirs.get_body(("plain",)).get_content()
    assert ours.get_body(("html",)).get_content() == theirs.get_body(("html",)).get_content()
    [attachment] = list(ours.iter_attachments())
    assert attachment.get_filename() == "survey-2024H1-C-001.xlsx" and attachment.get_content() == form
    assert [part.get_content_type() for part in ours.walk()] == [part.get_content_type() for part in theirs.walk()]
    assert (stamped.sender, stamped.recipients, stamped.message_id) == \
        ("quality@maker.example", ("buyer@acme.example",), "<172.4242.99@maker.example>")


def test_header_injection_through_the_name_is_still_neutralised(skeleton):
    recipient = address("buyer@acme.example", 'Evil"\r\nBcc: victim@elsewhere.example')
    stamped = skeleton.prepare(recipient=recipient, text="Hi\n", html="<p>Hi</p>",
                               attachment=Attachment("form.xlsx", b"PK\x03\x04"))
    parsed = message_from_bytes(stamped.data, policy=policy.default)
    assert parsed["Bcc"] is None and b"\r\nBcc:" not in stamped.data
    assert [item.addr_spec for item in parsed["To"].addresses] == ["buyer@acme.example"]
    assert stamped.recipients == ("buyer@acme.example",)


def test_fresh_date_message_id_and_boundaries_per_message(skeleton):
    parts = dict(text="Hi\n", html="<p>Hi</p>", attachment=Attachment("form.xlsx", b"PK\x03\x04"))
    first = skeleton.prepare(recipient=address("a@acme.example", "A"), **parts)
    second = skeleton.prepare(recipient=address("a@acme.example", "A"), **parts)
    parsed = [message_from_bytes(item.data, policy=policy.default) for item in (first, second)]
    assert first.message_id != second.message_id and first.message_id.endswith("@maker.example>")
    assert parsed[0]["Message-ID"] == first.message_id and parsed[0]["Date"].datetime is not None
    assert parsed[0].get_boundary() != parsed[1].get_boundary()
    assert parsed[0].get_body(("plain",)).get_content() == "Hi\r\n"


def test_non_ascii_attachment_name_is_encoded_as_the_email_package_does(skeleton):
    plain, stamped = _both(skeleton, "Anna", "Hi\n", "<p>Hi</p>", filename="调查表-2024H1.xlsx")
    assert stamped == plain
    [attachment] = message_from_bytes(stamped.data, policy=policy.default).iter_attachments()
    assert attachment.get_filename() == "调查表-2024H1.xlsx"


def test_other_attachment_types_are_refused(skeleton):
    with pytest.raises(ValueError, match="attaches"):
        skeleton.prepare(recipient=address("a@acme.example"), text="x", html="x",
                         attachment=Attachment("a.pdf", b"%PDF", "application", "pdf"))


names = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
letters = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)
codes = st.text("ABCXYZ0123456789-_.", min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names, text=letters, html=letters, code=codes, data=st.binary(max_size=300))
def test_any_name_letter_and_form_stamps_exactly_like_the_plain_build(skeleton, name, text, html, code, data):
    plain, stamped = _both(skeleton, name, text, html, filename=f"survey-2024H1-{code}.xlsx", data=data)
    assert stamped == plain


# The plain header lines written without the policy must be exactly what the policy folds.
atext = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
plain_names = st.text(atext + " .\"()<>@,;:[]\\é李\t", max_size=80)
local_parts = st.text(atext + ".", min_size=1, max_size=30)
domains = st.from_regex(r"[a-z0-9-]{1,20}(\.[a-z0-9-]{1,20}){0,3}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(name=plain_names, local=local_parts, domain=domains)
def test_to_lines_written_directly_are_the_policy_fold(name, local, domain):
    try:
        recipient = address(f"{local}@{domain}", name)
    except ValueError:
        return
    assert _to_line(recipient) == _folded("To", recipient)[1]


@settings(max_examples=200, deadline=None)
@given(domain=domains, digits=st.from_regex(r"[0-9]{1,40}(\.[0-9]{1,30}){0,3}", fullmatch=True))
def test_message_id_lines_written_directly_are_the_policy_fold(domain, digits):
    for message_id in (f"<{digits}@{domain}>", make_msgid(domain=domain)):
        header, line = _folded("Message-ID", message_id)
        assert _message_id_line(message_id) == (str(header), line)


@settings(max_examples=200, deadline=None)
@given(filename=st.text("abcXYZ019._- é\"", min_size=1, max_size=70))
def test_disposition_lines_written_directly_are_the_policy_fold(filename):
    assert _disposition_line(filename) == _folded("Content-Disposition", _disposition(filename))[1]


def test_the_date_line_is_the_policy_fold_and_follows_the_clock():
    for value in ("Mon, 01 Jul 2024 09:30:00 +0800", "Mon, 01 Jul 2024 09:30:01 +0800"):
        assert _date_line(value) == _folded("Date", value)[1]


def test_boundaries_of_another_length_are_refused(skeleton):
    with pytest.raises(ValueError, match="length"):
        skeleton.prepare(recipient=address("a@acme.example"), text="x", html="x",
                         attachment=Attachment("a.xlsx", b"PK"), fixed=Fixed(inner_boundary="short"))
