// factories
// Purpose: Factory clusters: groups of shops whose dispatch addresses converge on one place
//   (a factory or den), largest first, with their banned shops. Needs the factory_id that
//   graphlink's factory detection writes on shops; empty before that.
// Parameters:
//   limit  most rows returned
// Example:
//   :param limit => 50
// Returns: factory_id, n_shops, banned_shops, shops, operators (distinct operator ids)
// Guide: Dealers of one counterfeiting factory have different owners but ship from one
//   street of one industrial zone. Each row is such a cluster; open one with
//   factory_footprint.
MATCH (s:Shop)
WHERE s.factory_id IS NOT NULL
WITH s ORDER BY s.shop_id
WITH s.factory_id AS factory_id, collect(s) AS shops
RETURN factory_id, size(shops) AS n_shops,
       [x IN shops WHERE x.status = 'banned' | x.shop_id] AS banned_shops,
       [x IN shops | x.shop_id] AS shops,
       reduce(o = [], x IN shops | CASE WHEN x.operator_id IN o THEN o
                                       ELSE o + x.operator_id END) AS operators
ORDER BY n_shops DESC, factory_id
LIMIT $limit
