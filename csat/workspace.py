"""Creating or joining a workspace, and reading and changing its settings.

`csat init` on a store that does not exist yet (or is empty) creates it at the current schema
with the company's settings, a new signing secret and the default survey items. On a store that
other machines already use it only joins: csat.toml records the store's address and nothing in
the store changes (items, settings and secret stay as they are).

Settings are read and changed here because they live in two places: the shared company settings
in the store, the per-machine keys (csat.config.LOCAL_KEYS) in csat.toml.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from csat.i18n import _
from csat.config import (CONFIG_FILE, DATABASE_URL_ENV, HOME_ENV, Workspace, config_get, file_holds,
                         init_workspace, initial_settings, is_local, new_value, set_in_file, shared_values,
                         write_file_key)
from csat.errors import CsatError, StoreError
from csat.files import ensure_writable
from csat.store.engine import (check_url, describe_url, engine_for, ensure_writable_sqlite, open_store,
                               schema_revision, upgrade)


@dataclass
class Created:
    root: Path
    config_path: Path
    database_url: str
    item_count: int
    joined: bool = False          # the store existed: nothing in it was changed
    settings_revision: int = 0
    lang: str = "en"              # the store's company.lang: what csat speaks from here on


def _store_url(folder: Path, database_url: str | None) -> str:
    """The URL the new workspace will use, as Workspace.database_url will resolve it."""
    if not database_url:
        return f"sqlite:///{folder / 'csat.db'}"
    prefix = "sqlite:///"
    if database_url.startswith(prefix) and not database_url.startswith(prefix + "/"):
        return prefix + str((folder / database_url[len(prefix):]).resolve())
    return database_url


def named_folder(folder: Path | None, home: Path | None) -> Path | None:
    """The folder a command that makes a workspace (init, demo) was given: its argument, else --home.

    `csat --home DIR init` is read as every other command reads --home: the workspace is DIR.
    Two different folders named at once are refused, as which one was meant cannot be guessed.
    """
    if folder is None:
        return Path(home) if home is not None else None
    if home is not None and Path(home).expanduser().resolve() != Path(folder).expanduser().resolve():
        raise CsatError(_("--home {home} and the folder {folder} name two different workspaces; give one of them",
                           home=home, folder=folder))
    return folder


def init_folder(folder: Path | None, home: Path | None = None) -> Path:
    """Where `csat init` makes the workspace: its folder argument, else --home, else CSAT_HOME, else here."""
    named = named_folder(folder, home) or os.environ.get(HOME_ENV)
    return Path(named) if named else Path(".")


def create(folder: Path, company: str = "Our Company", lang: str = "en", database_url: str | None = None) -> Created:
    """Make a workspace on a new store, or join the existing store at database_url (else CSAT_DATABASE_URL).

    A new (or empty) store is migrated to head with the company settings, a new signing secret
    and the default items; an existing one is joined as it is. Nothing is written when the store
    cannot be used (unreachable, or at another schema).
    """
    from csat.registry import items
    from csat.store.migrations import HEAD, known_revisions

    given = database_url or os.environ.get(DATABASE_URL_ENV) or None
    if given:
        check_url(given)
    folder = folder.expanduser().resolve()
    if (folder / CONFIG_FILE).exists():
        init_workspace(folder)    # refuses, naming the file
    url = _store_url(folder, given)
    if url.startswith("sqlite"):
        ensure_writable(folder)
        ensure_writable_sqlite(url)
    revision = None
    if not url.startswith("sqlite") or os.path.exists(url[len("sqlite:///"):]):
        from sqlalchemy.exc import SQLAlchemyError

        try:
            revision = schema_revision(engine_for(url))
        except SQLAlchemyError as exc:
            reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
            raise StoreError(_("cannot open the store at {url}: {reason}", url=describe_url(url),
                               reason=reason)) from None
    if revision is not None and revision != HEAD:
        newer = revision not in known_revisions()
        raise StoreError(
            _("the store at {url} has schema {revision}, written by a newer csat; upgrade csat to join it",
              url=describe_url(url), revision=revision) if newer else
            _("the store at {url} has schema {revision}, older than this csat's; run `csat db upgrade` from a "
              "workspace already on it, then join", url=describe_url(url), revision=revision))
    root = init_workspace(folder, given)
    opened = Workspace.open(root)
    joined = revision is not None
    if not joined:
        upgrade(opened.database_url, seed={"settings": shared_values(initial_settings(company, lang)), "secret": None})
    store = open_store(opened)
    if joined:
        with store.read_session() as session:
            count = len(items.list_items(session))
    else:
        with store.session() as session:
            if not items.list_items(session, include_retired=True):
                items.load_defaults(session, opened.settings.survey.action_limit)
            count = len(items.list_items(session))
    _keep_language_here(opened)
    return Created(root=opened.root, config_path=opened.config_path, database_url=describe_url(opened.database_url),
                   item_count=count, joined=joined, settings_revision=opened.shared_revision or 0,
                   lang=opened.settings.company.lang)


def _keep_language_here(workspace: Workspace) -> None:
    """Copy the store's company.lang into csat.toml: csat picks its language (and --help's) from the
    folder before it opens the store. `config set company.lang` keeps the copy in step."""

    lang = workspace.settings.company.lang
    if not file_holds(workspace, "company.lang") or workspace.file_data["company"]["lang"] != lang:
        write_file_key(workspace, "company.lang", lang)


def _with_store(workspace: Workspace):
    return open_store(workspace)


def get_setting(workspace: Workspace, key: str) -> Any:
    """The effective value of a dotted key: a shared one as the store holds it, a local one from csat.toml."""
    if not is_local(key):
        _with_store(workspace)
    return config_get(workspace, key)


@dataclass
class Shown:
    settings: Any
    shared_from: str          # where the shared settings came from: the store, or why not
    revision: int | None


def show_settings(workspace: Workspace) -> Shown:
    """Every effective setting: csat.toml's local keys, the store's shared ones (if the store can be read)."""
    from csat.errors import CsatError

    try:
        _with_store(workspace)
    except CsatError as exc:
        return Shown(workspace.settings, _("csat.toml only (the store could not be read: {error})", error=exc), None)
    return Shown(workspace.settings, _("the store at {url}", url=describe_url(workspace.database_url)),
                 workspace.shared_revision)


@dataclass
class Changed:
    key: str
    value: Any
    where: str              # "csat.toml" or "the store"
    revision: int | None = None


# Settings that change the procedure's action limits: a change needs a reason (kept in the audit trail).
LIMIT_KEYS = ("survey.action_limit", "procedure.min_action_limit")


def _check_limits(session, key: str, settings) -> None:
    """Refuse a limit setting that breaks the procedure's minimum, naming what and where."""
    from csat.errors import ConfigError
    from csat.registry import items
    from csat.settings import limit_problem

    minimum = settings.procedure.min_action_limit
    problem = limit_problem(settings.survey.action_limit, minimum)
    if key == "survey.action_limit" and problem:
        raise ConfigError(_("{key}: {problem}; nothing changed", key=key, problem=problem))
    if key == "procedure.min_action_limit":
        below = ([("survey.action_limit", problem)] if problem else []) + items.below_minimum(session, minimum)
        if below:
            raise ConfigError(_("{key} {minimum:g}: {items}; raise them first (`csat items load`), nothing changed",
                                key=key, minimum=minimum,
                                items=_("; ").join(f"{code}: {problem}" for code, problem in below)))


def config_set(workspace: Workspace, key: str, text: str | None = None,
               add: list[str] | tuple[str, ...] = (), remove: list[str] | tuple[str, ...] = (),
               reason: str | None = None) -> Changed:
    """Change one setting: a shared key in the store (audited, a new settings revision), a local key in csat.toml.

    A shared key that this folder's csat.toml also writes is updated there too, so the file
    does not contradict the store on this machine.
    """
    from csat.store import shared

    if is_local(key):
        value = set_in_file(workspace, key, text, add, remove)
        if key == "store.url" and os.environ.get(DATABASE_URL_ENV):
            return Changed(key, value, _("csat.toml; {variable} overrides it here", variable=DATABASE_URL_ENV))
        return Changed(key, value, "csat.toml")
    from csat.store import audit

    store = _with_store(workspace)
    value, validated = new_value(workspace, key, text, add, remove)
    previous = config_get(workspace, key)
    with store.session() as session, audit.reason(reason):
        if key in LIMIT_KEYS:
            _check_limits(session, key, validated)
        revision = shared.write(session, {key: value}, previous={key: previous})
    if file_holds(workspace, key):
        write_file_key(workspace, key, value)
    workspace.settings = validated
    workspace.shared_revision = revision
    return Changed(key, config_get(workspace, key), _("the store"), revision)
