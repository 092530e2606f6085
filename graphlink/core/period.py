"""``--since``: a date, or a period counted back from the newest shop's creation.

A period is whole days (``7d``, ``30d``) or weeks (``2w``). It counts back
from the *date* of the newest shop's creation in the dataset (for a delta
scored against a state, the newest shop of the delta), never from today, so
a report re-run later gives the same answer.

>>> parse_since("2026-09-01"), parse_since("7d"), parse_since(" 2W ")
('2026-09-01', '7d', '2w')
>>> import pandas as pd
>>> created = pd.Series(pd.to_datetime(["2026-10-01", "2026-10-31T18:30"], format="ISO8601"))
>>> resolve_since("7d", created), resolve_since("2w", created), resolve_since("2026-01-05", created)
('2026-10-24', '2026-10-17', '2026-01-05')
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import TYPE_CHECKING

from graphlink.core.errors import GraphlinkError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["parse_since", "is_period", "resolve_since", "PERIOD_HELP", "day", "moment"]

_PERIOD = re.compile(r"(\d{1,5})([dw])")
_DAYS = {"d": 1, "w": 7}
PERIOD_HELP = ("a date (YYYY-MM-DD) or a period before the newest shop's creation in "
               "DATASET: 7d, 2w, 30d")


def parse_since(text: str) -> str:
    """``text`` as a date (``YYYY-MM-DD``) or a period (``7d``, ``2w``); ValueError otherwise."""
    value = str(text).strip().lower()
    if _PERIOD.fullmatch(value):
        return value
    try:
        return date.fromisoformat(value).isoformat() if len(value) == 10 else _bad(text)
    except ValueError:
        return _bad(text)


def _bad(text: str) -> str:
    raise ValueError(f"{text!r} is neither a date (YYYY-MM-DD) nor a period (7d, 2w)")


def is_period(since: object) -> bool:
    return isinstance(since, str) and _PERIOD.fullmatch(since.strip().lower()) is not None


def resolve_since(since: str | pd.Timestamp, created: pd.Series | None) -> str | pd.Timestamp:
    """The date ``since`` stands for: a period counts back whole days from the date of
    the newest value of ``created``; a date (or anything else) is returned as it is."""
    if not is_period(since):
        return since
    import pandas as pd  # here, not at the top: the CLI imports this module to parse options
    match = _PERIOD.fullmatch(since.strip().lower())
    newest = None if created is None or not len(created) else pd.to_datetime(created).max()
    if newest is None or pd.isna(newest):
        raise GraphlinkError(f"--since {since}: no shop has a creation date to count back "
                             "from; give a date (YYYY-MM-DD)")
    days = int(match.group(1)) * _DAYS[match.group(2)]
    return (newest.date() - timedelta(days=days)).isoformat()


# --- dates as reports write them -------------------------------------------------------------

def day(value: object) -> str | None:
    """The day of a date or moment as ``YYYY-MM-DD``; None when missing.

    >>> import numpy as np, pandas as pd
    >>> day(pd.Timestamp("2025-03-01T18:30")), day(np.datetime64("2025-03-01T00:00")), day(None)
    ('2025-03-01', '2025-03-01', None)
    >>> day(pd.NaT), day(np.datetime64("NaT")), day("2025-03-01 09:00")
    (None, None, '2025-03-01')
    """
    import numpy as np
    import pandas as pd

    if isinstance(value, np.datetime64):  # the common case in bulk, without a Timestamp
        return None if np.isnat(value) else str(value)[:10]
    return None if value is None or pd.isna(value) else pd.Timestamp(value).date().isoformat()


def moment(value: object) -> str | None:
    """A date or moment in ISO 8601, the time left out when it is midnight; None when missing.

    >>> import pandas as pd
    >>> moment(pd.Timestamp("2025-03-01")), moment("2025-03-01T18:30"), moment(float("nan"))
    ('2025-03-01', '2025-03-01T18:30:00', None)
    """
    import pandas as pd

    if type(value) is pd.Timestamp:  # the common case, once per sign-up (180,000 at 300k)
        return value.isoformat().removesuffix("T00:00:00")
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).isoformat().removesuffix("T00:00:00")
