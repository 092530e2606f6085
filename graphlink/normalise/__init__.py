"""Canonical forms for every identifier kind: one pure function per kind.

Every normaliser here is

* **total**: it accepts any ``str`` (hostile text, NUL bytes, lone
  surrogates, megabyte strings), ``None``, ``bytes``, ints and floats (pandas
  turns phone columns into floats) and never raises; it returns ``None`` when
  nothing usable is left;
* **idempotent**: ``f(f(x)) == f(x)`` for the string-returning ones, and
  ``f(f(x).canonical) == f(x)`` (``.value`` for IDs and payments) for the
  ones returning a record;
* **fast**: converters are built once, lazily; the expensive ones are memoised
  with :func:`functools.lru_cache` for short inputs, which repeat a lot.

Design (DESIGN.md idea 3, "fuzzy where people cheat, exact where machines
speak"): machine identifiers (devices, IPs, IDs, card numbers) keep their
exact identity and are only cleaned of formatting; human-typed values
(names, addresses, emails, shop names) are folded to forms that survive the
tricks people use: full-width characters, traditional characters,
diacritics, reordered names, Chinese numerals, dropped provinces.

Decisions worth knowing
-----------------------
* :func:`phone` returns E.164 when ``phonenumbers`` finds a valid or
  possible number; otherwise the cleaned digits (a leading ``+`` kept) when
  5-20 digits remain, so two identical odd values still match exactly; a
  pre-hashed value (32-64 hex characters) is returned lower-cased.
* :func:`person_name` keeps only the Hanzi of a name that has any (so
  ``张伟 (Zhang Wei)`` is ``张伟``).
* :func:`name_pinyin` romanises a Hanzi name the passport way, surname then
  the given name joined (``张小明`` -> ``xiaoming zhang``), then sorts tokens.
  ``Zhang Xiao Ming`` therefore gives a different key; the comparator joins
  tokens and copes, the blocking key does not.
* :func:`address` treats ``N号院`` as the house number ``N号`` (Beijing
  compounds) and ``N号楼/栋/幢/座/#`` as the building; a unit (单元) is kept
  in the room as ``unit-room``; a floor is kept only when no room is given,
  as ``<n>f``, or with a lettered flat (``15楼A室`` -> ``15a``). An address whose
  canonical form would not parse back to itself (only hostile text does
  that) is re-parsed until it does (at most three times).
* Traditional -> simplified conversion (OpenCC ``t2s``) only runs on text
  holding one of OpenCC's traditional characters: it is the slowest step, and
  skipping it also keeps names like 沈默 from becoming 沉默.
* :func:`payment` collapses a masked run to one ``*`` (``6222*1234``): the
  number of mask characters differs between systems and carries no identity.
* 15-character (old) ID numbers are kind ``'other'``: they are ambiguous with
  the old 15-digit business licence numbers.
* Inputs over 512 characters are not memoised. Every step is linear in the
  input: a hostile 100 kB string takes at most about a second.

One module per kind: :mod:`~graphlink.normalise.text` (the shared helpers,
:func:`plain_text`), :mod:`~graphlink.normalise.phones`,
:mod:`~graphlink.normalise.emails`, :mod:`~graphlink.normalise.names` (names and
pinyin), :mod:`~graphlink.normalise.organisations` (company and shop names),
:mod:`~graphlink.normalise.addresses`, :mod:`~graphlink.normalise.ids` (ID numbers,
birth dates), :mod:`~graphlink.normalise.devices` (devices and IPs) and
:mod:`~graphlink.normalise.payments`; this package re-exports their public names.
"""

from __future__ import annotations

from graphlink.normalise.addresses import Address, address, remember_addresses
from graphlink.normalise.devices import device, ip, ip_block
from graphlink.normalise.emails import email, email_skeleton
from graphlink.normalise.ids import IdNumber, birth_date, id_number, resident_id_check, uscc_check
from graphlink.normalise.names import hanzi_name_parts, name_pinyin, person_name, pinyin
from graphlink.normalise.organisations import company_name, shop_name
from graphlink.normalise.payments import Payment, payment, payment_key
from graphlink.normalise.phones import phone
from graphlink.normalise.text import has_hanzi, plain_text

__all__ = [
    "Address",
    "IdNumber",
    "Payment",
    "address",
    "birth_date",
    "remember_addresses",
    "company_name",
    "device",
    "email",
    "email_skeleton",
    "hanzi_name_parts",
    "has_hanzi",
    "id_number",
    "ip",
    "ip_block",
    "name_pinyin",
    "payment",
    "payment_key",
    "person_name",
    "plain_text",
    "phone",
    "pinyin",
    "resident_id_check",
    "shop_name",
    "uscc_check",
]
