"""Analyse once, report many: each report fresh vs read from a state, end to end.

    python benchmarks/from_state.py                    # 30,000 shops
    python benchmarks/from_state.py --shops 100000 --reports signups clusters
    python benchmarks/from_state.py --reports --all-fresh   # report all, state vs none
    python benchmarks/from_state.py --state-only            # from the state only (no fresh runs)

One world (cached by benchmarks/scale.py under ``benchmarks/.worlds/``) is
analysed into a new state folder with ``graphlink analyse DATASET --state
DIR``; then each report runs as ``graphlink ... --format json -o FILE`` twice,
once analysing DATASET afresh and once with ``--state DIR``, each a subprocess
timed by wall clock. The two JSON files must be byte-identical; the table
prints both times, their ratio, and whether the bytes agree. ``report all``
(the four reports, JSON and HTML, from the state) and ``explain`` of one
tied shop (the riskiest sign-up with a match) from the state are timed too;
``--all-fresh`` also times ``report all`` without the state; ``--state-only``
skips the fresh runs (and so the byte comparison). ``report all`` is printed as
a ratio of ``report signups`` from the state (issue 19's target: at most 1.3x).
Benchmarks print figures; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scale import world  # noqa: E402  (benchmarks are scripts, not a package)

SINCE = "30d"
REPORTS = {"signups": ["report", "signups", "--since", SINCE], "clusters": ["clusters"],
           "factories": ["report", "factories"], "spotcheck": ["report", "spotcheck"]}


def timed(args: list[str]) -> float:
    """Wall time of ``graphlink ARGS`` in a subprocess (it must succeed)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "graphlink.cli", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shops", type=int, default=30_000)
    parser.add_argument("--reports", nargs="*", choices=sorted(REPORTS), default=list(REPORTS))
    parser.add_argument("--all-fresh", action="store_true",
                        help="also time `report all` analysing DATASET itself")
    parser.add_argument("--state-only", action="store_true",
                        help="time the reports from the state only (no fresh analyses)")
    options = parser.parse_args()
    data = world(options.shops)
    with tempfile.TemporaryDirectory(prefix="graphlink-from-state-") as tmp:
        out, state = Path(tmp), Path(tmp) / "state"
        analyse = timed(["analyse", str(data), "--state", str(state)])
        print(f"{options.shops:,} shops: graphlink analyse --state: {analyse:.1f} s")
        print(f"{'report':<10} {'fresh s':>8} {'state s':>8} {'ratio':>7}  identical JSON")
        from_state = {}
        for name in options.reports:
            fresh, read = out / f"{name}.fresh.json", out / f"{name}.state.json"
            base = [*REPORTS[name], str(data), "--format", "json"]
            t_fresh = math.nan if options.state_only else timed([*base, "-o", str(fresh)])
            t_state = timed([*base, "--state", str(state), "--require-fresh", "-o", str(read)])
            from_state[name] = t_state
            same = "" if options.state_only else fresh.read_bytes() == read.read_bytes()
            print(f"{name:<10} {t_fresh:>8.1f} {t_state:>8.1f} {t_fresh / t_state:>6.1f}x  {same}",
                  flush=True)
        t_all = timed(["report", "all", str(data), "--state", str(state), "--since", SINCE,
                       "--output-dir", str(out / "all"), "--require-fresh"])
        print(f"report all (4 reports, JSON + HTML) from the state: {t_all:.1f} s")
        if "signups" in from_state:
            ratio = t_all / from_state["signups"]
            print(f"report all / report signups, both from the state: x{ratio:.2f} (target <= "
                  f"1.3: {'met' if ratio <= 1.3 else 'NOT met'})")
        if options.all_fresh:
            t_fresh = timed(["report", "all", str(data), "--since", SINCE, "--output-dir",
                             str(out / "all-fresh")])
            print(f"report all analysing DATASET itself: {t_fresh:.1f} s")
        signups = json.loads((out / "all" / "signups.json").read_text(encoding="utf-8"))
        shop = next((s["shop_id"] for s in signups["signups"] if s["matches"]), None)
        if shop is not None:
            t_explain = timed(["explain", str(data), shop, "--state", str(state),
                               "--require-fresh", "--format", "json"])
            print(f"explain {shop} from the state: {t_explain:.1f} s")


if __name__ == "__main__":
    main()
