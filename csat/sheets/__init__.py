"""Reading and writing spreadsheets safely.

Readers turn xlsx and csv files into rows with absolute cell positions, after
guards that refuse hostile files before any parser sees them (see guard.py).
Writers neutralise text that a spreadsheet would run as a formula.
"""
