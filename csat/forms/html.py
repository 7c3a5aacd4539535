"""The printable HTML form (A4, for phone interviews, visits and fax) and the e-mail texts.

Jinja2 templates live in csat/templates/forms and csat/templates/email; the
environment is built once per process (loading and compiling templates per
customer would dominate a send) and autoescapes HTML, so a customer named
`<b>"Acme"</b>` prints as text. Plain-text templates (.txt) are not escaped.
"""

from __future__ import annotations

from dataclasses import dataclass

from csat.forms.content import FormContent
from csat.templating import template


@dataclass(frozen=True)
class Addressee:
    """Who a form or letter is for."""

    code: str
    name: str
    contact: str = ""
    token: str = ""


def _flat(text: str) -> str:
    return " ".join((text or "").split())


def _common(content: FormContent, addressee: Addressee) -> dict:
    words = content.words
    contact = content.contact or content.reply_to
    return {
        "zh": content.language == "zh", "words": words, "company": content.company,
        "customer_name": _flat(addressee.name), "customer_code": addressee.code, "contact": _flat(addressee.contact),
        "period": content.period, "period_label": content.period_label, "due": content.due_date.isoformat(),
        "instructions": content.instructions, "token": addressee.token,
        "contact_line": words["contact_line"].format(contact=contact) if contact else "",
    }


def render_form(content: FormContent, addressee: Addressee) -> str:
    """The printable form as a standalone HTML page."""
    items = [{"label": content.item_label(item), "description": item.description, "choices": item.choices,
              "scale": item.scale_text} for item in content.items]
    context = _common(content, addressee) | {"instructions": content.print_instructions}
    return template("forms/form.html").render(**context, items=items)


def subject(content: FormContent) -> str:
    return content.words["subject"].format(company=content.company, period=content.period_label)


def render_letter(content: FormContent, addressee: Addressee, name: str = "invitation", **extra) -> tuple[str, str]:
    """(plain text, HTML) of the e-mail template `email/<name>.txt|.html` for one addressee."""
    context = _common(content, addressee) | {
        "greeting_name": _flat(addressee.contact) or _flat(addressee.name),
        "contact": content.contact or content.reply_to,
        "items": [{"label": item.label} for item in content.items],
        "scale": f"{content.scale_min:g}-{content.scale_max:g}",
        "subject": subject(content),
        "filename": extra.pop("filename", ""),
    } | extra
    return template(f"email/{name}.txt").render(**context), template(f"email/{name}.html").render(**context)
