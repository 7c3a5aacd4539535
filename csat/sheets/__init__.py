"""Reading and writing spreadsheets safely.

Readers turn xlsx and csv files into sheets of columns (columns.py) with
absolute cell positions, after guards that refuse hostile files before any
parser sees them (guard.py); workbooks are parsed in a child process
(worker.py), a big sheet in parallel pieces (pieces.py). Writers neutralise
text that a spreadsheet would run as a formula.
"""
