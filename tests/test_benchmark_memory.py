"""benchmarks/memory.py still finds the stages it wraps (a restructure broke it once,
unnoticed: the stage functions had moved out of graphlink.api)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import benchmark_module

ROOT = Path(__file__).resolve().parent.parent


def test_every_stage_it_wraps_exists():
    memory = benchmark_module("memory")
    modules = memory.stage_modules()
    missing = [(m, n) for m, n in memory.STAGES if not callable(getattr(modules[m], n, None))]
    assert missing == []


def test_it_measures_an_analysis_into_a_state(world):
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "memory.py"), str(world)],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["stage", "seconds"]
    stages = {line.split()[0]: float(line.split()[1]) for line in lines[1:-1]}
    assert {"extract", "find_links", "_resolved", "factory_leads", "write_analysis"} <= set(
        stages), out
    assert sum(stages.values()) > 0
    assert lines[-1].startswith("total ") and "peak RSS of the process" in lines[-1]
