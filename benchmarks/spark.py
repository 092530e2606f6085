"""The Spark engine beside the embedded engine: time, CPU and the driver's peak memory.

    python benchmarks/spark.py --sizes 3000 30000           # both engines, alternated
    python benchmarks/spark.py --sizes 3000 --engines spark --rounds 2

Each run is a fresh process analysing the cached world of ``benchmarks/scale.py``
(``benchmarks/.worlds/world-<shops>-1``) with ``graphlink.analyse`` (the whole
pipeline, no report written), rounds alternating the engines. Printed per run:
wall seconds, CPU seconds (user + system) of the process tree (the Python driver,
Spark's JVM and its Python workers, read from ``/proc`` just before Spark stops),
the Python driver's peak RSS and the JVM's (``VmHWM``: in local mode the JVM is
the driver and the executors at once), the seconds of each stage of
:data:`graphlink.workflow.analyse.ANALYSE_STAGES`, and hashes of the model, the pair
scores, the operators and the communities (the engines agree where they are equal).

Spark runs ``local[2]`` with ``spark.sql.shuffle.partitions=8`` and the session's
default 1 GB driver heap unless ``--conf`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONF = ["spark.sql.shuffle.partitions=8"]


def _descendants(root: int) -> list[int]:
    """Live processes under ``root`` (from /proc's parent links)."""
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parent[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        kids = [p for p, pp in parent.items() if pp == pid]
        found.extend(kids)
        todo.extend(kids)
    return found


def _cpu_of(pid: int) -> float:
    """User + system seconds of process ``pid`` and its reaped children.

    >>> _cpu_of(os.getpid()) >= 0
    True
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _hwm_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of process ``pid``, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _fingerprints(analysis) -> dict[str, str]:
    """Short hashes of what the engines must agree on: the model (its version), the pair
    scores, the operators and the communities (equal hashes: identical)."""
    import hashlib

    from graphlink.linkage.model import model_version

    def digest(frame) -> str:
        text = frame.to_csv(index=False, float_format="%.17g").encode()
        return hashlib.sha256(text).hexdigest()[:12]

    pairs = analysis.resolution.pairs[["shop_a", "shop_b", "p"]]
    return {"model": model_version(analysis.model), "pairs_sha": digest(pairs),
            "operators_sha": digest(analysis.resolution.operators),
            "shops_sha": digest(analysis.shops[["shop_id", "operator_id", "community_id"]])}


def child(engine: str, shops: int, conf: list[str]) -> dict:
    """One analysis in this process: its figures."""
    import graphlink as gl

    sys.path.insert(0, str(HERE))
    from scale import world

    path = world(shops)
    stages: dict[str, float] = {}
    last = [time.perf_counter(), None]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if last[1] is not None:
            stages[last[1]] = round(now - last[0], 1)
        last[:] = [now, stage]

    options = {"engine": "spark", "spark_conf": conf} if engine == "spark" else {}
    start = time.perf_counter()
    analysis = gl.analyse(path, progress=progress, **options)
    wall = time.perf_counter() - start
    out = {"engine": engine, "shops": shops, "wall_s": round(wall, 1), "stages": stages,
           "code": str(Path(gl.__file__).parent.parent),
           "pairs": len(analysis.resolution.pairs), "links": len(analysis.links.similar),
           **_fingerprints(analysis)}
    tree = _descendants(os.getpid())
    out["cpu_s"] = round(_cpu_of(os.getpid()) + sum(_cpu_of(p) for p in tree), 1)
    out["python_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out["jvm_peak_mb"] = round(max((_hwm_mb(p) for p in tree), default=0.0))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000])
    parser.add_argument("--engines", nargs="+", default=["embedded", "spark"])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--conf", action="append", default=None,
                        help="a Spark setting key=value (repeatable)")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "SHOPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    conf = args.conf or CONF
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), conf)), flush=True)
        return
    for shops in args.sizes:
        for _ in range(args.rounds):
            for engine in args.engines:
                cmd = [sys.executable, __file__, "--child", engine, str(shops)]
                for setting in conf:
                    cmd += ["--conf", setting]
                done = subprocess.run(cmd, capture_output=True, text=True, check=False)
                lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
                if done.returncode or not lines:
                    print(f"{engine} {shops}: failed\n{done.stderr[-3000:]}", flush=True)
                    continue
                load = os.getloadavg()[0]
                print(json.dumps({**json.loads(lines[-1]), "load": round(load, 1)}), flush=True)


if __name__ == "__main__":
    main()
