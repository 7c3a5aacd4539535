"""Survey forms: the signed xlsx form and its identity, and the printable HTML form.

A service: imports `sheets`, the store and the small helpers; never a
capability (`survey`, `importer`, `reports`, `feedback`, `capa`) or `cli`, typer or rich.
"""
