"""The store: tables, the engine and its sessions, bulk writes, the audit trail, locks, migrations.

Everything above reads and writes records through here, on SQLite or PostgreSQL.
This package imports only the small top-level helpers (errors, config, files):
never `registry`, `survey`, `mail`, `forms`, `importer`, `reports`, `feedback`,
`capa` or `cli`, and never typer or rich.
"""
