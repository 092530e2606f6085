"""ID numbers (resident IDs, unified social credit codes, others) with their check
characters, and birth dates.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from graphlink.core.privacy import is_hashed
from graphlink.normalise.text import _cache, _call, _strip_controls, _text


@dataclass(frozen=True)
class IdNumber:
    """A normalised ID number.

    Attributes
    ----------
    value : str
        Canonical value: upper-case alphanumerics, or a lower-case hex hash.
    kind : str
        ``'resident_id'`` (18-character PRC resident ID), ``'uscc'`` (Unified
        Social Credit Code), ``'hashed'`` or ``'other'``.
    checksum_ok : bool or None
        The check character verdict; None when the kind has none. A failed
        checksum is a warning (a typo or a fake), not a rejection.
    """

    value: str
    kind: str
    checksum_ok: bool | None = None


_RESIDENT_RE = re.compile(r"\d{17}[\dX]")
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_RE = re.compile(f"[{_USCC_ALPHABET}]{{2}}\\d{{6}}[{_USCC_ALPHABET}]{{10}}")


def resident_id_check(first17: str) -> str | None:
    """ISO 7064 MOD 11-2 check character of a resident ID's first 17 digits.

    None unless ``first17`` is 17 ASCII digits.

    >>> resident_id_check("11010519491231002"), resident_id_check("1101")
    ('X', None)
    """
    if not (isinstance(first17, str) and len(first17) == 17 and first17.isascii()
            and first17.isdigit()):
        return None
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    return "10X98765432"[total % 11]


def uscc_check(first17: str) -> str | None:
    """GB 32100-2015 check character of a USCC's first 17 characters.

    None unless ``first17`` is 17 characters of the USCC alphabet (no I O S V Z).

    >>> uscc_check("91350100M000100Y4"), uscc_check("91350100M000100Z4")
    ('3', None)
    """
    if not (isinstance(first17, str) and len(first17) == 17
            and all(c in _USCC_ALPHABET for c in first17)):
        return None
    total = sum(_USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def _plausible_birth(value: str) -> bool:
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2100


def _id_number(s: str) -> IdNumber | None:
    s = unicodedata.normalize("NFKC", _strip_controls(s))
    value = "".join(c for c in s.upper() if c.isascii() and c.isalnum())
    if not value:
        return None
    if is_hashed(value.lower()):
        return IdNumber(value.lower(), "hashed")
    resident = _RESIDENT_RE.fullmatch(value) is not None
    uscc = _USCC_RE.fullmatch(value) is not None
    if resident and resident_id_check(value[:17]) == value[17]:
        return IdNumber(value, "resident_id", True)
    if uscc and uscc_check(value[:17]) == value[17]:
        return IdNumber(value, "uscc", True)
    if resident and _plausible_birth(value):
        return IdNumber(value, "resident_id", False)
    if uscc:
        return IdNumber(value, "uscc", False)
    return IdNumber(value, "other")


_id_number_cached = _cache(_id_number)


def id_number(raw: object) -> IdNumber | None:
    """Normalise a national ID or business licence number.

    Examples
    --------
    >>> id_number("11010519491231002x")
    IdNumber(value='11010519491231002X', kind='resident_id', checksum_ok=True)
    >>> id_number("110105194912310021")
    IdNumber(value='110105194912310021', kind='resident_id', checksum_ok=False)
    >>> id_number("91350100-M000100Y43").kind
    'uscc'
    >>> id_number("E1234 5678").value, id_number("   ") is None
    ('E12345678', True)
    >>> id_number("5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8").kind
    'hashed'
    """
    return _call(_id_number_cached, _id_number, raw)


_BIRTH = re.compile(r"(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?(?:[T ].*)?")


def birth_date(raw: object) -> str | None:
    """A date of birth as ``YYYY-MM-DD``; a year-month-day that is no calendar date
    (a typing error) keeps its digits, so near dates can still be compared.

    Examples
    --------
    >>> birth_date("1990-03-07"), birth_date("19900307"), birth_date("1990年3月7日")
    ('1990-03-07', '1990-03-07', '1990-03-07')
    >>> birth_date("19901307"), birth_date("07/03/1990"), birth_date(" ")
    ('19901307', None, None)
    """
    s = _text(raw)
    if s is None or len(s) > 40:
        return None
    m = _BIRTH.fullmatch(s.replace(" ", "") if "T" not in s else s)
    if m is None:
        return None
    year, month, day = m.group(1), m.group(2).zfill(2), m.group(3).zfill(2)
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return year + month + day
    return f"{year}-{month}-{day}"
