"""The Spark engine beside the embedded engine: time, CPU and the driver's peak memory.

    python benchmarks/spark.py --sizes 3000 30000           # both engines, alternated
    python benchmarks/spark.py --sizes 3000 --engines spark --rounds 2

Each run is a fresh process analysing the cached world of ``benchmarks/scale.py``
(``benchmarks/.worlds/world-<shops>-1``) with ``graphlink.analyse`` (the whole
pipeline, no report written), rounds alternating the engines. Printed per run:
wall seconds, CPU seconds (user + system) of the process tree (the Python driver,
Spark's JVM and its Python workers, each process's own time sampled from ``/proc`` every
0.5 s: Spark's Python workers are reaped by no one who counts them), split between the
three and, for the JVM, between its threads (JIT compilers, garbage collection, executor
tasks, py4j's threads that plan and collect each query), the CPU of each stage,
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


def _is_jvm(pid: int) -> bool:
    """Whether process ``pid`` is a Java virtual machine.

    >>> _is_jvm(os.getpid())
    False
    """
    try:
        first = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False
    return first.endswith(b"java")


def _hwm_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of process ``pid``, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _own_cpu(pid: int) -> float:
    """User + system seconds of process ``pid`` itself (not its children).

    >>> _own_cpu(os.getpid()) > 0
    True
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Sampler:
    """The CPU seconds of this process and every process under it, ever: each process's own
    time, read every ``every`` seconds while it lives. Spark's Python daemon ignores
    SIGCHLD, so its workers' time never reaches a parent's children's time: a worker that
    exits before the end is counted only by sampling it (its last ``every`` seconds are
    lost).

    >>> with _Sampler(0.05) as cpu:
    ...     cpu.total() > 0
    True
    """

    def __init__(self, every: float = 0.5):
        import threading

        self.every, self.seen = every, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for pid in [os.getpid(), *_descendants(os.getpid())]:
            self.seen[pid] = max(self.seen.get(pid, 0.0), _own_cpu(pid))

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def total(self) -> float:
        """The seconds so far (a fresh sample first)."""
        self._sample()
        return sum(self.seen.values())

    def __enter__(self) -> _Sampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _jvm_threads(pids: list[int]) -> dict[str, float]:
    """CPU seconds of the JVM's threads by kind: ``jit`` (the C1/C2 compilers), ``gc``,
    ``tasks`` (executor task threads: Spark's own work and feeding Python workers),
    ``driver`` (py4j's threads: planning each query, code generation, collecting) and
    ``other`` (the scheduler, listeners, ...), from ``/proc/<pid>/task/*/comm``.

    >>> _jvm_threads([])
    {}
    """
    found: dict[str, float] = {}
    kinds = (("C1 Compiler", "jit"), ("C2 Compiler", "jit"), ("GC", "gc"), ("G1", "gc"),
             ("VM Thread", "gc"),
             ("Executor task", "tasks"), ("Thread-", "driver"))
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                name = (task / "comm").read_text().strip()
            except OSError:
                continue
            kind = next((k for prefix, k in kinds if name.startswith(prefix)), "other")
            found[kind] = round(found.get(kind, 0.0) + _cpu_of_task(task), 1)
    return found


def _cpu_of_task(task: Path) -> float:
    """User + system seconds of one thread (``/proc/<pid>/task/<tid>``)."""
    try:
        fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    stage_cpu: dict[str, float] = {}
    sampler = _Sampler().__enter__()
    last = [time.perf_counter(), None, sampler.total()]

    def progress(stage: str, done: int, total: int) -> None:
        now, cpu = time.perf_counter(), sampler.total()
        if last[1] is not None:
            stages[last[1]] = round(now - last[0], 1)
            stage_cpu[last[1]] = round(cpu - last[2], 1)
        last[:] = [now, stage, cpu]

    options = {"engine": "spark", "spark_conf": conf} if engine == "spark" else {}
    start = time.perf_counter()
    analysis = gl.analyse(path, progress=progress, **options)
    wall = time.perf_counter() - start
    out = {"engine": engine, "shops": shops, "wall_s": round(wall, 1), "stages": stages,
           "stage_cpu_s": stage_cpu,
           "code": str(Path(gl.__file__).parent.parent),
           "pairs": len(analysis.resolution.pairs), "links": len(analysis.links.similar),
           **_fingerprints(analysis)}
    tree = _descendants(os.getpid())
    out["cpu_s"] = round(sampler.total(), 1)
    sampler.__exit__(None, None, None)
    # what the tree's live processes and their reaped children say (misses the Python
    # workers that exited: the figure this benchmark printed before the sampler)
    out["cpu_live_s"] = round(_cpu_of(os.getpid()) + sum(_cpu_of(p) for p in tree), 1)
    out["python_peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out["jvm_peak_mb"] = round(max((_hwm_mb(p) for p in tree), default=0.0))
    jvms = [p for p in tree if _is_jvm(p)]
    out["jvm_cpu_s"] = round(sum(sampler.seen.get(p, 0.0) for p in jvms), 1)
    out["jvm_threads_cpu_s"] = _jvm_threads(jvms)
    out["driver_cpu_s"] = round(sampler.seen[os.getpid()], 1)
    out["python_workers_cpu_s"] = round(sum(cpu for pid, cpu in sampler.seen.items()
                                            if pid != os.getpid() and pid not in jvms), 1)
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
