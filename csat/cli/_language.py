"""Which language the command line speaks, chosen before a word of it is shown.

Staff output, errors and `--help` follow the workspace's company.lang (CSAT_LANG
overrides it for one shell). The workspace is found before the command runs, from
`--home`, CSAT_HOME or the folders upward, because help texts are read when the
command tree is built; a workspace that cannot be read leaves English.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Sequence

from csat.i18n import N_, _, catalog, env_language, language, normalise, set_language

HELP_FIELDS = ("help", "short_help", "epilog")
# The words Typer itself puts into --help and usage errors (typer.core looks them up with gettext).
TYPER_WORDS = (N_("Arguments"), N_("Options"), N_("Commands"), N_("required"), N_("default: {default}"),
               N_("env var: {var}"), N_("(dynamic)"), N_("Missing command."), N_("No such command {name!r}."),
               N_("Aborted!"))


def _typer_gettext(message: str) -> str:
    return catalog(language()).gettext(message)


def _home_argument(args: Sequence[str]) -> str | None:
    for index, word in enumerate(args):
        if word == "--home" and index + 1 < len(args):
            return args[index + 1]
        if word.startswith("--home="):
            return word.partition("=")[2]
    return None


def workspace_language(args: Sequence[str]) -> str | None:
    """company.lang of the workspace the command will use, or None when there is none to read."""
    from csat.config import CONFIG_FILE, find_workspace

    try:
        root = find_workspace(_home_argument(args))
        data = tomllib.loads((Path(root) / CONFIG_FILE).read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - no readable workspace yet: the command itself will say why
        return None
    company = data.get("company")
    return normalise(company.get("lang")) if isinstance(company, dict) else None


def choose(args: Sequence[str]) -> str:
    """Set and return the staff language for one run of csat with these arguments."""
    import typer.core

    typer.core._ = _typer_gettext   # Typer's own words (Options, required...) follow the same language
    return set_language(env_language() or workspace_language(args))


def translate_help(command) -> None:
    """Put the help texts of a click command tree (commands, groups, options) into the current language."""
    for field in HELP_FIELDS:
        text = getattr(command, field, None)
        if isinstance(text, str) and text:
            setattr(command, field, _(text))
    for param in getattr(command, "params", ()):
        text = getattr(param, "help", None)
        if isinstance(text, str) and text:
            param.help = _(text)
    for child in getattr(command, "commands", {}).values():
        translate_help(child)
