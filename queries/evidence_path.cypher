// evidence_path
// Purpose: Evidence paths between two shops: the shortest chains of shared or similar
//   identifiers (through accounts, devices, phones, cards, addresses, and other shops) that
//   connect them, skipping hub identifiers, plus their direct LINKED evidence if any.
// Parameters:
//   shop_a  one shop id
//   shop_b  the other shop id
//   limit   most paths returned (all have the shortest length)
// Example:
//   :param shop_a => "S000001"
//   :param shop_b => "S000002"
//   :param limit => 5
// Returns: hops, via (the identifiers on the path), path (switch to the graph view in
//   Browser), direct_p, direct_evidence
// Guide: Why are these two shops one operator? The path shows the concrete chain an analyst
//   can check by hand: shop, the account that operates it, the device that account logged in
//   from, the other account on that device, the other shop. Hub identifiers (a park address,
//   a carrier NAT IP) are context, not evidence, and are never on a path.
MATCH (a:Shop {shop_id: $shop_a}), (b:Shop {shop_id: $shop_b})
OPTIONAL MATCH (a)-[l:LINKED]-(b)
MATCH p = ALL SHORTEST (a)(()-[:OPERATES|USES|SIMILAR]-(x WHERE x.hub IS NULL)){1,12}(b)
WITH p, l LIMIT $limit
RETURN length(p) AS hops,
       [n IN nodes(p) WHERE n:Identifier | n.kind + ': ' + n.display] AS via,
       p AS path, round(l.p, 3) AS direct_p, l.evidence AS direct_evidence
ORDER BY hops, via
