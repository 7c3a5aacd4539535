"""Alembic migrations shipped inside the package.

HEAD is the revision this csat expects; `csat db upgrade` moves a store to
it. A test checks HEAD against the scripts and the scripts against the
models, so a schema change cannot land without its migration.
"""

from __future__ import annotations

from pathlib import Path

HEAD = "0010"
_HERE = Path(__file__).parent


def csat_release_for(revision: str) -> str:
    """The csat release that brought schema `revision`: its minor version number is the revision.

    csat's version moves with its schema (tests/test_version.py): a release with schema 0007 is 0.7.x,
    so a store tells which csat it needs. A release that changes no schema only raises the patch number.
    """
    return f"0.{int(revision)}" if revision.isdigit() else f"with schema {revision}"


def known_revisions() -> set[str]:
    """Revision ids of every script shipped with this csat (read from file names: cheap)."""
    return {path.name.split("_", 1)[0] for path in (_HERE / "versions").glob("[0-9]*_*.py")}


def alembic_config(connection=None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config
