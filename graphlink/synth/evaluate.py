"""Measures: score graphlink's answers against a ground truth.

Used by ``benchmarks/quality.py`` and by the tests on generated worlds; also
useful to an analyst who has labelled a sample.

>>> pairwise_f1(["a", "a", "b"], ["x", "x", "x"])["precision"]
1.0
>>> round(pairwise_f1(["a", "a", "b"], ["x", "x", "x"])["recall"], 3)
0.333
>>> average_precision([0.9, 0.8, 0.1], [True, False, True])
0.8333333333333333
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["pairwise_f1", "false_merges", "best_jaccard", "average_precision", "group_match",
           "precision_at"]


def _pairs(sizes: np.ndarray) -> float:
    return float((sizes * (sizes - 1) / 2).sum())


def pairwise_f1(predicted: Sequence, truth: Sequence) -> dict[str, float]:
    """Precision, recall and F1 over pairs of items put in one cluster."""
    frame = pd.DataFrame({"p": list(predicted), "t": list(truth)})
    both = _pairs(frame.groupby(["p", "t"]).size().to_numpy())
    pred = _pairs(frame.groupby("p").size().to_numpy())
    true = _pairs(frame.groupby("t").size().to_numpy())
    precision = both / pred if pred else 1.0
    recall = both / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": true,
            "predicted_pairs": pred}


def false_merges(groups: pd.Series, predicted: pd.Series, truth: pd.Series) -> pd.DataFrame:
    """Per group (e.g. a trap: park, NAT IP, common name): pairs of different true
    operators that the prediction put in one operator.

    All three series are aligned on the same index (one row per shop).
    """
    frame = pd.DataFrame({"g": groups, "p": predicted, "t": truth}).dropna(subset=["g"])
    rows = []
    for group, part in frame.groupby("g", sort=True):
        same_pred = _pairs(part.groupby("p").size().to_numpy())
        same_both = _pairs(part.groupby(["p", "t"]).size().to_numpy())
        rows.append({"group": group, "shops": len(part), "false_pairs": int(same_pred - same_both)})
    return pd.DataFrame(rows, columns=["group", "shops", "false_pairs"])


def best_jaccard(truth_groups: list[set], predicted_groups: list[set]) -> float:
    """Mean over true groups of the best Jaccard index with any predicted group.

    >>> best_jaccard([{1, 2, 3}], [{1, 2}, {3}])
    0.6666666666666666
    """
    if not truth_groups:
        return float("nan")
    scores = []
    for true in truth_groups:
        best = max((len(true & p) / len(true | p) for p in predicted_groups), default=0.0)
        scores.append(best)
    return float(np.mean(scores))


def average_precision(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Average precision of a ranking (ties broken by input order)."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    hits = np.asarray(labels, dtype=bool)[order]
    if not hits.any():
        return float("nan")
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at[hits].mean())


def group_match(truth_groups: list[set], predicted_groups: list[set],
                threshold: float = 0.5) -> dict[str, float]:
    """How well predicted groups (e.g. factory leads) match true ones.

    ``precision``: share of predicted groups whose best Jaccard with a true
    group reaches ``threshold``; ``recall``: the same for true groups;
    ``jaccard``: mean best Jaccard of the true groups (:func:`best_jaccard`).
    Nothing predicted is precision 1 (nothing wrong was said).

    >>> group_match([{1, 2, 3}, {7, 8, 9}], [{1, 2, 3}, {4, 5}])
    {'precision': 0.5, 'recall': 0.5, 'jaccard': 0.5, 'predicted': 2, 'true': 2}
    """
    def best(groups: list[set], others: list[set]) -> np.ndarray:
        index: dict = {}
        for k, other in enumerate(others):
            for item in other:
                index.setdefault(item, []).append(k)
        scores = []
        for group in groups:
            near = {k for item in group for k in index.get(item, [])}
            scores.append(max((len(group & others[k]) / len(group | others[k]) for k in near),
                              default=0.0))
        return np.asarray(scores, dtype=float)

    true_best, found_best = best(truth_groups, predicted_groups), best(predicted_groups,
                                                                       truth_groups)
    return {"precision": float((found_best >= threshold).mean()) if len(found_best) else 1.0,
            "recall": float((true_best >= threshold).mean()) if len(true_best) else float("nan"),
            "jaccard": float(true_best.mean()) if len(true_best) else float("nan"),
            "predicted": len(predicted_groups), "true": len(truth_groups)}


def precision_at(ranked: Sequence, positives: set, budget: int) -> float:
    """Share of the first ``budget`` items of a ranking that are positives (nan if empty).

    >>> precision_at(["a", "b", "c"], {"a", "c"}, 2)
    0.5
    """
    top = list(ranked)[:budget]
    return float(np.mean([item in positives for item in top])) if top else float("nan")
