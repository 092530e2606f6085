"""graphlink: find banned counterfeit vendors coming back under new identities.

The public names are imported on first use (PEP 562), so ``graphlink
--version`` and every ``--help`` answer without loading the analysis.

>>> import graphlink as gl
>>> gl.__version__
'0.1.0'
>>> gl.analyse is __import__("graphlink.api").api.analyse
True
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

#: public name -> the module that defines it
_LAZY = {
    "load": "graphlink.api",
    "check": "graphlink.api",
    "analyse": "graphlink.api",
    "Analysis": "graphlink.api",
    "train_model": "graphlink.api",
    "open_state": "graphlink.api",
    "StaleState": "graphlink.api",
    "confirm": "graphlink.state.review",
    "dismiss": "graphlink.state.review",
    "read_verdicts": "graphlink.state.review",
    "review_queue": "graphlink.state.review",
    "MatchModel": "graphlink.linkage.model",
    "load_model": "graphlink.linkage.model",
    "Dataset": "graphlink.core.dataset",
    "GraphlinkError": "graphlink.core.errors",
    "DatasetError": "graphlink.core.errors",
    "ConfigError": "graphlink.core.errors",
    "Problem": "graphlink.core.errors",
    "generate_world": "graphlink.synth.generate",
    "WorldSummary": "graphlink.synth.generate",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'graphlink' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
