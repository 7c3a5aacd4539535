"""Mail: building messages (once per round, stamped per customer), SMTP or outbox transport, send outcomes.

A service: it imports the store and the small helpers, never a capability
(`survey`, `importer`, `reports`, `feedback`, `capa`) or `cli`, typer or rich.
"""
