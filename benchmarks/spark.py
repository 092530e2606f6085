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
scores, the operators, the communities, the factory leads and the sign-ups and spot
checks scored from the pairs each engine gives them (the engines agree where they are
equal).

Also per run: the Python driver's peak RSS in each stage (``VmRSS`` sampled every 0.1 s;
``start`` is before the first stage, ``after`` the benchmark's own reading once the
analysis is done) and the JVM's (sampled with it), the comparisons and candidates of
blocking (``Links.comparisons``, ``Links.candidates``) per CPU-hour of the linking stage
(every process's CPU in that stage: the driver, the JVM, Spark's Python workers), and
what the returned Analysis holds (:func:`held`: deep MB of each large frame; a part it
reads lazily is not read, counts 0 and says why). A readable summary follows each run's
JSON line; ``--json FILE`` writes every run's figures to FILE as a JSON list.

    python benchmarks/spark.py --sizes 30000 --engines spark --shuffle --json runs.json

``--shuffle``: each Spark run writes Spark's event log into a temporary folder, read
once its session stops: shuffle read and write bytes, spill, input bytes, executor CPU,
tasks and jobs per graphlink stage (a task belongs to the stage running when it was
launched), in total, and the five Spark stages that wrote the most shuffle bytes.

Spark runs ``local[2]`` with ``spark.sql.shuffle.partitions=8`` and the session's
default 1 GB driver heap unless ``--conf`` says otherwise. Start it from the root of the
checkout to measure: the runs import graphlink from the folder they are started in.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

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
    scores, the operators, the communities, the factory leads, the sign-ups and spot
    checks' searches (equal hashes: identical)."""
    from graphlink.linkage.model import model_version

    leads = analysis.factory_leads
    return {"model": model_version(analysis.model), "pairs_sha": digest_of(_scored(analysis)),
            "operators_sha": digest_of(analysis.resolution.operators),
            "shops_sha": digest_of(analysis.shops[["shop_id", "operator_id", "community_id"]]),
            "leads_sha": digest_of(leads.leads.drop(columns=["evidence"])),
            "context_sha": digest_of(leads.context), **_signups_fingerprints(analysis)}


def _signups_fingerprints(analysis) -> dict[str, str]:
    """Hashes of the sign-ups of the last tenth of the shops' creation times scored from
    the pairs the analysis gives the searches (risk, flag, each match's banned shop,
    score and path) and of the spot checks' nearest banned shops."""
    import pandas as pd

    from graphlink.scoring.score import nearest_banned, score_signups

    shops = analysis.dataset.shops[["shop_id", "created_at", "status", "banned_at"]].merge(
        analysis.shops, on="shop_id")
    pairs = analysis._linked_pairs()
    records = score_signups(shops, pairs, shops["created_at"].quantile(0.9), None)
    rows = pd.DataFrame([(r["shop_id"], r["risk"], r["flag"], ";".join(
        f"{m['banned_shop_id']}:{m['score']}:{'/'.join(m['path'])}" for m in r["matches"]))
        for r in records], columns=["shop_id", "risk", "flag", "matches"])
    near = nearest_banned(pairs, analysis.dataset.banned_shop_ids())
    return {"signups_sha": digest_of(rows), "flagged": int((rows["flag"] != "none").sum()),
            "nearest_sha": digest_of(near)}


def leads_as_embedded(analysis) -> bool:
    """Whether a Spark run's factory leads (sites found on Spark) are the ones the
    embedded engine finds in the same run's address points (on the driver: run it after
    the figures)."""
    from graphlink.scoring.analysis import Analysis

    embedded, found = Analysis.factory_leads.func(analysis), analysis.factory_leads
    return embedded.leads.equals(found.leads) and embedded.context.equals(found.context)


def digest_of(frame, rows: int = 500_000) -> str:
    """A short hash of ``frame`` as CSV (17 significant digits), written ``rows`` rows at a
    time (``frame`` may also be an iterable of frames, the table's slices in order): the
    same hash as the whole frame's CSV, without its whole text in memory.

    >>> import pandas as pd
    >>> frame = pd.DataFrame({"a": ["x", "y", "z"], "p": [0.1, 1 / 3, 2.0]})
    >>> digest_of(frame, rows=2) == digest_of(frame) == hashlib.sha256(
    ...     frame.to_csv(index=False, float_format="%.17g").encode()).hexdigest()[:12]
    True
    >>> digest_of(iter([frame[:1], frame[1:]])) == digest_of(frame)
    True
    """
    slices = (frame.iloc[start:start + rows] for start in range(0, max(len(frame), 1), rows)
              ) if hasattr(frame, "iloc") else frame
    found, first = hashlib.sha256(), True
    for part in slices:
        found.update(part.to_csv(index=False, header=first, float_format="%.17g").encode())
        first = False
    return found.hexdigest()[:12]


def _pairs_count(analysis) -> int:
    """How many scored pairs: of a Spark run, from its pairs file's metadata (reading
    them took the driver past 8 GB at 1M shops, and the machine out of memory)."""
    path = getattr(analysis.resolution, "path", None)
    if path is None:
        return len(analysis.resolution.pairs)
    import pyarrow.dataset as ds

    return ds.dataset(str(path), format="parquet").count_rows()


def _links_count(links) -> int:
    """How many similarity links, without collecting a Spark run's."""
    return links.similar_count() if hasattr(links, "similar_count") else len(links.similar)


def _scored(analysis):
    """shop_a, shop_b, p of every pair: of a Spark run those three columns read from its
    pairs file a batch at a time (every column of 1M shops' pairs took the driver to
    9.4 GB; the three whole, at 3M, would take about 12 GB)."""
    path = getattr(analysis.resolution, "path", None)
    if path is None:
        return analysis.resolution.pairs[["shop_a", "shop_b", "p"]]
    import pyarrow.parquet as pq

    files = sorted(Path(path).glob("*.parquet")) if Path(path).is_dir() else [Path(path)]
    return (batch.to_pandas() for file in files for batch in pq.ParquetFile(file).iter_batches(
        500_000, columns=["shop_a", "shop_b", "p"]))


def _status_mb(pid: int | str, field: str = "VmRSS") -> float:
    """A memory figure (``VmRSS``, ``VmHWM``) of process ``pid`` from /proc, in MB (0 when
    it is gone).

    >>> _status_mb("self") > 0, _status_mb(-1)
    (True, 0.0)
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class _Memory:
    """The peak resident memory of this process (the Python driver: ``VmRSS`` every
    ``every`` seconds) and of the JVM under it, per stage: :meth:`enter` names the stage
    the next samples belong to (the ``progress`` callback calls it). Before the first
    stage they count as ``"start"``, after ``"done"`` as ``"after"`` (the benchmark's own
    reading of the analysis). The JVM is looked for every ten samples until found.

    >>> memory = _Memory(0.01).start()
    >>> memory.enter("loading"); time.sleep(0.05); memory.stop()
    >>> memory.python["loading"] > 0, memory.jvm
    (True, {})
    """

    def __init__(self, every: float = 0.1):
        import threading

        self.every, self.stage = every, "start"
        self.python: dict[str, float] = {}
        self.jvm: dict[str, float] = {}
        self._jvms: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def enter(self, stage: str) -> None:
        """The samples from now on are ``stage``'s (one sample at its start)."""
        self._sample()
        self.stage = "after" if stage == "done" else stage
        self._sample()

    def _sample(self) -> None:
        stage = self.stage
        self.python[stage] = max(self.python.get(stage, 0.0), _status_mb("self"))
        if self._jvms:
            rss = sum(_status_mb(p) for p in self._jvms)
            self.jvm[stage] = max(self.jvm.get(stage, 0.0), rss)

    def _run(self) -> None:
        tick = 0
        while not self._stop.wait(self.every):
            if not self._jvms and tick % 10 == 0:
                self._jvms = [p for p in _descendants(os.getpid()) if _is_jvm(p)]
            tick += 1
            self._sample()

    def start(self) -> _Memory:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


#: the large parts of an Analysis: (name, path of attributes from the analysis)
HELD_PARTS = (("identifiers.uses", ("identifiers", "uses")),
              ("identifiers.values", ("identifiers", "values")),
              ("links.similar", ("links", "similar")), ("links.keys", ("links", "keys")),
              ("links.hub_blocks", ("links", "hub_blocks")), ("evidence", ("evidence",)),
              ("resolution.pairs", ("resolution", "pairs")),
              ("resolution.operators", ("resolution", "operators")), ("shops", ("shops",)),
              ("factory_leads.leads", ("factory_leads", "leads")))


class _NotRead(str):
    """A part of an analysis not held as a table on the driver (why, in words)."""


def _part(owner, name: str):
    """Attribute ``name`` of ``owner`` without reading what is read lazily: an instance
    attribute as it is; a part a saved analysis has not read yet, a property (which may
    read a file or collect from Spark when called: the blocking keys' own backing is
    looked at instead) and anything missing are :class:`_NotRead`.

    >>> from types import SimpleNamespace as Parts
    >>> _part(Parts(a=1), "a"), _part(Parts(_parts={"b": None}), "b")
    (1, 'not read yet')
    """
    held = vars(owner) if hasattr(owner, "__dict__") else {}
    if name in held:
        return held[name]
    if name in held.get("_parts", {}):
        return _NotRead("not read yet")
    if isinstance(getattr(type(owner), name, None), property | functools.cached_property):
        if name == "keys" and held.get("_frame") is not None:
            return _NotRead("on Spark (checkpointed)")
        if name == "keys" and held.get("_table") is not None:
            return held["_table"]  # an Arrow table (CompactLinks)
        if name == "keys" and "_held" in held:
            return held["_held"]
        return _NotRead(f"a property of {type(owner).__name__}, not called")
    return _NotRead("missing")


def _table_mb(table) -> float | _NotRead:
    """Deep MB of a pandas DataFrame (a Python string counted once per cell that points
    to it), an Arrow table's buffers; anything else is not held as a table.

    >>> _table_mb(pd.DataFrame({"a": ["x" * 2**21]})), _table_mb(None)
    (2.0, 'not a table (NoneType)')
    """
    if isinstance(table, _NotRead):
        return table
    if isinstance(table, pd.DataFrame):
        return round(float(table.memory_usage(deep=True).sum()) / 2**20, 1)
    if type(table).__module__.startswith("pyarrow") and hasattr(table, "nbytes"):
        return round(float(table.nbytes) / 2**20, 1)
    return _NotRead(f"not a table ({type(table).__name__})")


def held(analysis) -> dict[str, float | str]:
    """What an Analysis holds on the driver: the deep MB of each large frame it keeps
    (the dataset's tables, identifier uses and values, links, evidence, scored pairs,
    operators, shops, factory leads, the page index's arrays), without reading a part
    it reads lazily: such a part counts 0 and is named as not read (why, in words).
    ``total`` sums the MB.

    >>> from types import SimpleNamespace as Parts
    >>> frame = pd.DataFrame({"shop_id": [str(i) for i in range(20000)]})
    >>> found = held(Parts(dataset=Parts(tables={"shops": frame}), shops=frame,
    ...                    _parts={"evidence": None}))
    >>> found["dataset.shops"] > 0, found["evidence"], found["total"] > 0
    (True, 'not read yet', True)
    """
    found: dict[str, float | str] = {}
    tables = _part(_part(analysis, "dataset"), "tables")
    if isinstance(tables, dict):
        for name in tables:  # a lazy dict names its tables without reading them
            found[f"dataset.{name}"] = _table_mb(
                dict.get(tables, name, _NotRead("not read yet")))
    for name, path in HELD_PARTS:
        part = analysis
        for attribute in path:
            part = part if isinstance(part, _NotRead) else _part(part, attribute)
        found[name] = _table_mb(part)
    index = vars(analysis).get("_page_index") if hasattr(analysis, "__dict__") else None
    if index:
        arrays = [a for i in index.values() for c in i.columns.values() for a in c[1:]]
        found["page_index"] = round(sum(getattr(a, "nbytes", 0) for a in arrays) / 2**20, 1)
    found["total"] = round(sum(v for v in found.values() if isinstance(v, float)), 1)
    return {k: v if isinstance(v, float) else str(v) for k, v in found.items()}


def shuffle_conf(folder: str | Path) -> list[str]:
    """The settings that make Spark write its event log (uncompressed) into ``folder``.

    >>> shuffle_conf("/tmp/log")[1]
    'spark.eventLog.dir=file:///tmp/log'
    """
    return ["spark.eventLog.enabled=true", f"spark.eventLog.dir={Path(folder).as_uri()}",
            "spark.eventLog.compress=false"]


def _task_figures(event: dict) -> dict[str, float]:
    """Shuffle read and write, spill and input bytes, executor CPU seconds of one
    ``SparkListenerTaskEnd`` event."""
    metrics = event.get("Task Metrics") or {}
    read = metrics.get("Shuffle Read Metrics") or {}
    write = metrics.get("Shuffle Write Metrics") or {}
    return {"shuffle_read": read.get("Remote Bytes Read", 0) + read.get("Local Bytes Read", 0),
            "shuffle_write": write.get("Shuffle Bytes Written", 0),
            "spilled": metrics.get("Disk Bytes Spilled", 0),
            "input": (metrics.get("Input Metrics") or {}).get("Bytes Read", 0),
            "executor_cpu_s": metrics.get("Executor CPU Time", 0) / 1e9, "tasks": 1}


def _stage_at(marks: list[tuple[float, str]], when: float) -> str:
    """The graphlink stage running at epoch second ``when`` (``marks``: each stage's
    start, in order; before the first: the first, after ``done``: ``after``).

    >>> _stage_at([(10.0, "loading"), (20.0, "linking"), (30.0, "done")], 25.0)
    'linking'
    >>> _stage_at([(10.0, "loading"), (30.0, "done")], 5.0), _stage_at([(30.0, "done")], 31)
    ('loading', 'after')
    """
    found = marks[0][1] if marks else "after"
    for start, stage in marks:
        if start <= when:
            found = stage
    return "after" if found == "done" else found


def read_event_logs(folder: str | Path, marks: list[tuple[float, str]]) -> dict:
    """Shuffle read and write bytes (and spill, input, executor CPU seconds, tasks, Spark
    jobs) in every Spark event log under ``folder``: ``total``, per graphlink stage
    (``stages``: each task counted in the stage running when it was launched, ``marks``
    the stages' starts as ``(epoch seconds, stage)``) and the ``largest`` five Spark
    stages by shuffle bytes written (the shuffles a cluster's partitions are sized for).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> end = {"Event": "SparkListenerTaskEnd", "Stage ID": 3,
    ...        "Task Info": {"Launch Time": 15000}, "Task Metrics": {
    ...            "Shuffle Write Metrics": {"Shuffle Bytes Written": 2**20}}}
    >>> _ = (folder / "local-1").write_text(json.dumps(end) + "\\n")
    >>> found = read_event_logs(folder, [(10.0, "loading"), (20.0, "linking")])
    >>> found["total"]["shuffle_write_mb"], found["stages"]["loading"]["tasks"]
    (1.0, 1)
    """
    per_stage: dict[str, dict[str, float]] = {}
    per_spark: dict[int, dict] = {}
    jobs: dict[str, int] = {}
    for log in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        with log.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:  # the last line of a log Spark was still writing
                    continue
                if not isinstance(event, dict):  # (a compressed log's bytes: not read)
                    continue
                kind = event.get("Event")
                if kind == "SparkListenerJobStart":
                    stage = _stage_at(marks, event.get("Submission Time", 0) / 1000)
                    jobs[stage] = jobs.get(stage, 0) + 1
                elif kind == "SparkListenerStageSubmitted":
                    info = event.get("Stage Info") or {}
                    per_spark.setdefault(info.get("Stage ID"), {})["name"] = info.get(
                        "Stage Name", "")
                elif kind == "SparkListenerTaskEnd":
                    figures = _task_figures(event)
                    launched = (event.get("Task Info") or {}).get("Launch Time", 0) / 1000
                    stage = _stage_at(marks, launched)
                    spark_stage = per_spark.setdefault(event.get("Stage ID"), {})
                    spark_stage["stage"] = stage
                    for key, value in figures.items():
                        per_stage.setdefault(stage, {})[key] = per_stage.get(
                            stage, {}).get(key, 0) + value
                        spark_stage[key] = spark_stage.get(key, 0) + value
    return _shuffle_summary(per_stage, per_spark, jobs)


def _in_mb(figures: dict[str, float]) -> dict[str, float]:
    """Byte counts as MB (``<name>_mb``), seconds rounded, counts as they are.

    >>> _in_mb({"shuffle_read": 3 * 2**20, "executor_cpu_s": 1.234, "tasks": 2})
    {'shuffle_read_mb': 3.0, 'executor_cpu_s': 1.2, 'tasks': 2}
    """
    return {(k if k.endswith("_s") or k in ("tasks", "jobs") else f"{k}_mb"):
            (v if k in ("tasks", "jobs") else round(v if k.endswith("_s") else v / 2**20, 1))
            for k, v in figures.items()}


def _shuffle_summary(per_stage: dict, per_spark: dict, jobs: dict[str, int]) -> dict:
    """:func:`read_event_logs`' answer from its sums per graphlink and per Spark stage."""
    total: dict[str, float] = {}
    for figures in per_stage.values():
        for key, value in figures.items():
            total[key] = total.get(key, 0) + value
    largest = sorted((s for s in per_spark.values() if "tasks" in s),
                     key=lambda s: -s.get("shuffle_write", 0))[:5]
    return {"total": {**_in_mb(total), "jobs": sum(jobs.values())},
            "stages": {stage: {**_in_mb(figures), "jobs": jobs.get(stage, 0)}
                       for stage, figures in per_stage.items()},
            "largest": [{"name": s.get("name", ""), "stage": s["stage"],
                         **_in_mb({k: v for k, v in s.items() if k not in ("name", "stage")})}
                        for s in largest]}


def _rate_per_hour(count: int, cpu_s: float | None) -> float | None:
    """``count`` per CPU-hour (None without CPU seconds).

    >>> _rate_per_hour(7200, 3.6)
    7200000.0
    """
    return round(count * 3600 / cpu_s, 0) if cpu_s else None


STAGE_MARK = "#stage "


def child(engine: str, shops: int, conf: list[str], check_leads: bool = False) -> dict:
    """One analysis in this process: its figures. graphlink is imported from the folder
    the benchmark was started in, as Spark's Python workers import it (``python -m
    pyspark.daemon`` in that folder): not from the editable install, which may be another
    checkout."""
    sys.path.insert(0, os.getcwd())
    import graphlink as gl

    sys.path.insert(0, str(HERE))
    from scale import world

    path = world(shops)
    stages: dict[str, float] = {}
    stage_cpu: dict[str, float] = {}
    marks: list[tuple[float, str]] = []  # (epoch seconds, stage): Spark's logs use epochs
    sampler = _Sampler().__enter__()
    memory = _Memory().start()
    last = [time.perf_counter(), None, sampler.total()]

    def progress(stage: str, done: int, total: int) -> None:
        memory.enter(stage)
        marks.append((time.time(), stage))
        now, cpu = time.perf_counter(), sampler.total()
        if last[1] is not None:
            stages[last[1]] = round(now - last[0], 1)
            stage_cpu[last[1]] = round(cpu - last[2], 1)
            # as it goes: a long run that dies late still tells where it was
            print(f"{STAGE_MARK}{time.strftime('%H:%M:%S')} {last[1]} done: "
                  f"{stages[last[1]]} s, {stage_cpu[last[1]]} CPU s, driver "
                  f"{_status_mb(os.getpid()):.0f} MB", file=sys.stderr, flush=True)
        last[:] = [now, stage, cpu]

    options = {"engine": "spark", "spark_conf": conf} if engine == "spark" else {}
    start = time.perf_counter()
    analysis = gl.analyse(path, progress=progress, **options)
    wall = time.perf_counter() - start
    links = analysis.links
    out = {"engine": engine, "shops": shops, "wall_s": round(wall, 1), "stages": stages,
           "stage_cpu_s": stage_cpu,
           "code": str(Path(gl.__file__).parent.parent),
           "comparisons": links.comparisons, "candidates": links.candidates,
           "comparisons_per_cpu_hour": _rate_per_hour(links.comparisons,
                                                      stage_cpu.get("linking")),
           "candidates_per_cpu_hour": _rate_per_hour(links.candidates,
                                                     stage_cpu.get("linking")),
           # first: the hashes below read the pairs' scores, operators and shops whole
           "held_mb": held(analysis)}
    out.update({"pairs": _pairs_count(analysis), "links": _links_count(links),
                **_fingerprints(analysis)})
    out.update(_process_figures(sampler))
    memory.stop()
    out["python_stage_peak_mb"] = {k: round(v) for k, v in memory.python.items()}
    out["jvm_stage_peak_mb"] = {k: round(v) for k, v in memory.jvm.items()}
    if check_leads and engine == "spark":
        out["leads_as_embedded"] = leads_as_embedded(analysis)
    logs = _event_log_folder(conf)
    if logs is not None:
        _stop_spark()  # the log is complete once the context stops
        out["shuffle"] = read_event_logs(logs, marks)
    return out


def _process_figures(sampler: _Sampler) -> dict:
    """The CPU split (the whole tree, the Python driver, the JVM and its threads, Spark's
    Python workers) and the peaks of the Python driver and the JVM, read before the Spark
    session stops; ``sampler`` is stopped."""
    tree = _descendants(os.getpid())
    out = {"cpu_s": round(sampler.total(), 1)}
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


def _event_log_folder(conf: list[str]) -> Path | None:
    """The local folder Spark's event log goes to under ``conf`` (None: no log).

    >>> _event_log_folder(shuffle_conf("/tmp/log"))
    PosixPath('/tmp/log')
    >>> _event_log_folder(CONF) is None
    True
    """
    settings = dict(s.split("=", 1) for s in conf)
    if settings.get("spark.eventLog.enabled", "").lower() != "true":
        return None
    folder = settings.get("spark.eventLog.dir", "/tmp/spark-events")
    return Path(folder.removeprefix("file://"))


def _stop_spark() -> None:
    """Stop this process's Spark context, if one runs (its event log is then whole)."""
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()


def summary(run: dict) -> list[str]:
    """A few readable lines of one run's figures (the JSON line holds them all).

    >>> summary({"engine": "spark", "shops": 10, "python_stage_peak_mb": {"loading": 400},
    ...          "jvm_stage_peak_mb": {}, "held_mb": {"evidence": 1.5, "total": 1.5}})[1]
    '  Python driver peak MB by stage: loading 400'
    """
    lines = [f"{run['engine']} {run['shops']}:"]
    lines.append("  Python driver peak MB by stage: " + ", ".join(
        f"{k} {v}" for k, v in run.get("python_stage_peak_mb", {}).items()))
    if run.get("jvm_stage_peak_mb"):
        lines.append("  JVM resident MB by stage (sampled): " + ", ".join(
            f"{k} {v}" for k, v in run["jvm_stage_peak_mb"].items()))
    lines.append("  the Analysis holds, deep MB: " + ", ".join(
        f"{k} {v}" for k, v in run.get("held_mb", {}).items()))
    if run.get("comparisons_per_cpu_hour"):
        lines.append(f"  linking: {run['comparisons']:,} comparisons, {run['candidates']:,} "
                     f"candidates; per CPU-hour {run['comparisons_per_cpu_hour']:,.0f} and "
                     f"{run['candidates_per_cpu_hour']:,.0f}")
    shuffle = run.get("shuffle")
    if shuffle:
        lines.append("  shuffle MB (read / write), by stage: " + ", ".join(
            f"{k} {v['shuffle_read_mb']} / {v['shuffle_write_mb']}"
            for k, v in shuffle["stages"].items()) + f"; total {shuffle['total']}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000])
    parser.add_argument("--engines", nargs="+", default=["embedded", "spark"])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--conf", action="append", default=None,
                        help="a Spark setting key=value (repeatable)")
    parser.add_argument("--shuffle", action="store_true",
                        help="Spark runs write an event log (a temporary folder) whose "
                             "shuffle bytes are summed per stage")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write every run's figures to FILE (a JSON list, "
                             "rewritten after each run)")
    parser.add_argument("--check-leads", action="store_true",
                        help="Spark runs also find the factory leads as the embedded engine "
                             "does, after the figures, and say whether they are the same")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "SHOPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    conf = args.conf or CONF
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]), conf, args.check_leads)),
              flush=True)
        return
    runs = []
    for shops in args.sizes:
        for _ in range(args.rounds):
            for engine in args.engines:
                run = _run(engine, shops, conf, args.shuffle and engine == "spark",
                           args.check_leads)
                if run is None:
                    continue
                print(json.dumps(run), flush=True)
                print("\n".join(summary(run)), flush=True)
                runs.append(run)
                if args.json:
                    args.json.write_text(json.dumps(runs, indent=1) + "\n")


def _run(engine: str, shops: int, conf: list[str], shuffle: bool,
         check_leads: bool = False) -> dict | None:
    """One run in a fresh process (None, with its error printed, when it failed)."""
    import shutil
    import tempfile

    logs = tempfile.mkdtemp(prefix="graphlink-events-") if shuffle else None
    cmd = [sys.executable, __file__, "--child", engine, str(shops),
           *(["--check-leads"] if check_leads else [])]
    for setting in conf + (shuffle_conf(logs) if logs else []):
        cmd += ["--conf", setting]
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    load_before = os.getloadavg()[0]
    try:
        code, out, err = _watched(cmd)
    finally:
        if logs:
            shutil.rmtree(logs, ignore_errors=True)
    lines = [x for x in out.splitlines() if x.startswith("{")]
    if code or not lines:
        # without the JVM's stack frames: the last run's cause was lost behind them
        said = "".join(x for x in err.splitlines(True) if not x.lstrip().startswith("at "))
        print(f"{engine} {shops}: failed (exit {code})\n{said[-3000:]}", flush=True)
        return None
    return {**json.loads(lines[-1]), "load": round(os.getloadavg()[0], 1),
            "load_before": round(load_before, 1), "started": started}


def _watched(cmd: list[str]) -> tuple[int, str, str]:
    """Run ``cmd``: its return code, stdout and stderr; the stage lines of its stderr
    (:data:`STAGE_MARK`) are printed as they come."""
    import threading

    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err: list[str] = []

    def relay() -> None:
        for line in child.stderr:
            if line.startswith(STAGE_MARK):
                print(f"  {child.args[3]} {child.args[4]}: {line[len(STAGE_MARK):]}", end="",
                      flush=True)
            else:
                err.append(line)

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    out = child.stdout.read()
    code = child.wait()
    reader.join()
    return code, out, "".join(err)


if __name__ == "__main__":
    main()
