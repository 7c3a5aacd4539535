"""Importing survey answers: returned forms, consolidated sheets and manual entry.

Readers (forms.py, which finds a form's answers with form_layout.py; sheets.py
with sheet_rows.py; responses.py) turn what they read into validated candidates
(validate.py) whose answers travel as blocks (answers.py), checked against the
store (context.py; differences.py says what a corrected form changes); run.py orchestrates a
file import, write.py stores a plan in one transaction (answers through
answer_rows.py, a new round's answers possibly early, see early.py). Nothing
is kept unless every file is free of problems. records.py lists, shows and
withdraws stored responses (kept, counted nowhere).
"""
