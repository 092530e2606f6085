"""Email addresses: the canonical address, and its skeleton for fuzzy matching.
"""

from __future__ import annotations

import re
import unicodedata

from graphlink.normalise.text import _cache, _call, _fixpoint, _fold, _strip_controls

_AT = re.compile(r"[\[(]\s*at\s*[\])]")  # blanks around are dropped later
_DOT = re.compile(r"[\[(]\s*dot\s*[\])]")
_GMAIL = frozenset({"gmail.com", "googlemail.com"})


def _email(s: str) -> str | None:
    s = _fixpoint(lambda x: unicodedata.normalize("NFKC", x).lower(), _strip_controls(s))
    s = _DOT.sub(".", _AT.sub("@", s))
    s = _fixpoint(lambda x: unicodedata.normalize("NFKC", "".join(x.split())), s)
    s = s.strip("<>\"'")
    if s.startswith("mailto:"):
        s = s[len("mailto:"):]
    local, sep, domain = s.rpartition("@")
    domain = domain.strip(".")
    local = local.split("+", 1)[0]
    if not sep or not local or not domain:
        return None
    if domain in _GMAIL:
        domain, local = "gmail.com", local.replace(".", "")
        if not local:
            return None
    return f"{local}@{domain}"


_email_cached = _cache(_email)


def email(raw: object) -> str | None:
    """Canonical email: lower-case, plus-tag removed, Gmail dots removed.

    Parameters
    ----------
    raw : str or None
        An address; ``mailto:``, angle brackets, blanks, full-width ``＠`` and
        ``[at]``/``(dot)`` obfuscation are tolerated.

    Returns
    -------
    str or None
        ``local@domain``, or None without a usable ``@``.

    Examples
    --------
    >>> email(" Zhang.Wei88+shop@QQ.com ")
    'zhang.wei88@qq.com'
    >>> email("J.O.H.N+spam@googlemail.com")
    'john@gmail.com'
    >>> email("zhangwei [at] 163 [dot] com")
    'zhangwei@163.com'
    >>> email("not an email"), email(None)
    (None, None)
    """
    return _call(_email_cached, _email, raw)


def _email_skeleton(s: str) -> str | None:
    canon = _email(s)
    if canon is not None:
        local = canon.rpartition("@")[0]
    elif "@" in unicodedata.normalize("NFKC", s):
        return None
    else:
        local = _fold(s).split("+", 1)[0]
    skeleton = "".join(ch for ch in _fold(local) if ch.isalpha())
    return skeleton or None


_email_skeleton_cached = _cache(_email_skeleton)


def email_skeleton(raw: object) -> str | None:
    """Local part reduced for fuzzy use: letters only, no digits, dots or plus tag.

    Accepts an email or a bare local part (so it is idempotent). Numeric
    local parts (QQ numbers) have no skeleton: they match exactly or not at all.

    Examples
    --------
    >>> email_skeleton("Zhang.Wei88+shop@qq.com")
    'zhangwei'
    >>> email_skeleton("zhang_wei-2024@163.com"), email_skeleton("zhangwei")
    ('zhangwei', 'zhangwei')
    >>> email_skeleton("12345678@qq.com") is None
    True
    """
    return _call(_email_skeleton_cached, _email_skeleton, raw)
