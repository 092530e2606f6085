// shortest_path_to_banned
// Purpose: Shortest path from a shop to the nearest banned shops through the identity graph
//   (accounts, identifiers, similar identifiers, other shops), skipping hub identifiers.
// Parameters:
//   shop_id  the shop to start from
//   limit    how many of the nearest banned shops to show
// Example:
//   :param shop_id => "S000001"
//   :param limit => 3
// Returns: shop_id, banned_shop_id, banned_at, hops, via (identifiers on the path), path
// Guide: For a shop you are looking at (a new sign-up, a complaint), how close is it to a
//   banned shop? Two hops (shop, account, device, account, banned shop... counts every
//   relationship) is a shared identifier; longer paths go through other shops and are
//   weaker, and no row at all means no banned shop within 12 hops.
MATCH (s:Shop {shop_id: $shop_id})
MATCH p = ANY SHORTEST (s)(()-[:OPERATES|USES|SIMILAR]-(x WHERE x.hub IS NULL)){1,12}
          (b:Shop WHERE b.status = 'banned' AND b <> s)
RETURN s.shop_id AS shop_id, b.shop_id AS banned_shop_id, b.banned_at AS banned_at,
       length(p) AS hops,
       [n IN nodes(p) WHERE n:Identifier | n.kind + ': ' + n.display] AS via, p AS path
ORDER BY hops, banned_shop_id
LIMIT $limit
