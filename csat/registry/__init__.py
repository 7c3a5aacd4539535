"""Who is surveyed and on what: the customer register and the survey item template.

Imports the store, the sheet readers and the small helpers; never a capability
(`survey`, `importer`, `reports`, `feedback`, `capa`) or `cli`, typer or rich.
"""
