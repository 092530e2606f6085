"""Communities: the wider networks (dealer rings, families of operators) shops belong to.

Operators are the nodes; two operators are joined by the sum of the combined
scores of their shop pairs that reach ``COMMUNITY_MIN`` (weaker than an
operator merge: a shared residential IP, a neighbouring address, a name).
Louvain (networkx, seeded) partitions that graph. Louvain rather than Leiden:
it ships with networkx (no extra dependency), and on these sparse graphs of
small, well-separated groups the badly-connected-community defect that
Leiden fixes is rare; each community is also split into its connected parts,
which removes that defect outright.

Every operator lies inside exactly one community; a community id is ``C-``
plus the smallest shop id in it.

>>> import pandas as pd
>>> ops = pd.DataFrame({"shop_id": ["S1", "S2", "S3"], "operator_id": ["OP-S1", "OP-S1", "OP-S3"]})
>>> pairs = pd.DataFrame({"shop_a": ["S1"], "shop_b": ["S3"], "p": [0.4], "kinds": ["ip"]})
>>> communities(ops, pairs)["community_id"].tolist()
['C-S1', 'C-S1', 'C-S1']
"""

from __future__ import annotations

import networkx as nx
import pandas as pd

__all__ = ["COMMUNITY_MIN", "communities"]

COMMUNITY_MIN = 0.25


def communities(operators: pd.DataFrame, pairs: pd.DataFrame, seed: int = 0,
                minimum: float = COMMUNITY_MIN) -> pd.DataFrame:
    """Add ``community_id`` to the shop -> operator table."""
    owner = operators.set_index("shop_id")["operator_id"]
    links = pairs[pairs["p"] >= minimum]
    op_a = links["shop_a"].map(owner).to_numpy()
    op_b = links["shop_b"].map(owner).to_numpy()
    edges = pd.DataFrame({"a": op_a, "b": op_b, "w": links["p"].to_numpy()})
    edges = edges[edges["a"] != edges["b"]]
    swap = edges["a"] > edges["b"]
    edges.loc[swap, ["a", "b"]] = edges.loc[swap, ["b", "a"]].to_numpy()
    edges = edges.groupby(["a", "b"], sort=True)["w"].sum().reset_index()
    graph = nx.Graph()
    graph.add_nodes_from(sorted(owner.unique()))
    graph.add_weighted_edges_from(edges.itertuples(index=False))
    member = {}
    for community in nx.community.louvain_communities(graph, weight="weight", seed=seed):
        for part in nx.connected_components(graph.subgraph(community)):
            name = "C-" + min(part).removeprefix("OP-")
            member.update(dict.fromkeys(part, name))
    result = operators.copy()
    result["community_id"] = result["operator_id"].map(member)
    return result
