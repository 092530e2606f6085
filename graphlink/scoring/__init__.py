"""Scoring: sign-up risk with its evidence, spot checks, explanations.

- :mod:`~graphlink.scoring.score`: sign-up risk, flags, which shops to test-buy next;
- :mod:`~graphlink.scoring.reviewed`: what analysts' verdicts do to sign-up records;
- :mod:`~graphlink.scoring.spotchecks`: act now / worth a test buy;
- :mod:`~graphlink.scoring.explain`: evidence an analyst can verify by hand;
- :mod:`~graphlink.scoring.dossier`: one shop's evidence in one call;
- :mod:`~graphlink.scoring.casefile`: evidence citing its source rows (for the case file);
- :mod:`~graphlink.scoring.analysis`: the ``Analysis``, everything one analysis found.
"""
