"""The Python API and the CLI give the same numbers; explain(), progress, --quiet, table width."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

import graphlink as gl
from graphlink import cli as cli_module
from graphlink.api import ANALYSE_STAGES
from graphlink.cli import cli
from graphlink.reports.report import display_width

SINCE = "2024-06-01"


def _cli_json(*args: str) -> dict:
    result = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output + str(result.exception)
    return json.loads(result.stdout)


def test_signups_parity(world, analysis):
    payload = _cli_json("report", "signups", str(world), "--since", SINCE)
    api = analysis.signups(SINCE)
    cli_rows = pd.DataFrame(payload["signups"])
    assert cli_rows["shop_id"].tolist() == api["shop_id"].tolist()
    assert cli_rows["risk"].tolist() == api["risk"].tolist()
    assert cli_rows["flag"].tolist() == api["flag"].tolist()
    assert cli_rows["operator_id"].tolist() == api["operator_id"].tolist()
    best = [m[0]["banned_shop_id"] if m else None for m in cli_rows["matches"]]
    assert best == [b if isinstance(b, str) else None for b in api["best_match"]]
    assert (api["flag"] == "high").any(), "the test world should have high flags"


def test_clusters_parity(world, analysis):
    payload = _cli_json("clusters", str(world))
    assert pd.DataFrame(payload["shops"]).equals(analysis.clusters().reset_index(drop=True))
    assert payload["operators"] == analysis.clusters()["operator_id"].nunique()


def test_factories_parity(world, analysis):
    payload = _cli_json("report", "factories", str(world))
    api = analysis.factories()
    assert [f["factory_id"] for f in payload["factories"]] == api["factory_id"].tolist()
    assert [f["shops"] for f in payload["factories"]] == [list(s) for s in api["shops"]]
    assert [f["score"] for f in payload["factories"]] == [round(s, 4) for s in api["score"]]
    assert [f["banned_shops"] for f in payload["factories"]] == api["banned_shops"].tolist()


def test_spotcheck_parity(world, analysis):
    payload = _cli_json("report", "spotcheck", str(world), "--budget", "15")
    api = analysis.spotcheck(15)
    assert [s["shop_id"] for s in payload["shops"]] == api["shop_id"].tolist()
    assert [s["priority"] for s in payload["shops"]] == api["priority"].tolist()
    assert ["; ".join(r["detail"] for r in s["reasons"]) for s in payload["shops"]] == \
        api["reasons"].tolist()


def test_explain_matches_the_signup_report(analysis):
    signups = analysis.signups(SINCE)
    for row in signups[signups["flag"] != "none"].itertuples(index=False):
        dossier = analysis.explain(row.shop_id)
        assert dossier.risk == row.risk and dossier.flag == row.flag
        assert [t["banned_shop_id"] for t in dossier.banned_ties] == \
            [m["banned_shop_id"] for m in row.matches]
        assert [t["evidence"] for t in dossier.banned_ties] == [m["evidence"] for m in row.matches]


def test_explain_gives_data_and_text(analysis):
    signups = analysis.signups(SINCE)
    shop = signups.loc[signups["flag"] == "high", "shop_id"].iloc[0]
    d = analysis.explain(shop)
    assert d.shop["shop_id"] == shop
    assert shop in d.operator["shops"]
    assert d.operator["operator_id"] == analysis.clusters().set_index("shop_id").at[
        shop, "operator_id"]
    assert d.banned_ties and all(t["evidence"] for t in d.banned_ties)
    assert d.links["p"].is_monotonic_decreasing
    uses = analysis.identifiers.uses
    assert len(d.identifiers) == (uses["shop_id"] == shop).sum()
    for r in d.identifiers.itertuples(index=False):
        users = uses.loc[(uses["kind"] == r.kind) & (uses["value"] == r.value), "shop_id"]
        assert r.shops == users.nunique()
        assert set(r.shared_with) <= set(users) - {shop}
    text = d.text
    assert text.startswith(f"Shop {shop} ")
    assert all(t["banned_shop_id"] in text for t in d.banned_ties)
    assert d.banned_ties[0]["evidence"][0]["detail"] in text
    json.dumps(d.to_dict(), ensure_ascii=False)  # JSON-ready


def test_explain_of_a_quiet_shop_and_an_unknown_one(analysis):
    signups = analysis.signups(SINCE)
    quiet = signups.loc[signups["risk"] == 0, "shop_id"].iloc[0]
    d = analysis.explain(quiet)
    assert d.risk == 0 and d.flag == "none" and d.banned_ties == []
    assert "no path to a banned shop" in d.text
    # a weak tie (below the low flag) ranks the shop, names no match, says so
    weak = signups[(signups["flag"] == "none") & (signups["risk"] > 0)]
    assert len(weak) and (weak["risk"] >= 0.002).all() and not weak["matches"].map(len).any()
    d = analysis.explain(weak["shop_id"].iloc[0])
    assert (d.risk, d.flag, d.banned_ties) == (weak["risk"].iloc[0], "none", [])
    assert "a weak tie to a banned shop only" in d.text
    with pytest.raises(gl.ConfigError, match="no shop 'nope'"):
        analysis.explain("nope")


def test_factory_membership_in_explain(analysis):
    found = analysis.factories()
    if not len(found):
        pytest.skip("no factory cluster in the test world")
    factory = found.iloc[0]
    d = analysis.explain(factory["shops"][0])
    assert d.factory["factory_id"] == factory["factory_id"]
    assert "Factory cluster " + factory["factory_id"] in d.text


def test_analyse_reports_its_stages(small_dataset):
    heard = []
    gl.analyse(small_dataset, progress=lambda *a: heard.append(a))
    stages = [s for s, _, _ in heard]
    assert stages == [*ANALYSE_STAGES, "done"]
    assert [d for _, d, _ in heard] == list(range(len(ANALYSE_STAGES) + 1))
    assert {t for _, _, t in heard} == {len(ANALYSE_STAGES)}


@pytest.mark.parametrize("command", [["clusters", "DS"], ["report", "factories", "DS"],
                                     ["check", "DS"],
                                     ["report", "signups", "DS", "--since", "2025-01-01"]])
def test_progress_on_a_terminal_and_quiet(monkeypatch, small_dataset, command):
    args = [str(small_dataset) if a == "DS" else a for a in command]
    # not a terminal (CliRunner, pipes, CI logs): nothing on stderr
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    monkeypatch.setattr(cli_module, "_stderr_is_terminal", lambda: True)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "loading" in result.stderr
    assert "\n" not in result.stderr  # one line, redrawn
    result = CliRunner().invoke(cli, [*args, "--quiet"])
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout == CliRunner().invoke(cli, [*args, "-q"]).stdout


@pytest.mark.parametrize("command", [["report", "signups", "DS", "--since", SINCE],
                                     ["report", "factories", "DS"], ["report", "spotcheck", "DS"],
                                     ["clusters", "DS"], ["check", "DS"]])
@pytest.mark.parametrize("columns", [80, 120])
def test_table_fits_the_terminal(world, command, columns):
    args = [str(world) if a == "DS" else a for a in command]
    result = CliRunner().invoke(cli, args, env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    widths = [display_width(line) for line in result.stdout.splitlines()]
    assert max(widths) <= columns
