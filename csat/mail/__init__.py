"""Mail: building messages (once per round, stamped per customer), SMTP or outbox transport, send outcomes,
and the one rule for an address csat can send to (addresses.py, also used when customers are entered).

A service: it imports the store and the small helpers, never a capability
(`survey`, `importer`, `reports`, `feedback`, `capa`) or `cli`, typer or rich.
"""
