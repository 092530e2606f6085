"""Scale yardstick: wall time and peak memory of every stage, at 10k / 100k / 1M shops.

    python benchmarks/scale.py                        # 10,000 and 100,000 shops
    python benchmarks/scale.py --sizes 10000 100000 1000000
    python benchmarks/scale.py --sizes 100000 --profile   # cProfile of one analysis
    python benchmarks/scale.py --sizes 100000 1000000 --from-state   # analyse once, read many

Worlds come from :func:`graphlink.synth.generate.generate_world` (seed 1) and are
cached under ``benchmarks/.worlds/`` (gitignored; generation is not timed).

For each size, one child process runs the pipeline stage by stage and reports
each stage's wall time, its CPU time (``cpu_s``: user + system of the process and
its finished workers; on a shared machine the steadier figure for comparing two
versions) and the process's peak resident memory *after* that
stage (``resource.getrusage`` maxrss, so it includes NumPy/pandas buffers that
tracemalloc misses; the peak is cumulative, so the last stage's figure is the
run's peak). A second child runs the same stages for a plain exact-identifier
union-find baseline (the one of benchmarks/quality.py: shops sharing any exact
device, payment, phone, email or ID number are one operator; a new shop is
flagged when it shares one with a banned shop), so graphlink's figures read as
ratios on the same machine. Then ``graphlink report signups DATASET --since
DATE --format json`` and ``graphlink report factories DATASET --format json``
run end to end as subprocesses, timed with their own rusage (``os.wait4``);
the factory report's cost is printed as a ratio of the sign-up report's. The
in-process stage ``signups html`` builds the same sign-up report with its HTML
page data and renders it as HTML (figures included); its cost is printed as a
ratio of the JSON report's (stages ``signups`` + ``report``) and left out of
the in-process total. The stage ``page index`` is the analysis's last step
(:meth:`graphlink.Analysis.index_pages`, as ``graphlink.analyse`` ends): the tables
the page reads, indexed by shop and value, as a saved run has its page index.
benchmarks/render.py measures the same from a saved state.

``--from-state`` (issue 19) instead runs ``graphlink analyse DATASET --state
DIR`` once, then ``report signups``, ``clusters``, ``report factories``,
``report spotcheck``, ``report all`` and ``neo4j push`` (to NEO4J_URI, when a
server answers) with ``--state DIR --require-fresh``, each a subprocess with
its wall time and its own peak memory, and prints ``report all`` as a ratio of
the sign-up report (target <= 1.3).

The sign-up date is the median creation date of the world's re-registrations
(as in benchmarks/quality.py). Benchmarks print figures; nothing here is a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORLDS = HERE / ".worlds"
SEED = 1
BASELINE_KINDS = ("device", "payment", "phone", "email", "id_number")
#: the stage that builds and renders the sign-up report as HTML (not in the in-process total)
HTML_STAGE = "signups html"


def _maxrss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2 ** 20


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and its finished workers so far: on
    a shared machine, far less sensitive to other jobs than wall time."""
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def world(shops: int) -> Path:
    """The cached world of ``shops`` shops (generated on first use)."""
    folder = WORLDS / f"world-{shops}-{SEED}"
    if not (folder / "shops.csv").exists() or not (WORLDS / f"world-{shops}-{SEED}.truth"
                                                   / "shops.csv").exists():
        from graphlink.synth.generate import generate_world

        print(f"generating {shops:,} shops in {folder} ...", file=sys.stderr, flush=True)
        generate_world(folder, shops=shops, seed=SEED)
    return folder


def since_of(folder: Path) -> str:
    """Median creation date of the re-registrations (half of them are scored)."""
    import pandas as pd

    truth = pd.read_csv(folder.with_name(folder.name + ".truth") / "shops.csv", dtype=str,
                        keep_default_na=False, usecols=["shop_id", "role"])
    shops = pd.read_csv(folder / "shops.csv", dtype=str, usecols=["shop_id", "created_at"])
    rereg = set(truth.loc[truth["role"] == "reregistration", "shop_id"])
    created = pd.to_datetime(shops.loc[shops["shop_id"].isin(rereg), "created_at"],
                             format="ISO8601")
    return str(created.median().date())


# --- children: run in a fresh process, print one JSON line --------------------

class _Clock:
    def __init__(self) -> None:
        self.stages: list[dict] = []

    def __call__(self, name: str, fn, *args, **kwargs):
        start, cpu = time.perf_counter(), _cpu_s()
        result = fn(*args, **kwargs)
        self.stages.append({"stage": name, "seconds": time.perf_counter() - start,
                            "cpu_s": _cpu_s() - cpu, "peak_mb": _maxrss_mb()})
        print(f"  {name}: cpu {self.stages[-1]['cpu_s']:.2f} s; "
              f"{self.stages[-1]['seconds']:.1f} s, peak "
              f"{self.stages[-1]['peak_mb']:,.0f} MB", file=sys.stderr, flush=True)
        return result


def child_graphlink(folder: Path, since: str) -> dict:
    from graphlink import api
    from graphlink.detection.detect import communities, join_factories
    from graphlink.linkage.identifiers import extract
    from graphlink.linkage.link import count_entities, entity_labels, find_links, pair_evidence
    from graphlink.linkage.model import comparison_levels, score_vectors, shop_kinds, train_vectors
    from graphlink.linkage.resolve import resolve_operators
    from graphlink.reports import report

    clock = _Clock()
    dataset = clock("load", api.load, folder)
    def extracted():
        found = extract(dataset)
        labels = entity_labels(found)
        return count_entities(found, labels), labels

    ids, entity = clock("extract", extracted)
    links = clock("link", find_links, ids)
    evidence = clock("evidence", pair_evidence, ids, links)
    kinds, n = shop_kinds(ids.uses), len(dataset.shops)
    vectors = clock("vectors", comparison_levels, evidence, kinds, dataset.shops)
    model = clock("model", train_vectors, vectors, kinds, n, entity, dataset.shops)
    resolution = clock("resolve", lambda: resolve_operators(
        dataset.shops["shop_id"], score_vectors(model, vectors, n)))
    shops = clock("communities", communities, resolution.operators, resolution.pairs)
    analysis = api.Analysis(dataset, ids, links, evidence, resolution, shops, model)
    analysis.shops = clock("factory leads", lambda: join_factories(
        shops, analysis.factory_leads.leads))  # as analyse does
    clock("page index", analysis.index_pages)  # analyse's last step
    # the JSON report builds no HTML page data (--format json does not either)
    signups = clock("signups", api.signups_report, analysis, since, page=False)
    clock("report", report.write, signups, "json", os.devnull)  # streamed, as the CLI does
    # the same sign-ups as an HTML page: built again with its page data, then drawn
    clock(HTML_STAGE, lambda: report.write(api.signups_report(analysis, since), "html",
                                           os.devnull))
    leads = clock("factories", api.factories_report, analysis)
    clock("factories report", report.write, leads, "json", os.devnull)
    records = signups.payload["signups"]
    flagged = sum(r["flag"] in ("high", "medium") for r in records)
    return {"stages": clock.stages, "comparisons": links.comparisons,
            "records": sum(len(t) for t in dataset.tables.values()),
            "signups": len(records), "flagged": flagged,
            "operators": int(shops["operator_id"].nunique())}


def _union_find(shop_ids, uses) -> dict:
    """Exact-identifier union-find over (kind, value) groups of strong identifiers."""
    parent = {s: s for s in shop_ids}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    strong = uses[uses["kind"].isin(BASELINE_KINDS)]
    first = strong.groupby(["kind", "value"], sort=False)["shop_id"].transform("first")
    for a, b in zip(first.tolist(), strong["shop_id"].tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {s: find(s) for s in parent}


def child_baseline(folder: Path, since: str) -> dict:
    import pandas as pd

    from graphlink import api
    from graphlink.linkage.identifiers import extract

    clock = _Clock()
    dataset = clock("load", api.load, folder)
    ids = clock("extract", extract, dataset)
    owner = clock("link", _union_find, dataset.shops["shop_id"].tolist(), ids.uses)

    def signups() -> pd.DataFrame:
        shops = dataset.shops
        banned = set(shops.loc[shops["status"] == "banned", "shop_id"])
        uses = ids.uses[ids.uses["kind"].isin(BASELINE_KINDS)][["shop_id", "kind", "value"]]
        pairs = uses.merge(uses, on=["kind", "value"], suffixes=("", "_b"))
        pairs = pairs[pairs["shop_id_b"].isin(banned) & (pairs["shop_id"] != pairs["shop_id_b"])]
        hits = pairs.groupby("shop_id")["shop_id_b"].apply(lambda s: sorted(set(s)))
        new = shops[shops["created_at"] >= pd.Timestamp(since)]["shop_id"]
        return pd.DataFrame({"shop_id": new.to_numpy(),
                             "operator_id": new.map(owner).to_numpy(),
                             "matches": [hits.get(s, []) for s in new]})

    frame = clock("signups", signups)
    clock("report", lambda: len(frame.to_json(orient="records", force_ascii=False)))
    return {"stages": clock.stages, "signups": len(frame),
            "flagged": int(frame["matches"].map(bool).sum()),
            "operators": len(set(owner.values()))}


def child_profile(folder: Path, since: str) -> dict:
    import cProfile
    import pstats

    from graphlink import api

    profile = cProfile.Profile()
    profile.enable()
    analysis = api.analyse(folder)
    api.signups_report(analysis, since)
    profile.disable()
    stats = pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative")
    stats.print_stats(45)
    stats.sort_stats("tottime").print_stats(30)
    return {}


def _run_child(mode: str, folder: Path, since: str) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--world", str(folder), "--since", since]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True,
                         cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1]) if out.stdout else {}


def end_to_end(folder: Path, since: str, command: str = "signups") -> dict:
    """`graphlink report signups` (or ``factories``) as a subprocess: wall time and its
    own peak memory."""
    args = ["report", command, str(folder), "--format", "json", "--quiet",
            "--output", os.devnull]
    return cli(args + (["--since", since] if command == "signups" else []))


def cli(args: list[str]) -> dict:
    """``graphlink ARGS`` as a subprocess (it must succeed): wall time, CPU (user +
    system), its own peak resident memory (``os.wait4``) and the peak of its resident
    plus swapped-out memory (``VmRSS + VmSwap``, sampled: on a machine with swap, the
    resident peak alone understates a run that did not fit)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "graphlink.cli", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL)
    swapped = _Footprint(proc.pid)
    swapped.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"graphlink {' '.join(args[:2])} failed "
                         f"({os.waitstatus_to_exitcode(status)})")
    return {"seconds": seconds, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024, "peak_rss_swap_mb": swapped.peak}


class _Footprint(threading.Thread):
    """Samples a process's ``VmRSS + VmSwap`` (MB) every half second while it lives."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak = pid, 0.0

    def run(self) -> None:
        while True:
            try:
                with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
                    fields = dict(line.split(":", 1) for line in status)
            except OSError:
                return
            if "VmRSS" not in fields:  # a zombie: exited, not yet reaped
                return
            mb = sum(int(fields.get(k, "0 kB").split()[0]) for k in ("VmRSS", "VmSwap")) / 1024
            self.peak = max(self.peak, mb)
            time.sleep(0.5)


def neo4j_reachable() -> bool:
    """Whether the Neo4j of NEO4J_URI (default the local server) answers."""
    from graphlink import neo4j as gn

    try:
        with gn.connection._connect(gn.connection._settings(None, None, None, None), 5.0):
            return True
    except Exception:  # noqa: BLE001 (any failure: not reachable)
        return False


@contextlib.contextmanager
def _neo4j_turn():
    """The lock the Neo4j tests take (tests/neo4j_fixtures.py): one writer at a time on
    a shared server."""
    import fcntl
    import tempfile

    with open(Path(tempfile.gettempdir()) / "graphlink-neo4j-tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def from_state(folder: Path, since: str, push: bool, keep: Path | None = None) -> list[dict]:
    """Issue 19: one analysis into a state, then each report and a Neo4j push read
    from it, each a subprocess (wall time, its own peak memory). ``keep``: the folder
    to analyse into (it must not exist) and keep, with the reports in its ``out``."""
    import tempfile

    rows = []
    with (contextlib.nullcontext(str(keep)) if keep is not None
          else tempfile.TemporaryDirectory(prefix="graphlink-scale-")) as tmp:
        if keep is not None:
            try:
                keep.mkdir(parents=True)
            except FileExistsError:
                raise SystemExit(f"{keep}: exists (--keep-state analyses into a new "
                                 "folder)") from None
        state, out = Path(tmp) / "state", Path(tmp) / "out"
        runs = [("analyse --state", ["analyse", str(folder), "--state", str(state)])]
        read = ["--state", str(state), "--require-fresh", "--format", "json", "--quiet"]
        runs += [(f"{name} (state)", [*cmd, str(folder), *read, "--output", os.devnull])
                 for name, cmd in (("report signups", ["report", "signups", "--since", since]),
                                   ("clusters", ["clusters"]),
                                   ("report factories", ["report", "factories"]),
                                   ("report spotcheck", ["report", "spotcheck"]))]
        runs.append(("report all (state)", ["report", "all", str(folder), "--state", str(state),
                                            "--require-fresh", "--since", since, "--quiet",
                                            "--output-dir", str(out)]))
        if push:
            runs.append(("neo4j push (state)", ["neo4j", "push", str(folder), "--state",
                                                str(state), "--require-fresh", "--quiet",
                                                "--format", "json"]))
        for name, args in runs:
            print(f"  {name} ...", file=sys.stderr, flush=True)
            with _neo4j_turn() if args[0] == "neo4j" else contextlib.nullcontext():
                rows.append({"stage": name, **cli(args)})
            r = rows[-1]
            print(f"  {name}: {r['seconds']:.1f} s, {r['cpu_s']:.1f} s CPU, peak "
                  f"{r['peak_mb']:,.0f} MB (with swap {r['peak_rss_swap_mb']:,.0f} MB)",
                  file=sys.stderr, flush=True)
    return rows


# --- parent: table -------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000],
                        help="numbers of shops (1000000 is opt-in: ~2.5 min to generate)")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of analyse + sign-ups at each size instead")
    parser.add_argument("--no-cli", action="store_true", help="skip the end-to-end CLI run")
    parser.add_argument("--from-state", action="store_true",
                        help="instead: one `graphlink analyse --state`, then each report, "
                        "`report all` and `neo4j push` (when Neo4j answers) from the state")
    parser.add_argument("--no-push", action="store_true",
                        help="with --from-state: no Neo4j push")
    parser.add_argument("--keep-state", type=Path, metavar="DIR",
                        help="with --from-state and one size: analyse into DIR/state (DIR "
                        "must not exist) and keep it, the reports in DIR/out")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--world", help=argparse.SUPPRESS)
    parser.add_argument("--since", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        run = {"graphlink": child_graphlink, "baseline": child_baseline,
               "profile": child_profile}[args.child]
        print(json.dumps(run(Path(args.world), args.since)))
        return

    if args.from_state:
        import pandas as pd

        push = not args.no_push and neo4j_reachable()
        if not args.no_push and not push:
            print("Neo4j does not answer (NEO4J_URI): no push", file=sys.stderr)
        table = []
        for n in args.sizes:
            folder = world(n)
            found = from_state(folder, since_of(folder), push, args.keep_state)
            table += [{"shops": n, **r} for r in found]
            wall = {r["stage"]: r["seconds"] for r in found}
            cpu = {r["stage"]: r["cpu_s"] for r in found}
            print(f"{n:,} shops: report all / report signups (from the state, one run): "
                  f"x{wall['report all (state)'] / wall['report signups (state)']:.2f} wall, "
                  f"x{cpu['report all (state)'] / cpu['report signups (state)']:.2f} CPU "
                  "(target <= 1.3)", flush=True)
        with pd.option_context("display.width", 200, "display.float_format", "{:,.1f}".format):
            print(pd.DataFrame(table).to_string(index=False))
        return

    rows, growth, costs, html_costs = [], [], [], []
    for n in args.sizes:
        folder = world(n)
        since = since_of(folder)
        if args.profile:
            _run_child("profile", folder, since)
            continue
        ours = _run_child("graphlink", folder, since)
        base = _run_child("baseline", folder, since)
        cli = None if args.no_cli else end_to_end(folder, since)
        cli_f = None if args.no_cli else end_to_end(folder, since, "factories")
        growth.append((n, ours["records"], dict((s["stage"], s["seconds"])
                                                for s in ours["stages"])["link"],
                       ours["comparisons"]))
        by_stage = {s["stage"]: s for s in base["stages"]}
        for s in ours["stages"]:
            b = by_stage.get(s["stage"])
            rows.append({"shops": n, "stage": s["stage"], "seconds": s["seconds"],
                         "cpu_s": s.get("cpu_s", float("nan")), "peak_mb": s["peak_mb"],
                         "base_seconds": b["seconds"] if b else float("nan"),
                         "base_peak_mb": b["peak_mb"] if b else float("nan")})
        total = sum(s["seconds"] for s in ours["stages"] if s["stage"] != HTML_STAGE)
        seconds = {s["stage"]: s["seconds"] for s in ours["stages"]}
        cpu_of = {s["stage"]: s.get("cpu_s", float("nan")) for s in ours["stages"]}
        html_costs.append((n, seconds[HTML_STAGE] / (seconds["signups"] + seconds["report"]),
                           cpu_of[HTML_STAGE] / (cpu_of["signups"] + cpu_of["report"])))
        base_total = sum(s["seconds"] for s in base["stages"])
        cpu = sum(s.get("cpu_s", float("nan")) for s in ours["stages"]
                  if s["stage"] != HTML_STAGE)
        rows.append({"shops": n, "stage": "total (in process)", "seconds": total, "cpu_s": cpu,
                     "peak_mb": ours["stages"][-1]["peak_mb"], "base_seconds": base_total,
                     "base_peak_mb": base["stages"][-1]["peak_mb"]})
        for name, run in (("signups", cli), ("factories", cli_f)):
            if run:
                rows.append({"shops": n, "stage": f"cli report {name}",
                             "seconds": run["seconds"], "peak_mb": run["peak_mb"],
                             "base_seconds": float("nan"), "base_peak_mb": float("nan")})
        if cli and cli_f:
            costs.append((n, cli_f["seconds"] / cli["seconds"]))
        print(f"{n:,} shops, {ours['records']:,} records, since {since}: "
              f"{ours['signups']:,} sign-ups, {ours['flagged']:,} flagged high/medium "
              f"(baseline {base['flagged']:,}); {ours['operators']:,} operators "
              f"(baseline {base['operators']:,}); {ours['comparisons']:,} comparisons",
              flush=True)
    if args.profile:
        return
    import pandas as pd

    table = pd.DataFrame(rows)
    table["x_base"] = table["seconds"] / table["base_seconds"]
    with pd.option_context("display.width", 200, "display.float_format", "{:,.1f}".format):
        print()
        print(table.to_string(index=False))
    for n, ratio in costs:
        print(f"\n{n:,} shops: cli report factories / cli report signups: x{ratio:.2f} "
              "(target <= 1.2)")
    for n, ratio, cpu_ratio in html_costs:
        # CPU too: on a loaded machine the wall ratio is mostly the scheduler's
        print(f"\n{n:,} shops: sign-up report as HTML / as JSON (build and write, in "
              f"process): x{ratio:.2f} wall, x{cpu_ratio:.2f} CPU (target <= 1.3)")
    for (n1, r1, t1, c1), (n2, r2, t2, c2) in zip(growth, growth[1:], strict=False):
        print(f"\nlinking {n1:,} -> {n2:,} shops: records x{r2 / r1:.1f}, "
              f"link time x{t2 / t1:.1f} ({t2 / t1 / (r2 / r1):.2f}x as fast as the data), "
              f"comparisons x{c2 / c1:.1f} ({c2 / c1 / (r2 / r1):.2f}x; target <= 1.2)")


if __name__ == "__main__":
    main()
