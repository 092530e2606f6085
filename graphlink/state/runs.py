"""Stable operator ids from one analysis run to the next, and the log of what changed.

:func:`graphlink.linkage.resolve.resolve_operators` names every operator ``OP-`` plus
its smallest shop id, so an id changes as soon as a smaller shop joins or the
smallest one leaves. :func:`stabilise` carries the ids of the previous run
over, so a shop keeps its operator id unless the evidence moves it:

- every current operator inherits the previous id that most of its shops had
  (ties: the previous id first in sort order), and every previous id goes to
  at most one operator, the one holding most of its shops (greedy over
  ``(overlap desc, previous id, fresh id)``): a split keeps the id on the
  larger part, a merge keeps the id of the larger previous operator;
- an operator that inherits nothing keeps its fresh id, unless the previous
  run used that id for another operator: then it becomes ``<id>.2`` (or
  ``.3``, ...), the first suffix no operator of either run has.

Community ids are carried over by the same rule (a community is a group of
shops too; :func:`graphlink.workflow.with_state.analyse_into_state`
does both).

:func:`changes` compares two stabilised runs. Shops present in both runs whose
operator id changed are grouped by (previous id, current id), one row each:

- ``merged``: the previous operator no longer exists and the current one holds
  shops of two or more previous operators (one row per absorbed operator);
- ``split``: the previous operator still exists and the part that left forms
  an operator of its own (no other previous operator's shops);
- ``moved``: any other change of id, e.g. shops leaving an operator that still
  exists for one that existed before.

Shops new to this run are logged as ``joined`` when their operator holds shops
of the previous run, and as ``new_operator`` when all of its two or more shops
are new. A new shop on its own is not logged: every run brings many new
single shops, and listing each would bury the changes that matter. Shops of
the previous run that are missing now are ``gone``. Unchanged operators give
no rows, and every shop appears in at most one row.

Ids are data (shop ids come from the marketplace's export): they are only ever
interpolated as values, never used as templates; renderers escape them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable

import pandas as pd

__all__ = ["COLUMNS", "KINDS", "changes", "stabilise"]

COLUMNS = ["run", "change", "operator_id", "other_operator_id", "shops", "banned_shops", "text"]
KINDS = ("joined", "moved", "merged", "split", "new_operator", "gone")
MAX_NAMED = 3  # banned shops named in a sentence before "and N more"


def _owners(table: pd.DataFrame | None) -> dict[str, str]:
    """``shop_id -> operator_id`` of a run's table; shop ids must be unique."""
    if table is None:
        return {}
    shops = table["shop_id"].astype(str)
    if shops.duplicated().any():
        dup = sorted(shops[shops.duplicated()].unique())[:MAX_NAMED]
        raise ValueError(f"shop ids must be unique in a run; repeated: {', '.join(dup)}")
    return dict(zip(shops, table["operator_id"].astype(str), strict=True))


def _inherit(fresh: dict[str, str], old: dict[str, str]) -> dict[str, str]:
    """Fresh id -> previous id inherited, greedy by overlap (see module docs)."""
    overlap = Counter((fresh[s], old[s]) for s in fresh.keys() & old.keys())
    given: dict[str, str] = {}
    used: set[str] = set()
    for f, p in sorted(overlap, key=lambda fp: (-overlap[fp], fp[1], fp[0])):
        if f not in given and p not in used:
            given[f] = p
            used.add(p)
    return given


def _unique_ids(fresh_ids: Iterable[str], given: dict[str, str], old_ids: set[str]
                ) -> dict[str, str]:
    """Fresh id -> final id for every component; colliding fresh ids get a suffix."""
    final = dict(given)
    rest = sorted(set(fresh_ids) - given.keys())
    final.update({f: f for f in rest if f not in old_ids})
    taken = old_ids | set(final.values())
    for f in (f for f in rest if f in old_ids):
        n = 2
        while f"{f}.{n}" in taken:
            n += 1
        final[f] = f"{f}.{n}"
        taken.add(final[f])
    return final


def stabilise(current: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Carry the previous run's operator ids over to this run's operators.

    ``current`` has this run's fresh ``shop_id, operator_id``; ``previous``
    the last run's stabilised table (``None`` on the first run: ``current``
    is returned as it is). Returns ``shop_id, operator_id`` in the row order
    of ``current``; the ids do not depend on the row order of either table.

    >>> prev = pd.DataFrame({"shop_id": ["S2", "S3"], "operator_id": ["OP-S2", "OP-S2"]})
    >>> cur = pd.DataFrame({"shop_id": ["S1", "S2", "S3"], "operator_id": ["OP-S1"] * 3})
    >>> stabilise(cur, prev)["operator_id"].tolist()
    ['OP-S2', 'OP-S2', 'OP-S2']
    """
    if previous is None:
        return current[["shop_id", "operator_id"]].reset_index(drop=True)
    fresh, old = _owners(current), _owners(previous)
    final = _unique_ids(fresh.values(), _inherit(fresh, old), set(old.values()))
    shops = current["shop_id"].astype(str).reset_index(drop=True)
    owner = {shop: final[op] for shop, op in fresh.items()}
    return pd.DataFrame({"shop_id": shops, "operator_id": shops.map(owner)})


def _members(owner: dict[str, str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for shop in sorted(owner):
        groups[owner[shop]].append(shop)
    return groups


def _arrivals(cur: dict[str, str], old: dict[str, str]) -> list[tuple[str, str, None, list]]:
    """``joined`` and ``new_operator`` rows for the shops new to this run."""
    rows = []
    for op, shops in sorted(_members(cur).items()):
        new = [s for s in shops if s not in old]
        if new and len(new) < len(shops):
            rows.append(("joined", op, None, new))
        elif new and len(new) > 1:
            rows.append(("new_operator", op, None, new))
    return rows


def _flows(cur: dict[str, str], old: dict[str, str]) -> list[tuple[str, str, str, list]]:
    """``merged``, ``split`` and ``moved`` rows for shops whose id changed."""
    kept = sorted(cur.keys() & old.keys())
    flows: dict[tuple[str, str], list[str]] = defaultdict(list)
    sources: dict[str, set[str]] = defaultdict(set)
    for s in kept:
        sources[cur[s]].add(old[s])
        if cur[s] != old[s]:
            flows[old[s], cur[s]].append(s)
    survives = {old[s] for s in kept if cur[s] == old[s]}
    rows = []
    for (p, o), shops in sorted(flows.items()):
        if p not in survives and len(sources[o]) > 1:
            kind = "merged"
        elif p in survives and sources[o] == {p}:
            kind = "split"
        else:
            kind = "moved"
        rows.append((kind, o, p, shops))
    return rows


def _gone(cur: dict[str, str], old: dict[str, str]) -> list[tuple[str, str, None, list]]:
    gone = {s: op for s, op in old.items() if s not in cur}
    return [("gone", op, None, shops) for op, shops in sorted(_members(gone).items())]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _name(op: str, banned_of: dict[str, list[str]]) -> str:
    """``the operator of banned shops S1, S2`` when it has any, else ``operator OP-S1``."""
    banned = banned_of.get(op, [])
    if not banned:
        return f"operator {op}"
    return f"the operator of {_banned(banned)}"


def _banned(shops: list[str]) -> str:
    """``banned shop S1`` or ``banned shops S1, S2, S3 and 2 more``."""
    more = f" and {len(shops) - MAX_NAMED} more" if len(shops) > MAX_NAMED else ""
    noun = "banned shop" if len(shops) == 1 else "banned shops"
    return f"{noun} {', '.join(shops[:MAX_NAMED])}{more}"


def _text(kind: str, op: str, other: str | None, shops: list[str],
          banned_of: dict[str, list[str]], banned: set[str]) -> str:
    n, name = len(shops), _name(op, banned_of)
    other_name = _name(other, banned_of) if other is not None else ""
    if kind == "joined":
        return f"{_count(n, 'new shop')} joined {name}."
    if kind == "moved":
        return f"{_count(n, 'shop')} moved from {other_name} to {name}."
    if kind == "merged":
        return f"{other_name[0].upper()}{other_name[1:]} ({_count(n, 'shop')}) merged into {name}."
    if kind == "split":
        return f"{_count(n, 'shop')} split off {other_name} into {name}."
    if kind == "new_operator":
        tail = f" with {_banned(banned_of[op])}" if banned_of.get(op) else ""
        return f"New operator {op}{tail}: {n} shops, all new in this run."
    verb = "is" if n == 1 else "are"
    lost = [s for s in shops if s in banned]
    tail = f", including {_banned(lost)}" if lost else ""
    return f"{_count(n, 'shop')} of {name} {verb} gone from the dataset{tail}."


def changes(current: pd.DataFrame, previous: pd.DataFrame | None, banned: Collection[str],
            run: str) -> pd.DataFrame:
    """What changed between the previous run's operators and this run's.

    Both tables are stabilised ``shop_id, operator_id`` (see :func:`stabilise`;
    ``previous`` is ``None`` on the first run). ``banned`` holds banned shop
    ids. Returns one row per change with columns :data:`COLUMNS`: ``shops`` and
    ``banned_shops`` (the banned shops of ``operator_id`` now) are sorted
    lists. Rows touching banned shops come first, then by kind (:data:`KINDS`)
    and operator id. New shops that are operators of their own are not logged.

    >>> prev = pd.DataFrame({"shop_id": ["S1", "S2"], "operator_id": ["OP-S1", "OP-S1"]})
    >>> cur = pd.DataFrame({"shop_id": ["S1", "S2", "S7", "S8", "S9"],
    ...                     "operator_id": ["OP-S1", "OP-S1", "OP-S1", "OP-S8", "OP-S8"]})
    >>> for text in changes(cur, prev, {"S2"}, "2026-11")["text"]:
    ...     print(text)
    1 new shop joined the operator of banned shop S2.
    New operator OP-S8: 2 shops, all new in this run.
    """
    cur, old = _owners(current), _owners(previous)
    banned = {str(s) for s in banned}
    banned_of = {op: [s for s in shops if s in banned] for op, shops in _members(cur).items()}
    rows = [*_arrivals(cur, old), *_flows(cur, old), *_gone(cur, old)]
    records = [{"run": run, "change": kind, "operator_id": op, "other_operator_id": other,
                "shops": shops, "banned_shops": banned_of.get(op, []),
                "text": _text(kind, op, other, shops, banned_of, banned)}
               for kind, op, other, shops in rows]
    records.sort(key=lambda r: (not (r["banned_shops"] or banned.intersection(r["shops"])),
                                KINDS.index(r["change"]), r["operator_id"],
                                r["other_operator_id"] or "", r["shops"]))
    return pd.DataFrame(records, columns=COLUMNS)
