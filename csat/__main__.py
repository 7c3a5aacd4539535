import sys

# Before the command line is built: `csat import` starts parsing its workbooks now (early_start.py).
from csat.importer.early_start import start

start(sys.argv[1:])

from csat.cli import main  # after the reader has started

main()
