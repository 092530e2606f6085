"""The named queries of queries/: well-formed, runnable, and in agreement with the Python reports.

The queries run against a real Neo4j holding a generated world of 300 shops
(pushed once for the module); each answer is checked against what the
library computes from the same analysis.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request
from collections import defaultdict
from pathlib import Path

import jsonschema
import networkx as nx
import pandas as pd
import pytest
from click.testing import CliRunner
from neo4j_fixtures import one_neo4j_test_run_at_a_time  # noqa: F401 (autouse)

import graphlink as gl
from graphlink import neo4j as gn
from graphlink.cli import cli
from graphlink.core.errors import ConfigError
from graphlink.core.schema import IDENTIFIER_KINDS
from graphlink.reports.report import load_schema

REPO = Path(__file__).resolve().parent.parent.parent
SCRIPT = REPO / "scripts" / "neo4j-local"
QUERIES = gn.list_queries()
REQUIRED = {"banned_reappearing", "evidence_path", "shared_with_banned", "factory_footprint",
            "operator_footprint", "top_risky_signups", "hub_identifiers",
            "shortest_path_to_banned"}


# ------------------------------------------------------------ no server ---


def test_the_required_queries_exist_with_headers():
    names = {q.name for q in QUERIES}
    assert REQUIRED <= names and len(names) >= 8
    for q in QUERIES:
        assert q.purpose and q.returns and q.guide, q.name
        used = set(re.findall(r"\$([A-Za-z_]\w*)", q.body))
        assert used == set(q.params), (q.name, used, set(q.params))
        assert set(q.examples) == set(q.params), q.name
        assert all(q.params.values()), q.name
        assert not q.body.rstrip().endswith(";"), q.name
        assert q.text.startswith(f"// {q.name}\n"), q.name


def test_queries_use_only_the_graph_model():
    assert set(gn.KIND_LABELS) == set(IDENTIFIER_KINDS)  # one label per identifier kind
    labels = {*gn.NODE_LABELS, "Identifier", "Banned", "GraphlinkMeta"}
    for q in QUERIES:
        used = set(re.findall(r"[(:]\s*\w*\s*:(\w+)", q.body))
        assert used <= labels, (q.name, used - labels)
        types = set(re.findall(r"\[\w*:([\w|]+)", q.body))
        assert {t for group in types for t in group.split("|")} <= set(gn.REL_TYPES), q.name


def test_guide_file_is_generated_from_the_queries():
    on_disk = (gn.queries_dir() / "guide.html").read_text(encoding="utf-8")
    assert on_disk == gn.render_guide(), "run: python -m graphlink.neo4j guide > queries/guide.html"
    for q in QUERIES:
        assert f"<h3>{q.name}</h3>" in on_disk


def test_grass_colours_every_node_kind():
    rules = json.loads(gn.grass_json())
    for label in (*gn.NODE_LABELS, "Banned", "Identifier"):
        assert f"node.{label}" in rules, label
    colours = {rules[f"node.{label}"].get("color") for label in gn.NODE_LABELS}
    assert len(colours) == len(gn.NODE_LABELS)  # one colour per kind
    assert rules["node.Shop"]["caption"] == "{name}"
    order = list(rules)
    assert order.index("node.Banned") > order.index("node.Shop")  # later rules win in Browser
    assert min(order.index(f"node.{k}") for k in gn.KIND_LABELS.values()) > order.index(
        "node.Identifier")


def test_unknown_query_or_parameter_is_a_clear_error():
    with pytest.raises(ConfigError, match="no named query 'nope'.*banned_reappearing"):
        gn.run_query("nope")
    with pytest.raises(ConfigError, match="bad query name"):
        gn.run_query("../etc/passwd")
    with pytest.raises(ConfigError, match="has no parameter bogus"):
        gn.run_query("operators", {"bogus": 1})
    result = CliRunner().invoke(cli, ["neo4j", "queries"])
    assert result.exit_code == 0
    for q in QUERIES:
        assert q.name in result.output


# ---------------------------------------------------------- with server ---


@pytest.fixture(scope="module")
def analysis(tmp_path_factory):
    from graphlink.synth.generate import generate_world

    out = tmp_path_factory.mktemp("neo4j-queries") / "world"
    generate_world(out, shops=300, seed=5)
    return gl.analyse(out)


@pytest.fixture(scope="module")
def pushed(neo4j_driver, neo4j_settings, analysis):  # noqa: F811
    settings = {"uri": neo4j_settings.uri, "user": neo4j_settings.user,
                "password": neo4j_settings.password}
    gn.push(analysis, **settings)
    return settings


def run(name: str, pushed: dict, **params) -> pd.DataFrame:
    return gn.run_query(name, params, **pushed)


def returns_columns(q: gn.Query) -> list[str]:
    text = re.sub(r"\([^)]*\)", "", q.returns)
    return [c.strip() for c in text.split(",") if c.strip()]


@pytest.mark.parametrize("query", QUERIES, ids=[q.name for q in QUERIES])
def test_every_query_runs_with_its_example_parameters(query, pushed):
    frame = run(query.name, pushed)
    assert list(frame.columns) == returns_columns(query)


def middle_date(analysis) -> str:
    created = analysis.dataset.shops["created_at"].sort_values()
    return created.iloc[len(created) // 2].date().isoformat()


def test_graph_summary(pushed, analysis):
    row = run("graph_summary", pushed).iloc[0]
    shops = analysis.dataset.shops
    assert bool(row["complete"])
    assert row["dataset"] == analysis.dataset.source
    assert row["shops"] == len(shops) and row["accounts"] == len(analysis.dataset.accounts)
    assert row["banned"] == len(analysis.dataset.banned_shop_ids())
    assert row["operators"] == analysis.clusters()["operator_id"].nunique()
    assert row["communities"] == analysis.clusters()["community_id"].nunique()
    assert row["identifiers"] == len(analysis.identifiers.values)
    assert row["linked_pairs"] == len(analysis.resolution.pairs)


def test_operators_equal_the_clusters_report(pushed, analysis):
    frame = run("operators", pushed, min_shops=1, limit=100_000)
    in_neo4j = {r.operator_id: sorted(r.shops) for r in frame.itertuples()}
    clusters = analysis.clusters()
    in_python = {op: sorted(g["shop_id"]) for op, g in clusters.groupby("operator_id")}
    assert in_neo4j == in_python
    community = clusters.groupby("operator_id")["community_id"].first().to_dict()
    assert {r.operator_id: r.community_id for r in frame.itertuples()} == community
    assert frame["n_shops"].is_monotonic_decreasing


def test_banned_reappearing_lists_new_shops_linked_to_banned_ones(pushed, analysis):
    since = middle_date(analysis)
    frame = run("banned_reappearing", pushed, since=since, min_p=0.3, limit=100_000)
    shops = analysis.dataset.shops.set_index("shop_id")
    expected = set()
    for a, b, p in analysis.resolution.pairs[["shop_a", "shop_b", "p"]].itertuples(index=False):
        for new, old in ((a, b), (b, a)):
            if (p >= 0.3 and shops.at[old, "status"] == "banned"
                    and shops.at[new, "status"] != "banned"
                    and shops.at[new, "created_at"] >= pd.Timestamp(since)):
                expected.add((new, old))
    assert expected, "the generated world should have banned vendors coming back"
    assert set(zip(frame["shop_id"], frame["banned_shop_id"], strict=True)) == expected
    assert all(isinstance(e, list) and e for e in frame["evidence"])
    assert frame["p"].is_monotonic_decreasing


def test_top_risky_signups_agree_with_the_signups_report(pushed, analysis):
    since = middle_date(analysis)
    frame = run("top_risky_signups", pushed, since=since, limit=25)
    report = analysis.signups(since).head(25)
    assert frame["shop_id"].tolist() == report["shop_id"].tolist()
    assert frame["risk"].tolist() == pytest.approx(report["risk"].tolist())
    assert frame["flag"].tolist() == report["flag"].tolist()
    assert frame["banned_matches"].tolist() == [
        [m["banned_shop_id"] for m in matches] for matches in report["matches"]]
    assert (report["flag"] == "high").any()


def identity_graph_without_hubs(analysis) -> nx.Graph:
    graph = analysis.graph
    return graph.subgraph([n for n, d in graph.nodes(data=True) if not d.get("hub")])


def test_evidence_path_between_two_shops_of_one_operator(pushed, analysis):
    pairs = analysis.resolution.pairs.sort_values(["p", "shop_a"], ascending=[False, True])
    a, b, p = pairs[["shop_a", "shop_b", "p"]].iloc[0]
    frame = run("evidence_path", pushed, shop_a=a, shop_b=b, limit=10)
    graph = identity_graph_without_hubs(analysis)
    hops = nx.shortest_path_length(graph, f"shop:{a}", f"shop:{b}")
    assert set(frame["hops"]) == {hops}
    assert frame["direct_p"].iloc[0] == pytest.approx(round(p, 3))
    assert frame["path"].iloc[0].startswith(f"(Shop {a})")
    assert frame["path"].iloc[0].endswith(f"(Shop {b})")
    assert all(frame["via"].map(len) > 0)


def test_shortest_path_to_banned(pushed, analysis):
    graph = identity_graph_without_hubs(analysis)
    banned = {f"shop:{s}" for s in analysis.dataset.banned_shop_ids()}
    checked = 0
    for shop in analysis.signups(middle_date(analysis))["shop_id"].head(5):
        lengths = nx.single_source_shortest_path_length(graph, f"shop:{shop}", cutoff=12)
        nearest = {k: v for k, v in lengths.items() if k in banned and k != f"shop:{shop}"}
        frame = run("shortest_path_to_banned", pushed, shop_id=shop, limit=100)
        assert set(zip(frame["banned_shop_id"], frame["hops"], strict=True)) == {
            (k.removeprefix("shop:"), v) for k, v in nearest.items()}
        checked += bool(nearest)
    assert checked


def test_shared_with_banned(pushed, analysis):
    kinds = ["device", "payment"]
    frame = run("shared_with_banned", pushed, kinds=kinds, limit=100_000)
    uses = analysis.identifiers.uses[["shop_id", "kind", "value"]].drop_duplicates()
    uses = uses[uses["kind"].isin(kinds)]
    hubs = {(d["kind"], d["value"]) for _, d in analysis.graph.nodes(data=True) if d.get("hub")}
    uses = uses[[(k, v) not in hubs for k, v in zip(uses["kind"], uses["value"], strict=True)]]
    status = analysis.dataset.shops.set_index("shop_id")["status"]
    similar = analysis.links.similar
    similar = similar[similar["kind"].isin(kinds)]
    near = defaultdict(set)
    for k, a, b in similar[["kind", "value_a", "value_b"]].itertuples(index=False):
        near[(k, a)].add(b)
        near[(k, b)].add(a)
    by_value = uses.groupby(["kind", "value"])["shop_id"].apply(set).to_dict()
    expected = set()
    for (kind, value), owners in by_value.items():
        banned = {s for s in owners if status[s] == "banned"}
        for other in {value} | near[(kind, value)]:
            for shop in by_value.get((kind, other), set()):
                if status[shop] != "banned":
                    expected |= {(shop, b) for b in banned}
    assert expected
    assert set(zip(frame["shop_id"], frame["banned_shop_id"], strict=True)) == expected
    assert set(frame["kind"]) <= set(kinds)


def test_hub_identifiers_are_the_most_shared_values(pushed, analysis):
    frame = run("hub_identifiers", pushed, kind="", limit=15)
    values = analysis.identifiers.values.sort_values(["shops", "kind", "value"],
                                                     ascending=[False, True, True])
    assert frame["shops"].tolist() == values["shops"].head(15).tolist()
    devices = run("hub_identifiers", pushed, kind="device", limit=5)
    assert set(devices["kind"]) == {"device"}


def test_operator_footprint_is_a_timeline_of_the_operator(pushed, analysis):
    clusters = analysis.clusters()
    banned = set(analysis.dataset.banned_shop_ids())
    sizes = clusters.groupby("operator_id")["shop_id"].agg(list)
    operator = next(op for op, shops in sizes.items() if len(shops) > 1 and banned & set(shops))
    frame = run("operator_footprint", pushed, operator=sizes[operator][-1], limit=10_000)
    assert set(frame["operator_id"]) == {operator}
    created = frame[frame["event"] == "shop created"]
    assert sorted(created["shop_id"]) == sorted(sizes[operator])
    assert set(frame.loc[frame["event"] == "shop banned", "shop_id"]) == banned & set(
        sizes[operator])
    graph = analysis.graph
    shop_nodes = {f"shop:{s}" for s in sizes[operator]}
    owners = shop_nodes | {n for s in shop_nodes for n in graph[s]
                           if graph.nodes[n]["kind"] == "account"}
    uses = sum(1 for o in owners for n in graph[o] if graph.edges[o, n]["rel"] == "USES")
    assert frame["event"].str.startswith("uses ").sum() == uses
    when = pd.to_datetime(frame["when"])
    assert when.dropna().is_monotonic_increasing


@pytest.mark.skipif(not hasattr(gl.Analysis, "factories"),
                    reason="factory detection (Analysis.factories) does not exist yet")
def test_factories_agree_with_the_factories_report(pushed, analysis):
    found = analysis.factories()
    records = found.to_dict("records") if isinstance(found, pd.DataFrame) else list(found)
    in_python = {r["factory_id"]: sorted(r["shops"]) for r in records}
    frame = run("factories", pushed, limit=100_000)
    assert {r.factory_id: sorted(r.shops) for r in frame.itertuples()} == in_python
    for factory_id, shops in list(in_python.items())[:3]:
        footprint = run("factory_footprint", pushed, factory_id=factory_id)
        assert sorted(set(footprint["shop_id"])) == shops


def test_cli_query_prints_a_table_csv_and_json(pushed, analysis):
    env = {"NEO4J_URI": pushed["uri"], "NEO4J_USER": pushed["user"],
           "NEO4J_PASSWORD": pushed["password"]}
    args = ["neo4j", "query", "operators", "--param", "min_shops=2", "-p", "limit=3"]
    table = CliRunner().invoke(cli, args, env=env)
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[0].split()[:3] == ["operator_id", "community_id", "n_shops"]
    csv = CliRunner().invoke(cli, [*args, "--format", "csv"], env=env)
    assert csv.output.splitlines()[0].startswith("operator_id,community_id,n_shops")
    assert len(csv.output.splitlines()) == 4
    payload = json.loads(CliRunner().invoke(cli, [*args, "--format", "json"], env=env).output)
    assert payload["schema"] == "graphlink.neo4j-query/1"
    jsonschema.validate(payload, load_schema("neo4j-query"))
    assert payload["params"] == {"min_shops": 2, "limit": 3} and len(payload["rows"]) == 3
    assert pushed["password"] not in table.output + csv.output


# ----------------------------------------------------- Browser on connect ---


def test_local_server_serves_and_applies_the_guide_and_style(neo4j_driver, neo4j_settings):  # noqa: F811
    status = subprocess.run([str(SCRIPT), "status"], capture_output=True, text=True)
    if status.returncode != 0:
        pytest.skip("the guide and style are served by the server of scripts/neo4j-local")
    for name in ("guide.html", "graphlink.grass"):
        url = f"{neo4j_settings.http_url}/browser/graphlink/{name}"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
            served = response.read().decode("utf-8")
        assert served == (gn.queries_dir() / name).read_text(encoding="utf-8"), name
    config = {r["name"]: r["value"]
              for r in neo4j_driver.execute_query("CALL dbms.clientConfig()").records}
    assert "127.0.0.1" in config["browser.remote_content_hostname_whitelist"].split(",")
    if "GRAPHLINK_BROWSER_POST_CONNECT" in os.environ:
        pytest.skip("GRAPHLINK_BROWSER_POST_CONNECT replaces the default commands")
    port = neo4j_settings.http_url.rsplit(":", 1)[-1]
    assert config["browser.post_connect_cmd"] == (
        f"style {gn.grass_json()}; guide http://127.0.0.1:{port}/browser/graphlink/guide.html")
