"""Messages stamped from a skeleton that the email package built once.

build_message runs the email package's header registry, content manager and
generator for every message, and that is most of what a survey send costs.
A round's invitations in one language differ only in the recipient, Date,
Message-ID, MIME boundaries, the two letter bodies and the attached form. So
a MessageSkeleton has build_message make one message with marker values (once
for each pair of body transfer encodings it meets), cuts the serialised bytes
at the markers, and joins the pieces with each recipient's own parts, each
made by the email package code the plain build runs: header objects from the
policy's registry folded by the policy (so CR/LF and non-ASCII names are
handled exactly as before), the bodies encoded by the content manager's text
encoder (7bit, 8bit, quoted-printable or base64, chosen as it would choose),
the attachment in the content manager's base64 lines. The line ends are CRLF
throughout (policy SMTP). Tests hold the result byte for byte equal to
build_message given the same Date, Message-ID and boundaries.
"""

from __future__ import annotations

import binascii
import re
import secrets
from dataclasses import dataclass
from email import utils
from email.contentmanager import _encode_text  # the encoder set_content uses; tests pin its behaviour
from email.headerregistry import Address
from email.utils import format_datetime, localtime, make_msgid

from csat.mail.transport import SMTP_POLICY, Attachment, Fixed, Prepared, _boundary, build_message

_NEWLINES = re.compile(r"\r\n|\r|\n")
_CRLF = b"\r\n"
_BOUNDARY = _boundary()  # every boundary csat makes has this length


def _wire(payload: str) -> bytes:
    """A part's payload as the generator writes it: every line end CRLF, surrogates back to bytes."""
    return _NEWLINES.sub("\r\n", payload).encode("ascii", "surrogateescape")


def _text_body(text: str) -> tuple[str, bytes]:
    """(transfer encoding, body on the wire) of a UTF-8 text part, as set_content makes it."""
    cte, payload = _encode_text(text, "utf-8", None, SMTP_POLICY)
    return cte, _wire(payload)


_BASE64_LINE = SMTP_POLICY.max_line_length // 4 * 4  # set_content's base64 lines: 57 bytes, 76 characters


def _base64_body(data: bytes) -> bytes:
    """set_content's base64 lines for bytes, each ending CRLF."""
    encoded = binascii.b2a_base64(data, newline=False)
    lines = [encoded[start:start + _BASE64_LINE] for start in range(0, len(encoded), _BASE64_LINE)]
    return b"".join(line + _CRLF for line in lines)


def _folded(name: str, value) -> tuple[object, bytes]:
    """(header object, folded header line) as EmailMessage and the generator make them under the policy."""
    header = SMTP_POLICY.header_factory[name](name, value)
    return header, SMTP_POLICY.fold_binary(name, header)


def _disposition(filename: str) -> str:
    """The Content-Disposition value add_attachment(filename=...) sets (email.message.set_param)."""
    try:
        filename.encode("ascii")
    except UnicodeEncodeError:
        return f"attachment; filename*={utils.encode_rfc2231(filename, 'utf-8', '')}"
    return f'attachment; filename="{utils.quote(filename)}"'


# Values whose folded line is plainly "Name: value": printable ASCII words that need no quoting, no
# encoded word, on one line. Anything else goes through the policy. Tests compare both ways.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOMAIN = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_PLAIN_NAME = re.compile(rf"(?:{_ATOM}(?: {_ATOM})*)?\Z")
_PLAIN_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_DOMAIN}\Z")
_PLAIN_MESSAGE_ID = re.compile(rf"<[0-9.]+@{_DOMAIN}>\Z")
_PLAIN_FILENAME = re.compile(r"[A-Za-z0-9._-]+\Z")


def _plain_line(line: str) -> bytes | None:
    if "=?" in line or len(line) > SMTP_POLICY.max_line_length:
        return None
    return line.encode("ascii") + _CRLF


def _to_line(recipient: Address) -> bytes:
    name, spec = recipient.display_name, recipient.addr_spec
    if _PLAIN_NAME.match(name) and _PLAIN_ADDRESS.match(spec):
        line = _plain_line(f"To: {name} <{spec}>" if name else f"To: {spec}")
        if line is not None:
            return line
    return _folded("To", recipient)[1]


def _message_id_line(message_id: str) -> tuple[str, bytes]:
    if _PLAIN_MESSAGE_ID.match(message_id):
        line = _plain_line(f"Message-ID: {message_id}")
        if line is not None:
            return message_id, line
    header, line = _folded("Message-ID", message_id)
    return str(header), line


def _disposition_line(filename: str) -> bytes:
    if _PLAIN_FILENAME.match(filename):
        line = _plain_line(f'Content-Disposition: attachment; filename="{filename}"')
        if line is not None:
            return line
    return _folded("Content-Disposition", _disposition(filename))[1]


_last_date: tuple[str, bytes] = ("", b"")


def _date_line(value: str) -> bytes:
    """The folded Date line; it changes once a second, so the last one is kept."""
    global _last_date
    if _last_date[0] != value:
        _last_date = (value, _folded("Date", value)[1])
    return _last_date[1]


def _header_span(data: bytes, index: int) -> tuple[int, int]:
    """Start and end (after its CRLF) of the header field, folded lines included, around `index`."""
    start = data.rfind(_CRLF, 0, index) + 2
    while data[start:start + 1] in (b" ", b"\t"):
        start = data.rfind(_CRLF, 0, start - 2) + 2
    end = data.index(_CRLF, index) + 2
    while data[end:end + 1] in (b" ", b"\t"):
        end = data.index(_CRLF, end) + 2
    return start, end


def _only(data: bytes, needle: bytes, what: str) -> int:
    index = data.find(needle)
    if index < 0 or data.find(needle, index + 1) >= 0:
        raise RuntimeError(f"message skeleton: the {what} marker is not found exactly once")
    return index


@dataclass(frozen=True)
class _Cut:
    """A serialised message cut at its per-message parts: literals[0], slot, literals[1], slot, ..."""

    literals: tuple[bytes, ...]
    slots: tuple[str, ...]

    def join(self, values: dict[str, bytes]) -> bytes:
        pieces = [self.literals[0]]
        for slot, literal in zip(self.slots, self.literals[1:]):
            pieces.append(values[slot])
            pieces.append(literal)
        return b"".join(pieces)


class MessageSkeleton:
    """One kind of message (sender, subject, text and HTML letter, one attachment) for many recipients.

    `prepare()` gives what `csat.mail.transport.prepare(build_message(...))` gives for the same arguments,
    at a fraction of the cost.
    """

    def __init__(self, *, sender: Address, subject: str, reply_to: Address | None = None,
                 maintype: str = Attachment.maintype, subtype: str = Attachment.subtype):
        self.sender = sender
        self.subject = subject
        self.reply_to = reply_to
        self.maintype, self.subtype = maintype, subtype
        self._cuts: dict[tuple[str, str], _Cut] = {}

    def prepare(self, *, recipient: Address, text: str, html: str, attachment: Attachment,
                fixed: Fixed | None = None) -> Prepared:
        """The recipient's message, serialised; `fixed` pins Date, Message-ID and boundaries (not encodings)."""
        if (attachment.maintype, attachment.subtype) != (self.maintype, self.subtype):
            raise ValueError(f"this skeleton attaches {self.maintype}/{self.subtype}")
        fixed = fixed or Fixed()
        boundaries = (fixed.inner_boundary, fixed.outer_boundary)
        if any(len(boundary or _BOUNDARY) != len(_BOUNDARY) for boundary in boundaries):
            raise ValueError("boundaries must have the length csat.mail.transport makes them (their header folds by length)")
        text_cte, text_wire = _text_body(text)
        html_cte, html_wire = _text_body(html)
        cut = self._cuts.get((text_cte, html_cte)) or self._cut(text_cte, html_cte)
        message_id, message_id_line = _message_id_line(
            fixed.message_id or make_msgid(domain=self.sender.domain or "localhost"))
        data = cut.join({
            "to": _to_line(recipient), "date": _date_line(fixed.date or format_datetime(localtime())),
            "message_id": message_id_line,
            "inner": (fixed.inner_boundary or _boundary()).encode("ascii"),
            "outer": (fixed.outer_boundary or _boundary()).encode("ascii"),
            "text": text_wire, "html": html_wire,
            "disposition": _disposition_line(attachment.filename), "attachment": _base64_body(attachment.data),
        })
        return Prepared(message_id=message_id, sender=self.sender.addr_spec,
                        recipients=(recipient.addr_spec,), data=data)

    def _cut(self, text_cte: str, html_cte: str) -> _Cut:
        """Build the message once with markers in these encodings and cut it where each recipient differs."""
        mark = f"csatslot{secrets.token_hex(12)}"
        date = "Sat, 01 Jan 2000 00:00:00 +0000"
        inner, outer = _boundary(), _boundary()  # real ones: a boundary's length decides how its header folds
        text_marker, html_marker = f"{mark}text", f"{mark}html"
        attachment_marker = f"{mark}attachment".encode("ascii")
        message = build_message(
            sender=self.sender, recipient=Address(addr_spec=f"{mark}@to.invalid"), subject=self.subject,
            text=text_marker, html=html_marker, reply_to=self.reply_to,
            attachments=[Attachment(f"{mark}.bin", attachment_marker, self.maintype, self.subtype)],
            fixed=Fixed(date=date, message_id=f"<{mark}@id.invalid>", inner_boundary=inner, outer_boundary=outer,
                        text_cte=text_cte, html_cte=html_cte))
        data = message.as_bytes(policy=SMTP_POLICY)
        head_end = data.index(_CRLF + _CRLF) + 2
        spans = [
            (*_header_span(data, _only(data, f"{mark}@to.invalid".encode(), "To")), "to"),
            (*_header_span(data, _only(data, f"<{mark}@id.invalid>".encode(), "Message-ID")), "message_id"),
            (*_header_span(data, _only(data[:head_end], b"\r\nDate: " + date.encode(), "Date") + 2), "date"),
            (*_header_span(data, _only(data, f"{mark}.bin".encode(), "file name")), "disposition"),
        ]
        bodies = (("text", _wire(_encode_text(text_marker, "utf-8", text_cte, SMTP_POLICY)[1])),
                  ("html", _wire(_encode_text(html_marker, "utf-8", html_cte, SMTP_POLICY)[1])),
                  ("attachment", _base64_body(attachment_marker)))
        for slot, wire in bodies:
            start = _only(data, wire, slot)
            spans.append((start, start + len(wire), slot))
        for slot, boundary in (("inner", inner), ("outer", outer)):
            needle = boundary.encode("ascii")
            start = data.find(needle)
            while start >= 0:
                spans.append((start, start + len(needle), slot))
                start = data.find(needle, start + len(needle))
        spans.sort()
        literals, slots, position = [], [], 0
        for start, end, slot in spans:
            if start < position:
                raise RuntimeError(f"message skeleton: the {slot} part overlaps another")
            literals.append(data[position:start])
            slots.append(slot)
            position = end
        literals.append(data[position:])
        cut = self._cuts[(text_cte, html_cte)] = _Cut(tuple(literals), tuple(slots))
        return cut

