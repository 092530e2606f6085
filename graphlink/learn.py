"""Learning from analysts' verdicts: m and u refined with labelled pairs.

EM (:func:`graphlink.model.train_vectors`) learns m and u without labels. An
analyst's verdicts are labels: a confirmed pair is a match, a dismissed one is
not. :func:`refine` corrects each agreeing comparison level's m (every match
mode alike) and u so that, over the labelled pairs at that level, the
model's expected matches and non-matches meet what the analysts found:

    m[level] *= (confirmed + a) / (expected matches + a)
    u[level] *= (dismissed + a) / (expected non-matches + a)

each labelled pair counting ``1 / k`` at each of its ``k`` agreeing levels (so a
pair agreeing on three comparisons does not move each of them as much as three
pairs would), with ``a`` = :data:`PSEUDO` pairs of the unlabelled model's
opinion keeping a handful of verdicts from swinging a level. The other levels
are rescaled alike so m and u stay distributions. Levels no labelled pair
reaches keep their ratios; no verdict, no change.

>>> from graphlink.model import COMPARISONS, MODES, NAMES, MatchModel
>>> m = MatchModel({mode: {c: [0.5 / len(COMPARISONS[c][1])] * len(COMPARISONS[c][1]) + [0.5]
...                        for c in NAMES} for mode in MODES},
...                {c: [1e-4] * len(COMPARISONS[c][1]) + [1 - 1e-4 * len(COMPARISONS[c][1])]
...                 for c in NAMES}, {mode: [1e-4, 1e-3] for mode in MODES}, shops=1000)
>>> pairs = pd.DataFrame({"p": [0.5, 0.5, 0.5], "level_device": [0, 0, 0]})
>>> sure = refine(m, pairs, np.array([1, 1, 1]))
>>> bool(sure.m["reuse"]["device"][0] > m.m["reuse"]["device"][0])
True
>>> doubt = refine(m, pairs, np.array([0, 0, 0]))
>>> bool(doubt.u["device"][0] > m.u["device"][0])
True
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from graphlink.model import COMPARISONS, MODES, NAMES, MatchModel

__all__ = ["PSEUDO", "refine"]

#: pairs' worth of the unlabelled model's opinion at each level
PSEUDO = 2.0
_FLOOR = 1e-9


def refine(model: MatchModel, pairs: pd.DataFrame, labels: np.ndarray) -> MatchModel:
    """A copy of ``model`` with m and u refined by labelled pairs.

    ``pairs``: scored candidate pairs (``p`` and the ``level_<comparison>``
    columns of :func:`graphlink.model.score_vectors`), ``labels``: 1 for a
    confirmed match, 0 for a dismissed one (:func:`graphlink.review.labelled`).
    """
    labels = np.asarray(labels, dtype=float)
    out = copy.deepcopy(model)
    if not len(labels) or "p" not in pairs:
        return out
    p = pairs["p"].to_numpy(dtype=float)
    agree = _agreeing(pairs)
    share = 1.0 / np.maximum(sum(agree.values()), 1)  # 1/k per agreeing level
    for name, at in agree.items():
        level = pairs[f"level_{name}"].to_numpy(dtype=np.int64)
        for lv in np.unique(level[at]).tolist():
            rows = at & (level == lv)
            w = share[rows]
            match_gain = (w @ labels[rows] + PSEUDO) / (w @ p[rows] + PSEUDO)
            chance_gain = (w @ (1 - labels[rows]) + PSEUDO) / (w @ (1 - p[rows]) + PSEUDO)
            for mode in MODES:
                out.m[mode][name] = _scaled(out.m[mode][name], lv, match_gain)
            out.u[name] = _scaled(out.u[name], lv, chance_gain)
    return out


def _agreeing(pairs: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per comparison present in ``pairs``: which pairs agree on it (any agreeing level)."""
    out = {}
    for name in NAMES:
        column = f"level_{name}"
        if column in pairs:
            out[name] = pairs[column].to_numpy(dtype=np.int64) < len(COMPARISONS[name][1])
    return out


def _scaled(values: list[float], level: int, gain: float) -> list[float]:
    """``values`` with ``values[level]`` times ``gain`` and the other levels rescaled
    alike to make up the rest (they keep their ratios: ``other`` is not made to
    absorb the change alone, which would swing it by orders of magnitude).

    >>> [round(v, 3) for v in _scaled([0.2, 0.3, 0.5], 0, 2.0)]
    [0.4, 0.225, 0.375]
    """
    out = np.asarray(values, dtype=float).copy()
    total = out.sum()
    out[level] = min(out[level] * gain, 0.999 * total)
    rest = total - out[level]
    others = np.arange(len(out)) != level
    out[others] *= rest / max(out[others].sum(), _FLOOR)
    return np.maximum(out, _FLOOR).tolist()
