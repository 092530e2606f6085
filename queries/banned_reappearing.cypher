// banned_reappearing
// Purpose: Banned vendors coming back: shops created on or after $since, not banned
//   themselves, that are linked to a banned shop with probability at least $min_p, with the
//   evidence behind each link and how many days after the ban the new shop appeared.
// Parameters:
//   since  first creation date to look at (ISO date, e.g. 2026-01-01)
//   min_p  smallest link probability shown (0..1; 0.7 and above means same operator)
//   limit  most rows returned
// Example:
//   :param since => "2025-01-01"
//   :param min_p => 0.5
//   :param limit => 50
// Returns: shop_id, name, status, created_at, operator_id, banned_shop_id, banned_name,
//   banned_at, days_after_ban (negative: opened before the ban, a back-up shop), p, kinds,
//   evidence (one line per shared or similar identifier, strongest first)
// Guide: The question every morning: which new shops are banned vendors back under a new
//   identity? Each row pairs a new shop with a banned shop and says why: the same device, a
//   card with the same prefix and suffix, a dispatch address one room down the corridor.
//   A shop linked to a banned shop with p of 0.7 or more is judged to have the same operator.
MATCH (s:Shop)-[l:LINKED]-(b:Shop {status: 'banned'})
WHERE s.created_at >= localdatetime($since) AND s.status <> 'banned' AND l.p >= $min_p
RETURN s.shop_id AS shop_id, s.name AS name, s.status AS status, s.created_at AS created_at,
       s.operator_id AS operator_id, b.shop_id AS banned_shop_id, b.name AS banned_name,
       b.banned_at AS banned_at,
       duration.inDays(b.banned_at, s.created_at).days AS days_after_ban,
       round(l.p, 3) AS p, l.kinds AS kinds, l.evidence AS evidence
ORDER BY p DESC, created_at DESC, shop_id, banned_shop_id
LIMIT $limit
