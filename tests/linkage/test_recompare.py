"""The second look at candidate pairs (graphlink.linkage.recompare) and its levels in the model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from graphlink.linkage.model import COMPARISONS, NAMES, MatchModel, Vectors, load_model, waterfall
from graphlink.linkage.recompare import sampled_u, second_look

USES = pd.DataFrame({
    "shop_id": ["S1", "S2", "S3", "S1", "S2", "S3"],
    "kind": ["holder_name"] * 3 + ["address"] * 3,
    "value": ["kayla tu", "brooke tu", "brooke smith",
              "6 chauvel circle adventist retireemnt village coleambally 3137 qld",
              "6 crichton crescent adventist retirement village coleambally 3173 qld",
              "14 harbour rd kowloon"],
})


def _vectors(pairs: list[tuple[str, str]]) -> Vectors:
    other = [len(COMPARISONS[c][1]) for c in NAMES]
    level = np.array([other] * len(pairs), dtype=np.int8)
    return Vectors(np.array([a for a, _ in pairs], dtype=object),
                   np.array([b for _, b in pairs], dtype=object), level,
                   np.ones(level.shape), np.zeros(len(pairs), dtype=np.int8))


def _level(vec: Vectors, row: int, comparison: str) -> str:
    levels = [*COMPARISONS[comparison][1], "other", "missing"]
    return levels[vec.level[row, NAMES.index(comparison)]]


def test_surname_and_resembling_address_where_blocking_left_other():
    vec = second_look(_vectors([("S1", "S2"), ("S2", "S3"), ("S1", "S3")]), USES)
    # a family name (tu) or a Latin given name (brooke) shared; kayla tu / brooke smith none
    assert [_level(vec, i, "name") for i in range(3)] == ["surname", "surname", "other"]
    assert [_level(vec, i, "address") for i in range(3)] == ["resembling", "other", "other"]


def test_a_better_level_is_kept():
    vec = _vectors([("S1", "S2")])
    vec.level[0, NAMES.index("name")] = 0  # exact, from evidence
    assert _level(second_look(vec, USES), 0, "name") == "exact"


def test_sampled_u_is_deterministic_and_never_zero():
    uses = pd.DataFrame({"shop_id": [f"S{i}" for i in range(200)], "kind": "holder_name",
                         "value": [f"given{i} {'tu' if i % 10 == 0 else f'x{i}'}"
                                   for i in range(200)]})
    first, again = sampled_u(uses, size=5000, seed=3), sampled_u(uses, size=5000, seed=3)
    assert first == again
    # 20 of 200 shops share one surname: about (20/200) * (19/199) of random pairs
    assert 0.004 < first["name"]["surname"] < 0.02
    lonely = uses.assign(value=[f"given{i} x{i}" for i in range(200)])
    assert sampled_u(lonely, size=5000)["name"]["surname"] == 1 / 5000


def test_a_model_saved_before_these_levels_says_nothing_of_them(tmp_path):
    levels = {c: len(COMPARISONS[c][1]) for c in NAMES}
    m = {mode: {c: [0.5 / levels[c]] * levels[c] + [0.5] for c in NAMES}
         for mode in ("reuse", "evasion", "trace")}
    model = MatchModel(m, {c: [1e-4] * levels[c] + [1.0] for c in NAMES},
                       {mode: [1e-4, 1e-3] for mode in m}, shops=1000)
    data = model.to_dict()
    for c, level in (("name", "surname"), ("address", "resembling")):  # an older file
        saved = data["comparisons"][c]
        at = saved["levels"].index(level)
        for key in ["levels", "u", *(f"m_{mode}" for mode in m)]:
            del saved[key][at]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    old = load_model(path)
    pair = {"context": 0, **{f"level_{c}": levels[c] for c in NAMES},
            **{f"users_{c}": 1.0 for c in NAMES}}
    pair["level_name"] = COMPARISONS["name"][1].index("surname")
    step = next(s for s in waterfall(old, pair) if s["comparison"] == "name")
    assert step["level"] == "surname" and abs(step["log2_bf"]) < 1e-6
