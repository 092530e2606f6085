"""Which object columns a saved analysis writes as JSON text (state.saved._nested)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from graphlink.state.saved import _nested

SCALARS = st.one_of(st.none(), st.text(max_size=5), st.integers(), st.floats(),
                    st.booleans(), st.binary(max_size=3))
NESTED = st.one_of(st.lists(st.text(max_size=3), max_size=3),
                   st.tuples(st.integers()), st.dictionaries(st.text(max_size=2),
                                                             st.integers(), max_size=2),
                   st.lists(st.integers(), max_size=3).map(np.array))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(SCALARS, NESTED), max_size=8))
def test_a_column_is_nested_when_any_cell_is_a_container(cells):
    column = pd.Series(cells, dtype=object)
    want = any(isinstance(v, list | tuple | dict | np.ndarray) for v in cells)
    assert _nested(column) is want
