"""Which language the command line speaks, chosen before a word of it is shown.

Staff output, errors and `--help` follow the workspace's company.lang (CSAT_LANG
overrides it for one shell). The workspace is found before the command runs, from
`--home`, CSAT_HOME or the folders upward, because help texts are read when the
command tree is built; a workspace that cannot be read leaves English.
"""

from __future__ import annotations

from typing import Sequence

from csat.config import workspace_language
from csat.i18n import N_, _, catalog, env_language, language, set_language

HELP_FIELDS = ("help", "short_help", "epilog")
# The words Typer itself puts into --help and usage errors (typer.core looks them up with gettext).
TYPER_WORDS = (N_("Arguments"), N_("Options"), N_("Commands"), N_("required"), N_("default: {default}"),
               N_("env var: {var}"), N_("(dynamic)"), N_("Missing command."), N_("No such command {name!r}."),
               N_("Aborted!"))
# Click's own words in the usage line and the help option, put into the catalog's here.
OPTIONS_METAVAR = "[OPTIONS]"
SUBCOMMAND_METAVAR = "COMMAND [ARGS]..."
CLICK_WORDS = (N_("Usage:"), N_("[OPTIONS]"), N_("COMMAND [ARGS]..."), N_("Show this message and exit."))


def _typer_gettext(message: str) -> str:
    return catalog(language()).gettext(message)


def choose(args: Sequence[str]) -> str:
    """Set and return the staff language for one run of csat with these arguments."""
    import typer.core

    typer.core._ = _typer_gettext   # Typer's own words (Options, required...) follow the same language
    _speak_click_words()
    return set_language(env_language() or workspace_language(args))


def _speak_click_words() -> None:
    """Click writes "Usage: " and the help option's text in English: ask the catalog instead (once per process)."""
    from typer._click import decorators, formatting

    if getattr(formatting.HelpFormatter.write_usage, "csat_translated", False):
        return
    english_usage = formatting.HelpFormatter.write_usage
    english_help_option = decorators.help_option

    def write_usage(self, prog, args="", prefix=None):
        return english_usage(self, prog, args, f"{_('Usage:')} " if prefix is None else prefix)

    def help_option(param_decls):
        add = english_help_option(param_decls)

        def apply(command):
            add(command)
            command.params[-1].help = _(command.params[-1].help)
            return command

        return apply

    write_usage.csat_translated = True
    formatting.HelpFormatter.write_usage = write_usage
    decorators.help_option = help_option


def translate_help(command) -> None:
    """Put the help texts of a click command tree (commands, groups, options) into the current language."""
    for field in HELP_FIELDS:
        text = getattr(command, field, None)
        if isinstance(text, str) and text:
            setattr(command, field, _(text))
    if getattr(command, "options_metavar", None) == OPTIONS_METAVAR:
        command.options_metavar = _(OPTIONS_METAVAR)
    if getattr(command, "subcommand_metavar", None) == SUBCOMMAND_METAVAR:
        command.subcommand_metavar = _(SUBCOMMAND_METAVAR)
    for param in getattr(command, "params", ()):
        text = getattr(param, "help", None)
        if isinstance(text, str) and text:
            param.help = _(text)
    for child in getattr(command, "commands", {}).values():
        translate_help(child)
