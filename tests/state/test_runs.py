"""Operator ids stable across runs, and the change log between runs."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlink.state.runs import COLUMNS, KINDS, changes, stabilise


def fresh(*groups: str) -> pd.DataFrame:
    """A run as resolve_operators names it: ``"S1 S2", "S3"`` -> OP-<min shop>."""
    rows = [(s, "OP-" + min(g.split())) for g in groups for s in g.split()]
    return pd.DataFrame(rows, columns=["shop_id", "operator_id"])


def table(owner: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"shop_id": list(owner), "operator_id": list(owner.values())})


def ids(df: pd.DataFrame) -> dict[str, str]:
    return dict(zip(df["shop_id"], df["operator_id"], strict=True))


def kinds(log: pd.DataFrame) -> list[tuple]:
    return [(r.change, r.operator_id, r.other_operator_id if isinstance(r.other_operator_id, str)
             else None, tuple(r.shops)) for r in log.itertuples()]


# --- stabilise -----------------------------------------------------------------------------


def test_first_run_returns_current_unchanged():
    cur = fresh("S1 S2", "S3")
    pd.testing.assert_frame_equal(stabilise(cur, None), cur)


def test_unchanged_input_keeps_ids_and_logs_nothing():
    prev = table({"S1": "OP-S9", "S2": "OP-S9", "S3": "OP-S3"})
    cur = fresh("S1 S2", "S3")
    out = stabilise(cur, prev)
    assert ids(out) == ids(prev)
    log = changes(out, prev, {"S1"}, "r2")
    assert list(log.columns) == COLUMNS and log.empty


def test_smaller_shop_joining_does_not_rename_operator():
    prev = fresh("S5 S6")
    cur = fresh("S1 S5 S6")  # fresh id would become OP-S1
    assert set(stabilise(cur, prev)["operator_id"]) == {"OP-S5"}


def test_split_keeps_id_on_larger_part():
    prev = fresh("S1 S2 S3 S4 S5")
    cur = fresh("S1 S2", "S3 S4 S5")
    out = ids(stabilise(cur, prev))
    assert out["S3"] == out["S4"] == out["S5"] == "OP-S1"
    # the smaller part's fresh id OP-S1 was the previous operator's: made unique
    assert out["S1"] == out["S2"] == "OP-S1.2"


def test_merge_keeps_id_of_larger_previous_operator():
    prev = fresh("S1 S2", "S3 S4 S5")
    cur = fresh("S1 S2 S3 S4 S5")
    assert set(stabilise(cur, prev)["operator_id"]) == {"OP-S3"}


def test_tie_goes_to_previous_id_first_in_sort_order():
    prev = fresh("S1 S2", "S3 S4")
    cur = fresh("S1 S2 S3 S4")
    assert set(stabilise(cur, prev)["operator_id"]) == {"OP-S1"}


def test_fresh_id_colliding_with_carried_id_is_made_unique():
    prev = table({"S2": "OP-S1", "S3": "OP-S1", "S1.x": "OP-S1.2"})
    cur = pd.concat([fresh("S2 S3"), fresh("S1 S9"), fresh("S1.x")])
    out = ids(stabilise(cur, prev))
    assert out["S2"] == out["S3"] == "OP-S1"
    assert out["S1.x"] == "OP-S1.2"
    assert out["S1"] == out["S9"] == "OP-S1.3"  # .2 is taken by the previous run


def test_second_part_takes_its_next_best_previous_id():
    prev = fresh("S1 S2 S3 S4", "S5")
    cur = fresh("S1 S2 S3", "S4 S5")
    out = ids(stabilise(cur, prev))
    assert out["S1"] == "OP-S1" and out["S4"] == out["S5"] == "OP-S5"


def test_stabilise_independent_of_row_order():
    prev = fresh("S1 S2 S3", "S4 S5", "S6")
    cur = fresh("S1 S2", "S3 S4 S5 S6", "S7 S8")
    expected = ids(stabilise(cur, prev))
    for seed in range(5):
        shuffled = stabilise(cur.sample(frac=1, random_state=seed),
                             prev.sample(frac=1, random_state=seed + 10))
        assert ids(shuffled) == expected


def test_duplicate_shop_ids_are_refused():
    with pytest.raises(ValueError, match="S1"):
        stabilise(fresh("S1", "S1"), fresh("S1"))


# --- changes -------------------------------------------------------------------------------


def test_joined_names_operator_by_banned_shops():
    prev = fresh("S0077 S0080")
    cur = stabilise(fresh("S0077 S0080 S0101 S0102 S0103"), prev)
    log = changes(cur, prev, {"S0077"}, "r2")
    assert kinds(log) == [("joined", "OP-S0077", None, ("S0101", "S0102", "S0103"))]
    row = log.iloc[0]
    assert row["text"] == "3 new shops joined the operator of banned shop S0077."
    assert row["banned_shops"] == ["S0077"] and row["run"] == "r2"


def test_joined_names_operator_by_id_without_banned_shops():
    prev = fresh("S0012 S0013")
    log = changes(stabilise(fresh("S0012 S0013 S0020"), prev), prev, set(), "r2")
    assert log["text"].tolist() == ["1 new shop joined operator OP-S0012."]


def test_many_banned_shops_are_abbreviated():
    prev = fresh("S1 S2 S3 S4 S5")
    cur = stabilise(fresh("S1 S2 S3 S4 S5 S6"), prev)
    text = changes(cur, prev, {"S1", "S2", "S3", "S4", "S5"}, "r2")["text"].iloc[0]
    assert text == "1 new shop joined the operator of banned shops S1, S2, S3 and 2 more."


def test_new_operator_logged_but_new_single_shop_not():
    prev = fresh("S1")
    cur = stabilise(fresh("S1", "S7 S8", "S9"), prev)
    log = changes(cur, prev, set(), "r2")
    assert kinds(log) == [("new_operator", "OP-S7", None, ("S7", "S8"))]
    assert log["text"].iloc[0] == "New operator OP-S7: 2 shops, all new in this run."


def test_first_run_logs_new_operators():
    cur = stabilise(fresh("S1 S2", "S3"), None)
    assert kinds(changes(cur, None, [], "r1")) == [("new_operator", "OP-S1", None, ("S1", "S2"))]


def test_merge_logs_absorbed_operator():
    prev = fresh("S1 S2", "S3 S4 S5")
    cur = stabilise(fresh("S1 S2 S3 S4 S5"), prev)
    log = changes(cur, prev, {"S1"}, "r2")
    assert kinds(log) == [("merged", "OP-S3", "OP-S1", ("S1", "S2"))]
    assert log["text"].iloc[0] == (
        "Operator OP-S1 (2 shops) merged into the operator of banned shop S1.")
    assert log["banned_shops"].iloc[0] == ["S1"]


def test_split_logs_part_that_left():
    prev = fresh("S1 S2 S3 S4 S5")
    cur = stabilise(fresh("S1 S2", "S3 S4 S5"), prev)
    log = changes(cur, prev, set(), "r2")
    assert kinds(log) == [("split", "OP-S1.2", "OP-S1", ("S1", "S2"))]
    assert log["text"].iloc[0] == "2 shops split off operator OP-S1 into operator OP-S1.2."


def test_moved_between_existing_operators():
    prev = fresh("S1 S2 S3", "S4 S5 S6")
    cur = stabilise(fresh("S1 S2", "S3 S4 S5 S6"), prev)
    log = changes(cur, prev, {"S4"}, "r2")
    assert kinds(log) == [("moved", "OP-S4", "OP-S1", ("S3",))]
    assert log["text"].iloc[0] == (
        "1 shop moved from operator OP-S1 to the operator of banned shop S4.")


def test_gone_shops():
    prev = fresh("S1 S2 S3", "S4")
    cur = stabilise(fresh("S1 S2"), prev)
    log = changes(cur, prev, set(), "r2")
    assert kinds(log) == [("gone", "OP-S1", None, ("S3",)), ("gone", "OP-S4", None, ("S4",))]
    assert log["text"].tolist() == ["1 shop of operator OP-S1 is gone from the dataset.",
                                    "1 shop of operator OP-S4 is gone from the dataset."]


def test_gone_banned_shop_is_named():
    prev = fresh("S1 S2 S3")
    log = changes(stabilise(fresh("S1 S2"), prev), prev, {"S3"}, "r2")
    assert log["text"].tolist() == [
        "1 shop of operator OP-S1 is gone from the dataset, including banned shop S3."]
    assert log["banned_shops"].iloc[0] == []


def test_new_operator_with_banned_shops():
    log = changes(fresh("S7 S8 S9"), None, {"S8", "S9"}, "r1")
    assert log["text"].tolist() == [
        "New operator OP-S7 with banned shops S8, S9: 3 shops, all new in this run."]


def test_rows_touching_banned_shops_come_first():
    prev = fresh("S1 S2", "S5 S6", "S8")
    cur = stabilise(fresh("S1 S2 S3", "S5 S6 S7", "S9 S10"), prev)
    log = changes(cur, prev, {"S6", "S8"}, "r2")
    assert [(r.change, r.operator_id) for r in log.itertuples()] == [
        ("joined", "OP-S5"), ("gone", "OP-S8"), ("joined", "OP-S1"), ("new_operator", "OP-S10")]


def test_changes_independent_of_row_order():
    prev = fresh("S1 S2 S3", "S4 S5", "S6", "S11 S12")
    cur = stabilise(fresh("S1 S2", "S3 S4 S5 S6", "S7 S8", "S11 S13"), prev)
    expected = changes(cur, prev, {"S4", "S12"}, "r2")
    assert set(expected["change"]) >= {"moved", "merged", "joined", "new_operator", "gone"}
    for seed in range(5):
        log = changes(cur.sample(frac=1, random_state=seed),
                      prev.sample(frac=1, random_state=seed + 1), ["S12", "S4"], "r2")
        pd.testing.assert_frame_equal(log, expected)


def test_ids_with_odd_characters_are_kept_verbatim():
    prev = fresh("<b>S1</b> S2")
    cur = stabilise(fresh("<b>S1</b> S2 {0}"), prev)
    log = changes(cur, prev, {"<b>S1</b>"}, "r2")
    assert log["text"].iloc[0] == "1 new shop joined the operator of banned shop <b>S1</b>."
    assert log["shops"].iloc[0] == ["{0}"]


# --- properties ----------------------------------------------------------------------------

SHOPS = [f"S{i}" for i in range(12)]
partition = st.dictionaries(st.sampled_from(SHOPS), st.integers(0, 3), max_size=len(SHOPS))


def as_fresh(labels: dict[str, int]) -> pd.DataFrame:
    groups: dict[int, list[str]] = {}
    for shop, label in labels.items():
        groups.setdefault(label, []).append(shop)
    return fresh(*(" ".join(g) for g in groups.values()))


def co_members(owner: dict[str, str]) -> dict[str, frozenset]:
    groups: dict[str, set] = {}
    for shop, op in owner.items():
        groups.setdefault(op, set()).add(shop)
    return {shop: frozenset(groups[op]) for shop, op in owner.items()}


@settings(max_examples=300, deadline=None)
@given(partition, partition, partition, st.sets(st.sampled_from(SHOPS)))
def test_properties(run0, run1, run2, banned):
    prev = stabilise(as_fresh(run1), as_fresh(run0))
    cur_fresh = as_fresh(run2)
    cur = stabilise(cur_fresh, prev)
    # every shop once, one id per component and one component per id
    assert sorted(cur["shop_id"]) == sorted(run2)
    pairs = set(zip(cur_fresh["operator_id"], cur["operator_id"], strict=True))
    assert len(pairs) == len({f for f, _ in pairs}) == len({o for _, o in pairs})
    # stabilising against itself changes nothing, and then nothing is logged
    assert ids(stabilise(cur_fresh, cur)) == ids(cur)
    assert ids(stabilise(cur, cur)) == ids(cur)
    assert changes(cur, cur, banned, "r").empty
    # every shop whose operator changed is in exactly one row; changed operators have a row
    log = changes(cur, prev, banned, "r")
    listed = [s for shops in log["shops"] for s in shops]
    assert len(listed) == len(set(listed))
    old, new = ids(prev), ids(cur)
    old_co, new_co = co_members(old), co_members(new)
    for shop in old.keys() | new.keys():
        if shop not in new or (shop in old and old[shop] != new[shop]):
            assert shop in listed
        elif shop not in old:
            assert (shop in listed) == (len(new_co[shop]) > 1)
        elif old_co[shop] != new_co[shop]:
            touched = set(log["operator_id"]) | set(log["other_operator_id"].dropna())
            assert new[shop] in touched
    assert set(log["change"]) <= set(KINDS)
    assert all(b in banned for bs in log["banned_shops"] for b in bs)
