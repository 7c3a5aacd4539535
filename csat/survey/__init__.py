"""The half-year survey: rounds, sending the forms, reminders and the staff digest.

A capability: it may use the services (`mail`, `forms`, `registry`, `sheets`),
the store and other capabilities' queries (the digest reads feedback and CAPA
deadlines); never `cli`, typer or rich.
"""
