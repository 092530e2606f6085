"""The identity graph: shops, accounts and identifiers in one networkx graph.

Node keys are ``kind:value`` (see :func:`graphlink.core.schema.node_id`); every node
has a ``kind`` attribute (``shop``, ``account`` or an identifier kind).
Edges carry ``rel``:

- ``OPERATES``: account -> shop
- ``USES``: account or shop -> identifier, with ``first_seen``, ``last_seen``,
  ``rows`` (sightings) and ``source`` (table and line)
- ``SIMILAR``: identifier -> identifier, with ``score`` and ``method``

Identifier nodes carry ``display`` (masked where sensitive), ``shops`` (how
many shops use the value) and ``hub`` (its hub type, when it is one).

>>> from graphlink.core.dataset import Dataset
>>> from graphlink.linkage.identifiers import extract
>>> from graphlink.linkage.link import find_links
>>> ds = Dataset.empty()
>>> g = build_graph(ds, extract(ds), find_links(extract(ds)))
>>> g.number_of_nodes()
0
"""

from __future__ import annotations

import networkx as nx
import pandas as pd

from graphlink.core.dataset import Dataset
from graphlink.core.schema import NODE_ACCOUNT, NODE_SHOP, node_id
from graphlink.linkage.identifiers import Identifiers
from graphlink.linkage.link import Links

__all__ = ["build_graph", "REL_OPERATES", "REL_USES", "REL_SIMILAR"]

REL_OPERATES = "OPERATES"
REL_USES = "USES"
REL_SIMILAR = "SIMILAR"


def _when(value: object) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).isoformat()


def build_graph(dataset: Dataset, ids: Identifiers, links: Links,
                shops: pd.DataFrame | None = None, hub_types: dict | None = None) -> nx.Graph:
    """Build the identity graph; ``shops`` adds operator/community ids to shop nodes."""
    graph = nx.Graph()
    extra = shops.set_index("shop_id") if shops is not None else None
    for row in dataset.shops.itertuples(index=False):
        attrs = {"kind": NODE_SHOP, "shop_id": row.shop_id, "name": row.name,
                 "status": row.status, "created_at": _when(row.created_at),
                 "banned_at": _when(row.banned_at)}
        if extra is not None and row.shop_id in extra.index:
            attrs.update(extra.loc[row.shop_id].to_dict())
        graph.add_node(node_id(NODE_SHOP, row.shop_id), **attrs)
    for row in dataset.accounts.itertuples(index=False):
        account = node_id(NODE_ACCOUNT, row.account_id)
        graph.add_node(account, kind=NODE_ACCOUNT, account_id=row.account_id)
        graph.add_edge(account, node_id(NODE_SHOP, row.shop_id), rel=REL_OPERATES)
    hub_types = hub_types or {}
    for row in ids.values.itertuples(index=False):
        graph.add_node(node_id(row.kind, row.value), kind=row.kind, value=row.value,
                       display=row.display, shops=int(row.shops),
                       hub=hub_types.get((row.kind, row.value)))
    for row in ids.uses.itertuples(index=False):
        owner = (node_id(NODE_ACCOUNT, row.account_id) if isinstance(row.account_id, str)
                 else node_id(NODE_SHOP, row.shop_id))
        graph.add_edge(owner, node_id(row.kind, row.value), rel=REL_USES,
                       first_seen=_when(row.first_seen), last_seen=_when(row.last_seen),
                       rows=int(row.rows), source=f"{row.source} line {row.line}")
    for row in links.similar.itertuples(index=False):
        graph.add_edge(node_id(row.kind, row.value_a), node_id(row.kind, row.value_b),
                       rel=REL_SIMILAR, score=float(row.score), method=row.method)
    return graph
