"""Payment endpoints (cards, accounts, wallets), masked forms kept comparable.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from graphlink.core.privacy import is_hashed
from graphlink.normalise.text import _cache, _call, _fixpoint, _strip_controls


@dataclass(frozen=True)
class Payment:
    """A normalised payment endpoint.

    Attributes
    ----------
    value : str
        Digits only for card/bank numbers (``'6222*1234'`` when masked: one
        ``*`` for the hidden run), lower-case for Alipay ids, emails, hashes.
    masked : bool
        Part of the value is hidden; only ``prefix`` and ``suffix`` are known.
    prefix, suffix : str or None
        Visible leading / trailing characters of a masked value; for a full
        number of 8+ digits the first 6 and last 4 digits, so masked and full
        forms of one card share :func:`payment_key`.
    hashed : bool
        A pre-hashed value (32-64 hex characters): exact matches only.
    """

    value: str
    masked: bool = False
    prefix: str | None = None
    suffix: str | None = None
    hashed: bool = False


_MASK_CHARS = "*•●·xX#…"
_MASKED_DIGITS = re.compile(r"(\d*)[*•●·x#.…]+(?:\d+[*•●·x#.…]+)*(\d*)")
_MASKED_TEXT = re.compile(r"([^*]*)\*+(?:[^*]*\*+)*([^*]*)")


def _compact_lower(s: str) -> str:
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", s).lower())


def _payment(s: str) -> Payment | None:
    compact = _fixpoint(_compact_lower, _strip_controls(s))
    if not compact:
        return None
    if is_hashed(compact):
        return Payment(compact, hashed=True)
    if compact.isdigit():
        long = len(compact) >= 8
        return Payment(compact, False, compact[:6] if long else None,
                       compact[-4:] if long else None)
    starred = re.sub("[•●]", "*", compact)
    m = _MASKED_TEXT.fullmatch(starred) if "*" in starred else _MASKED_DIGITS.fullmatch(compact)
    if m is None:
        return Payment(compact)
    prefix, suffix = m.group(1), m.group(2)
    if not prefix and not suffix:
        return None
    return Payment(f"{prefix}*{suffix}", True, prefix or None, suffix or None)


_payment_cached = _cache(_payment)


def payment(raw: object) -> Payment | None:
    """Normalise a payment endpoint: card, bank account, Alipay id, hash.

    Examples
    --------
    >>> payment("6222 0212 3456 7891 234")
    Payment(value='6222021234567891234', masked=False, prefix='622202', suffix='1234', hashed=False)
    >>> payment("6222****1234") == payment("6222 **** **** 1234")
    True
    >>> p = payment("622202******1234")
    >>> p.value, p.masked, p.prefix, p.suffix
    ('622202*1234', True, '622202', '1234')
    >>> payment("ZhangWei@Alipay.COM").value, payment("zha***@qq.com").prefix
    ('zhangwei@alipay.com', 'zha')
    >>> payment("****") is None, payment("") is None
    (True, True)
    """
    return _call(_payment_cached, _payment, raw)


def payment_key(p: Payment | None) -> str | None:
    """Blocking key shared by masked and full forms: first 4 and last 4 visible.

    None for hashes and for values showing fewer than 4 leading or trailing
    characters (a bare ``****1234`` would block with every card ending 1234).

    >>> payment_key(payment("6222****1234")), payment_key(payment("6222021234567891234"))
    ('6222|1234', '6222|1234')
    >>> payment_key(payment("****1234")) is None
    True
    """
    if p is None or p.hashed or not p.prefix or not p.suffix:
        return None
    if len(p.prefix) < 4 or len(p.suffix) < 4:
        return None
    return f"{p.prefix[:4]}|{p.suffix[-4:]}"
