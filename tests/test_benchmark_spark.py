"""benchmarks/spark.py measures what it says: what an Analysis holds without reading the
parts a saved analysis reads lazily, and the shuffle bytes of a real Spark event log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import benchmark_module

import graphlink as gl
from graphlink import api

ROOT = Path(__file__).resolve().parent.parent
LAZY = ("identifiers", "links", "evidence", "resolution", "shops")


def test_held_sizes_every_large_frame_of_an_analysis(analysis):
    found = benchmark_module("spark").held(analysis)
    sizes = {k: v for k, v in found.items() if k != "total"}
    assert all(isinstance(v, float) for v in sizes.values()), found
    for part in ("dataset.shops", "dataset.devices", "identifiers.uses", "identifiers.values",
                 "links.similar", "links.keys", "evidence", "resolution.pairs", "shops"):
        assert sizes[part] > 0, (part, found)
    assert found["total"] == pytest.approx(sum(sizes.values()), abs=0.1 * len(sizes))
    uses = analysis.identifiers.uses.memory_usage(deep=True).sum() / 2**20
    assert sizes["identifiers.uses"] == pytest.approx(uses, abs=0.05)


def test_held_reads_nothing_a_saved_analysis_reads_lazily(world, tmp_path):
    api.analyse_into_state(world, tmp_path / "state")
    again = gl.open_state(tmp_path / "state")
    held = benchmark_module("spark").held
    found = held(again)
    assert not set(LAZY) & set(again.__dict__)  # no part read by measuring it
    assert dict.keys(again.dataset.tables) == set()  # nor any table of the dataset
    for part in ("evidence", "identifiers.uses", "resolution.pairs", "dataset.devices"):
        assert found[part] == "not read yet", found
    again.evidence  # noqa: B018  (read now: then it counts)
    assert held(again)["evidence"] > 0
    assert held(again)["total"] == held(again)["evidence"] > 0


@pytest.mark.spark
def test_shuffle_bytes_are_read_from_sparks_event_log(tmp_path):
    pytest.importorskip("pyspark")  # tests/spark's marker fails CI without it
    bench = benchmark_module("spark")
    logs = tmp_path / "events"
    logs.mkdir()
    conf = [f"--conf={c}" for c in bench.shuffle_conf(logs)]
    job = """
import sys, time
from pyspark.sql import SparkSession, functions as F
builder = SparkSession.builder.master("local[2]").config("spark.sql.shuffle.partitions", 4)
for c in sys.argv[1:]:
    key, value = c.removeprefix("--conf=").split("=", 1)
    builder = builder.config(key, value)
spark = builder.getOrCreate()
print(time.time(), flush=True)
rows = spark.range(400000).withColumn("k", F.col("id") % 200000)
rows.groupBy("k").agg(F.sum("id")).collect()  # one shuffle of 200,000 keys (a few MB)
print(time.time(), flush=True)
spark.stop()
"""
    done = subprocess.run([sys.executable, "-c", job, *conf], capture_output=True, text=True,
                          check=True, timeout=300)
    started, ended = (float(x) for x in done.stdout.split()[-2:])
    marks = [(started, "loading"), (ended, "done")]
    found = bench.read_event_logs(logs, marks)
    assert found["total"]["shuffle_write_mb"] > 0, found
    # what was written was read (local mode: every byte read locally)
    assert found["total"]["shuffle_read_mb"] == found["total"]["shuffle_write_mb"]
    assert found["stages"]["loading"]["shuffle_write_mb"] == found["total"]["shuffle_write_mb"]
    assert found["stages"]["loading"]["jobs"] >= 1 and found["total"]["tasks"] >= 3
    assert found["largest"][0]["stage"] == "loading"
    # a task launched after the last stage began counts as "after"
    late = bench.read_event_logs(logs, [(started - 60, "loading"), (started - 30, "done")])
    assert set(late["stages"]) == {"after"}
