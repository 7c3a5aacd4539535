"""Ready-made schedules for `csat remind`: a crontab line and systemd units.

cron runs with a minimal environment and another working folder, so every
path is absolute: the csat executable, the workspace (--home) and the log.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def csat_executable() -> str:
    """Absolute path of the csat command that is running (or the one on PATH)."""
    beside = Path(sys.executable).with_name("csat")
    if beside.exists():
        return str(beside)
    found = shutil.which("csat")
    return str(Path(found).resolve()) if found else f"{sys.executable} -m csat"


def crontab_line(home: Path, log: Path, hour: int = 8, minute: int = 0, hourly: bool = False) -> str:
    when = f"{minute} * * * *" if hourly else f"{minute} {hour} * * *"
    return f"{when} {csat_executable()} --home {home} remind >> {log} 2>&1"


def systemd_units(home: Path, hour: int = 8, minute: int = 0) -> tuple[str, str]:
    """(service, timer) unit files running `csat remind` daily."""
    service = (
        "[Unit]\nDescription=csat reminders and staff digest\n\n"
        "[Service]\nType=oneshot\n"
        f"ExecStart={csat_executable()} --home {home} remind\n"
    )
    timer = (
        "[Unit]\nDescription=Run csat remind every day\n\n"
        f"[Timer]\nOnCalendar=*-*-* {hour:02d}:{minute:02d}:00\nPersistent=true\n\n"
        "[Install]\nWantedBy=timers.target\n"
    )
    return service, timer
