"""What an HTML sign-up report costs beside the JSON report of the same sign-ups.

    python benchmarks/render.py                     # 30,000 shops, each format twice
    python benchmarks/render.py --shops 10000 --repeat 1

The world is scale.py's (``graphlink.generate_world``, seed 1, cached under
``benchmarks/.worlds/``) and ``--since`` its median re-registration date, as
in scale.py. The world is analysed once into a state folder (not timed); then
each measurement is one fresh child process that opens the saved analysis
(``graphlink.open_state``, not timed) and times building the sign-up report
(``api.signups_report``) plus writing it (``report.write``, as the CLI does)
in one format. JSON and HTML alternate ``--repeat`` times; the fastest of each
is compared (the machine is shared, timings are noisy; the ratio is what
counts). Target of issue 15: HTML at most 1.3x JSON.

Prints one line per measurement (seconds, output size, peak memory) and the
ratio. Benchmarks print figures; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import scale  # noqa: E402  (the worlds and --since of the scale benchmark)

TARGET = 1.3


def child(state: Path, world: Path, since: str, fmt: str, out: Path) -> dict:
    """Open the state, then time building and writing the sign-up report in ``fmt``."""
    from graphlink import api
    from graphlink.reports.report import write

    analysis = api.open_state(state, world)
    start = time.perf_counter()
    report = api.signups_report(analysis, since)
    built = time.perf_counter() - start
    write(report, fmt, out)
    seconds = time.perf_counter() - start
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"format": fmt, "seconds": seconds, "build_seconds": built,
            "bytes": out.stat().st_size, "peak_mb": kib / 1024,
            "signups": len(report.payload["signups"]),
            "flagged": sum(s["flag"] in ("high", "medium") for s in report.payload["signups"])}


def measure(state: Path, world: Path, since: str, fmt: str, folder: Path) -> dict:
    """One measurement in a fresh process (no cache of an earlier one helps it)."""
    cmd = [sys.executable, __file__, "--child", fmt, "--state", str(state), "--world",
           str(world), "--since", since, "--out", str(folder / f"signups.{fmt}")]
    done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shops", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", choices=["json", "html"])
    parser.add_argument("--state", type=Path)
    parser.add_argument("--world", type=Path)
    parser.add_argument("--since")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.state, args.world, args.since, args.child, args.out)))
        return

    world = scale.world(args.shops)
    since = scale.since_of(world)
    with tempfile.TemporaryDirectory(prefix="graphlink-render-") as tmp:
        state = Path(tmp) / "state"
        print(f"{args.shops:,} shops, --since {since}: analysing into {state} (not timed) ...",
              file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "graphlink.cli", "analyse", str(world), "--state",
                        str(state)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
        runs: dict[str, list[dict]] = {"json": [], "html": []}
        for _ in range(args.repeat):
            for fmt in ("json", "html"):
                r = measure(state, world, since, fmt, Path(tmp))
                runs[fmt].append(r)
                print(f"  {fmt:<4} {r['seconds']:7.1f} s (report built in "
                      f"{r['build_seconds']:.1f} s)  {r['bytes'] / 1e6:7.1f} MB  peak "
                      f"{r['peak_mb']:,.0f} MB  {r['signups']:,} sign-ups, "
                      f"{r['flagged']:,} flagged", flush=True)
    best = {fmt: min(r["seconds"] for r in rs) for fmt, rs in runs.items()}
    ratio = best["html"] / best["json"]
    print(f"sign-up report at {args.shops:,} shops: JSON {best['json']:.1f} s, HTML "
          f"{best['html']:.1f} s (fastest of {args.repeat}): HTML/JSON x{ratio:.2f} "
          f"(target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
