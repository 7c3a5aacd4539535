"""`csat import`'s reader started from the raw command line, before the command line is built.

The parse of a big workbook is the longest part of an import and runs in its own
process (csat.sheets.worker). Building the command line (Typer, every command
module, the help texts in the workspace's language) takes a third of a second
before `csat import` itself runs: time the worker can already spend parsing. So
the entry point (csat.__main__.run: the `csat` script and python -m csat) looks at the
arguments first, with no Typer loaded: when they are plainly `csat import FILE...`, the reader
starts on those files at once, and the import command takes it over if it is
given the same files (take). Anything unusual (an option this module does not
know, --help, an export .json) starts nothing here (an export named otherwise is no
workbook, so its reader has nothing to read): the command then starts its
reader itself, as it always did, so this is only ever a head start, never a
second way to read a file. A reader not taken is stopped when the process ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

# The options of `csat import` (csat/cli/imports.py) and of the root command; a test keeps them in step.
VALUE_OPTIONS = {"--half", "--reason", "--format", "-f", "--home"}
FLAG_OPTIONS = {"--dry-run", "--replace", "--verbose", "-v"}

_started: Optional[tuple[list[Path], Any]] = None


def import_files(args: Sequence[str]) -> Optional[list[Path]]:
    """The files of a command line that is plainly `[--home DIR] import [OPTIONS] FILE...`, else None."""
    words = list(args)
    index = 0
    while index < len(words) and (words[index] == "--home" or words[index].startswith("--home=")):
        index += 2 if words[index] == "--home" else 1
    if index >= len(words) or words[index] != "import":
        return None
    files: list[Path] = []
    rest = words[index + 1:]
    position = 0
    while position < len(rest):
        word = rest[position]
        if word in VALUE_OPTIONS:
            position += 2
            continue
        if word in FLAG_OPTIONS or any(word.startswith(option + "=") for option in VALUE_OPTIONS if option[1] == "-"):
            position += 1
            continue
        if word.startswith("-"):
            return None          # --help, --, an option added later: leave it all to the command
        files.append(Path(word))
        position += 1
    if not files or any(file.suffix.lower() == ".json" for file in files):
        return None
    return files


def start(args: Sequence[str]) -> None:
    """Start the reader on the files of a plain `csat import` command line (see the module docstring)."""
    global _started
    if _started is not None:
        return
    files = import_files(args)
    if files is None:
        return
    from csat.config import workspace_language
    from csat.i18n import env_language
    from csat.importer.run import start_reading

    _started = (files, start_reading(files, lang=env_language() or workspace_language(args)))


def take(files: Sequence[Path]) -> Optional[Any]:
    """The reader started for exactly these files, handed over once; None when there is none (it is stopped)."""
    global _started
    started, _started = _started, None
    if started is None:
        return None
    wanted, reading = started
    if [Path(file) for file in files] == wanted:
        return reading
    reading.close()
    return None


def stop() -> None:
    """Stop a reader started and never taken (the command failed before it ran)."""
    global _started
    started, _started = _started, None
    if started is not None:
        started[1].close()
