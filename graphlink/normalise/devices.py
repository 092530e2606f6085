"""Device ids, IP addresses and IP blocks.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

from graphlink.normalise.text import _strip_controls, _text

_DEVICE_NULLS = frozenset({"", "null", "none", "nil", "nan", "unknown", "undefined", "n/a", "na",
                           "-", "0", "default"})


def device(raw: object) -> str | None:
    """Device id: stripped, lower-cased, surrounding braces/quotes dropped.

    Placeholder values (``unknown``, ``null``, an all-zero GUID) are None:
    they would join every shop that logged one.

    Examples
    --------
    >>> device(" {3F2504E0-4F89-11D3-9A0C-0305E82C3301} ")
    '3f2504e0-4f89-11d3-9a0c-0305e82c3301'
    >>> device("00000000-0000-0000-0000-000000000000"), device("Unknown"), device(None)
    (None, None, None)
    """
    s = _text(raw)
    if s is None:
        return None
    s = "".join(ch for ch in _strip_controls(s) if ch.isprintable()).lower()
    s = s.strip(" {}[]()<>\"'")
    if s in _DEVICE_NULLS or not s.strip("0-:{}. "):
        return None
    return s


def _ip_address(s: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    s = "".join(unicodedata.normalize("NFKC", _strip_controls(s)).split()).lower()
    if s.startswith("[") and "]" in s:
        s = s[1: s.index("]")]
    elif s.count(":") == 1:
        s = s.split(":", 1)[0]  # IPv4 with a port
    s = s.split("%", 1)[0]
    if s.count(".") == 3 and ":" not in s:
        s = ".".join(p.lstrip("0") or "0" if p.isdigit() else p for p in s.split("."))
    try:
        addr = ipaddress.ip_address(s)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return None if addr.is_unspecified else addr


def ip(raw: object) -> str | None:
    """Canonical IP address (IPv4 or IPv6), or None if not an address.

    Ports, brackets, zone ids and leading zeros are tolerated; IPv4-mapped
    IPv6 becomes IPv4; ``0.0.0.0`` and ``::`` are None (placeholders).

    Examples
    --------
    >>> ip(" 192.168.001.010:8080 "), ip("2001:DB8:0:0::1"), ip("::ffff:1.2.3.4")
    ('192.168.1.10', '2001:db8::1', '1.2.3.4')
    >>> ip("999.1.1.1"), ip("0.0.0.0"), ip(None)
    (None, None, None)
    """
    s = _text(raw)
    if s is None or len(s) > 200:
        return None
    addr = _ip_address(s)
    return str(addr) if addr is not None else None


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_IPV4 = re.compile(rf"({_OCTET}\.{_OCTET}\.{_OCTET})\.{_OCTET}\Z")


def ip_block(raw: object) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network of an address, as a string.

    Accepts an address or a block (so it is idempotent).

    Examples
    --------
    >>> ip_block("1.2.3.4"), ip_block("2001:db8:1:2::5"), ip_block("1.2.3.0/24")
    ('1.2.3.0/24', '2001:db8:1::/48', '1.2.3.0/24')
    >>> ip_block("nonsense") is None
    True
    """
    s = _text(raw)
    if s is None or len(s) > 200:
        return None
    canonical = _CANONICAL_IPV4.match(s)
    if canonical and s != "0.0.0.0":  # what :func:`ip` writes: no parsing needed
        return f"{canonical[1]}.0/24"
    s, slash, length = s.strip().partition("/")
    addr = _ip_address(s)
    if addr is None:
        return None
    prefix = 24 if addr.version == 4 else 48
    if slash and (not length.strip().isdigit() or int(length) < prefix):
        return None
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))
