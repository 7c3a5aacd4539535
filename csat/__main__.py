"""The `csat` command and `python -m csat`: the arguments are looked at before the command line is built.

`csat import FILE...` starts parsing its workbooks here (early_start.py), before Typer and
every command module load: the installed `csat` script calls run(), so it gets the same head
start as `python -m csat`.
"""

import sys


def run() -> None:
    from csat.importer.early_start import start

    start(sys.argv[1:])
    from csat.cli import main  # after the reader has started

    main()


if __name__ == "__main__":
    run()
