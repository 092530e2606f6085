// top_risky_signups
// Purpose: Today's top risky sign-ups: shops created on or after $since, riskiest first
//   (graphlink's risk score when the analysis has one, else the strongest link to a banned
//   shop), with the banned shops each one is linked to.
// Parameters:
//   since  first creation date to look at (ISO date; the example means the last 7 days)
//   min_p  smallest link probability that counts as a match with a banned shop
//   limit  most shops returned
// Example:
//   :param since => toString(date() - duration("P7D"))
//   :param min_p => 0.5
//   :param limit => 20
// Returns: shop_id, name, created_at, status, risk, flag, operator_id, best_p,
//   banned_matches (banned shop ids, strongest link first), kinds
// Guide: The review queue: new shops, riskiest first, each with the banned shops it
//   matches. Set since to the day you last reviewed.
MATCH (s:Shop)
WHERE s.created_at >= localdatetime($since)
OPTIONAL MATCH (s)-[l:LINKED]-(b:Shop {status: 'banned'})
WHERE l.p >= $min_p
WITH s, l, b ORDER BY l.p DESC, b.shop_id
WITH s, collect(b.shop_id) AS banned_matches, max(l.p) AS best_p,
     reduce(k = [], x IN collect(l.kinds) | k + [y IN x WHERE NOT y IN k]) AS kinds
RETURN s.shop_id AS shop_id, s.name AS name, s.created_at AS created_at, s.status AS status,
       s.risk AS risk, s.flag AS flag, s.operator_id AS operator_id,
       round(best_p, 3) AS best_p, banned_matches, kinds
ORDER BY coalesce(risk, best_p, 0.0) DESC, best_p DESC, created_at DESC, shop_id
LIMIT $limit
