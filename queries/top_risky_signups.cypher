// top_risky_signups
// Purpose: Today's top risky sign-ups: shops created on or after $since, riskiest first,
//   with the banned shops each one matches (the same risk, flags and matches as
//   `graphlink report signups --since`).
// Parameters:
//   since  first creation date to look at (ISO date; the example means the last 7 days)
//   limit  most shops returned
// Example:
//   :param since => toString(date() - duration("P7D"))
//   :param limit => 20
// Returns: shop_id, name, created_at, status, risk, flag, operator_id, banned_matches
//   (banned shop ids, best first), scores, best_hops, best_evidence (the best match's
//   evidence, one line per item)
// Guide: The review queue: new shops, riskiest first, each with the banned shops it
//   matches and why. A match can be direct (the new shop shares a device or card with the
//   banned shop) or run through other shops (MATCHES.path lists them). Set since to the day
//   you last reviewed.
MATCH (s:Shop)
WHERE s.created_at >= localdatetime($since)
OPTIONAL MATCH (s)-[m:MATCHES]->(b:Shop)
WITH s, m, b ORDER BY m.rank
WITH s, collect(b.shop_id) AS banned_matches, collect(m.score) AS scores,
     head(collect(m.hops)) AS best_hops, head(collect(m.evidence)) AS best_evidence
RETURN s.shop_id AS shop_id, s.name AS name, s.created_at AS created_at, s.status AS status,
       s.risk AS risk, s.flag AS flag, s.operator_id AS operator_id, banned_matches, scores,
       best_hops, best_evidence
ORDER BY coalesce(risk, 0.0) DESC, shop_id
LIMIT $limit
