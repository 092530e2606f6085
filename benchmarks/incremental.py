"""Incremental sign-up scoring: a day's new shops against an analysed world.

    python benchmarks/incremental.py                          # 1,000 new shops, 100,000-shop world
    python benchmarks/incremental.py --shops 1000000 --new 1000
    python benchmarks/incremental.py --shops 10000 --new 500 --check

The world (seed 1, cached by benchmarks/scale.py under ``benchmarks/.worlds/``)
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

``--check`` also analyses base + delta in full and reports how many new shops
get the same flag and best match both ways. Figures only; nothing is a test.
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


def agreement(base: Path, delta: Path, whole: Path, since: str, incremental: Path) -> str:
    """How many new shops get the same flag and best match as in a full analysis."""
    import pandas as pd

    import graphlink as gl

    if not (whole / "shops.csv").exists():
        whole.mkdir(parents=True, exist_ok=True)
        for path in sorted(base.glob("*.csv")):
            parts = [pd.read_csv(f / path.name, dtype=str, keep_default_na=False)
                     for f in (base, delta)]
            pd.concat(parts).to_csv(whole / path.name, index=False)
    new = set(pd.read_csv(delta / "shops.csv", dtype=str)["shop_id"])
    full = {r["shop_id"]: r for r in gl.analyse(whole).signup_records(since)
            if r["shop_id"] in new}
    inc = {r["shop_id"]: r for r in json.loads(incremental.read_text())["signups"]}

    def best(r: dict) -> str | None:
        return r["matches"][0]["banned_shop_id"] if r["matches"] else None

    same = sum(full[s]["flag"] == inc[s]["flag"] and best(full[s]) == best(inc[s])
               for s in full)
    return f"{same}/{len(full)} new shops: same flag and best match as a full analysis"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=100_000, help="world size")
    parser.add_argument("--new", type=int, default=1_000, help="new shops in the delta")
    parser.add_argument("--check", action="store_true",
                        help="compare with a full analysis of base + delta")
    args = parser.parse_args()
    folder = scale.world(args.shops)
    work = scale.WORLDS / f"incremental-{args.shops}-{args.new}"
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
        print(agreement(base, delta, work / "whole", since, out))


if __name__ == "__main__":
    main()
