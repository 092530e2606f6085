"""A simulated analyst: what a week of review does to the sign-up report (issue 20).

    python benchmarks/review.py                        # 2 mixed 2,000-shop worlds, 5 days x 25
    python benchmarks/review.py --shops 3000 --seeds 1 2 3 --days 5 --budget 25 --json out.json

Per world (``graphlink.synth.generate.generate_world``, ``mix="random"``): analyse into
a state; then each day take the review queue (``graphlink review queue``: the
``--budget`` pairs whose verdict would teach the model most), answer every pair
from the world's truth (confirmed when the shop and the banned shop are one
real operator, else dismissed), record the verdicts (``gl.confirm`` /
``gl.dismiss``) and analyse again (the model refines m and u with them).

After each day it prints, on the open sign-ups (active shops created on or after
``since``: the median creation date of the world's comebacks) that no verdict
touched: sign-up AP and flag precision / recall (high or medium), beside the
same figures of the no-review run on the same shops; and, on all open sign-ups
(reviewed ones included, where verdicts act directly), flag precision / recall.

Then, on the last day's unreviewed comebacks, where AP is lost (:func:`diagnose`):
how many have no candidate path to a banned shop of their own operator (no pair
score can rank them: they sit at risk 0 with the honest shops), how many have
one but risk 0 or a low risk, and two bounds: ``upper_bound``, the AP of a
perfect pair scorer on the candidate pairs (every comeback with such a path
first, the rest in the report's order of ties), and ``ceiling``, the AP of the
learner given the truth of every candidate pair of a banned shop (the labels
120 verdicts cannot beat: the corrections of :mod:`graphlink.linkage.learn` fitted on
all of them). And ``calibrated``, the AP of the best calibration of the model's own
features (:func:`calibrated`): every candidate pair scored with the true match rate,
read from the world's truth, of its comparison pattern (every comparison's level, the
context, and the log2 bin of how many shops use each agreeing value). Whatever m and u
the verdicts teach, a model of these features ranks no better than that, give or take
the rates' in-sample fit (a pattern seen once gets its own label, which flatters it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import graphlink as gl  # noqa: E402
from graphlink import api  # noqa: E402
from graphlink.linkage import learn  # noqa: E402
from graphlink.linkage import resolve as resolve_stage  # noqa: E402
from graphlink.linkage.model import COMPARISONS, NAMES, score_vectors  # noqa: E402
from graphlink.scoring.score import MAX_HOPS  # noqa: E402
from graphlink.state.review import _banned_pairs, queue, record_many  # noqa: E402
from graphlink.synth.evaluate import average_precision  # noqa: E402
from graphlink.workflow import analyse as analyse_stage  # noqa: E402

DETECTED = ("high", "medium")


def world(root: Path, shops: int, seed: int) -> tuple[Path, pd.DataFrame, str]:
    """A generated world, its truth and the sign-up date (median comeback creation)."""
    out = root / f"world-{shops}-{seed}"
    summary = gl.generate_world(out, shops=shops, seed=seed, mix="random")
    truth = pd.read_csv(Path(summary.truth) / "shops.csv", dtype=str, keep_default_na=False)
    table = pd.read_csv(out / "shops.csv", dtype=str).set_index("shop_id")
    rereg = truth.loc[truth["role"] == "reregistration", "shop_id"]
    since = str(pd.to_datetime(table.loc[rereg, "created_at"], format="ISO8601").median().date())
    return out, truth, since


def open_signups(folder: Path, since: str) -> set[str]:
    shops = pd.read_csv(folder / "shops.csv", dtype=str)
    created = pd.to_datetime(shops["created_at"], format="ISO8601")
    return set(shops.loc[(created >= pd.Timestamp(since)) & (shops["status"] == "active"),
                         "shop_id"])


def figures(signups: pd.DataFrame, truth: pd.DataFrame, shops: set[str]) -> dict:
    """AP and flag precision / recall of ``signups`` on ``shops``."""
    s = signups[signups["shop_id"].isin(shops)]
    role = truth.set_index("shop_id")["role"]
    rereg = s["shop_id"].map(role).eq("reregistration").to_numpy()
    flagged = s["flag"].isin(DETECTED).to_numpy()
    return {"shops": len(s), "comebacks": int(rereg.sum()),
            "ap": average_precision(s["risk"].to_numpy(dtype=float), rereg),
            "precision": float(rereg[flagged].mean()) if flagged.any() else float("nan"),
            "recall": float(flagged[rereg].mean()) if rereg.any() else float("nan")}


def answer(truth: pd.DataFrame, shop: str, banned: str) -> str:
    """The simulated analyst: the truth's operators decide."""
    operator = truth.set_index("shop_id")["operator_id"]
    return "confirmed" if operator[shop] == operator[banned] else "dismissed"


def simulate(folder: Path, truth: pd.DataFrame, since: str, state: Path, days: int,
             budget: int) -> list[dict]:
    """Day 0 (no review) then ``days`` days of ``budget`` verdicts; figures per day."""
    api.analyse_report(folder, state)
    base = gl.open_state(state).signups(since)
    open_ids = open_signups(folder, since)
    reviewed: set[str] = set()
    rows = []
    for day in range(days + 1):
        if day:
            todo = queue(gl.open_state(state), budget)
            record_many(state, [(s, b, answer(truth, s, b)) for s, b in
                                zip(todo["shop_id"], todo["banned_shop_id"], strict=True)],
                        by="simulated analyst")
            reviewed |= set(todo["shop_id"])
            api.analyse_report(folder, state)
        now = gl.open_state(state).signups(since)
        unreviewed = open_ids - reviewed
        log = gl.read_verdicts(state)
        after, before = figures(now, truth, unreviewed), figures(base, truth, unreviewed)
        every = figures(now, truth, open_ids)
        rows.append({"day": day, "verdicts": len(log),
                     "confirmed": int((log["verdict"] == "confirmed").sum()),
                     "unreviewed": after["shops"], "ap": after["ap"], "ap_no_review": before["ap"],
                     "precision": after["precision"], "precision_no_review": before["precision"],
                     "recall": after["recall"], "recall_no_review": before["recall"],
                     "all_precision": every["precision"], "all_recall": every["recall"]})
    return rows


def reachable(pairs: pd.DataFrame, truth: pd.DataFrame, shops: list[str], banned: set[str]
              ) -> dict[str, bool]:
    """Per comeback: is there a path of at most ``MAX_HOPS`` candidate pairs, each between
    two shops of its own operator, to a banned shop of that operator (what a perfect pair
    scorer would find)?"""
    operator = truth.set_index("shop_id")["operator_id"]
    a, b = pairs["shop_a"].to_numpy(dtype=object), pairs["shop_b"].to_numpy(dtype=object)
    same = operator.reindex(a).to_numpy() == operator.reindex(b).to_numpy()
    near: dict[str, set[str]] = {}
    for x, y in zip(a[same].tolist(), b[same].tolist(), strict=True):
        near.setdefault(x, set()).add(y)
        near.setdefault(y, set()).add(x)
    out = {}
    for shop in shops:
        seen, frontier = {shop}, {shop}
        for _ in range(MAX_HOPS):
            frontier = {y for x in frontier for y in near.get(x, ()) if y not in seen}
            seen |= frontier
        out[shop] = bool(seen & banned)
    return out


def diagnose(folder: Path, truth: pd.DataFrame, since: str, state: Path) -> dict:
    """Where AP on the last day's unreviewed sign-ups is lost, and its two bounds."""
    analysis = gl.open_state(state)
    shops = open_signups(folder, since) - set(gl.read_verdicts(state)["shop_id"])
    signups = analysis.signups(since)
    signups = signups[signups["shop_id"].isin(shops)].reset_index(drop=True)
    role = truth.set_index("shop_id")["role"]
    rereg = signups["shop_id"].map(role).eq("reregistration").to_numpy()
    status = analysis.dataset.shops.set_index("shop_id")["status"]
    banned = set(status.index[status == "banned"])
    found = reachable(analysis.resolution.pairs, truth, signups.loc[rereg, "shop_id"].tolist(),
                      banned)
    path = np.array([found.get(s, False) for s in signups["shop_id"]], dtype=bool)
    risk = signups["risk"].to_numpy(dtype=float)
    order = np.r_[np.flatnonzero(path), np.flatnonzero(~path)]
    # the learner given the truth of every candidate pair of a banned shop
    base = gl.analyse(folder)
    pairs = _banned_pairs(base)
    pairs = pairs[pairs["via"].fillna("") == ""]
    operator = truth.set_index("shop_id")["operator_id"]
    truly = (operator.reindex(pairs["shop_id"]).to_numpy()
             == operator.reindex(pairs["banned_shop_id"]).to_numpy()).astype(float)
    told = gl.analyse(folder, model=learn.corrections(base.model, learn.fit(pairs, truly).theta))
    ceiling = figures(told.signups(since), truth, shops)["ap"]
    return {"comebacks": int(rereg.sum()),
            "no_path": int((rereg & ~path).sum()),
            "path_risk0": int((rereg & path & (risk == 0)).sum()),
            "path_low": int((rereg & path & (risk > 0) & (risk < 0.5)).sum()),
            "path_flagged": int((rereg & path & (risk >= 0.5)).sum()),
            "honest_risk_above0": int((~rereg & (risk > 0)).sum()),
            "ap": average_precision(risk, rereg),
            "upper_bound": average_precision(-np.arange(len(order), dtype=float),
                                             rereg[order]),
            "ceiling": ceiling,
            "calibrated": calibrated(folder, truth, since, shops)}


def calibrated(folder: Path, truth: pd.DataFrame, since: str, shops: set[str]) -> float:
    """AP on ``shops`` of an analysis whose pairs are scored with the true match rate of
    their comparison pattern (levels, context, log2 bins of the agreeing values' users)."""
    operator = truth.set_index("shop_id")["operator_id"]

    def truly_scored(model, vectors, n=None):
        out = score_vectors(model, vectors, n)
        a = operator.reindex(out["shop_a"]).to_numpy()
        same = ((a == operator.reindex(out["shop_b"]).to_numpy()) & (a != "")).astype(float)
        key = [out["context"].to_numpy()]
        for name in NAMES:
            level = out[f"level_{name}"].to_numpy()
            users = np.maximum(out[f"users_{name}"].to_numpy(dtype=float), 1)
            agree = level < len(COMPARISONS[name][1])
            key += [level, np.where(agree, np.floor(np.log2(users)), -1)]
        codes = pd.factorize(pd.MultiIndex.from_arrays(key))[0]
        rate = np.bincount(codes, weights=same) / np.bincount(codes)
        p = np.clip(rate[codes], 1e-9, 1 - 1e-9)
        return out.assign(p=p, weight=np.log2(p / (1 - p)))

    # the pairs, and a shop's combined pairs with whole operators (linkage.resolve)
    with mock.patch.object(analyse_stage, "score_vectors", truly_scored), \
            mock.patch.object(resolve_stage, "score_vectors", truly_scored):
        analysis = gl.analyse(folder)
    return figures(analysis.signups(since), truth, shops)["ap"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--budget", type=int, default=25)
    parser.add_argument("--json", type=Path, help="Write every figure to this file.")
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            start = time.perf_counter()
            folder, truth, since = world(Path(tmp), args.shops, seed)
            state = Path(tmp) / f"state-{seed}"
            rows = simulate(folder, truth, since, state, args.days, args.budget)
            name = f"gen{args.shops}-s{seed}-mix"
            found = diagnose(folder, truth, since, state)
            results[name] = {"days": rows, "diagnosis": found}
            print(f"\n{name}: since {since}, {time.perf_counter() - start:.0f} s")
            print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.3f}"))
            print("last day, unreviewed comebacks: " + ", ".join(
                f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in found.items()))
    print("\nAP on unreviewed open sign-ups, last day minus no review:")
    for name, result in results.items():
        last, found = result["days"][-1], result["diagnosis"]
        print(f"  {name}: {last['ap'] - last['ap_no_review']:+.4f} "
              f"(no review {last['ap_no_review']:.4f}; learner given all the truth "
              f"{found['ceiling'] - last['ap_no_review']:+.4f}; the model's features "
              f"calibrated on the truth {found['calibrated'] - last['ap_no_review']:+.4f}; "
              f"perfect pair scores {found['upper_bound'] - last['ap_no_review']:+.4f})")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=_plain) + "\n")


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else str(value)


if __name__ == "__main__":
    main()
