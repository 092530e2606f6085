// shared_with_banned
// Purpose: Shops (not banned) that share a device or a payment card / account with a banned
//   shop: the same value, or a similar one (a masked card with the same prefix and suffix).
//   Hub identifiers are left out.
// Parameters:
//   kinds  identifier kinds to compare (device, payment, or any of ip, phone, email,
//          id_number, holder_name, address)
//   limit  most rows returned
// Example:
//   :param kinds => ["device", "payment"]
//   :param limit => 100
// Returns: shop_id, name, status, created_at, kind, identifier, banned_identifier, match
//   (same, or the similarity method and score), banned_shop_id, banned_at,
//   first_seen_on_shop, last_seen_on_banned, shops (how many shops use the identifier)
// Guide: Machines do not lie the way names do: a laptop or a bank card used by a banned
//   shop and by a live one is the strongest single clue. first_seen_on_shop against
//   banned_at tells whether the device moved to the new shop after the ban.
MATCH (b:Shop {status: 'banned'})<-[:OPERATES*0..1]-()-[ub:USES]->(i:Identifier)
WHERE i.kind IN $kinds AND i.hub IS NULL
MATCH (i)-[sim:SIMILAR*0..1]-(j:Identifier)<-[us:USES]-()-[:OPERATES*0..1]->(s:Shop)
WHERE s.status <> 'banned' AND j.hub IS NULL
WITH s, b, i, j,
     CASE WHEN size(sim) = 0 THEN 'same'
          ELSE sim[0].method + ' ' + toString(round(sim[0].score, 2)) END AS match,
     min(us.first_seen) AS first_seen_on_shop, max(ub.last_seen) AS last_seen_on_banned
RETURN s.shop_id AS shop_id, s.name AS name, s.status AS status, s.created_at AS created_at,
       j.kind AS kind, j.display AS identifier, i.display AS banned_identifier, match,
       b.shop_id AS banned_shop_id, b.banned_at AS banned_at,
       first_seen_on_shop, last_seen_on_banned, j.shops AS shops
ORDER BY created_at DESC, shop_id, banned_shop_id, kind, identifier
LIMIT $limit
