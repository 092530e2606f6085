"""State: what is kept between runs, and the workflows over it.

- :mod:`~graphlink.state.store`: the state folder (Parquet tables, never pickle);
- :mod:`~graphlink.state.lock`: one writing run at a time per folder;
- :mod:`~graphlink.state.runs`: stable operator ids and the log of what changed;
- :mod:`~graphlink.state.saved`: every part of an analysis in a state run, and back;
- :mod:`~graphlink.state.incremental`: a day's new shops scored against the saved world;
- :mod:`~graphlink.state.verdicts` and :mod:`~graphlink.state.review`: analysts' verdicts,
  their effect on reports, and the review queue.
"""
