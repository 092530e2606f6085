"""The Spark engine (issue 16): loading, validation, normalisation, identifier extraction
and entity labels, blocking, value comparison, pair evidence, comparison vectors and
their second look, the match model's counts and scoring (EM on the driver) and the
operators' connected components on Spark, the later stages on the driver; its outputs
equal the embedded engine's.

Marked ``spark``: local[2] with 4 shuffle partitions; without PySpark the tests skip
on a developer machine and fail in CI (``CI=true``).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import BASE, write_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlink.core.errors import ConfigError, DatasetError

# small Arrow batches: a pandas function must not care where a batch ends
CONF = ["spark.sql.shuffle.partitions=4", "spark.sql.execution.arrow.maxRecordsPerBatch=200"]
OPTIONS = {"engine": "spark", "spark_master": "local[2]", "spark_conf": CONF}


try:  # the classes the module fixture watches (the tests skip or fail without PySpark)
    from pyspark.sql import SparkSession
    from pyspark.sql.classic.dataframe import DataFrame
except ImportError:
    SparkSession = DataFrame = None


def _need_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        message = "PySpark is not installed: pip install -e '.[test,spark]'"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} [CI=true: the spark tests must run, not skip]",
                        pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def spark_world(tmp_path_factory) -> Path:
    _need_pyspark()
    from graphlink.synth.generate import generate_world

    out = tmp_path_factory.mktemp("spark") / "world"
    generate_world(out, shops=600, seed=0)
    return out


def _parquet_copy(world: Path, out: Path) -> Path:
    """The world as Parquet: text columns, but typed dates and coordinates (as exports
    write them)."""
    out.mkdir()
    for csv in world.glob("*.csv"):
        frame = pd.read_csv(csv, dtype=str, keep_default_na=False).replace("", None)
        for col in ("created_at", "seen_at", "first_seen"):
            if col in frame and csv.stem in ("shops", "devices"):
                frame[col] = pd.to_datetime(frame[col], format="ISO8601")
        for col in ("lat", "lon"):
            if col in frame:
                frame[col] = pd.to_numeric(frame[col])
        # microseconds, as Spark and most exporters write them (Spark reads no nanoseconds)
        frame.to_parquet(out / f"{csv.stem}.parquet", index=False, coerce_timestamps="us")
    return out


def _outputs(analysis) -> dict[str, str]:
    """The JSON of the contract's reports: operators and communities, sign-up flags and
    matches, factory leads, spot checks."""
    from graphlink import api
    from graphlink.reports.report import render

    return {"clusters": render(api.clusters_report(analysis, page=False), "json"),
            "signups": render(api.signups_report(analysis, "2000-01-01", page=False), "json"),
            "factories": render(api.factories_report(analysis, page=False), "json"),
            "spotcheck": render(api.spotcheck_report(analysis, 20), "json")}


@pytest.fixture(scope="module")
def embedded_analysis(spark_world):
    import graphlink as gl

    return gl.analyse(spark_world)


@pytest.fixture(scope="module")
def embedded(embedded_analysis) -> dict[str, str]:
    return _outputs(embedded_analysis)


@pytest.fixture(scope="module")
def spark_analysis(spark_world):
    """One analysis of the world on Spark, shared by the tests that read it, and what the
    driver exchanged with Spark while it ran: the columns and rows of every table
    collected (``toPandas``, ``toArrow``) and the rows of every pandas table shipped to Spark
    (``createDataFrame``). The embedded extraction must not run."""
    import graphlink as gl
    from graphlink.workflow import analyse as workflow

    collected, shipped = [], []
    to_pandas, to_arrow = DataFrame.toPandas, DataFrame.toArrow
    create = SparkSession.createDataFrame

    def collect(frame):
        local = to_pandas(frame)
        collected.append((tuple(local.columns), len(local)))
        return local

    def collect_arrow(frame):
        local = to_arrow(frame)
        collected.append((tuple(local.column_names), local.num_rows))
        return local

    def ship(spark, data, *args, **kwargs):
        shipped.append(len(data) if isinstance(data, pd.DataFrame) else None)
        return create(spark, data, *args, **kwargs)

    def embedded_extract(*args, **kwargs):
        raise AssertionError("the embedded extraction ran on engine='spark'")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DataFrame, "toPandas", collect)
        patch.setattr(DataFrame, "toArrow", collect_arrow)
        patch.setattr(SparkSession, "createDataFrame", ship)
        patch.setattr(workflow, "extract", embedded_extract)
        analysis = gl.analyse(spark_world, **OPTIONS)
    return analysis, collected, shipped


def _same_links(got, expected) -> None:
    """Equal :class:`graphlink.linkage.link.Links`: links, hub blocks, keys and counts."""
    pd.testing.assert_frame_equal(got.similar, expected.similar)
    pd.testing.assert_frame_equal(got.hub_blocks, expected.hub_blocks)
    pd.testing.assert_frame_equal(got.keys, expected.keys)
    assert (got.comparisons, got.candidates) == (expected.comparisons, expected.candidates)


@pytest.mark.spark
def test_spark_engine_gives_the_embedded_outputs_from_csv(spark_world, embedded,
                                                          embedded_analysis, spark_analysis):
    import graphlink as gl

    analysis = spark_analysis[0]
    got = _outputs(analysis)
    # a world with every flag, matches and factory leads: there is something to compare
    assert all(f'"flag": "{flag}"' in embedded["signups"] for flag in ("high", "medium", "low"))
    assert '"banned_shop_id"' in embedded["signups"] and '"factory_id"' in embedded["factories"]
    for name, text in embedded.items():
        assert got[name] == text, name
    # blocking and comparison on Spark: the same candidate pairs, links, keys and counts
    assert len(embedded_analysis.links.similar) > 500
    _same_links(analysis.links, embedded_analysis.links)
    # pair evidence and comparison vectors on Spark: the same rows, the same pair scores
    pd.testing.assert_frame_equal(analysis.evidence, embedded_analysis.evidence)
    pd.testing.assert_frame_equal(analysis.resolution.pairs, embedded_analysis.resolution.pairs)
    # the second look, the match model (EM on the driver, scoring on Spark) and the
    # operators (components on Spark): the embedded engine's; the world has pairs of the
    # second look's levels (surname 69, resembling 28)
    assert analysis.model.to_dict() == embedded_analysis.model.to_dict()
    pd.testing.assert_frame_equal(analysis.resolution.operators,
                                  embedded_analysis.resolution.operators)
    pd.testing.assert_frame_equal(analysis.shops, embedded_analysis.shops)
    # the hand-over: the same canonical tables as the embedded loaders give
    reference = gl.load(spark_world)
    for name, frame in reference.tables.items():
        pd.testing.assert_frame_equal(analysis.dataset.tables[name].drop(columns="_line"),
                                      frame.drop(columns="_line"), check_dtype=True)


@pytest.mark.spark
def test_the_match_model_on_spark_samples_fitted_pairs_above_its_bound(embedded_analysis):
    """EM reads every fitted pair up to the bound (the embedded model, bit for bit), a
    hashed sample of them above it (counts and pairs still exact, m and priors close);
    the vectors collected from Spark are the embedded ones."""
    import numpy as np

    from graphlink.linkage.link import entity_labels
    from graphlink.linkage.model import comparison_levels, shop_kinds, train_vectors
    from graphlink.spark import model as on_spark
    from graphlink.spark.evidence import comparison_vectors
    from graphlink.spark.session import spark_session

    spark_session("local[2]", CONF)
    done = embedded_analysis
    kinds, n, shops = shop_kinds(done.identifiers.uses), len(done.dataset.shops), done.dataset.shops
    entity = entity_labels(done.identifiers)
    vec = comparison_levels(done.evidence, kinds, shops)
    got = comparison_vectors(done.evidence, kinds, shops)  # collected from Spark
    for field in ("shop_a", "shop_b", "level", "users", "context"):
        np.testing.assert_array_equal(getattr(got, field), getattr(vec, field))
        assert getattr(got, field).dtype == getattr(vec, field).dtype
    whole = train_vectors(vec, kinds, n, entity, shops)
    assert on_spark.train_vectors(vec, kinds, n, entity, shops).to_dict() == whole.to_dict()
    _, pairs, fitted = on_spark._counts(on_spark.vector_frame(vec), entity)
    assert (pairs, fitted) == (len(vec.level), 73)
    half = on_spark.train_vectors(vec, kinds, n, entity, shops, limit=fitted // 2, seed=1)
    assert (half.pairs, half.counts) == (whole.pairs, whole.counts)
    assert abs(half.prior(0) / whole.prior(0) - 1) < 0.25, (half.prior(0), whole.prior(0))
    scored = on_spark.score_vectors_on_spark(half, vec, n)
    assert scored["p"].corr(on_spark.score_vectors(whole, vec, n)["p"]) > 0.98


@pytest.mark.spark
def test_operators_on_spark_are_connected_components_by_label_propagation(spark_world):
    """A path of 11 shops (10 rounds: checkpoints on the way), a pair under MERGE and a
    shop with no pair: the embedded engine's operators, and its smallest-id names."""
    import numpy as np

    from graphlink.linkage.resolve import resolve_operators
    from graphlink.spark import resolve
    from graphlink.spark.session import spark_session

    spark = spark_session("local[2]", CONF)
    chain = resolve._chain(7).sample(frac=1.0, random_state=0)  # rows in no order
    labels, rounds = resolve.components(spark.createDataFrame(chain), checkpoint_every=3)
    assert set(labels.toPandas()["label"]) == {"S0000"} and rounds == 7
    pairs = pd.DataFrame({"shop_a": [*chain["b"], "T1"], "shop_b": [*chain["a"], "T2"]})
    pairs["p"] = np.r_[np.full(len(chain), 0.9), 0.5]
    shops = pd.Series(["T2", "T1", "T0", *reversed(chain["a"].tolist()), "S0006"])
    got = resolve._operators(shops, labels.select("id", "label").toPandas())
    pd.testing.assert_frame_equal(got, resolve_operators(shops, pairs).operators)
    assert got["operator_id"].nunique() == 4


@pytest.mark.spark
@pytest.mark.parametrize("batches", [2, 64])
def test_communities_on_spark_are_the_embedded_communities(embedded_analysis, monkeypatch,
                                                           batches):
    """The world's pairs, two more parts where Leiden splits something (rings joined
    by weak ties) and a random graph where its seed matters, in no order: each batch of
    parts partitioned in a Python worker gives the embedded engine's communities, the
    parts' components found on the driver or by label propagation; with 2 batches each
    holds many parts."""
    import numpy as np

    from graphlink.detection import detect
    from graphlink.spark import detect as on_spark
    from graphlink.spark.session import spark_session

    monkeypatch.setattr(detect, "BATCHES", batches)
    monkeypatch.setattr(on_spark, "BATCHES", batches)
    spark = spark_session("local[2]", CONF)
    done = embedded_analysis.resolution
    rings = [(f"{k}{r}{i}", f"{k}{r}{j}", 0.9) for k in "QR" for r in range(6)
             for i in range(4) for j in range(i + 1, 4)]
    rings += [(f"{k}{r}0", f"{k}{r + 1}0", 0.3) for k in "QR" for r in range(5)]
    rng = np.random.default_rng(0)  # and a random graph, where Leiden's draw matters
    rings += [(f"T{a:03d}", f"T{b:03d}", round(p, 2)) for a, b, p in zip(
        rng.integers(0, 300, 900), rng.integers(0, 300, 900), rng.uniform(0.3, 1, 900),
        strict=True) if a != b]
    pairs = pd.concat([done.pairs[["shop_a", "shop_b", "p"]],
                       pd.DataFrame(rings, columns=["shop_a", "shop_b", "p"])])
    pairs = pairs.sample(frac=1.0, random_state=0).reset_index(drop=True)
    new = sorted({s for a, b, _ in rings for s in (a, b)})
    ops = pd.concat([done.operators, pd.DataFrame({"shop_id": new,
                                                   "operator_id": ["OP-" + s for s in new]})],
                    ignore_index=True)
    want = detect.communities(ops, pairs, seed=3)
    if batches == 2:  # both batches hold parts
        assert len(np.unique(detect.batch_of_parts(detect.operator_edges(ops, pairs)))) == 2
    split = want[want["shop_id"].str.match("[QR]")]["community_id"].nunique()
    assert split > 2  # Leiden split the rings' two parts
    assert not want.equals(detect.communities(ops, pairs, seed=4))  # the seed matters
    frame = spark.createDataFrame(pairs, "shop_a string, shop_b string, p double")
    for collect in (on_spark.COLLECT_EDGES, 0):  # components on the driver, on Spark
        got = on_spark.communities(ops, frame, seed=3, collect=collect)
        pd.testing.assert_frame_equal(got, want)


def _banned_world(rng):
    """Pairs of a random graph (ties of equal p among them) around 5 banned shops, a
    chain of 8 pairs from B0 (within the weak tie's cost: more rounds than 3 hops),
    pairs under WEAK, and the shops: the banned shops' ties and 40 more signed up after
    the bans."""
    import numpy as np

    a, b = rng.integers(0, 300, 700), rng.integers(0, 300, 700)
    p = np.round(np.exp(rng.uniform(np.log(0.0005), 0, 700)), 2).clip(0.001, 1.0)
    rows = [(f"S{x:03d}", f"S{y:03d}", q) for x, y, q in zip(a, b, p, strict=True) if x != y]
    ties = zip(rng.integers(0, 300, 5), (0.97, 0.95, 0.6, 0.3, 0.05), strict=True)
    rows += [(f"B{k}", f"S{x:03d}", q) for k, (x, q) in enumerate(ties)]
    chain = ["B0", *(f"C{i}" for i in range(9))]
    rows += [(u, v, 0.6) for u, v in zip(chain, chain[1:], strict=False)]
    pairs = pd.DataFrame(rows, columns=["shop_a", "shop_b", "p"])
    pairs[["shop_a", "shop_b"]] = np.sort(pairs[["shop_a", "shop_b"]].to_numpy(), axis=1)
    pairs = pairs.drop_duplicates(["shop_a", "shop_b"]).reset_index(drop=True)
    ids = sorted(set(pairs["shop_a"]) | set(pairs["shop_b"]))
    banned = [s.startswith("B") for s in ids]
    shops = pd.DataFrame({"shop_id": ids, "status": np.where(banned, "banned", "active"),
                          "banned_at": pd.to_datetime(np.where(banned, "2026-01-01", None)),
                          "created_at": pd.Timestamp("2025-01-01"), "operator_id": ids,
                          "community_id": "C-1"})
    tied = pairs["shop_b"][pairs["shop_a"].str.startswith("B")]  # and the banned shops' ties
    new = shops["shop_id"].isin(tied) | shops.index.isin(shops.sample(40, random_state=1).index)
    shops.loc[new, "created_at"] = pd.Timestamp("2026-03-01")
    return pairs, shops


@pytest.mark.spark
def test_sign_ups_and_spot_checks_from_the_banned_shops_neighbourhood(monkeypatch):
    """The pairs kept by the neighbourhood found by joins are those among the shops
    within the weak tie's cost of a banned shop (PairGraph's search, any number of
    hops); sign-ups, weak ties and spot checks scored on them alone are those scored
    on every pair."""
    import numpy as np

    from graphlink.core.paths import PairGraph
    from graphlink.scoring import score
    from graphlink.spark.scoring import CUTOFF, neighbourhood
    from graphlink.spark.session import spark_session

    spark = spark_session("local[2]", CONF)
    pairs, shops = _banned_world(np.random.default_rng(5))
    banned = shops["shop_id"][shops["status"] == "banned"].tolist()
    frame = spark.createDataFrame(pairs, "shop_a string, shop_b string, p double")
    kept, rounds = neighbourhood(frame, banned)
    kept = kept.toPandas().sort_values(["shop_a", "shop_b"], ignore_index=True)
    near = PairGraph.of(pairs, score.WEAK).near(set(banned), CUTOFF)
    want = pairs[(pairs["p"] >= score.WEAK) & pairs["shop_a"].isin(near)
                 & pairs["shop_b"].isin(near)].sort_values(["shop_a", "shop_b"],
                                                            ignore_index=True)
    pd.testing.assert_frame_equal(kept, want)
    assert {"C7", "C8"} <= near and rounds > 8  # 8 pairs from B0: not only 3 hops
    assert 0 < len(kept) < (pairs["p"] >= score.WEAK).sum() // 2  # a part of the graph
    monkeypatch.setattr(score, "PRUNE_ABOVE", 10)  # the sign-ups' own pruning search too
    whole = score.score_signups(shops, pairs, pd.Timestamp("2026-02-01"), None)
    assert {r["flag"] for r in whole} >= {"high", "low", "none"}
    assert any(r["flag"] == "none" and r["risk"] > 0 for r in whole)  # a weak tie
    assert score.score_signups(shops, kept, pd.Timestamp("2026-02-01"), None) == whole
    pd.testing.assert_frame_equal(score.nearest_banned(kept, banned),
                                  score.nearest_banned(pairs, banned))


@pytest.mark.spark
def test_spark_engine_reads_parquet_as_the_embedded_engine_reads_csv(spark_world, tmp_path):
    """Only the reading differs from CSV: the hand-over (canonical tables, the devices
    and payments collected when read) is the embedded engine's, and so are the canonical
    forms computed on Spark; the stages after it are the CSV test's."""
    import graphlink as gl
    from graphlink.linkage.identifiers import canonical
    from graphlink.spark.engine import prepare
    from graphlink.spark.identifiers import forms_frame

    parquet = _parquet_copy(spark_world, tmp_path / "parquet")
    dataset, tables = prepare(parquet, master="local[2]", conf=CONF)
    for name, frame in gl.load(spark_world).tables.items():
        pd.testing.assert_frame_equal(dataset.tables[name].drop(columns="_line"),
                                      frame.drop(columns="_line"), check_dtype=True)
    forms = forms_frame(tables).toPandas()
    assert len(forms) > 1000
    assert all(canonical(kind)(raw) == form for kind, raw, form in forms.itertuples(index=False))


@pytest.mark.spark
def test_blocking_on_spark_caps_blocks_as_the_embedded_engine(spark_world, monkeypatch):
    """With blocks capped at 3 values the 600-shop world has hub blocks in most passes
    (a park, a /24, half of an ID number): the same ones, and the same links, on Spark;
    in chunks of 7 values, so that most windows cross a chunk's end."""
    import graphlink as gl
    from graphlink.linkage import link
    from graphlink.linkage.identifiers import extract
    from graphlink.spark import blocking
    from graphlink.spark.session import spark_session

    monkeypatch.setattr(link, "MAX_BLOCK", 3)
    monkeypatch.setattr(blocking, "MAX_BLOCK", 3)
    monkeypatch.setattr(blocking, "CHUNK", 7)
    ids = extract(gl.load(spark_world))
    ids = link.count_entities(ids, link.entity_labels(ids))
    expected = link.find_links(ids)
    assert len(expected.hub_blocks) > 50 and expected.hub_blocks["pass"].nunique() > 5
    _same_links(blocking.find_links(ids, spark_session("local[2]", CONF)), expected)


@pytest.mark.spark
def test_identifiers_on_spark_are_the_embedded_engines(spark_analysis, embedded_analysis):
    """Extraction and entity labels on Spark (graphlink.spark.extract): the uses and values
    of the embedded engine (dtypes, order, None and NaN alike; ``entities`` counted over
    the entity labels found on Spark), a use's ``line`` the row's number in read order
    (the embedded loaders give the line in the file); and the embedded extraction of the
    Spark hand-over gives them too, line and all."""
    import warnings

    from graphlink.linkage.identifiers import canonical, extract
    from graphlink.linkage.link import count_entities

    analysis = spark_analysis[0]
    got, expected = analysis.identifiers, embedded_analysis.identifiers
    assert len(got.uses) > 6000 and got.values["entities"].lt(got.values["shops"]).any()
    lines = {name: frame["_line"].to_numpy() for name, frame in
             embedded_analysis.dataset.tables.items()}
    file_lines = [lines[source][row - 1] for source, row in zip(got.uses["source"],
                                                                 got.uses["line"], strict=True)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # None against NaN is a difference
        pd.testing.assert_frame_equal(got.values, expected.values)
        pd.testing.assert_frame_equal(got.uses.assign(line=file_lines), expected.uses)
        here = count_entities(extract(analysis.dataset))  # devices, payments: read now
        pd.testing.assert_frame_equal(got.uses, here.uses)
        pd.testing.assert_frame_equal(got.values, here.values)
    forms = got.uses.drop_duplicates(["kind", "raw"])
    assert all(canonical(kind)(raw) == value for kind, raw, value in
               zip(forms["kind"], forms["raw"], forms["value"], strict=True))


@pytest.mark.spark
def test_the_driver_holds_no_event_table_and_ships_no_identifiers(spark_analysis):
    """On Spark the driver never collects the identifiers: Spark writes them, and the
    analysis reads them from its files when asked (here: whole, equal to the embedded
    engine's, above); the driver collects each shop's entity and kinds, and never the
    devices, the payments or the canonical forms; it ships nothing as large as the
    identifiers back to Spark (the shops table, links, evidence and sampled shops go)."""
    from graphlink.core.schema import TABLES
    from graphlink.spark.load import SparkTables

    analysis, collected, shipped = spark_analysis
    ids = analysis.identifiers
    columns = [c for c, _ in collected]
    assert [c for c, n in collected if n >= len(ids.values)] == []
    assert [n for c, n in collected if c == ("shop_id", "entity", "kinds")] == [
        ids.uses["shop_id"].nunique()]
    files = analysis.__dict__["_files"]  # (table_file: None once read whole)
    assert files["uses"][1].is_dir() and files["values"][1].is_dir()
    assert ("kind", "raw", "value") not in columns
    for name in ("devices", "payments"):
        assert not any(set(TABLES[name].columns) <= set(c) for c in columns), name
    assert isinstance(analysis.dataset.tables, SparkTables)
    assert max(n for n in shipped if n is not None) < len(ids.values) / 2


@pytest.mark.spark
def test_validation_names_file_column_and_row_not_lines(tmp_path):
    _need_pyspark()
    import graphlink as gl

    bad = {**BASE, "accounts.csv": BASE["accounts.csv"] + "A4,S9,,,,,2025-13-45\n"}
    folder = write_dataset(tmp_path / "bad", bad)
    with pytest.raises(DatasetError) as caught:
        gl.load(folder, **OPTIONS)
    text = str(caught.value)
    assert ("accounts.csv column shop_id: unknown shop_id 'S9' (not in the shops table) "
            "(row with account_id 'A4')") in text
    assert ("accounts.csv column created_at: unparseable date '2025-13-45' (expected ISO "
            "8601) (row with account_id 'A4')") in text
    assert "knows no line numbers" in text
    assert all(p.line is None for p in caught.value.problems)
    assert {p.reason for p in caught.value.problems} == {"dangling reference", "bad date"}


@pytest.mark.spark
def test_validation_finds_missing_files_columns_and_duplicates(tmp_path):
    _need_pyspark()
    import graphlink as gl

    bad = {**BASE, "shops.csv": BASE["shops.csv"] + "S1,again,2025-01-03,active,,,,\n",
           "accounts.csv": None, "devices.csv": "device_id,ip\nD1,10.0.0.1\n"}
    with pytest.raises(DatasetError) as caught:
        gl.load(write_dataset(tmp_path / "bad", bad), **OPTIONS)
    text = str(caught.value)
    assert "missing required file (neither accounts.csv nor accounts.parquet)" in text
    assert "shops.csv column shop_id: duplicate shop_id 'S1' (2 rows)" in text
    assert "devices.csv column account_id: missing required column" in text


@pytest.mark.spark
def test_cli_engine_spark_prints_what_the_embedded_engine_prints(small_dataset):
    _need_pyspark()
    from graphlink.cli import cli

    runner = CliRunner()
    embedded = runner.invoke(cli, ["report", "signups", str(small_dataset), "--since",
                                   "2025-06-01", "--format", "json", "-q"])
    spark = runner.invoke(cli, ["report", "signups", str(small_dataset), "--since",
                                "2025-06-01", "--format", "json", "-q", "--engine", "spark",
                                "--spark-master", "local[2]",
                                "--spark-conf", "spark.sql.shuffle.partitions=4"])
    assert embedded.exit_code == 0, embedded.output
    assert spark.exit_code == 0, spark.output
    assert '"S3"' in spark.stdout and spark.stdout == embedded.stdout


def test_spark_options_need_the_spark_engine(small_dataset):
    from graphlink.cli import cli

    done = CliRunner().invoke(cli, ["clusters", str(small_dataset), "--spark-master",
                                    "local[2]"])
    assert done.exit_code != 0
    assert "--spark-master and --spark-conf need --engine spark" in done.output


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(st.text("ab", max_size=2), max_size=3),
                          st.lists(st.text("ab", max_size=2), max_size=3)), max_size=6),
       st.integers(0, 2))
def test_every_pair_of_two_list_columns_row_by_row(rows, skip):
    """The second look's address pairs (``recompare._every_pair``, pyarrow only): each row's
    every pair of items, in order, also for a sliced batch (offsets not starting at 0)."""
    import pyarrow as pa

    from graphlink.spark.recompare import _every_pair

    left = pa.array([a for a, _ in rows], pa.list_(pa.string())).slice(min(skip, len(rows)))
    right = pa.array([b for _, b in rows], pa.list_(pa.string())).slice(min(skip, len(rows)))
    row, a, b = _every_pair(left, right)
    expected = [(i, x, y) for i, (xs, ys) in enumerate(rows[skip:]) for x in xs for y in ys]
    assert list(zip(row.tolist(), a.tolist(), b.tolist(), strict=True)) == expected


def test_a_missing_extra_says_how_to_install_it(monkeypatch):
    from graphlink.spark.session import require_pyspark

    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'graphlink\[spark\]'"):
        require_pyspark()


def test_a_temporary_checkpoint_folder_is_gone_when_the_process_ends():
    code = ("from pathlib import Path; from graphlink.spark.session import scratch_checkpoints; "
            "folder = scratch_checkpoints(); (Path(folder) / 'rdd-1').mkdir(); print(folder)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    folder = Path(done.stdout.strip())
    assert folder.name.startswith("graphlink-spark-checkpoint-")
    assert not folder.exists()


def test_the_embedded_engine_never_imports_pyspark(small_dataset):
    code = ("import sys, graphlink as gl; from graphlink import cli; "
            f"gl.analyse({str(small_dataset)!r}); print('pyspark' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.spark
def test_a_state_analysed_on_spark_is_fresh_for_the_embedded_engine(small_dataset, tmp_path):
    _need_pyspark()
    from graphlink.cli import cli
    from graphlink.workflow.with_state import analyse_into_state

    runner, state = CliRunner(), str(tmp_path / "state")
    analysis, _ = analyse_into_state(small_dataset, state, engine="spark",
                                     spark_conf=["spark.sql.shuffle.partitions=4"])
    # saving it read neither the identifiers, the evidence nor the pairs whole: copied
    # from Spark's files and indexed part by part
    assert "evidence" not in analysis.__dict__ and "pairs" not in analysis.resolution.__dict__
    assert "identifiers" not in analysis.__dict__
    # the factory leads' address points: Spark's own table, as read from the uses
    from graphlink.scoring.analysis import Analysis

    points = analysis.address_points()
    assert len(points) and points["lat"].notna().any()
    pd.testing.assert_frame_equal(points, Analysis.address_points(analysis))
    tables = analysis.__dict__["_scratch"].path
    assert (tables / "uses.parquet").is_dir()
    del analysis  # Spark's files are removed with the analysis that reads them
    gc.collect()
    assert not tables.exists()
    fresh = runner.invoke(cli, ["clusters", str(small_dataset), "--state", state,
                                "--require-fresh", "--format", "csv"])
    embedded = runner.invoke(cli, ["clusters", str(small_dataset), "--format", "csv", "-q"])
    assert fresh.exit_code == 0, fresh.output
    assert fresh.stdout == embedded.stdout and "S1," in embedded.stdout
    # the evidence and the pairs were copied from Spark's files into the state, part by
    # part: a sign-up report from it (matches, evidence, waterfalls) is the embedded one's
    signups = ["report", "signups", str(small_dataset), "--since", "2000-01-01", "--format",
               "json"]
    from_state = runner.invoke(cli, [*signups, "--state", state, "--require-fresh"])
    embedded = runner.invoke(cli, [*signups, "-q"])
    assert from_state.exit_code == 0, from_state.output
    assert from_state.stdout == embedded.stdout and '"banned_shop_id"' in embedded.stdout


@pytest.mark.spark
def test_spark_submit_runs_the_entry_module(small_dataset):
    _need_pyspark()
    import shutil

    from graphlink.cli import cli

    submit = shutil.which("spark-submit")
    assert submit, "PySpark installs spark-submit"
    entry = subprocess.run([sys.executable, "-m", "graphlink.spark", "--entry"],
                           capture_output=True, text=True, check=True).stdout.strip()
    args = ["report", "signups", str(small_dataset), "--since", "2025-06-01", "--format",
            "json", "-q"]
    done = subprocess.run([submit, "--master", "local[2]", "--conf", "spark.ui.enabled=false",
                           "--conf", "spark.sql.shuffle.partitions=4", entry, *args,
                           "--engine", "spark"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    embedded = CliRunner().invoke(cli, args)
    assert '"S3"' in done.stdout and done.stdout == embedded.stdout


@pytest.mark.spark
def test_a_gb18030_file_fails_unless_its_encoding_is_given(tmp_path):
    _need_pyspark()
    import graphlink as gl

    folder = write_dataset(tmp_path / "gbk", BASE, encoding="gb18030")
    with pytest.raises(DatasetError) as caught:  # read as UTF-8: never silently garbled
        gl.load(folder, **OPTIONS)
    assert "shops.csv column name: undecodable bytes in" in str(caught.value)
    assert "(row with shop_id 'S1')" in str(caught.value)
    assert {p.reason for p in caught.value.problems} == {"encoding"}
    dataset = gl.load(folder, encoding="gb18030", **OPTIONS)
    reference = gl.load(folder)  # the embedded loaders detect it
    for name, frame in reference.tables.items():
        pd.testing.assert_frame_equal(dataset.tables[name].drop(columns="_line"),
                                      frame.drop(columns="_line"))


@pytest.mark.spark
def test_shops_compared_with_whole_operators_on_spark_as_embedded(spark_analysis):
    """The second pass of the operators on Spark: a shop tied to two shops of a banned
    operator (its phone to one, its IP to the other) is scored against the operator as
    a whole, as the embedded engine does (``via``), and joins it."""
    from graphlink.linkage.model import COMPARISONS, NAMES, MatchModel
    from graphlink.linkage.resolve import _vectors
    from graphlink.spark.model import typed_pairs, vector_frame
    from graphlink.spark.resolve import resolve_scored
    from graphlink.workflow.analyse import _resolved

    def levels(c: str) -> int:
        return len(COMPARISONS[c][1])

    modes = ("reuse", "evasion", "trace")
    model = MatchModel({mode: {c: [0.3] * levels(c) + [0.3] for c in NAMES} for mode in modes},
                       {c: [1e-3] * levels(c) + [1.0] for c in NAMES},
                       {mode: [1e-4, 1e-3] for mode in modes}, shops=1000)

    def row(a: str, b: str, **agree) -> dict:
        return {"shop_a": a, "shop_b": b, "context": 0,
                **{f"level_{c}": agree.get(c, levels(c) + 1) for c in NAMES},
                **{f"users_{c}": 1.0 for c in NAMES}}

    vectors = _vectors(pd.DataFrame([
        row("B1", "B2", device=1, phone=1, payment=1), row("B1", "X", phone=1),
        row("B2", "X", ip=1), row("Y", "Z", device=1, phone=1, payment=1),
        row("X", "Z", email=1)]))
    shops = pd.DataFrame({"shop_id": ["B1", "B2", "X", "Y", "Z"],
                          "status": ["banned", "active", "active", "active", "active"]})
    embedded = _resolved(shops, vectors, model, 1000)
    assert embedded.pairs["via"].tolist() == ["", "B2", "", "", ""]  # B1-X combined
    got = resolve_scored(shops, vector_frame(vectors), model, 1000)
    pd.testing.assert_frame_equal(got.operators, embedded.operators)
    pairs = typed_pairs(got.pairs.orderBy("shop_a", "shop_b").toPandas())
    pd.testing.assert_frame_equal(pairs, embedded.pairs[pairs.columns])
    assert list(pairs.columns) == list(embedded.pairs.columns)


@pytest.mark.spark
def test_pseudonymised_on_spark_as_embedded(small_dataset):
    """Pseudonymising rewrites the identifiers on the driver: on Spark they are collected
    for it (``spark.extract.collected``) and held; the reports equal the embedded
    engine's with the same key, and no phone is left in clear."""
    _need_pyspark()
    import graphlink as gl

    key = "a test key of thirty-two bytes.."
    on_spark = gl.analyse(small_dataset, pseudonymise=key,
                          spark_conf=["spark.sql.shuffle.partitions=4"], engine="spark")
    embedded = gl.analyse(small_dataset, pseudonymise=key)
    assert "identifiers" in on_spark.__dict__  # held, not written by Spark
    assert _outputs(on_spark) == _outputs(embedded)
    uses = on_spark.identifiers.uses
    phones = uses.loc[uses["kind"] == "phone", "value"]
    assert len(phones) and not phones.str.startswith("+").any()
    # (a use's line: its row in read order on Spark, its line in the file here)
    pd.testing.assert_frame_equal(uses.drop(columns="line"),
                                  embedded.identifiers.uses.drop(columns="line"))


#: addresses the generated world has few of: a seed reached from no street and no
#: coordinates, a shared Malaysian street type, coordinates only, and coordinates near a
#: seed on another street (the texts contradict them)
ODD_ADDRESSES = [("no fixed abode", None, None),
                 ("No. 12, Jalan Ampang, 50450 Kuala Lumpur", 3.1579, 101.7123),
                 ("No. 30, Jalan Ampang, 50450 Kuala Lumpur", None, None),
                 ("No. 40, Jalan Klang Lama, 58000 Kuala Lumpur", 3.1180, 101.6770),
                 ("3.158000,101.712500", 3.1580, 101.7125),
                 ("泉州鲤城区松岗工业区振兴路350号", 24.90, 118.58),
                 ("鲤城区松岗工业区振兴路三六二号7幢", 24.9005, 118.5803),
                 ("泉州鲤城区松岗工业区振兴路900号", 24.90, 118.5806)]


@pytest.mark.spark
def test_sites_on_spark_are_the_embedded_sites(spark_world):
    """Every address of a world (a third of them seeds) and the odd ones above: the
    sites found by joins on Spark (the seeds' components collected, or by label
    propagation) group the addresses as the embedded engine's
    :func:`graphlink.detection.places.sites`, and name each by its smallest address."""
    import numpy as np

    from graphlink.detection.places import address_keys, sites
    from graphlink.spark import factories
    from graphlink.spark.session import spark_session

    spark = spark_session("local[2]", CONF)
    given = pd.read_csv(spark_world / "addresses.csv")[["address", "lat", "lon"]]
    odd = pd.DataFrame(ODD_ADDRESSES, columns=["address", "lat", "lon"])
    values = (pd.concat([given, odd]).rename(columns={"address": "value"})
              .groupby("value", sort=True)[["lat", "lon"]].first().reset_index())
    seeds = np.random.default_rng(3).random(len(values)) < 0.33
    seeds[values["value"].isin(odd["address"].iloc[[0, 1, 2, 5]]).to_numpy()] = True
    seeds[values["value"].isin(odd["address"].iloc[[3, 4]]).to_numpy()] = False
    expected = sites(address_keys(values), seeds)
    keyed = spark.createDataFrame(values).mapInPandas(factories._keyed, factories._KEYS)
    keyed = keyed.join(spark.createDataFrame(values[["value"]].assign(seed=seeds)), "value")
    want = pd.Series(values["value"].to_numpy()[expected["site"]], index=values["value"])
    for collect in (factories.COLLECT_LINKS, 0):  # components on the driver, on Spark
        got = factories._sites(keyed, factories.RADIUS_M, collect).toPandas()
        assert got.set_index("value")["site"].sort_index().to_dict() == want.to_dict()
    shared = want.value_counts()
    assert (shared > 1).sum() > 20 and shared.max() >= 4  # many-address sites, not only singles
    assert want["No. 30, Jalan Ampang, 50450 Kuala Lumpur"] == want[
        "No. 12, Jalan Ampang, 50450 Kuala Lumpur"] != want[
        "No. 40, Jalan Klang Lama, 58000 Kuala Lumpur"]  # one street key, two localities
    assert want["3.158000,101.712500"] == want["No. 12, Jalan Ampang, 50450 Kuala Lumpur"]


@pytest.mark.spark
def test_factory_leads_of_a_spark_run_are_found_again_for_renamed_operators(spark_analysis,
                                                                              embedded_analysis):
    """A state renames a fresh run's operators and asks for its factory leads again
    (``with_state``): a Spark run's leads are found again, with the new operator ids,
    as the embedded engine's are."""
    analysis = spark_analysis[0]
    found = analysis.factory_leads
    assert len(found.leads) and found.leads.equals(embedded_analysis.factory_leads.leads)
    before = analysis.shops["operator_id"].copy()
    try:
        analysis.__dict__.pop("factory_leads")
        analysis.shops["operator_id"] = "X" + before
        again = analysis.factory_leads
        assert all(op.startswith("XOP-") for ops in again.leads["operator_ids"] for op in ops)
        assert again.leads["shops"].equals(found.leads["shops"])
    finally:
        analysis.shops["operator_id"] = before
        analysis.__dict__["factory_leads"] = found
