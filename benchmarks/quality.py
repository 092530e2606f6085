"""Quality yardstick: graphlink, Splink and an exact baseline side by side, on several worlds.

    python benchmarks/quality.py                          # 3 mixed 3,000-shop worlds + FEBRL 1-3
    python benchmarks/quality.py --shops 3000 --seeds 1 --febrl 1
    python benchmarks/quality.py --shops 3000 30000 --seeds 1 2 3 --json figures.json
    python benchmarks/quality.py --no-peers --febrl       # graphlink alone, generated worlds only

Worlds: generated marketplaces (``graphlink.synth.generate.generate_world``, with
``mix="random"`` by default: a random mutation mix per seed) and FEBRL 1-3 as a
sign-up task (benchmarks/febrl.py). Methods: graphlink (``gl.analyse``), Splink
(benchmarks/peers.py, set up as a competent user would) and the exact-identifier
union-find baseline. For each world it prints one table (rows = figures,
columns = methods), then a summary: per figure and method, the worst world and
the mean, worst case first. benchmarks/README.md explains every figure.

Sign-ups are scored on the open sign-ups: active shops created on or after
``--since`` (auto: the median creation date of the world's re-registrations,
so half of them are scored; FEBRL: the start of its sign-up window).
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import febrl as febrl_mod  # noqa: E402
import harden as harden_mod  # noqa: E402
import peers  # noqa: E402
from peers import PeerResult, bcubed_f1  # noqa: E402

from graphlink.synth.evaluate import (  # noqa: E402
    average_precision,
    false_merges,
    group_match,
    pairwise_f1,
    precision_at,
)
from graphlink.synth.generate import generate_world  # noqa: E402

METHODS = ("graphlink", "splink", "exact")
DETECTED = ("high", "medium")
NOT_TRAPS = ("honest", "counterfeit_banned", "reregistration", "dealer")
TIER_ORDER = ("exact", "fuzzy", "single", "none", "indirect")
# figures where less is better (the rest: more is better); context figures are not ranked
LOWER_IS_BETTER = {"trap_flagged", "honest_flagged", "trap_groups_merged", "seconds",
                   "trap_leads", "factory_seconds"}
CONTEXT = {"signups", "comebacks", "traps", "compared_pairs", "factory_leads", "factories_true"}
FACTORY_FIGURES = ("factories_true", "factory_leads", "factory_precision", "factory_recall",
                   "factory_jaccard", "trap_leads", "community_f1", "spotcheck_precision",
                   "factory_seconds")


# --------------------------------------------------------------------------------------
# worlds


@dataclass
class World:
    name: str
    kind: str  # "generated" or "febrl"
    folder: Path
    truth: Path
    since: str


def make_generated(root: Path, shops: int, seed: int, mix: str | None) -> World:
    out = root / f"world-{shops}-{seed}"
    kwargs = {}
    if mix and "mix" in inspect.signature(generate_world).parameters:
        kwargs["mix"] = mix
    summary = generate_world(out, shops=shops, seed=seed, **kwargs)
    truth = pd.read_csv(Path(summary.truth) / "shops.csv", dtype=str, keep_default_na=False)
    label = f"gen{shops // 1000}k-s{seed}" + ("-mix" if kwargs else "")
    return World(label, "generated", out, Path(summary.truth), _auto_since(out, truth))


def make_hardened(world: World, seed: int) -> World:
    """The world rewritten as real exports differ (benchmarks/harden.py); same truth."""
    out = harden_mod.harden(world.folder, world.folder.with_name(world.folder.name + "-hard"),
                            seed)
    return World(world.name + "-hard", "generated", out, out.with_name(out.name + ".truth"),
                  world.since)


def make_febrl(root: Path, number: int) -> World:
    made = febrl_mod.write_febrl(number, root / f"febrl-{number}")
    return World(f"febrl{number}", "febrl", made.out, made.truth, made.since)


def _auto_since(folder: Path, truth: pd.DataFrame) -> str:
    shops = pd.read_csv(folder / "shops.csv", dtype=str).set_index("shop_id")
    rereg = truth.loc[truth["role"] == "reregistration", "shop_id"]
    created = pd.to_datetime(shops.loc[rereg, "created_at"], format="ISO8601")
    return str(created.median().date())


# --------------------------------------------------------------------------------------
# methods: each returns a PeerResult (signups, operators, compared pairs, seconds)


def run_graphlink(world: World) -> PeerResult:
    import graphlink as gl

    start = time.perf_counter()
    analysis = gl.analyse(world.folder)
    signups = analysis.signups(world.since)
    clusters = analysis.clusters()
    seconds = time.perf_counter() - start
    pairs = analysis.resolution.pairs
    compared = set(zip(pairs["shop_a"], pairs["shop_b"], strict=True))
    compared |= {(b, a) for a, b in compared}
    detail = {"comparisons": getattr(analysis.links, "comparisons", float("nan"))}
    if world.kind == "generated":  # factories: graphlink only, generated worlds only
        detail.update(factory_figures(analysis, world.truth))
    return PeerResult(signups[["shop_id", "risk", "flag", "matches"]],
                      clusters.set_index("shop_id")["operator_id"], compared, seconds, detail)


def run_method(method: str, world: World, args) -> PeerResult:
    if method == "graphlink":
        return run_graphlink(world)
    if method == "splink":
        return peers.run_splink(world.folder, world.since, seed=args.splink_seed,
                                max_pairs=args.max_pairs)
    if method == "exact":
        return peers.run_exact(world.folder, world.since)
    raise ValueError(method)


# --------------------------------------------------------------------------------------
# figures


def _rate(mask: np.ndarray, within: np.ndarray) -> float:
    return float(mask[within].mean()) if within.any() else float("nan")


def signup_figures(signups: pd.DataFrame, truth: pd.DataFrame, open_ids: set) -> dict:
    """AP, flag precision/recall/F1, recall per tier, traps and honest shops flagged,
    first match right, top-1 parent, on the open sign-ups."""
    signups = signups[signups["shop_id"].isin(open_ids)].reset_index(drop=True)
    t = truth.set_index("shop_id").loc[signups["shop_id"]]
    rereg = (t["role"] == "reregistration").to_numpy()
    detected = signups["flag"].isin(DETECTED).to_numpy()
    traps = (~t["role"].isin(NOT_TRAPS)).to_numpy()
    honest = (t["role"] == "honest").to_numpy()
    out = {"signups": len(signups), "comebacks": int(rereg.sum()), "traps": int(traps.sum()),
           "ap": average_precision(signups["risk"].to_numpy(dtype=float), rereg)}
    precision = float(rereg[detected].mean()) if detected.any() else float("nan")
    recall = _rate(detected, rereg)
    out["flag_precision"] = precision
    out["flag_recall"] = recall
    out["flag_f1"] = (2 * precision * recall / (precision + recall)
                      if precision + recall > 0 else 0.0)
    tiers = t["tier"].to_numpy()
    present = set(tiers[rereg])
    for tier in [*TIER_ORDER, *sorted(present - set(TIER_ORDER))]:
        if tier in present:
            out[f"recall_{tier}"] = _rate(detected, rereg & (tiers == tier))
    out["trap_flagged"] = _rate(detected, traps)
    out["honest_flagged"] = _rate(detected, honest)
    operator = truth.set_index("shop_id")["operator_id"]
    first_ok, top1 = [], []
    for matches, parents, op, is_rereg, hit in zip(
            signups["matches"], t["parent_shop_ids"], t["operator_id"], rereg, detected,
            strict=True):
        if not is_rereg:
            continue
        ids = [m["banned_shop_id"] for m in (matches if isinstance(matches, list) else [])]
        top1.append(bool(ids) and ids[0] in set(parents.split(";")))
        if hit:
            first_ok.append(bool(ids) and operator.get(ids[0]) == op)
    out["first_match_right"] = float(np.mean(first_ok)) if first_ok else float("nan")
    out["top1_parent"] = float(np.mean(top1)) if top1 else float("nan")
    return out


def true_pairs(truth: pd.DataFrame, open_ids: set) -> list[tuple[str, str]]:
    """(comeback, banned parent) of every re-registration among the open sign-ups."""
    rereg = truth[(truth["role"] == "reregistration") & truth["shop_id"].isin(open_ids)]
    return [(s, p) for s, parents in zip(rereg["shop_id"], rereg["parent_shop_ids"],
                                         strict=True)
            for p in parents.split(";") if p]


def operator_figures(operators: pd.Series, truth: pd.DataFrame) -> dict:
    predicted = operators.reindex(truth["shop_id"].to_numpy())
    # a shop a method left out is its own operator
    predicted = predicted.where(predicted.notna(), "self:" + truth["shop_id"].to_numpy())
    pw = pairwise_f1(predicted.to_numpy(), truth["operator_id"].to_numpy())
    b3 = bcubed_f1(predicted.to_numpy(), truth["operator_id"].to_numpy())
    out = {"op_precision": pw["precision"], "op_recall": pw["recall"], "op_f1": pw["f1"],
           "bcubed_f1": b3["f1"]}
    groups = truth["trap_group"].where(truth["trap_group"].astype(bool))
    if groups.notna().any():
        merged = false_merges(groups.reset_index(drop=True),
                              predicted.reset_index(drop=True),
                              truth["operator_id"].reset_index(drop=True))
        out["trap_groups_merged"] = float((merged["false_pairs"] > 0).mean())
    return out


SUSPECTS = ("dealer", "reregistration")  # active counterfeit shops a test buy should find
TRAP_SITES = ("park", "warehouse")  # honest co-location: never a factory lead
SPOTCHECK_BUDGET = 100


def factory_figures(analysis, truth_dir: Path) -> dict:
    """Factory leads against the true factories (precision and recall at Jaccard 0.5, mean
    best Jaccard), leads that are mostly honest park or warehouse tenants, community
    pairwise F1, and spot-check precision@budget among unproven shops."""
    true = pd.read_csv(truth_dir / "factories.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(truth_dir / "shops.csv", dtype=str, keep_default_na=False)
    analysis.__dict__.pop("factory_leads", None)  # timed from the analysis, not its cache
    start = time.perf_counter()
    leads = analysis.factories()
    out = {"factory_seconds": round(time.perf_counter() - start, 2)}
    found = [set(s) for s in leads["shops"]]
    if not true.empty:
        match = group_match([set(s.split(";")) for s in true["shop_ids"]], found)
        out.update({"factory_precision": match["precision"], "factory_recall": match["recall"],
                    "factory_jaccard": match["jaccard"], "factory_leads": match["predicted"],
                    "factories_true": match["true"]})
    role = truth.set_index("shop_id")["role"]
    out["trap_leads"] = int(sum(role.reindex(list(s)).isin(TRAP_SITES).mean() > 0.5
                                for s in found))
    shops = analysis.clusters().set_index("shop_id").reindex(truth["shop_id"])
    out["community_f1"] = pairwise_f1(shops["community_id"].to_numpy(),
                                      truth["community_id"].to_numpy())["f1"]
    suspects = set(truth.loc[truth["role"].isin(SUSPECTS), "shop_id"])
    out["spotcheck_precision"] = precision_at(testbuy_list(analysis, SPOTCHECK_BUDGET),
                                              suspects, SPOTCHECK_BUDGET)
    return out


def testbuy_list(analysis, budget: int) -> list[str]:
    """The shops the spot-check report would test-buy, unproven ones only (active, no fake
    test buy on file): its test-buy section, or (before there was one) its list filtered."""
    if hasattr(analysis, "spotcheck_sections"):
        return [r["shop_id"] for r in analysis.spotcheck_sections(budget)["test_buy"]]
    buys = analysis.dataset.test_buys
    proven = set(buys.loc[buys["verdict"] == "fake", "shop_id"])
    ranked = analysis.spotcheck_records(len(analysis.dataset.shops))
    return [r["shop_id"] for r in ranked if r["shop_id"] not in proven][:budget]


def score_world(world: World, methods: list[str], args,
                log: Callable[[str], None] = print) -> dict:
    truth = pd.read_csv(world.truth / "shops.csv", dtype=str, keep_default_na=False)
    shops = pd.read_csv(world.folder / "shops.csv", dtype=str, keep_default_na=False)
    created = pd.to_datetime(shops["created_at"], format="ISO8601")
    open_ids = set(shops.loc[(shops["status"] == "active")
                             & (created >= pd.Timestamp(world.since)), "shop_id"])
    wanted = true_pairs(truth, open_ids)
    figures, errors = {}, {}
    for method in methods:
        log(f"  {world.name}: {method} ...")
        try:
            result = run_method(method, world, args)
        except Exception as err:  # noqa: BLE001 - one method failing must not sink the run
            errors[method] = f"{type(err).__name__}: {err}"
            log(f"  {world.name}: {method} FAILED: {errors[method]}")
            if args.verbose:
                traceback.print_exc()
            figures[method] = {}
            continue
        f = signup_figures(result.signups, truth, open_ids)
        f["blocking_recall"] = (float(np.mean([p in result.compared for p in wanted]))
                                if wanted else float("nan"))
        f["compared_pairs"] = len(wanted)
        if result.operators is not None:
            f.update(operator_figures(result.operators, truth))
        f.update({k: v for k, v in result.detail.items() if k in FACTORY_FIGURES})
        f["seconds"] = round(result.seconds, 1)
        figures[method] = f
        log(f"  {world.name}: {method} done in {result.seconds:.1f} s")
    return {"world": world.name, "kind": world.kind, "since": world.since,
            "figures": figures, "errors": errors}


# --------------------------------------------------------------------------------------
# tables


def _order(names: list[str]) -> list[str]:
    first = ["signups", "comebacks", "traps", "ap", "flag_precision", "flag_recall", "flag_f1"]
    tiers = [n for n in names if n.startswith("recall_")]
    tiers.sort(key=lambda n: (TIER_ORDER.index(n[7:]) if n[7:] in TIER_ORDER else 99, n))
    rest = ["trap_flagged", "honest_flagged", "first_match_right", "top1_parent",
            "blocking_recall", "compared_pairs", "op_precision", "op_recall", "op_f1",
            "bcubed_f1", "trap_groups_merged", *FACTORY_FIGURES, "seconds"]
    known = first + tiers + rest
    return [n for n in known if n in names] + sorted(set(names) - set(known))


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, float) and value.is_integer() and abs(value) >= 10:
        return str(int(value))
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def world_table(result: dict, methods: list[str]) -> pd.DataFrame:
    names = sorted({k for m in methods for k in result["figures"].get(m, {})})
    rows = {n: [result["figures"].get(m, {}).get(n) for m in methods] for n in _order(names)}
    return pd.DataFrame.from_dict(rows, orient="index", columns=methods)


def summary(results: list[dict], methods: list[str]) -> pd.DataFrame:
    """Per figure and method: the worst world's value (and which world), then the mean."""
    names = sorted({k for r in results for m in methods for k in r["figures"].get(m, {})}
                   - CONTEXT)
    rows = []
    for name in _order(names):
        row = {"figure": name}
        for method in methods:
            values = [(r["figures"].get(method, {}).get(name), r["world"]) for r in results]
            values = [(v, w) for v, w in values
                      if v is not None and not (isinstance(v, float) and math.isnan(v))]
            if not values:
                row[f"{method} worst"], row[f"{method} mean"] = None, None
                continue
            pick = max if name in LOWER_IS_BETTER else min
            worst = pick(values, key=lambda vw: vw[0])
            row[f"{method} worst"] = f"{_fmt(float(worst[0]))} {worst[1]}"
            row[f"{method} mean"] = float(np.mean([v for v, _ in values]))
        rows.append(row)
    return pd.DataFrame(rows).set_index("figure")


def _print(frame: pd.DataFrame) -> None:
    shown = frame.astype(object).copy()
    for name in shown.index:
        shown.loc[name] = [str(int(v)) if name in CONTEXT and isinstance(v, (int, float))
                           and not math.isnan(v) else _fmt(v) for v in shown.loc[name]]
    with pd.option_context("display.max_columns", None, "display.width", 250,
                           "display.max_colwidth", 40):
        print(shown.to_string())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, nargs="*", default=[3000],
                        help="sizes of generated worlds (none: FEBRL only)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--mix", default="random",
                        help="mutation mix of generated worlds: random (one per seed) or "
                        "none (the default world)")
    parser.add_argument("--febrl", type=int, nargs="*", default=[1, 2, 3],
                        choices=febrl_mod.DATASETS, help="FEBRL datasets (none: skip)")
    parser.add_argument("--peers", nargs="+", default=["splink", "exact"],
                        choices=["splink", "exact"])
    parser.add_argument("--no-peers", action="store_true", help="graphlink alone")
    parser.add_argument("--since", default="auto",
                        help="sign-up date for generated worlds (auto: the median creation "
                        "date of the world's re-registrations)")
    parser.add_argument("--max-pairs", type=float, default=5e6,
                        help="Splink's estimate_u_using_random_sampling max_pairs")
    parser.add_argument("--splink-seed", type=int, default=0)
    parser.add_argument("--harden", action="store_true",
                        help="also run each generated world hardened (benchmarks/harden.py: "
                        "addresses written variously or as coordinates only, counterfeit "
                        "tenants in parks and warehouses)")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--keep", type=Path, help="write the worlds here (default: a temp dir)")
    parser.add_argument("--verbose", action="store_true", help="tracebacks of failures")
    args = parser.parse_args()
    methods = ["graphlink"] + ([] if args.no_peers else list(dict.fromkeys(args.peers)))
    mix = None if args.mix in ("none", "None", "") else args.mix
    if mix and "mix" not in inspect.signature(generate_world).parameters:
        print("note: generate_world has no mix keyword yet; default worlds", file=sys.stderr)

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    start = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        makers = []
        for n in args.shops:
            for s in args.seeds:
                made: dict = {}
                makers.append(lambda n=n, s=s, made=made: made.setdefault(
                    "world", make_generated(root, n, s, mix)))
                if args.harden:
                    makers.append(lambda s=s, made=made: make_hardened(made["world"], s))
        makers += [(lambda k=k: make_febrl(root, k)) for k in args.febrl]
        for make in makers:
            world = make()
            if args.since != "auto" and world.kind == "generated":
                world.since = args.since
            log(f"{world.name}: since {world.since}")
            result = score_world(world, methods, args, log)
            results.append(result)
            print(f"\n== {world.name} ({world.kind}, sign-ups since {world.since})")
            _print(world_table(result, methods))
            for method, error in result["errors"].items():
                print(f"   {method} failed: {error}")
    total = time.perf_counter() - start
    print(f"\n== summary over {len(results)} worlds: worst world, then mean "
          f"(trap/honest flagged, merged and seconds: higher is worse)")
    table = summary(results, methods)
    _print(table)
    print(f"\ntotal {total:.0f} s")
    if args.json:
        payload = {"methods": methods, "worlds": results,
                   "summary": json.loads(table.to_json(orient="index")),
                   "args": {k: (str(v) if isinstance(v, Path) else v)
                            for k, v in vars(args).items()},
                   "seconds": round(total, 1)}
        args.json.write_text(json.dumps(payload, indent=1, default=_json_default),
                             encoding="utf-8")


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return str(value)


if __name__ == "__main__":
    main()
