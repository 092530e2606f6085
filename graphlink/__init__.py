"""graphlink: find banned counterfeit vendors coming back under new identities.

>>> import graphlink as gl
>>> gl.__version__
'0.1.0'
"""

__version__ = "0.1.0"

from graphlink.api import Analysis, analyse, check, load, train_model  # noqa: E402
from graphlink.dataset import Dataset  # noqa: E402
from graphlink.errors import ConfigError, DatasetError, GraphlinkError, Problem  # noqa: E402
from graphlink.generate import WorldSummary, generate_world  # noqa: E402
from graphlink.model import MatchModel, load_model  # noqa: E402

__all__ = [
    "__version__",
    "load",
    "check",
    "analyse",
    "Analysis",
    "train_model",
    "MatchModel",
    "load_model",
    "Dataset",
    "GraphlinkError",
    "DatasetError",
    "ConfigError",
    "Problem",
    "generate_world",
    "WorldSummary",
]
