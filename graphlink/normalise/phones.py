"""Phone numbers: E.164 where ``phonenumbers`` finds a number, else the cleaned
digits (see :mod:`graphlink.normalise`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

from graphlink.core.privacy import is_hashed
from graphlink.normalise.text import _CACHE_MAX_LEN, _CACHE_SIZE, _strip_controls, _text

_CN_MOBILE = re.compile(r"(?:\+?86)?1[3-9]\d{9}")
_PHONE_EXT = re.compile(r"(?:ext|x|转|分机|#)", re.IGNORECASE)
_PHONE_SPLIT = re.compile(r"[/,;、|]|\s{3,}")


def _phone_clean(s: str) -> str:
    """First number in the cell, without extension: digits with a leading '+'."""
    s = unicodedata.normalize("NFKC", _strip_controls(s))
    part = next((p for p in _PHONE_SPLIT.split(s) if any(c.isdigit() for c in p)), "")
    part = _PHONE_EXT.split(part, maxsplit=1)[0]
    part = re.sub(r"\.0+\s*$", "", part)  # 13800138000.0 from a float column
    digits = "".join(c for c in part if c.isascii() and c.isdigit())
    return ("+" if part.lstrip(" ([").startswith("+") else "") + digits


def _e164(text: str, region: str) -> tuple[str | None, bool]:
    """E.164 form of a valid (or possible, 7+ digit) number, and whether it is plain.

    Plain: valid and without leading zeros, so it formats back to itself.
    """
    try:
        num = phonenumbers.parse(text, region)
        valid = phonenumbers.is_valid_number(num)
        ok = valid or (
            phonenumbers.is_possible_number(num) and len(str(num.national_number)) >= 7
        )
        if not ok:
            return None, False
        plain = valid and not num.italian_leading_zero
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), plain
    except Exception:  # phonenumbers raises on anything odd
        return None, False


def _phone(s: str, region: str) -> str | None:
    compact = re.sub(r"[\s\-]", "", s).lower()
    if is_hashed(compact):
        return compact
    cleaned = _phone_clean(s)
    if not 5 <= len(cleaned.lstrip("+")) <= 20:
        return None
    if region == "CN" and _CN_MOBILE.fullmatch(cleaned) and _cn_mobile_pattern().fullmatch(
            cleaned[-11:]):
        # most cells are Chinese mobiles: libphonenumber's own mobile pattern says the
        # number is valid, so its E.164 form is +86 and the digits (~100 us saved)
        return "+86" + cleaned[-11:]
    return _phone_slow(cleaned, region)


@lru_cache(maxsize=1)
def _cn_mobile_pattern() -> re.Pattern:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    return re.compile(metadata.mobile.national_number_pattern)


def _phone_slow(cleaned: str, region: str) -> str | None:
    e164, plain = _e164(cleaned, region)
    if e164 is None:
        return cleaned
    # odd numbers (leading zeros) can format to another number: keep the digits then
    return e164 if plain or _e164(e164, region)[0] == e164 else cleaned


_phone_cached = lru_cache(maxsize=_CACHE_SIZE)(_phone)


def phone(raw: object, region: str = "CN") -> str | None:
    """Canonical phone number: E.164, or cleaned digits when not a known number.

    Parameters
    ----------
    raw : str or None
        Any common format: spaces, dashes, brackets, full-width digits,
        ``0086``/``86``/``(+86)`` prefixes, an extension (dropped), several
        numbers in one cell (the first is used).
    region : str
        ISO region assumed for numbers written without a country code.

    Returns
    -------
    str or None
        ``'+8613800138000'`` style E.164 when ``phonenumbers`` accepts it as
        valid or possible; else the cleaned digits (a leading ``+`` kept) when
        5-20 digits remain; a 32-64 character hex hash lower-cased; else None.

    Examples
    --------
    >>> phone("+86 138-0013-8000"), phone("(+86)13800138000"), phone("0086 13800138000")
    ('+8613800138000', '+8613800138000', '+8613800138000')
    >>> phone("１３８ ００１３ ８０００")
    '+8613800138000'
    >>> phone("+44 20 7946 0958"), phone("+1 (415) 555-2671")
    ('+442079460958', '+14155552671')
    >>> phone("12345"), phone("call me"), phone(None)
    ('12345', None, None)
    >>> phone("5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8")[:8]
    '5e884898'
    """
    s = _text(raw)
    if s is None or len(s) > 10_000:
        return None
    reg = region.upper() if isinstance(region, str) else "CN"
    return _phone_cached(s, reg) if len(s) <= _CACHE_MAX_LEN else _phone(s, reg)
