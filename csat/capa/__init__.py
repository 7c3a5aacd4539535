"""Corrective and preventive actions: the records, their state machine, the printable CAPA form.

A capability: CAPAs come from flagged survey items and from complaints, so it
may read `survey` rounds and the `feedback` log; never `cli`, typer or rich.
"""
