"""`csat items ...`: the survey item template."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from csat.cli._common import (
    Format,
    Home,
    Reason,
    ShowFormatOption,
    emit,
    say,
    to_json,
    workspace_and_store,
    write_stdout,
)
from csat.i18n import N_, _

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("code", N_("Code")), ("label_en", N_("Item (English)")), ("label_zh", N_("Item (Chinese)")),
           ("weight", N_("Weight")), ("action_limit", N_("Limit")), ("scale", N_("Scale")), ("active", N_("Active"))]


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

    _workspace, store = workspace_and_store(home)
    with store.read_session() as session:
        records = [items.item_record(item) for item in items.list_items(session, include_retired)]
    emit(records, COLUMNS, fmt, empty=N_("no survey items; load some with `csat items load FILE.toml`"))


@app.command(name="load")
def items_load(
    file: Annotated[Optional[Path], typer.Argument(help="TOML file with [[item]] tables (see examples/items.toml).", dir_okay=False, show_default=False)] = None,
    defaults: Annotated[bool, typer.Option("--defaults", help="Load the default template shipped with csat instead of a file (restores its items).")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Make the file the whole template: fields it leaves out take their defaults, items it leaves out are retired (or deleted if never used).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change, field by field, writing nothing.")] = False,
    reason: Reason = None,
    fmt: ShowFormatOption = "table",
    home: Home = None,
) -> None:
    """Add or update survey items from a TOML template (or csat's default one); an item changes only in the fields given.

    An action limit is at least the procedure's minimum ([procedure] min_action_limit, 85 on a
    0-100 scale, in proportion on others); a load that changes a limit needs --reason.

    Example: csat items load examples/items.toml --dry-run
    """
    from csat.registry import items

    if (file is None) == (not defaults):
        raise typer.BadParameter(_("give a template FILE or --defaults (not both)"), param_hint="FILE")
    opened, store = workspace_and_store(home)
    limits = {"default_limit": opened.settings.survey.action_limit,
              "minimum": opened.settings.procedure.min_action_limit}
    with store.session() as session:
        if defaults:
            result = items.load_defaults(session, replace=replace, dry_run=dry_run, reason=reason, **limits)
        else:
            result = items.load_file(session, file, replace=replace, dry_run=dry_run, reason=reason, **limits)
    source = _("the default template") if defaults else file.name
    if dry_run:
        if getattr(fmt, "value", fmt) == "json":
            write_stdout(to_json([change.record() for change in result.changes]))
        else:
            lines = result.change_lines()
            write_stdout("".join(line + "\n" for line in lines))
    parts = [_("{n} added", n=len(result.added)), _("{n} updated", n=len(result.updated)),
             _("{n} unchanged", n=len(result.unchanged))]
    if replace:
        parts += [_("{n} retired", n=len(result.retired)), _("{n} deleted", n=len(result.deleted))]
    back = [change.code for change in result.changes if change.fields.get("active") == (False, True)]
    if back:
        codes = ", ".join(back)
        parts.append(_("{codes} would be asked again (was retired)", codes=codes) if dry_run
                     else _("{codes} is asked again (was retired)", codes=codes) if len(back) == 1
                     else _("{codes} are asked again (was retired)", codes=codes))
    joined = _(", ").join(parts)
    if dry_run:
        say(_("Dry run of {file}: would be {changes}; template version {version}",
              file=source, changes=joined, version=result.version))
        say(_("Dry run: nothing was written"))
    else:
        say(_("Loaded {file}: {changes}; template version {version}", file=source, changes=joined,
              version=result.version))


@app.command(name="retire")
def items_retire(code: Annotated[str, typer.Argument(help="Item code.")], home: Home = None) -> None:
    """Stop asking an item in new rounds; its answers are kept.

    Example: csat items retire price
    """
    from csat.registry import items

    _workspace, store = workspace_and_store(home)
    with store.session() as session:
        items.retire_item(session, code)
    say(_("Retired item {code}", code=code))
