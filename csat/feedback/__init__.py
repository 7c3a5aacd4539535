"""Customer feedback and complaints: the log, its file intake, the quarterly summary.

A capability: it may use the services, the store and the helpers; never `cli`,
typer or rich.
"""
