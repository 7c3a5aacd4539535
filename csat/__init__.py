"""csat: the customer-satisfaction control procedure, executable.

The public Python API is small on purpose: open a workspace, get a store,
call the domain modules (customers, items, ...). The CLI is a thin shell over them.
"""

__version__ = "0.10.0"
