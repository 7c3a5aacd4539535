"""Ready-made schedules for `csat remind`: a crontab line and systemd units.

cron runs with a minimal environment and another working folder, so every
path is absolute: the csat executable, the workspace (--home) and the log.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path


def csat_executable_words() -> list[str]:
    """The words that run this csat: its command beside the interpreter, the one on PATH, or python -m csat."""
    beside = Path(sys.executable).with_name("csat")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("csat")
    return [str(Path(found).resolve())] if found else [sys.executable, "-m", "csat"]


def _cron_word(word: str) -> str:
    """A shell word for a crontab line: quoted for the shell, and `%` escaped (cron reads it as a newline)."""
    return shlex.quote(word).replace("%", "\\%")


def crontab_line(home: Path, log: Path, hour: int = 8, minute: int = 0, hourly: bool = False) -> str:
    """One crontab line whose output goes both to the log and to cron's mail.

    `csat remind` prints nothing when nothing is due, so cron mails only news and errors;
    `tee -a` keeps the same lines in the log.
    """
    when = f"{minute} * * * *" if hourly else f"{minute} {hour} * * *"
    command = " ".join(_cron_word(word) for word in [*csat_executable_words(), "--home", str(home), "remind"])
    return f"{when} {command} 2>&1 | tee -a {_cron_word(str(log))}"


def _unit_word(word: str) -> str:
    """A word of a systemd ExecStart=: double-quoted when it needs to be, `%` specifiers escaped."""
    word = word.replace("%", "%%")
    if any(character in word for character in ' \t"\'\\;'):
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


ENVIRONMENT_FILE = "/etc/csat/csat-remind.env"


def systemd_units(home: Path, hour: int = 8, minute: int = 0, hourly: bool = False,
                  user: str | None = None) -> tuple[str, str]:
    """(service, timer) unit files running `csat remind` daily, or hourly at `minute`.

    The SMTP password goes in an EnvironmentFile of mode 0600 (`-`: optional), never in
    the unit itself, which anyone on the machine may read.
    """
    import getpass

    command = " ".join(_unit_word(word) for word in [*csat_executable_words(), "--home", str(home), "remind"])
    service = (
        "[Unit]\nDescription=csat reminders and staff digest\n"
        "Wants=network-online.target\nAfter=network-online.target\n\n"
        "[Service]\nType=oneshot\n"
        f"User={user or getpass.getuser()}\n"
        f"# CSAT_SMTP_PASSWORD=... in this file, mode 0600 (not Environment= here: units are world-readable)\n"
        f"EnvironmentFile=-{ENVIRONMENT_FILE}\n"
        f"ExecStart={command}\n"
    )
    when, every = (f"*-*-* *:{minute:02d}:00", "hour") if hourly else (f"*-*-* {hour:02d}:{minute:02d}:00", "day")
    timer = (
        f"[Unit]\nDescription=Run csat remind every {every}\n\n"
        f"[Timer]\nOnCalendar={when}\nPersistent=true\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return service, timer
