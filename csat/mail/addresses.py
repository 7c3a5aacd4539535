"""The one rule for an e-mail address csat can send to.

Customers' addresses are checked by this function when they are entered
(`customer add`, `customer edit`, `customer import`) and again when a message
is built (`survey send`, reminders), so an address is never accepted on entry
and refused at sending. Typed on a Chinese input method, an address often
comes in full-width characters (ｔｅｓｔ＠ｅｘａｍｐｌｅ．ｃｎ): NFKC
normalisation turns those into ASCII first, and the normalised address is what
is stored. csat sends without the SMTPUTF8 extension, so the part before the
@ must be ASCII; an internationalised domain is stored in its ASCII (IDNA)
form, which every mail server accepts. The syntax check itself is the e-mail
package's own parser (email.headerregistry.Address), the same one that writes
the To: header.
"""

from __future__ import annotations

import re
import unicodedata

from csat.i18n import _

MAX_LENGTH = 254        # RFC 5321: a forward path holds at most 254 characters of address
MAX_LOCAL = 64
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f<>(),;:\"\[\]\\]")


class AddressProblem(ValueError):
    """Why an address cannot be used; the message is one phrase (no address in it)."""


def normalise_email(text: str | None) -> str:
    """The address as csat stores and sends it ('' for none); AddressProblem says why it cannot be used."""
    spec = unicodedata.normalize("NFKC", text or "").strip()
    if not spec:
        return ""
    forbidden = _FORBIDDEN.search(spec)
    if forbidden:
        character = forbidden.group()
        shown = {"\n": _("a line break"), "\r": _("a line break"), "\t": _("a tab"), " ": _("a space")}.get(
            character, f"{character!r}" if character.isprintable() else _("a control character"))
        raise AddressProblem(_("contains {character}", character=shown))
    if spec.count("@") != 1:
        raise AddressProblem(_("needs exactly one @") if "@" in spec else _("has no @"))
    local, domain = spec.split("@")
    if not local:
        raise AddressProblem(_("nothing before the @"))
    if not domain:
        raise AddressProblem(_("no domain after the @"))
    if not local.isascii():
        bad = next(character for character in local if not character.isascii())
        raise AddressProblem(_("the part before the @ has the non-ASCII character {character}; "
                               "csat can only send to ASCII names before the @", character=repr(bad)))
    if len(local) > MAX_LOCAL:
        raise AddressProblem(_("the part before the @ is longer than {n} characters", n=MAX_LOCAL))
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise AddressProblem(_("the part before the @ has a misplaced dot"))
    domain = _ascii_domain(domain)
    spec = f"{local}@{domain}"
    if len(spec) > MAX_LENGTH:
        raise AddressProblem(_("longer than {n} characters", n=MAX_LENGTH))
    _parse(spec)
    return spec


def _ascii_domain(domain: str) -> str:
    """The domain in lower-case ASCII (IDNA for an internationalised one); AddressProblem if it is not one."""
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise AddressProblem(_("the domain {domain} is not a valid internationalised domain name",
                                   domain=repr(domain))) from None
    labels = domain.lower().split(".")
    if len(labels) < 2:
        raise AddressProblem(_("the domain {domain} has no dot (e.g. example.com)", domain=repr(domain)))
    for label in labels:
        if not _LABEL.match(label):
            raise AddressProblem(_("the domain {domain} is malformed", domain=repr(domain)))
    if labels[-1].isdigit():
        raise AddressProblem(_("the domain {domain} is malformed", domain=repr(domain)))
    return ".".join(labels)


def _parse(spec: str) -> None:
    """The e-mail package must read the address back as itself (what goes into the To: header)."""
    from email.errors import MessageError
    from email.headerregistry import Address

    try:
        parsed = Address(addr_spec=spec)
    except (ValueError, TypeError, IndexError, MessageError) as exc:
        raise AddressProblem(str(exc).rstrip(")").strip() or _("malformed")) from None
    if parsed.addr_spec != spec:
        raise AddressProblem(_("malformed"))


def email_problem(text: str | None) -> str | None:
    """A one-line problem naming the address, or None (empty is fine: reached by phone or fax)."""
    try:
        normalise_email(text)
    except AddressProblem as exc:
        return _("malformed e-mail {address}: {reason}", address=repr(text), reason=exc)
    return None
