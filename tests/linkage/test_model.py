"""The match model: levels, parameters learned from the data, waterfalls, the model file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import graphlink as gl
from graphlink.cli import cli
from graphlink.linkage.model import (
    COMPARISONS,
    MODES,
    NAMES,
    comparison_levels,
    load_model,
    score,
    shop_kinds,
    train,
    waterfall,
    waterfalls,
)
from graphlink.scoring.score import CONCURRENT


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model learned on 2,000 shops (400 hold too few lone shares to learn from)."""
    from graphlink.synth.generate import generate_world

    out = tmp_path_factory.mktemp("model") / "world"
    generate_world(out, shops=2000, seed=3)
    return gl.train_model(out)


def _evidence(rows):
    return pd.DataFrame(rows, columns=["shop_a", "shop_b", "kind", "method", "users"])


def test_levels_take_the_best_row_and_tell_other_from_missing():
    ev = _evidence([("S1", "S2", "address", "same-place", 3.0),
                    ("S1", "S2", "address", "same-room", 1.0),
                    ("S1", "S2", "holder_name", "pinyin", 1.0)])
    kinds = pd.Series({"S1": "address,holder_name,phone", "S2": "address,holder_name"})
    vec = comparison_levels(ev, kinds)
    level = dict(zip(NAMES, vec.level[0].tolist(), strict=True))
    assert level["address"] == COMPARISONS["address"][1].index("same-room")
    assert vec.users[0, NAMES.index("address")] == 1.0  # the best level's row
    assert level["name"] == COMPARISONS["name"][1].index("pinyin")
    assert level["phone"] == len(COMPARISONS["phone"][1]) + 1  # S2 has no phone: missing
    assert level["device"] == len(COMPARISONS["device"][1]) + 1


def test_a_masked_card_shown_alike_is_not_the_same_card():
    ev = _evidence([("S1", "S2", "payment", "exact", 1.0)]).assign(value_a="6222*1234")
    vec = comparison_levels(ev, pd.Series({"S1": "payment", "S2": "payment"}))
    assert vec.level[0, NAMES.index("payment")] == COMPARISONS["payment"][1].index("masked")


def test_the_model_is_a_distribution_per_comparison(trained):
    for name in NAMES:
        assert np.isclose(sum(trained.u[name]), 1.0)
        for mode in MODES:
            assert np.isclose(sum(trained.m[mode][name]), 1.0)
            assert min(trained.m[mode][name]) > 0
    assert 0 < trained.prior(0) < trained.prior(1) < 1  # after a ban, a match is likelier


def test_training_is_deterministic(analysis):
    ev, kinds = analysis.evidence, shop_kinds(analysis.identifiers.uses)
    n = len(analysis.dataset.shops)
    one = train(ev, kinds, n, table=analysis.dataset.shops).to_dict()
    two = train(ev.sample(frac=1.0, random_state=3), kinds, n, table=analysis.dataset.shops)
    assert json.dumps(one, sort_keys=True) == json.dumps(two.to_dict(), sort_keys=True)


def test_strong_evidence_beats_weak_and_crowds_count_little(trained):
    kinds = pd.Series(dict.fromkeys(["S1", "S2", "S3", "S4", "S5", "S6"],
                                    "device,address,payment,holder_name"))
    ev = _evidence([("S1", "S2", "device", "exact", 1.0),
                    ("S3", "S4", "address", "same-building", 1.0),
                    ("S3", "S4", "payment", "masked-prefix-suffix", 1.0),
                    ("S5", "S6", "address", "same-building", 300.0)])
    p = score(trained, ev, kinds, trained.shops).set_index(["shop_a", "shop_b"])["p"]
    assert p["S1", "S2"] > 0.5  # a rare shared device alone: more likely than not one operator
    assert p["S3", "S4"] > p["S5", "S6"]  # two weak signals add up; a crowd's building does not
    assert p["S5", "S6"] < 0.1


def test_a_waterfall_sums_to_the_pairs_weight(analysis):
    pairs = analysis.resolution.pairs
    for _, row in pairs.sample(min(50, len(pairs)), random_state=1).iterrows():
        steps = waterfall(analysis.model, row, len(analysis.dataset.shops))
        assert steps[0]["comparison"] == "prior"
        assert np.isclose(sum(s["log2_bf"] for s in steps), row["weight"], atol=1e-6)
        assert all(0 < s["tf_adjustment"] <= 1 + 1e-9 for s in steps)


def test_waterfalls_at_once_equal_each_pairs_own(analysis):
    """The sign-up report computes its waterfalls in one go: the same floats, bit for
    bit, as one pair at a time (the report's bytes depend on it)."""
    pairs = analysis.resolution.pairs
    rows = [row for _, row in pairs.sample(min(200, len(pairs)), random_state=2).iterrows()]
    n = len(analysis.dataset.shops)
    assert waterfalls(analysis.model, rows, n) == [waterfall(analysis.model, r, n) for r in rows]
    assert waterfalls(analysis.model, [], n) == []


def test_the_model_file_round_trips_and_holds_no_value(tmp_path, world, analysis):
    path = analysis.model.save(tmp_path / "model.json")
    text = path.read_text(encoding="utf-8")
    values = analysis.identifiers.values["value"].astype(str)
    leaked = [v for v in values if len(v) >= 6 and v in text]
    assert not leaked
    again = gl.analyse(world, model=path)
    same = again.resolution.pairs[["shop_a", "shop_b", "p"]]
    pd.testing.assert_frame_equal(same, analysis.resolution.pairs[["shop_a", "shop_b", "p"]])
    assert load_model(path).to_dict() == analysis.model.to_dict()


def test_a_bad_model_file_is_an_error_not_a_traceback(tmp_path, world):
    bad = tmp_path / "model.json"
    bad.write_text('{"schema": "something else"}', encoding="utf-8")
    result = CliRunner().invoke(cli, ["clusters", str(world), "--model", str(bad), "-q"])
    assert result.exit_code == 1
    assert "not a graphlink model file" in result.output


def test_model_train_show_and_use_from_the_cli(tmp_path, world):
    path = tmp_path / "model.json"
    runner = CliRunner()
    trained = runner.invoke(cli, ["model", "train", str(world), "-o", str(path), "-q"])
    assert trained.exit_code == 0, trained.output
    assert json.loads(path.read_text(encoding="utf-8"))["schema"] == "graphlink.model/1"
    shown = runner.invoke(cli, ["model", "show", str(path), "--format", "json"])
    assert shown.exit_code == 0, shown.output
    levels = json.loads(shown.output)["levels"]
    assert {r["comparison"] for r in levels} == set(NAMES)
    assert {r["mode"] for r in levels} == set(MODES)
    used = runner.invoke(cli, ["report", "signups", str(world), "--since", "2024-01-01",
                               "--model", str(path), "--format", "json", "-q"])
    direct = runner.invoke(cli, ["report", "signups", str(world), "--since", "2024-01-01",
                                 "--format", "json", "-q"])
    assert used.exit_code == 0 and used.output == direct.output  # the same parameters


def test_every_direct_match_carries_its_waterfall(analysis):
    records = analysis.signup_records("2024-01-01")
    direct = [m for r in records for m in r["matches"] if m["hops"] == 1]
    assert direct
    for m in direct:
        assert m["waterfall"][0]["comparison"] == "prior"
        p = 1 / (1 + 2 ** -sum(s["log2_bf"] for s in m["waterfall"]))
        # the score is the pair's probability, times 0.9 for a shop opened before the ban
        assert CONCURRENT * p - 1e-3 <= m["score"] <= p + 1e-3


def test_dates_of_birth_are_identifiers_and_their_absence_is_no_news(world, tmp_path):
    notes = " ".join(gl.check(world).notes)
    assert "date_of_birth" not in notes  # an extension column few exports carry
    folder = tmp_path / "dob"
    folder.mkdir()
    (folder / "shops.csv").write_text(
        "shop_id,name,created_at,status,banned_at\n"
        "S1,Alpha,2024-01-01,banned,2024-03-01\nS2,Beta,2024-05-01,active,\n", encoding="utf-8")
    (folder / "accounts.csv").write_text(
        "account_id,shop_id,holder_name,date_of_birth\n"
        "A1,S1,Kyle Glass,19241221\nA2,S2,Kyle Glas,1924-12-12\n", encoding="utf-8")
    ids = gl.analyse(folder).identifiers
    assert set(ids.values.loc[ids.values["kind"] == "birth_date", "value"]) == {
        "1924-12-21", "1924-12-12"}
    from graphlink.linkage.link import find_links

    similar = find_links(ids).similar
    assert ((similar["kind"] == "birth_date") & (similar["method"] == "id-edit")).any()


def test_waterfalls_add_up_with_a_model_from_a_larger_marketplace(world, trained):
    analysis = gl.analyse(world, model=trained)
    pairs = analysis.resolution.pairs.set_index(["shop_a", "shop_b"])["weight"]
    direct = [(r["shop_id"], m) for r in analysis.signup_records("2024-01-01")
              for m in r["matches"] if "waterfall" in m]
    assert direct
    for shop, m in direct:
        weight = pairs[tuple(sorted((shop, m["banned_shop_id"])))]
        assert sum(s["log2_bf"] for s in m["waterfall"]) == pytest.approx(weight, abs=0.01)


def test_a_refined_model_keeps_the_em_fit_for_lone_pairs(tmp_path, analysis):
    """Verdict corrections apply to pairs with two agreements or more; a pair agreeing on
    one comparison only keeps the EM fit (its waterfall too), and the file keeps both."""
    from graphlink.linkage.learn import refine
    from graphlink.linkage.model import _agreements, score_vectors

    pairs = analysis.resolution.pairs
    pairs = pairs[pairs["via"].fillna("") == ""].reset_index(drop=True)
    labels = (pairs["p"] < 0.5).to_numpy(dtype=float)  # every label against the model
    refined = refine(analysis.model, pairs, labels)
    assert refined.lone is not None and refined.lone.to_dict() == analysis.model.to_dict()
    n = len(analysis.dataset.shops)
    vec = comparison_levels(analysis.evidence, shop_kinds(analysis.identifiers.uses))
    old, new = score_vectors(analysis.model, vec, n), score_vectors(refined, vec, n)
    lone = _agreements(vec).sum(axis=1) <= 1
    assert lone.any() and (~lone).any()
    np.testing.assert_array_equal(new["p"].to_numpy()[lone], old["p"].to_numpy()[lone])
    assert not np.allclose(new["p"].to_numpy()[~lone], old["p"].to_numpy()[~lone])
    for _, row in new.sample(min(60, len(new)), random_state=3).iterrows():
        steps = waterfall(refined, row, n)
        assert np.isclose(sum(s["log2_bf"] for s in steps), row["weight"], atol=1e-6)
    again = load_model(refined.save(tmp_path / "refined.json"))
    assert again.to_dict() == refined.to_dict() and again.lone is not None
