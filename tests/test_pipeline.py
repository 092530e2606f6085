"""End-to-end contract tests of clusters and reports on a small generated world."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from html.parser import HTMLParser

import jsonschema
import pandas as pd
import pytest
from click.testing import CliRunner

import graphlink as gl
from graphlink.cli import cli
from graphlink.reports.report import load_schema

SINCE = "2026-01-01"


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output + str(result.exception)
    return result.stdout


def _json(*args: str) -> dict:
    return json.loads(_run(*args, "--format", "json"))


def test_clusters_every_shop_exactly_once(world, analysis):
    rows = list(csv.DictReader(io.StringIO(_run("clusters", str(world), "--format", "csv"))))
    assert list(rows[0]) == ["shop_id", "operator_id", "community_id"]
    shops = [r["shop_id"] for r in rows]
    assert sorted(shops) == sorted(analysis.dataset.shops["shop_id"])
    assert len(set(shops)) == len(shops)


def test_every_operator_lies_inside_one_community(analysis):
    per_operator = analysis.clusters().groupby("operator_id")["community_id"].nunique()
    assert (per_operator == 1).all()


def test_clusters_json_matches_schema_and_api(world, analysis):
    payload = _json("clusters", str(world))
    jsonschema.validate(payload, load_schema("clusters"))
    assert pd.DataFrame(payload["shops"]).equals(analysis.clusters().reset_index(drop=True))


def test_signups_contract(world, analysis):
    payload = _json("report", "signups", str(world), "--since", SINCE)
    jsonschema.validate(payload, load_schema("signups"))
    shops = analysis.dataset.shops
    expected = set(shops.loc[shops["created_at"] >= pd.Timestamp(SINCE), "shop_id"])
    got = [s["shop_id"] for s in payload["signups"]]
    assert sorted(got) == sorted(expected) and len(got) == len(set(got))
    risks = [s["risk"] for s in payload["signups"]]
    assert risks == sorted(risks, reverse=True)
    assert all(0 <= r <= 1 for r in risks)
    for s in payload["signups"]:
        scores = [m["score"] for m in s["matches"]]
        assert scores == sorted(scores, reverse=True)
        assert all(m["evidence"] for m in s["matches"])


@pytest.fixture(scope="module")
def larger_world(tmp_path_factory):
    """2,000 shops: the match model learns its parameters from the marketplace, and
    a 400-shop world holds too few lone card or device shares to learn them from."""
    from graphlink.synth.generate import generate_world

    out = tmp_path_factory.mktemp("larger") / "world"
    generate_world(out, shops=2000, seed=3)
    return out, gl.analyse(out)


def test_signups_find_the_reregistrations(larger_world):
    world, analysis = larger_world
    truth = pd.read_csv(f"{world}.truth/shops.csv", dtype=str, keep_default_na=False)
    rereg = truth[truth["role"] == "reregistration"].set_index("shop_id")
    signups = analysis.signups("2024-01-01").set_index("shop_id")
    found = signups.loc[rereg.index]
    assert (found["flag"].isin(["high", "medium"])).mean() >= 0.9
    operator = truth.set_index("shop_id")["operator_id"]
    right = [operator[b] == operator[s] for s, b in found["best_match"].dropna().items()]
    assert sum(right) / len(right) >= 0.95


def test_trap_shops_are_not_flagged(world, analysis):
    truth = pd.read_csv(f"{world}.truth/shops.csv", dtype=str, keep_default_na=False)
    traps = truth.loc[truth["role"].isin(["park", "warehouse", "nat", "common_name", "family"]),
                      "shop_id"]
    signups = analysis.signups("2024-01-01").set_index("shop_id")
    assert signups.loc[traps, "flag"].isin(["high", "medium"]).mean() <= 0.02


def test_factories_and_spotcheck_match_their_schemas(world):
    factories = _json("report", "factories", str(world))
    jsonschema.validate(factories, load_schema("factories"))
    assert factories["factories"], "the generated world has factories"
    spot = _json("report", "spotcheck", str(world), "--budget", "7")
    jsonschema.validate(spot, load_schema("spotcheck"))
    assert [s["rank"] for s in spot["shops"]] == list(range(1, 8))


def test_factories_recover_the_true_ones(world, analysis):
    from graphlink.synth.evaluate import best_jaccard

    truth = pd.read_csv(f"{world}.truth/factories.csv", dtype=str)
    found = [set(s) for s in analysis.factories()["shops"]]
    assert best_jaccard([set(s.split(";")) for s in truth["shop_ids"]], found) >= 0.8


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells: list[str] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        self._in = tag == "td"

    def handle_data(self, data):
        if self._in:
            self.cells.append(data)


def test_signups_html_lists_every_signup(world, analysis):
    html = _run("report", "signups", str(world), "--since", SINCE, "--format", "html")
    parser = _Cells()
    parser.feed(html)
    expected = analysis.signups(SINCE)["shop_id"]
    assert set(expected) <= set(parser.cells)


def test_api_and_cli_give_the_same_signups(world, analysis):
    payload = _json("report", "signups", str(world), "--since", SINCE)
    api = analysis.signups(SINCE)
    assert [s["shop_id"] for s in payload["signups"]] == api["shop_id"].tolist()
    assert [s["risk"] for s in payload["signups"]] == api["risk"].tolist()


def test_explain_pair_gives_the_chain_of_a_merge(analysis):
    clusters = analysis.clusters()
    sizes = clusters.groupby("operator_id")["shop_id"].transform("size")
    operator = clusters[sizes >= 2]["operator_id"].iloc[0]
    a, b = clusters.loc[clusters["operator_id"] == operator, "shop_id"].iloc[:2]
    chain = analysis.explain_pair(a, b)
    assert chain and chain[0]["from"] == a and chain[-1]["to"] == b
    assert all(hop["evidence"] and hop["p"] >= 0.7 for hop in chain)
    other = clusters.loc[clusters["operator_id"] != operator, "shop_id"].iloc[0]
    assert analysis.explain_pair(a, other) == []


@pytest.mark.parametrize("command", [["check"], ["clusters"], ["report", "factories"]])
def test_real_subprocess(world, command):
    result = subprocess.run([sys.executable, "-m", "graphlink.cli", *command, str(world)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and result.stdout.strip()


def test_subprocess_reports_bad_input_without_traceback(tmp_path):
    (tmp_path / "shops.csv").write_text("shop_id,name\nS1,x\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "graphlink.cli", "check", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: shops.csv line 1, column created_at: missing required column",
        "error: shops.csv line 1, column status: missing required column",
        "error: accounts.csv: required file is missing",
    ]


def test_trap_hubs_are_typed_as_context(world, analysis):
    truth = pd.read_csv(f"{world}.truth/shops.csv", dtype=str, keep_default_na=False)
    hubs = analysis.hubs()
    types = set(hubs["type"])
    assert "e-commerce park or multi-tenant building" in types
    assert "carrier NAT or shared network IP" in types
    park = truth.loc[truth["trap_group"].str.startswith("park"), "shop_id"]
    assert hubs.loc[hubs["scope"] == "place", "shops"].max() >= len(park) * 0.9


def test_no_trap_group_is_merged_into_one_operator(world, analysis):
    truth = pd.read_csv(f"{world}.truth/shops.csv", dtype=str, keep_default_na=False)
    clusters = analysis.clusters().set_index("shop_id")
    traps = truth[truth["trap_group"] != ""]
    for group, part in traps.groupby("trap_group"):
        predicted = clusters.loc[part["shop_id"], "operator_id"]
        true_ops = part["operator_id"].to_numpy()
        for i in range(len(part)):
            for j in range(i + 1, len(part)):
                if true_ops[i] != true_ops[j]:
                    assert predicted.iat[i] != predicted.iat[j], (group, part["shop_id"].iat[i])


def test_value_rows_by_codes_and_by_lookup_agree(analysis):
    """Identifier values are found by integer codes when aligned, else by a hash per kind."""
    import numpy as np

    from graphlink.linkage.identifiers import Identifiers, value_rows

    ids = analysis.identifiers
    rows = value_rows(ids)
    values = ids.values
    assert (values["kind"].to_numpy()[rows] == ids.uses["kind"].to_numpy()).all()
    assert (values["value"].to_numpy()[rows] == ids.uses["value"].to_numpy()).all()
    shuffled = values.sample(frac=1, random_state=3).reset_index(drop=True)
    other = value_rows(Identifiers(ids.uses, shuffled.iloc[1:].reset_index(drop=True)))
    missing = (ids.uses["kind"] == shuffled["kind"].iat[0]) & (
        ids.uses["value"] == shuffled["value"].iat[0])
    assert (other[missing.to_numpy()] == -1).all() and missing.any()
    found = other >= 0
    moved = shuffled.iloc[1:].reset_index(drop=True)
    assert (moved["value"].to_numpy()[other[found]] == ids.uses["value"].to_numpy()[found]).all()
    assert found.sum() == len(rows) - missing.sum() and np.isin(other, [-1]).sum() == missing.sum()
