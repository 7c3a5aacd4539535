"""Importing survey answers: returned forms, consolidated sheets and manual entry.

Readers (forms.py, sheets.py, responses.py) turn what they read into
validated candidates (validate.py) checked against the store (context.py);
run.py orchestrates a file import and write.py stores a plan in one
transaction. Nothing is written unless every file is free of problems.
"""
