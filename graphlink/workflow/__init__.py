"""The workflow: the analysis pipeline run on a dataset, and around a state folder.

``analyse`` (load, check, analyse, the match model) and ``with_state`` (save
an analysis as a state's run, read it back, report from a state). Above
``state``; with ``api`` and ``cli``, the only layer that imports ``loaders``.
"""
