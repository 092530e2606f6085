"""The Neo4j server the project tests against is real and usable: Bolt, Cypher, Browser."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid

from neo4j_fixtures import (  # noqa: F401  (fixtures, until conftest.py imports them)
    Neo4jSettings,
    neo4j_driver,
    neo4j_settings,
)


def test_bolt_write_then_read(neo4j_driver):  # noqa: F811
    marker = f"graphlink-selftest-{uuid.uuid4()}"
    try:
        records, summary, _ = neo4j_driver.execute_query(
            "CREATE (a:GraphlinkSelfTest {marker: $m, n: 1})"
            "-[:LINKS {w: 0.5}]->(b:GraphlinkSelfTest {marker: $m, n: 2}) "
            "RETURN a.n AS a, b.n AS b",
            m=marker,
        )
        assert [(r["a"], r["b"]) for r in records] == [(1, 2)]
        assert summary.counters.nodes_created == 2
        assert summary.counters.relationships_created == 1

        records, _, _ = neo4j_driver.execute_query(
            "MATCH (a:GraphlinkSelfTest {marker: $m})-[r:LINKS]->(b) "
            "RETURN a.n AS a, r.w AS w, b.n AS b",
            m=marker,
            routing_="r",
        )
        assert [(r["a"], r["w"], r["b"]) for r in records] == [(1, 0.5, 2)]
    finally:
        neo4j_driver.execute_query(
            "MATCH (n:GraphlinkSelfTest {marker: $m}) DETACH DELETE n", m=marker
        )

    records, _, _ = neo4j_driver.execute_query(
        "MATCH (n:GraphlinkSelfTest {marker: $m}) RETURN count(n) AS c", m=marker
    )
    assert records[0]["c"] == 0


def test_server_is_neo4j_5(neo4j_driver):  # noqa: F811
    info = neo4j_driver.get_server_info()
    assert info.agent.startswith("Neo4j/5."), info.agent


def test_browser_is_served(neo4j_driver, neo4j_settings: Neo4jSettings):  # noqa: F811
    # neo4j_driver first: it skips (or fails under CI) when no server is up.
    url = f"{neo4j_settings.http_url}/browser/"
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            status = resp.status
            content_type = resp.headers.get("Content-Type", "")
            body = resp.read().decode("utf-8", "replace")
    except urllib.error.URLError as exc:
        raise AssertionError(f"Neo4j Browser not reachable at {url}: {exc}") from exc
    assert status == 200
    assert "text/html" in content_type
    assert "<title>Neo4j Browser</title>" in body, body[:500]
