"""Detection: what operators have in common beyond one identity.

- :mod:`~graphlink.detection.places`: dispatch addresses that are one place on the ground;
- :mod:`~graphlink.detection.factories`: independent operators converging on one place;
- :mod:`~graphlink.detection.detect`: communities of operators.
"""
