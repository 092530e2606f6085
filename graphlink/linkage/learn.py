"""Learning from analysts' verdicts: the match model corrected where the labels say it errs.

EM (:func:`graphlink.linkage.model.train_vectors`) learns m and u without labels. An
analyst's verdicts are labels: a confirmed pair is a match, a dismissed one is
not. They are few (a morning gives 25) and not a random sample (the review
queue picks them), so they do not replace the EM fit: they correct it, as a
Bayesian update whose prior is the EM fit.

The correction is a logistic regression of the labels on the model's own
match weight, the weight an offset, with one coefficient per parameter the
labels can speak about:

    logit P(match | pair) = ln 2 * weight(pair) + b[context] + sum of d[level]
                                                 over the pair's levels (missing ones not)

- ``b[context]`` (:data:`graphlink.linkage.model.CONTEXTS`): the calibration of the
  model's prior odds (a world where comebacks are commoner than EM found
  shows it on every labelled pair of that context);
- ``d[level]``: the correction of one comparison level's Bayes factor ``m / u``
  (every match mode alike), where the labels disagree with the model (a masked
  card the model thinks weak that analysts keep confirming; ``other``, a
  disagreement, that says less than EM found: EM learns m from pairs with two
  agreements or more, so a comeback that kept one trace is what it sees least).

Each coefficient has the prior ``N(0, sigma^2)``: no label, no change; a few
labels move it a little; many labels that agree with each other move it as
far as they say. ``sigma`` (natural log units: how far a Bayes factor may be
from the EM fit) is chosen by the labels themselves when they include
:data:`MIN_EACH` of each kind and twice as many labels as coefficients they
touch: the value of :data:`SCALES` (0.25 to 2) that maximises the evidence
(the Laplace approximation of the labels' marginal likelihood, empirical
Bayes); with fewer, :data:`PRIOR_SD` (left to choose, a first morning's 25
labels chose the widest prior and pushed 400 more pairs past 0.5, wrongly; at 1.0,
a first morning's 25 labels cost 0.04-0.06 AP on a 10,000-shop world, at 0.5 at most
0.005, with the same AP after five mornings: benchmarks/review.py). The fit
is the posterior mode (Newton's method, a convex problem: one answer, whatever the order of the
labels). The queue picks labels by the model's features only, never by their
answer, so the conditional fit is unbiased by that choice.

The refined model applies the fit exactly: each level's m (every mode) times
``exp(d[level])`` and each context's priors rescaled so the prior odds gain
``exp(b[context])``; u and the frequency adjustments stay as counted. So a
refined m is a corrected likelihood, not necessarily a distribution. A pair that
agrees on one comparison at most keeps the EM fit (``MatchModel.lone``): such
pairs are most of the candidate pairs, few labels reach them, and the
corrections of ``other`` levels add up on them (five days of simulated review
lifted 571 honest shops' weak ties 0.006 -> 0.034 on a 10k world; docs/review.md).

:func:`posterior` gives the covariance the review queue
(:func:`graphlink.state.review.queue`) uses to ask next about the pairs whose answer
would move most other pairs.

>>> from graphlink.linkage.model import COMPARISONS, MODES, NAMES, MatchModel
>>> m = MatchModel({mode: {c: [0.5 / len(COMPARISONS[c][1])] * len(COMPARISONS[c][1]) + [0.5]
...                        for c in NAMES} for mode in MODES},
...                {c: [1e-4] * len(COMPARISONS[c][1]) + [1 - 1e-4 * len(COMPARISONS[c][1])]
...                 for c in NAMES}, {mode: [1e-4, 1e-3] for mode in MODES}, shops=1000)
>>> pairs = pd.DataFrame({"weight": [-5.0] * 6, "context": [1] * 6,
...                       "level_device": [0] * 6})
>>> sure = refine(m, pairs, np.array([1, 1, 1, 1, 0, 1]))
>>> bool(sure.m["reuse"]["device"][0] > m.m["reuse"]["device"][0])
True
>>> doubt = refine(m, pairs.assign(weight=5.0), np.zeros(6))
>>> bool(doubt.m["reuse"]["device"][0] < m.m["reuse"]["device"][0])
True
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd

from graphlink.linkage.model import COMPARISONS, CONTEXTS, MODES, NAMES, MatchModel

__all__ = ["PRIOR_SD", "QUEUE_SD", "SCALES", "MIN_EACH", "FEATURES", "Fit", "features", "fit",
           "refine", "posterior", "corrections"]

#: the prior's standard deviation of a correction (natural log of a Bayes factor)
#: while the labels are too few to say how far the model may be off: a factor of
#: about 1.6 either way, so a first morning cannot overturn the EM fit
PRIOR_SD = 0.5
#: the width the review queue assumes for the corrections still to learn
#: (:func:`posterior`): wider than :data:`PRIOR_SD`, so it asks about every level
#: the labels have not reached yet, not only the few it already doubts
QUEUE_SD = 1.0
#: the prior standard deviations the labels choose from (empirical Bayes)
SCALES = tuple(float(s) for s in 2.0 ** np.arange(-2.0, 1.01, 0.25))
#: labels of each kind (confirmed, dismissed) from which the labels choose the scale
MIN_EACH = 5
_LN2 = float(np.log(2.0))
_NEWTON = 50

#: the coefficients: one per context, then one per level of each comparison (its
#: agreeing levels and ``other``)
FEATURES: tuple[tuple[str, str], ...] = (
    *(("context", c) for c in CONTEXTS),
    *((name, level) for name in NAMES for level in (*COMPARISONS[name][1], "other")))
_COLUMN = {f: i for i, f in enumerate(FEATURES)}


@dataclass
class Fit:
    """A posterior: mode ``theta`` (one value per :data:`FEATURES`), covariance ``cov``,
    the prior scale ``sigma`` used and the labels' log evidence under it."""

    theta: np.ndarray
    cov: np.ndarray
    sigma: float
    evidence: float
    labels: int


def features(pairs: pd.DataFrame) -> np.ndarray:
    """(pairs x :data:`FEATURES`) 0/1: each pair's context and its levels (agreeing, or
    ``other``; ``missing`` is no evidence and no feature).

    >>> features(pd.DataFrame({"context": [1], "level_ip": [1]}))[0, :6].tolist()
    [0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    """
    x = np.zeros((len(pairs), len(FEATURES)))
    rows = np.arange(len(pairs))
    context = (pairs["context"].to_numpy(dtype=np.int64) if "context" in pairs
               else np.zeros(len(pairs), dtype=np.int64))
    x[rows, context] = 1.0
    for name in NAMES:
        column = f"level_{name}"
        if column not in pairs:
            continue
        level = pairs[column].to_numpy(dtype=np.int64)
        levels = COMPARISONS[name][1]
        at = level <= len(levels)  # agreeing levels and other (missing: no evidence)
        first = _COLUMN[(name, levels[0])]
        x[rows[at], first + level[at]] = 1.0
    return x


def _offsets(pairs: pd.DataFrame) -> np.ndarray:
    """The model's log odds of each pair (natural log)."""
    if "weight" in pairs:
        return _LN2 * pairs["weight"].to_numpy(dtype=float)
    p = np.clip(pairs["p"].to_numpy(dtype=float), 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


def _mode(x: np.ndarray, z: np.ndarray, y: np.ndarray, sigma: float) -> Fit:
    """The posterior mode and Laplace covariance under the prior scale ``sigma``."""
    d = x.shape[1]
    theta = np.zeros(d)
    ridge = np.eye(d) / sigma**2

    def loss(t: np.ndarray) -> float:
        eta = z + x @ t
        return float(np.sum(np.logaddexp(0.0, eta) - y * eta) + t @ t / (2 * sigma**2))

    current = loss(theta)
    for _ in range(_NEWTON):
        p = _sigmoid(z + x @ theta)
        grad = x.T @ (p - y) + theta / sigma**2
        hess = (x * (p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while (trial := loss(theta - scale * step)) > current and scale > 1e-6:
            scale /= 2  # damped: the loss never rises
        theta, current = theta - scale * step, min(trial, current)
        if np.abs(scale * step).max() < 1e-9:
            break
    eta = z + x @ theta
    p = _sigmoid(eta)
    hess = (x * (p * (1 - p))[:, None]).T @ x + ridge
    loglik = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    _, logdet = np.linalg.slogdet(hess * sigma**2)  # det(I + sigma^2 X'VX)
    evidence = loglik - float(theta @ theta) / (2 * sigma**2) - 0.5 * logdet
    return Fit(theta, np.linalg.inv(hess), sigma, evidence, len(y))


def fit(pairs: pd.DataFrame, labels: np.ndarray, sigma: float | None = None) -> Fit:
    """The posterior of the corrections given labelled pairs (``weight`` or ``p``,
    ``context`` and ``level_<comparison>`` columns of
    :func:`graphlink.linkage.model.score_vectors`) and their labels (1 confirmed, 0
    dismissed). ``sigma``: the prior scale (default: chosen by the labels,
    :data:`SCALES`, once they hold :data:`MIN_EACH` of each kind and twice as many
    labels as coefficients they touch; else :data:`PRIOR_SD`).

    >>> pairs = pd.DataFrame({"weight": [-6.0] * 8, "context": [1] * 8, "level_ip": [1] * 8})
    >>> f = fit(pairs, np.array([1, 1, 1, 1, 1, 1, 0, 1]))
    >>> bool(f.theta[FEATURES.index(("ip", "same-block"))] > 1)
    True
    """
    y = np.asarray(labels, dtype=float)
    x, z = features(pairs), _offsets(pairs)
    if sigma is not None:
        return _mode(x, z, y, sigma)
    touched = int((x.sum(axis=0) > 0).sum())
    if min(int(y.sum()), int(len(y) - y.sum())) < MIN_EACH or len(y) < 2 * touched:
        return _mode(x, z, y, PRIOR_SD)  # too few labels to say how far the model is off
    fits = [_mode(x, z, y, s) for s in SCALES]
    return max(fits, key=lambda f: (f.evidence, -f.sigma))


def corrections(model: MatchModel, theta: np.ndarray) -> MatchModel:
    """A copy of ``model`` with the corrections ``theta`` (:data:`FEATURES`) applied:
    each level's m (every mode) times ``exp(d)``; each context's priors rescaled so
    that the prior odds of every mode gain ``exp(b)`` exactly."""
    out = copy.deepcopy(model)
    # a pair agreeing on one thing only keeps the EM fit: corrections of ``other``
    # levels add up on it, and the labels reach few of the many such pairs
    out.lone = copy.deepcopy(model.lone or model)
    out.lone.lone = None
    for c in range(len(CONTEXTS)):
        gain = float(np.exp(theta[c]))
        total = model.prior(c)
        scale = gain / (1.0 - total + gain * total)
        for mode in MODES:
            out.priors[mode][c] = float(model.priors[mode][c] * scale)
    for (name, level), value in zip(FEATURES[len(CONTEXTS):], theta[len(CONTEXTS):],
                                    strict=True):
        if value == 0.0:
            continue
        at = [*COMPARISONS[name][1], "other"].index(level)
        for mode in MODES:
            m = list(out.m[mode][name])
            m[at] = float(m[at] * np.exp(value))
            out.m[mode][name] = m
    return out


def refine(model: MatchModel, pairs: pd.DataFrame, labels: np.ndarray) -> MatchModel:
    """A copy of ``model`` corrected by labelled pairs (:func:`fit`, :func:`corrections`).

    ``pairs``: scored candidate pairs (``weight``, ``context`` and the
    ``level_<comparison>`` columns of :func:`graphlink.linkage.model.score_vectors`),
    ``labels``: 1 for a confirmed match, 0 for a dismissed one
    (:func:`graphlink.state.review.labelled`). No label: the model unchanged.
    """
    labels = np.asarray(labels, dtype=float)
    if not len(labels) or not len(pairs):
        return copy.deepcopy(model)
    return corrections(model, fit(pairs, labels).theta)


def posterior(pairs: pd.DataFrame, labels: np.ndarray, sigma: float = QUEUE_SD) -> np.ndarray:
    """The covariance of the corrections still to learn, around a model the labels
    already refined: ``pairs`` (scored by the refined model) and ``labels`` as for
    :func:`fit`, the Laplace approximation at no further correction."""
    x = features(pairs)
    p = _sigmoid(_offsets(pairs)) if len(pairs) else np.zeros(0)
    hess = (x * (p * (1 - p))[:, None]).T @ x + np.eye(len(FEATURES)) / sigma**2
    return np.linalg.inv(hess)
