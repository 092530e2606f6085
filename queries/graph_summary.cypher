// graph_summary
// Purpose: What this database holds: the dataset graphlink pushed, when, whether the push
//   completed, and how many shops, banned shops, accounts, identifiers, operators,
//   communities, factories and linked shop pairs it has.
// Parameters:
// Example:
//   (no parameters)
// Returns: dataset, pushed_at, complete, shops, banned, accounts, identifiers, hubs,
//   operators, communities, factories, linked_pairs, merged_pairs (one row)
// Guide: Start here: which export is loaded and how big it is. If `complete` is false, the
//   last push was interrupted: run `graphlink neo4j push DATASET` again before trusting the
//   numbers.
OPTIONAL MATCH (m:GraphlinkMeta {key: 'graph'})
CALL {
  MATCH (s:Shop)
  RETURN count(s) AS shops,
         count(CASE WHEN s.status = 'banned' THEN 1 END) AS banned,
         count(DISTINCT s.operator_id) AS operators,
         count(DISTINCT s.community_id) AS communities,
         count(DISTINCT s.factory_id) AS factories
}
CALL {
  MATCH (a:Account)
  RETURN count(a) AS accounts
}
CALL {
  MATCH (i:Identifier)
  RETURN count(i) AS identifiers, count(i.hub) AS hubs
}
CALL {
  MATCH ()-[l:LINKED]->()
  RETURN count(l) AS linked_pairs, count(CASE WHEN l.merged THEN 1 END) AS merged_pairs
}
RETURN m.dataset AS dataset, m.finished_at AS pushed_at, m.complete AS complete,
       shops, banned, accounts, identifiers, hubs, operators, communities, factories,
       linked_pairs, merged_pairs
