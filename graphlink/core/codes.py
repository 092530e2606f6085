"""The ids graphlink makes up, written in one place: operators, communities, factory
leads, the runs of a state and the verdicts of its log.

An operator is named after its smallest shop, its community after that
operator, a factory lead after its first shop; a state's runs are numbered.
Stable ids across runs (``OP-S2`` kept by an operator that gained ``S1``) are
:mod:`graphlink.state.runs`' business; these are the fresh names it starts from.

>>> operator_id("S1"), community_id("OP-S1"), factory_id("S7"), run_id(3), verdict_id(12)
('OP-S1', 'C-S1', 'F-S7', 'R0003', 'V000012')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the vectorised forms take Series; the module needs no pandas
    import pandas as pd

__all__ = ["OPERATOR", "COMMUNITY", "FACTORY", "operator_id", "operator_ids", "community_id",
           "community_ids", "factory_id", "run_id", "verdict_id"]

OPERATOR, COMMUNITY, FACTORY, RUN, VERDICT = "OP-", "C-", "F-", "R", "V"


def operator_id(shop: str) -> str:
    """The fresh id of the operator whose smallest shop is ``shop``."""
    return OPERATOR + shop


def operator_ids(shops: pd.Series) -> pd.Series:
    """:func:`operator_id` of each of ``shops`` (vectorised)."""
    return OPERATOR + shops


def community_id(operator: str) -> str:
    """The fresh id of the community named after ``operator`` (``OP-S1`` -> ``C-S1``)."""
    return COMMUNITY + operator.removeprefix(OPERATOR)


def community_ids(operators: pd.Series) -> pd.Series:
    """:func:`community_id` of each of ``operators`` (vectorised)."""
    return COMMUNITY + operators.str.removeprefix(OPERATOR)


def factory_id(shop: str) -> str:
    """The id of the factory lead whose first shop is ``shop``."""
    return FACTORY + shop


def run_id(number: int) -> str:
    """The id of a state's ``number``-th run (1-based): ``R0001``, ``R0002``, ..."""
    return f"{RUN}{number:04d}"


def verdict_id(number: int) -> str:
    """The id of the ``number``-th verdict of a state's log: ``V000001``, ..."""
    return f"{VERDICT}{number:06d}"
