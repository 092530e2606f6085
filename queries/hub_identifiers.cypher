// hub_identifiers
// Purpose: The most shared identifiers: values used by the most shops (an e-commerce park
//   address, a fulfilment warehouse, a carrier NAT IP, a common name), with how many of
//   those shops are banned and the hub type graphlink gave them.
// Parameters:
//   kind   one identifier kind (device, ip, phone, email, id_number, holder_name, address,
//          payment), or "" for all
//   limit  most rows returned
// Example:
//   :param kind => ""
//   :param limit => 25
// Returns: kind, identifier, shops, banned_shops, hub (hub type; empty if not a hub)
// Guide: What is not evidence: values so widely shared that sharing them means nothing.
//   graphlink keeps them in the graph as context but never links shops through them. A
//   "hub" with a high share of banned shops is worth a second look (a den, not a park).
MATCH (i:Identifier)
WHERE $kind = '' OR i.kind = $kind
WITH i ORDER BY i.shops DESC, i.kind, i.value LIMIT $limit
CALL (i) {
  MATCH (i)<-[:USES]-()-[:OPERATES*0..1]->(s:Shop)
  RETURN count(DISTINCT CASE WHEN s.status = 'banned' THEN s END) AS banned_shops
}
RETURN i.kind AS kind, i.display AS identifier, i.shops AS shops, banned_shops,
       coalesce(i.hub, '') AS hub
ORDER BY shops DESC, kind, identifier
