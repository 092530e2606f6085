"""graphlink.core.frames.select filters a DataFrame as pyarrow filters a Parquet file:
the same rows, in the same order (a saved analysis reads its rows with pyarrow,
a fresh one filters in memory, and the reports must not tell them apart)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlink.core.frames import dnf, select
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
