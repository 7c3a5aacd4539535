"""`csat init`, `csat demo` and `csat config`: creating and configuring a workspace."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path
from typing import Annotated, Optional

import typer

from csat.cli._common import Home, Lang, Reason, require_reason, say, workspace, write_stdout
from csat.i18n import _, set_language, staff_language

config_app = typer.Typer(no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command(name="init")(init)
    app.command(name="demo")(demo)


def init(
    folder: Annotated[Optional[Path], typer.Argument(help="Folder for the workspace, created if missing (default: --home, else CSAT_HOME, else the current folder).", file_okay=False, show_default=False)] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="Default language of forms and reports.")] = Lang.en,
    company: Annotated[str, typer.Option("--company", help="Your company's name, shown on forms (a new store only).")] = "Our Company",
    database_url: Annotated[Optional[str], typer.Option("--database-url", help="Store to create or join, e.g. postgresql+psycopg://csat@dbserver/csat (default: CSAT_DATABASE_URL, else csat.db in the folder).", show_default=False)] = None,
) -> None:
    """Create a workspace, or join a store other machines already use.

    A new store gets the company settings, a signing secret and the default survey items; an
    existing one is joined as it is (its items, settings and secret are not touched).

    Example: csat init ~/quality/csat --lang zh --company "华南精密"
    """
    from csat.cli._common import state
    from csat.workspace import create, init_folder

    created = create(init_folder(folder, state.home), company=company, lang=lang.value, database_url=database_url)
    if created.joined:
        set_language(staff_language(created.lang))
        say(_("Joined the store {url} from the new workspace {folder}", url=created.database_url, folder=created.root))
        say("  " + _("config    {path}", path=created.config_path))
        say("  " + _("items     {n} survey items in the store; see `csat items list`", n=created.item_count))
        say("  " + _("settings  revision {revision} shared by every machine on the store; see `csat config show`",
                     revision=created.settings_revision))
        say(_("Company settings, items and the signing secret come from the store: --company and --lang were not used."))
        return
    set_language(staff_language(lang.value))   # from here on csat speaks the new workspace's language
    say(_("Created csat workspace in {folder}", folder=created.root))
    say("  " + _("config  {path}", path=created.config_path))
    say("  " + _("store   {url}", url=created.database_url))
    say("  " + _("items   {n} survey items (default template); see `csat items list`", n=created.item_count))
    say(_("Next: `csat customer import customers.xlsx`, then `csat survey send`."))


def demo(
    folder: Annotated[Optional[Path], typer.Argument(help="Folder for the demo workspace (default: --home, else a new temporary folder).", file_okay=False)] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the demo company and its report.")] = Lang.en,
) -> None:
    """Run the whole procedure on sample data: customers, survey, answers, feedback, report, CAPA.

    Example: csat demo /tmp/csat-demo
    """
    from csat.cli._common import console, state
    from csat.cli.reports import _report_table
    from csat.config import Workspace
    from csat.demo import DEMO_PERIOD, run_demo
    from csat.reports.survey import build
    from csat.store.engine import open_store
    from csat.workspace import named_folder

    # Only a folder named here or by --home: CSAT_HOME is the user's own workspace, never the demo's.
    folder = named_folder(folder, state.home)
    set_language(staff_language(lang.value))   # the demo speaks the language of its company
    root = run_demo(folder, lang=lang.value, progress=say)
    opened = Workspace.open(root)
    with open_store(opened).read_session() as session:
        data = build(session, opened.settings, DEMO_PERIOD, lang.value)
    say("")
    _report_table(data, console())
    say("")
    from csat.schedule import csat_executable_words

    words = csat_executable_words()
    command = "csat" if words == [shutil.which("csat")] else shlex.join(words)
    say(_("Explore it: cd {folder}, then try `{command} survey status`, `{command} capa list`,"
          " `{command} feedback summary --quarter 2024Q2` or `{command} report --format html -o review.html`.",
          folder=root, command=command))


@config_app.command(name="get")
def config_get(
    key: Annotated[str, typer.Argument(help="Dotted key, e.g. mail.smtp_host.")],
    home: Home = None,
) -> None:
    """Print one setting's effective value (defaults and the store's shared settings included; passwords as ***).

    Example: csat config get survey.action_limit
    """
    from csat.workspace import get_setting

    value = get_setting(workspace(home), key)
    write_stdout(_format_value(value) + "\n")


# A value may be a negative number: "-1" is then the value to check, not an unknown option.
@config_app.command(name="set", context_settings={"ignore_unknown_options": True})
def config_set(
    key: Annotated[str, typer.Argument(help="Dotted key, e.g. mail.smtp_port.")],
    value: Annotated[Optional[str], typer.Argument(help="New value; numbers, true/false and [lists] are read as TOML; a list key also takes entries separated by commas.", show_default=False)] = None,
    add: Annotated[Optional[list[str]], typer.Option("--add", help="Add one entry to a list key (e.g. remind.staff), keeping the others.", show_default=False)] = None,
    remove: Annotated[Optional[list[str]], typer.Option("--remove", help="Remove one entry from a list key, keeping the others.", show_default=False)] = None,
    reason: Reason = None,
    home: Home = None,
) -> None:
    """Change one setting: company settings in the store (for every machine), this machine's in csat.toml.

    Changing survey.action_limit or procedure.min_action_limit needs --reason (audited).

    Example: csat config set remind.staff "qa@example.com, sales@example.com"
    """
    from csat.workspace import LIMIT_KEYS, config_set as set_value

    if key in LIMIT_KEYS:
        require_reason(reason, key)

    if value is None and not add and not remove:
        raise typer.BadParameter(_("give the new value, or --add/--remove ENTRY for a list key"), param_hint="VALUE")
    if value is not None and (add or remove):
        raise typer.BadParameter(_("give either a value or --add/--remove, not both"), param_hint="VALUE")
    changed = set_value(workspace(home), key, value, add=add or [], remove=remove or [], reason=reason)
    from csat.config import hide_url_password

    shown = hide_url_password(changed.value) if key == "store.url" else changed.value
    if changed.revision is None:
        say(f"{key} = {_format_value(shown)}  ({changed.where})")
    else:
        say(f"{key} = {_format_value(shown)}  (" + _("the store, settings revision {revision}",
                                                       revision=changed.revision) + ")")


@config_app.command(name="show")
def config_show(home: Home = None) -> None:
    """Print every effective setting as TOML: company settings from the store, this machine's from csat.toml.

    Example: csat config show
    """
    import tomlkit

    from csat.config import redacted
    from csat.workspace import show_settings

    shown = show_settings(workspace(home))
    settings = shown.settings
    say(_("# shared settings from {source}, revision {revision}", source=shown.shared_from, revision=shown.revision)
        if shown.revision is not None else _("# shared settings from {source}", source=shown.shared_from))
    write_stdout(tomlkit.dumps(redacted(settings)))


def _format_value(value) -> str:
    import json

    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
