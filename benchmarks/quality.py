"""Quality yardstick: generate worlds, run graphlink, score it against ground truth.

    python benchmarks/quality.py                 # 3,000 and 30,000 shops, seed 1
    python benchmarks/quality.py --shops 3000 --seeds 1 2 3

Prints one table: operator pairwise precision/recall/F1, false merges inside
trap groups (parks, warehouses, NAT IPs, common names, families), comparisons
made by the linkage and how fast they grow against the number of records,
and the same figures for a plain exact-identifier union-find baseline. Where
later stages exist (sign-up risk, factories) their figures are added.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

import graphlink as gl
from graphlink.evaluate import average_precision, best_jaccard, false_merges, pairwise_f1
from graphlink.generate import generate_world
from graphlink.link import comparison_growth

BASELINE_KINDS = ("device", "payment", "phone", "email", "id_number")
TRAP_ROLES = ("park", "warehouse", "nat", "common_name", "family")
DETECTED = ("high", "medium")


def baseline_operators(analysis: gl.Analysis) -> pd.Series:
    """Exact-identifier union-find: shops sharing any exact strong identifier."""
    uses = analysis.identifiers.uses
    uses = uses[uses["kind"].isin(BASELINE_KINDS)]
    graph = nx.Graph()
    graph.add_nodes_from(analysis.dataset.shops["shop_id"])
    for _, group in uses.groupby(["kind", "value"]):
        shops = group["shop_id"].tolist()
        graph.add_edges_from(zip(shops, shops[1:], strict=False))
    owner = {s: min(c) for c in nx.connected_components(graph) for s in c}
    return analysis.dataset.shops["shop_id"].map(owner)


def baseline_signups(analysis: gl.Analysis, since: str) -> pd.DataFrame:
    """Exact-identifier baseline: risk 1 when a new shop shares an exact strong
    identifier with a banned shop, else 0; matches are those banned shops."""
    shops = analysis.dataset.shops
    banned = set(shops.loc[shops["status"] == "banned", "shop_id"])
    uses = analysis.identifiers.uses
    uses = uses[uses["kind"].isin(BASELINE_KINDS)][["shop_id", "kind", "value"]]
    pairs = uses.merge(uses, on=["kind", "value"], suffixes=("", "_b"))
    pairs = pairs[pairs["shop_id_b"].isin(banned) & (pairs["shop_id"] != pairs["shop_id_b"])]
    hits = pairs.groupby("shop_id")["shop_id_b"].apply(lambda s: sorted(set(s)))
    new = shops[shops["created_at"] >= pd.Timestamp(since)]["shop_id"]
    matches = [hits.get(s, []) for s in new]
    return pd.DataFrame({"shop_id": new.to_numpy(), "risk": [1.0 if m else 0.0 for m in matches],
                         "flag": ["high" if m else "none" for m in matches],
                         "matches": [[{"banned_shop_id": b} for b in m] for m in matches]})


def signup_figures(signups: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """AP, recall per tier, trap false-positive rate, first-match accuracy, MRR."""
    t = truth.set_index("shop_id").loc[signups["shop_id"]]
    rereg = (t["role"] == "reregistration").to_numpy()
    detected = signups["flag"].isin(DETECTED).to_numpy()
    out = {"signups": len(signups), "rereg": int(rereg.sum()),
           "ap": average_precision(signups["risk"].to_numpy(), rereg)}
    for tier in ("exact", "fuzzy", "indirect"):
        mask = rereg & (t["tier"] == tier).to_numpy()
        out[f"recall_{tier}"] = float(detected[mask].mean()) if mask.any() else float("nan")
    traps = t["role"].isin(TRAP_ROLES).to_numpy()
    out["trap_fp_rate"] = float(detected[traps].mean()) if traps.any() else float("nan")
    honest = (t["role"] == "honest").to_numpy()
    out["honest_fp_rate"] = float(detected[honest].mean()) if honest.any() else float("nan")
    operator = truth.set_index("shop_id")["operator_id"]
    first_ok, rr = [], []
    for matches, parents, op, hit in zip(signups["matches"], t["parent_shop_ids"],
                                         t["operator_id"], rereg & detected, strict=True):
        if not hit:
            continue
        ids = [m["banned_shop_id"] for m in matches]
        first_ok.append(bool(ids) and operator.get(ids[0]) == op)
        parent_set = set(parents.split(";"))
        rank = next((i for i, b in enumerate(ids, 1) if b in parent_set), None)
        rr.append(1 / rank if rank else 0.0)
    out["first_match_right"] = float(np.mean(first_ok)) if first_ok else float("nan")
    out["mrr_parent"] = float(np.mean(rr)) if rr else float("nan")
    return out


def _trap_figures(truth: pd.DataFrame, predicted: pd.Series) -> dict:
    traps = truth["trap_group"].where(truth["trap_group"].astype(bool))
    merged = false_merges(traps, predicted, truth["operator_id"])
    kinds = merged["group"].str.split("-").str[0]
    out = {"trap_groups": len(merged),
           "trap_groups_merged": int((merged["false_pairs"] > 0).sum())}
    for kind, part in merged.groupby(kinds):
        out[f"merged_{kind}"] = f"{int((part['false_pairs'] > 0).sum())}/{len(part)}"
    return out


def _auto_since(folder: Path, truth: pd.DataFrame) -> str:
    shops = pd.read_csv(folder / "shops.csv", dtype=str).set_index("shop_id")
    rereg = truth.loc[truth["role"] == "reregistration", "shop_id"]
    created = pd.to_datetime(shops.loc[rereg, "created_at"], format="ISO8601")
    return str(created.median().date())


def score_world(folder: Path, truth_dir: Path, since: str) -> dict:
    truth = pd.read_csv(truth_dir / "shops.csv", dtype=str, keep_default_na=False)
    since = _auto_since(folder, truth) if since == "auto" else since
    start = time.perf_counter()
    analysis = gl.analyse(folder)
    seconds = time.perf_counter() - start
    clusters = analysis.clusters().set_index("shop_id").loc[truth["shop_id"]]
    f1 = pairwise_f1(clusters["operator_id"], truth["operator_id"])
    base = baseline_operators(analysis).set_axis(analysis.dataset.shops["shop_id"])
    base_f1 = pairwise_f1(base.loc[truth["shop_id"]], truth["operator_id"])
    records = sum(len(t) for t in analysis.dataset.tables.values())
    figures = {
        "shops": len(truth), "records": records, "seconds": round(seconds, 1), "since": since,
        "op_precision": f1["precision"], "op_recall": f1["recall"], "op_f1": f1["f1"],
        "base_precision": base_f1["precision"], "base_recall": base_f1["recall"],
        "base_f1": base_f1["f1"],
        "comparisons": analysis.links.comparisons,
        **_trap_figures(truth, clusters["operator_id"].reset_index(drop=True)),
    }
    base_traps = _trap_figures(truth, base.loc[truth["shop_id"]].reset_index(drop=True))
    figures["base_trap_groups_merged"] = base_traps["trap_groups_merged"]
    # shops already banned are not leads to triage: they are scored but not counted
    shops = analysis.dataset.shops
    active = set(shops.loc[shops["status"] != "banned", "shop_id"])
    signups = analysis.signups(since)
    figures.update(signup_figures(signups[signups["shop_id"].isin(active)], truth))
    base = baseline_signups(analysis, since)
    base_signups = signup_figures(base[base["shop_id"].isin(active)], truth)
    figures.update({f"base_{k}": v for k, v in base_signups.items()
                    if k not in ("signups", "rereg")})
    figures.update(factory_figures(analysis, truth_dir))
    return figures


def factory_figures(analysis: gl.Analysis, truth_dir: Path) -> dict:
    """Mean best-Jaccard of true factories (recall side) and of reported ones (precision side)."""
    true = pd.read_csv(truth_dir / "factories.csv", dtype=str, keep_default_na=False)
    true_groups = [set(s.split(";")) for s in true["shop_ids"]]
    found = [set(s) for s in analysis.factories()["shops"]]
    return {"factories_true": len(true_groups), "factories_found": len(found),
            "factory_jaccard": best_jaccard(true_groups, found),
            "factory_jaccard_reported": best_jaccard(found, true_groups)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, nargs="+", default=[3000, 30000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--since", default="auto",
                        help="sign-up report date (auto: the median creation date of the "
                        "world's re-registrations, so half of them are scored)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.shops:
            for seed in args.seeds:
                out = Path(tmp) / f"world-{n}-{seed}"
                summary = generate_world(out, shops=n, seed=seed)
                rows.append({"seed": seed, **score_world(out, Path(summary.truth), args.since)})
    table = pd.DataFrame(rows)
    with pd.option_context("display.max_columns", None, "display.width", 200,
                           "display.float_format", "{:.3f}".format):
        print(table.T.to_string())
    if len(table["shops"].unique()) >= 2:
        small, large = table.iloc[0], table.iloc[-1]
        growth = comparison_growth(small["records"], small["comparisons"],
                                   large["records"], large["comparisons"])
        print(f"\ncomparisons grew {growth:.2f}x as fast as records "
              "(1.0 = linear; target <= 1.3)")


if __name__ == "__main__":
    main()
