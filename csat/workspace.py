"""Creating a workspace: config, secret, store at the current schema, default items."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from csat.config import Workspace, init_workspace
from csat.store.engine import describe_url, ensure_writable_sqlite, open_store, upgrade


@dataclass
class Created:
    root: Path
    config_path: Path
    database_url: str
    item_count: int


def create(folder: Path, company: str = "Our Company", lang: str = "en") -> Created:
    """Make a ready-to-use workspace; the store is migrated to head and holds the default items."""
    from csat.registry import items

    root = init_workspace(folder, company=company, lang=lang)
    opened = Workspace.open(root)
    ensure_writable_sqlite(opened.database_url)
    upgrade(opened.database_url)
    store = open_store(opened)
    with store.session() as session:
        existing = items.list_items(session, include_retired=True)
        if not existing:
            items.load_template(session, items.default_template(opened.settings.survey.action_limit))
        count = len(items.list_items(session))
    return Created(root=opened.root, config_path=opened.config_path,
                   database_url=describe_url(opened.database_url), item_count=count)
