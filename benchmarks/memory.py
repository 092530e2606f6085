"""Where `graphlink analyse DATASET --state DIR` holds its memory: peak per stage.

    python benchmarks/memory.py DATASET                      # state in a temporary folder
    python benchmarks/memory.py benchmarks/.worlds/world-100000-1 --state /tmp/state

Runs :func:`graphlink.api.analyse_report` (what ``graphlink analyse --state``
runs) in this process with the pipeline's stage functions wrapped, and a thread
that samples every 0.25 s the process's resident memory (``VmRSS``) and the
proportional memory (``Pss``, shared pages split) of the process and its worker
processes together: forked workers share the parent's pages until they touch
them, so summing their RSS would count those pages twice. Prints, per stage,
its wall time and the peaks seen while it ran, then the process's own peak
(``ru_maxrss``). Run it at a few sizes (30k, 60k, 100k shops) to see which
stage grows faster than the data. Benchmarks print figures; nothing here is a
test.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: (module, function) pairs wrapped as stages, in pipeline order: the stage functions
#: as graphlink.workflow.analyse (and the modules after it) look them up
STAGES = [("analyse", "extract"), ("analyse", "entity_labels"), ("analyse", "count_entities"),
          ("analyse", "find_links"), ("analyse", "pair_evidence"),
          ("analyse", "comparison_levels"), ("analyse", "second_look"),
          ("analyse", "sampled_u"), ("analyse", "train_vectors"),
          ("analyse", "evidence_weights"), ("analyse", "score_vectors"),
          ("analyse", "_resolved"), ("analyse", "communities"), ("analysis", "factory_leads"),
          ("analyse", "join_factories"), ("runs", "stabilise"), ("runs", "changes"),
          ("with_state", "save"), ("state", "_shops_table"), ("state", "_pairs_table"),
          ("saved", "write_analysis")]


def _kib(path: str, field: str) -> float:
    """A ``field:`` line of a /proc file, in MB (0 when the process is gone)."""
    try:
        with open(path, encoding="ascii") as lines:
            for line in lines:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as text:
                found += [int(c) for c in text.read().split()]
    except OSError:
        pass
    return found


class Meter:
    """The current stage and the memory peaks seen in each.

    >>> meter = Meter()
    >>> meter.enter("load"), meter.stage
    (None, 'load')
    """

    def __init__(self) -> None:
        self.stage = "start"
        self.peaks: dict[str, list[float]] = {}
        self.seconds: dict[str, float] = {}
        self._since = time.perf_counter()

    def enter(self, stage: str) -> None:
        """From now on memory is counted for ``stage`` (the time so far for the last one)."""
        now = time.perf_counter()
        self.seconds[self.stage] = self.seconds.get(self.stage, 0.0) + now - self._since
        self.stage, self._since = stage, now
        self.sample()  # every stage that ran is listed, even one shorter than a tick

    def sample(self) -> None:
        """One reading: RSS of this process, PSS of it and its workers."""
        me = os.getpid()
        kids = _children(me)
        rss = _kib(f"/proc/{me}/status", "VmRSS:")
        tree = (_kib(f"/proc/{me}/smaps_rollup", "Pss:")
                + sum(_kib(f"/proc/{k}/smaps_rollup", "Pss:") for k in kids)) if kids else rss
        peak = self.peaks.setdefault(self.stage, [0.0, 0.0, 0])
        peak[0], peak[1], peak[2] = max(peak[0], rss), max(peak[1], tree), max(peak[2], len(kids))

    def run(self, every: float = 0.25) -> None:
        """Sample until the process ends (a daemon thread's body)."""
        while True:
            self.sample()
            time.sleep(every)


def _wrap(meter: Meter, module, name: str) -> None:
    function = getattr(module, name)

    @functools.wraps(function)
    def staged(*args, **kwargs):
        outer = meter.stage
        meter.enter(name)
        try:
            return function(*args, **kwargs)
        finally:
            meter.enter(outer)

    setattr(module, name, staged)


def stage_modules() -> dict:
    """The modules :data:`STAGES` names, by their short names there.

    >>> modules = stage_modules()
    >>> all(callable(getattr(modules[module], name)) for module, name in STAGES)
    True
    """
    from graphlink.scoring import analysis
    from graphlink.state import runs, saved
    from graphlink.state import store as state
    from graphlink.workflow import analyse, with_state

    return {"analyse": analyse, "analysis": analysis, "runs": runs, "state": state,
            "saved": saved, "with_state": with_state}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--state", type=Path, help="state folder (emptied first; default: a "
                        "temporary one)")
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from graphlink import api

    meter = Meter()
    modules = stage_modules()
    for module, name in STAGES:
        _wrap(meter, modules[module], name)
    threading.Thread(target=meter.run, daemon=True).start()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="graphlink-memory-") as tmp:
        folder = options.state or Path(tmp) / "state"
        if folder.exists() and any(folder.iterdir()):
            raise SystemExit(f"{folder}: not empty (a new state is analysed into it)")
        api.analyse_report(options.dataset, folder)
    meter.enter("end")
    print(f"{'stage':<22} {'seconds':>8} {'peak RSS MB':>12} {'peak PSS+workers MB':>20}")
    for _module, name in [(None, "start"), *STAGES]:
        if name in meter.peaks:
            rss, tree, _ = meter.peaks[name]
            print(f"{name:<22} {meter.seconds.get(name, 0.0):8.1f} {rss:12,.0f} {tree:20,.0f}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"total {time.perf_counter() - started:.1f} s; peak RSS of the process {own:,.0f} MB "
          "('start' holds the time between wrapped stages)")


if __name__ == "__main__":
    main()
