"""The core: graphlink's vocabulary and the canonical dataset every stage receives.

- :mod:`~graphlink.core.schema`: tables, columns, identifier kinds, node kinds, named once;
- :mod:`~graphlink.core.dataset`: the validated tables (what ``loaders`` produce);
- :mod:`~graphlink.core.errors`: exceptions and the record of one input problem;
- :mod:`~graphlink.core.period`: ``--since``, parsed once at the boundary;
- :mod:`~graphlink.core.workers`: the process pool for CPU-bound per-item work.
- :mod:`~graphlink.core.paths`: the graph toolkit: path search over shop pairs, components.
- :mod:`~graphlink.core.safetext`: text made safe for terminals, spreadsheets, HTML;
  widths and clipping.

Imports nothing from graphlink outside ``core``; ``loaders`` import ``core`` alone.
"""
