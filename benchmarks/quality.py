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
import pandas as pd

import graphlink as gl
from graphlink.evaluate import false_merges, pairwise_f1
from graphlink.generate import generate_world
from graphlink.link import comparison_growth

BASELINE_KINDS = ("device", "payment", "phone", "email", "id_number")


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


def _trap_figures(truth: pd.DataFrame, predicted: pd.Series) -> dict:
    traps = truth["trap_group"].where(truth["trap_group"].astype(bool))
    merged = false_merges(traps, predicted, truth["operator_id"])
    kinds = merged["group"].str.split("-").str[0]
    out = {"trap_groups": len(merged),
           "trap_groups_merged": int((merged["false_pairs"] > 0).sum())}
    for kind, part in merged.groupby(kinds):
        out[f"merged_{kind}"] = f"{int((part['false_pairs'] > 0).sum())}/{len(part)}"
    return out


def score_world(folder: Path, truth_dir: Path) -> dict:
    truth = pd.read_csv(truth_dir / "shops.csv", dtype=str, keep_default_na=False)
    start = time.perf_counter()
    analysis = gl.analyse(folder)
    seconds = time.perf_counter() - start
    clusters = analysis.clusters().set_index("shop_id").loc[truth["shop_id"]]
    f1 = pairwise_f1(clusters["operator_id"], truth["operator_id"])
    base = baseline_operators(analysis).set_axis(analysis.dataset.shops["shop_id"])
    base_f1 = pairwise_f1(base.loc[truth["shop_id"]], truth["operator_id"])
    records = sum(len(t) for t in analysis.dataset.tables.values())
    figures = {
        "shops": len(truth), "records": records, "seconds": round(seconds, 1),
        "op_precision": f1["precision"], "op_recall": f1["recall"], "op_f1": f1["f1"],
        "base_precision": base_f1["precision"], "base_recall": base_f1["recall"],
        "base_f1": base_f1["f1"],
        "comparisons": analysis.links.comparisons,
        **_trap_figures(truth, clusters["operator_id"].reset_index(drop=True)),
    }
    base_traps = _trap_figures(truth, base.loc[truth["shop_id"]].reset_index(drop=True))
    figures["base_trap_groups_merged"] = base_traps["trap_groups_merged"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, nargs="+", default=[3000, 30000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.shops:
            for seed in args.seeds:
                out = Path(tmp) / f"world-{n}-{seed}"
                summary = generate_world(out, shops=n, seed=seed)
                rows.append({"seed": seed, **score_world(out, Path(summary.truth))})
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
