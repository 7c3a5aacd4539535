"""The identity of a survey form, signed so it cannot be re-addressed.

Every xlsx form carries a very hidden sheet (IDENTITY_SHEET) with key/value
rows in columns A and B, all values written as text so that Excel, WPS and
LibreOffice keep them byte for byte when the customer saves the file:

    format, token, customer, period, template, sheet, items, comments,
    overall_comment, respondent, title, date, signature

`items` and `comments` map item codes to the cells on the visible sheet
(`quality=C8;delivery=C9`). The signature is HMAC-SHA256 with the
workspace secret over every other field, so editing the customer, period or
a cell address, or bringing a form from another workspace, is detected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

from csat.i18n import _

IDENTITY_SHEET = "csat_form"
FORMAT_VERSION = "1"
_FIELDS = ("format", "token", "customer", "period", "template", "sheet", "items", "comments",
           "overall_comment", "respondent", "title", "date")


class IdentityError(ValueError):
    """The identity sheet is missing, malformed, or its signature does not match."""


@dataclass
class FormIdentity:
    token: str
    customer: str
    period: str
    template: str
    sheet: str
    items: dict[str, str]                    # item code -> score cell, e.g. {"quality": "C8"}
    comments: dict[str, str] = field(default_factory=dict)  # item code -> comment cell
    overall_comment: str = ""                # cell of the overall comment
    respondent: str = ""                     # cell of the respondent's name
    title: str = ""                          # cell of the respondent's title
    date: str = ""                           # cell of the answer date
    format: str = FORMAT_VERSION

    def fields(self) -> dict[str, str]:
        """Every signed field as text, in a fixed order."""
        return {
            "format": self.format, "token": self.token, "customer": self.customer, "period": self.period,
            "template": self.template, "sheet": self.sheet, "items": _join(self.items),
            "comments": _join(self.comments), "overall_comment": self.overall_comment,
            "respondent": self.respondent, "title": self.title, "date": self.date,
        }

    def signature(self, secret: bytes) -> str:
        payload = json.dumps(self.fields(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hmac.new(secret, payload.encode("utf-8"), hashlib.sha256).hexdigest()

    def rows(self, secret: bytes) -> list[tuple[str, str]]:
        """The (key, value) rows to write into the identity sheet."""
        return list(self.fields().items()) + [("signature", self.signature(secret))]

    @classmethod
    def from_rows(cls, rows: dict[str, str], secret: bytes | tuple[bytes, ...]) -> "FormIdentity":
        """Rebuild and verify an identity read back from a form; raises IdentityError.

        secret may be several keys (the store's, then a folder's older one): any of them verifies.
        """
        values = {key: ("" if rows.get(key) is None else str(rows.get(key)).strip()) for key in (*_FIELDS, "signature")}
        if not values["token"] or not values["signature"]:
            raise IdentityError(_("form identity incomplete (no token or signature)"))
        if values["format"] != FORMAT_VERSION:
            raise IdentityError(_("form format {format!r} is not supported by this csat", format=values["format"]))
        try:
            identity = cls(
                token=values["token"], customer=values["customer"], period=values["period"],
                template=values["template"], sheet=values["sheet"], items=_split(values["items"]),
                comments=_split(values["comments"]), overall_comment=values["overall_comment"],
                respondent=values["respondent"], title=values["title"], date=values["date"],
                format=values["format"],
            )
        except ValueError as exc:
            raise IdentityError(_("form identity malformed: {error}", error=exc)) from None
        keys = (secret,) if isinstance(secret, bytes) else tuple(secret)
        if not any(hmac.compare_digest(identity.signature(key), values["signature"].lower()) for key in keys):
            raise IdentityError(_("form signature invalid: the form was altered or comes from another workspace"))
        return identity


def _join(mapping: dict[str, str]) -> str:
    return ";".join(f"{key}={value}" for key, value in mapping.items())


def _split(text: str) -> dict[str, str]:
    if not text:
        return {}
    result = {}
    for part in text.split(";"):
        key, separator, value = part.partition("=")
        if not separator or not key:
            raise ValueError(_("bad entry {part!r}", part=part))
        result[key] = value
    return result
