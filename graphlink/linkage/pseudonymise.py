"""Pseudonymisation: phones, emails, ID numbers and payment endpoints as keyed hashes.

With ``--pseudonymise`` (``graphlink.analyse(..., pseudonymise=True)``)
these four kinds of personal data never leave the process in clear: not in
reports, not in Neo4j, not in the tables a notebook shows. Each value is
replaced by the HMAC-SHA256 of its *canonical* form (the form
:mod:`graphlink.normalise` gives it: ``+8613800138000``, ``zw@qq.com``), as
64 lower-case hex digits, under a secret key read from the environment
variable :data:`~graphlink.core.privacy.KEY_VARIABLE` (never from the command
line, where it would sit in shell history and process lists)::

    token = hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()

The recipe, the key, the test "is this already a hash" and the masks are
:mod:`graphlink.core.privacy`'s (every stage asks it); this module applies them
to a dataset and to the parts of an analysis.

Where the clear value was shown, the masked display form computed from it
stays (``+86138****8000``, ``z*******@qq.com``); the full value is dropped.

When it happens (DESIGN.md: one identifier model): :func:`graphlink.analyse`
normalises, blocks, compares and weighs evidence on the clear values in
memory, then replaces them, before operators, communities, scores or any
output are produced. Linkage is therefore identical with and without
pseudonymisation, fuzzy matches included, and every later stage, the graph,
the Neo4j push, the dossier, only ever sees tokens.

Values that arrive hashed (32-64 hex digits: pre-hashed ID numbers or
endpoints, or tokens from an earlier pseudonymised export) are kept as they
are, so they link to the same hash elsewhere in the data, and data hashed
upstream with the same key and the same recipe links to data pseudonymised
here. Hashed values match only exactly: see SECURITY.md ("Fuzzy matching and
hashed values") for what that costs.

>>> p = Pseudonymiser(b"0123456789abcdef-example-key")
>>> p.token("+8613800138000")[:12], len(p.token("+8613800138000"))
('977f5397ebdc', 64)
>>> p.token("5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8")[:8]
'5e884898'
"""

from __future__ import annotations

import pandas as pd

from graphlink.core.dataset import Dataset
from graphlink.core.errors import ConfigError
from graphlink.core.privacy import (
    KEY_VARIABLE,
    MIN_KEY_LENGTH,
    SENSITIVE,
    key_from_env,
    keyed_token,
    masked,
)
from graphlink.linkage.identifiers import Identifiers, canonical

# KEY_VARIABLE: where --pseudonymise reads its key (defined in graphlink.core.privacy)
__all__ = ["KINDS", "COLUMNS", "Pseudonymiser", "pseudonymiser", "KEY_VARIABLE"]

#: identifier kinds replaced by tokens: the personal ones
KINDS = SENSITIVE
#: (table, column, kind) of the dataset columns replaced by tokens
COLUMNS = (("accounts", "phone", "phone"), ("accounts", "email", "email"),
           ("accounts", "id_number", "id_number"), ("payments", "endpoint", "payment"),
           ("accounts", "date_of_birth", "birth_date"))


class Pseudonymiser:
    """Replaces the values of :data:`KINDS` by keyed hashes; see the module doc."""

    def __init__(self, key: bytes | str):
        key = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigError(f"a pseudonymisation key needs at least {MIN_KEY_LENGTH} bytes")
        self._key = key
        self._tokens: dict[str, str] = {}

    def __repr__(self) -> str:  # never show the key
        return "Pseudonymiser(key=<hidden>)"

    def token(self, value: str) -> str:
        """The token of one canonical value (a hash already is its own token)."""
        found = self._tokens.get(value)
        if found is None:
            found = keyed_token(self._key, value)
            if len(self._tokens) < 1 << 20:
                self._tokens[value] = found
        return found

    # --- datasets -----------------------------------------------------------------

    def dataset(self, dataset: Dataset) -> Dataset:
        """A copy of ``dataset`` whose phone, email, ID number and endpoint cells are tokens.

        A cell that normalises to nothing (``n/a``, ``call me``) cannot be an
        identifier; it is removed rather than kept in clear, and a warning
        counts such cells per column.
        """
        tables = dict(dataset.tables)
        warnings = list(dataset.warnings)
        for table, column, kind in COLUMNS:
            frame = tables.get(table)
            if frame is None or column not in frame.columns or not len(frame):
                continue
            raw = frame[column]
            normalise = canonical(kind)
            tokens = {v: self._cell_token(normalise, v) for v in raw.dropna().unique()}
            replaced = raw.map(tokens).astype(object)
            dropped = int((raw.notna() & replaced.isna()).sum())
            if dropped:
                warnings.append(f"pseudonymised: {dropped} {table}.{column} value(s) are not a "
                                f"usable {kind.replace('_', ' ')} and were removed")
            tables[table] = frame.assign(**{column: replaced.where(replaced.notna(), None)})
        return Dataset(tables, dataset.source, dict(dataset.files), list(dataset.problems),
                       dataset.skipped.copy(), warnings)

    def _cell_token(self, normalise, raw: object) -> str | None:
        value = normalise(raw)
        return None if value is None else self.token(value)

    # --- the stages of an analysis -------------------------------------------------

    def analysis_parts(self, dataset: Dataset, ids: Identifiers, links, evidence: pd.DataFrame
                       ) -> tuple[Dataset, Identifiers, object, pd.DataFrame]:
        """Dataset, identifiers, links and pair evidence with every value of :data:`KINDS`
        replaced by its token (displays stay masked forms of the clear values)."""
        values = ids.values
        sensitive = values["kind"].isin(KINDS)
        pairs = list(zip(values.loc[sensitive, "kind"], values.loc[sensitive, "value"],
                         strict=True))
        tokens = {(k, v): self.token(v) for k, v in pairs}
        shown = {(k, v): masked(v, d) for (k, v), d in
                 zip(pairs, values.loc[sensitive, "display"], strict=True)}
        new_values = values.copy()
        new_values.loc[sensitive, "value"] = [tokens[p] for p in pairs]
        new_values.loc[sensitive, "display"] = [shown[p] for p in pairs]
        new_values.loc[sensitive, "raw"] = [shown[p] for p in pairs]
        uses = ids.uses.copy()
        on = uses["kind"].isin(KINDS)
        keys = list(zip(uses.loc[on, "kind"], uses.loc[on, "value"], strict=True))
        uses.loc[on, "value"] = [tokens[k] for k in keys]
        uses.loc[on, "raw"] = [shown.get(k) for k in keys]
        new_ids = Identifiers(uses, new_values)
        new_links = _replace_links(links, tokens, self)
        new_evidence = _replace_pairs(evidence, tokens, ("value_a", "value_b"))
        return self.dataset(dataset), new_ids, new_links, new_evidence


def _replace_pairs(frame: pd.DataFrame, tokens: dict, columns: tuple[str, ...]) -> pd.DataFrame:
    if not len(frame) or "kind" not in frame.columns:
        return frame.copy()
    out = frame.copy()
    on = out["kind"].isin(KINDS)
    for column in columns:
        out.loc[on, column] = [tokens.get((k, v), v) for k, v in
                               zip(out.loc[on, "kind"], out.loc[on, column], strict=True)]
    return out


def _replace_links(links, tokens: dict, pseudonymiser: Pseudonymiser):
    """:class:`graphlink.linkage.link.Links` with tokens for values and for blocking keys."""
    from dataclasses import replace

    similar = _replace_pairs(links.similar, tokens, ("value_a", "value_b"))
    hub_blocks = links.hub_blocks.copy()
    if len(hub_blocks) and {"kind", "key"} <= set(hub_blocks.columns):
        on = hub_blocks["kind"].isin(KINDS)  # an email skeleton, a card's prefix and suffix
        hub_blocks.loc[on, "key"] = [pseudonymiser.token(str(k))
                                     for k in hub_blocks.loc[on, "key"]]
    keys = links.keys
    if len(keys) and "kind" in keys.columns:
        # blocking keys carry clear values; without them the saved state of a
        # pseudonymised analysis links new values of these kinds exactly only
        keys = keys[~keys["kind"].isin(KINDS)].reset_index(drop=True)
    return replace(links, similar=similar, hub_blocks=hub_blocks, keys=keys)


def pseudonymiser(option: bool | str | bytes | Pseudonymiser | None) -> Pseudonymiser | None:
    """The pseudonymiser an ``analyse(..., pseudonymise=...)`` option asks for.

    ``None``/``False``: none; ``True``: keyed from :data:`~graphlink.core.privacy.KEY_VARIABLE`
    (:class:`ConfigError` if it is not set); a key (``str``/``bytes``) or a
    :class:`Pseudonymiser`: that one.
    """
    if option is None or option is False:
        return None
    if option is True:
        return Pseudonymiser(key_from_env())
    if isinstance(option, Pseudonymiser):
        return option
    if isinstance(option, (str, bytes)):
        return Pseudonymiser(option)
    raise ConfigError(f"pseudonymise must be True, False, a key or a Pseudonymiser, "
                      f"not {type(option).__name__}")

