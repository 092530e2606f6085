// operator_footprint
// Purpose: An operator's full footprint over time: every shop, account and identifier of the
//   operator (shops sharing its operator_id), as a timeline of shops created and banned,
//   accounts opened and identifiers first used.
// Parameters:
//   operator  an operator id (OP-...) or the id of any of its shops
//   limit     most rows returned
// Example:
//   :param operator => "OP-S000001"
//   :param limit => 500
// Returns: operator_id, when, shop_id, event, detail (name, account or identifier),
//   account_id, until (last time the identifier was seen), shops (how many shops use it)
// Guide: Once a new shop is tied to a banned one, look at the whole operator: how many
//   shops it ran, in which order, which devices, cards and addresses it carried from one
//   identity to the next, and when. This is the timeline a rights holder or the police
//   need.
MATCH (seed:Shop)
WHERE seed.operator_id = $operator OR seed.shop_id = $operator
WITH DISTINCT seed.operator_id AS operator_id
MATCH (s:Shop {operator_id: operator_id})
CALL (s) {
  RETURN s.created_at AS when, 'shop created' AS event, s.name AS detail,
         null AS account_id, null AS until, null AS shops
  UNION
  WITH s WHERE s.banned_at IS NOT NULL
  RETURN s.banned_at AS when, 'shop banned' AS event, coalesce(s.ban_reason, '') AS detail,
         null AS account_id, null AS until, null AS shops
  UNION
  MATCH (a:Account)-[:OPERATES]->(s)
  RETURN a.created_at AS when, 'account' AS event, a.account_id AS detail,
         a.account_id AS account_id, null AS until, null AS shops
  UNION
  MATCH (s)<-[:OPERATES*0..1]-(o)-[u:USES]->(i:Identifier)
  RETURN u.first_seen AS when, 'uses ' + i.kind AS event, i.display AS detail,
         o.account_id AS account_id, u.last_seen AS until, i.shops AS shops
}
RETURN operator_id, when, s.shop_id AS shop_id, event, detail, account_id, until, shops
ORDER BY when IS NULL, when, shop_id, event, detail
LIMIT $limit
