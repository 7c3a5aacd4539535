"""`csat demo`: the whole procedure on sample data, step by step.

The demo is the README's first command, so it must work on a fresh clone
and from an installed wheel (pipx, pip without -e), with zero configuration:
the embedded SQLite store and the outbox. It walks the loop a quality
department runs every half year: customers in, survey sent, answers back,
feedback logged, items scored, CAPAs opened. Each step reports one line
through `progress`; the CLI then prints the report.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

from csat.errors import CsatError

DEMO_PERIOD = "2024H1"


def examples_folder() -> Path:
    """The sample files: csat/examples in an installed wheel (setup.py copies them there),
    else examples/ of the source checkout (an editable install)."""
    package = Path(__file__).resolve().parent
    for folder in (package / "examples", package.parent / "examples"):
        if (folder / "customers.csv").is_file():
            return folder
    raise CsatError(f"the demo's sample files are missing from {package / 'examples'}; reinstall csat")


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

    examples = examples_folder()
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="csat-demo-"))
    company = "华南精密制造有限公司" if lang == "zh" else "Southbridge Precision Manufacturing"
    created = create(folder, company=company, lang=lang)
    progress(f"1. Created a workspace for {company} in {created.root}")
    workspace = Workspace.open(created.root)
    store = open_store(workspace)

    with store.session() as session:
        imported = customers.import_file(session, examples / "customers.csv", default_language=lang)
    progress(f"2. Imported {len(imported.added)} customers from examples/customers.csv")

    sent = survey.send_round(workspace, store, DEMO_PERIOD)
    phone = ", ".join(recipient.code for recipient in sent.no_email)
    progress(f"3. Sent the {DEMO_PERIOD} survey to {len(sent.sent)} customers as e-mails with signed xlsx forms"
             f" into {workspace.outbox}" + (f" ({phone} to reach by phone or fax)" if phone else ""))

    answers = run_import(workspace, [examples / f"responses-{DEMO_PERIOD}.csv"], half=DEMO_PERIOD)
    if not answers.ok:
        raise CsatError("the demo answers did not import: " + "; ".join(answers.problems[:3]))
    rate = answers.response_rate
    progress(f"4. Imported {answers.responses_new} returned surveys ({answers.answers_stored} answers) from"
             f" examples/responses-{DEMO_PERIOD}.csv" + (f"; response rate {rate:.0%}" if rate is not None else ""))

    with store.session() as session:
        logged = feedback_import.import_file(session, workspace.settings, examples / "feedback-log.csv")
    progress(f"5. Logged {len(logged.added)} customer feedback entries from examples/feedback-log.csv")

    with store.session() as session:
        data = build(session, workspace.settings, DEMO_PERIOD, lang)
        opened = capa.open_for_flagged(session, workspace.settings, DEMO_PERIOD, data["flagged"])
    if opened:
        listed = ", ".join(f"{record.number} for {item['code']} ({item['reason']})" for record, _created, item in opened)
        progress(f"6. Scored the round: {len(opened)} item(s) need action; opened {listed}")
    else:
        progress("6. Scored the round: no item is below its action limit or at risk, no CAPA needed")
    return created.root
