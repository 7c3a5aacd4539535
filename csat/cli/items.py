"""`csat items ...`: the survey item template."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from csat.cli._common import Format, Home, ShowFormatOption, emit, say, to_json, workspace_and_store, write_stdout

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
    file: Annotated[Optional[Path], typer.Argument(help="TOML file with [[item]] tables (see examples/items.toml).", dir_okay=False, show_default=False)] = None,
    defaults: Annotated[bool, typer.Option("--defaults", help="Load the default template shipped with csat instead of a file (restores its items).")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Make the file the whole template: fields it leaves out take their defaults, items it leaves out are retired (or deleted if never used).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change, field by field, writing nothing.")] = False,
    fmt: ShowFormatOption = "table",
    home: Home = None,
) -> None:
    """Add or update survey items from a TOML template (or csat's default one); an item changes only in the fields given.

    Example: csat items load examples/items.toml --dry-run
    """
    from csat.registry import items

    if (file is None) == (not defaults):
        raise typer.BadParameter("give a template FILE or --defaults (not both)", param_hint="FILE")
    opened, store = workspace_and_store(home)
    with store.session() as session:
        if defaults:
            result = items.load_defaults(session, opened.settings.survey.action_limit, replace=replace, dry_run=dry_run)
        else:
            result = items.load_file(session, file, opened.settings.survey.action_limit, replace=replace, dry_run=dry_run)
    source = "the default template" if defaults else file.name
    if dry_run:
        if getattr(fmt, "value", fmt) == "json":
            write_stdout(to_json([change.record() for change in result.changes]))
        else:
            lines = result.change_lines()
            write_stdout("".join(line + "\n" for line in lines))
    parts = [f"{len(result.added)} added", f"{len(result.updated)} updated", f"{len(result.unchanged)} unchanged"]
    if replace:
        parts += [f"{len(result.retired)} retired", f"{len(result.deleted)} deleted"]
    back = [change.code for change in result.changes if change.fields.get("active") == (False, True)]
    if back:
        parts.append(f"{', '.join(back)} {'would be' if dry_run else 'is' if len(back) == 1 else 'are'} asked again (was retired)")
    if dry_run:
        say(f"Dry run of {source}: would be {', '.join(parts)}; template version {result.version}")
        say("Dry run: nothing was written")
    else:
        say(f"Loaded {source}: {', '.join(parts)}; template version {result.version}")


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
