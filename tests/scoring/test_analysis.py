"""graphlink.scoring.analysis: an analysis in memory finds a page's rows in its page index
(Analysis.index_pages, built by graphlink.analyse) -- the same rows, in the same order, as
filtering the whole tables, which it still does once a table is replaced."""

from __future__ import annotations

import copy

import pandas as pd


def _page_shops(analysis) -> tuple[set[str], set[str]]:
    records = analysis.signup_records("3650d")
    high = [r for r in records if r["flag"] == "high"] or records[:3]
    drawn = {r["shop_id"] for r in high}
    on_paths = {s for r in high for m in r["matches"] for s in m["path"]}
    return drawn, on_paths


def test_page_rows_from_the_index_are_the_filtered_rows(analysis):
    assert "_page_index" in analysis.__dict__  # graphlink.analyse built it
    plain = copy.copy(analysis)
    plain.__dict__ = {k: v for k, v in analysis.__dict__.items() if k != "_page_index"}
    drawn, on_paths = _page_shops(analysis)
    # a few shops drawn, a shop nobody uses, and every shop at once
    everything = set(analysis.dataset.shops["shop_id"])
    for shops, paths in ((drawn, on_paths), ({"no such shop"}, set()), (everything, set())):
        got, want = analysis.page_rows(shops, paths), plain.page_rows(shops, paths)
        assert got.keys() == want.keys()
        for name, frame in got.items():
            pd.testing.assert_frame_equal(frame, want[name])  # index, order and dtypes
    assert len(analysis.page_rows(drawn, on_paths)["evidence"])


def test_a_replaced_table_is_filtered_not_looked_up(analysis):
    changed = copy.copy(analysis)
    changed.__dict__ = dict(analysis.__dict__)
    changed.evidence = analysis.evidence.iloc[::2]
    drawn, on_paths = _page_shops(analysis)
    want = changed.evidence[changed.evidence["shop_a"].isin(drawn)
                            | changed.evidence["shop_b"].isin(drawn)]
    got = changed.page_rows(drawn, on_paths)["evidence"]
    assert got.index.tolist() == want.index.tolist()
