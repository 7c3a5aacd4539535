"""`csat customer ...`: the customers the procedure surveys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from csat.cli._common import (
    Format,
    Home,
    Reason,
    require_reason,
    ShowFormatOption,
    emit,
    say,
    show_record,
    workspace_and_store,
)
from csat.i18n import N_, _

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("code", N_("Code")), ("name", N_("Name")), ("contact", N_("Contact")), ("email", N_("E-mail")),
           ("phone", N_("Phone")), ("segment", N_("Segment")), ("language", N_("Lang")), ("active", N_("Active"))]

Name = Annotated[Optional[str], typer.Option("--name", help="Company name.")]
Contact = Annotated[Optional[str], typer.Option("--contact", help="Contact person.")]
Email = Annotated[Optional[str], typer.Option("--email", help="Where survey forms are sent.")]
Phone = Annotated[Optional[str], typer.Option("--phone", help="Phone or fax number.")]
Segment = Annotated[Optional[str], typer.Option("--segment", help="Customer group, e.g. OEM, distributor.")]
CustomerLang = Annotated[Optional[str], typer.Option("--lang", help="Language of forms for this customer: en or zh.")]


@app.command(name="add")
def customer_add(
    code: Annotated[str, typer.Argument(help="Short unique code, e.g. C-001.")],
    name: Annotated[str, typer.Option("--name", help="Company name.")],
    contact: Contact = None, email: Email = None, phone: Phone = None, segment: Segment = None,
    lang: CustomerLang = None, home: Home = None,
) -> None:
    """Add one customer.

    Example: csat customer add C-001 --name "Acme Motors" --email buyer@acme.example --lang en
    """
    from csat.registry import customers

    opened, store = workspace_and_store(home)
    with store.session() as session:
        customer = customers.add(
            session, default_language=opened.settings.company.lang, code=code, name=name,
            contact=contact or "", email=email or "", phone=phone or "", segment=segment or "", language=lang or "",
        )
        say(_("Added customer {code} ({name})", code=customer.code, name=customer.name))


@app.command(name="edit")
def customer_edit(
    code: Annotated[str, typer.Argument(help="The customer's code.")],
    name: Name = None, contact: Contact = None, email: Email = None, phone: Phone = None,
    segment: Segment = None, lang: CustomerLang = None, home: Home = None,
) -> None:
    """Change a customer's details; options not given stay as they are.

    Example: csat customer edit C-001 --email quality@acme.example
    """
    from csat.registry import customers

    opened, store = workspace_and_store(home)
    with store.session() as session:
        customers.edit(session, code, default_language=opened.settings.company.lang, name=name,
                       contact=contact, email=email, phone=phone, segment=segment, language=lang)
        say(_("Updated customer {code}", code=code))


@app.command(name="deactivate")
def customer_deactivate(code: Annotated[str, typer.Argument(help="The customer's code.")], reason: Reason = None,
                        home: Home = None) -> None:
    """Stop surveying a customer; their records are kept, and the reason is audited.

    Example: csat customer deactivate C-007 --reason "no longer buys from us"
    """
    _set_active(code, False, home, require_reason(reason, "customer deactivate"))


@app.command(name="activate")
def customer_activate(code: Annotated[str, typer.Argument(help="The customer's code.")], home: Home = None) -> None:
    """Survey a deactivated customer again.

    Example: csat customer activate C-007
    """
    _set_active(code, True, home)


def _set_active(code: str, active: bool, home, reason: Optional[str] = None) -> None:
    from csat.registry import customers
    from csat.store import audit

    _workspace, store = workspace_and_store(home)
    with store.session() as session, audit.reason(reason):
        customers.set_active(session, code, active)
    say(_("Activated customer {code}", code=code) if active else _("Deactivated customer {code}", code=code))


@app.command(name="list")
def customer_list(
    fmt: Format = "table",
    include_inactive: Annotated[bool, typer.Option("--all", help="Include deactivated customers.")] = False,
    home: Home = None,
) -> None:
    """List customers.

    Example: csat customer list --format csv > customers.csv
    """
    from csat.registry import customers

    _workspace, store = workspace_and_store(home)
    with store.read_session() as session:
        records = [customers.record(c) for c in customers.list_customers(session, include_inactive)]
    emit(records, COLUMNS, fmt, empty=N_("no customers yet; add one with `csat customer add` or `csat customer import`"))


@app.command(name="show")
def customer_show(code: Annotated[str, typer.Argument(help="The customer's code.")],
                  fmt: ShowFormatOption = "table", home: Home = None) -> None:
    """Show one customer.

    Example: csat customer show C-001
    """
    from csat.registry import customers

    _workspace, store = workspace_and_store(home)
    with store.read_session() as session:
        show_record(customers.record(customers.get(session, code)), fmt, dict(COLUMNS))


@app.command(name="import")
def customer_import(
    file: Annotated[Path, typer.Argument(help="xlsx, xls, ods or csv with columns code, name, contact, email, phone, segment, language (English or Chinese headers).", dir_okay=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and report what would change, writing nothing.")] = False,
    home: Home = None,
) -> None:
    """Add and update customers from a spreadsheet, all rows or none.

    Example: csat customer import examples/customers.csv
    """
    from csat.registry import customers
    from csat.sheets.guard import Limits

    opened, store = workspace_and_store(home)
    with store.session() as session:
        result = customers.import_file(session, file, default_language=opened.settings.company.lang,
                                       limits=Limits.from_settings(opened.settings))
        if dry_run:
            session.rollback()
    counts = {"file": file.name, "added": len(result.added), "updated": len(result.updated),
              "unchanged": len(result.unchanged)}
    say(_("Would import {file}: {added} added, {updated} updated, {unchanged} unchanged", **counts) if dry_run
        else _("Imported {file}: {added} added, {updated} updated, {unchanged} unchanged", **counts))
