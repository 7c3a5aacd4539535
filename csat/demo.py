"""`csat demo`: the whole procedure on sample data, step by step.

The demo is the README's first command, so it must work on a fresh clone
and from an installed wheel (pipx, pip without -e), with zero configuration:
the embedded SQLite store and the outbox, always its own (never the store a
CSAT_DATABASE_URL in the shell names: sample customers and CAPAs must not land
in a company's records). It walks the loop a quality
department runs every half year: customers in, survey sent, answers back,
feedback logged, items scored, CAPAs opened. Each step reports one line
through `progress`; the CLI then prints the report.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

from csat.errors import CsatError
from csat.i18n import _

DEMO_PERIOD = "2024H1"


def _refuse_a_shared_store() -> None:
    """Every workspace follows CSAT_DATABASE_URL (config.Workspace.database_url): the demo would write its
    sample records into that store, and every command run in the demo's folder would read it."""
    import os

    from csat.config import DATABASE_URL_ENV

    if os.environ.get(DATABASE_URL_ENV):
        raise CsatError(_("{variable} is set in this shell, so the demo would write its sample customers and CAPAs"
                          " into that store; run the demo without it, e.g. `env -u {variable} csat demo`",
                          variable=DATABASE_URL_ENV))


def examples_folder() -> Path:
    """The sample files: csat/examples in an installed wheel (setup.py copies them there),
    else examples/ of the source checkout (an editable install)."""
    package = Path(__file__).resolve().parent
    for folder in (package / "examples", package.parent / "examples"):
        if (folder / "customers.csv").is_file():
            return folder
    raise CsatError(_("the demo's sample files are missing from {folder}; reinstall csat", folder=package / "examples"))


def run_demo(folder: Path | None = None, lang: str = "en", progress: Callable[[str], None] = lambda line: None) -> Path:
    """Build the sample workspace in `folder` (default: a new temporary folder); returns its root."""
    from csat.capa import records as capa
    from csat.config import Workspace
    from csat.feedback import intake as feedback_import
    from csat.importer.run import run_import
    from csat.registry import customers
    from csat.reports.survey import build
    from csat.store.engine import open_store
    from csat.survey import send as survey
    from csat.workspace import create

    _refuse_a_shared_store()
    examples = examples_folder()
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="csat-demo-"))
    company = "华南精密制造有限公司" if lang == "zh" else "Southbridge Precision Manufacturing"
    created = create(folder, company=company, lang=lang)
    progress(_("1. Created a workspace for {company} in {folder}", company=company, folder=created.root))
    workspace = Workspace.open(created.root)
    store = open_store(workspace)

    with store.session() as session:
        imported = customers.import_file(session, examples / "customers.csv", default_language=lang)
    progress(_("2. Imported {n} customers from examples/customers.csv", n=len(imported.added)))

    sent = survey.send_round(workspace, store, DEMO_PERIOD)
    phone = ", ".join(recipient.code for recipient in sent.no_email)
    progress(_("3. Sent the {period} survey to {n} customers as e-mails with signed xlsx forms into {outbox}",
               period=DEMO_PERIOD, n=len(sent.sent), outbox=workspace.outbox)
             + (_(" ({customers} to reach by phone or fax)", customers=phone) if phone else ""))

    answers = run_import(workspace, [examples / f"responses-{DEMO_PERIOD}.csv"], half=DEMO_PERIOD)
    if not answers.ok:
        raise CsatError(_("the demo answers did not import: {problems}", problems="; ".join(answers.problems[:3])))
    rate = answers.response_rate
    progress(_("4. Imported {n} returned surveys ({answers} answers) from examples/responses-{period}.csv",
               n=answers.responses_new, answers=answers.answers_stored, period=DEMO_PERIOD)
             + (_("; response rate {rate}", rate=f"{rate:.0%}") if rate is not None else ""))

    with store.session() as session:
        logged = feedback_import.import_file(session, workspace.settings, examples / "feedback-log.csv")
    progress(_("5. Logged {n} customer feedback entries from examples/feedback-log.csv", n=len(logged.added)))

    with store.session() as session:
        data = build(session, workspace.settings, DEMO_PERIOD, lang)
        opened = capa.open_for_flagged(session, workspace.settings, DEMO_PERIOD, data["flagged"])
    if opened:
        listed = _(", ").join(_("{capa} for {item} ({reason})", capa=record.number, item=item["code"],
                                  reason=item["reason"]) for record, _created, item in opened)
        progress(_("6. Scored the round: {n} item(s) need action; opened {capas}", n=len(opened), capas=listed))
    else:
        progress(_("6. Scored the round: no item is below its action limit or at risk, no CAPA needed"))
    return created.root
