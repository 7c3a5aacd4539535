"""Every record of a workspace to one file and back: `csat export`, `csat import FILE.json`.

The file is the documented shape in csat/data/export.schema.json: a header (format_version, the
schema revision and csat version that wrote it, the half it is limited to) and one entry per table
with its column names and its rows as arrays, in an order where every row comes after the rows it
refers to. Tables are read by reflecting the store, not from a fixed list of columns, so a column a
later schema adds (the audit chain's hashes) is carried without this module knowing it.
Secrets are never written: the form-signing secret (store_state) and the invitation tokens (the
bearer half of a form's identity) stay behind; an imported store gets fresh ones.
"""

FORMAT_VERSION = 1
