"""Survey forms: the signed xlsx form and its identity, and the printable HTML form."""
