"""Where a Neo4j push's time goes: each statement's wall time, server CPU and client CPU.

    python benchmarks/neo4j_push.py STATE                 # a state of `graphlink analyse`
    python benchmarks/neo4j_push.py STATE --profile       # also PROFILE each first batch
    NEO4J_URI=bolt://127.0.0.1:7688 python benchmarks/neo4j_push.py STATE --batch-size 20000

Reads the analysis saved in STATE (``graphlink analyse DATASET --state STATE``),
builds the push's rows (``neo4j._plan``: client CPU), EMPTIES the graphlink graph
of the database at NEO4J_URI (default the local server) and writes the rows
statement by statement as a push does. The server's CPU time comes from
``/proc/PID/stat`` of the server of ``scripts/neo4j-local`` (so it is measured
only for that server; GRAPHLINK_NEO4J_HOME picks its home), which stays
meaningful on a machine shared with other jobs where wall times do not.
Benchmarks print figures; nothing here is a test.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _server_cpu() -> float | None:
    home = Path(os.environ.get("GRAPHLINK_NEO4J_HOME") or ROOT / ".cache" / "neo4j")
    try:
        pid = int((home / "run" / "neo4j.pid").read_text().strip())
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _show(plan: dict, depth: int = 0) -> None:
    print(f"    {'  ' * depth}{plan['operatorType']:<40} rows={plan.get('rows')} "
          f"dbHits={plan.get('dbHits')}")
    for child in plan.get("children", []):
        _show(child, depth + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("state", type=Path)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--profile", action="store_true", help="PROFILE each first batch")
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import graphlink as gl
    from graphlink import neo4j as gn
    from graphlink.neo4j.bolt import _run
    from graphlink.neo4j.connection import _connect, _settings
    from graphlink.neo4j.model import SCHEMA_STATEMENTS
    from graphlink.neo4j.plan import _plan

    analysis = gl.open_state(options.state)
    start, cpu = time.perf_counter(), time.process_time()
    steps = _plan(analysis)
    print(f"rows: {sum(len(s.rows) for s in steps):,}, built in "
          f"{time.perf_counter() - start:.1f} s ({time.process_time() - cpu:.1f} s CPU)")
    settings = _settings(None, None, None, None)
    totals = [0.0, 0.0, 0.0]
    # the Neo4j tests' lock (tests/neo4j_fixtures.py): one writer at a time on a shared server
    with open(Path(tempfile.gettempdir()) / "graphlink-neo4j-tests.lock", "w") as lock, \
            _connect(settings) as driver, driver.session(database=settings.database) as session:
        fcntl.flock(lock, fcntl.LOCK_EX)
        gn.clear()
        for statement in SCHEMA_STATEMENTS:
            session.run(statement).consume()
        for step in steps:
            wall, server, client = time.perf_counter(), _server_cpu(), time.process_time()
            for start in range(0, len(step.rows), options.batch_size):
                rows = step.rows[start:start + options.batch_size]
                if options.profile and not start:
                    summary = session.run("PROFILE " + step.statement, rows=rows,
                                          push_id="benchmark").consume()
                    _show(summary.profile)
                else:
                    session.execute_write(_run, step.statement, rows=rows, push_id="benchmark")
            used = [time.perf_counter() - wall,
                    (_server_cpu() or 0.0) - (server or 0.0), time.process_time() - client]
            totals = [t + u for t, u in zip(totals, used, strict=True)]
            print(f"{step.label:<32} {len(step.rows):>9,} rows  wall {used[0]:7.1f} s  "
                  f"server CPU {used[1]:7.1f} s  client CPU {used[2]:6.1f} s", flush=True)
    print(f"{'total':<32} {'':>14}  wall {totals[0]:7.1f} s  server CPU {totals[1]:7.1f} s  "
          f"client CPU {totals[2]:6.1f} s")


if __name__ == "__main__":
    main()
