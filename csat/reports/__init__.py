"""Reports: each one is built once as plain data, then rendered in any format.

`survey.build()` reads the store (aggregating in SQL, see queries.RoundTable) and applies `csat.scoring`; the result is
a dict of plain values that `render.render_json`, `render.render_md`,
`html.render_html` and `xlsx.render_xlsx` only read. (beancount's reports
follow the same split.) Nothing here prints or knows about the terminal.
"""
