"""graphlink.core.frames.select filters a DataFrame as pyarrow filters a Parquet file:
the same rows, in the same order (a saved analysis reads its rows with pyarrow,
a fresh one filters in memory, and the reports must not tell them apart)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlink.core.frames import KeyIndex, dnf, select
from graphlink.state.saved import _expression

NAMES = ["S1", "S2", "S3", "S4", None]
texts = st.lists(st.sampled_from(NAMES), min_size=0, max_size=30)
numbers = st.sampled_from([0.0, 0.01, 0.02, 0.5, 1.0, None])
conditions = st.one_of(
    st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["in", "not in"]),
              st.sets(st.sampled_from(NAMES[:-1]), max_size=3)),
    st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["==", "!="]),
              st.sampled_from(NAMES[:-1] + [""])),
    st.tuples(st.just("p"), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
              st.sampled_from([0.0, 0.02, 0.5])),
)
filters = st.one_of(st.lists(conditions, min_size=1, max_size=3),
                    st.lists(st.lists(conditions, min_size=1, max_size=2), min_size=1,
                             max_size=3))


SCHEMA = pa.schema([("a", pa.string()), ("b", pa.string()), ("p", pa.float64()),
                    ("i", pa.int64())])


def _tuples(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(None if pd.isna(v) else v for v in row)
            for row in frame.itertuples(index=False, name=None)]


def _arrow(frame: pd.DataFrame, terms) -> list[tuple]:
    table = pa.Table.from_pandas(frame, schema=SCHEMA, preserve_index=False)
    return _tuples(table.filter(_expression(dnf(terms), table.schema)).to_pandas())


@settings(max_examples=300, deadline=None)
@given(data=st.data(), terms=filters)
def test_select_keeps_the_rows_pyarrow_keeps_in_order(data, terms):
    a = data.draw(texts)
    n = len(a)
    b = data.draw(st.lists(st.sampled_from(NAMES + [""]), min_size=n, max_size=n))
    p = data.draw(st.lists(numbers, min_size=n, max_size=n))
    frame = pd.DataFrame({"a": pd.Series(a, dtype=object), "b": pd.Series(b, dtype=object),
                          "p": pd.Series(p, dtype=float), "i": range(n)})
    got = select(frame, None, terms)
    assert _tuples(got) == _arrow(frame, terms)
    assert got["i"].is_monotonic_increasing  # the frame's order


def test_select_nulls_never_pass_and_empty_sets_pass_nothing():
    frame = pd.DataFrame({"via": ["", None, "S2,S3"], "p": [0.5, None, 0.01]})
    assert select(frame, None, [("via", "!=", "")])["via"].tolist() == ["S2,S3"]
    assert select(frame, None, [("p", "<", 1.0)])["p"].tolist() == [0.5, 0.01]
    assert select(frame, None, [("via", "in", set())]).empty
    assert select(frame, None, [("via", "not in", {"S2,S3"})])["via"].tolist() == [""]
    assert select(frame, ["p"], None).columns.tolist() == ["p"]


key_filters = st.lists(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.just("in"),
                                          st.sets(st.sampled_from(NAMES[:-1] + ["S9"]),
                                                  max_size=3)),
                                min_size=1, max_size=2), min_size=1, max_size=3)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), terms=key_filters, sort=st.booleans())
def test_key_index_selects_the_rows_select_does(data, terms, sort):
    """KeyIndex (sorted column: bisection; any other: codes) against select, nulls and
    keys missing from the table included."""
    a = data.draw(st.lists(st.sampled_from(NAMES[:-1] if sort else NAMES), max_size=30))
    n = len(a)
    b = data.draw(st.lists(st.sampled_from(NAMES), min_size=n, max_size=n))
    frame = pd.DataFrame({"a": pd.Series(sorted(a) if sort else a, dtype=object),
                          "b": pd.Series(b, dtype=object), "i": range(n)})
    index = KeyIndex(frame, ["a", "b"])
    assert index.columns["a"][0] or not sort  # sorted text: searched by bisection
    got, want = index.select(["i", "a"], terms), select(frame, ["i", "a"], terms)
    assert got.equals(want) and got.index.equals(want.index)


def test_key_index_takes_only_look_ups_by_its_keys():
    index = KeyIndex(pd.DataFrame({"a": ["S1"], "p": [0.5]}), ["a"])
    for terms in ([("p", "in", {0.5})], [("a", "==", "S1")]):
        with pytest.raises(ValueError, match="look-up by key"):
            index.select(None, terms)
    assert index.select(["p"], None)["p"].tolist() == [0.5]
