"""`csat items ...`: the survey item template."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from csat.cli._common import Format, Home, emit, say, workspace_and_store

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("code", "Code"), ("label_en", "Item"), ("label_zh", "项目"), ("weight", "Weight"),
           ("action_limit", "Limit"), ("scale", "Scale"), ("active", "Active")]


@app.command(name="list")
def items_list(
    fmt: Format = "table",
    include_retired: Annotated[bool, typer.Option("--all", help="Include retired items.")] = False,
    home: Home = None,
) -> None:
    """List the survey items customers are asked to score.

    Example: csat items list --format json
    """
    from csat.registry import items

    _, store = workspace_and_store(home)
    with store.read_session() as session:
        records = [items.item_record(item) for item in items.list_items(session, include_retired)]
    emit(records, COLUMNS, fmt, empty="no survey items; load some with `csat items load FILE.toml`")


@app.command(name="load")
def items_load(
    file: Annotated[Path, typer.Argument(help="TOML file with [[item]] tables (see examples/items.toml).", dir_okay=False)],
    replace: Annotated[bool, typer.Option("--replace", help="Make the file the whole template: other items are retired (or deleted if never used).")] = False,
    home: Home = None,
) -> None:
    """Add or update survey items from a TOML template.

    Example: csat items load examples/items.toml --replace
    """
    from csat.registry import items

    opened, store = workspace_and_store(home)
    specs = items.read_template(file, opened.settings.survey.action_limit)
    with store.session() as session:
        result = items.load_template(session, specs, replace=replace)
    parts = [f"{len(result.added)} added", f"{len(result.updated)} updated", f"{len(result.unchanged)} unchanged"]
    if replace:
        parts += [f"{len(result.retired)} retired", f"{len(result.deleted)} deleted"]
    say(f"Loaded {file.name}: {', '.join(parts)}; template version {result.version}")


@app.command(name="retire")
def items_retire(code: Annotated[str, typer.Argument(help="Item code.")], home: Home = None) -> None:
    """Stop asking an item in new rounds; its answers are kept.

    Example: csat items retire price
    """
    from csat.registry import items

    _, store = workspace_and_store(home)
    with store.session() as session:
        items.retire_item(session, code)
    say(f"Retired item {code}")
