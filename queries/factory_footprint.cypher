// factory_footprint
// Purpose: A factory cluster's footprint: its shops and their dispatch addresses, with
//   coordinates and the distance of each address from the cluster's centre.
// Parameters:
//   factory_id  the factory cluster (F-...), as listed by the factories query
// Example:
//   :param factory_id => "F-1"
// Returns: factory_id, shop_id, name, status, created_at, banned_at, operator_id, address,
//   lat, lon, metres_from_centre, first_seen, last_seen, shops (shops using that address)
// Guide: Where the cluster ships from: addresses that differ in building or room but sit
//   within a few hundred metres of each other are one place. Banned shops in the cluster
//   make the live ones suspects.
MATCH (s:Shop {factory_id: $factory_id})
OPTIONAL MATCH (s)-[u:USES]->(a:Address)
WITH collect({s: s, u: u, a: a}) AS rows, avg(a.lat) AS lat, avg(a.lon) AS lon
UNWIND rows AS r
WITH r.s AS s, r.u AS u, r.a AS a,
     CASE WHEN lat IS NULL THEN null ELSE point({latitude: lat, longitude: lon}) END AS centre
RETURN s.factory_id AS factory_id, s.shop_id AS shop_id, s.name AS name,
       s.status AS status, s.created_at AS created_at, s.banned_at AS banned_at,
       s.operator_id AS operator_id, a.display AS address, a.lat AS lat, a.lon AS lon,
       round(point.distance(a.location, centre)) AS metres_from_centre,
       u.first_seen AS first_seen, u.last_seen AS last_seen, a.shops AS shops
ORDER BY shop_id, address
