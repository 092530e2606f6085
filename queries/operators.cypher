// operators
// Purpose: Operators: groups of shops judged to be run by one real-world actor, largest
//   first, with their banned shops and their community.
// Parameters:
//   min_shops  only operators with at least this many shops
//   limit      most rows returned
// Example:
//   :param min_shops => 2
//   :param limit => 100
// Returns: operator_id, community_id, n_shops, banned_shops, shops, first_created,
//   last_created
// Guide: The same grouping as `graphlink clusters`: an operator with a banned shop and a
//   live one is a ban evader.
MATCH (s:Shop)
WITH s ORDER BY s.shop_id
WITH s.operator_id AS operator_id, collect(s) AS shops
WHERE size(shops) >= $min_shops
RETURN operator_id, shops[0].community_id AS community_id, size(shops) AS n_shops,
       [x IN shops WHERE x.status = 'banned' | x.shop_id] AS banned_shops,
       [x IN shops | x.shop_id] AS shops,
       reduce(m = null, x IN shops | CASE WHEN m IS NULL OR x.created_at < m
                                         THEN x.created_at ELSE m END) AS first_created,
       reduce(m = null, x IN shops | CASE WHEN m IS NULL OR x.created_at > m
                                         THEN x.created_at ELSE m END) AS last_created
ORDER BY n_shops DESC, operator_id
LIMIT $limit
