// review_queue
// Purpose: The pairs whose verdict would teach the match model most: for each pattern of
//   agreeing identifier kinds, the most uncertain pair (p nearest 0.5) of an unbanned shop
//   and a banned shop that no analyst has judged, ranked by uncertainty times
//   ln(1 + pairs sharing the pattern) (the Neo4j side of `graphlink review queue`,
//   which tells patterns apart by their levels too).
// Parameters:
//   limit  most pairs returned (the verdicts you can give today)
// Example:
//   :param limit => 25
// Returns: shop_id, banned_shop_id, p, uncertainty, pattern_pairs, teach, kinds, evidence
//   (the pair's evidence, one line per item)
// Guide: What to review next: each pair is the one the model is least sure of among many
//   alike, so one verdict speaks for all of them. Give it with `graphlink review confirm
//   SHOP --match BANNED_SHOP --state DIR` (or dismiss); judged pairs carry
//   LINKED.verdict and leave the queue.
MATCH (s:Shop)-[l:LINKED]-(b:Shop {status: "banned"})
WHERE coalesce(s.status, "") <> "banned" AND l.verdict IS NULL
WITH s, b, l, 1.0 - abs(2 * l.p - 1) AS uncertainty
WHERE uncertainty > 0
WITH l.kinds AS pattern, count(*) AS pattern_pairs,
     collect({s: s.shop_id, b: b.shop_id, p: l.p, u: uncertainty, e: l.evidence}) AS pairs
UNWIND pairs AS pair
WITH pattern, pattern_pairs, pair ORDER BY pair.u DESC, pair.s, pair.b
WITH pattern, pattern_pairs, head(collect(pair)) AS best
RETURN best.s AS shop_id, best.b AS banned_shop_id, best.p AS p, best.u AS uncertainty,
       pattern_pairs, best.u * log(1.0 + pattern_pairs) AS teach, pattern AS kinds,
       best.e AS evidence
ORDER BY teach DESC, shop_id, banned_shop_id
LIMIT $limit
