"""`csat demo`: a sample workspace built from examples/, step by step.

The demo is the README's first command, so it must work on a fresh clone
with zero configuration: it uses the embedded SQLite store and the outbox.
Each step returns the lines it prints, so tests can check them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterator

from csat.errors import CsatError


def examples_folder() -> Path:
    """examples/ of the source tree (the demo runs from a checkout, like the README says)."""
    folder = Path(__file__).resolve().parent.parent / "examples"
    if not (folder / "customers.csv").is_file():
        raise CsatError(f"examples not found at {folder}; run the demo from a csat checkout (pip install -e .)")
    return folder


def run_demo(folder: Path | None = None, lang: str = "en") -> Iterator[str]:
    from csat import customers, items
    from csat.config import Workspace
    from csat.store import open_store
    from csat.workspace import create

    examples = examples_folder()
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="csat-demo-"))
    company = "华南精密制造有限公司" if lang == "zh" else "Southbridge Precision Manufacturing"
    created = create(folder, company=company, lang=lang)
    yield f"1. Created a workspace for {company} in {created.root}"
    workspace = Workspace.open(created.root)
    store = open_store(workspace)
    with store.session() as session:
        result = customers.import_file(session, examples / "customers.csv", default_language=lang)
        active = items.list_items(session)
    yield f"2. Imported {len(result.added)} customers from examples/customers.csv"
    yield f"3. The survey template has {len(active)} items: " + ", ".join(item.code for item in active)
    yield f"Explore it: cd {created.root} && csat customer list"
