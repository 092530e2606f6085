"""Incremental sign-up scoring: a day's new shops against an analysed world.

    python benchmarks/incremental.py                          # 1,000 new shops, 100,000-shop world
    python benchmarks/incremental.py --shops 1000000 --new 1000
    python benchmarks/incremental.py --shops 10000 --new 500 --check
    python benchmarks/incremental.py --shops 3000 --new 300 --mix random --seed 2 --check

The world (seed 1, cached by benchmarks/scale.py under ``benchmarks/.worlds/``;
``--mix random --seed N``: the mixed world of benchmarks/quality.py, cached beside it)
is split into ``base`` (every shop but the ``--new`` newest, with all their
rows) and ``delta`` (those shops and their rows). The state of ``base`` is
built once with ``graphlink report changes BASE --state STATE`` (timed when
built, cached beside the world). Then, each as a subprocess timed with its own
rusage:

- ``graphlink report signups DELTA --state STATE``: the new shops scored
  against the saved state (the figure of issue 7: <= 30 s at 1,000 new shops
  against 1,000,000);
- ``graphlink report signups BASE --state STATE``: the world's own sign-ups
  from the fresh state (no analysis).

``--check`` also analyses base + delta in full *with the state's match model*
(the incremental path scores with it, so a full run that learned its own
model would differ for that reason alone) and reports how many new shops get
the same flag and the same first match both ways, then lists every shop that
differs: its flag, risk and first match each way, and which of the reasons of
docs/operations.md fits (a world pair re-weighed, an operator bridged, a hub
re-judged, ...). ``--check`` exits 1 when agreement is below 99.5%. Figures
only; nothing is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scale  # noqa: E402  (the world cache of benchmarks/scale.py)


def world_folder(shops: int, mix: str, seed: int) -> Path:
    """The cached world: benchmarks/scale.py's for the standard mix and seed, else
    one of ``mix`` and ``seed`` generated beside it."""
    if mix == "standard" and seed == scale.SEED:
        return scale.world(shops)
    folder = scale.WORLDS / f"world-{shops}-{mix}{seed}"
    if not (folder / "shops.csv").exists():
        from graphlink.synth.generate import generate_world

        generate_world(folder, shops=shops, seed=seed, mix=None if mix == "standard" else mix)
    return folder


def split(folder: Path, new: int, out: Path) -> tuple[Path, Path]:
    """``out/base`` and ``out/delta``: the world without / with only its newest shops."""
    import pandas as pd

    base, delta = out / "base", out / "delta"
    if (delta / "shops.csv").exists():
        return base, delta
    shops = pd.read_csv(folder / "shops.csv", dtype=str, keep_default_na=False)
    newest = set(shops.sort_values(["created_at", "shop_id"]).tail(new)["shop_id"])
    accounts = pd.read_csv(folder / "accounts.csv", dtype=str, keep_default_na=False)
    new_accounts = set(accounts.loc[accounts["shop_id"].isin(newest), "account_id"])
    base.mkdir(parents=True, exist_ok=True)
    delta.mkdir(parents=True, exist_ok=True)
    for path in sorted(folder.glob("*.csv")):
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        mine = (table["shop_id"].isin(newest) if "shop_id" in table
                else table["account_id"].isin(new_accounts))
        table[~mine].to_csv(base / path.name, index=False)
        table[mine].to_csv(delta / path.name, index=False)
    return base, delta


def timed(args: list[str], output: Path | None = None) -> dict:
    """Run ``graphlink ARGS`` as a subprocess: wall seconds and its peak memory."""
    cmd = [sys.executable, "-m", "graphlink.cli", *args, "--quiet",
           "--output", str(output) if output else os.devnull]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=scale.ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return {"seconds": time.perf_counter() - start, "peak_mb": usage.ru_maxrss / 1024}


def agreement(base: Path, delta: Path, whole: Path, since: str, incremental: Path,
              state: Path) -> tuple[int, int, list[dict]]:
    """New shops with the same flag and first match as a full analysis of base + delta
    that uses the state's model: (same, total, one row per shop that differs)."""
    import pandas as pd

    import graphlink as gl
    from graphlink.state.store import State

    if not (whole / "shops.csv").exists():
        whole.mkdir(parents=True, exist_ok=True)
        for path in sorted(base.glob("*.csv")):
            parts = [pd.read_csv(f / path.name, dtype=str, keep_default_na=False)
                     for f in (base, delta)]
            pd.concat(parts).to_csv(whole / path.name, index=False)
    new = set(pd.read_csv(delta / "shops.csv", dtype=str)["shop_id"])
    analysis = gl.analyse(whole, model=State.open(state).model())
    full = {r["shop_id"]: r for r in analysis.signup_records(since) if r["shop_id"] in new}
    inc = {r["shop_id"]: r for r in json.loads(incremental.read_text())["signups"]}
    differ = [_difference(s, full[s], inc.get(s), analysis) for s in sorted(full)
              if _best(full[s]) != _best(inc.get(s))]
    return len(full) - len(differ), len(full), differ


def _best(r: dict | None) -> tuple:
    if r is None:
        return ("missing", None)
    return r["flag"], r["matches"][0]["banned_shop_id"] if r["matches"] else None


def _difference(shop: str, full: dict, inc: dict | None, analysis) -> dict:
    """One shop's two answers side by side, and the likeliest reason."""
    return {"shop_id": shop,
            "full": f"{full['flag']} {full['risk']:.3f} {_best(full)[1] or '-'}",
            "incremental": "missing" if inc is None else
            f"{inc['flag']} {inc['risk']:.3f} {_best(inc)[1] or '-'}",
            "reason": _reason(shop, full, inc, analysis)}


def _reason(shop: str, full: dict, inc: dict | None, analysis) -> str:
    """Which difference between the two paths (docs/operations.md) fits this shop."""
    if inc is None:
        return "not scored incrementally"
    if inc.get("bridges"):
        return "bridges world operators (merged in full, not incrementally)"
    target = _best(inc)[1] or _best(full)[1]
    if _hops(full, target) > 1 or _hops(inc, target) > 1:
        return (f"indirect match with {target}: paths through world pairs the full run "
                "re-weighed or compared against whole operators")
    mine = analysis.resolution.pairs
    mine = mine[(mine["shop_a"] == shop) | (mine["shop_b"] == shop)]
    direct = mine[(mine["shop_a"] == target) | (mine["shop_b"] == target)]
    if not len(direct):
        return f"no candidate pair with {target} in full (blocking/hubs judged on the whole world)"
    p = float(direct["p"].iloc[0])
    score = next((m["score"] for m in inc["matches"] if m["banned_shop_id"] == target), 0.0)
    return (f"pair with {target}: p={p:.3f} in full, {score:.3f} incrementally "
            "(rarity counted on the world alone)")


def _hops(record: dict, banned: str | None) -> int:
    """Hops of the record's match with ``banned`` (1: direct; 0: no such match)."""
    return next((m.get("hops", 1) for m in record["matches"] if m["banned_shop_id"] == banned), 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=100_000, help="world size")
    parser.add_argument("--new", type=int, default=1_000, help="new shops in the delta")
    parser.add_argument("--mix", choices=["standard", "random", "demo"], default="standard",
                        help="world mix (random: the mixed worlds of benchmarks/quality.py)")
    parser.add_argument("--seed", type=int, default=scale.SEED, help="world seed")
    parser.add_argument("--check", action="store_true",
                        help="compare with a full analysis of base + delta")
    args = parser.parse_args()
    folder = world_folder(args.shops, args.mix, args.seed)
    tag = "" if args.mix == "standard" and args.seed == scale.SEED else f"-{args.mix}{args.seed}"
    work = scale.WORLDS / f"incremental-{args.shops}-{args.new}{tag}"
    base, delta = split(folder, args.new, work)
    state = work / "state"
    since = "2000-01-01"  # every shop of the delta is scored
    if not (state / "manifest.json").exists():
        built = timed(["report", "changes", str(base), "--state", str(state)])
        print(f"state of {args.shops - args.new:,} shops built in {built['seconds']:.1f} s, "
              f"peak {built['peak_mb'] / 1024:.2f} GB")
    out = work / "delta-signups.json"
    inc = timed(["report", "signups", str(delta), "--since", since, "--state", str(state),
                 "--format", "json"], out)
    world_since = scale.since_of(folder)
    fresh = timed(["report", "signups", str(base), "--since", world_since, "--state",
                   str(state), "--format", "json"])
    flagged = sum(s["flag"] in ("high", "medium")
                  for s in json.loads(out.read_text())["signups"])
    print(f"\n{args.new:,} new shops against a {args.shops - args.new:,}-shop analysed world")
    print(f"{'':<44}{'seconds':>9}{'peak GB':>9}")
    print(f"{'report signups DELTA --state (incremental)':<44}{inc['seconds']:>9.1f}"
          f"{inc['peak_mb'] / 1024:>9.2f}")
    print(f"{'report signups BASE --state (fresh state)':<44}{fresh['seconds']:>9.1f}"
          f"{fresh['peak_mb'] / 1024:>9.2f}")
    print(f"{flagged} of the new shops flagged high/medium")
    if args.check:
        same, total, differ = agreement(base, delta, work / "whole", since, out, state)
        print(f"{same}/{total} new shops ({same / max(total, 1):.2%}): same flag and first "
              "match as a full analysis with the state's model")
        for row in differ:
            print(f"  {row['shop_id']}: full {row['full']}; incremental {row['incremental']}; "
                  f"{row['reason']}")
        if total and same / total < 0.995:
            sys.exit(1)


if __name__ == "__main__":
    main()
