"""CLI start-up: `csat --version` and `csat --help` against a bare `python -c pass`.

Heavy libraries (openpyxl, jinja2, sqlalchemy) must load only in the commands
that use them, so start-up stays close to the interpreter's own.
"""

from __future__ import annotations

import sys

from benchmarks.timing import median_seconds, report, run_command


def main() -> None:
    python = sys.executable
    bare = median_seconds(lambda: run_command([python, "-c", "pass"]), repeat=9)
    version = median_seconds(lambda: run_command([python, "-m", "csat", "--version"]), repeat=9)
    help_time = median_seconds(lambda: run_command([python, "-m", "csat", "--help"]), repeat=9)
    report("startup --version", version / bare, None, f"{version * 1000:.0f} ms vs python -c pass {bare * 1000:.0f} ms")
    report("startup --help", help_time / bare, None, f"{help_time * 1000:.0f} ms (goal: well under 500 ms)")


if __name__ == "__main__":
    main()
