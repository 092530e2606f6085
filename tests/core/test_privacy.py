"""graphlink/core/privacy.py: the one answer to "is this already a hash", masks and the
keyed hash, and every stage that asks it answering alike."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from graphlink import normalise as norm
from graphlink.core.errors import ConfigError
from graphlink.core.privacy import (
    KEY_VARIABLE,
    SENSITIVE,
    hashed,
    is_hashed,
    key_from_env,
    keyed_token,
    mask,
)
from graphlink.linkage.identifiers import canonical
from graphlink.linkage.pseudonymise import KINDS, Pseudonymiser

KEY = b"0123456789abcdef-test-key"
SHA = hashlib.sha256(b"+8613800138000").hexdigest()
MD5 = hashlib.md5(b"x").hexdigest()  # noqa: S324 (a 32-digit hash as data arrives)


@pytest.mark.parametrize("value, expected", [
    (SHA, True), (MD5, True), (SHA.upper(), False), ("1" * 40, False), (SHA[:31], False),
    (SHA + "0", False), ("g" * 40, False), (None, False), (12345, False)])
def test_what_is_a_hash(value, expected):
    assert is_hashed(value) is expected


@pytest.mark.parametrize("value", [SHA, MD5])
def test_every_stage_keeps_a_hash_as_it_is(value):
    """Normalisers, extraction, masks and pseudonyms all read the same test."""
    upper = f"  {value.upper()} "
    assert norm.phone(upper) == value
    assert norm.id_number(upper).value == value and norm.id_number(upper).kind == "hashed"
    assert norm.payment(upper).value == value and norm.payment(upper).hashed
    assert canonical("email")(upper) == value == hashed(upper)
    assert all(mask(kind, value) == value[:8] + "…" for kind in SENSITIVE)
    assert Pseudonymiser(KEY).token(value) == keyed_token(KEY, value) == value


def test_a_value_in_clear_gets_the_documented_keyed_hash():
    token = Pseudonymiser(KEY).token("+8613800138000")
    assert token == hmac.new(KEY, b"+8613800138000", hashlib.sha256).hexdigest()
    assert is_hashed(token) and token != SHA


def test_pseudonymised_kinds_are_the_personal_ones():
    assert KINDS == SENSITIVE


def test_the_key_comes_from_the_environment_only_and_long_enough():
    assert key_from_env({KEY_VARIABLE: "a long enough secret key"}) == b"a long enough secret key"
    with pytest.raises(ConfigError, match=KEY_VARIABLE):
        key_from_env({})
    with pytest.raises(ConfigError, match="too short"):
        key_from_env({KEY_VARIABLE: "short"})
