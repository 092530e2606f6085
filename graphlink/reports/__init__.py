"""Reports: the data of each page and figure, renderers, output files, schemas.

Text safety (terminal, spreadsheet and HTML neutralising, widths, clipping) is
:mod:`graphlink.core.safetext`: every stage may make its text safe.

- :mod:`~graphlink.reports.pagedata`: what a page and its figures need, computed once;
- :mod:`~graphlink.reports.payloads`: the report builders (an analysis in, a report out);
- :mod:`~graphlink.reports.casefile`: one shop's case file (``graphlink explain``);
- :mod:`~graphlink.reports.report`: the renderers (table, CSV, JSON, HTML) and the schemas;
- :mod:`~graphlink.reports.html` and :mod:`~graphlink.reports.svg`: pages and their figures;
- :mod:`~graphlink.reports.plot`: matplotlib figures for notebooks and the model chart;
- :mod:`~graphlink.reports.outputs`: output paths checked first, files written whole;
- :mod:`~graphlink.reports.summary`: ``graphlink check``;
- ``schemas/``: the JSON Schema of every JSON output (shipped as package data).
"""
