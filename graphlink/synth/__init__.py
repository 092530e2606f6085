"""Synthetic marketplaces with known answers, and the measures against those answers.

- :mod:`~graphlink.synth.generate`: worlds (``python -m graphlink.synth.generate``);
- :mod:`~graphlink.synth.evaluate`: pairwise F1, average precision and friends.
"""
