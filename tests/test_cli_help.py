"""Every command explains itself: --help works and the docstring carries an example."""

import typer.main

from csat.cli import app


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        path = (*prefix, name)
        if hasattr(command, "commands"):
            yield from _commands(command, path)
        else:
            yield path, command


def test_every_command_has_help_with_an_example(cli):
    root = typer.main.get_command(app)
    paths = list(_commands(root))
    assert len(paths) > 10
    for path, command in paths:
        assert command.help and "Example: csat" in command.help, path
        result = cli(*path, "--help")
        assert result.exit_code == 0, (path, result)


def test_root_help_lists_groups_and_version(cli):
    result = cli("--help")
    for group in ("init", "demo", "customer", "items", "config", "db", "audit"):
        assert group in result.stdout
    assert cli("--version").stdout.startswith("csat ")


def test_heavy_libraries_not_imported_for_help():
    import subprocess
    import sys

    code = ("import sys, csat.cli; "
            "print(','.join(m for m in ('openpyxl','jinja2','sqlalchemy','sqlmodel','scipy','numpy') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""
