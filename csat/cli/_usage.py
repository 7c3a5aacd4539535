"""Usage mistakes (an unknown option, a missing value, a word that is not a number) in the staff language.

Typer's own copy of Click writes its usage errors with English f-strings and no gettext.
The root command catches them where they are raised (csat.cli._common.CsatGroup) and
shows the same information from the catalog: the usage line, the hint to `--help`, and
what was wrong, with option names and values as typed; the exit code stays 2. Values
typer checked with pydantic are described from pydantic's error type (never its English
text); messages csat's own commands raise (typer.BadParameter) are catalog messages already.
"""

from __future__ import annotations

import re
from typing import Any, Optional

import typer
# The vendored Click's exception classes: typer exports only BadParameter, and the others
# must be told apart to say what was wrong.
from typer._click.exceptions import (
    BadArgumentUsage,
    BadOptionUsage,
    BadParameter,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)

from csat.i18n import N_, _, ngettext

# Typer's wording of its checks of paths (`exists=True`, `dir_okay=False`...).
_PATH = re.compile(r"^(?:File|Directory|Path) (?P<path>'.*') (?P<what>does not exist|is a file|is a directory|"
                   r"is not readable|is not writable)\.$", re.S)
_PATH_PROBLEMS = {"does not exist": N_("{path} does not exist"),
                  "is a file": N_("{path} is a file, not a folder"),
                  "is a directory": N_("{path} is a folder, not a file"),
                  "is not readable": N_("{path} cannot be read"),
                  "is not writable": N_("{path} cannot be written")}
_REQUIRES = re.compile(r"^Option (?P<option>'.*') requires (?:an argument|(?P<n>\d+) arguments)\.$")
_NO_VALUE = re.compile(r"^Option (?P<option>'.*') does not take a value\.$")
_TAKES = re.compile(r"^Argument (?P<name>'.*') takes (?P<n>\d+) values\.$")
_EXTRA = re.compile(r"^Got unexpected extra argument(?:\(s\)|s)? \((?P<words>.*)\)$", re.S)
_SUGGESTION = re.compile(r"^(?P<message>.*?)\.? Did you mean (?P<suggestions>.*)\?$", re.S)
_MISSING_KINDS = {"argument": N_("Missing argument {name}."), "option": N_("Missing option {name}."),
                  "parameter": N_("Missing parameter {name}.")}


def _hint(param_hint: Any) -> Optional[str]:
    if param_hint is not None and not isinstance(param_hint, str):
        return " / ".join(repr(part) for part in param_hint)
    return param_hint


def _param_hint(exc: BadParameter) -> Optional[str]:
    if exc.param_hint is not None:
        return _hint(exc.param_hint)
    if exc.param is not None:
        return _hint(exc.param.get_error_hint())
    return None


def _choices(param: Any) -> Optional[list[str]]:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or not getattr(descriptor, "is_choice", False) or descriptor.choices is None:
        return None
    return [str(getattr(choice, "value", choice)) for choice in descriptor.choices]


def _value_problem(exc: BadParameter) -> str:
    """What was wrong with the value of an option or argument, in the catalog's words."""
    from csat.config import validation_problem

    cause = exc.__cause__
    if cause is not None and hasattr(cause, "errors") and type(cause).__module__.startswith("pydantic"):
        errors = cause.errors()
        if errors:
            choices = _choices(exc.param)
            if choices is not None:
                return _("{value} is not one of {choices}", value=repr(errors[0].get("input")),
                         choices=", ".join(repr(choice) for choice in choices))
            return _("{value} is not accepted: {problem}", value=repr(errors[0].get("input")),
                     problem=validation_problem({**errors[0], "loc": ()}))
    matched = _PATH.match(exc.message)
    if matched:
        return _(_PATH_PROBLEMS[matched["what"]], path=matched["path"])
    if exc.message == "Value must be an iterable.":
        return _("expected a list")
    return exc.message   # csat's own typer.BadParameter: a catalog message already


def _missing(exc: MissingParameter) -> str:
    kind = exc.param_type or (exc.param.param_type_name if exc.param is not None else "parameter")
    hint = _param_hint(exc)
    message = _(_MISSING_KINDS.get(kind, _MISSING_KINDS["parameter"]), name=hint or "").replace("  ", " ")
    extra = exc.message or ""
    choices = _choices(exc.param)
    if choices is not None:
        extra = _("Choose from: {choices}", choices=", ".join(choices))
    return f"{message} {extra}".strip()


def describe(exc: UsageError) -> str:
    """The `Error:` line of a usage mistake, in the current language."""
    if isinstance(exc, MissingParameter):
        return _missing(exc)
    if isinstance(exc, BadParameter):
        hint = _param_hint(exc)
        problem = _value_problem(exc)
        return _("Invalid value for {name}: {problem}", name=hint, problem=problem) if hint \
            else _("Invalid value: {problem}", problem=problem)
    if isinstance(exc, NoSuchOption):
        message = _("No such option: {option}", option=exc.option_name)
        if exc.possibilities:
            message += " " + _("(Possible options: {options})", options=", ".join(sorted(exc.possibilities)))
        return message
    text = exc.message
    if isinstance(exc, BadOptionUsage):
        matched = _REQUIRES.match(text)
        if matched:
            count = int(matched["n"] or 1)
            return ngettext("Option {option} requires a value.", "Option {option} requires {n} values.", count,
                            option=matched["option"])
        matched = _NO_VALUE.match(text)
        if matched:
            return _("Option {option} does not take a value.", option=matched["option"])
    if isinstance(exc, BadArgumentUsage):
        matched = _TAKES.match(text)
        if matched:
            return _("Argument {name} takes {n} values.", name=matched["name"], n=int(matched["n"]))
    matched = _EXTRA.match(text)
    if matched:
        words = matched["words"].split()
        return ngettext("Unexpected extra argument: {words}", "Unexpected extra arguments: {words}", len(words),
                        words=matched["words"])
    matched = _SUGGESTION.match(text)
    if matched:   # typer adds "Did you mean ...?" to its (translated) "No such command"
        return _("{message}. Did you mean {suggestions}?", message=matched["message"].rstrip(".。"),
                 suggestions=matched["suggestions"])
    return text


class TranslatedUsageError(UsageError):
    """A usage mistake shown as Click shows it, with every sentence from the catalog."""

    def __init__(self, original: UsageError) -> None:
        super().__init__(describe(original), original.ctx)
        self.exit_code = original.exit_code

    def show(self, file: Any = None) -> None:
        lines = []
        if self.ctx is not None:
            lines.append(self.ctx.get_usage())
            if self.ctx.command.get_help_option(self.ctx) is not None:
                lines.append(_("Try '{command} {option}' for help.", command=self.ctx.command_path,
                               option=self.ctx.help_option_names[0]))
            lines.append("")
        lines.append(f"{_('Error:')} {self.message}")
        typer.echo("\n".join(lines), err=True)


def translated(exc: UsageError) -> UsageError:
    """The same mistake with its sentences in the current language (help shown for no arguments stays help)."""
    if isinstance(exc, (NoArgsIsHelpError, TranslatedUsageError)):
        return exc
    return TranslatedUsageError(exc)
