"""Spot checks in two sections: shops to act on now, and shops worth a test buy.

A shop that already failed a test buy and is still open needs enforcement,
not another purchase: it goes to ``act_now``, every such shop, most fake
verdicts first, with its test buys and what ties it to banned shops or a
factory lead. The ``test_buy`` list ranks only *unproven* active shops (no
fake verdict on file) by :func:`graphlink.scoring.score.spotcheck` (ties to banned
shops, factory leads, counterfeit disputes; a genuine verdict halves the
priority) and keeps the best ``budget`` of them.

>>> import pandas as pd
>>> shops = pd.DataFrame({"shop_id": ["S1", "S2", "S3"], "status": ["active"] * 3,
...                       "operator_id": ["OP-S1", "OP-S2", "OP-S3"],
...                       "community_id": ["C-S1", "C-S2", "C-S3"]})
>>> near = pd.DataFrame({"shop_id": ["S2"], "banned_shop_id": ["S9"], "hops": [1],
...                      "proximity": [0.9]})
>>> buys = pd.DataFrame({"shop_id": ["S1"], "bought_at": ["2026-01-05"], "verdict": ["fake"]})
>>> disputes = pd.DataFrame({"shop_id": ["S3"], "opened_at": ["2026-01-02"], "reason": ["late"]})
>>> out = sections(shops, near, pd.Series(dtype=object), pd.Series(dtype=float), disputes,
...                buys, budget=5)
>>> [r["shop_id"] for r in out["act_now"]], [r["shop_id"] for r in out["test_buy"]]
(['S1'], ['S2'])
"""

from __future__ import annotations

import pandas as pd

from graphlink.scoring.score import spotcheck

__all__ = ["sections"]


def sections(shops: pd.DataFrame, near: pd.DataFrame, factory: pd.Series,
             factory_score: pd.Series, disputes: pd.DataFrame, test_buys: pd.DataFrame,
             budget: int) -> dict[str, list[dict]]:
    """``{"act_now": [...], "test_buy": [...]}`` (see the module notes).

    ``shops``: shop_id, status, operator_id, community_id; ``near``: the nearest
    banned shop per shop (:func:`graphlink.scoring.score.nearest_banned`); ``factory``:
    factory_id per shop; ``factory_score``: score per factory_id.
    """
    fake = test_buys[test_buys["verdict"] == "fake"]
    proven = set(fake["shop_id"])
    unproven = shops[~shops["shop_id"].isin(proven)]
    ranked = spotcheck(unproven, near, factory, factory_score, disputes,
                       test_buys[~test_buys["shop_id"].isin(proven)], budget)
    return {"act_now": _act_now(shops, fake, near, factory), "test_buy": ranked}


def _act_now(shops: pd.DataFrame, fake: pd.DataFrame, near: pd.DataFrame,
             factory: pd.Series) -> list[dict]:
    """Active shops with a fake test buy on file: most fake verdicts, then latest first."""
    active = shops[(shops["status"] == "active") & shops["shop_id"].isin(set(fake["shop_id"]))]
    if not len(active):
        return []
    verdicts = fake[fake["shop_id"].isin(set(active["shop_id"]))].groupby("shop_id")["bought_at"]
    count, last = verdicts.size(), verdicts.max().astype(str)
    near = near.set_index("shop_id")
    rows = []
    for r in active.to_dict("records"):
        shop = r["shop_id"]
        n, latest = int(count[shop]), str(last[shop])[:10]
        reasons = [{"kind": "fake", "detail": f"{n} fake test buy(s) on file (latest {latest}), "
                                              "still open: enforce, do not buy again"}]
        if shop in near.index:
            hit = near.loc[shop]
            reasons.append({"kind": "proximity",
                            "detail": f"linked to banned shop {hit['banned_shop_id']} "
                                      f"({int(hit['hops'])} hop(s))"})
        fid = factory.get(shop)
        if isinstance(fid, str):
            reasons.append({"kind": "factory", "detail": f"in factory lead {fid}"})
        rows.append({"shop_id": shop, "fake_test_buys": n, "last_fake": latest,
                     "operator_id": r["operator_id"], "community_id": r["community_id"],
                     "factory_id": fid if isinstance(fid, str) else None, "reasons": reasons})
    rows.sort(key=lambda x: (-x["fake_test_buys"], _desc(x["last_fake"]), x["shop_id"]))
    return [{"rank": i, **x} for i, x in enumerate(rows, 1)]


def _desc(day: str) -> str:
    """A sort key putting later ISO days first."""
    return "".join(chr(0x10FFFF - ord(c)) for c in day)
