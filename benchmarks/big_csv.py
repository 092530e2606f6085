"""Big CSV benchmark: streaming decode and parse with bounded memory.

Writes a dataset whose ``devices.csv`` is about ``--mb`` megabytes (default
300; shops and accounts are small), then measures, each in a fresh process
so that peak RSS belongs to one step:

- ``read``: decode and parse ``devices.csv`` into its raw table
  (:mod:`loaders.text` + :class:`loaders.raw.TableBuilder`);
- ``load``: the whole ``graphlink.load`` (all tables, validation, the
  canonical dataset).

For each: wall time, peak RSS, the baseline RSS of the process before the
step, and pandas' deep size of the table(s) it built (a string shared by
many cells counted once per cell). Decoding reads 1 MiB blocks, so peak RSS
minus baseline is about the size of the table, not of the file: a 2 GB file
does not need 2 GB to be decoded. The table is pandas object columns of
Python strings (~50 bytes per cell beyond its text; equal values share one
object), the representation every later stage receives.

Figures on a 2-core machine (2026-11, UTF-8, 300 MB devices.csv, 4.8 M rows):
read 40 s, 1,375 MB peak RSS (129 MB baseline); load 57 s, 1,540 MB.

Run from the repository root::

    python benchmarks/big_csv.py                 # ~300 MB, UTF-8
    python benchmarks/big_csv.py --mb 50 --encoding gb18030   # the GBK fallback path
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂"
LATIN = ["Lucky Goods", "Happy Pet Co.", "Sunrise Trading", "Nike潮牌店", "优选手表", "旗舰店"]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_dataset(folder: Path, mb: float, encoding: str, seed: int = 1) -> dict[str, int]:
    """shops.csv, accounts.csv and a devices.csv of about ``mb`` megabytes."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    shops = max(1000, int(mb * 600))
    sizes = {}

    def writer(name: str):
        return open(folder / name, "w", encoding=encoding, newline="")

    with writer("shops.csv") as f:
        f.write("shop_id,name,created_at,status,banned_at,ban_reason,category\r\n")
        for i in range(shops):
            banned = i % 25 == 0
            name = rng.choice(LATIN) + str(i % 997)
            if i % 50 == 0:
                name = f'"{name}, ""quoted"" and\nmulti-line"'
            f.write(f"S{i:07d},{name},2025-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00,"
                    f"{'banned' if banned else 'active'},{'2025-12-01' if banned else ''},"
                    f"{'counterfeit' if banned else ''},shoes\r\n")
    with writer("accounts.csv") as f:
        f.write("account_id,shop_id,holder_name,id_number,phone,email,created_at\r\n")
        for i in range(shops):
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
            f.write(f"A{i:07d},S{i:07d},{name},1101011990{i % 10000:04d}{i % 1000:03d}X,"
                    f"+86 138-{i % 10000:04d}-{rng.randint(0, 9999):04d},u{i}@qq.com,"
                    f"2025-01-01\r\n")
    target = mb * 1_000_000
    with writer("devices.csv") as f:
        f.write("account_id,device_id,ip,seen_at\r\n")
        written, buffer = 0, []
        while written < target:
            a = rng.randrange(shops)
            line = (f"A{a:07d},DEV-{rng.randrange(shops * 2):08X}-{a % 977:04X},"
                    f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
                    f"{rng.randint(1, 254)},2025-{1 + a % 12:02d}-{1 + a % 28:02d}T"
                    f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00\r\n")
            buffer.append(line)
            written += len(line)
            if len(buffer) >= 10_000:
                f.write("".join(buffer))
                buffer = []
        f.write("".join(buffer))
    for p in folder.iterdir():
        sizes[p.name] = p.stat().st_size
    return sizes


def _step(mode: str, folder: Path, encoding: str | None) -> dict:
    """One measurement, run in this (fresh) process."""
    import pandas as pd  # noqa: F401  (imports are part of the baseline, not of the step)

    import loaders
    from loaders.mapping import Mapping
    from loaders.standard import _read_csv

    base = _rss_mb()
    started = time.perf_counter()
    if mode == "read":
        table = _read_csv(folder / "devices.csv", "devices", encoding, Mapping())
        rows = len(table.frame)
        frame_mb = table.frame.memory_usage(deep=True).sum() / 1e6
    else:
        dataset = loaders.load(folder, encoding=encoding)
        rows = sum(len(t) for t in dataset.tables.values())
        frame_mb = sum(t.memory_usage(deep=True).sum() for t in dataset.tables.values()) / 1e6
    seconds = time.perf_counter() - started
    return {"step": mode, "rows": rows, "seconds": round(seconds, 1),
            "baseline_rss_mb": round(base), "peak_rss_mb": round(_rss_mb()),
            "table_mb": round(frame_mb)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=300, help="size of devices.csv (MB)")
    parser.add_argument("--encoding", default="utf-8", help="encoding to write the files in")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / ".big",
                        help="folder for the generated dataset")
    parser.add_argument("--keep", action="store_true", help="keep the generated dataset")
    parser.add_argument("--step", choices=["read", "load"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:  # child process: one measurement, as JSON
        print(json.dumps(_step(args.step, args.out, None)))
        return
    started = time.perf_counter()
    sizes = write_dataset(args.out, args.mb, args.encoding)
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s ({args.encoding}): "
          + ", ".join(f"{name} {size / 1e6:.0f} MB" for name, size in sorted(sizes.items())))
    print(f"{'step':<6}{'rows':>11}{'seconds':>9}{'baseline MB':>13}{'peak RSS MB':>13}"
          f"{'table MB':>10}")
    try:
        for step in ("read", "load"):
            out = subprocess.run([sys.executable, __file__, "--step", step, "--out", str(args.out)],
                                 check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"{r['step']:<6}{r['rows']:>11,}{r['seconds']:>9}{r['baseline_rss_mb']:>13}"
                  f"{r['peak_rss_mb']:>13}{r['table_mb']:>10}")
    finally:
        if not args.keep:
            shutil.rmtree(args.out, ignore_errors=True)
    print("read: devices.csv decoded and parsed into its raw table; load: graphlink.load of the "
          "whole dataset (validation, canonical tables). Peak minus baseline is the memory the "
          "step needed; decoding itself works in 1 MiB blocks.")


if __name__ == "__main__":
    main()
