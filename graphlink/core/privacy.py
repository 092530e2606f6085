"""Personal data, in one place: which kinds are personal, how a hash is recognised,
how a value is masked for display, and the keyed hash that pseudonymises it.

Every stage asks this module: :mod:`graphlink.normalise` keeps a pre-hashed
phone, ID number or endpoint as it is (:func:`is_hashed`),
:mod:`graphlink.linkage.identifiers` shows values masked (:func:`mask`), and
:mod:`graphlink.linkage.pseudonymise` replaces the :data:`SENSITIVE` values of a
dataset and of an analysis by :func:`keyed_token` under the key of
:func:`key_from_env` (how it is applied to each table is that module's
business; the recipe is this one's).

>>> is_hashed("5e884898da28047151d0e56f8dc62927"), is_hashed("13800138000")
(True, False)
>>> keyed_token(b"0123456789abcdef-example-key", "+8613800138000")[:12]
'977f5397ebdc'
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping

from graphlink.core.errors import ConfigError

__all__ = ["SENSITIVE", "KEY_VARIABLE", "MIN_KEY_LENGTH", "is_hashed", "hashed", "keyed_token",
           "key_from_env", "mask", "mask_hard", "masked"]

#: identifier kinds whose values are personal data: masked for display, pseudonymised
#: on request
SENSITIVE = ("phone", "email", "id_number", "payment", "birth_date")
#: the environment variable holding the pseudonymisation key
KEY_VARIABLE = "GRAPHLINK_PSEUDONYM_KEY"
#: shortest key accepted, in bytes (UTF-8)
MIN_KEY_LENGTH = 16

_HASHED = re.compile(r"[0-9a-f]{32,64}")


# --- hashing ------------------------------------------------------------------------------

def is_hashed(value: object) -> bool:
    """True for a value that is already a hash: 32-64 lower-case hex digits, not all digits
    (pre-hashed upstream, or a token of :func:`keyed_token`).

    >>> is_hashed("a" * 64), is_hashed("A" * 64), is_hashed("1" * 40), is_hashed(None)
    (True, False, False, False)
    """
    return (isinstance(value, str) and _HASHED.fullmatch(value) is not None
            and not value.isdigit())


def hashed(raw: object) -> str | None:
    """A raw cell that holds a hash, as the hash (stripped, lower-cased); else None.

    >>> hashed(" 5E884898DA28047151D0E56F8DC62927 "), hashed("zw@qq.com")
    ('5e884898da28047151d0e56f8dc62927', None)
    """
    if not isinstance(raw, str):
        return None
    text = raw.strip().lower()
    return text if is_hashed(text) else None


def keyed_token(key: bytes, value: str) -> str:
    """The pseudonym of one canonical value: its HMAC-SHA256 under ``key`` as 64 hex
    digits; a value that already is a hash is its own token (so it links to the same
    hash elsewhere)."""
    if is_hashed(value):
        return value
    return hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def key_from_env(environ: Mapping[str, str] | None = None) -> bytes:
    """The key from :data:`KEY_VARIABLE`; :class:`ConfigError` when missing or short.

    >>> key_from_env({KEY_VARIABLE: "correct horse battery staple"})
    b'correct horse battery staple'
    """
    environ = os.environ if environ is None else environ
    text = environ.get(KEY_VARIABLE, "")
    if not text.strip():
        raise ConfigError(
            f"--pseudonymise needs a secret key in the environment variable {KEY_VARIABLE} "
            f"(at least {MIN_KEY_LENGTH} characters; e.g. `export {KEY_VARIABLE}=$(openssl rand "
            "-hex 32)`, kept somewhere safe: the same key gives the same tokens). It is never "
            "read from the command line.")
    key = text.encode("utf-8")
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"the key in {KEY_VARIABLE} is too short ({len(key)} bytes; at least "
                          f"{MIN_KEY_LENGTH}): a short key lets anyone who guesses it reverse "
                          "the tokens")
    return key


# --- masking ------------------------------------------------------------------------------

def mask(kind: str, value: str) -> str:
    """A display form that does not reveal a sensitive identifier in full.

    Phones, ID numbers and payment endpoints keep a short prefix and the last
    four characters; a value too short for that to hide at least 3 characters
    and a quarter of it keeps at most 2 at each end. Emails keep the first
    character of the local part and the domain. Values that arrived masked
    (``6222****1234``) are shown as they are; hashes (pre-hashed or
    pseudonymised values) show their first 8 digits. A phone, email, ID
    number or endpoint is never shown whole. Other kinds are shown as they are.

    >>> mask("id_number", "110101199003074514")
    '1101**********4514'
    >>> mask("payment", "6222021234567891234")
    '6222***********1234'
    >>> mask("phone", "13800138000"), mask("phone", "+861234567"), mask("id_number", "A123")
    ('1380***8000', '+8******67', 'A**3')
    >>> mask("email", "zhangwei@qq.com"), mask("email", "z@example.com")
    ('z*******@qq.com', 'z***@example.com')
    >>> mask("device", "d-88")
    'd-88'
    >>> mask("id_number", "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8")
    '5e884898…'
    """
    if kind not in SENSITIVE:
        return value
    if hashed(value) == value:
        return value[:8] + "…"  # a hash (pre-hashed or pseudonymised): its start names it
    if kind == "email" and "@" in value:
        local, _, domain = value.partition("@")
        return local[:1] + "*" * max(len(local) - 1, 3) + "@" + domain
    if "*" in value and kind != "email":  # arrived masked (a masked card)
        return value
    head = 6 if value.startswith("+") else 4
    hidden = len(value) - head - 4
    if hidden >= 3 and 4 * hidden >= len(value):
        return value[:head] + "*" * hidden + value[-4:]
    return mask_hard(value)


def mask_hard(value: str) -> str:
    """At most 2 characters at each end of ``value`` (none when shorter than 4),
    the rest as ``*``: for values too short or too odd for :func:`mask`'s usual form.

    >>> mask_hard("+861234567"), mask_hard("12345"), mask_hard("abc")
    ('+8******67', '1***5', '***')
    """
    keep = min(len(value) // 4, 2)
    return value[:keep] + "*" * max(len(value) - 2 * keep, 1) + (value[-keep:] if keep else "")


def masked(value: str, display: object) -> str:
    """``display`` if it hides part of ``value``; else a stricter mask (:func:`mask_hard`).

    >>> masked("+8613800138000", "+86138****8000"), masked("+861234567", "+861234567")
    ('+86138****8000', '+8******67')
    >>> masked("6222*1234", "6222*1234")
    '6222*1234'
    """
    display = str(display) if isinstance(display, str) else ""
    if display and (value not in display or "*" in value):  # "*": arrived masked
        return display
    return mask_hard(value)
